/*
 * warden-spawner: starts the native backend's launchers (and commands) for the server, so the
 * server's event loop never pays for a fork() of its own large address space
 * (src/exec/native/spawner.ts is the other side; docs/benchmarks.md "Launchers off the event loop").
 *
 * Requests on stdin, each a 4-byte little-endian length and that many bytes of NUL-ended fields:
 *   "S" id cwd stdin(p|n) nextra extra... argc argv... envc env...   start a process
 *       extra: "r" (a pipe the process reads), "w" (one it writes) or a number N (the server's descriptor N, reopened read-only through
 *       /proc/<server>/fd/N: the open descriptor itself, not a path lookup); they become 3, 4, ...
 *   "R" id                                                            close our copies of its pipes
 * Replies on stdout, one line each:
 *   "P id pid fd0 fd1 fd2 fd3..."  started; fdN: our end of its descriptor N (-1: none), which the
 *                                  server reopens through /proc/<spawner>/fd/ and then releases (R)
 *   "F id errno"                   not started (nothing runs; our ends are already closed)
 *   "X pid code signal"            exited (code -1 when killed by signal)
 * The process is a session and process-group leader (like Node's detached spawn), with default
 * signal handling, an empty signal mask and only the descriptors it was given. The spawner exits
 * when the server closes its stdin or dies (PR_SET_PDEATHSIG).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FDS 16
#define MAX_SLOTS 4096

struct slot { char id[32]; int n; int fds[MAX_FDS]; };
static struct slot slots[MAX_SLOTS];
static pid_t server;

static void reply(const char *line) {
  size_t len = strlen(line), off = 0;
  while (off < len) {
    ssize_t w = write(1, line + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(1);
    off += (size_t)w;
  }
}

static void release(const char *id) {
  for (int i = 0; i < MAX_SLOTS; i++) {
    if (slots[i].n == 0 || strcmp(slots[i].id, id) != 0) continue;
    for (int k = 0; k < slots[i].n; k++) if (slots[i].fds[k] >= 0) close(slots[i].fds[k]);
    slots[i].n = 0;
    return;
  }
}

static void fail(const char *id, int err) {
  char line[96];
  snprintf(line, sizeof line, "F %s %d\n", id, err);
  reply(line);
}

/* Runs in the child: never returns. Reports the errno of a failed step on `errfd` (close-on-exec). */
static void child(int errfd, const char *cwd, int *target, int ntarget, char **argv, char **envp) {
  sigset_t all;
  sigemptyset(&all);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  sigprocmask(SIG_SETMASK, &all, NULL);
  int err = 0;
  /* The error pipe goes above every target first: a dup2 below must not replace it. */
  int moved_err = fcntl(errfd, F_DUPFD_CLOEXEC, 64);
  if (moved_err < 0) err = errno;
  else errfd = moved_err;
  if (!err && setsid() < 0) err = errno;
  /* Move every source descriptor above the targets first, so dup2 never clobbers one still needed. */
  for (int k = 0; !err && k < ntarget; k++) {
    if (target[k] < 0) continue;
    int moved = fcntl(target[k], F_DUPFD, 64);
    if (moved < 0) err = errno;
    else target[k] = moved;
  }
  for (int k = 0; !err && k < ntarget; k++) {
    int fd = target[k] >= 0 ? target[k] : open("/dev/null", O_RDWR);
    if (fd < 0 || dup2(fd, k) < 0) err = errno;
  }
  if (!err && (syscall(SYS_close_range, (unsigned)ntarget, (unsigned)errfd - 1, 0) < 0 || syscall(SYS_close_range, (unsigned)errfd + 1, ~0U, 0) < 0)) {
    for (int fd = ntarget; fd < 1024; fd++) if (fd != errfd) close(fd);
  }
  if (!err && cwd[0] && chdir(cwd) < 0) err = errno;
  if (!err) {
    execve(argv[0], argv, envp);
    err = errno;
  }
  ssize_t w = write(errfd, &err, sizeof err);
  (void)w;
  _exit(127);
}

