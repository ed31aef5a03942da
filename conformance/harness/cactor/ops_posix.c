/* ops_posix.c: POSIX message queues, named semaphores and shared memory objects.
 *
 * The native twin of conformance/backends/posix_mq_kernel.py (PosixMqKernelOps)
 * and conformance/backends/posix_semshm_kernel.py (PosixSemShmKernelOps):
 * the same libc entry points (glibc >= 2.34 has them in libc itself), the same
 * argument conversions ctypes makes (integers truncated to the C type, never
 * range-checked), the same relative-to-absolute deadlines and the same result
 * shapes.
 *
 *   mq_open mq_close mq_unlink mq_send mq_timedsend mq_receive mq_timedreceive
 *   mq_getattr mq_setattr mq_notify
 *   sem_open sem_close sem_unlink sem_wait sem_trywait sem_timedwait sem_post
 *   sem_getvalue shm_open shm_unlink
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "cactor.h"

/* ------------------------------------------------------------------ */
/* names                                                               */
/* ------------------------------------------------------------------ */

/* The UTF-8 the harness's pickle carries is Python's "surrogatepass" encoding:
 * a lone surrogate U+D800..U+DFFF arrives as ED A0..BF xx. */
static int is_surrogate_at(const unsigned char *p, size_t left)
{
    return left >= 3 && p[0] == 0xED && p[1] >= 0xA0 && p[1] <= 0xBF;
}

/* The position, in characters, of byte k of UTF-8 text p. */
static size_t char_position(const unsigned char *p, size_t k)
{
    size_t chars = 0;
    for (size_t j = 0; j < k; j++)
        if ((p[j] & 0xC0) != 0x80)
            chars++;
    return chars;
}

static unsigned surrogate_at(const unsigned char *p)
{
    return 0xD000u | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
}

static void surrogate_error(const unsigned char *p, size_t k)
{
    op_error("UnicodeEncodeError: 'utf-8' codec can't encode character '\\u%04x' in position %zu: "
             "surrogates not allowed", surrogate_at(p + k), char_position(p, k));
}

/* name.encode(): strict UTF-8; any lone surrogate is a UnicodeEncodeError. */
static int name_strict(const struct val *args, size_t i, const char **name)
{
    const struct val *v = args->items[i];
    if (v->kind != V_STR) {
        op_error("AttributeError: '%s' object has no attribute 'encode'", val_type_name(v));
        return -1;
    }
    const unsigned char *p = (const unsigned char *)v->s;
    for (size_t k = 0; k < v->len; k++) {
        if (is_surrogate_at(p + k, v->len - k)) {
            surrogate_error(p, k);
            return -1;
        }
    }
    *name = v->s;
    return 0;
}

/* os.fsencode(name): bytes pass unchanged; a str is encoded to UTF-8 with
 * "surrogateescape" (U+DC80..U+DCFF become the bytes 0x80..0xFF, every other
 * lone surrogate is a UnicodeEncodeError). The result goes to *buf, freed by
 * the caller. */
static int name_fsencode(const struct val *args, size_t i, char **buf)
{
    const struct val *v = args->items[i];
    if (v->kind == V_BYTES) {
        *buf = malloc(v->len + 1);
        if (*buf == NULL) {
            op_error("MemoryError: ");
            return -1;
        }
        memcpy(*buf, v->s, v->len + 1);
        return 0;
    }
    if (v->kind != V_STR) {
        op_error("TypeError: expected str, bytes or os.PathLike object, not %s", val_type_name(v));
        return -1;
    }
    char *out = malloc(v->len + 1);
    if (out == NULL) {
        op_error("MemoryError: ");
        return -1;
    }
    const unsigned char *p = (const unsigned char *)v->s;
    size_t n = 0;
    for (size_t k = 0; k < v->len;) {
        if (is_surrogate_at(p + k, v->len - k)) {
            unsigned cp = surrogate_at(p + k);
            if (cp < 0xDC80 || cp > 0xDCFF) {
                free(out);
                surrogate_error(p, k);
                return -1;
            }
            out[n++] = (char)(cp & 0xFF);
            k += 3;
        } else {
            out[n++] = (char)p[k++];
        }
    }
    out[n] = '\0';
    *buf = out;
    return 0;
}

