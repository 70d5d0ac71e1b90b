/*
 * One pass over a CSV file's records that says "clean" only where the chunked
 * engine would find nothing wrong: mlgitops.validation.native builds it with the
 * runner's C compiler and calls it through ctypes.
 *
 * Each thread reads a part of the file, cut where a line ends, in blocks of its
 * own; every field is split and parsed in the same pass and checked as it is
 * parsed, without building columns. It reads only plain forms: numbers written
 * as [-]digits[.digits] that a double holds exactly as strtod, pyarrow and
 * pandas read them, text unquoted without a quote or a CR, text quoted with its
 * quotes doubled and line ends (LF, not CR) inside, UTF-8, and records of
 * exactly the header's width ended by LF or CRLF. A part's first record must
 * start where the previous part's last record ended (a cut may fall inside a
 * quoted value): where it does not, the part is read again from there.
 * Anything else, a gap outside a nullable column, a value a check refuses or a
 * repeated key makes the answer "undecided" with a reason and the byte where
 * it was found: the caller then validates the file as before, and reports from
 * there. The pass never decides a failure.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum { SKIP = 0, INT = 1, FLOAT = 2, TEXT = 3 };
enum {
  UNIQUE = 1,
  PROFILE = 2,   /* keep its extremes and sum, or its distinct texts up to MAX_VALUES */
  HAS_LOW = 4,
  HAS_HIGH = 8,
  LOW_OPEN = 16, /* the low bound itself is outside */
  HIGH_OPEN = 32,
  INT_SET = 64,  /* the value must be one of ints */
  TEXT_SET = 128, /* the value must be one of the texts */
  NULLABLE = 256  /* a missing value passes (a float or text column) */
};
enum { MAX_VALUES = 20, MAX_THREADS = 16, BLOCK = 4 << 20 };

typedef struct {
  int32_t kind, flags;
  double low, high;
  const int64_t *ints; /* sorted */
  int64_t n_ints;
  const char *blob; /* the texts, one after another; offsets: n_texts + 1 */
  const int64_t *offsets;
  int64_t n_texts;
} field_spec;

typedef struct {
  int64_t imin, imax, count, longest, nulls; /* longest: a text's bytes */
  double dmin, dmax, sum;
  int32_t seen_dot, n_values; /* n_values: -1 where more than MAX_VALUES */
  int32_t seen_word;          /* a text that is no number_like() */
} field_out;

typedef struct {
  int64_t *items;
  int64_t n, cap;
} vec;

typedef struct {
  char *bytes[MAX_VALUES + 1];
  int64_t lengths[MAX_VALUES + 1];
  int32_t n; /* -1: more than MAX_VALUES */
} value_set;

typedef struct {
  int64_t imin, imax, count, longest, nulls;
  __int128 isum;
  double dmin, dmax, sum, compensation;
  int32_t seen_dot, seen_word;
  value_set values;
  vec keys;
} acc;

typedef struct {
  int fd;
  int32_t n_fields;
  const field_spec *spec;
  int64_t max_keys; /* a part's */
  /* the texts pandas reads as missing, as in field_spec; the first bytes they start with
   * and the longest */
  const char *nulls;
  const int64_t *null_offsets;
  int64_t n_nulls, longest_null;
  uint8_t null_starts[256];
  int64_t size;      /* the file's */
  volatile int stop; /* set where the first part cannot decide */
} job;

typedef struct {
  job *job;
  int64_t begin, end; /* it reads the records that start in [begin, end) */
  int64_t finish;     /* where the next record starts after its last one */
  int64_t rows;
  const char *reason;
  int64_t where;
  acc *accs;
  char *scratch; /* a value with its quotes undoubled */
  const char *resume_from; /* where a record stopped for more bytes, at the field resume */
  int32_t resume;
  int32_t lead;  /* the first part: where it cannot decide, the others stop */
} part;

typedef struct {
  int32_t status; /* 0 clean, 1 undecided, 2 the file could not be read */
  const char *reason;
  int64_t where, rows;
  int32_t n_fields, n_parts, read_again; /* read_again: parts read again from a record's start */
  field_out *outs;
  value_set *values;
} result;

