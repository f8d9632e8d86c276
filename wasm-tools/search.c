/*
 * search [--glob=G]... [--exclude=G]... [--content=REGEX] [--icase] [--max=N] [--no-gitignore] [--shard=I/N] PATH
 * (PROTOCOL.md: search)
 *
 * Speed: POSIX regexec is slow, so content search reads each file whole into one reused buffer,
 * scans the buffer for a literal every match must contain (SIMD when built with -msimd128), and runs
 * regexec only on the lines holding it. A pattern that is a plain literal never reaches regexec.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <locale.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#include "common.h"
#include "dfa.h"
#include "glob.h"

#define MAX_WALK_DEPTH 128
#define BINARY_PROBE 8192
#define TEXT_CUT 512
#define BUF_START ((size_t)1 << 20)
#define BUF_MAX ((size_t)64 << 20)

/* ---- options ----------------------------------------------------------------------------- */

static wglob *globs, *excludes;
static int nglobs, nexcludes;
static int icase, use_gitignore = 1, content_mode;
static uint64_t max_records = 1000, records, files_seen;
/* --shard=I/N: this run searches its share of the tree. The units are the directories SHARD_LEVEL
 * levels below PATH (with everything under them) and the files above that level, numbered in walk
 * order (the same in every shard). Each unit goes to the first shard to claim it through the
 * host's `warden.claim` (a table the host shares between the shards of one search), so a shard
 * that finishes early takes more; without a table (claim returns -1) unit k goes to shard k % N. */
#define SHARD_LEVEL 2
static uint64_t shard_i, shard_n = 1, subtrees, candidates;

__attribute__((import_module("warden"), import_name("claim"))) int32_t warden_claim(uint32_t unit);

/* Whether this run searches the next subtree (kind 0) or top-level file (kind 1), counted apart:
 * claim ids interleave the two counts (2k + kind); the static split deals each count round-robin. */
static int take_unit(int kind) {
  uint64_t k = kind ? candidates++ : subtrees++;
  if (shard_n == 1) return 1;
  uint64_t id = 2 * k + (uint64_t)kind;
  int32_t c = id <= UINT32_MAX ? warden_claim((uint32_t)id) : -1;
  return c >= 0 ? c : k % shard_n == shard_i;
}
static int truncated;

/* ---- required literals ------------------------------------------------------------------- */

static regex_t re_pos;  /* for finding the first match in a region */
static regex_t re_line; /* REG_NOSUB, for verifying one candidate line */

#define MAX_EXTRA 8
#define MAX_BRANCHES 16

/* What a pattern, or one of its top-level alternatives, says about every text it matches. */
typedef struct {
  unsigned char *lit; /* the longest literal every match contains (folded when --icase) */
  size_t lit_len;
  int pure;           /* the branch is exactly that literal */
  unsigned char *extra[MAX_EXTRA]; /* every other literal of 2+ bytes every match contains */
  size_t extra_len[MAX_EXTRA];
  int nextra;
} litinfo;

static litinfo branch[MAX_BRANCHES]; /* one per top-level alternative (one when there is no `|`) */
static int nbranch;                  /* 0: no prefilter, every line is tested */
static int dfa_ok;                   /* dfa.c decides ASCII lines; regexec the rest */
static int all_pure;                 /* every branch is a plain literal: regexec never runs */

/* Chars that stand for themselves in a POSIX ERE when they appear unescaped. */
static int plain_char(unsigned char c) {
  if (c >= 0x80) return 1;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
  return c != 0 && strchr(" !\"#%&',-/:;<=>@_`~", c) != NULL;
}

/* Escaped chars musl's ERE takes literally (`\<`, `\w`, ... are operators, never taken here). */
static int escaped_literal(unsigned char c) { return c != 0 && strchr(".[]{}()*+?^$|\\/", c) != NULL; }

static unsigned char lower_ascii(unsigned char c) { return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c; }

/* Index just past the bracket expression opening at re[i] == '['. */
static size_t skip_class(const char *re, size_t n, size_t i) {
  size_t j = i + 1;
  if (j < n && re[j] == '^') j++;
  if (j < n && re[j] == ']') j++;
  while (j < n && re[j] != ']') {
    if (re[j] == '[' && j + 1 < n && (re[j + 1] == ':' || re[j + 1] == '.' || re[j + 1] == '=')) {
      char kind = re[j + 1];
      j += 2;
      while (j + 1 < n && !(re[j] == kind && re[j + 1] == ']')) j++;
      j += 2;
      continue;
    }
    j++;
  }
  return j + 1;
}

