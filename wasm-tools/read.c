/* read [--offset=N] [--length=N] [--head=N] [--tail=N] PATH  (PROTOCOL.md: read) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

#define CHUNK ((size_t)256 * 1024)
#define OUT_BUFFER ((uint64_t)64 * 1024) /* common.c's stdout buffer */

/* The header line's length, for out_reserve. */
static size_t header_len(uint64_t size, uint64_t offset, uint64_t n) {
  char tmp[96];
  return (size_t)snprintf(tmp, sizeof tmp, "size=%llu offset=%llu length=%llu\n", (unsigned long long)size, (unsigned long long)offset, (unsigned long long)n);
}

/* Announces a reply larger than the output buffer, so it goes out in more than one write. */
static void reserve_reply(uint64_t size, uint64_t offset, uint64_t n) {
  if (n >= OUT_BUFFER) out_reserve(header_len(size, offset, n) + n);
}

static void emit(uint64_t size, uint64_t offset, const char *data, size_t n) {
  reserve_reply(size, offset, n);
  out_printf("size=%llu offset=%llu length=%zu\n", (unsigned long long)size, (unsigned long long)offset, n);
  out_write(data, n);
  out_flush();
  exit(0);
}

int main(int argc, char **argv) {
  uint64_t offset = 0, length = 0, head = 0, tail = 0;
  int has_length = 0, has_head = 0, has_tail = 0;
  int i = 1;
  for (const char *a; (a = next_opt(argc, argv, &i));) {
    const char *v;
    if (opt_value(a, "--offset", &v)) {
      offset = opt_u64("--offset", v);
    } else if (opt_value(a, "--length", &v)) {
      length = opt_u64("--length", v);
      has_length = 1;
    } else if (opt_value(a, "--head", &v)) {
      head = opt_u64("--head", v);
      has_head = 1;
    } else if (opt_value(a, "--tail", &v)) {
      tail = opt_u64("--tail", v);
      has_tail = 1;
    } else {
      usage("read: unknown option %s", a);
    }
  }
  if (i != argc - 1) usage("read [--offset=N] --length=N [--head=N|--tail=N] PATH");
  if (!has_length) usage("read: --length is required");
  if (has_head && has_tail) usage("read: --head and --tail exclude each other");
  const char *path = argv[i];

  int fd = open(path, O_RDONLY);
  if (fd < 0) fail_errno(errno, "%s", path);
  struct stat st;
  if (fstat(fd, &st) != 0) fail_errno(errno, "%s", path);
  if (S_ISDIR(st.st_mode)) fail("EISDIR", "%s is a directory", path);
  uint64_t size = (uint64_t)st.st_size;

  if (has_tail) {
    /* The last `tail` lines inside the last `length` bytes. */
    uint64_t want = length < size ? length : size;
    if (want > SIZE_MAX / 2) fail("TOOBIG", "%s: length too large", path);
    char *buf = xmalloc((size_t)want + 1);
    uint64_t start = size - want;
    if (lseek(fd, (off_t)start, SEEK_SET) < 0) fail_errno(errno, "%s", path);
    ssize_t n = read_full(fd, buf, (size_t)want);
    if (n < 0) fail_errno(errno, "%s", path);
    size_t end = (size_t)n, cut = 0, lines = 0;
    size_t k = end;
    if (k > 0 && buf[k - 1] == '\n') k--; /* the final newline ends the last line */
    if (tail == 0) {
      cut = end;
    } else {
      while (k > 0) {
        if (buf[k - 1] == '\n' && ++lines == tail) {
          cut = k;
          break;
        }
        k--;
      }
    }
    emit(size, start + cut, buf + cut, end - cut);
  }

  if (offset >= size) emit(size, offset > size ? size : offset, "", 0);
  uint64_t want = size - offset;
  if (want > length) want = length;
  if (want > SIZE_MAX / 2) fail("TOOBIG", "%s: length too large", path);
  if (offset && lseek(fd, (off_t)offset, SEEK_SET) < 0) fail_errno(errno, "%s", path);
  if (!has_head && want > CHUNK) {
    /* Announced before the first byte is read: a reply over the host's cap stops here. */
    reserve_reply(size, offset, want);
    char *chunk = xmalloc(CHUNK); /* not static: small reads keep a small memory */
    out_printf("size=%llu offset=%llu length=%llu\n", (unsigned long long)size, (unsigned long long)offset, (unsigned long long)want);
    uint64_t left = want;
    while (left) {
      size_t k = left < CHUNK ? (size_t)left : CHUNK;
      ssize_t r = read_full(fd, chunk, k);
      if (r < 0) fail_errno(errno, "%s", path);
      if ((size_t)r < k) fail("EIO", "%s changed while it was read", path);
      out_write(chunk, k);
      left -= k;
    }
    out_flush();
    exit(0);
  }
  char *buf = xmalloc((size_t)want + 1);
  ssize_t n = read_full(fd, buf, (size_t)want);
  if (n < 0) fail_errno(errno, "%s", path);
  size_t got = (size_t)n;
  if (has_head) {
    size_t lines = 0, k = 0;
    if (head == 0) got = 0;
    for (; k < got; k++) {
      if (buf[k] == '\n' && ++lines == head) {
        got = k + 1;
        break;
      }
    }
  }
  emit(size, offset, buf, got);
}
