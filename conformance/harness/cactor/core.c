/* core.c: the native actor's runtime — the C twin of conformance/harness/
 * protocol.py, actor.py and zygote.py.
 *
 *   cactor zygote FD BACKEND   serve zygote requests on channel FD
 *   cactor resume FD           an actor after exec_self: reply, then serve FD
 *   cactor ops                 print the operations this build performs
 *
 * Messages are a 4-byte little-endian length and a pickle. The decoder reads
 * what the harness's pickler writes for plain data (ints, bools, None, str,
 * bytes, tuples, lists, dicts, and IntEnum members such as signal.SIGUSR1,
 * which arrive as a global called with one int); the encoder writes opcodes
 * every Python pickle reader accepts.
 */
#include "cactor.h"
#include "names.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int control_fd = -1;
char op_message[512];

#define CONTROL_FD_MIN 1000
#define POOL_SIZE 2

/* ------------------------------------------------------------------ */
/* small helpers                                                        */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        _exit(120);
    }
    return p;
}

enum op_status op_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(op_message, sizeof op_message, fmt, ap);
    va_end(ap);
    return OP_ERROR;
}

enum op_status int_result(long long result, struct out *out)
{
    if (result == -1) {
        return OP_ERRNO;
    }
    out_int(out, result);
    return OP_OK;
}

const char *errno_name(int code)
{
    static char unknown[32];
    if (code >= 0 && code < (int)(sizeof ERRNO_NAMES / sizeof ERRNO_NAMES[0]) && ERRNO_NAMES[code]) {
        return ERRNO_NAMES[code];
    }
    snprintf(unknown, sizeof unknown, "E#%d", code);
    return unknown;
}

const char *signal_name(int sig)
{
    static char unknown[32];
    if (sig >= 0 && sig < (int)(sizeof SIGNAL_NAMES / sizeof SIGNAL_NAMES[0]) && SIGNAL_NAMES[sig]) {
        return SIGNAL_NAMES[sig];
    }
    snprintf(unknown, sizeof unknown, "SIG#%d", sig);
    return unknown;
}

enum op_status fd_pair_result(int result, const int fds[2], struct out *out)
{
    if (result == -1) {
        return OP_ERRNO;
    }
    out_mark(out);
    out_int(out, fds[0]);
    out_int(out, fds[1]);
    out_tuple(out);
    return OP_OK;
}

/* ------------------------------------------------------------------ */
/* arguments                                                            */

const char *val_type_name(const struct val *v)
{
    static const char *const names[] = {"NoneType", "bool", "int", "str", "bytes", "tuple", "dict"};
    return (size_t)v->kind < sizeof names / sizeof names[0] ? names[v->kind] : "object";
}

int args_between(const struct val *args, size_t least, size_t most)
{
    if (args->n < least || args->n > most) {
        snprintf(op_message, sizeof op_message,
                 "TypeError: takes %zu to %zu arguments but %zu were given", least, most, args->n);
        return -1;
    }
    return 0;
}

static const struct val *arg_of(const struct val *args, size_t i, enum val_kind kind)
{
    if (i >= args->n) {
        snprintf(op_message, sizeof op_message, "TypeError: missing argument %zu", i + 1);
        return NULL;
    }
    const struct val *v = args->items[i];
    if (v->kind == kind || (kind == V_INT && v->kind == V_BOOL)) {
        return v;
    }
    struct val wanted = {.kind = kind};
    snprintf(op_message, sizeof op_message, "TypeError: argument %zu must be %s, not %s", i + 1,
             val_type_name(&wanted), val_type_name(v));
    return NULL;
}

int arg_int(const struct val *args, size_t i, long long *v)
{
    const struct val *a = arg_of(args, i, V_INT);
    if (!a) {
        return -1;
    }
    *v = a->i;
    return 0;
}

long long arg_int_or(const struct val *args, size_t i, long long fallback)
{
    if (i < args->n && (args->items[i]->kind == V_INT || args->items[i]->kind == V_BOOL)) {
        return args->items[i]->i;
    }
    return fallback;
}

int arg_str(const struct val *args, size_t i, const char **s)
{
    const struct val *a = arg_of(args, i, V_STR);
    if (!a) {
        return -1;
    }
    *s = a->s;
    return 0;
}

