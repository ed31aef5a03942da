/* ops_fd.c: descriptors, files, pipes, FIFOs, memory maps, signals and
 * processes: the operations of KernelProcessOps in
 * conformance/backends/kernel.py, with the same libc calls and the same
 * normalised results.
 *
 * Arguments are converted as ctypes converts them: an int passed to a C
 * int (with or without argtypes) is truncated to its low bits, never
 * rejected; a size_t or long likewise.
 */
#include "cactor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------------ */
/* small helpers                                                        */
/* ------------------------------------------------------------------ */

/* a path as os.fsencode takes it: str or bytes (ctypes then stops at a NUL) */
static int path_arg(const struct val *args, size_t i, const char **path, size_t *len)
{
    if (i < args->n && (args->items[i]->kind == V_STR || args->items[i]->kind == V_BYTES)) {
        *path = args->items[i]->s;
        *len = args->items[i]->len;
        return 0;
    }
    return arg_str(args, i, path) == 0 ? (*len = strlen(*path), 0) : -1;
}

static enum op_status ok_int(struct out *out, long long v)
{
    out_int(out, v);
    return OP_OK;
}

/* Python's floor division and modulo */
static long long floor_div(long long a, long long b)
{
    long long q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static long long floor_mod(long long a, long long b)
{
    return a - floor_div(a, b) * b;
}

/* ------------------------------------------------------------------ */
/* descriptors                                                          */
/* ------------------------------------------------------------------ */

static enum op_status op_open_path(const char *path, long long flags, long long mode, struct out *out)
{
    return int_result(open(path, (int)flags, (unsigned int)mode), out);
}

static enum op_status op_open(const struct val *args, struct out *out)
{
    const char *path;
    size_t len;
    long long flags;
    if (args_between(args, 2, 3) || path_arg(args, 0, &path, &len) || arg_int(args, 1, &flags))
        return OP_ERROR;
    long long mode = 0644;
    if (args->n > 2 && arg_int(args, 2, &mode))
        return OP_ERROR;
    return op_open_path(path, flags, mode, out);
}

static enum op_status op_close(const struct val *args, struct out *out)
{
    long long fd;
    if (args_between(args, 1, 1) || arg_int(args, 0, &fd))
        return OP_ERROR;
    return int_result(close((int)fd), out);
}

static enum op_status op_dup(const struct val *args, struct out *out)
{
    long long fd;
    if (args_between(args, 1, 1) || arg_int(args, 0, &fd))
        return OP_ERROR;
    return int_result(dup((int)fd), out);
}

static enum op_status op_dup2(const struct val *args, struct out *out)
{
    long long oldfd, newfd;
    if (args_between(args, 2, 2) || arg_int(args, 0, &oldfd) || arg_int(args, 1, &newfd))
        return OP_ERROR;
    return int_result(dup2((int)oldfd, (int)newfd), out);
}

static enum op_status op_dup3(const struct val *args, struct out *out)
{
    long long oldfd, newfd, flags;
    if (args_between(args, 3, 3) || arg_int(args, 0, &oldfd) || arg_int(args, 1, &newfd) ||
        arg_int(args, 2, &flags))
        return OP_ERROR;
    return int_result(dup3((int)oldfd, (int)newfd, (int)flags), out);
}

static enum op_status op_fcntl(const struct val *args, struct out *out)
{
    long long fd, cmd;
    if (args_between(args, 2, 3) || arg_int(args, 0, &fd) || arg_int(args, 1, &cmd))
        return OP_ERROR;
    long long arg = 0;
    if (args->n > 2 && arg_int(args, 2, &arg))
        return OP_ERROR;
    /* restype c_int: the result as an int */
    return int_result(fcntl((int)fd, (int)cmd, (long)arg), out);
}

static enum op_status op_read(const struct val *args, struct out *out)
{
    long long fd, count;
    if (args_between(args, 2, 2) || arg_int(args, 0, &fd) || arg_int(args, 1, &count))
        return OP_ERROR;
    /* ctypes.create_string_buffer(max(count, 1)): a zeroed buffer */
    char *buf = calloc(1, (size_t)(count > 1 ? count : 1));
    if (!buf)
        return op_error("MemoryError");
    ssize_t n = read((int)fd, buf, (size_t)count);
    if (n == -1) {
        int err = errno;
        free(buf);
        errno = err;
        return OP_ERRNO;
    }
    out_bytes(out, buf, (size_t)n);
    free(buf);
    return OP_OK;
}

static enum op_status op_write(const struct val *args, struct out *out)
{
    long long fd;
    const char *data;
    size_t len;
    if (args_between(args, 2, 2) || arg_int(args, 0, &fd) || arg_bytes(args, 1, &data, &len))
        return OP_ERROR;
    return int_result(write((int)fd, data, len), out);
}

static enum op_status op_lseek(const struct val *args, struct out *out)
{
    long long fd, offset, whence;
    if (args_between(args, 3, 3) || arg_int(args, 0, &fd) || arg_int(args, 1, &offset) ||
        arg_int(args, 2, &whence))
        return OP_ERROR;
    return int_result(lseek((int)fd, (off_t)offset, (int)whence), out);
}

static enum op_status op_pipe(const struct val *args, struct out *out)
{
    if (args_between(args, 0, 0))
        return OP_ERROR;
    int fds[2] = {0, 0};
    int rc = pipe(fds);
    return fd_pair_result(rc, fds, out);
}

static enum op_status op_pipe2(const struct val *args, struct out *out)
{
    long long flags;
    if (args_between(args, 1, 1) || arg_int(args, 0, &flags))
        return OP_ERROR;
    int fds[2] = {0, 0};
    int rc = pipe2(fds, (int)flags);
    return fd_pair_result(rc, fds, out);
}

static enum op_status op_mkfifo(const struct val *args, struct out *out)
{
    const char *path;
    size_t len;
    if (args_between(args, 1, 2) || path_arg(args, 0, &path, &len))
        return OP_ERROR;
    long long mode = 0644;
    if (args->n > 1 && arg_int(args, 1, &mode))
        return OP_ERROR;
    return int_result(mkfifo(path, (mode_t)mode), out);
}

static enum op_status op_unlink(const struct val *args, struct out *out)
{
    const char *path;
    size_t len;
    if (args_between(args, 1, 1) || path_arg(args, 0, &path, &len))
        return OP_ERROR;
    return int_result(unlink(path), out);
}

/* _file_type */
static const char *file_type(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "p";
    if (S_ISREG(mode))
        return "-";
    if (S_ISCHR(mode))
        return "c";
    if (S_ISDIR(mode))
        return "d";
    if (S_ISSOCK(mode))
        return "s";
    return "?";
}

static enum op_status stat_result(int rc, const struct stat *st, struct out *out)
{
    if (rc == -1)
        return OP_ERRNO;
    out_mark(out);
    out_str(out, file_type(st->st_mode));
    out_int(out, (long long)st->st_size);
    out_tuple(out);
    return OP_OK;
}

/* os.fstat's fd is a C int: a larger number is an OverflowError */
static int fd_converter(const struct val *args, size_t i, int *fd)
{
    long long v;
    if (arg_int(args, i, &v))
        return -1;
    if (v < INT_MIN || v > INT_MAX) {
        op_error("OverflowError: Python int too large to convert to C int");
        return -1;
    }
    *fd = (int)v;
    return 0;
}

static enum op_status op_fstat(const struct val *args, struct out *out)
{
    int fd;
    if (args_between(args, 1, 1) || fd_converter(args, 0, &fd))
        return OP_ERROR;
    struct stat st;
    int rc = fstat(fd, &st);
    return stat_result(rc, &st, out);
}

static enum op_status op_stat(const struct val *args, struct out *out)
{
    if (args_between(args, 1, 1))
        return OP_ERROR;
    struct stat st;
    const struct val *p = args->items[0];
    if (p->kind == V_INT || p->kind == V_BOOL) { /* os.stat takes a descriptor too */
        int fd;
        if (fd_converter(args, 0, &fd))
            return OP_ERROR;
        int rc = fstat(fd, &st);
        return stat_result(rc, &st, out);
    }
    const char *path;
    size_t len;
    if (path_arg(args, 0, &path, &len))
        return OP_ERROR;
    if (strlen(path) != len)
        return op_error("ValueError: stat: embedded null character in path");
    int rc = stat(path, &st);
    return stat_result(rc, &st, out);
}

static enum op_status op_kcmp_file(const struct val *args, struct out *out)
{
    long long other_pid, fd, other_fd;
    if (args_between(args, 3, 3) || arg_int(args, 0, &other_pid) || arg_int(args, 1, &fd) ||
        arg_int(args, 2, &other_fd))
        return OP_ERROR;
#if defined(__x86_64__) || defined(__aarch64__)
    long result = syscall(SYS_kcmp, (int)getpid(), (int)other_pid, 0 /* KCMP_FILE */, (int)fd,
                          (int)other_fd);
    if (result == -1)
        return OP_ERRNO;
    out_bool(out, result == 0);
    return OP_OK;
#else
    (void)out;
    return op_error("KeyError: machine without a known kcmp number");
#endif
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static enum op_status op_fd_list(const struct val *args, struct out *out)
{
    if (args_between(args, 0, 0))
        return OP_ERROR;
    /* os.listdir: every name first, the directory closed, then the check */
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return OP_ERRNO;
    size_t n = 0, cap = 64;
    int *fds = malloc(cap * sizeof *fds);
    if (!fds) {
        closedir(dir);
        return op_error("MemoryError");
    }
    struct dirent *entry;
    errno = 0;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (n == cap) {
            int *more = realloc(fds, 2 * cap * sizeof *fds);
            if (!more) {
                free(fds);
                closedir(dir);
                return op_error("MemoryError");
            }
            fds = more;
            cap *= 2;
        }
        fds[n++] = atoi(entry->d_name);
    }
    int err = errno;
    closedir(dir);
    if (err) {
        free(fds);
        errno = err;
        return OP_ERRNO;
    }
    size_t alive = 0;
    for (size_t i = 0; i < n; i++) {
        if (fds[i] == control_fd)
            continue;
        if (fcntl(fds[i], F_GETFD, 0) != -1)
            fds[alive++] = fds[i];
    }
    qsort(fds, alive, sizeof *fds, cmp_int);
    out_mark(out);
    for (size_t i = 0; i < alive; i++)
        out_int(out, fds[i]);
    out_tuple(out);
    free(fds);
    return OP_OK;
}

/* str(x) in an f-string, for the values a pid or descriptor may be */
static int format_arg(const struct val *v, char *buf, size_t size)
{
    switch (v->kind) {
    case V_INT:
        snprintf(buf, size, "%lld", v->i);
        return 0;
    case V_BOOL:
        snprintf(buf, size, "%s", v->i ? "True" : "False");
        return 0;
    case V_STR:
        snprintf(buf, size, "%s", v->s);
        return 0;
    default:
        return -1;
    }
}

static enum op_status op_open_proc_fd(const struct val *args, struct out *out)
{
    long long flags;
    if (args_between(args, 3, 3) || arg_int(args, 2, &flags))
        return OP_ERROR;
    char pid_text[256], fd_text[256], path[600];
    if (format_arg(args->items[0], pid_text, sizeof pid_text) ||
        format_arg(args->items[1], fd_text, sizeof fd_text))
        return op_error("TypeError: open_proc_fd takes ints");
    snprintf(path, sizeof path, "/proc/%s/fd/%s", pid_text, fd_text);
    return op_open_path(path, flags, 0644, out);
}

/* ------------------------------------------------------------------ */
/* memory maps                                                          */
/* ------------------------------------------------------------------ */

struct mapping {
    int used;
    void *addr;
    long long length;
};
static struct mapping *mappings;
static size_t n_mappings; /* slots allocated */

static enum op_status op_ftruncate(const struct val *args, struct out *out)
{
    long long fd, length;
    if (args_between(args, 2, 2) || arg_int(args, 0, &fd) || arg_int(args, 1, &length))
        return OP_ERROR;
    return int_result(ftruncate((int)fd, (off_t)length), out);
}

static enum op_status op_mmap(const struct val *args, struct out *out)
{
    long long fd, length;
    const char *prot, *kind;
    if (args_between(args, 4, 4) || arg_int(args, 0, &fd) || arg_int(args, 1, &length))
        return OP_ERROR;
    int flags;
    if (args->items[3]->kind != V_STR)
        return op_error("KeyError: kind");
    kind = args->items[3]->s;
    if (strcmp(kind, "shared") == 0)
        flags = MAP_SHARED;
    else if (strcmp(kind, "private") == 0)
        flags = MAP_PRIVATE;
    else if (strcmp(kind, "shared-anon") == 0)
        flags = MAP_SHARED | MAP_ANONYMOUS;
    else if (strcmp(kind, "private-anon") == 0)
        flags = MAP_PRIVATE | MAP_ANONYMOUS;
    else
        return op_error("KeyError: '%s'", kind);
    int protection;
    if (args->items[2]->kind != V_STR)
        return op_error("KeyError: prot");
    prot = args->items[2]->s;
    if (strcmp(prot, "r") == 0)
        protection = PROT_READ;
    else if (strcmp(prot, "rw") == 0)
        protection = PROT_READ | PROT_WRITE;
    else
        return op_error("KeyError: '%s'", prot);
    int anon = strstr(kind, "anon") != NULL;
    void *addr = mmap(NULL, (size_t)length, protection, flags, anon ? -1 : (int)fd, 0);
    if (addr == MAP_FAILED)
        return OP_ERRNO;
    size_t handle = 0;
    while (handle < n_mappings && mappings[handle].used)
        handle++;
    if (handle == n_mappings) {
        size_t more = n_mappings ? 2 * n_mappings : 8;
        struct mapping *grown = realloc(mappings, more * sizeof *grown);
        if (!grown) {
            munmap(addr, (size_t)length);
            return op_error("MemoryError");
        }
        memset(grown + n_mappings, 0, (more - n_mappings) * sizeof *grown);
        mappings = grown;
        n_mappings = more;
    }
    mappings[handle].used = 1;
    mappings[handle].addr = addr;
    mappings[handle].length = length;
    return ok_int(out, (long long)handle);
}

/* the mapping a handle names (any value: `handle in self.mappings`), or NULL */
static struct mapping *find_mapping(const struct val *handle)
{
    if (handle->kind != V_INT && handle->kind != V_BOOL)
        return NULL;
    if (handle->i < 0 || (unsigned long long)handle->i >= n_mappings)
        return NULL;
    return mappings[handle->i].used ? &mappings[handle->i] : NULL;
}

/* _mapped: the backend's own bounds check; NULL with errno set when it fails */
static char *mapped(const struct val *handle, long long offset, long long count)
{
    struct mapping *m = find_mapping(handle);
    if (!m) {
        errno = EINVAL;
        return NULL;
    }
    long long page = sysconf(_SC_PAGESIZE);
    long long pages = -floor_div(-m->length, page) * page;
    if (offset < 0 || count > pages - offset) {
        errno = EFAULT;
        return NULL;
    }
    return (char *)m->addr + offset;
}

static enum op_status op_map_write(const struct val *args, struct out *out)
{
    long long offset;
    const char *data;
    size_t len;
    if (args_between(args, 3, 3) || arg_int(args, 1, &offset) || arg_bytes(args, 2, &data, &len))
        return OP_ERROR;
    char *at = mapped(args->items[0], offset, (long long)len);
    if (!at)
        return OP_ERRNO;
    memmove(at, data, len);
    return ok_int(out, (long long)len);
}

static enum op_status op_map_read(const struct val *args, struct out *out)
{
    long long offset, count;
    if (args_between(args, 3, 3) || arg_int(args, 1, &offset) || arg_int(args, 2, &count))
        return OP_ERROR;
    char *at = mapped(args->items[0], offset, count);
    if (!at)
        return OP_ERRNO;
    /* ctypes.string_at(addr, size): size is a C int; -1 means up to a NUL */
    int size = (int)count;
    if (size == -1) {
        out_bytes(out, at, strlen(at));
        return OP_OK;
    }
    if (size < 0)
        return op_error("SystemError: Negative size passed to PyBytes_FromStringAndSize");
    out_bytes(out, at, (size_t)size);
    return OP_OK;
}

static enum op_status op_msync(const struct val *args, struct out *out)
{
    if (args_between(args, 1, 1))
        return OP_ERROR;
    struct mapping *m = find_mapping(args->items[0]);
    if (!m)
        return op_error("KeyError: %lld", args->items[0]->i);
    return int_result(msync(m->addr, (size_t)m->length, MS_SYNC), out);
}

static enum op_status op_munmap(const struct val *args, struct out *out)
{
    if (args_between(args, 1, 1))
        return OP_ERROR;
    struct mapping *m = find_mapping(args->items[0]);
    if (!m) {
        errno = EINVAL;
        return OP_ERRNO;
    }
    m->used = 0; /* popped whether munmap succeeds or not */
    return int_result(munmap(m->addr, (size_t)m->length), out);
}

/* ------------------------------------------------------------------ */
/* processes and signals                                                */
/* ------------------------------------------------------------------ */

#define MAX_SIG 64 /* Python's Py_NSIG - 1 */

static volatile sig_atomic_t signal_counts[MAX_SIG + 1];

/* The 'count' disposition. Python's C-level handler only marks the signal;
 * its Python-level handler (the one that counts) runs when the interpreter
 * next gets control. Every instance the kernel delivers before that is
 * marked again but not counted: when a signal with several real-time
 * instances queued is unblocked, the kernel delivers them all, one after
 * the other, before the program runs again, and Python counts one. Here the
 * handler counts and then takes the instances still pending, which the
 * kernel would have delivered right after it returns (when the mask it
 * restores does not block the signal), so they are consumed uncounted. */
static void count_handler(int sig, siginfo_t *info, void *context)
{
    (void)info;
    int saved = errno;
    if (sig > 0 && sig <= MAX_SIG)
        signal_counts[sig]++;
    const ucontext_t *uc = context;
    if (uc && sigismember(&uc->uc_sigmask, sig) == 0) {
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&one, NULL, &zero) == sig) {
        }
    }
    errno = saved;
}

