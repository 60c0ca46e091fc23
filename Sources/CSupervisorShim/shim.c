#define _GNU_SOURCE
#include "supervisor_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const int handled_signals[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE};

static void handled_set(sigset_t *set) {
    sigemptyset(set);
    for (unsigned i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++) {
        sigaddset(set, handled_signals[i]);
    }
}

int ps_block_signals(void) {
    sigset_t set;
    handled_set(&set);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Self-pipe: the handler may run on any thread (thread masks are not ours to control:
   libdispatch and NIO set their own), so it only writes the signal number to a pipe that
   the reaper thread polls. */
static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig) {
    int saved = errno;
    unsigned char byte = (unsigned char)sig;
    ssize_t ignored = write(signal_pipe[1], &byte, 1);
    (void)ignored;
    errno = saved;
}

int ps_install_signal_handlers(void) {
    if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_signal;
    action.sa_flags = SA_RESTART;
    sigfillset(&action.sa_mask);
    sigset_t unblock;
    sigemptyset(&unblock);
    for (unsigned i = 0; i < sizeof(handled_signals) / sizeof(handled_signals[0]); i++) {
        int sig = handled_signals[i];
        if (sig == SIGPIPE) {
            signal(SIGPIPE, SIG_IGN);
            continue;
        }
        struct sigaction a = action;
        if (sig == SIGCHLD) a.sa_flags |= SA_NOCLDSTOP;
        if (sigaction(sig, &a, NULL) != 0) return -1;
        sigaddset(&unblock, sig);
    }
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
    return 0;
}

int ps_wait_signal(int timeout_ms) {
    if (signal_pipe[0] < 0) {
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return 0;
    }
    struct pollfd entry = {signal_pipe[0], POLLIN, 0};
    int ready = poll(&entry, 1, timeout_ms);
    if (ready <= 0) return 0;
    unsigned char byte = 0;
    ssize_t n = read(signal_pipe[0], &byte, 1);
    return n == 1 ? (int)byte : 0;
}

int ps_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int ps_setfsuid(unsigned int uid) {
    return (int)syscall(SYS_setfsuid, uid);
}

int ps_setfsgid(unsigned int gid) {
    return (int)syscall(SYS_setfsgid, gid);
}

int ps_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int ps_decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return -255;
}

/* Everything below runs in the forked child: async-signal-safe calls only. */
static void child_fail(int fd, int step_errno) {
    int value = step_errno;
    ssize_t ignored = write(fd, &value, sizeof(value));
    (void)ignored;
    _exit(127);
}

static void child_close_from(int lowest, int keep) {
#ifdef SYS_close_range
    /* CLOSE_RANGE_CLOEXEC (4): everything closes at exec, the report pipe stays usable until then. */
    if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 4) == 0) return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = lowest; fd < max; fd++) {
        if (fd != keep) close(fd);
    }
}

pid_t ps_spawn(const ps_spawn_config *c, int *error_out, pid_t *failed_child_out) {
    int report[2];
    *failed_child_out = 0;
    if (pipe2(report, O_CLOEXEC) != 0) {
        *error_out = errno;
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        *error_out = errno;
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (pid == 0) {
        int fd = report[1];
        sigset_t empty;
        sigemptyset(&empty);
        for (int sig = 1; sig < NSIG; sig++) {
            if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
        }
        sigprocmask(SIG_SETMASK, &empty, NULL);
        if (setpgid(0, 0) != 0) child_fail(fd, errno);
        /* Raw syscalls: only this thread exists after fork, and glibc's wrappers would try to
           broadcast the change to threads copied from the parent's bookkeeping. */
        if (c->gid >= 0) {
            if (syscall(SYS_setgroups, 0, NULL) != 0 && errno != EPERM) child_fail(fd, errno);
            if (syscall(SYS_setresgid, c->gid, c->gid, c->gid) != 0) child_fail(fd, errno);
        }
        if (c->uid >= 0) {
            if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) != 0) child_fail(fd, errno);
        }
        for (int i = 0; i < c->rlimit_count; i++) {
            struct rlimit rl = {(rlim_t)c->rlimits[i].soft, (rlim_t)c->rlimits[i].hard};
            if (setrlimit(c->rlimits[i].resource, &rl) != 0) child_fail(fd, errno);
        }
        if (c->cwd != NULL && chdir(c->cwd) != 0) child_fail(fd, errno);
        int in = c->stdin_fd;
        if (in < 0) {
            in = open("/dev/null", O_RDONLY);
            if (in < 0) child_fail(fd, errno);
        }
        /* dup2 clears close-on-exec on the copies; sources are closed by close_from below. */
        if (dup2(in, 0) < 0) child_fail(fd, errno);
        if (dup2(c->stdout_fd, 1) < 0) child_fail(fd, errno);
        if (dup2(c->stderr_fd, 2) < 0) child_fail(fd, errno);
        child_close_from(3, fd);
        execve(c->path, c->argv, c->envp);
        child_fail(fd, errno);
    }
    close(report[1]);
    /* Set the group from the parent too, so a kill(-pid) right after spawn cannot miss. */
    setpgid(pid, pid);
    int child_errno = 0;
    ssize_t n;
    do {
        n = read(report[0], &child_errno, sizeof(child_errno));
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof(child_errno)) {
        *error_out = child_errno;
        *failed_child_out = pid;
        return -1;
    }
    return pid;
}