/* ------------------------------------------------------------------ */
/* deadlines                                                           */
/* ------------------------------------------------------------------ */

#define NS 1000000000LL

/* The deadlines are computed as Python does, with unbounded integers, then
 * stored in c_long fields (truncated modulo 2**64). Seconds are therefore
 * summed in unsigned arithmetic, which wraps exactly like that truncation;
 * nanoseconds carry into them. */

/* posix_mq_kernel._deadline: (now + timeout_ns) // 10**9, (now + timeout_ns) % 10**9,
 * now being CLOCK_REALTIME in nanoseconds. */
static struct timespec mq_deadline(long long timeout_ns)
{
    struct timespec now, ts;
    clock_gettime(CLOCK_REALTIME, &now);
    long long t_sec = timeout_ns / NS, t_nsec = timeout_ns % NS;
    if (t_nsec < 0) { /* floor division, as Python's // and % */
        t_nsec += NS;
        t_sec -= 1;
    }
    unsigned long sec = (unsigned long)now.tv_sec + (unsigned long)t_sec;
    long nsec = now.tv_nsec + (long)t_nsec;
    if (nsec >= NS) {
        nsec -= NS;
        sec += 1;
    }
    ts.tv_sec = (long)sec;
    ts.tv_nsec = nsec;
    return ts;
}

/* posix_semshm_kernel.deadline: now + sec s + nsec ns for a valid nsec (carried);
 * an invalid nsec (below 0 or from 10**9) is kept as tv_nsec, unchanged. */
static struct timespec sem_deadline(long long sec, long long nsec)
{
    struct timespec now, ts;
    clock_gettime(CLOCK_REALTIME, &now);
    unsigned long s = (unsigned long)now.tv_sec + (unsigned long)sec;
    if (nsec >= 0 && nsec < NS) {
        long n = now.tv_nsec + (long)nsec;
        if (n >= NS) {
            n -= NS;
            s += 1;
        }
        ts.tv_nsec = n;
    } else {
        ts.tv_nsec = (long)nsec;
    }
    ts.tv_sec = (long)s;
    return ts;
}

/* ------------------------------------------------------------------ */
/* message queues                                                      */
/* ------------------------------------------------------------------ */

static void out_attr(struct out *out, const struct mq_attr *attr)
{
    out_mark(out);
    out_str(out, "flags");
    out_int(out, attr->mq_flags);
    out_str(out, "maxmsg");
    out_int(out, attr->mq_maxmsg);
    out_str(out, "msgsize");
    out_int(out, attr->mq_msgsize);
    out_str(out, "curmsgs");
    out_int(out, attr->mq_curmsgs);
    out_dict(out);
}

