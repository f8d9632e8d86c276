/* Glob matcher with `**` and braces; see glob.h. */
#include "glob.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "common.h"

#define MAX_ALTS 256
#define MAX_DEPTH 256

/* ---- UTF-8 ------------------------------------------------------------------------------- */

/* Decodes one character at s (n bytes left); returns its length (>= 1), invalid bytes as themselves. */
static size_t utf8_dec(const char *s, size_t n, uint32_t *cp) {
  const unsigned char *u = (const unsigned char *)s;
  if (u[0] < 0x80 || n < 2) {
    *cp = u[0];
    return 1;
  }
  size_t len = u[0] >= 0xF0 ? 4 : u[0] >= 0xE0 ? 3 : u[0] >= 0xC0 ? 2 : 1;
  if (len == 1 || len > n) {
    *cp = u[0];
    return 1;
  }
  uint32_t c = u[0] & (0x7F >> len);
  for (size_t i = 1; i < len; i++) {
    if ((u[i] & 0xC0) != 0x80) {
      *cp = u[0];
      return 1;
    }
    c = (c << 6) | (u[i] & 0x3F);
  }
  *cp = c;
  return len;
}

static uint32_t fold(uint32_t c) { return c < 128 ? (uint32_t)((c >= 'A' && c <= 'Z') ? c + 32 : c) : (uint32_t)towlower((wint_t)c); }

/* ---- brace expansion --------------------------------------------------------------------- */

typedef struct {
  char **v;
  int n;
} strlist;

/* Index of the `]` closing a class that opens at p[i] == '[', or 0 when there is none. */
static size_t class_end(const char *p, size_t n, size_t i) {
  size_t j = i + 1;
  if (j < n && (p[j] == '!' || p[j] == '^')) j++;
  if (j < n && p[j] == ']') j++;
  while (j < n && p[j] != ']') {
    if (p[j] == '[' && j + 1 < n && p[j + 1] == ':') {
      const char *e = strstr(p + j + 2, ":]");
      if (e && (size_t)(e - p) < n) {
        j = (size_t)(e - p) + 2;
        continue;
      }
    }
    if (p[j] == '\\' && j + 1 < n) j++;
    j++;
  }
  return j < n ? j : 0;
}

static int expand(const char *pat, strlist *out, char *err) {
  size_t n = strlen(pat);
  /* Find the first `{` that has a matching `}` and a top-level `,` between. */
  for (size_t i = 0; i < n; i++) {
    if (pat[i] == '\\' && i + 1 < n) {
      i++;
      continue;
    }
    if (pat[i] == '[') {
      size_t e = class_end(pat, n, i);
      if (e) i = e;
      continue;
    }
    if (pat[i] != '{') continue;
    int depth = 0, commas = 0;
    size_t close = 0;
    for (size_t j = i; j < n; j++) {
      if (pat[j] == '\\' && j + 1 < n) {
        j++;
        continue;
      }
      if (pat[j] == '{') depth++;
      else if (pat[j] == '}' && --depth == 0) {
        close = j;
        break;
      } else if (pat[j] == ',' && depth == 1)
        commas++;
    }
    if (!close || !commas) continue;
    /* Split the alternatives at top-level commas and expand each recursively. */
    size_t start = i + 1;
    depth = 0;
    for (size_t j = i + 1; j <= close; j++) {
      if (j < close && pat[j] == '\\' && j + 1 < close) {
        j++;
        continue;
      }
      if (j < close && pat[j] == '{') depth++;
      else if (j < close && pat[j] == '}') depth--;
      else if (j == close || (pat[j] == ',' && depth == 0)) {
        strbuf b;
        sb_init(&b);
        sb_add(&b, pat, i);
        sb_add(&b, pat + start, j - start);
        sb_adds(&b, pat + close + 1);
        int r = expand(b.p, out, err);
        sb_free(&b);
        if (r) return r;
        start = j + 1;
      }
    }
    return 0;
  }
  if (out->n >= MAX_ALTS) {
    snprintf(err, 128, "the glob expands to more than %d alternatives", MAX_ALTS);
    return -1;
  }
  out->v = xrealloc(out->v, (size_t)(out->n + 1) * sizeof *out->v);
  out->v[out->n++] = xstrdup(pat);
  return 0;
}

/* ---- compile ----------------------------------------------------------------------------- */

