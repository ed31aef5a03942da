/* ops_sysv.c: System V IPC operations of the native actor.
 *
 * A line-by-line rendering of conformance/backends/sysv_kernel.py
 * (class SysVKernelOps): message queues, semaphore sets, shared memory
 * and the identity operation ``become``. ``exec_self`` lives in core.c.
 *
 * Structures: glibc's own (<sys/msg.h>, <sys/sem.h>, <sys/shm.h>), whose
 * layout is checked below, field by field, against the ctypes structures
 * the Python backend reads (IpcPerm, MsqidDs, SemidDs — x86 with a padding
 * word after each time, generic 64-bit without —, ShmidDs, MsgInfo,
 * SemInfo, ShmInfoLimits, ShmInfo, Sembuf).
 *
 * Integer arguments are converted as ctypes converts a Python int to a C
 * integer: wrapped to the width of the C type (no overflow error).
 */
#include "cactor.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* ---- the layouts the Python backend knows ---- */
#if (defined(__x86_64__) || defined(__aarch64__)) && __SIZEOF_LONG__ == 8
#define SYSV_KNOWN_LAYOUT 1
#define SYSV_OFF(type, field, off) _Static_assert(offsetof(type, field) == (off), #type "." #field)
SYSV_OFF(struct ipc_perm, __key, 0);
SYSV_OFF(struct ipc_perm, uid, 4);
SYSV_OFF(struct ipc_perm, gid, 8);
SYSV_OFF(struct ipc_perm, cuid, 12);
SYSV_OFF(struct ipc_perm, cgid, 16);
SYSV_OFF(struct ipc_perm, mode, 20);
_Static_assert(sizeof(((struct ipc_perm *)0)->mode) == 4, "ipc_perm.mode is 32 bits");
_Static_assert(sizeof(struct ipc_perm) == 48, "ipc_perm size");
SYSV_OFF(struct msqid_ds, msg_stime, 48);
SYSV_OFF(struct msqid_ds, msg_rtime, 56);
SYSV_OFF(struct msqid_ds, msg_ctime, 64);
SYSV_OFF(struct msqid_ds, __msg_cbytes, 72);
SYSV_OFF(struct msqid_ds, msg_qnum, 80);
SYSV_OFF(struct msqid_ds, msg_qbytes, 88);
SYSV_OFF(struct msqid_ds, msg_lspid, 96);
SYSV_OFF(struct msqid_ds, msg_lrpid, 100);
_Static_assert(sizeof(struct msqid_ds) == 120, "msqid_ds size");
#if defined(__x86_64__)
SYSV_OFF(struct semid_ds, sem_otime, 48);
SYSV_OFF(struct semid_ds, sem_ctime, 64);
SYSV_OFF(struct semid_ds, sem_nsems, 80);
_Static_assert(sizeof(struct semid_ds) == 104, "semid_ds size (x86)");
#else
SYSV_OFF(struct semid_ds, sem_otime, 48);
SYSV_OFF(struct semid_ds, sem_ctime, 56);
SYSV_OFF(struct semid_ds, sem_nsems, 64);
_Static_assert(sizeof(struct semid_ds) == 88, "semid_ds size (generic)");
#endif
SYSV_OFF(struct shmid_ds, shm_segsz, 48);
SYSV_OFF(struct shmid_ds, shm_atime, 56);
SYSV_OFF(struct shmid_ds, shm_dtime, 64);
SYSV_OFF(struct shmid_ds, shm_ctime, 72);
SYSV_OFF(struct shmid_ds, shm_cpid, 80);
SYSV_OFF(struct shmid_ds, shm_lpid, 84);
SYSV_OFF(struct shmid_ds, shm_nattch, 88);
_Static_assert(sizeof(struct shmid_ds) == 112, "shmid_ds size");
SYSV_OFF(struct msginfo, msgtql, 24);
SYSV_OFF(struct msginfo, msgseg, 28);
_Static_assert(sizeof(struct msginfo) == 32, "msginfo size");
SYSV_OFF(struct seminfo, semaem, 36);
_Static_assert(sizeof(struct seminfo) == 40, "seminfo size");
SYSV_OFF(struct shminfo, shmall, 32);
_Static_assert(sizeof(struct shminfo) == 72, "shminfo size");
SYSV_OFF(struct shm_info, shm_tot, 8);
SYSV_OFF(struct shm_info, swap_successes, 40);
_Static_assert(sizeof(struct shm_info) == 48, "shm_info size");
SYSV_OFF(struct sembuf, sem_op, 2);
SYSV_OFF(struct sembuf, sem_flg, 4);
_Static_assert(sizeof(struct sembuf) == 6, "sembuf size");
#else
#define SYSV_KNOWN_LAYOUT 0
#endif

#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif
#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif
#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif

/* receive buffers up to this size are allocated as asked */
#define SYSV_ROOMY (1LL << 20)

/* union semun, passed by value to the variadic semctl: an int or a pointer
 * in one 8-byte integer register, as the Python backend passes a c_long or
 * a c_void_p */
union sysv_semun {
    long l;
    void *p;
};

/* ---- helpers ---- */

/* _require_known_layout(): NotImplementedError on other machines */
static int sysv_require_layout(void)
{
#if SYSV_KNOWN_LAYOUT
    return 0;
#else
    snprintf(op_message, sizeof op_message,
             "the System V structure layouts are known for x86_64, aarch64 only, not this machine");
    return -1;
#endif
}
#define REQUIRE_LAYOUT()                         \
    do {                                         \
        if (sysv_require_layout() < 0)           \
            return OP_UNSUPPORTED;               \
    } while (0)

/* An unsigned C value as a Python int. Values beyond LLONG_MAX (a qbytes
 * raised by root, shminfo's shmmax) are written as pickle LONG1. */