/* mq_open(name, oflag, mode=0o600, attr=None) */
static enum op_status op_mq_open(const struct val *args, struct out *out)
{
    long long oflag, mode = 0600, maxmsg = 0, msgsize = 0;
    const struct val *attr = NULL;
    if (args_between(args, 2, 4) != 0)
        return OP_ERROR;
    if (args->n > 3 && args->items[3]->kind == V_BYTES) {
        /* attr[0], attr[1] of a bytes object are ints: Python accepts it */
        const struct val *b = args->items[3];
        if (b->len < 2)
            return op_error("IndexError: index out of range");
        maxmsg = (unsigned char)b->s[0];
        msgsize = (unsigned char)b->s[1];
        attr = b;
    } else if (args->n > 3 && args->items[3]->kind != V_NONE) {
        if (arg_tuple(args, 3, &attr) != 0)
            return OP_ERROR;
        if (attr->n < 2)
            return op_error("IndexError: tuple index out of range");
        for (size_t k = 0; k < 2; k++)
            if (attr->items[k]->kind != V_INT && attr->items[k]->kind != V_BOOL)
                return op_error("TypeError: '%s' object cannot be interpreted as an integer",
                                val_type_name(attr->items[k]));
        maxmsg = attr->items[0]->i;
        msgsize = attr->items[1]->i;
    }
    char *name;
    if (name_fsencode(args, 0, &name) != 0)
        return OP_ERROR;
    if (arg_int(args, 1, &oflag) != 0 || (args->n > 2 && arg_int(args, 2, &mode) != 0)) {
        free(name);
        return OP_ERROR;
    }
    struct mq_attr c_attr;
    memset(&c_attr, 0, sizeof c_attr);
    c_attr.mq_maxmsg = (long)maxmsg;
    c_attr.mq_msgsize = (long)msgsize;
    mqd_t result = mq_open(name, (int)oflag, (mode_t)(unsigned int)mode,
                           attr != NULL ? &c_attr : NULL);
    int saved = errno;
    free(name);
    errno = saved;
    return int_result(result, out);
}

static enum op_status op_mq_close(const struct val *args, struct out *out)
{
    long long mqd;
    if (args_between(args, 1, 1) != 0 || arg_int(args, 0, &mqd) != 0)
        return OP_ERROR;
    return int_result(mq_close((mqd_t)(int)mqd), out);
}

static enum op_status op_mq_unlink(const struct val *args, struct out *out)
{
    char *name;
    if (args_between(args, 1, 1) != 0 || name_fsencode(args, 0, &name) != 0)
        return OP_ERROR;
    int result = mq_unlink(name);
    int saved = errno;
    free(name);
    errno = saved;
    return int_result(result, out);
}

/* glibc declares the deadline of the timed calls nonnull, but passes a NULL
 * one on to the system call (no timeout), which is how Python calls them: call
 * through pointers, which carry no such attribute. */
static int (*const timedsend_fn)(mqd_t, const char *, size_t, unsigned int,
                                 const struct timespec *) = mq_timedsend;
static ssize_t (*const timedreceive_fn)(mqd_t, char *, size_t, unsigned int *,
                                        const struct timespec *) = mq_timedreceive;

/* mq_send is mq_timedsend with no timeout (as glibc's mq_send is, and as Python calls it) */
static enum op_status op_mq_send(const struct val *args, struct out *out)
{
    long long mqd, prio;
    const char *data;
    size_t len;
    if (args_between(args, 3, 3) != 0 || arg_int(args, 0, &mqd) != 0 ||
        arg_bytes(args, 1, &data, &len) != 0 || arg_int(args, 2, &prio) != 0)
        return OP_ERROR;
    return int_result(timedsend_fn((mqd_t)(int)mqd, data, len, (unsigned int)prio, NULL), out);
}

static enum op_status op_mq_timedsend(const struct val *args, struct out *out)
{
    long long mqd, prio, timeout_ns;
    const char *data;
    size_t len;
    if (args_between(args, 4, 4) != 0 || arg_int(args, 3, &timeout_ns) != 0 ||
        arg_int(args, 0, &mqd) != 0 || arg_bytes(args, 1, &data, &len) != 0 ||
        arg_int(args, 2, &prio) != 0)
        return OP_ERROR;
    struct timespec when = mq_deadline(timeout_ns);
    return int_result(timedsend_fn((mqd_t)(int)mqd, data, len, (unsigned int)prio, &when), out);
}

/* The largest message a queue can hold (HARD_MSGSIZEMAX of the kernel). */
#define MQ_HARD_MSGSIZEMAX (16 * 1024 * 1024)