/* Index just past the group opening at re[i] == '('. */
static size_t skip_group(const char *re, size_t n, size_t i) {
  int depth = 0;
  while (i < n) {
    if (re[i] == '\\') i += 2;
    else if (re[i] == '[') i = skip_class(re, n, i);
    else {
      if (re[i] == '(') depth++;
      else if (re[i] == ')' && --depth == 0) return i + 1;
      i++;
    }
  }
  return n;
}

static unsigned char *folded_copy(const char *s, size_t n) {
  unsigned char *d = xmalloc(n);
  for (size_t k = 0; k < n; k++) d[k] = icase ? lower_ascii((unsigned char)s[k]) : (unsigned char)s[k];
  return d;
}

static void end_run(litinfo *li, const char *run, size_t *run_len, size_t *atom_at) {
  if (*run_len >= 2 && li->nextra < MAX_EXTRA) {
    li->extra[li->nextra] = folded_copy(run, *run_len);
    li->extra_len[li->nextra++] = *run_len;
  }
  if (*run_len > li->lit_len) {
    free(li->lit);
    li->lit = folded_copy(run, *run_len);
    li->lit_len = *run_len;
  }
  *run_len = 0;
  *atom_at = 0;
}

/*
 * Finds the literal runs of re[0..n), a pattern without top-level `|`. Conservative: groups,
 * classes, intervals, anchors and escapes like `\w` end a run; an atom followed by `*`, `?` or `{`
 * is dropped from its run; `+` ends the run after its atom. Every run found is in every match.
 */
static void scan_literals(const char *re, size_t n, litinfo *li) {
  memset(li, 0, sizeof *li);
  char *run = xmalloc(n + 1);
  size_t run_len = 0, atom_at = 0;
  int breaks = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)re[i];
    size_t atom_len = 0;
    char atom[4];
    if (c == '\\' && i + 1 < n && escaped_literal((unsigned char)re[i + 1])) {
      atom[0] = re[i + 1];
      atom_len = 1;
      i += 2;
    } else if (plain_char(c) && !(icase && c >= 0x80)) {
      size_t len = 1; /* a whole UTF-8 sequence is one atom */
      if (c >= 0xC0) {
        len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        if (i + len > n) len = 1;
      }
      memcpy(atom, re + i, len);
      atom_len = len;
      i += len;
    } else {
      /* an operator, group, class, interval or anchor: the run ends here */
      breaks = 1;
      if (c == '[') i = skip_class(re, n, i);
      else if (c == '(') i = skip_group(re, n, i);
      else if (c == '{') {
        while (i < n && re[i] != '}') i++;
        i++;
      } else if (c == '\\')
        i += 2;
      else
        i++;
      if (c == '*' || c == '?' || c == '{') run_len = atom_at; /* the previous atom was optional */
      end_run(li, run, &run_len, &atom_at);
      continue;
    }
    char q = i < n ? re[i] : 0;
    if (q == '*' || q == '?' || q == '{') {
      breaks = 1; /* this atom is optional: drop it; the quantifier is skipped next round */
      end_run(li, run, &run_len, &atom_at);
      continue;
    }
    atom_at = run_len;
    memcpy(run + run_len, atom, atom_len);
    run_len += atom_len;
    if (q == '+') {
      breaks = 1;
      end_run(li, run, &run_len, &atom_at);
      i++;
    }
  }
  end_run(li, run, &run_len, &atom_at);
  free(run);
  li->pure = !breaks && li->lit_len > 0;
}

static unsigned char byte_rank(unsigned char c);
static unsigned char lower_ascii(unsigned char c);

/* How selective a literal is as the prefilter: its rarest byte first, then its length. The
 * longest literal is often a common word (`struct`, `return`); a shorter one with a rarer byte
 * (`_ops`) gives far fewer candidate lines to check. */