static void sysv_out_uint(struct out *o, unsigned long long v)
{
    if (v <= (unsigned long long)LLONG_MAX) {
        out_int(o, (long long)v);
        return;
    }
    /* LONG1: 0x8a, length 9, nine little-endian bytes (the last one 0: positive) */
    unsigned char raw[11];
    raw[0] = 0x8a;
    raw[1] = 9;
    for (int i = 0; i < 8; i++)
        raw[2 + i] = (unsigned char)(v >> (8 * i));
    raw[10] = 0;
    /* out_bytes of as many bytes makes the buffer large enough (its opcode
     * and length come on top); the bytes it wrote are then replaced. */
    size_t start = o->len;
    out_bytes(o, raw, sizeof raw);
    memcpy(o->data + start, raw, sizeof raw);
    o->len = start + sizeof raw;
}

/* Python's `x & mask` on an argument the harness sent: int (or bool) only */
static int sysv_is_int(const struct val *v)
{
    return v->kind == V_INT || v->kind == V_BOOL;
}

/* the TypeError of Python's `value & mask` (op "&") or `value &= mask` (op "&=") */
static enum op_status sysv_and_type_error(const struct val *v, const char *op)
{
    return op_error("TypeError: unsupported operand type(s) for %s: '%s' and 'int'", op,
                    val_type_name(v));
}

/* The data argument of msgsnd/shm_write as ctypes.memmove reads it: bytes
 * as they are; a str (which ctypes passes as a wchar_t string) as the first
 * len(str) bytes of its UTF-32 code units. *owned is to be freed. */
static int sysv_data_arg(const struct val *args, size_t i, const char **p, size_t *n, char **owned)
{
    *owned = NULL;
    if (i < args->n && args->items[i]->kind == V_STR) {
        const unsigned char *u = (const unsigned char *)args->items[i]->s;
        size_t len = args->items[i]->len, count = 0;
        uint32_t *wide = calloc(len + 1, sizeof *wide);
        if (!wide) {
            op_error("MemoryError: str of %zu bytes", len);
            return -1;
        }
        for (size_t k = 0; k < len; count++) {
            uint32_t c = u[k];
            size_t more = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
            if (more)
                c &= 0x3Fu >> more;
            k++;
            for (size_t m = 0; m < more && k < len; m++, k++)
                c = (c << 6) | (u[k] & 0x3Fu);
            wide[count] = c;
        }
        char *bytes = malloc(count + 1);
        if (!bytes) {
            free(wide);
            op_error("MemoryError: str of %zu bytes", len);
            return -1;
        }
        for (size_t k = 0; k < count; k++) /* little-endian code units */
            bytes[k] = (char)(wide[k / 4] >> (8 * (k % 4)));
        free(wide);
        *owned = bytes;
        *p = bytes;
        *n = count;
        return 0;
    }
    return arg_bytes(args, i, p, n);
}

static int sysv_msgmax(void)
{
    FILE *f = fopen("/proc/sys/kernel/msgmax", "re");
    if (!f)
        return 8192;
    char line[64];
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    /* int(text): optional whitespace around one decimal integer */
    char *p = line;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
        p++;
    if (*p == '\0')
        return 8192;
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || errno)
        return 8192;
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r' || *end == '\f' || *end == '\v')
        end++;
    if (*end != '\0')
        return 8192;
    if (v > INT_MAX)
        return INT_MAX;
    return (int)v;
}

/* ---- results as the contract spells them ---- */
static void sysv_perm_fields(struct out *out, const struct ipc_perm *perm)
{
    out_str(out, "uid");  out_int(out, perm->uid);
    out_str(out, "gid");  out_int(out, perm->gid);
    out_str(out, "cuid"); out_int(out, perm->cuid);
    out_str(out, "cgid"); out_int(out, perm->cgid);
    out_str(out, "mode"); out_int(out, perm->mode);
}

static void sysv_msq_fields(struct out *out, const struct msqid_ds *ds)
{
    out_mark(out);
    out_str(out, "qnum");   sysv_out_uint(out, ds->msg_qnum);
    out_str(out, "cbytes"); sysv_out_uint(out, ds->__msg_cbytes);
    out_str(out, "qbytes"); sysv_out_uint(out, ds->msg_qbytes);
    out_str(out, "lspid");  out_int(out, ds->msg_lspid);
    out_str(out, "lrpid");  out_int(out, ds->msg_lrpid);
    out_str(out, "stime");  out_bool(out, ds->msg_stime != 0);
    out_str(out, "rtime");  out_bool(out, ds->msg_rtime != 0);
    out_str(out, "ctime");  out_bool(out, ds->msg_ctime != 0);
    sysv_perm_fields(out, &ds->msg_perm);
    out_dict(out);
}

/* the semctl_stat fields, without the closing out_dict (SEM_STAT adds "id") */
static void sysv_sem_fields(struct out *out, const struct semid_ds *ds)
{
    out_str(out, "nsems"); sysv_out_uint(out, ds->sem_nsems);
    out_str(out, "otime"); out_bool(out, ds->sem_otime != 0);
    out_str(out, "ctime"); out_bool(out, ds->sem_ctime != 0);
    sysv_perm_fields(out, &ds->sem_perm);
}

static void sysv_shm_fields(struct out *out, const struct shmid_ds *ds)
{
    out_mark(out);
    out_str(out, "segsz");  sysv_out_uint(out, ds->shm_segsz);
    out_str(out, "nattch"); sysv_out_uint(out, ds->shm_nattch);
    out_str(out, "cpid");   out_int(out, ds->shm_cpid);
    out_str(out, "lpid");   out_int(out, ds->shm_lpid);
    out_str(out, "atime");  out_bool(out, ds->shm_atime != 0);
    out_str(out, "dtime");  out_bool(out, ds->shm_dtime != 0);
    out_str(out, "ctime");  out_bool(out, ds->shm_ctime != 0);
    sysv_perm_fields(out, &ds->shm_perm);
    out_str(out, "key");    out_int(out, ds->shm_perm.__key);
    out_dict(out);
}