static enum op_status op_getpid(const struct val *args, struct out *out)
{
    if (args_between(args, 0, 0))
        return OP_ERROR;
    return ok_int(out, getpid());
}

static enum op_status op_kill(const struct val *args, struct out *out)
{
    long long pid, sig;
    if (args_between(args, 2, 2) || arg_int(args, 0, &pid) || arg_int(args, 1, &sig))
        return OP_ERROR;
    return int_result(kill((pid_t)pid, (int)sig), out);
}

static enum op_status op_signal(const struct val *args, struct out *out)
{
    if (args_between(args, 2, 2))
        return OP_ERROR;
    const struct val *d = args->items[1];
    const char *disposition = d->kind == V_STR ? d->s : "";
    int which;
    if (strcmp(disposition, "default") == 0)
        which = 0;
    else if (strcmp(disposition, "ignore") == 0)
        which = 1;
    else if (strcmp(disposition, "count") == 0)
        which = 2;
    else
        return op_error("ValueError: unknown disposition '%s'", disposition);
    long long sig;
    if (arg_int(args, 0, &sig))
        return OP_ERROR;
    if (sig < 1 || sig > MAX_SIG)
        return op_error("ValueError: signal number out of range");
    /* PyOS_setsig: SA_ONSTACK, an empty mask; siginterrupt(sig, True) then
     * leaves SA_RESTART out. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_ONSTACK;
    if (which == 0) {
        sa.sa_handler = SIG_DFL;
    } else if (which == 1) {
        sa.sa_handler = SIG_IGN;
    } else {
        sa.sa_sigaction = count_handler;
        sa.sa_flags |= SA_SIGINFO; /* for the mask the handler returns to */
    }
    if (sigaction((int)sig, &sa, NULL) == -1)
        return OP_ERRNO;
    return ok_int(out, 0);
}

