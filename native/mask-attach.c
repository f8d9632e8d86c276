/*
 * mask-attach: attaches mcp-warden's mounts inside the roots of a sandbox bubblewrap is starting (the
 * filesystem.deny masks, and the pins: directories bound onto themselves), by descriptor, before
 * the sandbox's gate says it is ready.
 *
 *   mask-attach INFO_FD READY_FD STAGE FILE_DEV FILE_INO DIR_DEV DIR_INO \
 *               [KIND PATH HOLDER_DEV HOLDER_INO]... -- BWRAP ARGS...
 *   mask-attach --probe
 *
 * It forks. The parent execs BWRAP with INFO_FD and READY_FD replaced by pipes to the child (the
 * gate's descriptors: bubblewrap's --info-fd report and the gate's "ready", mount-gate.ts). The
 * child passes bubblewrap's report on to INFO_FD as it comes, learns the sandbox's pid from it,
 * waits for the gate's "ready", attaches every mask, and only then writes "ready" to READY_FD; if
 * a mask cannot be attached it writes "refused: <why>" instead, and the server never opens the gate.
 *
 * KIND is 'f' (a file mask), 'd' (a directory mask) or 'p' (a pin); PATH is absolute, in the
 * sandbox. For a mask, HOLDER_DEV/HOLDER_INO are the identity of the directory holding it, as the
 * deny check judged it; for a pin, the identity of the pinned directory itself. Pins come first,
 * shallow before deep (the server orders them), so the masks land on the pinned view.
 * STAGE is where bubblewrap bound the server's empty file and directory in the sandbox (STAGE/file,
 * STAGE/dir, checked to have FILE_DEV/FILE_INO and DIR_DEV/DIR_INO). Inside the sandbox's user (when
 * needed) and mount namespaces (setns), for each mask a read-only copy of the source is cloned
 * (open_tree); the holder is reached from the sandbox's root one component at a time without
 * following a symlink and must be the judged directory; the masked entry is opened there
 * (O_PATH|O_NOFOLLOW) and must be of the right kind; the copy is moved onto that very descriptor
 * (move_mount). A pin is the judged directory, reached the same way, cloned with everything mounted
 * below it and moved onto itself: a mount point the command cannot rename (bubblewrap would have
 * bound it by its host path, resolved with symlinks followed). Then STAGE (needed only for masks)
 * is unmounted and removed: the command never sees it. No path is looked
 * up twice and nothing is ever created inside a root, so a rename on the host between the check
 * and the mount cannot make a mask land on, create or truncate another file. Cloning inside the
 * sandbox is what lets an unprivileged user do it (the user owns bubblewrap's user namespace).
 *
 * Why not bubblewrap's own binds: bubblewrap makes a file mount point by path with stat() then
 * creat(), which truncates: a directory renamed on the host between the two emptied the real file.
 *
 * --probe exits 0 when this kernel and these privileges allow it (in a new mount namespace, and a
 * new user namespace unless root: open_tree of a clone, mount_setattr), else 4.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/mount.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

#define EXIT_USAGE 2
#define EXIT_CHANGED 3
#define EXIT_SYSTEM 4
#define MAX_RECORDS 4096
#define MAX_DEPTH 256

struct record {
  char kind;
  char *path;
  unsigned long long holder_dev, holder_ino;
};

/* In the child: the server's end of the gate's "ready" (mount-gate.ts), where a refusal is said. */
static int ready_fd = -1;
static int in_child;

static void put(int fd, const char *buf, size_t len);
static void pin(int holder, const char *leaf, const struct record *r, const char *path);

/* Ends with a line saying why: on stderr, and in the child to the server as "refused: <why>" instead of "ready". */
static void fail(int status, const char *fmt, ...) {
  char line[8192];
  int n = snprintf(line, sizeof line, in_child ? "refused: " : "mask-attach: ");
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  for (int i = 0; i < n; i++)
    if (line[i] == '\n') line[i] = ' ';
  line[n++] = '\n';
  put(in_child ? ready_fd : 2, line, (size_t)n);
  exit(status);
}

static unsigned long long number(const char *s, const char *what) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *s == '\0' || *end != '\0') fail(EXIT_USAGE, "%s is not a number: %s", what, s);
  return v;
}