static unsigned lit_score(const unsigned char *s, size_t n) {
  unsigned rare = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned r = byte_rank(lower_ascii(s[i]));
    if (r > rare) rare = r;
  }
  return rare * 64 + (unsigned)(n < 63 ? n : 63);
}

/* Makes the most selective literal of li (of 3+ bytes, or the longest) its prefilter literal. */
static void pick_literal(litinfo *li) {
  unsigned best = li->lit_len >= 3 ? lit_score(li->lit, li->lit_len) : 0;
  for (int k = 0; k < li->nextra; k++) {
    if (li->extra_len[k] < 3) continue;
    unsigned sc = lit_score(li->extra[k], li->extra_len[k]);
    if (sc > best) {
      best = sc;
      li->lit = li->extra[k]; /* extra[] keeps its own copy; the old lit stays allocated */
      li->lit_len = li->extra_len[k];
    }
  }
}

/* Splits the pattern at top-level `|` and finds each branch's literals. With no usable literal in
 * some branch (or too many branches), nbranch stays 0 and the search runs regexec on regions. */
static void plan_prefilter(const char *re) {
  size_t n = strlen(re), starts[MAX_BRANCHES + 1];
  int count = 0, depth = 0;
  starts[count++] = 0;
  for (size_t i = 0; i < n;) {
    if (re[i] == '\\') i += 2;
    else if (re[i] == '[') i = skip_class(re, n, i);
    else {
      if (re[i] == '(') depth++;
      else if (re[i] == ')') depth--;
      else if (re[i] == '|' && depth == 0) {
        if (count == MAX_BRANCHES) return;
        starts[count++] = i + 1;
      }
      i++;
    }
  }
  starts[count] = n + 1;
  all_pure = 1;
  for (int k = 0; k < count; k++) {
    litinfo *li = &branch[k];
    scan_literals(re + starts[k], starts[k + 1] - 1 - starts[k], li);
    if (!li->pure) pick_literal(li);
    if (li->lit_len == 0) {
      nbranch = 0;
      all_pure = 0;
      return;
    }
    all_pure &= li->pure;
  }
  nbranch = count;
}

/* ---- fast scans -------------------------------------------------------------------------- */

static int eq_fold(const unsigned char *a, const unsigned char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (lower_ascii(a[i]) != b[i]) return 0;
  return 1;
}

/* Finds needle nd (m bytes, folded when icase) in h[0..n); NULL when absent. */
/* How common a byte is in source text (0 = most common); bytes not listed are rare. */
static unsigned char byte_rank(unsigned char c) {
  static const char common[] = " etaoinsrlcdu_pmhf()gb;,.*/=yvwkx0123456789{}-\"'\t\n\r:<>[]#&+!|?\\";
  const char *at = c ? memchr(common, c, sizeof common - 1) : NULL;
  if (c >= 'A' && c <= 'Z' && !at) return 200;
  return at ? (unsigned char)(at - common) : 255;
}

/* The two positions of the needle with the rarest bytes (distinct, i1 < i2 when m > 1). */
static void rare_pair(const unsigned char *nd, size_t m, size_t *i1, size_t *i2) {
  size_t a = 0, b = m - 1;
  for (size_t k = 0; k < m; k++)
    if (byte_rank(lower_ascii(nd[k])) > byte_rank(lower_ascii(nd[a]))) a = k;
  b = a == 0 ? m - 1 : 0;
  for (size_t k = 0; k < m; k++)
    if (k != a && byte_rank(lower_ascii(nd[k])) > byte_rank(lower_ascii(nd[b]))) b = k;
  *i1 = a < b ? a : b;
  *i2 = a < b ? b : a;
}

