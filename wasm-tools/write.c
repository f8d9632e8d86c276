/* write [--append] [--create-dirs] [--tmp-tag=T] PATH, content on stdin
 * write --discard-tmp --tmp-tag=T PATH   (PROTOCOL.md: write) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static char chunk[256 * 1024];

/* Copies stdin to fd; returns 0 or an errno (with *from_stdin set when reading failed). */
static int copy_stdin(int fd, uint64_t *total, int *from_stdin) {
  for (;;) {
    ssize_t r = read(0, chunk, sizeof chunk);
    if (r < 0) {
      if (errno == EINTR) continue;
      *from_stdin = 1;
      return errno;
    }
    if (r == 0) return 0;
    int err = write_all(fd, chunk, (size_t)r);
    if (err) return err;
    *total += (uint64_t)r;
  }
}

int main(int argc, char **argv) {
  int append = 0, create_dirs = 0, discard = 0;
  int i = 1;
  for (const char *a; (a = next_opt(argc, argv, &i));) {
    if (strcmp(a, "--append") == 0) {
      append = 1;
    } else if (strcmp(a, "--create-dirs") == 0) {
      create_dirs = 1;
    } else if (strcmp(a, "--discard-tmp") == 0) {
      discard = 1;
    } else if (!opt_tmp_tag(a)) {
      usage("write: unknown option %s", a);
    }
  }
  if (i != argc - 1) usage("write [--append] [--create-dirs] [--tmp-tag=T] PATH | write --discard-tmp --tmp-tag=T PATH");
  const char *path = argv[i];
  if (!path[0]) usage("write: empty path");

  if (discard) {
    /* Removes the temporary file a stopped run with this tag left beside PATH (or its symlink's
     * target), if any. Touches nothing else. */
    if (!atomic_tag || append || create_dirs) usage("write: --discard-tmp takes only --tmp-tag=T");
    char *target;
    struct stat st;
    int exists;
    int err = resolve_final(path, &target, &st, &exists);
    if (err == ENOENT) {
      out_printf("discarded=0\n");
      out_flush();
      return 0;
    }
    if (err) fail_errno(err, "%s", path);
    char *tmp = atomic_tmp_path(target, atomic_tag);
    int gone = unlink(tmp) == 0;
    if (!gone && errno != ENOENT) fail_errno(errno, "removing the temporary file beside %s", path);
    out_printf("discarded=%d\n", gone);
    out_flush();
    return 0;
  }

  if (create_dirs) {
    char *dir = path_dir(path);
    int err = mkdir_p(dir);
    if (err) fail_errno(err, "creating directories for %s", path);
    free(dir);
  }

  char *target;
  struct stat st;
  int exists;
  int err = resolve_final(path, &target, &st, &exists);
  if (err) fail_errno(err, "%s", path);
  if (exists && S_ISDIR(st.st_mode)) fail("EISDIR", "%s is a directory", path);

  uint64_t total = 0;
  int from_stdin = 0;
  if (append) {
    int fd = open(target, O_WRONLY | O_APPEND | O_CREAT, 0666);
    if (fd < 0) fail_errno(errno, "%s", path);
    err = copy_stdin(fd, &total, &from_stdin);
    if (err) fail_errno(err, from_stdin ? "reading the content for %s" : "appending to %s", path);
    if (close(fd) != 0) fail_errno(errno, "%s", path);
  } else {
    atomic_file a;
    err = atomic_begin(&a, target);
    if (err) fail_errno(err, "creating a temporary file beside %s", path);
    err = copy_stdin(a.fd, &total, &from_stdin);
    if (err) {
      atomic_abort(&a);
      fail_errno(err, from_stdin ? "reading the content for %s" : "writing %s", path);
    }
    err = atomic_commit(&a);
    if (err) fail_errno(err, "replacing %s", path);
  }
  out_printf("bytes=%llu created=%d\n", (unsigned long long)total, exists ? 0 : 1);
  out_flush();
  return 0;
}
