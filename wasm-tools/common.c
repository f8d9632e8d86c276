/* Shared helpers of the mcp-warden WASI modules; see common.h. */
#include <wasi/api.h>

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- errors ------------------------------------------------------------------------------ */

const char *errno_name(int err) {
  switch (err) {
#define E(x) \
  case x:    \
    return #x;
    E(ENOENT) E(EACCES) E(EPERM) E(EROFS) E(ELOOP) E(EISDIR) E(ENOTDIR) E(EEXIST) E(EINVAL)
    E(EFBIG) E(ENOSPC) E(EIO) E(ENAMETOOLONG) E(ENOTEMPTY) E(EBADF) E(EMFILE) E(ENFILE) E(ENOMEM)
    E(EXDEV) E(EBUSY) E(ETXTBSY) E(EDQUOT) E(ENOSYS) E(ENOTSUP) E(ESPIPE) E(EAGAIN) E(EINTR)
    E(ENXIO) E(ENODEV) E(EMLINK) E(EOVERFLOW) E(EFAULT)
#ifdef ENOTCAPABLE
    E(ENOTCAPABLE)
#endif
#undef E
    default:
      return "EIO";
  }
}

static void vfail(const char *code, const char *suffix, const char *fmt, va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  /* A message is one line: names with newlines are shown escaped. */
  for (char *c = msg; *c; c++)
    if (*c == '\n' || *c == '\r') *c = '?';
  out_flush();
  fprintf(stderr, "%s: %s%s%s\n", code, msg, suffix ? ": " : "", suffix ? suffix : "");
  fflush(stderr);
}

void fail(const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(code, NULL, fmt, ap);
  va_end(ap);
  exit(1);
}

void fail_errno(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(errno_name(err), strerror(err), fmt, ap);
  va_end(ap);
  exit(1);
}

void usage(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "EINVAL: usage: %s\n", msg);
  fflush(stderr);
  exit(2);
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) fail("TOOBIG", "out of memory allocating %zu bytes", n);
  return p;
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) fail("TOOBIG", "out of memory allocating %zu bytes", n);
  return q;
}

char *xstrdup(const char *s) {
  size_t n = strlen(s);
  char *d = xmalloc(n + 1);
  memcpy(d, s, n + 1);
  return d;
}

/* ---- arguments --------------------------------------------------------------------------- */

const char *next_opt(int argc, char **argv, int *i) {
  if (*i >= argc || strncmp(argv[*i], "--", 2) != 0) return NULL;
  if (strcmp(argv[*i], "--") == 0) {
    (*i)++;
    return NULL;
  }
  return argv[(*i)++];
}

int opt_value(const char *arg, const char *name, const char **value) {
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0 || arg[n] != '=') return 0;
  *value = arg + n + 1;
  return 1;
}

int parse_u64(const char *s, uint64_t *out) {
  uint64_t v = 0;
  if (!*s) return 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return 0;
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = v;
  return 1;
}

uint64_t opt_u64(const char *name, const char *value) {
  uint64_t v;
  if (!parse_u64(value, &v)) usage("%s needs a non-negative integer", name);
  return v;
}

/* ---- output ------------------------------------------------------------------------------ */

static char out_buf[64 * 1024];
static size_t out_len;

void out_flush(void) {
  if (!out_len) return;
  int err = write_all(1, out_buf, out_len);
  out_len = 0;
  if (err) {
    fprintf(stderr, "%s: writing the result: %s\n", errno_name(err), strerror(err));
    exit(1);
  }
}

void out_write(const void *p, size_t n) {
  if (n >= sizeof out_buf) {
    out_flush();
    int err = write_all(1, p, n);
    if (err) {
      fprintf(stderr, "%s: writing the result: %s\n", errno_name(err), strerror(err));
      exit(1);
    }
    return;
  }
  if (out_len + n > sizeof out_buf) out_flush();
  memcpy(out_buf + out_len, p, n);
  out_len += n;
}

void out_str(const char *s) { out_write(s, strlen(s)); }

void out_reserve(uint64_t total) {
  /* fd_allocate on stdout: the host makes room for the whole output at once, or stops the run
   * here when it exceeds the host's cap. Any error (an older host) only loses the hint. */
  (void)__wasi_fd_allocate(1, 0, (__wasi_filesize_t)total);
}

void out_printf(const char *fmt, ...) {
  char tmp[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) {
    out_write(tmp, (size_t)n);
    return;
  }
  char *big = xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  out_write(big, (size_t)n);
  free(big);
}

int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

ssize_t read_full(int fd, void *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)p + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