static inline int push(vec *v, int64_t item, int64_t cap) {
  if (v->n == v->cap) {
    int64_t grown = v->cap ? v->cap * 2 : 1 << 16;
    if (grown > cap) grown = cap;
    if (v->n >= grown) return 0;
    int64_t *items = realloc(v->items, (size_t)grown * sizeof *items);
    if (items == NULL) return 0;
    v->items = items;
    v->cap = grown;
  }
  v->items[v->n++] = item;
  return 1;
}

static int same(const char *a, int64_t n, const char *b, int64_t m) {
  return n == m && memcmp(a, b, (size_t)n) == 0;
}

static int is_null(const job *j, const char *s, int64_t n) {
  if (n > j->longest_null || (n > 0 && !j->null_starts[(unsigned char)s[0]])) return 0;
  for (int64_t i = 0; i < j->n_nulls; i++)
    if (same(s, n, j->nulls + j->null_offsets[i], j->null_offsets[i + 1] - j->null_offsets[i]))
      return 1;
  return 0;
}

static int lower_is(const char *s, int64_t n, const char *word) {
  int64_t m = (int64_t)strlen(word);
  if (n < m) return 0;
  for (int64_t i = 0; i < m; i++)
    if ((s[i] | 0x20) != word[i]) return 0;
  return 1;
}

/* What pandas' number parser skips around a number (C's isspace). */
static int is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int digits_from(const char *s, const char *e, const char **after) {
  const char *first = s;
  while (s < e && (unsigned)(*s - '0') < 10) s++;
  *after = s;
  return s > first;
}

/* Text pandas reads as a number or a boolean: [sign] digits [. digits] [e [sign] digits],
 * inf, infinity or nan in any case, True or False; blanks around it. A column of only such
 * values is numbers or booleans to pandas, which is not what the chunked reading judges
 * where pandera does not coerce, nor where it does (01 becomes 1). */
static int number_like(const char *s, int64_t n) {
  const char *e = s + n;
  while (s < e && is_blank(*s)) s++;
  while (e > s && is_blank(e[-1])) e--;
  int64_t m = e - s;
  if ((m == 4 && lower_is(s, m, "true")) || (m == 5 && lower_is(s, m, "false"))) return 1;
  if (s < e && (*s == '+' || *s == '-')) s++;
  m = e - s;
  if ((m == 3 && (lower_is(s, m, "inf") || lower_is(s, m, "nan"))) ||
      (m == 8 && lower_is(s, m, "infinity")))
    return 1;
  const char *after;
  int whole = digits_from(s, e, &after), fraction = 0;
  s = after;
  if (s < e && *s == '.') {
    fraction = digits_from(s + 1, e, &after);
    s = after;
  }
  if (!whole && !fraction) return 0;
  if (s < e && (*s == 'e' || *s == 'E')) {
    s++;
    if (s < e && (*s == '+' || *s == '-')) s++;
    if (!digits_from(s, e, &after)) return 0;
    s = after;
  }
  return s == e;
}

/* Well-formed UTF-8 without a NUL; where every byte is ASCII, only the NUL is looked for. */
static int utf8(const unsigned char *s, int64_t n) {
  int64_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      if (c == 0) return 0;
      i++;
      continue;
    }
    int more;
    unsigned low = 0x80, high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) more = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
      more = 2;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      more = 3;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else
      return 0;
    if (i + more >= n) return 0;
    if (s[i + 1] < low || s[i + 1] > high) return 0;
    for (int k = 2; k <= more; k++)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
    i += more + 1;
  }
  return 1;
}

static const double TENS[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                              1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                              1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* [-]digits[.digits] from s, ending at the field's end (a comma or the line's end): its
 * value, exact-rounded (the digits as a whole number below 2^53 and a power of ten a
 * double holds exactly, so one division rounds once, as strtod does). The end, or NULL
 * where the field is not that. */