static void compile_alt(glob_alt *a, char *pat) {
  /* Split on `/` outside classes; drop empty and `.` components. */
  size_t n = strlen(pat), cap = 8;
  a->comps = xmalloc(cap * sizeof *a->comps);
  a->lens = xmalloc(cap * sizeof *a->lens);
  a->globstar = xmalloc(cap);
  a->n = 0;
  a->src = pat;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && pat[i] == '\\' && i + 1 < n) {
      i++;
      continue;
    }
    if (i < n && pat[i] == '[') {
      size_t e = class_end(pat, n, i);
      if (e) i = e;
      continue;
    }
    if (i < n && pat[i] != '/') continue;
    size_t len = i - start;
    if (len == 0 || (len == 1 && pat[start] == '.')) {
      start = i + 1;
      continue;
    }
    int star2 = len == 2 && pat[start] == '*' && pat[start + 1] == '*';
    /* `**` twice in a row is one `**`. */
    if (!(star2 && a->n && a->globstar[a->n - 1])) {
      if ((size_t)a->n == cap) {
        cap *= 2;
        a->comps = xrealloc(a->comps, cap * sizeof *a->comps);
        a->lens = xrealloc(a->lens, cap * sizeof *a->lens);
        a->globstar = xrealloc(a->globstar, cap);
      }
      a->comps[a->n] = pat + start;
      a->lens[a->n] = len;
      a->globstar[a->n] = (unsigned char)star2;
      a->n++;
    }
    start = i + 1;
  }
}

int wglob_compile(wglob *g, const char *pattern, int flags, char *err) {
  memset(g, 0, sizeof *g);
  g->icase = (flags & GLOB_ICASE) != 0;
  if (strcmp(pattern, "**") == 0 || strcmp(pattern, "**/*") == 0) g->match_all = 1;
  strlist l = {0, 0};
  if (flags & GLOB_NOBRACE) {
    l.v = xmalloc(sizeof *l.v);
    l.v[0] = xstrdup(pattern);
    l.n = 1;
  } else if (expand(pattern, &l, err) != 0) {
    for (int i = 0; i < l.n; i++) free(l.v[i]);
    free(l.v);
    return -1;
  }
  g->alts = xmalloc((size_t)l.n * sizeof *g->alts);
  g->nalts = l.n;
  for (int i = 0; i < l.n; i++) compile_alt(&g->alts[i], l.v[i]); /* keeps l.v[i] */
  free(l.v);
  return 0;
}

void wglob_free(wglob *g) {
  for (int i = 0; i < g->nalts; i++) {
    free(g->alts[i].src);
    free(g->alts[i].comps);
    free(g->alts[i].lens);
    free(g->alts[i].globstar);
  }
  free(g->alts);
  g->alts = NULL;
  g->nalts = 0;
}

/* ---- match ------------------------------------------------------------------------------- */

static int class_name_match(const char *name, size_t n, uint32_t c) {
#define CL(s, f) \
  if (n == sizeof(s) - 1 && memcmp(name, s, n) == 0) return f((wint_t)c) != 0;
  CL("alpha", iswalpha) CL("digit", iswdigit) CL("alnum", iswalnum) CL("upper", iswupper) CL("lower", iswlower)
  CL("space", iswspace) CL("punct", iswpunct) CL("xdigit", iswxdigit) CL("print", iswprint) CL("graph", iswgraph)
  CL("cntrl", iswcntrl) CL("blank", iswblank)
#undef CL
  return 0;
}

/* Matches character c against the class at p[i] == '['; *next gets the index after `]`.
 * Returns -1 when the class is unterminated (then `[` is literal). */
static int class_match(const char *p, size_t n, size_t i, uint32_t c, int icase, size_t *next) {
  size_t end = class_end(p, n, i);
  if (!end) return -1;
  *next = end + 1;
  size_t j = i + 1;
  int neg = 0;
  if (p[j] == '!' || p[j] == '^') {
    neg = 1;
    j++;
  }
  int hit = 0;
  uint32_t fc = icase ? fold(c) : c;
  while (j < end) {
    if (p[j] == '[' && j + 1 < end && p[j + 1] == ':') {
      const char *e = strstr(p + j + 2, ":]");
      if (e && (size_t)(e - p) < end + 1) {
        const char *name = p + j + 2;
        size_t nlen = (size_t)(e - name);
        if (class_name_match(name, nlen, c) || (icase && (class_name_match(name, nlen, fc) ||
                                                          class_name_match(name, nlen, (uint32_t)towupper((wint_t)c)))))
          hit = 1;
        j = (size_t)(e - p) + 2;
        continue;
      }
    }
    uint32_t lo;
    if (p[j] == '\\' && j + 1 < end) j++;
    j += utf8_dec(p + j, end - j, &lo);
    uint32_t hi = lo;
    if (j + 1 < end && p[j] == '-') {
      size_t k = j + 1;
      if (p[k] == '\\' && k + 1 < end) k++;
      k += utf8_dec(p + k, end - k, &hi);
      j = k;
    }
    if (c >= lo && c <= hi) hit = 1;
    else if (icase) {
      uint32_t uc = (uint32_t)towupper((wint_t)c);
      if ((fc >= lo && fc <= hi) || (uc >= lo && uc <= hi)) hit = 1;
    }
  }
  return hit != neg;
}