/* A clone of the source (checked to be the server's), read-only, ready to be attached anywhere. */
static int clone_source(int source) {
  int tree = (int)syscall(SYS_open_tree, source, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0) fail(EXIT_SYSTEM, "open_tree: %s (needs Linux 5.2 or later)", strerror(errno));
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    fail(EXIT_SYSTEM, "mount_setattr: %s (needs Linux 5.12 or later)", strerror(errno));
  return tree;
}

/* The staged source `name` in `stage` (inside the sandbox), checked to be the server's. */
static int open_source(int stage, const char *name, const char *dev, const char *ino) {
  int fd = openat(stage, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) fail(EXIT_SYSTEM, "the staged mask source %s: %s", name, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_dev != number(dev, "a source device") || st.st_ino != number(ino, "a source inode"))
    fail(EXIT_SYSTEM, "the staged mask source %s is not the one the server holds", name);
  return fd;
}

/*
 * Joins the sandbox's mount namespace. Root can at once; an unprivileged user first joins the user
 * namespace that owns it (bubblewrap's outer one: the sandbox's pid runs in a nested one), where it
 * holds every capability as that namespace's owner.
 */
static void enter(long pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/ns/mnt", pid);
  int mnt = open(path, O_RDONLY | O_CLOEXEC);
  if (mnt < 0) fail(EXIT_SYSTEM, "%s: %s (the sandbox is gone?)", path, strerror(errno));
  if (setns(mnt, CLONE_NEWNS) == 0) return;
  if (errno != EPERM) fail(EXIT_SYSTEM, "setns(mnt): %s", strerror(errno));
  int owner = ioctl(mnt, NS_GET_USERNS);
  if (owner < 0) fail(EXIT_SYSTEM, "the owner of the sandbox's mount namespace: %s", strerror(errno));
  if (setns(owner, CLONE_NEWUSER) < 0) fail(EXIT_SYSTEM, "cannot enter the sandbox's user namespace: %s", strerror(errno));
  if (setns(mnt, CLONE_NEWNS) < 0) fail(EXIT_SYSTEM, "cannot enter the sandbox's mount namespace: %s", strerror(errno));
}

/*
 * The walk's open directories, by depth: a record sharing a prefix with the one before reuses it.
 * dirs[0] is the sandbox's root; names[i] is the component that led to dirs[i + 1].
 */
static int dirs[MAX_DEPTH + 1];
static const char *names[MAX_DEPTH];
static int depth;

/* Opens the directory holding `path`'s last component; returns its descriptor and sets *leaf. */
static int walk(char *path, const char **leaf) {
  if (path[0] != '/') fail(EXIT_USAGE, "not an absolute path: %s", path);
  const char *parts[MAX_DEPTH + 1];
  int n = 0;
  for (char *p = path + 1, *s; *p; p = s + 1) {
    s = strchr(p, '/');
    if (n == MAX_DEPTH) fail(EXIT_USAGE, "too deep: %s", path);
    parts[n++] = p;
    if (!s) break;
    *s = '\0';
    if (s[1] == '\0') fail(EXIT_USAGE, "a path ends with '/': %s", path);
  }
  if (n == 0) fail(EXIT_USAGE, "cannot mask the root");
  for (int i = 0; i < n; i++)
    if (!*parts[i] || !strcmp(parts[i], ".") || !strcmp(parts[i], ".."))
      fail(EXIT_USAGE, "not a normalized path: %s", path);
  int keep = 0;
  while (keep < depth && keep < n - 1 && !strcmp(names[keep], parts[keep])) keep++;
  for (int i = keep; i < depth; i++) close(dirs[i + 1]);
  depth = keep;
  for (int i = keep; i < n - 1; i++) {
    int fd = openat(dirs[i], parts[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    dirs[i + 1] = fd;
    names[i] = parts[i];
    depth = i + 1;
  }
  *leaf = parts[n - 1];
  return dirs[n - 1];
}

/* Rebuilds "/a/b/c" after walk() cut it at each '/'. */
static const char *whole(char *path, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (path[i] == '\0') path[i] = '/';
  return path;
}

/* Writes all of buf, or gives up quietly (the server is gone: nothing will start). */
static void put(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) exit(EXIT_SYSTEM);
    buf += w;
    len -= (size_t)w;
  }
}

