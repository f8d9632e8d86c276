/* Lazy DFA over a Thompson NFA for the common subset of POSIX ERE; see dfa.h. */
#include "dfa.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* ---- NFA --------------------------------------------------------------------------------- */

enum { N_SET, N_SPLIT, N_EPS, N_BOL, N_EOL, N_MATCH };

typedef struct {
  unsigned char kind;
  uint32_t set[4]; /* N_SET: the ASCII bytes it consumes */
  int out, out1;
} nnode;

#define MAX_NFA 4096
static nnode nfa[MAX_NFA];
static int nn, nfa_start;

/* A fragment: its start node and the dangling exits (node * 2 + which field). */
typedef struct {
  int start;
  int *outs;
  int nouts;
} frag;

static const char *p; /* parse position */
static int ci;        /* case-insensitive */
static int bad;       /* the pattern is outside the subset */

/* Gives up on the pattern: parsing runs on to the end without building anything useful. */
static void give_up(void) {
  bad = 1;
  p += strlen(p);
}

static int new_node(int kind) {
  int n = nn;
  if (nn >= MAX_NFA - 1) {
    give_up();
    n = MAX_NFA - 1; /* scratch: the result is thrown away */
  } else
    nn++;
  memset(&nfa[n], 0, sizeof nfa[n]);
  nfa[n].kind = (unsigned char)kind;
  nfa[n].out = nfa[n].out1 = -1;
  return n;
}

static frag one_out(int node, int which) {
  frag f = {node, xmalloc(sizeof(int)), 1};
  f.outs[0] = node * 2 + which;
  return f;
}

static void patch(frag *f, int to) {
  for (int i = 0; i < f->nouts; i++) {
    int n = f->outs[i] >> 1;
    if (f->outs[i] & 1) nfa[n].out1 = to;
    else nfa[n].out = to;
  }
  free(f->outs);
  f->outs = NULL;
  f->nouts = 0;
}

static frag join_outs(frag a, frag b, int start) {
  frag f = {start, xmalloc((size_t)(a.nouts + b.nouts + 1) * sizeof(int)), a.nouts + b.nouts};
  memcpy(f.outs, a.outs, (size_t)a.nouts * sizeof(int));
  memcpy(f.outs + a.nouts, b.outs, (size_t)b.nouts * sizeof(int));
  free(a.outs);
  free(b.outs);
  return f;
}

static frag empty_frag(void) { return one_out(new_node(N_EPS), 0); }

static frag concat(frag a, frag b) {
  patch(&a, b.start);
  b.start = a.start;
  return b;
}

static frag star(frag a) {
  int s = new_node(N_SPLIT);
  nfa[s].out = a.start;
  patch(&a, s);
  return one_out(s, 1);
}

static frag plus(frag a) {
  int s = new_node(N_SPLIT);
  nfa[s].out = a.start;
  patch(&a, s);
  frag f = one_out(s, 1);
  f.start = a.start;
  return f;
}

static frag opt(frag a) {
  int s = new_node(N_SPLIT);
  nfa[s].out = a.start;
  frag b = one_out(s, 1);
  return join_outs(a, b, s);
}

static void set_add(uint32_t *set, int c) {
  if (c >= 0 && c < 128) set[c >> 5] |= 1u << (c & 31);
}
static int set_has(const uint32_t *set, int c) { return (set[c >> 5] >> (c & 31)) & 1; }

static void set_fold(uint32_t *set) {
  for (int c = 'a'; c <= 'z'; c++)
    if (set_has(set, c) || set_has(set, c - 32)) {
      set_add(set, c);
      set_add(set, c - 32);
    }
}