/* ---- IPC_SET changes (a dict) ---- */
static int sysv_key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* _known_changes: ValueError naming the keys that are not allowed */
static enum op_status sysv_known_changes(const struct val *changes, const char *const *allowed,
                                         size_t nallowed)
{
    const char *unknown[64];
    size_t nunknown = 0;
    for (size_t i = 0; i < changes->n; i++) {
        const struct val *key = changes->items[2 * i];
        if (key->kind != V_STR)
            return op_error("TypeError: '<' not supported between instances of '%s' and 'str'",
                            val_type_name(key));
        int known = 0;
        for (size_t j = 0; j < nallowed; j++)
            if (strcmp(key->s, allowed[j]) == 0)
                known = 1;
        if (!known && nunknown < sizeof unknown / sizeof unknown[0])
            unknown[nunknown++] = key->s;
    }
    if (nunknown == 0)
        return OP_OK;
    qsort(unknown, nunknown, sizeof unknown[0], sysv_key_cmp);
    char allowed_text[128] = "", unknown_text[256] = "";
    size_t used = 0;
    for (size_t j = 0; j < nallowed; j++)
        used += (size_t)snprintf(allowed_text + used, used < sizeof allowed_text ? sizeof allowed_text - used : 0,
                                 "%s%s", j ? ", " : "", allowed[j]);
    used = 0;
    for (size_t j = 0; j < nunknown && used < sizeof unknown_text; j++)
        used += (size_t)snprintf(unknown_text + used, sizeof unknown_text - used, "%s%s",
                                 j ? ", " : "", unknown[j]);
    return op_error("ValueError: IPC_SET can change only %s, not %s", allowed_text, unknown_text);
}

/* the value of changes[name], or NULL */
static const struct val *sysv_change(const struct val *changes, const char *name)
{
    for (size_t i = 0; i < changes->n; i++) {
        const struct val *key = changes->items[2 * i];
        if (key->kind == V_STR && strcmp(key->s, name) == 0)
            return changes->items[2 * i + 1];
    }
    return NULL;
}

/* _apply_perm: uid, gid, mode wrapped to 32 bits */
static enum op_status sysv_apply_perm(struct ipc_perm *perm, const struct val *changes)
{
    const struct val *v;
    if ((v = sysv_change(changes, "uid")) != NULL) {
        if (!sysv_is_int(v))
            return sysv_and_type_error(v, "&");
        perm->uid = (uid_t)(unsigned long long)v->i;
    }
    if ((v = sysv_change(changes, "gid")) != NULL) {
        if (!sysv_is_int(v))
            return sysv_and_type_error(v, "&");
        perm->gid = (gid_t)(unsigned long long)v->i;
    }
    if ((v = sysv_change(changes, "mode")) != NULL) {
        if (!sysv_is_int(v))
            return sysv_and_type_error(v, "&");
        perm->mode = (mode_t)(unsigned long long)v->i;
    }
    return OP_OK;
}

/* _stat_any: fill buf through a *_STAT_ANY command; 1 if it described ident */
static const long long sysv_index_masks[] = {(1LL << 15) - 1, (1LL << 24) - 1};

static int sysv_msg_stat_any(long long ident, struct msqid_ds *ds)
{
    if (ident < 0)
        return 0;
    for (size_t i = 0; i < 2; i++)
        if (msgctl((int)(ident & sysv_index_masks[i]), MSG_STAT_ANY, ds) == ident)
            return 1;
    return 0;
}

static int sysv_semctl_buf(int semid, int semnum, int cmd, void *buf)
{
    union sysv_semun arg;
    arg.p = buf;
    return semctl(semid, semnum, cmd, arg);
}

static int sysv_sem_stat_any(long long ident, struct semid_ds *ds)
{
    if (ident < 0)
        return 0;
    for (size_t i = 0; i < 2; i++)
        if (sysv_semctl_buf((int)(ident & sysv_index_masks[i]), 0, SEM_STAT_ANY, ds) == ident)
            return 1;
    return 0;
}

static int sysv_shm_stat_any(long long ident, struct shmid_ds *ds)
{
    if (ident < 0)
        return 0;
    for (size_t i = 0; i < 2; i++)
        if (shmctl((int)(ident & sysv_index_masks[i]), SHM_STAT_ANY, ds) == ident)
            return 1;
    return 0;
}

/* _info_command: ValueError for a command that is not one of the two INFO ones */
static enum op_status sysv_info_command(long long cmd, int first, int second)
{
    if (cmd == first || cmd == second)
        return OP_OK;
    return op_error("ValueError: an INFO command is one of (%d, %d), not %lld", first, second, cmd);
}

/* ---- message queues ---- */
static enum op_status op_msgget(const struct val *args, struct out *out)
{
    long long key, flags;
    if (args_between(args, 2, 2) || arg_int(args, 0, &key) || arg_int(args, 1, &flags))
        return OP_ERROR;
    return int_result(msgget((key_t)(int)key, (int)flags), out);
}

static enum op_status op_msgsnd(const struct val *args, struct out *out)
{
    long long qid, mtype, flags;
    const char *text;
    size_t n;
    char *owned;
    if (args_between(args, 4, 4) || arg_int(args, 0, &qid) || arg_int(args, 1, &mtype) ||
        arg_int(args, 3, &flags))
        return OP_ERROR;
    if (sysv_data_arg(args, 2, &text, &n, &owned))
        return OP_ERROR;
    if (sysv_require_layout() < 0) { /* mtype is a 64-bit long */
        free(owned);
        return OP_UNSUPPORTED;
    }
    char *buf = calloc(1, 8 + n);
    if (!buf) {
        free(owned);
        return op_error("MemoryError: msgsnd buffer of %zu bytes", 8 + n);
    }
    long lt = (long)mtype;
    memcpy(buf, &lt, 8);
    memcpy(buf + 8, text, n);
    free(owned);
    int r = msgsnd((int)qid, buf, n, (int)flags);
    int saved = errno;
    free(buf);
    errno = saved;
    return int_result(r, out);
}