static const char *find_in(const char *hs, size_t n, const unsigned char *nd, size_t m) {
  const unsigned char *h = (const unsigned char *)hs;
  if (n < m) return NULL;
  size_t last = n - m; /* last possible start */
#ifdef __wasm_simd128__
  size_t i = 0;
  if (last + 1 >= 16) {
    /* compare the needle's two rarest bytes across 16 starts at once, verify the candidates */
    size_t p1, p2;
    rare_pair(nd, m, &p1, &p2);
    unsigned char f = nd[p1], l = nd[p2];
    unsigned char fm = (icase && f >= 'a' && f <= 'z') ? 0x20 : 0, lm = (icase && l >= 'a' && l <= 'z') ? 0x20 : 0;
    v128_t vf = wasm_u8x16_splat(f), vl = wasm_u8x16_splat(l);
    v128_t vfm = wasm_u8x16_splat(fm), vlm = wasm_u8x16_splat(lm);
    for (; i + 16 <= last + 1; i += 16) {
      v128_t a = wasm_v128_load(h + i + p1);
      v128_t b = wasm_v128_load(h + i + p2);
      v128_t eq = wasm_v128_and(wasm_i8x16_eq(wasm_v128_or(a, vfm), vf), wasm_i8x16_eq(wasm_v128_or(b, vlm), vl));
      uint32_t mask = wasm_i8x16_bitmask(eq);
      while (mask) {
        unsigned bit = (unsigned)__builtin_ctz(mask);
        const unsigned char *c = h + i + bit;
        if (icase ? eq_fold(c, nd, m) : memcmp(c, nd, m) == 0) return (const char *)c;
        mask &= mask - 1;
      }
    }
  }
  for (; i <= last; i++) {
    if (icase ? eq_fold(h + i, nd, m) : (h[i] == nd[0] && memcmp(h + i, nd, m) == 0)) return (const char *)(h + i);
  }
  return NULL;
#else
  if (!icase) return memmem(h, n, nd, m);
  for (size_t i = 0; i <= last; i++)
    if (lower_ascii(h[i]) == nd[0] && eq_fold(h + i, nd, m)) return (const char *)(h + i);
  return NULL;
#endif
}

/* The first byte c in s[0..n), or NULL: memchr, 16 bytes at a time (wasi-libc's is scalar). */
static const char *find_byte(const char *ss, size_t n, unsigned char c) {
  const unsigned char *s = (const unsigned char *)ss;
  size_t i = 0;
#ifdef __wasm_simd128__
  v128_t vc = wasm_u8x16_splat(c);
  for (; i + 64 <= n; i += 64) {
    v128_t a = wasm_i8x16_eq(wasm_v128_load(s + i), vc);
    v128_t b = wasm_i8x16_eq(wasm_v128_load(s + i + 16), vc);
    v128_t d = wasm_i8x16_eq(wasm_v128_load(s + i + 32), vc);
    v128_t e = wasm_i8x16_eq(wasm_v128_load(s + i + 48), vc);
    if (wasm_v128_any_true(wasm_v128_or(wasm_v128_or(a, b), wasm_v128_or(d, e)))) break;
  }
  for (; i + 16 <= n; i += 16) {
    uint32_t mask = wasm_i8x16_bitmask(wasm_i8x16_eq(wasm_v128_load(s + i), vc));
    if (mask) return (const char *)(s + i + __builtin_ctz(mask));
  }
#endif
  for (; i < n; i++)
    if (s[i] == c) return (const char *)(s + i);
  return NULL;
}

/* 1 when the line b[0..n) holds every extra literal of li. */
static int has_extras(const litinfo *li, const char *b, size_t n) {
  for (int k = 0; k < li->nextra; k++)
    if (!find_in(b, n, li->extra[k], li->extra_len[k])) return 0;
  return 1;
}

/* Number of '\n' in p[0..n). */
static size_t count_nl(const char *ps, size_t n) {
  const unsigned char *p = (const unsigned char *)ps;
  size_t count = 0, i = 0;
#ifdef __wasm_simd128__
  v128_t nl = wasm_u8x16_splat('\n');
  while (i + 16 <= n) {
    v128_t acc = wasm_i8x16_splat(0);
    size_t blocks = (n - i) / 16;
    if (blocks > 255) blocks = 255;
    for (size_t b = 0; b < blocks; b++, i += 16) acc = wasm_i8x16_sub(acc, wasm_i8x16_eq(wasm_v128_load(p + i), nl));
    /* horizontal sum of 16 u8 lanes */
    v128_t s16 = wasm_u16x8_extadd_pairwise_u8x16(acc);
    v128_t s32 = wasm_u32x4_extadd_pairwise_u16x8(s16);
    count += wasm_u32x4_extract_lane(s32, 0) + wasm_u32x4_extract_lane(s32, 1) + wasm_u32x4_extract_lane(s32, 2) +
             wasm_u32x4_extract_lane(s32, 3);
  }
#endif
  for (; i < n; i++) count += p[i] == '\n';
  return count;
}