static const char *decimal(const char *s, const char *end, double *out, int *dot) {
  int negative = s < end && *s == '-';
  s += negative;
  const char *first = s;
  uint64_t m = 0;
  int digits = 0, fraction = 0;
  while (s < end && (unsigned)(*s - '0') < 10) {
    if (digits < 19) m = m * 10 + (uint64_t)(*s - '0');
    digits++;
    s++;
  }
  if (s == first || (*first == '0' && s - first > 1)) return NULL;
  *dot = s < end && *s == '.';
  if (*dot) {
    const char *after = ++s;
    while (s < end && (unsigned)(*s - '0') < 10) {
      if (digits < 19) m = m * 10 + (uint64_t)(*s - '0');
      digits++;
      s++;
    }
    fraction = (int)(s - after);
    if (fraction == 0) return NULL;
  }
  if (digits > 16 || m > (UINT64_C(1) << 53) || fraction > 22) return NULL;
  if (s < end && *s != ',') return NULL;
  double v = (double)m / TENS[fraction];
  if (negative && v == 0) return NULL; /* -0.0: pandas' and Arrow's extremes differ */
  *out = negative ? -v : v;
  return s;
}

static const char *whole(const char *s, const char *end, int64_t *out) {
  int negative = s < end && *s == '-';
  s += negative;
  const char *first = s;
  int64_t v = 0;
  while (s < end && (unsigned)(*s - '0') < 10) v = v * 10 + (*s++ - '0');
  if (s == first || s - first > 18 || (*first == '0' && s - first > 1)) return NULL;
  if (s < end && *s != ',') return NULL;
  *out = negative ? -v : v;
  return s;
}

/* What a field's parser answers where the value goes on past its line (SPANS), or past
 * the bytes read (MORE). */
static const char SPANS_LINE[1], MORE_BYTES[1];
#define SPANS SPANS_LINE
#define MORE MORE_BYTES

/* The quote that closes a quoted value from s, on (doubled ones skipped, *escaped set);
 * NULL where none does before end. */
static const char *closing(const char *s, const char *end, int *escaped) {
  for (;;) {
    const char *q = memchr(s, '"', (size_t)(end - s));
    if (q == NULL || q + 1 == end || q[1] != '"') return q;
    *escaped = 1;
    s = q + 2;
  }
}

/* A text field from s on a line that ends at end: its value in [*from, *to) and where the
 * field ends. *escaped: a quote inside is doubled. NULL where it is outside the plain
 * forms (a quote inside an unquoted value, a CR in a value, text after the closing
 * quote); SPANS where a quoted value goes on past the line (see spanning). */
static const char *text(const char *s, const char *end, const char **from, const char **to,
                        int *escaped) {
  *escaped = 0;
  if (s < end && *s == '"') {
    const char *q = closing(*from = s + 1, end, escaped);
    if (q == NULL) return SPANS;
    *to = q++;
    if (memchr(*from, '\r', (size_t)(*to - *from)) != NULL) return NULL;
    if (q < end && *q != ',') return NULL;
    return q;
  }
  *from = s;
  for (; s < end && *s != ','; s++)
    if (*s == '"' || *s == '\r') return NULL;
  *to = s;
  return s;
}

/* A quoted field from s whose value goes on past its line, as text(): *end moves to the
 * end of the line it closes on (before its CR LF or LF). MORE where it goes on past limit,
 * the end of the bytes read (eof: the end of the file); NULL where no quote closes it. */
static const char *spanning(const char *s, const char **end, const char *limit, int eof,
                            const char **from, const char **to, int *escaped) {
  const char *q = closing(*from = s + 1, limit, escaped);
  if (q == NULL || (q + 1 == limit && !eof)) /* (a doubled quote, or the closing one) */
    return eof ? NULL : MORE;
  *to = q++;
  if (memchr(*from, '\r', (size_t)(*to - *from)) != NULL) return NULL;
  const char *nl = memchr(q, '\n', (size_t)(limit - q));
  if (nl == NULL && !eof) return MORE;
  *end = nl == NULL ? limit : nl;
  if (*end > q && (*end)[-1] == '\r') (*end)--;
  if (q < *end && *q != ',') return NULL;
  return q;
}

/* [from, *to) with each doubled quote made one, in the part's scratch block (a value is
 * shorter than a block); NULL where there is no memory for it. */