static enum op_status op_msgrcv(const struct val *args, struct out *out)
{
    long long qid, maxsize, msgtyp, flags;
    if (args_between(args, 4, 4) || arg_int(args, 0, &qid) || arg_int(args, 1, &maxsize) ||
        arg_int(args, 2, &msgtyp) || arg_int(args, 3, &flags))
        return OP_ERROR;
    REQUIRE_LAYOUT(); /* mtype is a 64-bit long */
    long long room;
    if (maxsize < 0)
        room = 0; /* refused before anything is copied */
    else if (maxsize <= SYSV_ROOMY)
        room = maxsize;
    else {
        long long msgmax = sysv_msgmax();
        room = msgmax > SYSV_ROOMY ? msgmax : SYSV_ROOMY; /* no message is longer than msgmax */
    }
    char *buf = calloc(1, (size_t)(8 + room));
    if (!buf)
        return op_error("MemoryError: msgrcv buffer of %lld bytes", 8 + room);
    ssize_t r = msgrcv((int)qid, buf, (size_t)maxsize, (long)msgtyp, (int)flags);
    if (r == -1) {
        int saved = errno;
        free(buf);
        errno = saved;
        return OP_ERRNO;
    }
    long mtype;
    memcpy(&mtype, buf, 8);
    /* buf.raw[8:8 + n]: a slice stops at the buffer's end */
    size_t got = (size_t)r <= (size_t)room ? (size_t)r : (size_t)room;
    out_mark(out);
    out_int(out, mtype);
    out_bytes(out, buf + 8, got);
    out_tuple(out);
    free(buf);
    return OP_OK;
}

static enum op_status op_msgctl_stat(const struct val *args, struct out *out)
{
    long long qid;
    if (args_between(args, 1, 1) || arg_int(args, 0, &qid))
        return OP_ERROR;
    REQUIRE_LAYOUT();
    struct msqid_ds ds;
    memset(&ds, 0, sizeof ds);
    if (msgctl((int)qid, IPC_STAT, &ds) == -1)
        return OP_ERRNO;
    sysv_msq_fields(out, &ds);
    return OP_OK;
}

static enum op_status op_msgctl_set(const struct val *args, struct out *out)
{
    long long qid;
    const struct val *changes;
    if (args_between(args, 2, 2) || arg_int(args, 0, &qid) || arg_dict(args, 1, &changes))
        return OP_ERROR;
    static const char *const allowed[] = {"uid", "gid", "mode", "qbytes"};
    enum op_status st = sysv_known_changes(changes, allowed, 4);
    if (st != OP_OK)
        return st;
    REQUIRE_LAYOUT();
    /* _msq_current: MSG_STAT_ANY (no read permission needed), else IPC_STAT */
    struct msqid_ds ds;
    memset(&ds, 0, sizeof ds);
    if (!sysv_msg_stat_any(qid, &ds) && msgctl((int)qid, IPC_STAT, &ds) == -1)
        return OP_ERRNO;
    st = sysv_apply_perm(&ds.msg_perm, changes);
    if (st != OP_OK)
        return st;
    const struct val *q = sysv_change(changes, "qbytes");
    if (q) {
        if (!sysv_is_int(q))
            return sysv_and_type_error(q, "&");
        ds.msg_qbytes = (msglen_t)(unsigned long long)q->i;
    }
    return int_result(msgctl((int)qid, IPC_SET, &ds), out);
}

static enum op_status op_msgctl_rmid(const struct val *args, struct out *out)
{
    long long qid;
    if (args_between(args, 1, 1) || arg_int(args, 0, &qid))
        return OP_ERROR;
    return int_result(msgctl((int)qid, IPC_RMID, NULL), out);
}

static enum op_status op_msgctl_info(const struct val *args, struct out *out)
{
    if (args_between(args, 0, 1))
        return OP_ERROR;
    long long cmd = IPC_INFO;
    if (args->n > 0 && arg_int(args, 0, &cmd))
        return OP_ERROR;
    REQUIRE_LAYOUT();
    enum op_status st = sysv_info_command(cmd, IPC_INFO, MSG_INFO);
    if (st != OP_OK)
        return st;
    struct msginfo info;
    memset(&info, 0, sizeof info);
    int index = msgctl(0, (int)cmd, (struct msqid_ds *)(void *)&info);
    if (index == -1)
        return OP_ERRNO;
    out_mark(out);
    out_str(out, "index");   out_int(out, index);
    out_str(out, "msgpool"); out_int(out, info.msgpool);
    out_str(out, "msgmap");  out_int(out, info.msgmap);
    out_str(out, "msgmax");  out_int(out, info.msgmax);
    out_str(out, "msgmnb");  out_int(out, info.msgmnb);
    out_str(out, "msgmni");  out_int(out, info.msgmni);
    out_str(out, "msgssz");  out_int(out, info.msgssz);
    out_str(out, "msgtql");  out_int(out, info.msgtql);
    out_str(out, "msgseg");  out_int(out, info.msgseg);
    out_dict(out);
    return OP_OK;
}

/* ---- semaphore sets ---- */
static enum op_status op_semget(const struct val *args, struct out *out)
{
    long long key, nsems, flags;
    if (args_between(args, 3, 3) || arg_int(args, 0, &key) || arg_int(args, 1, &nsems) ||
        arg_int(args, 2, &flags))
        return OP_ERROR;
    return int_result(semget((key_t)(int)key, (int)nsems, (int)flags), out);
}

/* _sembufs: an array of max(len(sops), 1) entries, each member wrapped to 16 bits */
static enum op_status sysv_sembufs(const struct val *sops, struct sembuf **array)
{
    size_t n = sops->n ? sops->n : 1;
    struct sembuf *a = calloc(n, sizeof *a);
    if (!a)
        return op_error("MemoryError: %zu sembufs", n);
    for (size_t i = 0; i < sops->n; i++) {
        const struct val *sop = sops->items[i];
        if (sop->kind != V_TUPLE) {
            free(a);
            return op_error("TypeError: cannot unpack non-iterable %s object", val_type_name(sop));
        }
        if (sop->n != 3) {
            free(a);
            if (sop->n < 3)
                return op_error("ValueError: not enough values to unpack (expected 3, got %zu)", sop->n);
            return op_error("ValueError: too many values to unpack (expected 3)");
        }
        for (size_t j = 0; j < 3; j++)
            if (!sysv_is_int(sop->items[j])) {
                free(a);
                return sysv_and_type_error(sop->items[j], "&");
            }
        a[i].sem_num = (unsigned short)(sop->items[0]->i & 0xFFFF);
        a[i].sem_op = (short)(sop->items[1]->i & 0xFFFF);
        a[i].sem_flg = (short)(sop->items[2]->i & 0xFFFF);
    }
    *array = a;
    return OP_OK;
}

