/*
 * A lazy DFA for POSIX extended regexes, used by search to decide quickly whether a line matches.
 *
 * It covers the common subset (literals, `.`, bracket expressions, `\w \s \d` and their negations,
 * `^ $`, groups, `| * + ? {m,n}`) and decides ASCII lines only: a line holding any byte >= 0x80
 * is "undecided" and goes to musl's regexec, so Unicode classes and case folding stay exactly
 * musl's. Patterns outside the subset (word boundaries, back-references, collating elements)
 * are not compiled, and every line goes to regexec.
 */
#ifndef WARDEN_DFA_H
#define WARDEN_DFA_H

#include <stddef.h>

/** Compiles re (already accepted by regcomp); 0 on success, -1 when outside the subset. */
int dfa_compile(const char *re, int icase);

/** 1: the line (no newline inside) matches; 0: it does not; -1: undecided (use regexec). */
int dfa_line(const unsigned char *s, size_t n);

#endif