static int in_named(const char *name, size_t n, int c) {
#define IS(s) (n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
  int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'), digit = c >= '0' && c <= '9';
  if (IS("alpha")) return alpha;
  if (IS("digit")) return digit;
  if (IS("alnum")) return alpha || digit;
  if (IS("upper")) return c >= 'A' && c <= 'Z';
  if (IS("lower")) return c >= 'a' && c <= 'z';
  if (IS("space")) return c == ' ' || (c >= 9 && c <= 13);
  if (IS("blank")) return c == ' ' || c == '\t';
  if (IS("punct")) return c > 32 && c < 127 && !alpha && !digit;
  if (IS("print")) return c >= 32 && c < 127;
  if (IS("graph")) return c > 32 && c < 127;
  if (IS("cntrl")) return c < 32 || c == 127;
  if (IS("xdigit")) return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
#undef IS
  give_up();
  return 0;
}

static void named_set(uint32_t *set, const char *name, size_t n) {
  for (int c = 1; c < 128; c++)
    if (in_named(name, n, c)) set_add(set, c);
}

static void complement(uint32_t *set) {
  for (int i = 0; i < 4; i++) set[i] = ~set[i];
  set[0] &= ~(1u << '\n');
  set[0] &= ~1u; /* NUL never reaches the DFA */
}

/* One character of the pattern as a code point (UTF-8 decoded; invalid bytes as themselves). */
static int next_cp(void) {
  const unsigned char *u = (const unsigned char *)p;
  if (u[0] < 0x80) {
    p++;
    return u[0];
  }
  int len = u[0] >= 0xF0 ? 4 : u[0] >= 0xE0 ? 3 : u[0] >= 0xC0 ? 2 : 1;
  int cp = u[0] & (0x7F >> len);
  for (int i = 1; i < len; i++) {
    if ((u[i] & 0xC0) != 0x80) {
      p++;
      return u[0];
    }
    cp = (cp << 6) | (u[i] & 0x3F);
  }
  p += len;
  return cp;
}

/* A bracket expression at p (just past `[`). Non-ASCII members cannot match an ASCII line. */
static frag parse_class(void) {
  uint32_t set[4] = {0, 0, 0, 0};
  int neg = 0;
  if (*p == '^') {
    neg = 1;
    p++;
  }
  int first = 1;
  while (*p && (*p != ']' || first)) {
    first = 0;
    if (p[0] == '[' && (p[1] == '.' || p[1] == '=')) {
      give_up();
      break;
    }
    if (p[0] == '[' && p[1] == ':') {
      const char *e = strstr(p + 2, ":]");
      if (!e) {
        give_up();
        break;
      }
      named_set(set, p + 2, (size_t)(e - (p + 2)));
      p = e + 2;
      continue;
    }
    int lo = next_cp(), hi = lo;
    if (p[0] == '-' && p[1] && p[1] != ']') {
      p++;
      if (p[0] == '[') {
        give_up();
        break;
      }
      hi = next_cp();
    }
    for (int c = lo; c <= hi && c < 128; c++) set_add(set, c);
  }
  if (*p != ']') give_up();
  else p++;
  if (ci) set_fold(set);
  if (neg) complement(set);
  set[0] &= ~(1u << '\n');
  int n = new_node(N_SET);
  memcpy(nfa[n].set, set, sizeof set);
  return one_out(n, 0);
}

static frag set_frag(const uint32_t *set) {
  int n = new_node(N_SET);
  memcpy(nfa[n].set, set, sizeof nfa[n].set);
  return one_out(n, 0);
}

static frag parse_alt(void);