static enum op_status op_signal_count(const struct val *args, struct out *out)
{
    if (args_between(args, 1, 1))
        return OP_ERROR;
    const struct val *s = args->items[0];
    /* self.signal_counts.get(sig, 0): any other key is simply absent */
    if ((s->kind == V_INT || s->kind == V_BOOL) && s->i >= 1 && s->i <= MAX_SIG)
        return ok_int(out, signal_counts[s->i]);
    return ok_int(out, 0);
}

static void out_sigset(const sigset_t *set, struct out *out)
{
    out_mark(out);
    for (int sig = 1; sig <= MAX_SIG; sig++)
        if (sigismember(set, sig) == 1)
            out_int(out, sig);
    out_tuple(out);
}

static enum op_status op_sigprocmask(const struct val *args, struct out *out)
{
    if (args_between(args, 2, 2))
        return OP_ERROR;
    const struct val *h = args->items[0];
    const char *how_name = h->kind == V_STR ? h->s : "";
    int how;
    if (strcmp(how_name, "block") == 0)
        how = SIG_BLOCK;
    else if (strcmp(how_name, "unblock") == 0)
        how = SIG_UNBLOCK;
    else if (strcmp(how_name, "set") == 0)
        how = SIG_SETMASK;
    else
        return op_error("ValueError: unknown sigprocmask how '%s'", how_name);
    const struct val *sigs;
    if (arg_tuple(args, 1, &sigs))
        return OP_ERROR;
    /* _Py_Sigset_Converter: out of [1; 64] is a ValueError; what sigaddset
     * refuses (glibc's own 32 and 33) only warns and is left out */
    sigset_t mask, previous;
    sigemptyset(&mask);
    for (size_t i = 0; i < sigs->n; i++) {
        const struct val *s = sigs->items[i];
        if (s->kind != V_INT && s->kind != V_BOOL)
            return op_error("TypeError: an integer is required");
        if (s->i <= 0 || s->i > MAX_SIG)
            return op_error("ValueError: signal number %lld out of range [1; %d]", s->i, MAX_SIG);
        sigaddset(&mask, (int)s->i);
    }
    int err = pthread_sigmask(how, &mask, &previous);
    if (err) {
        errno = err;
        return OP_ERRNO;
    }
    out_sigset(&previous, out);
    return OP_OK;
}

