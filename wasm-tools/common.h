/*
 * Shared helpers of the mcp-warden WASI modules (see PROTOCOL.md).
 *
 * Modules are not trusted to confine themselves: the runtime refuses every path outside the
 * roots. These helpers only make the modules correct and their errors clear.
 */
#ifndef WARDEN_COMMON_H
#define WARDEN_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* ---- errors ------------------------------------------------------------------------------ */

/** The errno name for err (`ENOENT`, ...), `EIO` for anything unnamed. */
const char *errno_name(int err);

/** Prints `CODE: message` on stderr and exits 1. */
_Noreturn void fail(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Prints `ERRNONAME: message: strerror` and exits 1. */
_Noreturn void fail_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Bad usage: prints `EINVAL: usage: message` and exits 2. */
_Noreturn void usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** malloc/realloc that fail with `TOOBIG` instead of returning NULL. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* ---- arguments --------------------------------------------------------------------------- */

/**
 * The next leading `--option` of argv at *i (advancing *i past it), or NULL at the first operand;
 * a `--` ends the options and is skipped. Loop: `for (const char *a; (a = next_opt(argc, argv, &i));)`.
 */
const char *next_opt(int argc, char **argv, int *i);
/** If arg is `--name=value`, stores value and returns 1. */
int opt_value(const char *arg, const char *name, const char **value);
/** Parses a non-negative decimal integer (no sign, no spaces); 0 on error. */
int parse_u64(const char *s, uint64_t *out);
/** Parses `--name=N` or exits 2. */
uint64_t opt_u64(const char *name, const char *value);

/* ---- output ------------------------------------------------------------------------------ */

/** Buffered stdout; out_flush() before exit(0). Fails with EIO when stdout is closed. */
void out_write(const void *p, size_t n);
void out_str(const char *s);
void out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_flush(void);
/* Tells the host the whole output (from its first byte) will be `total` bytes, before any of it is
 * written: one buffer of that size, or the run stopped at once when it is over the host's cap. */
void out_reserve(uint64_t total);

/** write(2) until done; 0 or an errno. */
int write_all(int fd, const void *p, size_t n);
/** read(2) until n bytes or EOF; returns bytes read or -1 (errno set). */
ssize_t read_full(int fd, void *p, size_t n);
/** Reads all of fd (at most max bytes, else TOOBIG naming what). Result has a spare NUL byte. */
char *read_all(int fd, size_t *len, size_t max, const char *what);

/* ---- paths ------------------------------------------------------------------------------- */

/** Growable string. */
typedef struct {
  char *p;
  size_t len, cap;
} strbuf;
void sb_init(strbuf *b);
void sb_add(strbuf *b, const void *p, size_t n);
void sb_adds(strbuf *b, const char *s);
void sb_addc(strbuf *b, char c);
void sb_truncate(strbuf *b, size_t len);
void sb_free(strbuf *b);

/** Copies path without trailing slashes (but keeps a lone `/`). */
char *path_trim(const char *path);
/** The directory part of path (`.` when none); new string. */
char *path_dir(const char *path);
/** The last component of path; new string. */
char *path_base(const char *path);

#define MAX_SYMLINK_HOPS 40

/**
 * Follows symlinks in the last component of path only (at most MAX_SYMLINK_HOPS hops; relative
 * targets resolve against the link's directory). Returns 0 and a new string in *out, which may not
 * exist (a dangling link names the file to create), or an errno. *st gets lstat of the result when
 * it exists; *exists says whether it does.
 */
int resolve_final(const char *path, char **out, struct stat *st, int *exists);

/**
 * Canonical form of an absolute path: every symlink resolved, `.`/`..` and repeated slashes
 * removed. The result must exist. Returns 0 or an errno.
 */
int real_path(const char *path, char **out);

/** mkdir -p; 0 or an errno. */
int mkdir_p(const char *dir);

/* ---- atomic replace ---------------------------------------------------------------------- */

typedef struct {
  int fd;
  char *tmp;    /* temporary file path */
  char *target; /* final path */
} atomic_file;

/**
 * `--tmp-tag=XXXXXXXX` (8 lowercase hex digits): the temporary file's suffix, chosen by the host
 * instead of at random, so the host can remove the file if it has to stop the run midway.
 * NULL: random. Set by opt_tmp_tag.
 */
extern const char *atomic_tag;
/** Whether `a` is `--tmp-tag=...`; sets atomic_tag (exits with usage on a malformed tag). */
int opt_tmp_tag(const char *a);
/** The temporary file path atomic_begin uses beside target with suffix tag (8 hex digits); malloc'd. */
char *atomic_tmp_path(const char *target, const char *tag);

/** Creates `.NAME.warden-XXXXXXXX.tmp` beside target (O_CREAT|O_EXCL). 0 or an errno. */
int atomic_begin(atomic_file *a, const char *target);
/** Closes and renames over the target; on failure removes the temp file. 0 or an errno. */
int atomic_commit(atomic_file *a);
/** Closes and removes the temp file. */
void atomic_abort(atomic_file *a);

/** Atomically replaces target with data (begin, write, commit); 0 or an errno. */
int atomic_replace(const char *target, const void *data, size_t n);

#endif
