/*
 * What a native validator could reach: bench_validate.py --native-probe.
 *
 *     cc -O2 -pthread benchmarks/native_probe.c -o native_probe
 *     native_probe FILE THREADS ROWS
 *
 * Reads one of bench_validate.py's files in the text quoted or nothing quoted
 * shape and checks its schema (SCHEMA there: a unique int64 id, eight floats in
 * [0, 100], k in 0..4, color in red/green/blue, no nulls, no other columns) in
 * one pass over the bytes, each thread a part of the file cut at a line end:
 * each field is split and parsed in the same pass (its digits read once) and
 * checked as it is parsed, without building columns. It is a measurement of that
 * design's floor, not a validator: it answers "undecided" for anything outside
 * the plain forms those files hold (a quoted line end, a doubled quote, a quote
 * inside an unquoted field, a quoted number, an exponent, a null, a record of
 * another width, an id outside [0, 4 * ROWS)), and reports no failure's place. Prints one JSON line
 * as bench_validate.py's other measurements do.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

enum { COLUMNS = 11, MAX_THREADS = 16 };
static const char *HEADER[COLUMNS] = {"id", "f0", "f1", "f2", "f3", "f4",
                                      "f5", "f6", "f7", "k",  "color"};

typedef struct {
  const char *begin, *end, *limit; /* its records start in [begin, end) */
  uint8_t *seen;
  long span;
  long rows, failures, undecided;
} part;

/* The next value of a number column and the character that ends it: where the
 * field starts at s, its digits are consumed in the same pass that parses them,
 * and the position of the character after them is returned; NULL where the field
 * is not a plain number or nothing follows it. A plain decimal, [-]digits[.digits]
 * of up to 18 digits, divided by a power of ten up to 1e18, is exact-rounded
 * (Clinger's fast path), as strtod's result is. */
static inline const char *decimal(const char *s, const char *end, double *out) {
  static const double tens[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                1e14, 1e15, 1e16, 1e17, 1e18};
  int negative = s < end && *s == '-';
  s += negative;
  const char *first = s;
  uint64_t m = 0;
  while (s < end && (unsigned)(*s - '0') < 10) m = m * 10 + (uint64_t)(*s++ - '0');
  int digits = (int)(s - first), fraction = 0;
  if (s < end && *s == '.') {
    const char *after = ++s;
    while (s < end && (unsigned)(*s - '0') < 10) m = m * 10 + (uint64_t)(*s++ - '0');
    fraction = (int)(s - after);
  }
  digits += fraction;
  if (digits == 0 || digits > 18 || s >= end) return NULL;
  double v = (double)m / tens[fraction];
  *out = negative ? -v : v;
  return s;
}

static inline const char *whole(const char *s, const char *end, long *out) {
  int negative = s < end && *s == '-';
  s += negative;
  const char *first = s;
  long v = 0;
  while (s < end && (unsigned)(*s - '0') < 10) v = v * 10 + (*s++ - '0');
  if (s == first || s - first > 18 || s >= end) return NULL;
  *out = negative ? -v : v;
  return s;
}

static int is(const char *s, const char *e, const char *word) {
  size_t n = strlen(word);
  return (size_t)(e - s) == n && memcmp(s, word, n) == 0;
}

/* A text field from s, quoted or not: its value in [*from, *to), and where the
 * character after it is; NULL where it is outside the forms this probe reads (a
 * doubled quote to unescape, a quote inside an unquoted field, a quoted value
 * never closed; a quoted line end is found by the caller). */
static const char *text(const char *s, const char *end, const char **from, const char **to) {
  if (s < end && *s == '"') {
    *from = ++s;
    const char *q = memchr(s, '"', (size_t)(end - s));
    if (q == NULL || (q + 1 < end && q[1] == '"')) return NULL;
    *to = q;
    return q + 1;
  }
  *from = s;
  while (s < end && *s != ',' && *s != '\n' && *s != '\r') {
    if (*s == '"') return NULL;
    s++;
  }
  *to = s;
  return s;
}

/* The header's fields, as text(); 1 where they are HEADER's, and *next the first
 * record. */
