/* edit [--dry-run] PATH, edit frames on stdin  (PROTOCOL.md: edit) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define MAX_INPUT ((size_t)256 * 1024 * 1024)

/* Parses `FLAGS OLD_LEN NEW_LEN\n` at in[*pos]; 1 on success. */
static int parse_frame(const char *in, size_t len, size_t *pos, int *flags, size_t *old_len, size_t *new_len) {
  const char *nl = memchr(in + *pos, '\n', len - *pos);
  if (!nl) return 0;
  size_t hlen = (size_t)(nl - (in + *pos));
  if (hlen == 0 || hlen > 64) return 0;
  char head[65];
  memcpy(head, in + *pos, hlen);
  head[hlen] = 0;
  char *f1 = head, *f2 = strchr(f1, ' ');
  if (!f2) return 0;
  *f2++ = 0;
  char *f3 = strchr(f2, ' ');
  if (!f3) return 0;
  *f3++ = 0;
  uint64_t fl, ol, nlen;
  if (!parse_u64(f1, &fl) || !parse_u64(f2, &ol) || !parse_u64(f3, &nlen)) return 0;
  if (fl > 1) return 0;
  size_t body = (size_t)(nl - in) + 1;
  if (ol > len - body || nlen > len - body - ol) return 0;
  *flags = (int)fl;
  *old_len = (size_t)ol;
  *new_len = (size_t)nlen;
  *pos = body;
  return 1;
}

int main(int argc, char **argv) {
  int dry_run = 0;
  int i = 1;
  for (const char *a; (a = next_opt(argc, argv, &i));) {
    if (strcmp(a, "--dry-run") == 0) {
      dry_run = 1;
    } else if (!opt_tmp_tag(a)) {
      usage("edit: unknown option %s", a);
    }
  }
  if (i != argc - 1) usage("edit [--dry-run] [--tmp-tag=T] PATH");
  const char *path = argv[i];

  size_t in_len;
  char *in = read_all(0, &in_len, MAX_INPUT, "the edits");

  char *target;
  struct stat st;
  int exists;
  int err = resolve_final(path, &target, &st, &exists);
  if (err) fail_errno(err, "%s", path);
  if (!exists) fail("ENOENT", "%s: no such file", path);
  int fd = open(target, O_RDONLY);
  if (fd < 0) fail_errno(errno, "%s", path);
  if (fstat(fd, &st) != 0) fail_errno(errno, "%s", path);
  if (S_ISDIR(st.st_mode)) fail("EISDIR", "%s is a directory", path);
  size_t old_len;
  char *old = read_all(fd, &old_len, MAX_INPUT, path);
  close(fd);

  /* cur is the evolving content; old stays for the diff. */
  char *cur = xmalloc(old_len + 1);
  memcpy(cur, old, old_len);
  size_t cur_len = old_len;
  size_t pos = 0, replacements = 0;
  for (unsigned k = 1; pos < in_len; k++) {
    int flags;
    size_t ol, nl;
    if (!parse_frame(in, in_len, &pos, &flags, &ol, &nl)) fail("EINVAL", "edit %u: malformed frame", k);
    const char *o = in + pos, *n = in + pos + ol;
    pos += ol + nl;
    if (ol == 0) fail("EINVAL", "edit %u: old_text is empty", k);
    size_t count = 0;
    for (const char *s = cur, *end = cur + cur_len; (s = memmem(s, (size_t)(end - s), o, ol)) != NULL; s += ol) count++;
    if (count == 0) fail("NOMATCH", "edit %u: old_text not found", k);
    if (count > 1 && flags == 0) fail("MULTIMATCH", "edit %u: old_text matches %zu times", k, count);
    size_t grow = nl > ol ? (nl - ol) : 0;
    if (grow && count > (MAX_INPUT - cur_len) / grow) fail("TOOBIG", "edit %u: the result would exceed %zu bytes", k, MAX_INPUT);
    size_t next_len = cur_len - count * ol + count * nl;
    char *next = xmalloc(next_len + 1), *w = next;
    const char *s = cur, *end = cur + cur_len, *hit;
    while ((hit = memmem(s, (size_t)(end - s), o, ol)) != NULL) {
      memcpy(w, s, (size_t)(hit - s));
      w += hit - s;
      memcpy(w, n, nl);
      w += nl;
      s = hit + ol;
    }
    memcpy(w, s, (size_t)(end - s));
    free(cur);
    cur = next;
    cur_len = next_len;
    replacements += count;
  }
  if (replacements == 0) fail("EINVAL", "no edits given");
  free(in);

  if (!dry_run) {
    err = atomic_replace(target, cur, cur_len);
    if (err) fail_errno(err, "replacing %s", path);
  }
  out_printf("old_size=%zu new_size=%zu replacements=%zu\n", old_len, cur_len, replacements);
  out_write(old, old_len);
  out_write(cur, cur_len);
  out_flush();
  return 0;
}