int arg_bytes(const struct val *args, size_t i, const char **p, size_t *n)
{
    const struct val *a = arg_of(args, i, V_BYTES);
    if (!a) {
        return -1;
    }
    *p = a->s;
    *n = a->len;
    return 0;
}

int arg_tuple(const struct val *args, size_t i, const struct val **t)
{
    const struct val *a = arg_of(args, i, V_TUPLE);
    if (!a) {
        return -1;
    }
    *t = a;
    return 0;
}

int arg_dict(const struct val *args, size_t i, const struct val **d)
{
    const struct val *a = arg_of(args, i, V_DICT);
    if (!a) {
        return -1;
    }
    *d = a;
    return 0;
}

/* ------------------------------------------------------------------ */
/* pickle writer                                                        */

static void out_raw(struct out *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n) {
            cap *= 2;
        }
        char *grown = realloc(o->data, cap);
        if (!grown) {
            _exit(120);
        }
        o->data = grown;
        o->cap = cap;
    }
    memcpy(o->data + o->len, p, n);
    o->len += n;
}

static void out_byte(struct out *o, unsigned char b) { out_raw(o, &b, 1); }

static void out_u32(struct out *o, uint32_t v)
{
    unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff};
    out_raw(o, b, 4);
}

void out_none(struct out *o) { out_byte(o, 'N'); }
void out_bool(struct out *o, int truth) { out_byte(o, truth ? 0x88 : 0x89); }
void out_mark(struct out *o) { out_byte(o, '('); }
void out_tuple(struct out *o) { out_byte(o, 't'); }
void out_dict(struct out *o) { out_byte(o, 'd'); }

void out_int(struct out *o, long long v)
{
    if (v >= 0 && v < 256) {
        out_byte(o, 'K');
        out_byte(o, (unsigned char)v);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        out_byte(o, 'J');
        out_u32(o, (uint32_t)(int32_t)v);
    } else { /* LONG1: little-endian two's complement, 8 bytes is always enough */
        unsigned long long u = (unsigned long long)v;
        out_byte(o, 0x8a);
        out_byte(o, 8);
        for (int k = 0; k < 8; k++) {
            out_byte(o, (unsigned char)(u >> (8 * k)));
        }
    }
}

void out_strn(struct out *o, const char *s, size_t n)
{
    out_byte(o, 'X');
    out_u32(o, (uint32_t)n);
    out_raw(o, s, n);
}

void out_str(struct out *o, const char *s) { out_strn(o, s, strlen(s)); }

void out_bytes(struct out *o, const void *p, size_t n)
{
    out_byte(o, 'B');
    out_u32(o, (uint32_t)n);
    out_raw(o, p, n);
}

/* ------------------------------------------------------------------ */
/* pickle reader                                                        */

/* Every value of one message is allocated here and freed together. */
struct arena {
    void **blocks;
    size_t n, cap;
};

static void *arena_alloc(struct arena *a, size_t size)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        a->blocks = realloc(a->blocks, a->cap * sizeof *a->blocks);
        if (!a->blocks) {
            _exit(120);
        }
    }
    void *p = xmalloc(size);
    memset(p, 0, size);
    a->blocks[a->n++] = p;
    return p;
}

static void arena_free(struct arena *a)
{
    for (size_t k = 0; k < a->n; k++) {
        free(a->blocks[k]);
    }
    a->n = 0;
}

/* a global (module attribute) on the stack, waiting to be called */
#define V_GLOBAL ((enum val_kind)100)
#define V_MARK ((enum val_kind)101)

struct reader {
    const unsigned char *p, *end;
    struct arena *arena;
    struct val **stack;
    size_t depth, cap;
    struct val **memo;
    size_t memo_n, memo_cap;
    const char *error;
};

static struct val *new_val(struct reader *r, enum val_kind kind)
{
    struct val *v = arena_alloc(r->arena, sizeof *v);
    v->kind = kind;
    return v;
}

static int push(struct reader *r, struct val *v)
{
    if (r->depth == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 32;
        r->stack = realloc(r->stack, r->cap * sizeof *r->stack);
        if (!r->stack) {
            _exit(120);
        }
    }
    r->stack[r->depth++] = v;
    return 0;
}

static struct val *pop(struct reader *r)
{
    if (!r->depth) {
        r->error = "stack underflow";
        return NULL;
    }
    return r->stack[--r->depth];
}