static frag parse_atom(void) {
  uint32_t set[4] = {0, 0, 0, 0};
  unsigned char c = (unsigned char)*p;
  switch (c) {
    case '(': {
      p++;
      frag f = *p == ')' ? empty_frag() : parse_alt();
      if (*p != ')') give_up();
      else p++;
      return f;
    }
    case '[':
      p++;
      return parse_class();
    case '.':
      p++;
      complement(set);
      return set_frag(set);
    case '^':
      p++;
      return one_out(new_node(N_BOL), 0);
    case '$':
      p++;
      return one_out(new_node(N_EOL), 0);
    case '\\': {
      char e = p[1];
      if (e && strchr(".[]{}()*+?^$|\\/", e)) {
        p += 2;
        set_add(set, (unsigned char)e);
        return set_frag(set);
      }
      const char *cls = e == 'w' || e == 'W' ? "alnum" : e == 's' || e == 'S' ? "space" : e == 'd' || e == 'D' ? "digit" : NULL;
      if (!cls) {
        give_up();
        return empty_frag();
      }
      named_set(set, cls, strlen(cls));
      if (e == 'w' || e == 'W') set_add(set, '_');
      if (e == 'W' || e == 'S' || e == 'D') complement(set);
      p += 2;
      return set_frag(set);
    }
    case 0:
    case '*':
    case '+':
    case '?':
    case '{':
    case ')':
    case '|':
      give_up();
      return empty_frag();
    default:
      if (c >= 0x80) {
        next_cp(); /* a non-ASCII character: never in an ASCII line */
        return set_frag(set);
      }
      p++;
      set_add(set, c);
      if (ci) set_fold(set);
      return set_frag(set);
  }
}

static int parse_int(void) {
  if (*p < '0' || *p > '9') {
    give_up();
    return 0;
  }
  int v = 0;
  while (*p >= '0' && *p <= '9') {
    v = v * 10 + (*p++ - '0');
    if (v > 255) {
      give_up();
      return 0;
    }
  }
  return v;
}

static frag parse_repeat(void) {
  const char *atom_at = p;
  frag f = parse_atom();
  int quantified = 0;
  for (;;) {
    char q = *p;
    if (q == '*') f = star(f);
    else if (q == '+') f = plus(f);
    else if (q == '?') f = opt(f);
    else if (q == '{') {
      if (quantified) {
        give_up();
        return f;
      }
      p++;
      int m = parse_int(), n = m, inf = 0;
      if (*p == ',') {
        p++;
        if (*p == '}') inf = 1;
        else n = parse_int();
      }
      if (bad || *p != '}' || (!inf && n < m)) {
        give_up();
        return f;
      }
      p++;
      const char *after = p;
      /* copies of the atom come from parsing its text again */
      frag result = m ? f : empty_frag();
      for (int k = 1; k < m; k++) {
        p = atom_at;
        result = concat(result, parse_atom());
      }
      if (inf) {
        p = atom_at;
        frag extra = m ? parse_atom() : f;
        result = concat(result, star(extra));
      } else {
        for (int k = m; k < n; k++) {
          p = atom_at;
          frag extra = (k == 0) ? f : parse_atom();
          result = concat(result, opt(extra));
        }
      }
      p = after;
      f = result;
    } else
      break;
    if (q != '{') p++;
    quantified = 1;
  }
  return f;
}

static frag parse_concat(void) {
  frag f = empty_frag();
  while (*p && *p != '|' && *p != ')') f = concat(f, parse_repeat());
  return f;
}

static frag parse_alt(void) {
  frag f = parse_concat();
  while (*p == '|') {
    p++;
    frag g = parse_concat();
    int s = new_node(N_SPLIT);
    nfa[s].out = f.start;
    nfa[s].out1 = g.start;
    f = join_outs(f, g, s);
  }
  return f;
}

/* ---- DFA --------------------------------------------------------------------------------- */

#define MAX_DSTATES 2048
#define HASH_SIZE 8192

typedef struct {
  int *set; /* sorted NFA nodes of kinds SET, EOL, MATCH */
  int n;
  unsigned char acc, eol_acc, dead;
} dstate;

static dstate ds[MAX_DSTATES];
static unsigned char dflag[MAX_DSTATES]; /* F_ACC | F_DEAD, read once per byte in the hot loops */
#define F_ACC 1
#define F_DEAD 2
static int nds;
static int *trans; /* [state * 128 + byte], -1 unknown */
static int hash_tab[HASH_SIZE];
static int dfa_ready, dfa_full;
static int start_line;     /* state at the start of a line */
static int *mid_start;     /* closure of the start node away from line starts */
static int nmid;

static unsigned *mark;
static unsigned gen;
static int *stack, *acc_buf;