/* ---- output ------------------------------------------------------------------------------ */

static strbuf rel; /* path of the current entry relative to PATH */

/* Emits one record; returns 1 when the search must stop (max reached). */
static int emit_line(uint64_t line, const char *text, size_t len) {
  if (records == max_records) {
    truncated = 1;
    return 1;
  }
  if (len && text[len - 1] == '\r') len--;
  if (len > TEXT_CUT) {
    len = TEXT_CUT;
    while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80) len--;
  }
  char num[24];
  int nl = snprintf(num, sizeof num, "%llu", (unsigned long long)line);
  out_write(rel.p, rel.len + 1);
  out_write(num, (size_t)nl + 1);
  out_write(text, len);
  out_write("", 1);
  records++;
  return 0;
}

static int emit_name(void) {
  if (records == max_records) {
    truncated = 1;
    return 1;
  }
  out_write(rel.p, rel.len + 1);
  records++;
  return 0;
}

/* ---- content search ---------------------------------------------------------------------- */

static char *buf;
static size_t buf_cap;

static const char *line_start(const char *lo, const char *p) {
  while (p > lo && p[-1] != '\n') p--;
  return p;
}

/* Does the line b[ls..le) match? The DFA decides ASCII lines; regexec the others. */
static uint64_t n_lines_tested, n_regexec;

static int line_matches(char *b, size_t ls, size_t le) {
  n_lines_tested++;
  if (dfa_ok) {
    int v = dfa_line((const unsigned char *)b + ls, le - ls);
    if (v >= 0) return v;
  }
  n_regexec++;
  char c = b[le];
  b[le] = 0;
  int r = regexec(&re_line, b + ls, 0, NULL, 0);
  b[le] = c;
  return r == 0;
}

/* Searches complete lines in b[0..n) (b[n] may be overwritten temporarily); line numbers start at
 * first_line. Returns 1 to stop the whole search. */
static int search_region(char *b, size_t n, uint64_t first_line) {
  size_t pos = 0, counted = 0;
  uint64_t line = first_line;
  char saved = b[n];
  b[n] = 0;
  int stop = 0;
  size_t next_hit[MAX_BRANCHES];
  for (int k = 0; k < nbranch; k++) next_hit[k] = (size_t)-1;
  while (pos < n && !stop) {
    size_t ls, le;
    if (nbranch) {
      /* the earliest hit of any branch literal; each branch remembers its next hit */
      size_t hit = n;
      for (int k = 0; k < nbranch; k++) {
        if (next_hit[k] == (size_t)-1 || (next_hit[k] < pos && next_hit[k] != n)) {
          const char *h = find_in(b + pos, n - pos, branch[k].lit, branch[k].lit_len);
          next_hit[k] = h ? (size_t)(h - b) : n;
        }
        if (next_hit[k] < hit) hit = next_hit[k];
      }
      if (hit == n) break;
      ls = (size_t)(line_start(b + pos, b + hit) - b);
      const char *e = find_byte(b + hit, n - hit, '\n');
      le = e ? (size_t)(e - b) : n;
      if (!all_pure) {
        if (nbranch == 1 && !has_extras(&branch[0], b + ls, le - ls)) {
          pos = le + 1;
          continue;
        }
        if (!line_matches(b, ls, le)) {
          pos = le + 1;
          continue;
        }
      }
    } else if (dfa_ok) {
      /* no literal worth looking for: the DFA runs over the lines themselves */
      size_t a, z;
      int v = dfa_scan((const unsigned char *)b + pos, n - pos, &a, &z);
      if (v == -2) { /* the DFA gave up (too many states): regexec from here on */
        dfa_ok = 0;
        continue;
      }
      if (v == 0) break;
      ls = pos + a;
      le = pos + z;
      if (v < 0) {
        n_regexec++; /* a non-ASCII line: regexec decides */
        char c = b[le];
        b[le] = 0;
        int r = regexec(&re_line, b + ls, 0, NULL, 0);
        b[le] = c;
        if (r != 0) {
          pos = le + 1;
          continue;
        }
      }
    } else {
      /* no literal and no DFA: every line goes through regexec */
      ls = pos;
      const char *e = find_byte(b + pos, n - pos, '\n');
      le = e ? (size_t)(e - b) : n;
      if (!line_matches(b, ls, le)) {
        pos = le + 1;
        continue;
      }
    }
    line += count_nl(b + counted, ls - counted);
    counted = ls;
    stop = emit_line(line, b + ls, le - ls);
    pos = le + 1;
  }
  b[n] = saved;
  return stop;
}