/* the sops argument: a tuple of (sem_num, sem_op, sem_flg); an empty str,
 * bytes or dict is, to Python's zip and len, an empty sequence as well */
static int sysv_sops_arg(const struct val *args, size_t i, const struct val **sops)
{
    static const struct val empty = {.kind = V_TUPLE};
    if (i < args->n) {
        const struct val *v = args->items[i];
        if ((v->kind == V_STR || v->kind == V_BYTES) && v->len == 0) {
            *sops = &empty;
            return 0;
        }
        if (v->kind == V_DICT && v->n == 0) {
            *sops = &empty;
            return 0;
        }
    }
    return arg_tuple(args, i, sops);
}

static enum op_status op_semop(const struct val *args, struct out *out)
{
    long long semid;
    const struct val *sops;
    if (args_between(args, 2, 2) || arg_int(args, 0, &semid) || sysv_sops_arg(args, 1, &sops))
        return OP_ERROR;
    struct sembuf *array;
    enum op_status st = sysv_sembufs(sops, &array);
    if (st != OP_OK)
        return st;
    int r = semop((int)semid, array, sops->n);
    int saved = errno;
    free(array);
    errno = saved;
    return int_result(r, out);
}

static enum op_status op_semtimedop(const struct val *args, struct out *out)
{
    long long semid, timeout_ns;
    const struct val *sops;
    if (args_between(args, 3, 3) || arg_int(args, 0, &semid) || sysv_sops_arg(args, 1, &sops) ||
        arg_int(args, 2, &timeout_ns))
        return OP_ERROR;
    /* Python's // and %: floor division, a remainder in [0, 1e9) */
    struct timespec ts;
    long long sec = timeout_ns / 1000000000LL, nsec = timeout_ns % 1000000000LL;
    if (nsec < 0) {
        nsec += 1000000000LL;
        sec -= 1;
    }
    ts.tv_sec = (time_t)sec;
    ts.tv_nsec = (long)nsec;
    struct sembuf *array;
    enum op_status st = sysv_sembufs(sops, &array);
    if (st != OP_OK)
        return st;
    int r = semtimedop((int)semid, array, sops->n, &ts);
    int saved = errno;
    free(array);
    errno = saved;
    return int_result(r, out);
}

/* _sem_current: the set's semid_ds without read permission (SEM_STAT_ANY, else IPC_STAT) */
static int sysv_sem_current(long long semid, struct semid_ds *ds)
{
    memset(ds, 0, sizeof *ds);
    if (sysv_sem_stat_any(semid, ds))
        return 0;
    return sysv_semctl_buf((int)semid, 0, IPC_STAT, ds) == -1 ? -1 : 0;
}

/* semctl(semid, semnum, cmd, arg) as SysVKernelOps.semctl does it */
static enum op_status sysv_semctl(long long semid, long long semnum, long long cmd,
                                  const struct val *arg, struct out *out)
{
    if (cmd == GETALL || cmd == SETALL) {
        /* The kernel reads or writes one unsigned short per semaphore:
         * the array must be as long as the set, whatever the caller passed. */
        size_t nvalues = arg->kind == V_TUPLE ? arg->n : 0;
        REQUIRE_LAYOUT();
        struct semid_ds ds;
        size_t nsems = sysv_sem_current(semid, &ds) == 0 ? (size_t)ds.sem_nsems : 0;
        size_t len = nsems > nvalues ? nsems : nvalues;
        if (len < 1)
            len = 1;
        unsigned short *array = calloc(len, sizeof *array);
        if (!array)
            return op_error("MemoryError: %zu semaphore values", len);
        for (size_t i = 0; i < nvalues; i++) {
            const struct val *v = arg->items[i];
            if (!sysv_is_int(v)) {
                free(array);
                return sysv_and_type_error(v, "&");
            }
            array[i] = (unsigned short)(v->i & 0xFFFF);
        }
        if (sysv_semctl_buf((int)semid, (int)semnum, (int)cmd, array) == -1) {
            int saved = errno;
            free(array);
            errno = saved;
            return OP_ERRNO;
        }
        if (cmd == SETALL)
            out_int(out, 0);
        else {
            out_mark(out);
            for (size_t i = 0; i < nsems; i++)
                out_int(out, array[i]);
            out_tuple(out);
        }
        free(array);
        return OP_OK;
    }
    if (cmd == IPC_STAT || cmd == SEM_STAT || cmd == SEM_STAT_ANY) {
        REQUIRE_LAYOUT();
        struct semid_ds ds;
        memset(&ds, 0, sizeof ds);
        int result = sysv_semctl_buf((int)semid, (int)semnum, (int)cmd, &ds);
        if (result == -1)
            return OP_ERRNO;
        out_mark(out);
        sysv_sem_fields(out, &ds);
        if (cmd != IPC_STAT) {
            out_str(out, "id");
            out_int(out, result);
        }
        out_dict(out);
        return OP_OK;
    }
    if (cmd == IPC_INFO || cmd == SEM_INFO) {
        REQUIRE_LAYOUT();
        struct seminfo info;
        memset(&info, 0, sizeof info);
        int index = sysv_semctl_buf((int)semid, (int)semnum, (int)cmd, &info);
        if (index == -1)
            return OP_ERRNO;
        out_mark(out);
        out_str(out, "index");  out_int(out, index);
        out_str(out, "semmap"); out_int(out, info.semmap);
        out_str(out, "semmni"); out_int(out, info.semmni);
        out_str(out, "semmns"); out_int(out, info.semmns);
        out_str(out, "semmnu"); out_int(out, info.semmnu);
        out_str(out, "semmsl"); out_int(out, info.semmsl);
        out_str(out, "semopm"); out_int(out, info.semopm);
        out_str(out, "semume"); out_int(out, info.semume);
        out_str(out, "semusz"); out_int(out, info.semusz);
        out_str(out, "semvmx"); out_int(out, info.semvmx);
        out_str(out, "semaem"); out_int(out, info.semaem);
        out_dict(out);
        return OP_OK;
    }
    if (cmd == IPC_SET)
        return op_error("ValueError: semctl(IPC_SET) takes a semid_ds: use the semctl_set operation");
    if (arg->kind == V_TUPLE) {
        /* repr() of the tuple, for the ints it normally holds */
        char text[256];
        size_t used = (size_t)snprintf(text, sizeof text, "(");
        for (size_t i = 0; i < arg->n && used < sizeof text; i++) {
            const struct val *v = arg->items[i];
            if (v->kind == V_INT)
                used += (size_t)snprintf(text + used, sizeof text - used, "%s%lld", i ? ", " : "", v->i);
            else if (v->kind == V_BOOL)
                used += (size_t)snprintf(text + used, sizeof text - used, "%s%s", i ? ", " : "",
                                         v->i ? "True" : "False");
            else
                used += (size_t)snprintf(text + used, sizeof text - used, "%s<%s>", i ? ", " : "",
                                         val_type_name(v));
        }
        if (used < sizeof text)
            snprintf(text + used, sizeof text - used, arg->n == 1 ? ",)" : ")");
        return op_error("ValueError: semctl command %lld takes an int argument, not %s", cmd, text);
    }
    if (!sysv_is_int(arg))
        return sysv_and_type_error(arg, "&=");
    union sysv_semun semun;
    semun.l = (long)(int)arg->i; /* union semun { int val; ... } by value, as a c_long */
    int result = semctl((int)semid, (int)semnum, (int)cmd, semun);
    if (result == -1)
        return OP_ERRNO;
    out_int(out, (cmd == SETVAL || cmd == IPC_RMID) ? 0 : result);
    return OP_OK;
}