/* Attaches every mask inside the sandbox of `pid`; refuses (and exits) on the first that cannot be. */
static void attach(long pid, const char *stage_path, const char *const *ids, struct record *records, int count) {
  enter(pid);
  int masks = 0;
  for (int i = 0; i < count; i++) masks += records[i].kind != 'p';
  int stage = -1, file_source = -1, dir_source = -1;
  if (masks > 0) {
    stage = open(stage_path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (stage < 0) fail(EXIT_SYSTEM, "the staged mask sources %s: %s", stage_path, strerror(errno));
    file_source = open_source(stage, "file", ids[0], ids[1]);
    dir_source = open_source(stage, "dir", ids[2], ids[3]);
  }
  dirs[0] = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirs[0] < 0) fail(EXIT_SYSTEM, "the sandbox's root: %s", strerror(errno));
  for (int i = 0; i < count; i++) {
    struct record *r = &records[i];
    size_t plen = strlen(r->path);
    const char *leaf;
    int holder = walk(r->path, &leaf);
    if (holder < 0) fail(EXIT_CHANGED, "the way to %s is not a directory any more (%s)", whole(r->path, plen), strerror(errno));
    struct stat st;
    if (r->kind == 'p') {
      pin(holder, leaf, r, whole(r->path, plen));
      continue;
    }
    if (fstat(holder, &st) < 0) fail(EXIT_SYSTEM, "fstat: %s", strerror(errno));
    if (st.st_dev != r->holder_dev || st.st_ino != r->holder_ino)
      fail(EXIT_CHANGED, "the directory holding %s is not the one the deny check judged", whole(r->path, plen));
    int target = openat(holder, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (target < 0) fail(EXIT_CHANGED, "%s cannot be opened (%s)", whole(r->path, plen), strerror(errno));
    if (fstat(target, &st) < 0) fail(EXIT_SYSTEM, "fstat: %s", strerror(errno));
    if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode) != (r->kind == 'd'))
      fail(EXIT_CHANGED, "%s is not a %s any more", whole(r->path, plen), r->kind == 'd' ? "directory" : "file");
    int tree = clone_source(r->kind == 'f' ? file_source : dir_source);
    if (syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      fail(EXIT_SYSTEM, "move_mount onto %s: %s", whole(r->path, plen), strerror(errno));
    close(target);
    close(tree);
  }
  /* The stage goes: the command sees the sandbox the plan describes, nothing more. */
  if (masks == 0) return;
  close(file_source);
  close(dir_source);
  close(stage);
  char path[4096];
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", stage_path, i ? "dir" : "file");
    if (umount2(path, MNT_DETACH) < 0) fail(EXIT_SYSTEM, "umount %s: %s", path, strerror(errno));
    if ((i ? rmdir(path) : unlink(path)) < 0) fail(EXIT_SYSTEM, "removing %s: %s", path, strerror(errno));
  }
  if (rmdir(stage_path) < 0) fail(EXIT_SYSTEM, "removing %s: %s", stage_path, strerror(errno));
}

/*
 * Pins the directory `leaf` in `holder`: it must be the judged one (r's identity), not a symlink;
 * a clone of it with everything mounted below (a deeper root bubblewrap bound) is moved onto it.
 * A directory the walk opened before may lie under the new mount: the next record walks again
 * from the root (the server's order, pins first and shallow before deep, already avoids reusing one).
 */