static int take(struct reader *r, size_t n, const unsigned char **at)
{
    if ((size_t)(r->end - r->p) < n) {
        r->error = "truncated pickle";
        return -1;
    }
    *at = r->p;
    r->p += n;
    return 0;
}

static uint64_t le(const unsigned char *b, size_t n)
{
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++) {
        v |= (uint64_t)b[k] << (8 * k);
    }
    return v;
}

static struct val *text(struct reader *r, enum val_kind kind, size_t len_bytes)
{
    const unsigned char *b, *s;
    if (take(r, len_bytes, &b)) {
        return NULL;
    }
    uint64_t n = le(b, len_bytes);
    if (take(r, n, &s)) {
        return NULL;
    }
    struct val *v = new_val(r, kind);
    v->s = arena_alloc(r->arena, n + 1);
    memcpy(v->s, s, n);
    v->s[n] = 0;
    v->len = n;
    return v;
}

/* the items above the topmost mark, removed from the stack */
static struct val *collect(struct reader *r, enum val_kind kind)
{
    size_t m = r->depth;
    while (m > 0 && r->stack[m - 1]->kind != V_MARK) {
        m--;
    }
    if (m == 0) {
        r->error = "no mark";
        return NULL;
    }
    struct val *v = new_val(r, kind);
    size_t count = r->depth - m;
    v->items = arena_alloc(r->arena, (count + 1) * sizeof *v->items);
    memcpy(v->items, r->stack + m, count * sizeof *v->items);
    v->n = count;
    r->depth = m - 1;
    return v;
}

static struct val *tuple_of(struct reader *r, size_t count)
{
    if (r->depth < count) {
        r->error = "stack underflow";
        return NULL;
    }
    struct val *v = new_val(r, V_TUPLE);
    v->items = arena_alloc(r->arena, (count + 1) * sizeof *v->items);
    memcpy(v->items, r->stack + r->depth - count, count * sizeof *v->items);
    v->n = count;
    r->depth -= count;
    return v;
}

/* append key/value pairs (a flat list of 2*pairs) to a dict */
static void dict_add(struct reader *r, struct val *d, struct val **kv, size_t pairs)
{
    struct val **items = arena_alloc(r->arena, (2 * (d->n + pairs) + 1) * sizeof *items);
    memcpy(items, d->items, 2 * d->n * sizeof *items);
    memcpy(items + 2 * d->n, kv, 2 * pairs * sizeof *items);
    d->items = items;
    d->n += pairs;
}

static void list_add(struct reader *r, struct val *list, struct val **add, size_t count)
{
    struct val **items = arena_alloc(r->arena, (list->n + count + 1) * sizeof *items);
    memcpy(items, list->items, list->n * sizeof *items);
    memcpy(items + list->n, add, count * sizeof *items);
    list->items = items;
    list->n += count;
}

static void memo_put(struct reader *r, size_t index, struct val *v)
{
    if (index >= r->memo_cap) {
        size_t cap = r->memo_cap ? r->memo_cap : 32;
        while (cap <= index) {
            cap *= 2;
        }
        r->memo = realloc(r->memo, cap * sizeof *r->memo);
        if (!r->memo) {
            _exit(120);
        }
        memset(r->memo + r->memo_cap, 0, (cap - r->memo_cap) * sizeof *r->memo);
        r->memo_cap = cap;
    }
    r->memo[index] = v;
    if (index >= r->memo_n) {
        r->memo_n = index + 1;
    }
}