static void start(char **f, int nf) {
  /* f: S id cwd stdin nextra extra... argc argv... envc env... */
  if (nf < 5) return;
  const char *id = f[1], *cwd = f[2];
  int pipe_stdin = strcmp(f[3], "p") == 0;
  int nextra = atoi(f[4]);
  if (nextra < 0 || 3 + nextra > MAX_FDS || 5 + nextra >= nf) { fail(id, EINVAL); return; }
  int p = 5 + nextra;
  int argc = atoi(f[p]);
  if (argc < 1 || p + 1 + argc >= nf) { fail(id, EINVAL); return; }
  char **argv = &f[p + 1];
  int q = p + 1 + argc;
  int envc = atoi(f[q]);
  if (envc < 0 || q + 1 + envc > nf) { fail(id, EINVAL); return; }
  char *args[argc + 1], *envs[envc + 1];
  memcpy(args, argv, sizeof(char *) * argc);
  args[argc] = NULL;
  memcpy(envs, &f[q + 1], sizeof(char *) * envc);
  envs[envc] = NULL;

  int ntarget = 3 + nextra, target[MAX_FDS], ours[MAX_FDS], err = 0;
  for (int k = 0; k < MAX_FDS; k++) target[k] = ours[k] = -1;
  for (int k = 0; k < ntarget && !err; k++) {
    const char *spec = k == 0 ? (pipe_stdin ? "r" : "n") : k < 3 ? "w" : f[5 + k - 3];
    if (strcmp(spec, "n") == 0) continue;
    if (strcmp(spec, "r") == 0 || strcmp(spec, "w") == 0) {
      int pp[2];
      if (pipe2(pp, O_CLOEXEC) < 0) { err = errno; break; }
      int childReads = spec[0] == 'r';
      target[k] = childReads ? pp[0] : pp[1];
      ours[k] = childReads ? pp[1] : pp[0];
      continue;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%s", (int)server, spec);
    target[k] = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (target[k] < 0) err = errno;
  }
  int ep[2] = {-1, -1};
  pid_t pid = -1;
  if (!err && pipe2(ep, O_CLOEXEC) < 0) err = errno;
  if (!err) {
    pid = fork();
    if (pid == 0) child(ep[1], cwd, target, ntarget, args, envs);
    if (pid < 0) err = errno;
  }
  for (int k = 0; k < ntarget; k++) if (target[k] >= 0) close(target[k]);
  if (ep[1] >= 0) close(ep[1]);
  if (!err && pid > 0) {
    int childErr = 0;
    ssize_t r;
    do r = read(ep[0], &childErr, sizeof childErr); while (r < 0 && errno == EINTR);
    if (r == (ssize_t)sizeof childErr) {
      err = childErr ? childErr : EIO;
      waitpid(pid, NULL, 0); /* reaped here: no "X" for a process that never ran */
    }
  }
  if (ep[0] >= 0) close(ep[0]);
  if (err) {
    for (int k = 0; k < ntarget; k++) if (ours[k] >= 0) close(ours[k]);
    fail(id, err);
    return;
  }
  int s = 0;
  while (s < MAX_SLOTS && slots[s].n != 0) s++;
  if (s == MAX_SLOTS) { /* the server never released: a bug on its side; refuse rather than leak */
    kill(-pid, SIGKILL);
    for (int k = 0; k < ntarget; k++) if (ours[k] >= 0) close(ours[k]);
    fail(id, EMFILE);
    return;
  }
  snprintf(slots[s].id, sizeof slots[s].id, "%s", id);
  slots[s].n = ntarget;
  memcpy(slots[s].fds, ours, sizeof ours);
  char line[64 + MAX_FDS * 12];
  int len = snprintf(line, sizeof line, "P %s %d", id, (int)pid);
  for (int k = 0; k < ntarget; k++) len += snprintf(line + len, sizeof line - len, " %d", ours[k]);
  snprintf(line + len, sizeof line - len, "\n");
  reply(line);
}

static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    char line[64];
    if (WIFSIGNALED(status)) snprintf(line, sizeof line, "X %d -1 %d\n", (int)pid, WTERMSIG(status));
    else snprintf(line, sizeof line, "X %d %d 0\n", (int)pid, WEXITSTATUS(status));
    reply(line);
  }
}

int main(void) {
  server = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != server) return 1;
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return 1;
  fcntl(0, F_SETFD, FD_CLOEXEC);
  fcntl(1, F_SETFD, FD_CLOEXEC);
  size_t cap = 1 << 16, used = 0;
  char *buf = malloc(cap);
  if (!buf) return 1;
  reply("ready\n");
  for (;;) {
    struct pollfd pf[2] = {{0, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (pf[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {}
      reap();
    }
    if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    if (used == cap) {
      if (cap >= (64u << 20)) return 1;
      char *more = realloc(buf, cap *= 2);
      if (!more) return 1;
      buf = more;
    }
    ssize_t r = read(0, buf + used, cap - used);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0; /* the server closed our stdin, or is gone */
    used += (size_t)r;
    size_t off = 0;
    while (used - off >= 4) {
      uint32_t len = (uint32_t)(unsigned char)buf[off] | (uint32_t)(unsigned char)buf[off + 1] << 8 | (uint32_t)(unsigned char)buf[off + 2] << 16 | (uint32_t)(unsigned char)buf[off + 3] << 24;
      if (used - off - 4 < len) break;
      char *msg = buf + off + 4;
      size_t count = 0;
      for (size_t i = 0; i < len; i++) count += msg[i] == '\0';
      char **fields = malloc(sizeof(char *) * (count + 1));
      if (!fields) return 1;
      int nf = 0;
      for (size_t i = 0; i < len;) {
        fields[nf++] = msg + i;
        while (i < len && msg[i]) i++;
        i++;
      }
      if (len > 0 && msg[len - 1] == '\0' && nf >= 2) {
        if (strcmp(fields[0], "S") == 0) start(fields, nf);
        else if (strcmp(fields[0], "R") == 0) release(fields[1]);
      }
      free(fields);
      off += 4 + len;
    }
    memmove(buf, buf + off, used - off);
    used -= off;
    /* A message longer than the buffer: make room for it. */
    if (used >= 4) {
      uint32_t len = (uint32_t)(unsigned char)buf[0] | (uint32_t)(unsigned char)buf[1] << 8 | (uint32_t)(unsigned char)buf[2] << 16 | (uint32_t)(unsigned char)buf[3] << 24;
      while (len + 4 > cap && cap < (64u << 20)) {
        char *more = realloc(buf, cap *= 2);
        if (!more) return 1;
        buf = more;
      }
    }
  }
}