static void pin(int holder, const char *leaf, const struct record *r, const char *path) {
  int target = openat(holder, leaf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (target < 0) fail(EXIT_CHANGED, "the pinned directory %s cannot be opened (%s)", path, strerror(errno));
  struct stat st;
  if (fstat(target, &st) < 0) fail(EXIT_SYSTEM, "fstat: %s", strerror(errno));
  if (st.st_dev != r->holder_dev || st.st_ino != r->holder_ino)
    fail(EXIT_CHANGED, "%s is not the directory the server judged", path);
  int tree = (int)syscall(SYS_open_tree, target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
  if (tree < 0) fail(EXIT_SYSTEM, "open_tree of %s: %s", path, strerror(errno));
  if (syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail(EXIT_SYSTEM, "move_mount onto %s: %s", path, strerror(errno));
  close(tree);
  close(target);
  for (int i = 0; i < depth; i++) close(dirs[i + 1]);
  depth = 0;
}

/* Reads from `fd` into buf (NUL-terminated) until `until` appears in it; false at end of file. */
static int read_until(int fd, char *buf, size_t cap, size_t *len, const char *until, int forward) {
  while (!strstr(buf, until)) {
    if (*len + 1 >= cap) return 0;
    ssize_t r = read(fd, buf + *len, cap - 1 - *len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    if (forward >= 0) put(forward, buf + *len, (size_t)r);
    *len += (size_t)r;
    buf[*len] = '\0';
  }
  return 1;
}

/* What attach() needs, tried in a child in new namespaces (as bubblewrap makes them for this user). */
static int probe(void) {
  pid_t child = fork();
  if (child < 0) return EXIT_SYSTEM;
  if (child == 0) {
    if (unshare(CLONE_NEWNS | (geteuid() == 0 ? 0 : CLONE_NEWUSER)) < 0) {
      fprintf(stderr, "mask-attach: unshare: %s\n", strerror(errno));
      _exit(EXIT_SYSTEM);
    }
    /* Recursive: "/" has locked children in a user namespace (the helper clones a bind without any). */
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    if (tree < 0 || syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
      fprintf(stderr, "mask-attach: %s: %s\n", tree < 0 ? "open_tree" : "mount_setattr", strerror(errno));
      _exit(EXIT_SYSTEM);
    }
    _exit(0);
  }
  int status;
  if (waitpid(child, &status, 0) < 0) return EXIT_SYSTEM;
  return WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_SYSTEM;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--probe")) return probe();
  const char *usage = "usage: mask-attach INFO_FD READY_FD STAGE FILE_DEV FILE_INO DIR_DEV DIR_INO [KIND PATH HOLDER_DEV HOLDER_INO]... -- BWRAP ARGS...";
  if (argc < 9) fail(EXIT_USAGE, "%s", usage);
  if (argv[3][0] != '/') fail(EXIT_USAGE, "STAGE is not an absolute path: %s", argv[3]);
  for (int i = 4; i < 8; i++) number(argv[i], "a source identity");
  int info_fd = (int)number(argv[1], "INFO_FD");
  int server_ready = (int)number(argv[2], "READY_FD");
  int sep = 8, count = 0;
  static struct record records[MAX_RECORDS];
  while (sep < argc && strcmp(argv[sep], "--")) {
    if (sep + 4 > argc) fail(EXIT_USAGE, "%s", usage);
    if (count == MAX_RECORDS) fail(EXIT_USAGE, "more than %d masks", MAX_RECORDS);
    struct record *r = &records[count++];
    if (strcmp(argv[sep], "f") && strcmp(argv[sep], "d") && strcmp(argv[sep], "p")) fail(EXIT_USAGE, "unknown mask kind: %s", argv[sep]);
    r->kind = argv[sep][0];
    r->path = argv[sep + 1];
    r->holder_dev = number(argv[sep + 2], "a holder device");
    r->holder_ino = number(argv[sep + 3], "a holder inode");
    sep += 4;
  }
  if (sep + 1 >= argc) fail(EXIT_USAGE, "%s", usage);

  int info[2], ready[2];
  if (pipe2(info, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0) fail(EXIT_SYSTEM, "pipe: %s", strerror(errno));
  pid_t child = fork();
  if (child < 0) fail(EXIT_SYSTEM, "fork: %s", strerror(errno));
  if (child > 0) {
    /* bubblewrap, with the gate's report and "ready" going to the child instead of the server. */
    if (dup2(info[1], info_fd) < 0 || dup2(ready[1], server_ready) < 0) fail(EXIT_SYSTEM, "dup2: %s", strerror(errno));
    execv(argv[sep + 1], argv + sep + 1);
    fail(EXIT_SYSTEM, "exec %s: %s", argv[sep + 1], strerror(errno));
  }
  in_child = 1;
  ready_fd = server_ready;
  close(info[1]);
  close(ready[1]);
  char report[4096] = "", said[256] = "";
  size_t rlen = 0, slen = 0;
  /* bubblewrap writes its report (with the sandbox's pid) once; it goes on to the server as it is. */
  if (!read_until(info[0], report, sizeof report, &rlen, "}", info_fd)) return 0;
  char *at = strstr(report, "\"child-pid\"");
  char *colon = at ? strchr(at, ':') : NULL;
  long pid = colon ? strtol(colon + 1, NULL, 10) : 0;
  if (pid <= 0) fail(EXIT_SYSTEM, "bubblewrap's report has no child-pid");
  /* The sandbox is set up once its gate says so; a sandbox that ended first is no business of ours. */
  if (!read_until(ready[0], said, sizeof said, &slen, "ready", -1)) return 0;
  attach(pid, argv[3], (const char *const *)argv + 4, records, count);
  put(ready_fd, "ready\n", 6);
  return 0;
}