static enum op_status op_sigpending(const struct val *args, struct out *out)
{
    if (args_between(args, 0, 0))
        return OP_ERROR;
    sigset_t set;
    if (sigpending(&set) == -1)
        return OP_ERRNO;
    out_sigset(&set, out);
    return OP_OK;
}

static void out_si_code(int code, struct out *out)
{
    switch (code) {
    case 0:
        out_str(out, "SI_USER");
        break;
    case -1:
        out_str(out, "SI_QUEUE");
        break;
    case -3:
        out_str(out, "SI_MESGQ");
        break;
    case 1:
        out_str(out, "CLD_EXITED");
        break;
    case 2:
        out_str(out, "CLD_KILLED");
        break;
    case 3:
        out_str(out, "CLD_DUMPED");
        break;
    default:
        out_int(out, code);
    }
}

static enum op_status op_sigtimedwait(const struct val *args, struct out *out)
{
    const struct val *sigs;
    if (args_between(args, 2, 2) || arg_tuple(args, 0, &sigs))
        return OP_ERROR;
    /* _sigset: the bits set by hand in 16 unsigned longs, as glibc's sigset_t is */
    sigset_t mask;
    memset(&mask, 0, sizeof mask);
    unsigned long *bits = (unsigned long *)&mask;
    const long long words = (long long)(sizeof mask / sizeof *bits);
    for (size_t i = 0; i < sigs->n; i++) {
        const struct val *s = sigs->items[i];
        if (s->kind != V_INT && s->kind != V_BOOL)
            return op_error("TypeError: unsupported operand type(s) for -");
        long long word = floor_div(s->i - 1, 64), bit = floor_mod(s->i - 1, 64);
        if (word < 0)
            word += words; /* a ctypes array takes a negative index from the end */
        if (word < 0 || word >= words)
            return op_error("IndexError: invalid index");
        bits[word] |= 1UL << bit;
    }
    long long timeout_ns;
    if (arg_int(args, 1, &timeout_ns))
        return OP_ERROR;
    struct timespec ts = {(time_t)floor_div(timeout_ns, 1000000000LL),
                          (long)floor_mod(timeout_ns, 1000000000LL)};
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int signo = sigtimedwait(&mask, &info, &ts);
    if (signo == -1)
        return OP_ERRNO;
    /* _SigInfo: si_code at 8, si_pid at 16, a long at 24 (sival, or si_status) */
    int code, pid;
    long value;
    memcpy(&code, (char *)&info + 8, sizeof code);
    memcpy(&pid, (char *)&info + 16, sizeof pid);
    memcpy(&value, (char *)&info + 24, sizeof value);
    out_mark(out);
    out_str(out, "signo");
    out_int(out, signo);
    out_str(out, "code");
    out_si_code(code, out);
    out_str(out, "pid");
    out_int(out, pid);
    out_str(out, "value");
    out_int(out, value);
    out_dict(out);
    return OP_OK;
}