static const char *undoubled(part *p, const char *from, const char **to) {
  if (p->scratch == NULL && (p->scratch = malloc(BLOCK)) == NULL) return NULL;
  char *out = p->scratch;
  for (const char *s = from; s < *to; s++) {
    *out++ = *s;
    if (*s == '"') s++;
  }
  *to = out;
  return p->scratch;
}

/* v added to *sum, its rounding error to *compensation (Neumaier): the error of the
 * larger addend's side is exact. */
static void add(double *sum, double *compensation, double v) {
  double t = *sum + v, bigger = *sum < 0 ? -*sum : *sum, other = v < 0 ? -v : v;
  *compensation += bigger >= other ? (*sum - t) + v : (v - t) + *sum;
  *sum = t;
}

static inline int bounded(const field_spec *f, double v) {
  if (f->flags & HAS_LOW) {
    if (f->flags & LOW_OPEN ? !(v > f->low) : !(v >= f->low)) return 0;
  }
  if (f->flags & HAS_HIGH) {
    if (f->flags & HIGH_OPEN ? !(v < f->high) : !(v <= f->high)) return 0;
  }
  return 1;
}

static inline int one_of_ints(const field_spec *f, int64_t v) {
  int64_t lo = 0, hi = f->n_ints;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (f->ints[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < f->n_ints && f->ints[lo] == v;
}

static int one_of_texts(const field_spec *f, const char *s, int64_t n) {
  for (int64_t i = 0; i < f->n_texts; i++)
    if (same(s, n, f->blob + f->offsets[i], f->offsets[i + 1] - f->offsets[i])) return 1;
  return 0;
}

/* FNV-1a, then a finaliser that spreads the bits: a text key's fingerprint. Two texts
 * with the same one only make the answer "undecided". */
static int64_t fingerprint(const char *s, int64_t n) {
  uint64_t h = UINT64_C(1469598103934665603);
  for (int64_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
  h ^= h >> 33;
  h *= UINT64_C(0xff51afd7ed558ccd);
  h ^= h >> 33;
  return (int64_t)h;
}

/* More distinct texts than the profile lists: none kept. */
static void too_many(value_set *values) {
  for (int32_t i = 0; i < values->n; i++) free(values->bytes[i]);
  values->n = -1;
}

static int keep_value(value_set *values, const char *s, int64_t n) {
  if (values->n < 0) return 1;
  for (int32_t i = 0; i < values->n; i++)
    if (same(s, n, values->bytes[i], values->lengths[i])) return 1;
  if (values->n == MAX_VALUES) {
    too_many(values);
    return 1;
  }
  char *copy = malloc((size_t)n + 1);
  if (copy == NULL) return 0;
  memcpy(copy, s, (size_t)n);
  values->bytes[values->n] = copy;
  values->lengths[values->n++] = n;
  return 1;
}

#define UNDECIDED(why)     \
  do {                     \
    p->reason = why;       \
    p->where = at;         \
    return NULL;           \
  } while (0)

/* A field whose value goes on past the bytes read: its record is read on from it (the
 * fields before it are counted) once more bytes are read. */
#define AGAIN                \
  do {                       \
    p->resume = c;           \
    p->resume_from = s;      \
    return MORE;             \
  } while (0)

/* A text field from s into from, to and escaped: text(), or spanning() where its value goes
 * on past its line (end then moves); AGAIN where it goes on past the bytes read. */
#define TEXT_FIELD()                                                    \
  do {                                                                  \
    next = text(s, end, &from, &to, &escaped);                          \
    if (next == SPANS) {                                                \
      const char *moved = end;                                          \
      next = spanning(s, &moved, limit, eof, &from, &to, &escaped);     \
      if (next == MORE) AGAIN;                                          \
      end = moved;                                                      \
    }                                                                   \
  } while (0)

/* One record from s, whose first line ends at end (before its CR LF or LF), read out of
 * the bytes up to limit (eof: the file's end); at: its offset in the file. first: the
 * field s starts (past 0 where a record is read on). Where the next record starts; NULL
 * where undecided, MORE where it goes on past limit (see AGAIN). */
static const char *record(part *p, const char *s, const char *end, const char *limit, int eof,
                          int64_t at, int32_t first) {
  const job *j = p->job;
  const char *blank = s;
  while (blank < end && (*blank == ' ' || *blank == '\t')) blank++;
  if (first == 0 && blank == end) UNDECIDED("a blank line"); /* pandas skips it: no record */
  for (int32_t c = first; c < j->n_fields; c++) {
    const field_spec *f = &j->spec[c];
    acc *a = &p->accs[c];
    const char *next;
    if (c > first) {
      if (s >= end) UNDECIDED("a record with fewer fields than the header");
      s++; /* the comma */
    }
    if (f->kind == INT) {
      int64_t v;
      next = whole(s, end, &v);
      if (next == NULL) UNDECIDED("a value in an integer column that is not a plain integer");
      if (v > (INT64_C(1) << 53) || v < -(INT64_C(1) << 53))
        UNDECIDED("an integer larger than a double holds");
      if (!bounded(f, (double)v) || ((f->flags & INT_SET) && !one_of_ints(f, v)))
        UNDECIDED("a value a check refuses");
      if ((f->flags & UNIQUE) && !push(&a->keys, v, j->max_keys))
        UNDECIDED("more keys than kept in memory");
      if (f->flags & PROFILE) {
        if (a->count == 0 || v < a->imin) a->imin = v;
        if (a->count == 0 || v > a->imax) a->imax = v;
        a->isum += v;
      }
      a->count++;
    } else if (f->kind == FLOAT) {
      double v;
      int dot;
      next = decimal(s, end, &v, &dot);
      if (next == NULL) {
        const char *from, *to;
        int escaped;
        TEXT_FIELD();
        if (next == NULL || escaped || !is_null(j, from, to - from))
          UNDECIDED("a value in a float column that is not a plain decimal");
        if (!(f->flags & NULLABLE)) UNDECIDED("a missing value");
        a->nulls++;
        a->seen_dot = 1; /* pandas reads a column with a gap as floats */
        s = next;
        continue;
      }
      if (!bounded(f, v)) UNDECIDED("a value a check refuses");
      a->seen_dot |= dot;
      if (f->flags & PROFILE) {
        if (a->count == 0 || v < a->dmin) a->dmin = v;
        if (a->count == 0 || v > a->dmax) a->dmax = v;
        add(&a->sum, &a->compensation, v);
      }
      a->count++;
    } else {
      const char *from, *to;
      int escaped;
      TEXT_FIELD();
      if (next == NULL) UNDECIDED("a text value outside the plain forms");
      if (!utf8((const unsigned char *)from, to - from))
        UNDECIDED("text that is not UTF-8, or a NUL");
      if (f->kind == TEXT) {
        if (escaped && (from = undoubled(p, from, &to)) == NULL) UNDECIDED("no memory");
        int64_t n = to - from;
        if (is_null(j, from, n)) {
          if (!(f->flags & NULLABLE) || (f->flags & UNIQUE)) UNDECIDED("a missing value");
          a->nulls++;
          s = next;
          continue;
        }
        if (!a->seen_word && !number_like(from, n)) a->seen_word = 1;
        if ((f->flags & TEXT_SET) && !one_of_texts(f, from, n))
          UNDECIDED("a value a check refuses");
        if ((f->flags & UNIQUE) && !push(&a->keys, fingerprint(from, n), j->max_keys))
          UNDECIDED("more keys than kept in memory");
        if ((f->flags & PROFILE) && !keep_value(&a->values, from, n)) UNDECIDED("no memory");
        if (n > a->longest) a->longest = n;
        a->count++;
      }
    }
    s = next;
  }
  if (s != end) UNDECIDED("a record with more fields than the header");
  p->rows++;
  if (s < limit && *s == '\r') s++;
  return s < limit ? s + 1 : s; /* past the LF */
}

/* The records that start in [begin, end), read in blocks: the last may go on past end.
 * The part is worked on as a copy of its own, written back at the end: parts lie side by
 * side, and threads writing into one cache line would wait on each other. */
static void *run(void *argument) {
  part *shared = argument, me = *shared, *p = &me;
  job *j = p->job;
  int64_t at = p->begin, read_to = p->end;
  char *block = malloc(BLOCK);
  int64_t held = 0;  /* bytes of an unfinished record at the block's start */
  int32_t first = 0; /* the field they start, past the first: the record is read on */
  if (block == NULL) {
    p->reason = "no memory";
    p->where = at;
  }
  while (block != NULL && !j->stop) {
    int64_t want = BLOCK - held;
    if (want > read_to - at) want = read_to - at;
    ssize_t got = want > 0 ? pread(j->fd, block + held, (size_t)want, at) : 0;
    if (got < 0 || (got == 0 && want > 0)) {
      p->reason = "the file changed while it was read";
      p->where = at;
      break;
    }
    at += got;
    int64_t filled = held + got, start = 0;
    int eof = at >= j->size;
    const char *limit = block + filled, *after = block;
    int64_t origin = at - filled; /* the file offset of block[0] */
    while (first > 0 || origin + start < p->end) {
      const char *s = block + start, *nl = memchr(s, '\n', (size_t)(filled - start)), *e = nl;
      if (nl == NULL) {
        if (!eof) {
          after = MORE;
          break;
        }
        e = limit; /* the file's last line, without a line end */
      }
      if (e > s && e[-1] == '\r') e--;
      after = record(p, s, e, limit, eof, origin + start, first);
      first = 0;
      if (after == MORE) {
        first = p->resume;
        start = p->resume_from - block;
      }
      if (after == NULL || after == MORE) break;
      start = after - block;
    }
    if (after == NULL) break;
    if (after != MORE) { /* every record that starts in the part is read */
      p->finish = origin + start;
      break;
    }
    held = filled - start;
    if (held == BLOCK) {
      p->reason = "a line or value longer than a block";
      p->where = origin + start;
      break;
    }
    if (at >= read_to) read_to = j->size; /* the part's last record goes on past its end */
    memmove(block, block + start, (size_t)held);
  }
  if (p->reason == NULL && p->finish < 0) p->reason = "stopped";
  if (p->reason != NULL && p->lead) j->stop = 1;
  free(block);
  free(p->scratch);
  p->scratch = NULL;
  *shared = me;
  return NULL;
}

/* Whether the line [s, e) reads as a whole record of n_fields fields on its own, its
 * quotes closed on it. */
static int whole_record(const char *s, const char *e, int32_t n_fields) {
  if (e > s && e[-1] == '\r') e--;
  for (int32_t fields = 1;; fields++) {
    const char *from, *to;
    int escaped;
    s = text(s, e, &from, &to, &escaped);
    if (s == NULL || s == SPANS) return 0;
    if (s == e) return fields == n_fields;
    s++; /* the comma */
  }
}

static int ascending(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Whether the n keys are all distinct: marked one bit each where they span at most
 * 64 times their number, sorted otherwise. */
static int distinct(int64_t *keys, int64_t n) {
  if (n < 2) return 1;
  int64_t low = keys[0], high = keys[0];
  for (int64_t i = 1; i < n; i++) {
    if (keys[i] < low) low = keys[i];
    if (keys[i] > high) high = keys[i];
  }
  uint64_t span = (uint64_t)high - (uint64_t)low + 1;
  if (span != 0 && span / 64 <= (uint64_t)n) {
    uint64_t *marks = calloc((size_t)(span / 64 + 1), sizeof *marks);
    if (marks != NULL) {
      for (int64_t i = 0; i < n; i++) {
        uint64_t k = (uint64_t)keys[i] - (uint64_t)low, bit = UINT64_C(1) << (k % 64);
        if (marks[k / 64] & bit) {
          free(marks);
          return 0;
        }
        marks[k / 64] |= bit;
      }
      free(marks);
      return 1;
    }
  }
  qsort(keys, (size_t)n, sizeof *keys, ascending);
  for (int64_t i = 1; i < n; i++)
    if (keys[i] == keys[i - 1]) return 0;
  return 1;
}

static void release(acc *a) {
  free(a->keys.items);
  for (int32_t i = 0; i < a->values.n; i++) free(a->values.bytes[i]);
}

/* The start of the first line at or after offset (end where none starts before it). */
static int64_t line_start(int fd, int64_t offset, int64_t end) {
  char buffer[1 << 16];
  while (offset < end) {
    ssize_t got = pread(fd, buffer, sizeof buffer, offset - 1);
    if (got <= 0) return end;
    const char *nl = memchr(buffer, '\n', (size_t)got);
    if (nl != NULL) return offset - 1 + (nl - buffer) + 1;
    offset += got;
  }
  return end;
}

/* Where a part that starts near offset should start: the first of the next lines in 64 KiB
 * that reads as a whole record on its own, else the first line start. A quoted value may
 * hold such lines, so the caller checks that each part starts where the previous part's
 * records end. */
static int64_t record_start(int fd, int64_t offset, int64_t end, int32_t n_fields) {
  char buffer[1 << 16];
  int64_t first = line_start(fd, offset, end);
  ssize_t got = first < end ? pread(fd, buffer, sizeof buffer, first) : 0;
  for (const char *s = buffer, *nl; got > 0 && (nl = memchr(s, '\n', (size_t)(buffer + got - s)));
       s = nl + 1) {
    if (whole_record(s, nl, n_fields)) return first + (s - buffer);
  }
  return first;
}

static void merge(result *r, part *parts, int threads, const job *j) {
  for (int32_t c = 0; c < j->n_fields; c++) {
    field_out *o = &r->outs[c];
    value_set *values = &r->values[c];
    double sum = 0, compensation = 0;
    __int128 isum = 0;
    int64_t keys = 0;
    for (int t = 0; t < threads; t++) {
      acc *a = &parts[t].accs[c];
      if (a->count > 0) {
        if (o->count == 0 || a->imin < o->imin) o->imin = a->imin;
        if (o->count == 0 || a->imax > o->imax) o->imax = a->imax;
        if (o->count == 0 || a->dmin < o->dmin) o->dmin = a->dmin;
        if (o->count == 0 || a->dmax > o->dmax) o->dmax = a->dmax;
      }
      o->count += a->count;
      o->nulls += a->nulls;
      o->seen_dot |= a->seen_dot;
      o->seen_word |= a->seen_word;
      if (a->longest > o->longest) o->longest = a->longest;
      isum += a->isum;
      add(&sum, &compensation, a->sum);
      add(&sum, &compensation, a->compensation);
      keys += a->keys.n;
      if (values->n >= 0 && a->values.n < 0) too_many(values);
      for (int32_t i = 0; values->n >= 0 && i < a->values.n; i++)
        keep_value(values, a->values.bytes[i], a->values.lengths[i]);
    }
    o->sum = j->spec[c].kind == INT ? (double)isum : sum + compensation;
    o->n_values = values->n;
    if ((j->spec[c].flags & UNIQUE) && r->status == 0) {
      /* the parts' keys in the first part's array, grown: each other part's freed as it
       * is copied */
      vec *all = &parts[0].accs[c].keys;
      int64_t *grown = keys ? realloc(all->items, (size_t)keys * sizeof *grown) : all->items;
      if (keys && grown == NULL) {
        r->status = 1;
        r->reason = "no memory";
        r->where = -1;
        continue;
      }
      all->items = grown;
      for (int t = 1; t < threads; t++) {
        vec *more = &parts[t].accs[c].keys;
        if (more->n) memcpy(all->items + all->n, more->items, (size_t)more->n * sizeof *grown);
        all->n += more->n;
        free(more->items);
        more->items = NULL;
        more->n = 0;
      }
      if (!distinct(all->items, all->n)) {
        r->status = 1;
        r->reason = "a key that may repeat";
        r->where = -1;
      }
    }
  }
}

void *mg_screen(const char *path, int64_t start, int32_t n_fields, const field_spec *spec,
                int32_t threads, int64_t max_keys, const char *nulls,
                const int64_t *null_offsets, int64_t n_nulls) {
  result *r = calloc(1, sizeof *r);
  if (r == NULL) return NULL;
  r->n_fields = n_fields;
  r->outs = calloc((size_t)n_fields, sizeof *r->outs);
  r->values = calloc((size_t)n_fields, sizeof *r->values);
  part parts[MAX_THREADS];
  pthread_t running[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  job j = {-1, n_fields, spec, max_keys, nulls, null_offsets, n_nulls, 0, {0}, 0, 0};
  for (int64_t i = 0; i < n_nulls; i++) {
    int64_t n = null_offsets[i + 1] - null_offsets[i];
    if (n > 0) j.null_starts[(unsigned char)nulls[null_offsets[i]]] = 1;
    if (n > j.longest_null) j.longest_null = n;
  }
  r->status = 2;
  r->reason = "the file cannot be read";
  if (r->outs == NULL || r->values == NULL) return r;
  j.fd = open(path, O_RDONLY);
  if (j.fd < 0) return r;
  off_t size = lseek(j.fd, 0, SEEK_END);
  if (size < start) {
    close(j.fd);
    return r;
  }
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  if ((size - start) / threads < BLOCK) threads = 1;
  j.size = size;
  j.max_keys = max_keys / threads > 0 ? max_keys / threads : 1;
  r->n_parts = threads;
  int64_t from = start;
  for (int t = 0; t < threads; t++) {
    int64_t to = size;
    if (t < threads - 1) to = record_start(j.fd, start + (size - start) * (t + 1) / threads, size, n_fields);
    if (to < from) to = from;
    acc *accs = calloc((size_t)n_fields, sizeof(acc));
    parts[t] = (part){.job = &j, .begin = from, .end = to, .finish = -1, .accs = accs, .lead = t == 0};
    from = to;
  }
  r->status = 0;
  r->reason = NULL;
  for (int t = 0; t < threads; t++) {
    if (parts[t].accs == NULL) {
      parts[t].reason = "no memory";
      continue;
    }
    started[t] = pthread_create(&running[t], NULL, run, &parts[t]) == 0;
    if (!started[t]) run(&parts[t]);
  }
  for (int t = 0; t < threads; t++) {
    if (started[t]) pthread_join(running[t], NULL);
  }
  /* In order: a part whose first record is not where the previous part's records end was
   * cut inside a quoted value, and is read again from there. */
  for (int t = 0; t < threads; t++) {
    if (t > 0 && parts[t].accs != NULL && parts[t].begin != parts[t - 1].finish) {
      for (int32_t c = 0; c < n_fields; c++) release(&parts[t].accs[c]);
      memset(parts[t].accs, 0, (size_t)n_fields * sizeof(acc));
      parts[t].begin = parts[t - 1].finish;
      if (parts[t].end < parts[t].begin) parts[t].end = parts[t].begin;
      parts[t].finish = -1;
      parts[t].rows = 0;
      parts[t].reason = NULL;
      run(&parts[t]);
      r->read_again++;
    }
    if (parts[t].reason != NULL) {
      r->status = 1;
      r->reason = parts[t].reason;
      r->where = parts[t].where;
      break;
    }
    r->rows += parts[t].rows;
  }
  close(j.fd);
  if (r->status == 0) merge(r, parts, threads, &j);
  for (int t = 0; t < threads; t++) {
    if (parts[t].accs == NULL) continue;
    for (int32_t c = 0; c < n_fields; c++) release(&parts[t].accs[c]);
    free(parts[t].accs);
  }
  return r;
}

int32_t mg_status(const result *r) { return r->status; }
const char *mg_reason(const result *r) { return r->reason ? r->reason : ""; }
int64_t mg_where(const result *r) { return r->where; }
int64_t mg_rows(const result *r) { return r->rows; }
int32_t mg_parts(const result *r) { return r->n_parts; }
int32_t mg_read_again(const result *r) { return r->read_again; }
const field_out *mg_field(const result *r, int32_t c) { return &r->outs[c]; }

const char *mg_value(const result *r, int32_t c, int32_t i, int64_t *length) {
  *length = r->values[c].lengths[i];
  return r->values[c].bytes[i];
}

void mg_free(result *r) {
  if (r == NULL) return;
  for (int32_t c = 0; r->values != NULL && c < r->n_fields; c++)
    for (int32_t i = 0; i < r->values[c].n; i++) free(r->values[c].bytes[i]);
  free(r->values);
  free(r->outs);
  free(r);
}