static struct val *decode(const unsigned char *data, size_t len, struct arena *arena, const char **error)
{
    struct reader r = {.p = data, .end = data + len, .arena = arena};
    struct val *result = NULL;
    const unsigned char *b;
    while (!r.error) {
        if (r.p >= r.end) {
            r.error = "no STOP";
            break;
        }
        unsigned char op = *r.p++;
        struct val *v = NULL, *a, *c;
        switch (op) {
        case 0x80: /* PROTO */
            take(&r, 1, &b);
            continue;
        case 0x95: /* FRAME */
            take(&r, 8, &b);
            continue;
        case '.': /* STOP */
            result = pop(&r);
            goto done;
        case 'N':
            v = new_val(&r, V_NONE);
            break;
        case 0x88:
        case 0x89:
            v = new_val(&r, V_BOOL);
            v->i = op == 0x88;
            break;
        case 'K':
            if (take(&r, 1, &b)) {
                break;
            }
            v = new_val(&r, V_INT);
            v->i = b[0];
            break;
        case 'M':
            if (take(&r, 2, &b)) {
                break;
            }
            v = new_val(&r, V_INT);
            v->i = (long long)le(b, 2);
            break;
        case 'J':
            if (take(&r, 4, &b)) {
                break;
            }
            v = new_val(&r, V_INT);
            v->i = (int32_t)(uint32_t)le(b, 4);
            break;
        case 0x8a: { /* LONG1 */
            if (take(&r, 1, &b)) {
                break;
            }
            size_t n = b[0];
            if (n > 8) {
                r.error = "integer wider than 64 bits";
                break;
            }
            if (take(&r, n, &b)) {
                break;
            }
            uint64_t u = le(b, n);
            if (n && n < 8 && (b[n - 1] & 0x80)) {
                u |= ~0ULL << (8 * n); /* sign-extend */
            }
            v = new_val(&r, V_INT);
            v->i = (long long)u;
            break;
        }
        case 0x8c:
            v = text(&r, V_STR, 1);
            break;
        case 'X':
            v = text(&r, V_STR, 4);
            break;
        case 0x8d:
            v = text(&r, V_STR, 8);
            break;
        case 'C':
            v = text(&r, V_BYTES, 1);
            break;
        case 'B':
            v = text(&r, V_BYTES, 4);
            break;
        case 0x8e:
            v = text(&r, V_BYTES, 8);
            break;
        case ')':
            v = tuple_of(&r, 0);
            break;
        case 0x85:
        case 0x86:
        case 0x87:
            v = tuple_of(&r, (size_t)(op - 0x84));
            break;
        case '(':
            v = new_val(&r, V_MARK);
            break;
        case 't':
            v = collect(&r, V_TUPLE);
            break;
        case ']': /* lists are read as tuples: operations take sequences */
            v = tuple_of(&r, 0);
            break;
        case 'l':
            v = collect(&r, V_TUPLE);
            break;
        case 'a':
            a = pop(&r);
            if (a && r.depth && r.stack[r.depth - 1]->kind == V_TUPLE) {
                list_add(&r, r.stack[r.depth - 1], &a, 1);
            } else if (!r.error) {
                r.error = "APPEND without a list";
            }
            continue;
        case 'e':
            c = collect(&r, V_TUPLE);
            if (c && r.depth && r.stack[r.depth - 1]->kind == V_TUPLE) {
                list_add(&r, r.stack[r.depth - 1], c->items, c->n);
            } else if (!r.error) {
                r.error = "APPENDS without a list";
            }
            continue;
        case '}':
            v = new_val(&r, V_DICT);
            break;
        case 'd':
            c = collect(&r, V_TUPLE);
            if (c) {
                v = new_val(&r, V_DICT);
                dict_add(&r, v, c->items, c->n / 2);
            }
            break;
        case 's':
            if (r.depth < 3 || r.stack[r.depth - 3]->kind != V_DICT) {
                r.error = "SETITEM without a dict";
                break;
            }
            dict_add(&r, r.stack[r.depth - 3], r.stack + r.depth - 2, 1);
            r.depth -= 2;
            continue;
        case 'u':
            c = collect(&r, V_TUPLE);
            if (c && r.depth && r.stack[r.depth - 1]->kind == V_DICT) {
                dict_add(&r, r.stack[r.depth - 1], c->items, c->n / 2);
            } else if (!r.error) {
                r.error = "SETITEMS without a dict";
            }
            continue;
        case 0x94: /* MEMOIZE */
            if (!r.depth) {
                r.error = "MEMOIZE on an empty stack";
                break;
            }
            memo_put(&r, r.memo_n, r.stack[r.depth - 1]);
            continue;
        case 'q':
        case 'r':
            if (take(&r, op == 'q' ? 1 : 4, &b) || !r.depth) {
                r.error = r.error ? r.error : "PUT on an empty stack";
                break;
            }
            memo_put(&r, le(b, op == 'q' ? 1 : 4), r.stack[r.depth - 1]);
            continue;
        case 'h':
        case 'j': {
            if (take(&r, op == 'h' ? 1 : 4, &b)) {
                break;
            }
            uint64_t index = le(b, op == 'h' ? 1 : 4);
            if (index >= r.memo_n || !r.memo[index]) {
                r.error = "GET of an unknown memo entry";
                break;
            }
            v = r.memo[index];
            break;
        }
        case 0x93: /* STACK_GLOBAL: module and name strings */
            a = pop(&r);
            c = pop(&r);
            if (a && c) {
                v = new_val(&r, V_GLOBAL);
            }
            break;
        case 'R': /* REDUCE: an IntEnum member is its class called with its int value */
            a = pop(&r);
            c = pop(&r);
            if (!a || !c) {
                break;
            }
            if (c->kind != V_GLOBAL || a->kind != V_TUPLE || a->n != 1 || a->items[0]->kind != V_INT) {
                r.error = "only int enumeration members can be called into being";
                break;
            }
            v = a->items[0];
            break;
        default:
            r.error = "unsupported pickle opcode";
            break;
        }
        if (v) {
            push(&r, v);
        } else if (!r.error) {
            r.error = "malformed pickle";
        }
    }
done:
    free(r.stack);
    free(r.memo);
    *error = r.error;
    return r.error ? NULL : result;
}