static enum op_status op_sigqueue(const struct val *args, struct out *out)
{
    long long pid, sig, value;
    if (args_between(args, 3, 3) || arg_int(args, 0, &pid) || arg_int(args, 1, &sig) ||
        arg_int(args, 2, &value))
        return OP_ERROR;
    union sigval v;
    memset(&v, 0, sizeof v);
    v.sival_ptr = (void *)(intptr_t)value;
    return int_result(sigqueue((pid_t)pid, (int)sig, v), out);
}

static enum op_status op_wait(const struct val *args, struct out *out)
{
    long long pid;
    if (args_between(args, 1, 1) || arg_int(args, 0, &pid))
        return OP_ERROR;
    int status = 0;
    if (waitpid((pid_t)pid, &status, 0) == -1)
        return OP_ERRNO;
    out_mark(out);
    if (WIFSIGNALED(status)) {
        out_str(out, "killed");
        out_str(out, signal_name(WTERMSIG(status)));
    } else {
        out_str(out, "exited");
        out_int(out, WEXITSTATUS(status));
    }
    out_tuple(out);
    return OP_OK;
}

/* ------------------------------------------------------------------ */
/* variables: a dict the process keeps (any key, any value)             */
/* ------------------------------------------------------------------ */

struct variable {
    struct val *key, *value;
};
static struct variable *variables;
static size_t n_variables, cap_variables;

