/*
 * Globs on relative paths (`a/b/c`), for search's --glob/--exclude and .gitignore patterns.
 *
 *   `*`     any run of characters within one component (dots included)
 *   `**`    as a whole component: zero or more components (so `a/` + `**` also matches `a`)
 *   `?`     one character (a whole UTF-8 sequence), not `/`
 *   `[...]` one character from a set: ranges `a-z`, negation `[!...]`/`[^...]`, classes
 *           `[:alpha:]` etc., `\` escapes; never `/`
 *   `{a,b}` alternatives, nested allowed (not in .gitignore patterns)
 *   `\c`    the character c literally
 */
#ifndef WARDEN_GLOB_H
#define WARDEN_GLOB_H

#include <stddef.h>

typedef struct {
  char *src;          /* the expanded pattern the components point into */
  const char **comps; /* pattern components */
  size_t *lens;
  unsigned char *globstar;
  int n;
} glob_alt;

typedef struct {
  glob_alt *alts;
  int nalts;
  int icase;
  int match_all; /* the pattern is "**" or "**" "/" "*": every path matches */
} wglob;

#define GLOB_ICASE 1
#define GLOB_NOBRACE 2

/** Compiles pattern; 0 on success, else -1 with a message in err (at least 128 bytes). */
int wglob_compile(wglob *g, const char *pattern, int flags, char *err);
void wglob_free(wglob *g);
/** 1 when the relative path (len bytes, `/`-separated, no leading `/`) matches. */
int wglob_match(const wglob *g, const char *path, size_t len);

#endif