static enum op_status op_semctl(const struct val *args, struct out *out)
{
    long long semid, semnum, cmd;
    if (args_between(args, 3, 4) || arg_int(args, 0, &semid) || arg_int(args, 1, &semnum) ||
        arg_int(args, 2, &cmd))
        return OP_ERROR;
    static const struct val zero = {.kind = V_INT};
    const struct val *arg = args->n > 3 ? args->items[3] : &zero;
    return sysv_semctl(semid, semnum, cmd, arg, out);
}

static enum op_status op_semctl_stat(const struct val *args, struct out *out)
{
    long long semid;
    if (args_between(args, 1, 1) || arg_int(args, 0, &semid))
        return OP_ERROR;
    REQUIRE_LAYOUT();
    struct semid_ds ds;
    memset(&ds, 0, sizeof ds);
    if (sysv_semctl_buf((int)semid, 0, IPC_STAT, &ds) == -1)
        return OP_ERRNO;
    out_mark(out);
    sysv_sem_fields(out, &ds);
    out_dict(out);
    return OP_OK;
}

static enum op_status op_semctl_set(const struct val *args, struct out *out)
{
    long long semid;
    const struct val *changes;
    if (args_between(args, 2, 2) || arg_int(args, 0, &semid) || arg_dict(args, 1, &changes))
        return OP_ERROR;
    static const char *const allowed[] = {"uid", "gid", "mode"};
    enum op_status st = sysv_known_changes(changes, allowed, 3);
    if (st != OP_OK)
        return st;
    REQUIRE_LAYOUT();
    struct semid_ds ds;
    if (sysv_sem_current(semid, &ds) == -1)
        return OP_ERRNO;
    st = sysv_apply_perm(&ds.sem_perm, changes);
    if (st != OP_OK)
        return st;
    return int_result(sysv_semctl_buf((int)semid, 0, IPC_SET, &ds), out);
}

static enum op_status op_semctl_info(const struct val *args, struct out *out)
{
    if (args_between(args, 0, 1))
        return OP_ERROR;
    long long cmd = IPC_INFO;
    if (args->n > 0 && arg_int(args, 0, &cmd))
        return OP_ERROR;
    enum op_status st = sysv_info_command(cmd, IPC_INFO, SEM_INFO);
    if (st != OP_OK)
        return st;
    static const struct val zero = {.kind = V_INT};
    return sysv_semctl(0, 0, cmd, &zero, out);
}

/* ---- shared memory ---- */

/* One shmat of this actor: what a C program keeps as a pointer. The table
 * is indexed by handle; fork copies it, exec (core.c) starts afresh. */
struct sysv_slot {
    int live;          /* an attachment: address, size, readonly */
    int has_former;    /* the address this handle had when last detached */
    char *address;
    unsigned long long size;
    int readonly;
    char *former;
};
static struct sysv_slot *sysv_slots;
static size_t sysv_nslots;
static int sysv_has_last_detached;
static char *sysv_last_detached;

static struct sysv_slot *sysv_slot(long long handle)
{
    if (handle < 0 || (unsigned long long)handle >= sysv_nslots)
        return NULL;
    return &sysv_slots[handle];
}

/* the live attachment a handle argument names, or NULL (a non-int names none) */
static struct sysv_slot *sysv_live(const struct val *handle)
{
    if (!sysv_is_int(handle))
        return NULL;
    struct sysv_slot *s = sysv_slot(handle->i);
    return s && s->live ? s : NULL;
}

static enum op_status op_shmget(const struct val *args, struct out *out)
{
    long long key, size, flags;
    if (args_between(args, 3, 3) || arg_int(args, 0, &key) || arg_int(args, 1, &size) ||
        arg_int(args, 2, &flags))
        return OP_ERROR;
    return int_result(shmget((key_t)(int)key, (size_t)size, (int)flags), out);
}

/* _shm_current: the segment's shmid_ds without read permission (SHM_STAT_ANY, else IPC_STAT) */
static int sysv_shm_current(long long shmid, struct shmid_ds *ds)
{
    memset(ds, 0, sizeof *ds);
    if (sysv_shm_stat_any(shmid, ds))
        return 0;
    return shmctl((int)shmid, IPC_STAT, ds) == -1 ? -1 : 0;
}