char *read_all(int fd, size_t *len, size_t max, const char *what) {
  size_t cap = 64 * 1024, n = 0;
  char *buf = xmalloc(cap + 1);
  for (;;) {
    if (n == cap) {
      if (cap >= max) fail("TOOBIG", "%s is larger than %zu bytes", what, max);
      size_t ncap = cap * 2 > max ? max : cap * 2;
      buf = xrealloc(buf, ncap + 1);
      cap = ncap;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      fail_errno(errno, "reading %s", what);
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

/* ---- strings and paths ------------------------------------------------------------------- */

void sb_init(strbuf *b) {
  b->cap = 256;
  b->len = 0;
  b->p = xmalloc(b->cap);
  b->p[0] = 0;
}

void sb_add(strbuf *b, const void *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap;
    while (b->len + n + 1 > ncap) ncap *= 2;
    b->p = xrealloc(b->p, ncap);
    b->cap = ncap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = 0;
}

void sb_adds(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
void sb_addc(strbuf *b, char c) { sb_add(b, &c, 1); }

void sb_truncate(strbuf *b, size_t len) {
  if (len < b->len) {
    b->len = len;
    b->p[len] = 0;
  }
}

void sb_free(strbuf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

char *path_trim(const char *path) {
  char *p = xstrdup(path);
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') p[--n] = 0;
  return p;
}

char *path_dir(const char *path) {
  char *p = path_trim(path);
  char *slash = strrchr(p, '/');
  if (!slash) {
    free(p);
    return xstrdup(".");
  }
  if (slash == p) {
    p[1] = 0;
    return p;
  }
  while (slash > p && slash[-1] == '/') slash--;
  *slash = 0;
  return p;
}

char *path_base(const char *path) {
  char *p = path_trim(path);
  char *slash = strrchr(p, '/');
  char *b = xstrdup(slash && slash[1] ? slash + 1 : p);
  free(p);
  return b;
}

/* readlink into a new string; 0 or an errno. */
static int read_link(const char *path, char **out) {
  size_t cap = 256;
  for (;;) {
    char *buf = xmalloc(cap + 1);
    ssize_t n = readlink(path, buf, cap);
    if (n < 0) {
      int err = errno;
      free(buf);
      return err;
    }
    if ((size_t)n < cap) {
      buf[n] = 0;
      *out = buf;
      return 0;
    }
    free(buf);
    if (cap >= 1 << 20) return ENAMETOOLONG;
    cap *= 4;
  }
}

int resolve_final(const char *path, char **out, struct stat *st, int *exists) {
  char *cur = path_trim(path);
  for (int hops = 0;; hops++) {
    if (lstat(cur, st) != 0) {
      int err = errno;
      if (err == ENOENT) {
        *exists = 0;
        *out = cur;
        return 0;
      }
      free(cur);
      return err;
    }
    if (!S_ISLNK(st->st_mode)) {
      *exists = 1;
      *out = cur;
      return 0;
    }
    if (hops >= MAX_SYMLINK_HOPS) {
      free(cur);
      return ELOOP;
    }
    char *target;
    int err = read_link(cur, &target);
    if (err) {
      free(cur);
      return err;
    }
    char *next;
    if (target[0] == '/') {
      next = path_trim(target);
    } else {
      char *dir = path_dir(cur);
      strbuf b;
      sb_init(&b);
      sb_adds(&b, dir);
      if (b.len && b.p[b.len - 1] != '/') sb_addc(&b, '/');
      sb_adds(&b, target);
      next = path_trim(b.p);
      sb_free(&b);
      free(dir);
    }
    free(target);
    free(cur);
    cur = next;
  }
}

int real_path(const char *path, char **out) {
  if (path[0] != '/') return EINVAL;
  strbuf done, todo;
  sb_init(&done);
  sb_init(&todo);
  sb_adds(&todo, path);
  int hops = 0, err = 0;
  size_t pos = 0; /* next unread byte of todo */
  for (;;) {
    while (pos < todo.len && todo.p[pos] == '/') pos++;
    if (pos >= todo.len) break;
    size_t end = pos;
    while (end < todo.len && todo.p[end] != '/') end++;
    size_t clen = end - pos;
    const char *comp = todo.p + pos;
    if (clen == 1 && comp[0] == '.') {
      pos = end;
      continue;
    }
    if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
      char *slash = strrchr(done.p, '/');
      sb_truncate(&done, slash ? (size_t)(slash - done.p) : 0);
      pos = end;
      continue;
    }
    size_t before = done.len;
    sb_addc(&done, '/');
    sb_add(&done, comp, clen);
    pos = end;
    struct stat st;
    if (lstat(done.p, &st) != 0) {
      /* Ancestors of a root are outside every preopen; roots are canonical, so they are plain
       * directories. Anything else that fails fails at the final stat below. */
      if (errno == ENOTCAPABLE && pos < todo.len) continue;
      err = errno;
      goto out;
    }
    if (!S_ISLNK(st.st_mode)) continue;
    if (++hops > MAX_SYMLINK_HOPS) {
      err = ELOOP;
      goto out;
    }
    char *target;
    if ((err = read_link(done.p, &target)) != 0) goto out;
    sb_truncate(&done, before);
    if (target[0] == '/') sb_truncate(&done, 0);
    strbuf next;
    sb_init(&next);
    sb_adds(&next, target);
    sb_addc(&next, '/');
    sb_add(&next, todo.p + pos, todo.len - pos);
    free(target);
    sb_free(&todo);
    todo = next;
    pos = 0;
  }
  if (done.len == 0) sb_addc(&done, '/');
  struct stat st;
  if (stat(done.p, &st) != 0) {
    err = errno;
    goto out;
  }
  sb_free(&todo);
  *out = done.p;
  return 0;
out:
  sb_free(&todo);
  sb_free(&done);
  return err;
}

int mkdir_p(const char *dir) {
  char *p = path_trim(dir);
  struct stat st;
  if (stat(p, &st) == 0) {
    int r = S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    free(p);
    return r;
  }
  if (errno != ENOENT) {
    int err = errno;
    free(p);
    return err;
  }
  char *parent = path_dir(p);
  int err = 0;
  if (strcmp(parent, p) != 0 && strcmp(parent, ".") != 0) err = mkdir_p(parent);
  free(parent);
  if (!err && mkdir(p, 0777) != 0 && errno != EEXIST) err = errno;
  free(p);
  return err;
}

/* ---- atomic replace ---------------------------------------------------------------------- */

/* Longest prefix of s (at most max bytes) that does not split a UTF-8 character. */
static size_t utf8_prefix(const char *s, size_t n, size_t max) {
  if (n <= max) return n;
  size_t k = max;
  while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
  return k;
}

const char *atomic_tag = NULL;

int opt_tmp_tag(const char *a) {
  const char *v;
  if (!opt_value(a, "--tmp-tag", &v)) return 0;
  size_t n = strlen(v);
  int ok = n == 8;
  for (size_t k = 0; ok && k < n; k++) ok = (v[k] >= '0' && v[k] <= '9') || (v[k] >= 'a' && v[k] <= 'f');
  if (!ok) usage("--tmp-tag must be 8 lowercase hex digits");
  atomic_tag = v;
  return 1;
}

char *atomic_tmp_path(const char *target, const char *tag) {
  char *dir = path_dir(target);
  char *base = path_base(target);
  /* `.` + NAME + `.warden-` + 8 + `.tmp` must fit NAME_MAX (255). */
  size_t keep = utf8_prefix(base, strlen(base), 255 - 21);
  strbuf b;
  sb_init(&b);
  sb_adds(&b, dir);
  if (b.p[b.len - 1] != '/') sb_addc(&b, '/');
  sb_addc(&b, '.');
  sb_add(&b, base, keep);
  sb_adds(&b, ".warden-");
  sb_adds(&b, tag);
  sb_adds(&b, ".tmp");
  free(dir);
  free(base);
  return b.p;
}

int atomic_begin(atomic_file *a, const char *target) {
  int err = EEXIST;
  a->fd = -1;
  a->tmp = NULL;
  a->target = xstrdup(target);
  /* A host-chosen tag gets one try; a random one up to 16. */
  for (int attempt = 0; attempt < (atomic_tag ? 1 : 16) && err == EEXIST; attempt++) {
    char tag[9];
    if (atomic_tag) {
      memcpy(tag, atomic_tag, sizeof tag);
    } else {
      unsigned char rnd[4];
      if (getentropy(rnd, sizeof rnd) != 0) {
        err = errno;
        break;
      }
      snprintf(tag, sizeof tag, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
    }
    char *tmp = atomic_tmp_path(target, tag);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0666);
    if (fd >= 0) {
      a->fd = fd;
      a->tmp = tmp;
      err = 0;
    } else {
      err = errno;
      free(tmp);
    }
  }
  if (err) {
    free(a->target);
    a->target = NULL;
  }
  return err;
}

void atomic_abort(atomic_file *a) {
  if (a->fd >= 0) close(a->fd);
  if (a->tmp) unlink(a->tmp);
  free(a->tmp);
  free(a->target);
  a->fd = -1;
  a->tmp = a->target = NULL;
}

int atomic_commit(atomic_file *a) {
  int err = 0;
  if (fsync(a->fd) != 0 && errno != ENOTSUP && errno != ENOSYS && errno != EINVAL && errno != EBADF) err = errno;
  if (close(a->fd) != 0 && !err) err = errno;
  a->fd = -1;
  if (!err && rename(a->tmp, a->target) != 0) err = errno;
  if (err) {
    atomic_abort(a);
    return err;
  }
  free(a->tmp);
  free(a->target);
  a->tmp = a->target = NULL;
  return 0;
}

int atomic_replace(const char *target, const void *data, size_t n) {
  atomic_file a;
  int err = atomic_begin(&a, target);
  if (err) return err;
  if ((err = write_all(a.fd, data, n)) != 0) {
    atomic_abort(&a);
    return err;
  }
  return atomic_commit(&a);
}