static enum op_status mq_receive_until(long long mqd, long long bufsize,
                                       const struct timespec *when, struct out *out)
{
    /* Python: create_string_buffer(max(bufsize, 1)), then bufsize as size_t.
     * A bufsize below 1 becomes a huge size_t, so the kernel may copy a whole
     * message into Python's 1-byte buffer, of which buf.raw shows 1 byte: the
     * buffer here is big enough for any message, and the reply keeps to what
     * Python's buffer holds. */
    size_t shown = bufsize < 1 ? 1 : (size_t)bufsize;
    size_t alloc = bufsize < 1 ? MQ_HARD_MSGSIZEMAX : (size_t)bufsize;
    char *buf = calloc(alloc, 1);
    if (buf == NULL)
        return op_error("MemoryError: ");
    unsigned int prio = 0;
    ssize_t size = timedreceive_fn((mqd_t)(int)mqd, buf, (size_t)bufsize, &prio, when);
    if (size == -1) {
        int saved = errno;
        free(buf);
        errno = saved;
        return OP_ERRNO;
    }
    size_t n = (size_t)size < shown ? (size_t)size : shown;
    out_mark(out);
    out_bytes(out, buf, n);
    out_int(out, prio);
    out_tuple(out);
    free(buf);
    return OP_OK;
}

static enum op_status op_mq_receive(const struct val *args, struct out *out)
{
    long long mqd, bufsize;
    if (args_between(args, 2, 2) != 0 || arg_int(args, 0, &mqd) != 0 ||
        arg_int(args, 1, &bufsize) != 0)
        return OP_ERROR;
    return mq_receive_until(mqd, bufsize, NULL, out);
}

static enum op_status op_mq_timedreceive(const struct val *args, struct out *out)
{
    long long mqd, bufsize, timeout_ns;
    if (args_between(args, 3, 3) != 0 || arg_int(args, 2, &timeout_ns) != 0 ||
        arg_int(args, 0, &mqd) != 0 || arg_int(args, 1, &bufsize) != 0)
        return OP_ERROR;
    struct timespec when = mq_deadline(timeout_ns);
    return mq_receive_until(mqd, bufsize, &when, out);
}

static enum op_status op_mq_getattr(const struct val *args, struct out *out)
{
    long long mqd;
    if (args_between(args, 1, 1) != 0 || arg_int(args, 0, &mqd) != 0)
        return OP_ERROR;
    struct mq_attr attr;
    memset(&attr, 0, sizeof attr);
    if (mq_getattr((mqd_t)(int)mqd, &attr) == -1)
        return OP_ERRNO;
    out_attr(out, &attr);
    return OP_OK;
}

static enum op_status op_mq_setattr(const struct val *args, struct out *out)
{
    long long mqd, flags;
    if (args_between(args, 2, 2) != 0 || arg_int(args, 0, &mqd) != 0 ||
        arg_int(args, 1, &flags) != 0)
        return OP_ERROR;
    struct mq_attr new_attr, old_attr;
    memset(&new_attr, 0, sizeof new_attr);
    memset(&old_attr, 0, sizeof old_attr);
    new_attr.mq_flags = (long)flags;
    if (mq_setattr((mqd_t)(int)mqd, &new_attr, &old_attr) == -1)
        return OP_ERRNO;
    out_attr(out, &old_attr);
    return OP_OK;
}

/* mq_notify(mqd, sig): a signal number (SIGEV_SIGNAL), "none" (SIGEV_NONE), None (NULL) */
static enum op_status op_mq_notify(const struct val *args, struct out *out)
{
    long long mqd;
    if (args_between(args, 2, 2) != 0)
        return OP_ERROR;
    const struct val *sig = args->items[1];
    if (sig->kind == V_NONE) {
        if (arg_int(args, 0, &mqd) != 0)
            return OP_ERROR;
        return int_result(mq_notify((mqd_t)(int)mqd, NULL), out);
    }
    struct sigevent event;
    memset(&event, 0, sizeof event);
    if (sig->kind == V_STR && sig->len == 4 && memcmp(sig->s, "none", 4) == 0) {
        event.sigev_notify = SIGEV_NONE;
    } else if (sig->kind == V_INT || sig->kind == V_BOOL) {
        event.sigev_notify = SIGEV_SIGNAL;
        event.sigev_signo = (int)sig->i;
    } else {
        if (sig->kind == V_STR)
            return op_error("ValueError: mq_notify: sig must be a signal number, 'none' or None, "
                            "not '%s'", sig->s);
        return op_error("ValueError: mq_notify: sig must be a signal number, 'none' or None, "
                        "not a %s", val_type_name(sig));
    }
    if (arg_int(args, 0, &mqd) != 0)
        return OP_ERROR;
    return int_result(mq_notify((mqd_t)(int)mqd, &event), out);
}

