/* list [--depth=N] [--hidden] [--max=N] PATH  (PROTOCOL.md: list) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static uint64_t max_entries = 10000, depth_limit = 1, emitted = 0;
static int hidden = 0, truncated = 0;

/* Each name is kept after one byte holding its d_type. */
static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a + 1, *(char *const *)b + 1); }

static char type_char(mode_t m) {
  if (S_ISREG(m)) return 'f';
  if (S_ISDIR(m)) return 'd';
  if (S_ISLNK(m)) return 'l';
  if (S_ISSOCK(m)) return 's'; /* wasi-libc gives S_IFIFO the same bits, but WASI reports only sockets so */
  if (S_ISCHR(m)) return 'c';
  if (S_ISBLK(m)) return 'b';
  if ((m & S_IFMT) == 0) return 'p'; /* WASI has no FIFO type: the host reports FIFOs, the one type left, as unknown */
  return 'o';
}

/* Lists the directory open at dfd whose path relative to PATH is rel (empty at the top). */
static void walk(int dfd, strbuf *rel, uint64_t depth, const char *top) {
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return;
  }
  size_t n = 0, cap = 64;
  char **names = xmalloc(cap * sizeof *names);
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    const char *nm = e->d_name;
    if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
    if (nm[0] == '.' && !hidden) continue;
    if (n == cap) names = xrealloc(names, (cap *= 2) * sizeof *names);
    size_t len = strlen(nm);
    char *kept = xmalloc(len + 2);
    kept[0] = (char)e->d_type;
    memcpy(kept + 1, nm, len + 1);
    names[n++] = kept;
  }
  if (errno && depth == 1) fail_errno(errno, "reading %s", top);
  qsort(names, n, sizeof *names, by_name);
  for (size_t i = 0; i < n; i++) {
    if (truncated) break;
    const char *name = names[i] + 1;
    struct stat st;
    if (names[i][0] == DT_DIR) {
      /* A directory's size is not shown (0): its type from the listing is enough, no fstatat. */
      memset(&st, 0, sizeof st);
      st.st_mode = S_IFDIR;
    } else if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue; /* vanished or refused */
    }
    if (emitted == max_entries) {
      truncated = 1;
      break;
    }
    size_t mark = rel->len;
    if (rel->len) sb_addc(rel, '/');
    sb_adds(rel, name);
    /* type letter, NUL, decimal size, NUL (by hand: snprintf is most of a small entry's module time) */
    char head[32];
    uint64_t size = S_ISDIR(st.st_mode) ? 0 : (uint64_t)st.st_size;
    char digits[24];
    int nd = 0;
    do digits[nd++] = (char)('0' + size % 10);
    while ((size /= 10) != 0);
    int hl = 0;
    head[hl++] = type_char(st.st_mode);
    head[hl++] = 0;
    while (nd > 0) head[hl++] = digits[--nd];
    head[hl++] = 0;
    out_write(head, (size_t)hl);
    out_write(rel->p, rel->len + 1); /* with its NUL */
    emitted++;
    if (S_ISDIR(st.st_mode) && depth < depth_limit) {
      int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (sub >= 0) walk(sub, rel, depth + 1, top);
    }
    sb_truncate(rel, mark);
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  closedir(d);
}

int main(int argc, char **argv) {
  int i = 1;
  for (const char *a; (a = next_opt(argc, argv, &i));) {
    const char *v;
    if (opt_value(a, "--depth", &v)) {
      depth_limit = opt_u64("--depth", v);
      if (depth_limit == 0) usage("list: --depth must be at least 1");
    } else if (opt_value(a, "--max", &v)) {
      max_entries = opt_u64("--max", v);
    } else if (strcmp(a, "--hidden") == 0) {
      hidden = 1;
    } else {
      usage("list: unknown option %s", a);
    }
  }
  if (i != argc - 1) usage("list [--depth=N] [--hidden] [--max=N] PATH");
  const char *path = argv[i];
  if (depth_limit > 64) depth_limit = 64;
  int fd = open(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) fail_errno(errno, "%s", path);
  strbuf rel;
  sb_init(&rel);
  walk(fd, &rel, 1, path);
  out_flush();
  fprintf(stderr, "entries=%llu truncated=%d\n", (unsigned long long)emitted, truncated);
  return 0;
}
