/* cactor.h: what the native actor's parts share.
 *
 * The native actor is a small C program that speaks the harness's control
 * protocol (conformance/harness/protocol.py: a 4-byte little-endian length,
 * then a pickled value) and performs the kernel backend's operations with
 * the same system calls and the same normalised results as
 * conformance/backends/kernel.py. It reads the subset of pickle the harness
 * writes and writes the subset Python's pickle reads.
 *
 * Each family of operations lives in its own ops_*.c file and exports one
 * table of {name, function} entries, ending with {NULL, NULL}.
 */
#ifndef CACTOR_H
#define CACTOR_H

#include <stddef.h>

/* ---- values received: one decoded pickle ---- */
enum val_kind { V_NONE, V_BOOL, V_INT, V_STR, V_BYTES, V_TUPLE, V_DICT };

struct val {
    enum val_kind kind;
    long long i;        /* V_INT and V_BOOL */
    char *s;            /* V_STR (UTF-8, NUL-terminated) and V_BYTES (also NUL-terminated) */
    size_t len;         /* byte length of s */
    struct val **items; /* V_TUPLE: the items; V_DICT: key, value, key, value... */
    size_t n;           /* V_TUPLE: number of items; V_DICT: number of key/value pairs */
};

/* ---- values sent: a pickle being written ---- */
struct out {
    char *data;
    size_t len, cap;
};

void out_none(struct out *o);
void out_bool(struct out *o, int truth);
void out_int(struct out *o, long long v);
void out_str(struct out *o, const char *s);                  /* UTF-8 text */
void out_strn(struct out *o, const char *s, size_t n);
void out_bytes(struct out *o, const void *p, size_t n);
void out_mark(struct out *o);  /* then the items, then out_tuple or out_dict */
void out_tuple(struct out *o); /* the values since the matching mark become a tuple */
void out_dict(struct out *o);  /* key, value, key, value... since the mark become a dict */
void out_val(struct out *o, const struct val *v); /* a received value as it came (lists as tuples) */

/* ---- operations ---- */
enum op_status {
    OP_OK,          /* exactly one value was written to out: reply ("value", it) */
    OP_ERRNO,       /* the call failed: reply ("errno", name of errno) */
    OP_ERROR,       /* a fault or a bad argument (Python raised ValueError, KeyError...):
                       reply ("error", op_message) */
    OP_UNSUPPORTED, /* reply ("unsupported", op_message) */
};

/* args is always a V_TUPLE: the operation's arguments as the harness sent them */
typedef enum op_status (*op_fn)(const struct val *args, struct out *out);

struct op_entry {
    const char *name;
    op_fn fn;
};

/* The family tables. Declared weak so a build may leave a family out (the
 * engine then answers "unsupported" for its operations). */
extern const struct op_entry fd_ops[] __attribute__((weak));     /* ops_fd.c */
extern const struct op_entry socket_ops[] __attribute__((weak)); /* ops_socket.c */
extern const struct op_entry sysv_ops[] __attribute__((weak));   /* ops_sysv.c */
extern const struct op_entry posix_ops[] __attribute__((weak));  /* ops_posix.c */
/* Looked up first, and absent from the suite's own builds: the suite's tests
 * build a deliberately broken operation in here to prove a spec catches it
 * (IPC_CONFORMANCE_CACTOR_MUTANT, see conformance/harness/native.py). */
extern const struct op_entry mutant_ops[] __attribute__((weak));

/* Message of an OP_ERROR / OP_UNSUPPORTED reply. */
extern char op_message[512];
/* printf into op_message; returns OP_ERROR (use: return op_error("...", ...);) */
enum op_status op_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For a libc result: -1 means OP_ERRNO, else OP_OK after out_int(out, result). */
enum op_status int_result(long long result, struct out *out);

/* Argument access. Each returns 0 on success; on a missing argument or a
 * wrong type it fills op_message (as Python's TypeError would) and returns
 * -1, and the operation returns OP_ERROR. */
int args_between(const struct val *args, size_t least, size_t most);
int arg_int(const struct val *args, size_t i, long long *v);      /* int or bool */
int arg_str(const struct val *args, size_t i, const char **s);
int arg_bytes(const struct val *args, size_t i, const char **p, size_t *n);
int arg_tuple(const struct val *args, size_t i, const struct val **t);
int arg_dict(const struct val *args, size_t i, const struct val **d);
/* The argument when present, else the default (for keyword defaults such as mode=0o644). */
long long arg_int_or(const struct val *args, size_t i, long long fallback);

/* Python's name for the type of a received value: "int", "str", "NoneType"... */
const char *val_type_name(const struct val *v);
/* For pipe()/socketpair(): -1 means OP_ERRNO, else OP_OK after the tuple (fds[0], fds[1]). */
enum op_status fd_pair_result(int result, const int fds[2], struct out *out);

/* ---- the actor's own state ---- */
extern int control_fd; /* the harness channel: never listed, never touched by operations */

/* Names as Python's errno.errorcode and conformance.names.signal_name give them
 * (generated into names.h by the build). */
const char *errno_name(int code);  /* "ENOENT", or "E#<n>" */
const char *signal_name(int sig);  /* "SIGINT", or "SIG#<n>" */

#endif