/* ------------------------------------------------------------------ */
/* framing                                                              */

/* recv(2) until n bytes came; 0 on success, -1 when the channel closed or failed */
static int recv_all(int fd, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = recv(fd, buf + got, n - got, 0);
        if (k < 0 && errno == EINTR) {
            continue; /* a signal handler ran while the actor was idle */
        }
        if (k <= 0) {
            return -1;
        }
        got += (size_t)k;
    }
    return 0;
}

/* One message's pickle, or NULL when the channel closed. */
static unsigned char *recv_message(int fd, size_t *len)
{
    unsigned char header[4];
    if (recv_all(fd, header, 4)) {
        return NULL;
    }
    *len = (size_t)le(header, 4);
    unsigned char *body = xmalloc(*len);
    if (recv_all(fd, body, *len)) {
        free(body);
        return NULL;
    }
    return body;
}

/* Send one framed pickle; a descriptor (or -1) rides on its first byte. */
static void send_message(int fd, struct out *pickle, int pass_fd)
{
    out_byte(pickle, '.');
    unsigned char header[4] = {pickle->len & 0xff, (pickle->len >> 8) & 0xff,
                               (pickle->len >> 16) & 0xff, (pickle->len >> 24) & 0xff};
    struct iovec iov[2] = {{header, 4}, {pickle->data, pickle->len}};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    if (pass_fd >= 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
    }
    size_t total = 4 + pickle->len, sent = 0;
    while (sent < total) {
        ssize_t k = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return; /* the harness is gone; the next receive ends this process */
        }
        sent += (size_t)k;
        /* drop what went out from the front of the iovecs; the descriptor went with byte 0 */
        msg.msg_control = NULL;
        msg.msg_controllen = 0;
        size_t skip = (size_t)k;
        while (msg.msg_iovlen && skip >= msg.msg_iov[0].iov_len) {
            skip -= msg.msg_iov[0].iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen) {
            msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + skip;
            msg.msg_iov[0].iov_len -= skip;
        }
    }
}

/* send (kind, the one value already written into body) */
static void reply(int fd, const char *kind, const struct out *body, int pass_fd)
{
    struct out o = {0};
    out_byte(&o, 0x80);
    out_byte(&o, 4);
    out_mark(&o);
    out_str(&o, kind);
    out_raw(&o, body->data, body->len);
    out_tuple(&o);
    send_message(fd, &o, pass_fd);
    free(o.data);
}

static void reply_text(int fd, const char *kind, const char *text_value)
{
    struct out body = {0};
    out_str(&body, text_value);
    reply(fd, kind, &body, -1);
    free(body.data);
}

static void reply_int(int fd, const char *kind, long long value, int pass_fd)
{
    struct out body = {0};
    out_int(&body, value);
    reply(fd, kind, &body, pass_fd);
    free(body.data);
}

/* ------------------------------------------------------------------ */
/* actors                                                               */

static int control_fd_floor(void)
{
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    long long soft = (long long)lim.rlim_cur;
    long long floor = soft - 16 > 64 ? soft - 16 : 64;
    return floor < CONTROL_FD_MIN ? (int)floor : CONTROL_FD_MIN;
}