static void free_val(struct val *v)
{
    if (!v)
        return;
    size_t items = v->kind == V_DICT ? 2 * v->n : v->kind == V_TUPLE ? v->n : 0;
    for (size_t i = 0; i < items; i++)
        free_val(v->items[i]);
    free(v->items);
    free(v->s);
    free(v);
}

static struct val *copy_val(const struct val *v)
{
    struct val *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->kind = v->kind;
    c->i = v->i;
    c->len = v->len;
    c->n = v->n;
    if (v->s) {
        c->s = malloc(v->len + 1);
        if (!c->s) {
            free(c);
            return NULL;
        }
        memcpy(c->s, v->s, v->len);
        c->s[v->len] = '\0';
    }
    size_t items = v->kind == V_DICT ? 2 * v->n : v->kind == V_TUPLE ? v->n : 0;
    if (items) {
        c->items = calloc(items, sizeof *c->items);
        if (!c->items) {
            free_val(c);
            return NULL;
        }
        for (size_t i = 0; i < items; i++) {
            c->items[i] = copy_val(v->items[i]);
            if (!c->items[i]) {
                free_val(c);
                return NULL;
            }
        }
    }
    return c;
}

static int hashable(const struct val *v)
{
    if (v->kind == V_DICT)
        return 0;
    if (v->kind == V_TUPLE)
        for (size_t i = 0; i < v->n; i++)
            if (!hashable(v->items[i]))
                return 0;
    return 1;
}

/* Python's == for hashable values (True == 1) */
static int equal_val(const struct val *a, const struct val *b)
{
    int a_num = a->kind == V_INT || a->kind == V_BOOL, b_num = b->kind == V_INT || b->kind == V_BOOL;
    if (a_num || b_num)
        return a_num && b_num && a->i == b->i;
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case V_NONE:
        return 1;
    case V_STR:
    case V_BYTES:
        return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    case V_TUPLE:
        if (a->n != b->n)
            return 0;
        for (size_t i = 0; i < a->n; i++)
            if (!equal_val(a->items[i], b->items[i]))
                return 0;
        return 1;
    default:
        return 0;
    }
}


static struct variable *find_variable(const struct val *key)
{
    for (size_t i = 0; i < n_variables; i++)
        if (equal_val(variables[i].key, key))
            return &variables[i];
    return NULL;
}

static enum op_status op_setvar(const struct val *args, struct out *out)
{
    if (args_between(args, 2, 2))
        return OP_ERROR;
    const struct val *name = args->items[0], *value = args->items[1];
    if (!hashable(name))
        return op_error("TypeError: unhashable type: 'dict'");
    struct val *copy = copy_val(value);
    if (!copy)
        return op_error("MemoryError");
    struct variable *var = find_variable(name);
    if (var) {
        free_val(var->value);
        var->value = copy;
        return ok_int(out, 0);
    }
    if (n_variables == cap_variables) {
        size_t more = cap_variables ? 2 * cap_variables : 16;
        struct variable *grown = realloc(variables, more * sizeof *grown);
        if (!grown) {
            free_val(copy);
            return op_error("MemoryError");
        }
        variables = grown;
        cap_variables = more;
    }
    struct val *key = copy_val(name);
    if (!key) {
        free_val(copy);
        return op_error("MemoryError");
    }
    variables[n_variables].key = key;
    variables[n_variables].value = copy;
    n_variables++;
    return ok_int(out, 0);
}

static enum op_status op_getvar(const struct val *args, struct out *out)
{
    if (args_between(args, 1, 1))
        return OP_ERROR;
    if (!hashable(args->items[0]))
        return op_error("TypeError: unhashable type: 'dict'");
    struct variable *var = find_variable(args->items[0]);
    if (var)
        out_val(out, var->value);
    else
        out_none(out);
    return OP_OK;
}

/* ------------------------------------------------------------------ */
/* shell: subprocess.run(["/bin/sh", "-c", command], stdout=PIPE,       */
/*        close_fds=False, timeout=30, check=False)                     */
/* ------------------------------------------------------------------ */

#define SHELL_TIMEOUT_S 30