static enum op_status sysv_shm_attach(long long shmid, const void *address, long long flags,
                                      struct out *out)
{
    void *addr = shmat((int)shmid, address, (int)flags);
    if (addr == (void *)-1 || addr == NULL)
        return OP_ERRNO;
    unsigned long long size = 0;
    REQUIRE_LAYOUT();
    struct shmid_ds ds;
    if (sysv_shm_current(shmid, &ds) == 0)
        size = ds.shm_segsz;
    /* Unreachable in practice otherwise (shmat just succeeded); without a
     * size every access is refused rather than guessed. */
    size_t handle = 0;
    while (handle < sysv_nslots && sysv_slots[handle].live)
        handle++;
    if (handle == sysv_nslots) {
        struct sysv_slot *grown = realloc(sysv_slots, (sysv_nslots + 1) * sizeof *grown);
        if (!grown)
            return op_error("MemoryError: attachment table");
        sysv_slots = grown;
        memset(&sysv_slots[sysv_nslots], 0, sizeof *grown);
        sysv_nslots++;
    }
    struct sysv_slot *s = &sysv_slots[handle];
    s->live = 1;
    s->address = addr;
    s->size = size;
    s->readonly = (flags & SHM_RDONLY) != 0;
    s->has_former = 0; /* state.former.pop(handle, None) */
    s->former = NULL;
    out_int(out, (long long)handle);
    return OP_OK;
}

static enum op_status op_shmat(const struct val *args, struct out *out)
{
    long long shmid, flags;
    if (args_between(args, 2, 2) || arg_int(args, 0, &shmid) || arg_int(args, 1, &flags))
        return OP_ERROR;
    return sysv_shm_attach(shmid, NULL, flags, out);
}

static enum op_status op_shmat_at(const struct val *args, struct out *out)
{
    long long shmid, flags;
    if (args_between(args, 3, 3) || arg_int(args, 0, &shmid) || arg_int(args, 2, &flags))
        return OP_ERROR;
    const struct val *hint = args->items[1];
    if (hint->kind == V_STR && strcmp(hint->s, "null") == 0)
        return sysv_shm_attach(shmid, NULL, flags, out);
    if (hint->kind == V_STR && strcmp(hint->s, "previous") == 0) {
        if (!sysv_has_last_detached)
            return op_error("ValueError: shmat_at 'previous': this actor has detached nothing yet");
        return sysv_shm_attach(shmid, sysv_last_detached, flags, out);
    }
    if (hint->kind == V_STR)
        return op_error("ValueError: unknown address hint '%s'; 'null' or 'previous'", hint->s);
    return op_error("ValueError: unknown address hint of type %s; 'null' or 'previous'",
                    val_type_name(hint));
}

/* _shm_access: the attachment, after the backend's own bounds check (EFAULT) */
static enum op_status sysv_shm_access(const struct val *args, unsigned long long count,
                                      const struct val *count_val, struct sysv_slot **att,
                                      long long *offset)
{
    struct sysv_slot *s = sysv_live(args->items[0]);
    if (!s) {
        errno = EFAULT;
        return OP_ERRNO;
    }
    if (arg_int(args, 1, offset))
        return OP_ERROR;
    /* a count that is no int fails in Python's check or in its message */
    if (count_val && !sysv_is_int(count_val))
        return op_error("TypeError: '<' not supported between instances of '%s' and 'int'",
                        val_type_name(count_val));
    if (*offset < 0) {
        errno = EFAULT;
        return OP_ERRNO;
    }
    if (count_val) { /* shm_read: count is an argument */
        if (count_val->i < 0) {
            errno = EFAULT;
            return OP_ERRNO;
        }
        count = (unsigned long long)count_val->i;
    }
    if ((unsigned long long)*offset + count > s->size) {
        errno = EFAULT;
        return OP_ERRNO;
    }
    *att = s;
    return OP_OK;
}

static enum op_status op_shm_write(const struct val *args, struct out *out)
{
    const char *data;
    size_t n;
    char *owned;
    if (args_between(args, 3, 3) || sysv_data_arg(args, 2, &data, &n, &owned))
        return OP_ERROR;
    struct sysv_slot *att;
    long long offset;
    enum op_status st = sysv_shm_access(args, n, NULL, &att, &offset);
    if (st != OP_OK) {
        free(owned);
        return st;
    }
    /* a plain store, as through a C pointer: through a SHM_RDONLY
     * attachment it faults and the actor dies of SIGSEGV */
    memmove(att->address + offset, data, n);
    free(owned);
    out_int(out, (long long)n);
    return OP_OK;
}

static enum op_status op_shm_read(const struct val *args, struct out *out)
{
    if (args_between(args, 3, 3))
        return OP_ERROR;
    struct sysv_slot *att;
    long long offset;
    enum op_status st = sysv_shm_access(args, 0, args->items[2], &att, &offset);
    if (st != OP_OK)
        return st;
    out_bytes(out, att->address + offset, (size_t)args->items[2]->i);
    return OP_OK;
}

static enum op_status op_shmdt(const struct val *args, struct out *out)
{
    if (args_between(args, 1, 1))
        return OP_ERROR;
    const struct val *h = args->items[0];
    struct sysv_slot *s = sysv_is_int(h) ? sysv_slot(h->i) : NULL;
    if (!s || !s->live) {
        /* a handle detached before is detached again through the kernel
         * (its old address), unless a live attachment now sits there */
        if (!s || !s->has_former) {
            errno = EINVAL;
            return OP_ERRNO;
        }
        for (size_t i = 0; i < sysv_nslots; i++)
            if (sysv_slots[i].live && sysv_slots[i].address == s->former) {
                errno = EINVAL;
                return OP_ERRNO;
            }
        return int_result(shmdt(s->former), out);
    }
    if (shmdt(s->address) == -1)
        return OP_ERRNO;
    s->live = 0;
    s->has_former = 1;
    s->former = s->address;
    sysv_has_last_detached = 1;
    sysv_last_detached = s->address;
    out_int(out, 0);
    return OP_OK;
}

static enum op_status op_shmctl_stat(const struct val *args, struct out *out)
{
    long long shmid;
    if (args_between(args, 1, 1) || arg_int(args, 0, &shmid))
        return OP_ERROR;
    REQUIRE_LAYOUT();
    struct shmid_ds ds;
    memset(&ds, 0, sizeof ds);
    if (shmctl((int)shmid, IPC_STAT, &ds) == -1)
        return OP_ERRNO;
    sysv_shm_fields(out, &ds);
    return OP_OK;
}