/* ------------------------------------------------------------------ */
/* named semaphores: handles are the lowest unused small ints          */
/* ------------------------------------------------------------------ */

static sem_t **sem_table; /* handle -> sem_t *, NULL when unused */
static size_t sem_table_len;

/* Python's `handle not in self.semaphores` on a dict whose keys are ints:
 * a dict anywhere in the key is unhashable (TypeError). */
static int unhashable(const struct val *v)
{
    if (v->kind == V_DICT)
        return 1;
    if (v->kind == V_TUPLE)
        for (size_t k = 0; k < v->n; k++)
            if (unhashable(v->items[k]))
                return 1;
    return 0;
}

/* self._sem(handle): 1 with *sem set; 0 after setting errno = EINVAL (Python's
 * OSError(22)); -1 for a fault (OP_ERROR). */
static int sem_lookup(const struct val *args, size_t i, sem_t **sem)
{
    const struct val *v = args->items[i];
    if (unhashable(v)) {
        op_error("TypeError: unhashable type: 'dict'");
        return -1;
    }
    if ((v->kind == V_INT || v->kind == V_BOOL) && v->i >= 0 &&
        (unsigned long long)v->i < sem_table_len && sem_table[v->i] != NULL) {
        *sem = sem_table[v->i];
        return 1;
    }
    errno = EINVAL;
    return 0;
}

#define SEM_OR_RETURN(args, i, sem)                  \
    do {                                             \
        int found_ = sem_lookup((args), (i), &(sem)); \
        if (found_ < 0)                              \
            return OP_ERROR;                         \
        if (found_ == 0)                             \
            return OP_ERRNO;                         \
    } while (0)

static enum op_status op_sem_open(const struct val *args, struct out *out)
{
    long long oflag, mode = 0600, value = 0;
    const char *name;
    if (args_between(args, 2, 4) != 0 || name_strict(args, 0, &name) != 0 ||
        arg_int(args, 1, &oflag) != 0 || (args->n > 2 && arg_int(args, 2, &mode) != 0) ||
        (args->n > 3 && arg_int(args, 3, &value) != 0))
        return OP_ERROR;
    /* reserve the table slot first, so a failed allocation cannot lose a sem_t */
    size_t handle = 0;
    while (handle < sem_table_len && sem_table[handle] != NULL)
        handle++;
    if (handle == sem_table_len) {
        size_t len = sem_table_len ? sem_table_len * 2 : 8;
        sem_t **grown = realloc(sem_table, len * sizeof *grown);
        if (grown == NULL)
            return op_error("MemoryError: ");
        for (size_t k = sem_table_len; k < len; k++)
            grown[k] = NULL;
        sem_table = grown;
        sem_table_len = len;
    }
    sem_t *sem = sem_open(name, (int)oflag, (unsigned int)mode, (unsigned int)value);
    if (sem == SEM_FAILED)
        return OP_ERRNO;
    sem_table[handle] = sem;
    out_int(out, (long long)handle);
    return OP_OK;
}

static enum op_status op_sem_close(const struct val *args, struct out *out)
{
    sem_t *sem;
    if (args_between(args, 1, 1) != 0)
        return OP_ERROR;
    SEM_OR_RETURN(args, 0, sem);
    if (sem_close(sem) == -1)
        return OP_ERRNO;
    sem_table[args->items[0]->i] = NULL;
    out_int(out, 0);
    return OP_OK;
}