static void close_range_from(unsigned first, unsigned last)
{
    if (first > last) {
        return;
    }
    if (syscall(SYS_close_range, first, last, 0) != 0) { /* before Linux 5.9 */
        struct rlimit lim;
        getrlimit(RLIMIT_NOFILE, &lim);
        unsigned top = lim.rlim_cur < last ? (unsigned)lim.rlim_cur : last;
        for (unsigned fd = first; fd <= top; fd++) {
            close((int)fd);
        }
    }
}

/* A freshly forked zygote child becomes a clean actor (actor.prepare_root_actor). */
static int prepare_root_actor(int channel, const char *cwd)
{
    setsid();
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    int high = fcntl(channel, F_DUPFD_CLOEXEC, control_fd_floor());
    close_range_from(3, (unsigned)high - 1);
    close_range_from((unsigned)high + 1, ~0U);
    int devnull = open("/dev/null", O_RDWR);
    for (int target = 0; target < 3; target++) {
        dup2(devnull, target);
    }
    if (devnull > 2) {
        close(devnull);
    }
    if (chdir(cwd) != 0) {
        _exit(121);
    }
    signal(SIGINT, SIG_DFL);
    return high;
}

static op_fn find_op(const char *name)
{
    const struct op_entry *families[] = {mutant_ops, fd_ops, socket_ops, sysv_ops, posix_ops};
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
        if (!families[f]) {
            continue; /* a family this build left out */
        }
        for (const struct op_entry *e = families[f]; e->name; e++) {
            if (strcmp(e->name, name) == 0) {
                return e->fn;
            }
        }
    }
    return NULL;
}

void out_val(struct out *o, const struct val *v)
{
    switch (v->kind) {
    case V_NONE:
        out_none(o);
        break;
    case V_BOOL:
        out_bool(o, (int)v->i);
        break;
    case V_INT:
        out_int(o, v->i);
        break;
    case V_STR:
        out_strn(o, v->s, v->len);
        break;
    case V_BYTES:
        out_bytes(o, v->s, v->len);
        break;
    case V_TUPLE:
    case V_DICT:
        out_mark(o);
        for (size_t k = 0; k < (v->kind == V_DICT ? 2 * v->n : v->n); k++) {
            out_val(o, v->items[k]);
        }
        v->kind == V_DICT ? out_dict(o) : out_tuple(o);
        break;
    }
}

static void serve(int fd) __attribute__((noreturn));

/* fork: the child becomes a new actor with its own channel; the parent
 * replies with the child's pid and passes the harness its end. */
static void op_fork(void)
{
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) {
        reply_text(control_fd, "errno", errno_name(errno));
        return;
    }
    /* both ends out of the low range before the fork, so the child's table
     * is an exact copy of the parent's */
    int floor = control_fd_floor();
    int parent_end = fcntl(pair[0], F_DUPFD_CLOEXEC, floor);
    int child_end = fcntl(pair[1], F_DUPFD_CLOEXEC, floor);
    close(pair[0]);
    close(pair[1]);
    pid_t pid = fork();
    if (pid == 0) {
        close(parent_end);
        close(control_fd);
        serve(child_end);
    }
    close(child_end);
    if (pid < 0) {
        int err = errno;
        close(parent_end);
        reply_text(control_fd, "errno", errno_name(err));
        return;
    }
    reply_int(control_fd, "value", pid, parent_end);
    close(parent_end);
}

/* exec_self: the same process, a new image of this program, which replies */
static void op_exec_self(void)
{
    char fd_text[16];
    snprintf(fd_text, sizeof fd_text, "%d", control_fd);
    char *argv[] = {"cactor", "resume", fd_text, NULL};
    /* the channel must survive this exec (it is close-on-exec otherwise) */
    int flags = fcntl(control_fd, F_GETFD);
    fcntl(control_fd, F_SETFD, flags & ~FD_CLOEXEC);
    execv("/proc/self/exe", argv);
    int err = errno;
    fcntl(control_fd, F_SETFD, flags);
    char message[200];
    snprintf(message, sizeof message, "RuntimeError: exec_self could not re-execute the actor: %s",
             strerror(err));
    reply_text(control_fd, "error", message);
}

