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
 * splitting records, parsing each number and checking it, without building
 * columns. It is a measurement of that design's floor, not a validator: it
 * answers "undecided" for anything outside the plain forms those files hold (a
 * quoted line end, a quote inside an unquoted field, an exponent, a null, an id
 * outside [0, 4 * ROWS)), and reports no failure's place. Prints one JSON line
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
  const char *begin, *end;
  uint8_t *seen;
  long span;
  long rows, failures, undecided;
} part;

/* A plain decimal, [-]digits[.digits], as a double; 0 where the text is not one.
 * Up to 18 digits and a power of ten up to 1e18 the division is exact-rounded
 * (Clinger's fast path), as strtod's result is. */
static int decimal(const char *s, const char *e, double *out) {
  static const double tens[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                1e14, 1e15, 1e16, 1e17, 1e18};
  int negative = s < e && *s == '-';
  s += negative;
  uint64_t m = 0;
  int digits = 0, fraction = 0, dot = 0;
  for (; s < e; s++) {
    if (*s >= '0' && *s <= '9') {
      m = m * 10 + (uint64_t)(*s - '0');
      digits++;
      fraction += dot;
    } else if (*s == '.' && !dot) {
      dot = 1;
    } else {
      return 0;
    }
  }
  if (digits == 0 || digits > 18) return 0;
  double v = (double)m / tens[fraction];
  *out = negative ? -v : v;
  return 1;
}

static int whole(const char *s, const char *e, long *out) {
  int negative = s < e && *s == '-';
  s += negative;
  if (s == e || e - s > 18) return 0;
  long v = 0;
  for (; s < e; s++) {
    if (*s < '0' || *s > '9') return 0;
    v = v * 10 + (*s - '0');
  }
  *out = negative ? -v : v;
  return 1;
}

static int is(const char *s, const char *e, const char *word) {
  size_t n = strlen(word);
  return (size_t)(e - s) == n && memcmp(s, word, n) == 0;
}

/* One record's fields from s; returns where the next record starts, or NULL
 * where the record is outside the forms this probe reads. */
static const char *record(const char *s, const char *end, const char **from,
                          const char **to, int *count) {
  int n = 0;
  for (;;) {
    const char *a, *b;
    if (s < end && *s == '"') {
      a = ++s;
      const char *q = memchr(s, '"', (size_t)(end - s));
      /* unclosed, a line end inside quotes, or an escaped quote to unescape */
      if (q == NULL || memchr(s, '\n', (size_t)(q - s)) != NULL) return NULL;
      if (q + 1 < end && q[1] == '"') return NULL;
      b = q;
      s = q + 1;
    } else {
      a = s;
      while (s < end && *s != ',' && *s != '\n' && *s != '\r') {
        if (*s == '"') return NULL;
        s++;
      }
      b = s;
    }
    if (n < COLUMNS) {
      from[n] = a;
      to[n] = b;
    }
    n++;
    if (s < end && *s == ',') {
      s++;
      continue;
    }
    if (s < end && *s == '\r') s++;
    if (s < end && *s != '\n') return NULL;
    *count = n;
    return s < end ? s + 1 : s;
  }
}

static void *check(void *argument) {
  part *p = argument;
  const char *s = p->begin, *from[COLUMNS], *to[COLUMNS];
  while (s < p->end) {
    int n = 0;
    const char *next = record(s, p->end, from, to, &n);
    if (next == NULL) {
      p->undecided++;
      return NULL;
    }
    s = next;
    p->rows++;
    if (n != COLUMNS) {
      p->failures++;
      continue;
    }
    long id, k;
    double v;
    if (!whole(from[0], to[0], &id) || id < 0 || id >= p->span) {
      p->undecided++;
      return NULL;
    }
    if (__atomic_exchange_n(&p->seen[id], 1, __ATOMIC_RELAXED)) p->failures++;
    for (int c = 1; c <= 8; c++) {
      if (!decimal(from[c], to[c], &v)) {
        p->undecided++;
        return NULL;
      }
      p->failures += v < 0 || v > 100;
    }
    if (!whole(from[9], to[9], &k)) {
      p->undecided++;
      return NULL;
    }
    p->failures += k < 0 || k > 4;
    p->failures += !(is(from[10], to[10], "red") || is(from[10], to[10], "green") ||
                     is(from[10], to[10], "blue"));
  }
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
  const char *from[COLUMNS], *to[COLUMNS];
  int n = 0;
  s = record(s, end, from, to, &n);
  int header = s != NULL && n == COLUMNS;
  for (int c = 0; header && c < COLUMNS; c++) header = is(from[c], to[c], HEADER[c]);
  uint8_t *seen = calloc((size_t)span, 1);
  part parts[MAX_THREADS];
  pthread_t running[MAX_THREADS];
  long rows = 0, failures = 0, undecided = !header;
  if (header) {
    for (int t = 0; t < threads; t++) {
      const char *stop = end;
      if (t < threads - 1) {
        stop = begin + (end - begin) * (t + 1) / threads;
        stop = stop < s ? s : stop;
        const char *line = memchr(stop, '\n', (size_t)(end - stop));
        stop = line == NULL ? end : line + 1;
      }
      parts[t] = (part){s, stop, seen, span, 0, 0, 0};
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