static double monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_seconds(double seconds)
{
    /* time.sleep: resumed after a handler runs */
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* bytes.decode("utf-8", errors="replace"): one U+FFFD per maximal
 * ill-formed subpart, as CPython's decoder does */
static char *decode_replace(const unsigned char *s, size_t n, size_t *out_len)
{
    char *d = malloc(3 * n + 1);
    if (!d)
        return NULL;
    size_t i = 0, o = 0;
#define CONT(k) (i + (k) < n && (s[i + (k)] & 0xC0) == 0x80)
#define BAD(k) do { d[o++] = (char)0xEF; d[o++] = (char)0xBF; d[o++] = (char)0xBD; i += (k); } while (0)
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            d[o++] = (char)c;
            i++;
        } else if (c < 0xC2) {
            BAD(1);
        } else if (c < 0xE0) {
            if (CONT(1)) {
                memcpy(d + o, s + i, 2);
                o += 2;
                i += 2;
            } else {
                BAD(1);
            }
        } else if (c < 0xF0) {
            unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
            if (i + 1 < n && s[i + 1] >= lo && s[i + 1] <= hi) {
                if (CONT(2)) {
                    memcpy(d + o, s + i, 3);
                    o += 3;
                    i += 3;
                } else {
                    BAD(2);
                }
            } else {
                BAD(1);
            }
        } else if (c < 0xF5) {
            unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
            if (i + 1 < n && s[i + 1] >= lo && s[i + 1] <= hi) {
                if (CONT(2)) {
                    if (CONT(3)) {
                        memcpy(d + o, s + i, 4);
                        o += 4;
                        i += 4;
                    } else {
                        BAD(3);
                    }
                } else {
                    BAD(2);
                }
            } else {
                BAD(1);
            }
        } else {
            BAD(1);
        }
    }
#undef CONT
#undef BAD
    d[o] = '\0';
    *out_len = o;
    return d;
}

/* repr() of a str, near enough for an error message */
static void py_repr(const char *s, char *buf, size_t size)
{
    char quote = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    size_t o = 0;
    if (size < 8)
        return;
    buf[o++] = quote;
    for (; *s && o + 6 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || c == (unsigned char)quote) {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (c == '\r') {
            buf[o++] = '\\';
            buf[o++] = 'r';
        } else if (c == '\t') {
            buf[o++] = '\\';
            buf[o++] = 't';
        } else if (c < 0x20 || c == 0x7F) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o++] = quote;
    buf[o] = '\0';
}

/* Popen.kill() then Popen.wait(): poll first, SIGKILL if still running, reap */
static void kill_and_reap(pid_t pid)
{
    int status;
    pid_t r;
    do
        r = waitpid(pid, &status, WNOHANG);
    while (r == -1 && errno == EINTR);
    if (r == 0) {
        kill(pid, SIGKILL);
        do
            r = waitpid(pid, &status, 0);
        while (r == -1 && errno == EINTR);
    }
}

/* Start the shell as _execute_child does; returns its pid, or -1 with errno
 * set (the pipe's ends are then closed). */
static pid_t start_shell(const char *command, int r, int w)
{
    char *argv[] = {"/bin/sh", "-c", (char *)command, NULL};
    if (w > 2) {
        /* _posix_spawn: close c2pread, dup2 c2pwrite to 1, and SIGPIPE, SIGXFSZ
         * back to their default (restore_signals) */
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr;
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        sigaddset(&defaults, SIGXFSZ);
        posix_spawnattr_init(&attr);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addclose(&actions, r);
        posix_spawn_file_actions_adddup2(&actions, w, 1);
        pid_t pid;
        int err = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        if (err) {
            close(r);
            close(w);
            errno = err;
            return -1;
        }
        close(w);
        return pid;
    }
    /* _fork_exec, when c2pwrite is one of 0-2: an error pipe reports a failed exec */
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) == -1) {
        int err = errno;
        close(r);
        close(w);
        errno = err;
        return -1;
    }
    int low[3], n_low = 0;
    while (ep[1] < 3) {
        int moved = fcntl(ep[1], F_DUPFD_CLOEXEC, 0);
        if (moved == -1) {
            int err = errno;
            for (int i = 0; i < n_low; i++)
                close(low[i]);
            close(ep[0]);
            close(ep[1]);
            close(r);
            close(w);
            errno = err;
            return -1;
        }
        low[n_low++] = ep[1];
        ep[1] = moved;
    }
    for (int i = 0; i < n_low; i++)
        close(low[i]);
    pid_t pid = fork();
    if (pid == 0) {
        close(r);
        close(ep[0]);
        int c2pwrite = w;
        if (c2pwrite == 0)
            c2pwrite = fcntl(c2pwrite, F_DUPFD_CLOEXEC, 0);
        if (c2pwrite == 1)
            fcntl(1, F_SETFD, fcntl(1, F_GETFD) & ~FD_CLOEXEC);
        else
            dup2(c2pwrite, 1);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(SIGPIPE, &dfl, NULL);
        sigaction(SIGXFSZ, &dfl, NULL);
        execv("/bin/sh", argv);
        int err = errno;
        ssize_t ignored = write(ep[1], &err, sizeof err);
        (void)ignored;
        _exit(255);
    }
    int fork_err = errno;
    close(ep[1]);
    close(w);
    if (pid == -1) {
        close(ep[0]);
        close(r);
        errno = fork_err;
        return -1;
    }
    int child_err = 0;
    size_t got = 0;
    while (got < sizeof child_err) {
        ssize_t k = read(ep[0], (char *)&child_err + got, sizeof child_err - got);
        if (k == -1 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(ep[0]);
    if (got) {
        int status;
        while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
        }
        close(r);
        errno = got == sizeof child_err ? child_err : EIO;
        return -1;
    }
    return pid;
}