static void serve(int fd)
{
    control_fd = fd;
    struct arena arena = {0};
    for (;;) {
        size_t len;
        unsigned char *message = recv_message(control_fd, &len);
        if (!message) {
            _exit(0);
        }
        const char *error;
        struct val *request = decode(message, len, &arena, &error);
        if (!request || request->kind != V_TUPLE || request->n != 2 ||
            request->items[0]->kind != V_STR || request->items[1]->kind != V_TUPLE) {
            char text_value[200];
            snprintf(text_value, sizeof text_value, "native actor: bad request (%s)",
                     error ? error : "not (op, args)");
            reply_text(control_fd, "error", text_value);
            arena_free(&arena);
            free(message);
            continue;
        }
        const char *op = request->items[0]->s;
        const struct val *args = request->items[1];
        if (strcmp(op, "exit") == 0) {
            _exit(args->n && args->items[0]->kind == V_INT ? (int)args->items[0]->i : 0);
        } else if (strcmp(op, "fork") == 0) {
            op_fork();
        } else if (strcmp(op, "exec_self") == 0) {
            op_exec_self();
        } else if (strcmp(op, "__echo__") == 0) { /* the codec's own test: the arguments come back */
            struct out body = {0};
            out_val(&body, args);
            reply(control_fd, "value", &body, -1);
            free(body.data);
        } else if (strcmp(op, "__chdir__") == 0) { /* a pooled actor learns its scenario's directory */
            if (args->n == 1 && args->items[0]->kind == V_STR && chdir(args->items[0]->s) == 0) {
                reply_int(control_fd, "value", 0, -1);
            } else {
                reply_text(control_fd, "errno", errno_name(errno));
            }
        } else {
            op_fn fn = find_op(op);
            if (!fn) {
                char text_value[200];
                snprintf(text_value, sizeof text_value, "%s is not supported by the native actor", op);
                reply_text(control_fd, "unsupported", text_value);
            } else {
                struct out body = {0};
                op_message[0] = 0;
                errno = 0;
                enum op_status status = fn(args, &body);
                int err = errno;
                if (status == OP_OK) {
                    reply(control_fd, "value", &body, -1);
                } else if (status == OP_ERRNO) {
                    reply_text(control_fd, "errno", errno_name(err));
                } else {
                    reply_text(control_fd, status == OP_UNSUPPORTED ? "unsupported" : "error",
                               op_message[0] ? op_message : "the operation failed");
                }
                free(body.data);
            }
        }
        arena_free(&arena);
        free(message);
    }
}

/* ------------------------------------------------------------------ */
/* zygote                                                               */

struct pooled {
    pid_t pid;
    int here; /* the harness's end of the actor's channel, -1 when the slot is empty */
};

static struct pooled pool[POOL_SIZE];

static void reset_signals(void)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            sigaction(sig, &dfl, NULL);
        }
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static struct pooled fork_actor(void)
{
    struct pooled made = {-1, -1};
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        return made;
    }
    pid_t pid = fork();
    if (pid == 0) {
        serve(prepare_root_actor(pair[1], "/")); /* closes every other descriptor */
    }
    close(pair[1]);
    if (pid < 0) {
        close(pair[0]);
        return made;
    }
    made.pid = pid;
    made.here = pair[0];
    return made;
}

static void refill(void)
{
    for (int k = 0; k < POOL_SIZE; k++) {
        if (pool[k].here < 0) {
            pool[k] = fork_actor();
        }
    }
}

static int pooled(pid_t pid)
{
    for (int k = 0; k < POOL_SIZE; k++) {
        if (pool[k].here >= 0 && pool[k].pid == pid) {
            return 1;
        }
    }
    return 0;
}

/* pids of this process's children, from /proc; returns how many (at most cap) */
static size_t children(pid_t *out, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", getpid(), getpid());
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (!f) {
        return 0;
    }
    int pid;
    while (n < cap && fscanf(f, "%d", &pid) == 1) {
        out[n++] = pid;
    }
    fclose(f);
    return n;
}

/* zygote.py's _reap_all: reap every exited child; with kill, end the living
 * first (one killpg per root actor's group), sparing the pool. */