/* Searches the regular file name in directory dfd. Returns 1 to stop the whole search. */
static int search_file(int dfd, const char *name) {
  int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW);
  if (fd < 0) return 0;
  files_seen++;
  size_t have = 0;
  uint64_t line = 1;
  int first = 1, stop = 0;
  while (!stop) {
    if (buf_cap - 1 - have == 0) {
      if (buf_cap >= BUF_MAX) break; /* one line longer than the buffer: give up on this file */
      buf_cap *= 2;
      buf = xrealloc(buf, buf_cap);
    }
    /* One read per buffer-full, no fstat: on a regular file a short read is the end (a file
     * growing meanwhile may lose its new tail, which a search can afford). Saves a host call per
     * file, which is most of the cost of a small file in the sandbox. */
    size_t room = buf_cap - 1 - have;
    ssize_t r;
    do r = read(fd, buf + have, room);
    while (r < 0 && errno == EINTR);
    if (r < 0) break; /* EISDIR and the like: not a file to search */
    int eof = (size_t)r < room;
    if (first) {
      first = 0;
      size_t probe = (size_t)r < BINARY_PROBE ? (size_t)r : BINARY_PROBE;
      if (find_byte(buf, probe, 0)) break; /* binary */
    }
    have += (size_t)r;
    size_t end = have;
    if (!eof) {
      const char *nl = memrchr(buf, '\n', have);
      if (!nl) continue; /* no complete line yet: read more */
      end = (size_t)(nl - buf) + 1;
    }
    /* A NUL later in the file: search up to it, then stop (binary tail). */
    const char *nul = find_byte(buf, end, 0);
    if (nul) {
      end = (size_t)(line_start(buf, nul) - buf);
      eof = 1;
    }
    stop = search_region(buf, end, line);
    if (eof) break;
    line += count_nl(buf, end);
    memmove(buf, buf + end, have - end);
    have -= end;
  }
  close(fd);
  return stop;
}

/* ---- .gitignore -------------------------------------------------------------------------- */

typedef struct {
  wglob g;
  int neg, dir_only;
} ig_rule;

typedef struct {
  ig_rule *rules;
  int n;
  size_t base_len; /* rel.len of the directory holding the .gitignore */
} ig_set;

static ig_set ig_stack[MAX_WALK_DEPTH + 1];
static int ig_depth;

static void ig_load(int dfd, size_t base_len) {
  int fd = openat(dfd, ".gitignore", O_RDONLY | O_NOFOLLOW);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
    close(fd);
    return;
  }
  size_t len;
  char *text = read_all(fd, &len, 1 << 20, ".gitignore");
  close(fd);
  ig_set *set = &ig_stack[ig_depth];
  set->rules = NULL;
  set->n = 0;
  set->base_len = base_len;
  int cap = 0;
  char *p = text, *end = text + len;
  while (p < end) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *le = nl ? nl : end;
    char *ls = p;
    p = nl ? nl + 1 : end;
    if (le > ls && le[-1] == '\r') le--;
    /* trailing spaces go unless escaped */
    while (le > ls && le[-1] == ' ' && !(le - 1 > ls && le[-2] == '\\')) le--;
    if (le == ls || *ls == '#') continue;
    int neg = 0, dir_only = 0;
    if (*ls == '!') {
      neg = 1;
      ls++;
    }
    while (le > ls && le[-1] == '/') {
      dir_only = 1;
      le--;
    }
    if (le == ls) continue;
    int anchored = memchr(ls, '/', (size_t)(le - ls)) != NULL;
    strbuf pat;
    sb_init(&pat);
    if (!anchored) sb_adds(&pat, "**/");
    else if (*ls == '/') ls++;
    sb_add(&pat, ls, (size_t)(le - ls));
    if (pat.len >= 3 && strcmp(pat.p + pat.len - 3, "/**") == 0) sb_adds(&pat, "/*"); /* inside only */
    char err[128];
    ig_rule rule;
    if (wglob_compile(&rule.g, pat.p, GLOB_NOBRACE, err) == 0) {
      rule.neg = neg;
      rule.dir_only = dir_only;
      if (set->n == cap) set->rules = xrealloc(set->rules, (size_t)(cap = cap ? cap * 2 : 16) * sizeof *set->rules);
      set->rules[set->n++] = rule;
    }
    sb_free(&pat);
  }
  free(text);
  if (set->n) ig_depth++;
  else free(set->rules);
}

