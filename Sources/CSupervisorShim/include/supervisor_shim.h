#ifndef PERSONA_SUPERVISOR_SHIM_H
#define PERSONA_SUPERVISOR_SHIM_H

#include <sys/types.h>
#include <sys/resource.h>
#include <signal.h>

/// One resource limit the child sets before exec (`setrlimit(resource, {cur, max})`).
typedef struct {
    int resource;
    unsigned long long soft;
    unsigned long long hard;
} ps_rlimit;

/// What `ps_spawn` does between fork and exec, in this order: reset signal mask and
/// dispositions, own process group, supplementary groups/gid/uid, rlimits, cwd, stdio, exec.
typedef struct {
    const char *path;          /// executable (absolute path; no PATH search)
    char *const *argv;         /// NULL-terminated
    char *const *envp;         /// NULL-terminated; the whole environment of the child
    const char *cwd;           /// NULL: inherit
    int uid;                   /// -1: keep
    int gid;                   /// -1: keep
    int stdin_fd;              /// dup2'ed to 0 (-1: /dev/null)
    int stdout_fd;             /// dup2'ed to 1
    int stderr_fd;             /// dup2'ed to 2
    const ps_rlimit *rlimits;  /// may be NULL
    int rlimit_count;
} ps_spawn_config;

/// Forks and execs `config`. The child becomes the leader of a new process group.
/// Returns the child's pid, or -1 with `*error_out` set to the errno of the step that failed
/// (in the parent, or reported by the child through a close-on-exec pipe before it `_exit`s;
/// such a child still has to be reaped by the caller's reaper).
pid_t ps_spawn(const ps_spawn_config *config, int *error_out, pid_t *failed_child_out);

/// Blocks every signal the supervisor handles itself (SIGCHLD, SIGTERM, SIGINT, SIGHUP,
/// SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE) in the calling thread; threads created later inherit it.
int ps_block_signals(void);

/// Installs handlers for the handled signals (SIGPIPE: ignored) that write the signal number
/// to a close-on-exec self-pipe, and unblocks them in the calling thread.
int ps_install_signal_handlers(void);

/// Waits up to `timeout_ms` for a signal caught by those handlers. Returns the signal number
/// or 0 on timeout (sleeps when no handlers are installed).
int ps_wait_signal(int timeout_ms);

/// Marks the calling process a child subreaper (orphaned descendants are re-parented to it).
int ps_set_child_subreaper(void);

/// `setfsuid`/`setfsgid` for the calling thread only; return the previous value.
int ps_setfsuid(unsigned int uid);
int ps_setfsgid(unsigned int gid);

/// `pipe2(fds, O_CLOEXEC)`.
int ps_pipe_cloexec(int fds[2]);

/// Decodes a `waitpid` status: exit code (>= 0) or -(signal number).
int ps_decode_status(int status);

#endif
