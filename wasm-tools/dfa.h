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

/**
 * Finds the first line of s[0..n) (which starts at a line start) that matches (1) or that the DFA
 * cannot decide (-1), with its bounds in *ls, *le (newline excluded); 0 when no line matches,
 * -2 when there is no DFA.
 */
int dfa_scan(const unsigned char *s, size_t n, size_t *ls, size_t *le);

#endif