static int ig_ignored(int is_dir) {
  for (int d = ig_depth - 1; d >= 0; d--) {
    const ig_set *set = &ig_stack[d];
    size_t off = set->base_len ? set->base_len + 1 : 0;
    const char *sub = rel.p + off;
    size_t sub_len = rel.len - off;
    for (int k = set->n - 1; k >= 0; k--) {
      const ig_rule *r = &set->rules[k];
      if (r->dir_only && !is_dir) continue;
      if (wglob_match(&r->g, sub, sub_len)) return !r->neg;
    }
  }
  return 0;
}

/* ---- walk -------------------------------------------------------------------------------- */

typedef struct {
  char *name;
  unsigned char type;
} entry;

static int by_name(const void *a, const void *b) { return strcmp(((const entry *)a)->name, ((const entry *)b)->name); }

static int excluded(void) {
  for (int k = 0; k < nexcludes; k++)
    if (wglob_match(&excludes[k], rel.p, rel.len)) return 1;
  return 0;
}

static int included(void) {
  if (nglobs == 0) return 1;
  for (int k = 0; k < nglobs; k++)
    if (wglob_match(&globs[k], rel.p, rel.len)) return 1;
  return 0;
}

/* Walks the directory open at dfd (its path relative to PATH is rel). Returns 1 to stop. */
static int walk(int dfd, int depth) {
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return 0;
  }
  size_t n = 0, cap = 64;
  entry *es = xmalloc(cap * sizeof *es);
  int has_gitignore = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    const char *nm = e->d_name;
    if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0) || strcmp(nm, ".git") == 0)) continue;
    if (strcmp(nm, ".gitignore") == 0) has_gitignore = 1;
    if (n == cap) es = xrealloc(es, (cap *= 2) * sizeof *es);
    es[n].name = xstrdup(nm);
    es[n].type = e->d_type;
    n++;
  }
  qsort(es, n, sizeof *es, by_name);
  int pushed = 0;
  if (use_gitignore && has_gitignore && ig_depth < MAX_WALK_DEPTH) {
    int before = ig_depth;
    ig_load(dirfd(d), rel.len);
    pushed = ig_depth > before;
  }
  int stop = 0;
  for (size_t i = 0; i < n && !stop; i++) {
    unsigned char type = es[i].type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(dirfd(d), es[i].name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_LNK;
    }
    if (type != DT_REG && type != DT_DIR) continue; /* symlinks are not followed; others skipped */
    size_t mark = rel.len;
    if (rel.len) sb_addc(&rel, '/');
    sb_adds(&rel, es[i].name);
    int is_dir = type == DT_DIR;
    if (!(use_gitignore && ig_ignored(is_dir)) && !excluded()) {
      if (is_dir) {
        if (depth < MAX_WALK_DEPTH && (depth != SHARD_LEVEL || take_unit(0))) {
          int sub = openat(dirfd(d), es[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
          if (sub >= 0) stop = walk(sub, depth + 1);
        }
      } else if (included() && (depth > SHARD_LEVEL || take_unit(1))) {
        if (content_mode) stop = search_file(dirfd(d), es[i].name);
        else {
          files_seen++;
          stop = emit_name();
        }
      }
    }
    sb_truncate(&rel, mark);
  }
  if (pushed) {
    ig_set *set = &ig_stack[--ig_depth];
    for (int k = 0; k < set->n; k++) wglob_free(&set->rules[k].g);
    free(set->rules);
  }
  for (size_t i = 0; i < n; i++) free(es[i].name);
  free(es);
  closedir(d);
  return stop;
}

/* ---- main -------------------------------------------------------------------------------- */

static void add_glob(wglob **list, int *count, const char *pattern, const char *what) {
  while (pattern[0] == '.' && pattern[1] == '/') pattern += 2;
  while (pattern[0] == '/') pattern++;
  if (!pattern[0]) usage("search: empty %s", what);
  char err[128];
  *list = xrealloc(*list, (size_t)(*count + 1) * sizeof **list);
  if (wglob_compile(&(*list)[*count], pattern, icase ? GLOB_ICASE : 0, err) != 0) fail("EINVAL", "%s %s: %s", what, pattern, err);
  (*count)++;
}

int main(int argc, char **argv) {
  const char *content = NULL;
  int i = 1;
  /* two passes: --icase may come after the globs it applies to */
  int k = 1;
  for (const char *a; (a = next_opt(argc, argv, &k));)
    if (strcmp(a, "--icase") == 0) icase = 1;
  for (const char *a; (a = next_opt(argc, argv, &i));) {
    const char *v;
    if (opt_value(a, "--glob", &v)) {
      add_glob(&globs, &nglobs, v, "--glob");
    } else if (opt_value(a, "--exclude", &v)) {
      add_glob(&excludes, &nexcludes, v, "--exclude");
    } else if (opt_value(a, "--content", &v)) {
      content = v;
    } else if (opt_value(a, "--max", &v)) {
      max_records = opt_u64("--max", v);
    } else if (strcmp(a, "--icase") == 0) {
      icase = 1;
    } else if (strcmp(a, "--no-gitignore") == 0) {
      use_gitignore = 0;
    } else if (opt_value(a, "--shard", &v)) {
      char *end;
      shard_i = strtoull(v, &end, 10);
      if (end == v || *end != '/') usage("search: --shard=I/N");
      const char *nv = end + 1;
      shard_n = strtoull(nv, &end, 10);
      if (end == nv || *end || shard_n < 1 || shard_n > 64 || shard_i >= shard_n) usage("search: --shard=I/N with 0 <= I < N <= 64");

    } else {
      usage("search: unknown option %s", a);
    }
  }
  if (i != argc - 1) usage("search [--glob=G]... [--exclude=G]... [--content=REGEX] [--icase] [--max=N] [--no-gitignore] [--shard=I/N] PATH");
  const char *path = argv[i];
  /* A default-only glob list is no filter at all. */
  if (nglobs == 1 && globs[0].match_all) nglobs = 0;

  if (content) {
    if (!content[0]) fail("BADREGEX", "empty regular expression");
    /* Characters, not bytes: `.` is one UTF-8 character, \w and --icase know non-ASCII letters. */
    setlocale(LC_CTYPE, "C.UTF-8");
    content_mode = 1;
    int flags = REG_EXTENDED | REG_NEWLINE | (icase ? REG_ICASE : 0);
    int rc = regcomp(&re_pos, content, flags);
    if (rc == 0) rc = regcomp(&re_line, content, flags | REG_NOSUB);
    if (rc != 0) {
      char msg[256];
      regerror(rc, &re_pos, msg, sizeof msg);
      fail("BADREGEX", "%s", msg);
    }
    plan_prefilter(content);
    dfa_ok = dfa_compile(content, icase) == 0;
    buf_cap = BUF_START;
    buf = xmalloc(buf_cap);
  }

  int fd = open(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) fail_errno(errno, "%s", path);
  sb_init(&rel);
  walk(fd, 0);
  out_flush();
  fprintf(stderr, "files=%llu matches=%llu truncated=%d\n", (unsigned long long)files_seen, (unsigned long long)records, truncated);
  if (getenv("WARDEN_SEARCH_DEBUG"))
  {
    fprintf(stderr, "dfa=%d lines_tested=%llu regexec=%llu branches=%d all_pure=%d", dfa_ok, (unsigned long long)n_lines_tested,
            (unsigned long long)n_regexec, nbranch, all_pure);
    for (int k = 0; k < nbranch; k++) {
      fprintf(stderr, " lit=[%.*s]", (int)branch[k].lit_len, (const char *)branch[k].lit);
      for (int j = 0; j < branch[k].nextra; j++) fprintf(stderr, " extra=[%.*s]", (int)branch[k].extra_len[j], (const char *)branch[k].extra[j]);
    }
    fprintf(stderr, "\n");
  }
  return 0;
}