/* Adds to acc_buf the closure of node n (following EPS/SPLIT, BOL when bol, EOL when eol). */
static void closure(int n, int bol, int eol, int *count) {
  int sp = 0;
  stack[sp++] = n;
  while (sp) {
    int x = stack[--sp];
    if (x < 0 || mark[x] == gen) continue;
    mark[x] = gen;
    switch (nfa[x].kind) {
      case N_SPLIT:
        stack[sp++] = nfa[x].out1;
        stack[sp++] = nfa[x].out;
        break;
      case N_EPS:
        stack[sp++] = nfa[x].out;
        break;
      case N_BOL:
        if (bol) stack[sp++] = nfa[x].out;
        break;
      case N_EOL:
        acc_buf[(*count)++] = x;
        if (eol) stack[sp++] = nfa[x].out;
        break;
      default:
        acc_buf[(*count)++] = x;
    }
  }
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static unsigned hash_set(const int *s, int n) {
  unsigned h = 2166136261u;
  for (int i = 0; i < n; i++) h = (h ^ (unsigned)s[i]) * 16777619u;
  return h;
}

/* Is MATCH reachable from the EOL nodes of the set at a line end? */
static int eol_accepts(const int *s, int n, int bol) {
  gen++;
  int count = 0;
  for (int i = 0; i < n; i++)
    if (nfa[s[i]].kind == N_EOL) closure(nfa[s[i]].out, bol, 1, &count);
  for (int i = 0; i < count; i++)
    if (nfa[acc_buf[i]].kind == N_MATCH) return 1;
  return 0;
}

/* The state for acc_buf[0..count) (sorted and deduplicated here), created when new. */
static int intern(int count, int bol) {
  qsort(acc_buf, (size_t)count, sizeof(int), cmp_int);
  int w = 0;
  for (int i = 0; i < count; i++)
    if (w == 0 || acc_buf[w - 1] != acc_buf[i]) acc_buf[w++] = acc_buf[i];
  count = w;
  unsigned h = hash_set(acc_buf, count) % HASH_SIZE;
  for (;;) {
    int id = hash_tab[h];
    if (id < 0) break;
    if (ds[id].n == count && memcmp(ds[id].set, acc_buf, (size_t)count * sizeof(int)) == 0 && (id == start_line) == (bol != 0))
      return id;
    h = (h + 1) % HASH_SIZE;
  }
  if (nds == MAX_DSTATES) {
    dfa_full = 1;
    return -1;
  }
  int id = nds++;
  ds[id].set = xmalloc((size_t)(count ? count : 1) * sizeof(int));
  memcpy(ds[id].set, acc_buf, (size_t)count * sizeof(int));
  ds[id].n = count;
  int has_set = 0;
  ds[id].acc = 0;
  for (int i = 0; i < count; i++) {
    if (nfa[acc_buf[i]].kind == N_MATCH) ds[id].acc = 1;
    if (nfa[acc_buf[i]].kind == N_SET) has_set = 1;
  }
  ds[id].eol_acc = (unsigned char)eol_accepts(ds[id].set, count, bol);
  ds[id].dead = !has_set && !ds[id].acc && !ds[id].eol_acc;
  dflag[id] = (unsigned char)((ds[id].acc ? F_ACC : 0) | (ds[id].dead ? F_DEAD : 0));
  for (int c = 0; c < 128; c++) trans[id * 128 + c] = -1;
  hash_tab[h] = id;
  return id;
}

static int step(int from, int c) {
  gen++;
  int count = 0;
  const dstate *d = &ds[from];
  for (int i = 0; i < d->n; i++) {
    const nnode *x = &nfa[d->set[i]];
    if (x->kind == N_SET && set_has(x->set, c)) closure(x->out, 0, 0, &count);
  }
  for (int i = 0; i < nmid; i++) closure(mid_start[i], 0, 0, &count);
  int to = intern(count, 0);
  if (to >= 0) trans[from * 128 + c] = to;
  return to;
}

int dfa_compile(const char *re, int icase) {
  nn = 0;
  ci = icase;
  p = re;
  bad = 0;
  frag f = parse_alt();
  if (bad || *p) return -1; /* outside the subset, or a stray `)` */
  int m = new_node(N_MATCH);
  patch(&f, m);
  nfa_start = f.start;

  mark = xmalloc((size_t)nn * sizeof *mark);
  memset(mark, 0, (size_t)nn * sizeof *mark);
  stack = xmalloc((size_t)(2 * nn + 2) * sizeof *stack);
  acc_buf = xmalloc((size_t)(2 * nn + 2) * sizeof *acc_buf);
  trans = xmalloc((size_t)MAX_DSTATES * 128 * sizeof *trans);
  for (int i = 0; i < HASH_SIZE; i++) hash_tab[i] = -1;
  nds = 0;
  start_line = -1;

  /* mid_start: the nodes the start reaches away from a line start (seeded into every step) */
  gen++;
  int count = 0;
  closure(nfa_start, 0, 0, &count);
  mid_start = xmalloc((size_t)(count ? count : 1) * sizeof *mid_start);
  memcpy(mid_start, acc_buf, (size_t)count * sizeof *mid_start);
  nmid = count;
  /* the seeds are closures already; step() re-closes them, which is the identity */

  gen++;
  count = 0;
  closure(nfa_start, 1, 0, &count);
  start_line = nds; /* the next interned state is the line-start state */
  if (intern(count, 1) != start_line) return -1;
  dfa_ready = 1;
  return 0;
}

int dfa_line(const unsigned char *s, size_t n) {
  if (!dfa_ready || dfa_full) return -1;
  int st = start_line;
  if (ds[st].acc) return 1;
  for (size_t i = 0; i < n; i++) {
    unsigned c = s[i];
    if (c >= 0x80) return -1;
    int to = trans[st * 128 + (int)c];
    if (to < 0) {
      to = step(st, (int)c);
      if (to < 0) return -1;
    }
    st = to;
    if (dflag[st]) return dflag[st] & F_ACC ? 1 : 0; /* dead: no thread alive and none can start */
  }
  return ds[st].eol_acc;
}

int dfa_scan(const unsigned char *s, size_t n, size_t *ls_out, size_t *le_out) {
  if (!dfa_ready || dfa_full) return -2;
  size_t ls = 0, i = 0;
  int st = start_line;
  for (;;) {
    if (ds[st].acc && st == start_line) goto matched; /* matches the empty string: every line */
    for (; i < n; i++) {
      unsigned c = s[i];
      if (c == '\n') break;
      if (c >= 0x80) {
        const unsigned char *e = memchr(s + i, '\n', n - i);
        *ls_out = ls;
        *le_out = e ? (size_t)(e - s) : n;
        return -1;
      }
      int to = trans[st * 128 + (int)c];
      if (to < 0) {
        to = step(st, (int)c);
        if (to < 0) { /* the DFA is full: let the caller decide this line */
          const unsigned char *e = memchr(s + i, '\n', n - i);
          *ls_out = ls;
          *le_out = e ? (size_t)(e - s) : n;
          return -1;
        }
      }
      st = to;
      if (!dflag[st]) continue;
      if (dflag[st] & F_ACC) goto matched;
      {
        const unsigned char *e = memchr(s + i, '\n', n - i);
        i = e ? (size_t)(e - s) : n;
        st = -1;
        break;
      }
    }
    if (st >= 0 && ds[st].eol_acc && (i < n || ls < n)) {
      *ls_out = ls;
      *le_out = i;
      return 1;
    }
    if (i >= n) return 0;
    ls = ++i; /* past the newline */
    st = start_line;
    if (ls >= n) return 0;
  }
matched: {
  const unsigned char *e = memchr(s + i, '\n', n - i);
  *ls_out = ls;
  *le_out = e ? (size_t)(e - s) : n;
  return 1;
}
}