static int header(const char *s, const char *end, const char **next) {
  for (int c = 0; c < COLUMNS; c++) {
    const char *a, *b;
    s = text(s, end, &a, &b);
    if (s == NULL || s >= end || !is(a, b, HEADER[c])) return 0;
    if (c < COLUMNS - 1 && *s++ != ',') return 0;
  }
  if (*s == '\r') s++;
  if (s >= end || *s != '\n') return 0;
  *next = s + 1;
  return 1;
}

/* Checks the records of one part in one pass: each field is parsed where it is
 * split, and the record's values are checked as they are parsed. The part's
 * records may read on past its end (to the end of the file) where the last one
 * does. */
static void *check(void *argument) {
  part *p = argument;
  const char *s = p->begin, *end = p->limit, *a, *b;
  while (s < p->end) {
    long id, k;
    double v;
    s = whole(s, end, &id);
    if (s == NULL || *s++ != ',' || id < 0 || id >= p->span) goto undecided;
    if (__atomic_exchange_n(&p->seen[id], 1, __ATOMIC_RELAXED)) p->failures++;
    for (int c = 1; c <= 8; c++) {
      s = decimal(s, end, &v);
      if (s == NULL || *s++ != ',') goto undecided;
      p->failures += v < 0 || v > 100;
    }
    s = whole(s, end, &k);
    if (s == NULL || *s++ != ',') goto undecided;
    p->failures += k < 0 || k > 4;
    s = text(s, end, &a, &b);
    if (s == NULL) goto undecided;
    if (!(is(a, b, "red") || is(a, b, "green") || is(a, b, "blue"))) {
      if (memchr(a, '\n', (size_t)(b - a)) != NULL) goto undecided;  /* a quoted line end */
      p->failures++;
    }
    if (s < end && *s == '\r') s++;
    if (s < end && *s != '\n') goto undecided;  /* another field, or a lone CR */
    s++;
    p->rows++;
  }
  return NULL;
undecided:
  p->undecided++;
  return NULL;
}

static double seconds(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double peak_rss_mb(void) {
  FILE *status = fopen("/proc/self/status", "r");
  char line[256];
  long kb = 0;
  while (status != NULL && fgets(line, sizeof line, status) != NULL)
    if (sscanf(line, "VmHWM: %ld", &kb) == 1) break;
  if (status != NULL) fclose(status);
  return (double)kb / 1024.0;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s FILE THREADS ROWS\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[2]);
  long span = 4 * atol(argv[3]);
  if (threads < 1 || threads > MAX_THREADS || span <= 0) return 2;
  double wall = seconds(CLOCK_MONOTONIC), cpu = seconds(CLOCK_PROCESS_CPUTIME_ID);
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) return 2;
  const char *begin = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (begin == MAP_FAILED) return 2;
  const char *end = begin + st.st_size, *s = begin;
  if (end - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3;
  int named = header(s, end, &s);
  uint8_t *seen = calloc((size_t)span, 1);
  part parts[MAX_THREADS];
  pthread_t running[MAX_THREADS];
  long rows = 0, failures = 0, undecided = !named;
  if (named) {
    for (int t = 0; t < threads; t++) {
      const char *stop = end;
      if (t < threads - 1) {
        stop = begin + (end - begin) * (t + 1) / threads;
        stop = stop < s ? s : stop;
        const char *line = memchr(stop, '\n', (size_t)(end - stop));
        stop = line == NULL ? end : line + 1;
      }
      parts[t] = (part){s, stop, end, seen, span, 0, 0, 0};
      s = stop;
      pthread_create(&running[t], NULL, check, &parts[t]);
    }
    for (int t = 0; t < threads; t++) {
      pthread_join(running[t], NULL);
      rows += parts[t].rows;
      failures += parts[t].failures;
      undecided += parts[t].undecided;
    }
  }
  wall = seconds(CLOCK_MONOTONIC) - wall;
  cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu;
  printf("{\"seconds\": %.6f, \"cpu\": %.6f, \"rows\": %ld, \"passed\": %s, "
         "\"decided\": %s, \"rss_mb\": %.1f}\n",
         wall, cpu, rows, failures == 0 ? "true" : "false",
         undecided == 0 ? "true" : "false", peak_rss_mb());
  return 0;
}