static enum op_status op_shmctl_set(const struct val *args, struct out *out)
{
    long long shmid;
    const struct val *changes;
    if (args_between(args, 2, 2) || arg_int(args, 0, &shmid) || arg_dict(args, 1, &changes))
        return OP_ERROR;
    static const char *const allowed[] = {"uid", "gid", "mode"};
    enum op_status st = sysv_known_changes(changes, allowed, 3);
    if (st != OP_OK)
        return st;
    REQUIRE_LAYOUT();
    struct shmid_ds ds;
    if (sysv_shm_current(shmid, &ds) == -1)
        return OP_ERRNO;
    st = sysv_apply_perm(&ds.shm_perm, changes);
    if (st != OP_OK)
        return st;
    return int_result(shmctl((int)shmid, IPC_SET, &ds), out);
}

static enum op_status op_shmctl_rmid(const struct val *args, struct out *out)
{
    long long shmid;
    if (args_between(args, 1, 1) || arg_int(args, 0, &shmid))
        return OP_ERROR;
    return int_result(shmctl((int)shmid, IPC_RMID, NULL), out);
}

static enum op_status op_shmctl_info(const struct val *args, struct out *out)
{
    if (args_between(args, 0, 1))
        return OP_ERROR;
    long long cmd = IPC_INFO;
    if (args->n > 0 && arg_int(args, 0, &cmd))
        return OP_ERROR;
    REQUIRE_LAYOUT();
    enum op_status st = sysv_info_command(cmd, IPC_INFO, SHM_INFO);
    if (st != OP_OK)
        return st;
    if (cmd == SHM_INFO) {
        struct shm_info info;
        memset(&info, 0, sizeof info);
        int index = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info);
        if (index == -1)
            return OP_ERRNO;
        out_mark(out);
        out_str(out, "index");          out_int(out, index);
        out_str(out, "used_ids");       out_int(out, info.used_ids);
        out_str(out, "shm_tot");        sysv_out_uint(out, info.shm_tot);
        out_str(out, "shm_rss");        sysv_out_uint(out, info.shm_rss);
        out_str(out, "shm_swp");        sysv_out_uint(out, info.shm_swp);
        out_str(out, "swap_attempts");  sysv_out_uint(out, info.swap_attempts);
        out_str(out, "swap_successes"); sysv_out_uint(out, info.swap_successes);
        out_dict(out);
        return OP_OK;
    }
    struct shminfo info;
    memset(&info, 0, sizeof info);
    int index = shmctl(0, IPC_INFO, (struct shmid_ds *)(void *)&info);
    if (index == -1)
        return OP_ERRNO;
    out_mark(out);
    out_str(out, "index");  out_int(out, index);
    out_str(out, "shmmax"); sysv_out_uint(out, info.shmmax);
    out_str(out, "shmmin"); sysv_out_uint(out, info.shmmin);
    out_str(out, "shmmni"); sysv_out_uint(out, info.shmmni);
    out_str(out, "shmseg"); sysv_out_uint(out, info.shmseg);
    out_str(out, "shmall"); sysv_out_uint(out, info.shmall);
    out_dict(out);
    return OP_OK;
}

/* ---- identity ---- */

/* os.setgid/os.setuid's conversion of a Python int: -1 and 0..2**32-1 pass
 * (as a 32-bit id), anything else is an OverflowError */
static int sysv_id_in_range(long long v)
{
    return v == -1 || (v >= 0 && v <= 0xFFFFFFFFLL);
}

/* become: setgroups([]), setgid, setuid; the parent-death signal, which a
 * change of credentials clears, is set again (only when all succeeded) */
static enum op_status op_become(const struct val *args, struct out *out)
{
    long long uid, gid;
    if (args_between(args, 2, 2) || arg_int(args, 0, &uid) || arg_int(args, 1, &gid))
        return OP_ERROR;
    int deathsig = 0;
    prctl(PR_GET_PDEATHSIG, (unsigned long)&deathsig, 0UL, 0UL, 0UL);
    gid_t none[1] = {0}; /* os.setgroups([]) passes an empty, non-NULL list */
    if (setgroups(0, none) == -1)
        return OP_ERRNO;
    if (!sysv_id_in_range(gid))
        return op_error("OverflowError: gid is less than minimum");
    if (setgid((gid_t)gid) == -1)
        return OP_ERRNO;
    if (!sysv_id_in_range(uid))
        return op_error("OverflowError: uid is less than minimum");
    if (setuid((uid_t)uid) == -1)
        return OP_ERRNO;
    if (deathsig)
        prctl(PR_SET_PDEATHSIG, (unsigned long)deathsig, 0UL, 0UL, 0UL);
    out_int(out, 0);
    return OP_OK;
}

const struct op_entry sysv_ops[] = {
    {"msgget", op_msgget},
    {"msgsnd", op_msgsnd},
    {"msgrcv", op_msgrcv},
    {"msgctl_stat", op_msgctl_stat},
    {"msgctl_set", op_msgctl_set},
    {"msgctl_rmid", op_msgctl_rmid},
    {"msgctl_info", op_msgctl_info},
    {"semget", op_semget},
    {"semop", op_semop},
    {"semtimedop", op_semtimedop},
    {"semctl", op_semctl},
    {"semctl_stat", op_semctl_stat},
    {"semctl_set", op_semctl_set},
    {"semctl_info", op_semctl_info},
    {"shmget", op_shmget},
    {"shmat", op_shmat},
    {"shmat_at", op_shmat_at},
    {"shm_write", op_shm_write},
    {"shm_read", op_shm_read},
    {"shmdt", op_shmdt},
    {"shmctl_stat", op_shmctl_stat},
    {"shmctl_set", op_shmctl_set},
    {"shmctl_rmid", op_shmctl_rmid},
    {"shmctl_info", op_shmctl_info},
    {"become", op_become},
    {NULL, NULL},
};