static void reap_all(int kill_them, struct out *body)
{
    pid_t own_group = getpgid(0);
    out_mark(body);
    for (;;) {
        for (;;) {
            int status;
            pid_t pid = waitpid(-1, &status, WNOHANG);
            if (pid <= 0) {
                if (pid < 0) {
                    goto finished; /* no children at all */
                }
                break;
            }
            if (!pooled(pid)) {
                out_int(body, pid);
                out_int(body, status);
            }
        }
        pid_t found[4096];
        size_t n = children(found, sizeof found / sizeof found[0]), targets = 0;
        for (size_t k = 0; k < n; k++) {
            if (pooled(found[k])) {
                continue;
            }
            targets++;
            if (kill_them) {
                pid_t group = getpgid(found[k]);
                /* a pooled actor killed before setsid() is still in our group,
                 * which is the test process's: never signal that group */
                if (group >= 0 && group != own_group) {
                    killpg(group, SIGKILL);
                }
                kill(found[k], SIGKILL);
            }
        }
        if (!kill_them || !targets) {
            break;
        }
        siginfo_t info;
        waitid(P_ALL, 0, &info, WEXITED | WNOWAIT); /* the next one to exit */
    }
finished:
    out_dict(body);
}

static void zygote(int channel)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    reset_signals(); /* once here, so actors inherit default dispositions */
    signal(SIGINT, SIG_IGN); /* the harness decides when we go */
    fcntl(channel, F_SETFD, FD_CLOEXEC);
    for (int k = 0; k < POOL_SIZE; k++) {
        pool[k].here = -1;
    }
    refill();
    struct arena arena = {0};
    for (;;) {
        size_t len;
        unsigned char *message = recv_message(channel, &len);
        if (!message) {
            break;
        }
        const char *error;
        struct val *request = decode(message, len, &arena, &error);
        const char *kind = request && request->kind == V_TUPLE && request->n >= 1 &&
                                   request->items[0]->kind == V_STR
                               ? request->items[0]->s
                               : "";
        struct out body = {0};
        if (strcmp(kind, "spawn") == 0) {
            struct pooled actor = {-1, -1};
            for (int k = 0; k < POOL_SIZE && actor.here < 0; k++) {
                if (pool[k].here >= 0) {
                    actor = pool[k];
                    pool[k].here = -1;
                }
            }
            if (actor.here < 0) {
                actor = fork_actor();
            }
            if (actor.here < 0) {
                reply_text(channel, "error", "fork failed");
            } else {
                reply_int(channel, "spawned", actor.pid, actor.here);
                close(actor.here);
            }
            refill(); /* while the harness gets on with its scenario */
        } else if (strcmp(kind, "reap") == 0 && request->n == 2 && request->items[1]->kind == V_INT) {
            int status;
            pid_t pid;
            do {
                pid = waitpid((pid_t)request->items[1]->i, &status, 0);
            } while (pid < 0 && errno == EINTR);
            if (pid < 0) {
                out_none(&body);
            } else {
                out_int(&body, status);
            }
            reply(channel, "reaped", &body, -1);
        } else if (strcmp(kind, "reap_all") == 0 && request->n == 2) {
            reap_all((int)request->items[1]->i, &body);
            reply(channel, "reaped_all", &body, -1);
        } else {
            char text_value[200];
            snprintf(text_value, sizeof text_value, "unknown request %s", error ? error : kind);
            reply_text(channel, "error", text_value);
        }
        free(body.data);
        arena_free(&arena);
        free(message);
    }
    struct out ignored = {0};
    for (int k = 0; k < POOL_SIZE; k++) {
        pool[k].pid = -1; /* nothing is spared at the end */
        pool[k].here = -1;
    }
    reap_all(1, &ignored);
    free(ignored.data);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "ops") == 0) {
        const struct op_entry *families[] = {mutant_ops, fd_ops, socket_ops, sysv_ops, posix_ops};
        puts("exit\nfork\nexec_self\n__chdir__");
        for (size_t f = 0; f < sizeof families / sizeof families[0]; f++) {
            for (const struct op_entry *e = families[f]; e && e->name; e++) {
                puts(e->name);
            }
        }
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "zygote") == 0) {
        zygote(atoi(argv[2]));
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "resume") == 0) {
        int fd = atoi(argv[2]);
        fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
        reply_int(fd, "value", 0, -1);
        serve(fd);
    }
    fprintf(stderr, "usage: cactor zygote FD BACKEND | cactor resume FD | cactor ops\n");
    return 2;
}