static enum op_status op_sem_unlink(const struct val *args, struct out *out)
{
    const char *name;
    if (args_between(args, 1, 1) != 0 || name_strict(args, 0, &name) != 0)
        return OP_ERROR;
    return int_result(sem_unlink(name), out);
}

static enum op_status op_sem_wait(const struct val *args, struct out *out)
{
    sem_t *sem;
    if (args_between(args, 1, 1) != 0)
        return OP_ERROR;
    SEM_OR_RETURN(args, 0, sem);
    return int_result(sem_wait(sem), out);
}

static enum op_status op_sem_trywait(const struct val *args, struct out *out)
{
    sem_t *sem;
    if (args_between(args, 1, 1) != 0)
        return OP_ERROR;
    SEM_OR_RETURN(args, 0, sem);
    return int_result(sem_trywait(sem), out);
}

static enum op_status op_sem_timedwait(const struct val *args, struct out *out)
{
    sem_t *sem;
    long long sec, nsec;
    if (args_between(args, 3, 3) != 0 || arg_int(args, 1, &sec) != 0 ||
        arg_int(args, 2, &nsec) != 0)
        return OP_ERROR;
    struct timespec when = sem_deadline(sec, nsec);
    SEM_OR_RETURN(args, 0, sem);
    return int_result(sem_timedwait(sem, &when), out);
}

static enum op_status op_sem_post(const struct val *args, struct out *out)
{
    sem_t *sem;
    if (args_between(args, 1, 1) != 0)
        return OP_ERROR;
    SEM_OR_RETURN(args, 0, sem);
    return int_result(sem_post(sem), out);
}

static enum op_status op_sem_getvalue(const struct val *args, struct out *out)
{
    sem_t *sem;
    if (args_between(args, 1, 1) != 0)
        return OP_ERROR;
    SEM_OR_RETURN(args, 0, sem);
    int value = 0;
    if (sem_getvalue(sem, &value) == -1)
        return OP_ERRNO;
    out_int(out, value);
    return OP_OK;
}

/* ------------------------------------------------------------------ */
/* shared memory objects                                               */
/* ------------------------------------------------------------------ */

static enum op_status op_shm_open(const struct val *args, struct out *out)
{
    long long oflag, mode = 0600;
    const char *name;
    if (args_between(args, 2, 3) != 0 || name_strict(args, 0, &name) != 0 ||
        arg_int(args, 1, &oflag) != 0 || (args->n > 2 && arg_int(args, 2, &mode) != 0))
        return OP_ERROR;
    return int_result(shm_open(name, (int)oflag, (mode_t)(unsigned int)mode), out);
}

static enum op_status op_shm_unlink(const struct val *args, struct out *out)
{
    const char *name;
    if (args_between(args, 1, 1) != 0 || name_strict(args, 0, &name) != 0)
        return OP_ERROR;
    return int_result(shm_unlink(name), out);
}

const struct op_entry posix_ops[] = {
    {"mq_open", op_mq_open},
    {"mq_close", op_mq_close},
    {"mq_unlink", op_mq_unlink},
    {"mq_send", op_mq_send},
    {"mq_timedsend", op_mq_timedsend},
    {"mq_receive", op_mq_receive},
    {"mq_timedreceive", op_mq_timedreceive},
    {"mq_getattr", op_mq_getattr},
    {"mq_setattr", op_mq_setattr},
    {"mq_notify", op_mq_notify},
    {"sem_open", op_sem_open},
    {"sem_close", op_sem_close},
    {"sem_unlink", op_sem_unlink},
    {"sem_wait", op_sem_wait},
    {"sem_trywait", op_sem_trywait},
    {"sem_timedwait", op_sem_timedwait},
    {"sem_post", op_sem_post},
    {"sem_getvalue", op_sem_getvalue},
    {"shm_open", op_shm_open},
    {"shm_unlink", op_shm_unlink},
    {NULL, NULL},
};