static enum op_status op_shell(const struct val *args, struct out *out)
{
    const char *command;
    if (args_between(args, 1, 1) || arg_str(args, 0, &command))
        return OP_ERROR;
    if (strlen(command) != args->items[0]->len)
        return op_error("ValueError: embedded null byte");
    char timeout_message[400], quoted[300];
    py_repr(command, quoted, sizeof quoted);
    snprintf(timeout_message, sizeof timeout_message,
             "TimeoutExpired: Command '['/bin/sh', '-c', %s]' timed out after %d seconds", quoted,
             SHELL_TIMEOUT_S);

    int c2p[2];
    if (pipe2(c2p, O_CLOEXEC) == -1) /* os.pipe() */
        return OP_ERRNO;
    int r = c2p[0];
    double endtime = monotonic() + SHELL_TIMEOUT_S;
    pid_t pid = start_shell(command, r, c2p[1]);
    if (pid == -1)
        return OP_ERRNO;

    /* communicate(timeout=30): read stdout until EOF, then wait */
    size_t len = 0, cap = 32768;
    unsigned char *data = malloc(cap);
    if (!data) {
        kill_and_reap(pid);
        close(r);
        return op_error("MemoryError");
    }
    int timed_out = 0;
    for (;;) {
        double remaining = endtime - monotonic();
        if (remaining < 0) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {r, POLLIN, 0};
        double ms = remaining * 1e3;
        int timeout_ms = (int)ms;
        if ((double)timeout_ms < ms)
            timeout_ms++;
        int k = poll(&pfd, 1, timeout_ms);
        if (k == -1 && errno == EINTR)
            continue;
        if (k == -1) {
            int err = errno;
            free(data);
            kill_and_reap(pid);
            close(r);
            errno = err;
            return OP_ERRNO;
        }
        if (endtime - monotonic() < 0) { /* _check_timeout */
            timed_out = 1;
            break;
        }
        if (k == 0)
            continue;
        if (cap - len < 32768) {
            unsigned char *grown = realloc(data, cap * 2);
            if (!grown) {
                free(data);
                kill_and_reap(pid);
                close(r);
                return op_error("MemoryError");
            }
            data = grown;
            cap *= 2;
        }
        ssize_t n;
        do
            n = read(r, data + len, 32768);
        while (n == -1 && errno == EINTR);
        if (n == -1) {
            int err = errno;
            free(data);
            kill_and_reap(pid);
            close(r);
            errno = err;
            return OP_ERRNO;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (timed_out) {
        free(data);
        kill_and_reap(pid);
        close(r);
        return op_error("%s", timeout_message);
    }
    close(r);

    /* wait(timeout=remaining): waitpid WNOHANG with growing sleeps */
    int status = 0, returncode = 0;
    double wait_end = monotonic() + (endtime - monotonic());
    double delay = 0.0005;
    for (;;) {
        pid_t got;
        do
            got = waitpid(pid, &status, WNOHANG);
        while (got == -1 && errno == EINTR);
        if (got == -1 && errno == ECHILD) { /* SIGCHLD ignored: reaped, status unknown */
            status = 0;
            break;
        }
        if (got == pid)
            break;
        double remaining = wait_end - monotonic();
        if (remaining <= 0) {
            free(data);
            kill_and_reap(pid);
            return op_error("%s", timeout_message);
        }
        delay = delay * 2;
        if (delay > remaining)
            delay = remaining;
        if (delay > 0.05)
            delay = 0.05;
        sleep_seconds(delay);
    }
    if (WIFSIGNALED(status))
        returncode = -WTERMSIG(status);
    else
        returncode = WEXITSTATUS(status);

    size_t text_len;
    char *text = decode_replace(data, len, &text_len);
    free(data);
    if (!text)
        return op_error("MemoryError");
    out_mark(out);
    out_int(out, returncode);
    out_strn(out, text, text_len);
    out_tuple(out);
    free(text);
    return OP_OK;
}

/* ------------------------------------------------------------------ */

const struct op_entry fd_ops[] = {
    {"open", op_open},
    {"close", op_close},
    {"dup", op_dup},
    {"dup2", op_dup2},
    {"dup3", op_dup3},
    {"fcntl", op_fcntl},
    {"read", op_read},
    {"write", op_write},
    {"lseek", op_lseek},
    {"pipe", op_pipe},
    {"pipe2", op_pipe2},
    {"mkfifo", op_mkfifo},
    {"unlink", op_unlink},
    {"fstat", op_fstat},
    {"stat", op_stat},
    {"kcmp_file", op_kcmp_file},
    {"fd_list", op_fd_list},
    {"open_proc_fd", op_open_proc_fd},
    {"ftruncate", op_ftruncate},
    {"mmap", op_mmap},
    {"map_write", op_map_write},
    {"map_read", op_map_read},
    {"msync", op_msync},
    {"munmap", op_munmap},
    {"getpid", op_getpid},
    {"kill", op_kill},
    {"signal", op_signal},
    {"signal_count", op_signal_count},
    {"sigprocmask", op_sigprocmask},
    {"sigpending", op_sigpending},
    {"sigtimedwait", op_sigtimedwait},
    {"sigqueue", op_sigqueue},
    {"wait", op_wait},
    {"setvar", op_setvar},
    {"getvar", op_getvar},
    {"shell", op_shell},
    {NULL, NULL},
};