/* Matches one component (no `/` inside s). Classic two-pointer wildcard match with one backtrack
 * point: O(|p| * |s|) worst case. */
static int seg_match(const char *p, size_t pn, const char *s, size_t sn, int icase) {
  size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;
  while (si < sn) {
    if (pi < pn) {
      char c = p[pi];
      if (c == '*') {
        while (pi < pn && p[pi] == '*') pi++;
        if (pi == pn) return 1;
        star_p = pi;
        star_s = si;
        continue;
      }
      uint32_t sc;
      size_t sl = utf8_dec(s + si, sn - si, &sc);
      if (c == '?') {
        pi++;
        si += sl;
        continue;
      }
      if (c == '[') {
        size_t next;
        int r = class_match(p, pn, pi, sc, icase, &next);
        if (r == 1) {
          pi = next;
          si += sl;
          continue;
        }
        if (r == 0) goto mismatch;
        /* unterminated: a literal `[` */
      }
      size_t lit_at = pi;
      if (c == '\\' && pi + 1 < pn) lit_at = pi + 1;
      uint32_t pc;
      size_t pl = utf8_dec(p + lit_at, pn - lit_at, &pc);
      if (pc == sc || (icase && fold(pc) == fold(sc))) {
        pi = lit_at + pl;
        si += sl;
        continue;
      }
    }
  mismatch:
    if (star_p == (size_t)-1) return 0;
    {
      uint32_t dummy;
      star_s += utf8_dec(s + star_s, sn - star_s, &dummy);
    }
    pi = star_p;
    si = star_s;
  }
  while (pi < pn && p[pi] == '*') pi++;
  return pi == pn;
}

typedef struct {
  const char *s[MAX_DEPTH];
  size_t n[MAX_DEPTH];
  int count;
} comps_t;

/* memo[pi * (ns + 1) + si] = 1 when (pi, si) is known to fail. */
static int match_from(const glob_alt *a, int pi, const comps_t *c, int si, int icase, unsigned char *memo) {
  for (;;) {
    if (pi == a->n) return si == c->count;
    unsigned char *m = memo ? &memo[(size_t)pi * (size_t)(c->count + 1) + (size_t)si] : NULL;
    if (m && *m) return 0;
    if (a->globstar[pi]) {
      if (pi == a->n - 1) return 1;
      for (int k = si; k <= c->count; k++)
        if (match_from(a, pi + 1, c, k, icase, memo)) return 1;
      if (m) *m = 1;
      return 0;
    }
    if (si == c->count || !seg_match(a->comps[pi], a->lens[pi], c->s[si], c->n[si], icase)) {
      if (m) *m = 1;
      return 0;
    }
    pi++;
    si++;
  }
}

int wglob_match(const wglob *g, const char *path, size_t len) {
  if (g->match_all) return len > 0;
  comps_t c;
  c.count = 0;
  size_t start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && path[i] != '/') continue;
    if (i > start) {
      if (c.count == MAX_DEPTH) return 0;
      c.s[c.count] = path + start;
      c.n[c.count] = i - start;
      c.count++;
    }
    start = i + 1;
  }
  static unsigned char memo[64 * 1024];
  for (int k = 0; k < g->nalts; k++) {
    const glob_alt *a = &g->alts[k];
    size_t cells = (size_t)(a->n + 1) * (size_t)(c.count + 1);
    unsigned char *m = NULL;
    int stars = 0;
    for (int i = 0; i < a->n; i++) stars += a->globstar[i];
    if (stars > 1 && cells <= sizeof memo) {
      memset(memo, 0, cells);
      m = memo;
    }
    if (match_from(a, 0, &c, 0, g->icase, m)) return 1;
  }
  return 0;
}
