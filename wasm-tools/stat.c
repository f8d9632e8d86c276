/* stat PATH  (PROTOCOL.md: stat) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int main(int argc, char **argv) {
  int i = 1;
  const char *opt = next_opt(argc, argv, &i);
  if (opt) usage("stat: unknown option %s", opt);
  if (i != argc - 1) usage("stat PATH");
  const char *path = argv[i];
  if (path[0] != '/') fail("EINVAL", "%s is not an absolute path", path);
  char *real;
  int err = real_path(path, &real);
  if (err) fail_errno(err, "%s", path);
  struct stat st;
  if (lstat(real, &st) != 0) fail_errno(errno, "%s", path);
  char type = S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : 'o';
  long long mtime_ms = (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
  out_printf("type=%c size=%llu mtime_ms=%lld realpath=%s\n", type, (unsigned long long)st.st_size, mtime_ms, real);
  out_flush();
  return 0;
}
