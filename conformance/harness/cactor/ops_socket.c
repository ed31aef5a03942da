/* ops_socket.c: the socket operations of the native actor.
 *
 * Each operation mirrors the method of the same name of
 * conformance.backends.kernel.KernelProcessOps: the same system calls, in
 * the same order, with the same normalised result.
 *
 * Where the Python method goes through a socket object (bind, connect,
 * local_port, unix_bind, unix_connect) this file reproduces what CPython
 * 3.11's socket module does underneath:
 *   - socket.socket(fileno=fd): the descriptor converted as a C long cast to
 *     int (a negative one is a ValueError), then getsockname (its family),
 *     getsockopt SO_TYPE and SO_PROTOCOL, each failure an OSError;
 *   - the address converted by getsockaddrarg: AF_UNIX takes str (encoded
 *     with the filesystem encoding, UTF-8 + surrogateescape) or bytes, with
 *     the Linux abstract namespace; a path too long is OSError with no errno
 *     (the actor replies "E#0"); AF_INET takes ("127.0.0.1", port), a port
 *     outside 0-65535 is an OverflowError;
 *   - bind: one bind(2), no retry;
 *   - connect_ex / connect: one connect(2); on EINTR (and only then, the
 *     socket having no timeout) it waits with poll(POLLOUT|POLLERR, -1),
 *     retrying the poll on EINTR, and takes the outcome from SO_ERROR
 *     (EISCONN or 0 meaning success);
 *   - getsockname()[1] and int() of it, as local_port does.
 * A Python exception other than OSError becomes an "error" reply whose text
 * has the actor's shape, "TypeName: message".
 */
#include "cactor.h"
#include "socket_names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* conversions                                                          */

/* A Python int passed to a ctypes function as a C int (no argtypes, or a
   c_int argtype): the low 32 bits of the value. */
static int c_int_of(long long v)
{
    return (int)(unsigned int)(unsigned long long)v;
}

/* an argument that ctypes passes as a C int */
static int arg_cint(const struct val *args, size_t i, int *v)
{
    long long x;
    if (arg_int(args, i, &x) != 0) {
        return -1;
    }
    *v = c_int_of(x);
    return 0;
}


/* An argument of a libc function kernel.py calls without argtypes (listen,
   accept, shutdown): ctypes' default conversion. An int (or bool) is passed
   as a C int (its low 32 bits), None as a NULL pointer (0), bytes and str as
   a pointer to their data (here the address of this program's copy, which
   is as arbitrary as the interpreter's); anything else is an ArgumentError. */
static int arg_ctypes(const struct val *args, size_t i, int *v)
{
    if (i >= args->n) {
        snprintf(op_message, sizeof op_message, "TypeError: missing argument %zu", i + 1);
        return -1;
    }
    const struct val *a = args->items[i];
    switch (a->kind) {
    case V_INT:
    case V_BOOL:
        *v = c_int_of(a->i);
        return 0;
    case V_NONE:
        *v = 0;
        return 0;
    case V_STR:
    case V_BYTES:
        *v = (int)(uintptr_t)a->s;
        return 0;
    default:
        snprintf(op_message, sizeof op_message,
                 "ArgumentError: argument %zu: TypeError: Don't know how to convert parameter %zu",
                 i + 1, i + 1);
        return -1;
    }
}

/* repr() of a str, near enough for an error message */
static void repr_str(char *buf, size_t size, const char *s, size_t n)
{
    size_t at = 0;
    if (size < 4) {
        if (size) {
            buf[0] = 0;
        }
        return;
    }
    buf[at++] = '\'';
    for (size_t i = 0; i < n && at + 6 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'' || c == '\\') {
            buf[at++] = '\\';
            buf[at++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            at += (size_t)snprintf(buf + at, size - at, "\\x%02x", c);
        } else {
            buf[at++] = (char)c;
        }
    }
    buf[at++] = '\'';
    buf[at] = 0;
}

/* repr() of a value used as a name, for KeyError / ValueError messages */
static void repr_val(char *buf, size_t size, const struct val *v)
{
    switch (v->kind) {
    case V_STR:
        repr_str(buf, size, v->s, v->len);
        return;
    case V_INT:
        snprintf(buf, size, "%lld", v->i);
        return;
    case V_BOOL:
        snprintf(buf, size, "%s", v->i ? "True" : "False");
        return;
    case V_NONE:
        snprintf(buf, size, "None");
        return;
    default:
        snprintf(buf, size, "<%s>", val_type_name(v));
        return;
    }
}

/* The items `for name in value` visits, for the tuple-of-names arguments
   (poll events, message flags): a tuple's items, a dict's keys; an empty
   str or bytes visits nothing. Returns the count, or -1 (a TypeError) when
   the value cannot be iterated, or -2 for a non-empty str or bytes, whose
   elements (one-character strings, ints) are never a known name: *first
   then names the first element for the message. */
static long names_of(const struct val *v, const struct val *const **items, size_t *stride,
                     char *first, size_t first_size)
{
    switch (v->kind) {
    case V_TUPLE:
        *items = (const struct val *const *)v->items;
        *stride = 1;
        return (long)v->n;
    case V_DICT:
        *items = (const struct val *const *)v->items;
        *stride = 2;
        return (long)v->n;
    case V_STR:
        if (v->len == 0) {
            *items = NULL;
            *stride = 1;
            return 0;
        }
        {
            /* the first character (a whole UTF-8 sequence) */
            size_t n = 1;
            unsigned char c = (unsigned char)v->s[0];
            if (c >= 0xf0) {
                n = 4;
            } else if (c >= 0xe0) {
                n = 3;
            } else if (c >= 0xc0) {
                n = 2;
            }
            if (n > v->len) {
                n = v->len;
            }
            repr_str(first, first_size, v->s, n);
        }
        return -2;
    case V_BYTES:
        if (v->len == 0) {
            *items = NULL;
            *stride = 1;
            return 0;
        }
        snprintf(first, first_size, "%u", (unsigned)(unsigned char)v->s[0]);
        return -2;
    default:
        snprintf(first, first_size, "%s", val_type_name(v));
        return -1;
    }
}

/* ------------------------------------------------------------------ */
/* socket objects over a descriptor                                     */

/* socket.socket(fileno=fd): its family in *family */
static enum op_status borrowed(const struct val *args, size_t i, int *fd, int *family)
{
    long long v;
    if (i < args->n && args->items[i]->kind == V_NONE) {
        /* socket.socket(fileno=None) makes a new AF_INET stream socket (close-on-exec),
           which _Borrowed's __del__ then detaches: it stays open */
        *fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (*fd == -1) {
            return OP_ERRNO;
        }
        *family = AF_INET;
        return OP_OK;
    }
    if (arg_int(args, i, &v) != 0) {
        return OP_ERROR;
    }
    *fd = (int)v; /* PyLong_AsLong, then the SOCKET_T (int) it is kept as */
    if (*fd < 0) {
        return op_error("ValueError: negative file descriptor");
    }
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    memset(&addr, 0, sizeof addr);
    if (getsockname(*fd, (struct sockaddr *)&addr, &len) != 0) {
        return OP_ERRNO;
    }
    *family = addr.ss_family;
    int value;
    socklen_t vlen = sizeof value;
    if (getsockopt(*fd, SOL_SOCKET, SO_TYPE, &value, &vlen) != 0) {
        return OP_ERRNO;
    }
    vlen = sizeof value;
    if (getsockopt(*fd, SOL_SOCKET, SO_PROTOCOL, &value, &vlen) != 0) {
        return OP_ERRNO;
    }
    return OP_OK;
}

/* PyUnicode_EncodeFSDefault: UTF-8 with surrogateescape. The str arrives as
   pickle wrote it (UTF-8, lone surrogates as their 3-byte forms): U+DC80 to
   U+DCFF become the bytes 0x80 to 0xFF, any other surrogate cannot be
   encoded (UnicodeEncodeError). Writes at most `cap` bytes into out and
   returns the full encoded length, or -1 after setting op_message. */
static long fs_encode(const char *s, size_t n, char *out, size_t cap)
{
    size_t at = 0, chars = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        if (i + k > n) {
            k = n - i;
        }
        if (c == 0xed && k == 3 && ((unsigned char)s[i + 1] & 0xe0) == 0xa0) {
            unsigned cp = 0xd000u | (((unsigned char)s[i + 1] & 0x3fu) << 6) |
                          ((unsigned char)s[i + 2] & 0x3fu);
            if (cp < 0xdc80 || cp > 0xdcff) {
                op_error("UnicodeEncodeError: 'utf-8' codec can't encode character '\\u%04x' in "
                         "position %zu: surrogates not allowed", cp, chars);
                return -1;
            }
            if (at < cap) {
                out[at] = (char)(cp - 0xdc00);
            }
            at++;
        } else {
            for (size_t j = 0; j < k; j++) {
                if (at < cap) {
                    out[at] = s[i + j];
                }
                at++;
            }
        }
        i += k;
        chars++;
    }
    return (long)at;
}

union sockaddr_any {
    struct sockaddr sa;
    struct sockaddr_un un;
    struct sockaddr_in in;
    struct sockaddr_storage storage;
};

/* getsockaddrarg for a socket of `family`. `port_form`: an int address
   stands for ("127.0.0.1", port) (kernel.py's _address); without it the
   value is the address itself (_unix_dgram passes the path as given).
   `caller` names the method in messages ("bind", "connect_ex"...). */
static enum op_status sockaddr_arg(int family, const struct val *address, int port_form,
                                   const char *caller, union sockaddr_any *addr, socklen_t *len)
{
    int is_int = address->kind == V_INT || address->kind == V_BOOL;
    const char *shown = is_int && port_form ? "tuple" : val_type_name(address);
    memset(addr, 0, sizeof *addr);
    if (family == AF_UNIX) {
        char path[sizeof addr->un.sun_path + 1];
        long n;
        if (address->kind == V_STR) {
            n = fs_encode(address->s, address->len, path, sizeof path);
            if (n < 0) {
                return OP_ERROR;
            }
        } else if (address->kind == V_BYTES) {
            n = (long)address->len;
            memcpy(path, address->s, address->len < sizeof path ? address->len : sizeof path);
        } else {
            return op_error("TypeError: a bytes-like object is required, not '%s'", shown);
        }
        if (n == 0 || path[0] == 0) {
            /* the Linux abstract namespace (or autobind when empty) */
            if ((size_t)n > sizeof addr->un.sun_path) {
                errno = 0; /* OSError("AF_UNIX path too long"): no errno */
                return OP_ERRNO;
            }
            *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n);
        } else {
            if ((size_t)n >= sizeof addr->un.sun_path) {
                errno = 0;
                return OP_ERRNO;
            }
            addr->un.sun_path[n] = 0;
            *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
        }
        addr->un.sun_family = AF_UNIX;
        memcpy(addr->un.sun_path, path, (size_t)n);
        return OP_OK;
    }
    if (family == AF_INET) {
        const char *host = "127.0.0.1";
        size_t host_len = 9;
        long long port;
        if (is_int && port_form) {
            port = address->i;
        } else if (address->kind == V_TUPLE) {
            /* PyArg_ParseTuple(address, "O&i", idna_converter, &host, &port) */
            if (address->n != 2) {
                return op_error("TypeError: AF_INET address must be a pair (host, port)");
            }
            const struct val *h = address->items[0], *p = address->items[1];
            if (h->kind != V_STR && h->kind != V_BYTES) {
                return op_error("TypeError: str, bytes or bytearray expected, not %s", val_type_name(h));
            }
            for (size_t i = 0; i < h->len; i++) {
                if (h->kind == V_STR && (unsigned char)h->s[i] >= 0x80) {
                    snprintf(op_message, sizeof op_message,
                             "a host name that needs IDNA encoding is not supported by the "
                             "native actor");
                    return OP_UNSUPPORTED;
                }
            }
            if (memchr(h->s, 0, h->len)) {
                return op_error("TypeError: host name must not contain null character");
            }
            if (p->kind != V_INT && p->kind != V_BOOL) {
                return op_error("TypeError: '%s' object cannot be interpreted as an integer",
                                val_type_name(p));
            }
            host = h->s;
            host_len = h->len;
            port = p->i;
            if (port < INT32_MIN || port > INT32_MAX) {
                return op_error("OverflowError: %s(): port must be 0-65535.", caller);
            }
        } else {
            return op_error("TypeError: %s(): AF_INET address must be tuple, not %s", caller,
                            val_type_name(address));
        }
        /* setipaddr: "", "<broadcast>" and numeric addresses need no resolver */
        if (host_len == 0) {
            addr->in.sin_addr.s_addr = htonl(INADDR_ANY);
        } else if (strcmp(host, "<broadcast>") == 0) {
            addr->in.sin_addr.s_addr = htonl(INADDR_BROADCAST);
        } else if (inet_pton(AF_INET, host, &addr->in.sin_addr) != 1) {
            snprintf(op_message, sizeof op_message,
                     "resolving a host name is not supported by the native actor");
            return OP_UNSUPPORTED;
        }
        if (port < 0 || port > 0xffff) { /* "i" overflow and the range check say the same */
            return op_error("OverflowError: %s(): port must be 0-65535.", caller);
        }
        addr->in.sin_family = AF_INET;
        addr->in.sin_port = htons((uint16_t)port);
        *len = sizeof addr->in;
        return OP_OK;
    }
    snprintf(op_message, sizeof op_message,
             "%s on a socket of address family %d is not supported by the native actor", caller,
             family);
    return OP_UNSUPPORTED;
}

/* internal_connect of CPython's socket module, for a socket without a
   timeout (as every socket object made from a descriptor is): 0 or the
   error number. */
static int internal_connect(int fd, const union sockaddr_any *addr, socklen_t len)
{
    if (connect(fd, &addr->sa, len) == 0) {
        return 0;
    }
    int err = errno;
    if (err != EINTR) {
        return err; /* no wait: the socket has no timeout */
    }
    /* interrupted: the connection goes on asynchronously; wait for it */
    for (;;) {
        struct pollfd p = {fd, POLLOUT | POLLERR, 0};
        int n = poll(&p, 1, -1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        for (;;) {
            int so_error = 0;
            socklen_t size = sizeof so_error;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &size) == 0) {
                if (so_error == 0 || so_error == EISCONN) {
                    return 0;
                }
                err = so_error;
            } else {
                err = errno;
            }
            if (err != EINTR) {
                return err;
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* socketpair, sendfd, recvfd                                            */

static enum op_status pair_result(int domain, int type, struct out *out)
{
    int fds[2];
    return fd_pair_result(socketpair(domain, type, 0, fds), fds, out);
}

static enum op_status op_socketpair(const struct val *args, struct out *out)
{
    if (args_between(args, 0, 0) != 0) {
        return OP_ERROR;
    }
    return pair_result(AF_UNIX, SOCK_STREAM, out);
}

#define CMSG_LEN_ONE_FD 20   /* CMSG_LEN(sizeof(int)) on 64-bit Linux */
#define CMSG_SPACE_ONE_FD 24 /* CMSG_SPACE(sizeof(int)) */

static enum op_status op_sendfd(const struct val *args, struct out *out)
{
    int sock;
    long long fd;
    if (args_between(args, 2, 2) != 0 || arg_cint(args, 0, &sock) != 0 ||
        arg_int(args, 1, &fd) != 0) {
        return OP_ERROR;
    }
    if (fd < INT32_MIN || fd > INT32_MAX) { /* struct.pack("=i", fd) */
        return op_error("error: 'i' format requires -2147483648 <= number <= 2147483647");
    }
    char byte = 'F';
    struct iovec iov = {&byte, 1};
    /* the control buffer as kernel.py packs it: "=Qii" header, the descriptor, 4 zero bytes */
    union {
        struct cmsghdr align;
        unsigned char raw[CMSG_SPACE_ONE_FD];
    } control;
    memset(&control, 0, sizeof control);
    uint64_t cmsg_len = CMSG_LEN_ONE_FD;
    int level = SOL_SOCKET, kind = SCM_RIGHTS, passed = (int)fd;
    memcpy(control.raw, &cmsg_len, 8);
    memcpy(control.raw + 8, &level, 4);
    memcpy(control.raw + 12, &kind, 4);
    memcpy(control.raw + 16, &passed, 4);
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.raw;
    msg.msg_controllen = CMSG_SPACE_ONE_FD;
    return int_result(sendmsg(sock, &msg, 0), out);
}

static enum op_status op_recvfd(const struct val *args, struct out *out)
{
    int sock;
    if (args_between(args, 1, 1) != 0 || arg_cint(args, 0, &sock) != 0) {
        return OP_ERROR;
    }
    char byte = 0;
    struct iovec iov = {&byte, 1};
    union {
        struct cmsghdr align;
        unsigned char raw[CMSG_SPACE_ONE_FD];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.raw;
    msg.msg_controllen = CMSG_SPACE_ONE_FD;
    /* libc recvmsg: no EINTR retry, no MSG_CMSG_CLOEXEC */
    if (recvmsg(sock, &msg, 0) == -1) {
        return OP_ERRNO;
    }
    if (msg.msg_controllen < CMSG_LEN_ONE_FD) {
        out_none(out);
        return OP_OK;
    }
    int level, kind, fd;
    memcpy(&level, control.raw + 8, 4);
    memcpy(&kind, control.raw + 12, 4);
    memcpy(&fd, control.raw + 16, 4);
    if (level == SOL_SOCKET && kind == SCM_RIGHTS) {
        out_int(out, fd);
    } else {
        out_none(out);
    }
    return OP_OK;
}

/* ------------------------------------------------------------------ */
/* socket, bind, listen, accept, connect, local_port, shutdown           */

static int domain_of(const struct val *v, int *domain)
{
    if (v->kind == V_STR && strcmp(v->s, "unix") == 0 && v->len == 4) {
        *domain = AF_UNIX;
        return 0;
    }
    if (v->kind == V_STR && strcmp(v->s, "inet") == 0 && v->len == 4) {
        *domain = AF_INET;
        return 0;
    }
    char shown[200];
    repr_val(shown, sizeof shown, v);
    op_error("KeyError: %s", shown);
    return -1;
}

static int type_of(const struct val *v, int *type)
{
    static const struct {
        const char *name;
        int type;
    } types[] = {{"stream", SOCK_STREAM}, {"dgram", SOCK_DGRAM}, {"seqpacket", SOCK_SEQPACKET}};
    if (v->kind == V_STR) {
        for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
            if (strcmp(v->s, types[i].name) == 0 && strlen(types[i].name) == v->len) {
                *type = types[i].type;
                return 0;
            }
        }
    }
    char shown[200];
    repr_val(shown, sizeof shown, v);
    op_error("KeyError: %s", shown);
    return -1;
}

static enum op_status op_socket(const struct val *args, struct out *out)
{
    int domain, type;
    if (args_between(args, 2, 2) != 0 || domain_of(args->items[0], &domain) != 0 ||
        type_of(args->items[1], &type) != 0) {
        return OP_ERROR;
    }
    return int_result(socket(domain, type, 0), out);
}

static enum op_status op_bind(const struct val *args, struct out *out)
{
    int fd, family;
    union sockaddr_any addr;
    socklen_t len = 0;
    enum op_status status;
    if (args_between(args, 2, 2) != 0) {
        return OP_ERROR;
    }
    if ((status = borrowed(args, 0, &fd, &family)) != OP_OK ||
        (status = sockaddr_arg(family, args->items[1], 1, "bind", &addr, &len)) != OP_OK) {
        return status;
    }
    if (bind(fd, &addr.sa, len) != 0) {
        return OP_ERRNO;
    }
    out_int(out, 0);
    return OP_OK;
}

static enum op_status op_listen(const struct val *args, struct out *out)
{
    int fd, backlog;
    if (args_between(args, 2, 2) != 0 || arg_ctypes(args, 0, &fd) != 0 ||
        arg_ctypes(args, 1, &backlog) != 0) {
        return OP_ERROR;
    }
    return int_result(listen(fd, backlog), out);
}

static enum op_status op_accept(const struct val *args, struct out *out)
{
    int fd;
    if (args_between(args, 1, 1) != 0 || arg_ctypes(args, 0, &fd) != 0) {
        return OP_ERROR;
    }
    /* libc accept: no close-on-exec, no EINTR retry */
    return int_result(accept(fd, NULL, NULL), out);
}

static enum op_status op_connect(const struct val *args, struct out *out)
{
    int fd, family;
    union sockaddr_any addr;
    socklen_t len = 0;
    enum op_status status;
    if (args_between(args, 2, 2) != 0) {
        return OP_ERROR;
    }
    if ((status = borrowed(args, 0, &fd, &family)) != OP_OK ||
        (status = sockaddr_arg(family, args->items[1], 1, "connect_ex", &addr, &len)) != OP_OK) {
        return status;
    }
    int code = internal_connect(fd, &addr, len);
    if (code != 0) {
        errno = code;
        return OP_ERRNO;
    }
    out_int(out, 0);
    return OP_OK;
}

/* Code points whose decimal value is 0 (Unicode 14.0, Python 3.11's
   database): each starts a run of ten digits 0-9, and they are all the
   characters int() reads as digits. */
static const unsigned DIGIT_ZEROS[] = {
    0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6,
    0xd66, 0xde6, 0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80,
    0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0,
    0xff10, 0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0,
    0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0,
    0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
};

/* One code point of a UTF-8 + surrogateescape decoding at s[0..n): its
   value, and in *used the bytes it took (an invalid byte is one code
   point U+DC80-U+DCFF on its own). */
static unsigned decode_one(const unsigned char *s, size_t n, size_t *used)
{
    unsigned c = s[0];
    *used = 1;
    if (c < 0x80) {
        return c;
    }
    size_t k;
    unsigned cp, low;
    if (c >= 0xc2 && c <= 0xdf) {
        k = 2, cp = c & 0x1f, low = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        k = 3, cp = c & 0x0f, low = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4, cp = c & 0x07, low = 0x10000;
    } else {
        return 0xdc00 + c;
    }
    if (k > n) {
        return 0xdc00 + c;
    }
    for (size_t j = 1; j < k; j++) {
        if ((s[j] & 0xc0) != 0x80) {
            return 0xdc00 + c;
        }
        cp = (cp << 6) | (s[j] & 0x3f);
    }
    if (cp < low || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0xdc00 + c;
    }
    *used = k;
    return cp;
}

static enum op_status op_local_port(const struct val *args, struct out *out)
{
    int fd, family;
    enum op_status status;
    if (args_between(args, 1, 1) != 0) {
        return OP_ERROR;
    }
    if ((status = borrowed(args, 0, &fd, &family)) != OP_OK) {
        return status;
    }
    union sockaddr_any addr;
    socklen_t len;
    if (family == AF_UNIX) {
        len = sizeof addr.un;
    } else if (family == AF_INET) {
        len = sizeof addr.in;
    } else {
        snprintf(op_message, sizeof op_message,
                 "local_port of a socket of address family %d is not supported by the native actor",
                 family);
        return OP_UNSUPPORTED;
    }
    memset(&addr, 0, sizeof addr);
    if (getsockname(fd, &addr.sa, &len) != 0) {
        return OP_ERRNO;
    }
    if (family == AF_INET) { /* ("a.b.c.d", port)[1] */
        out_int(out, ntohs(addr.in.sin_port));
        return OP_OK;
    }
    /* AF_UNIX: the address is bytes (abstract) or str (a path), and
       int(address[1]) is what local_port answers */
    size_t path_len = len > offsetof(struct sockaddr_un, sun_path)
                          ? len - offsetof(struct sockaddr_un, sun_path)
                          : 0;
    if (path_len > 0 && addr.un.sun_path[0] == 0) {
        if (path_len < 2) {
            return op_error("IndexError: index out of range");
        }
        out_int(out, (unsigned char)addr.un.sun_path[1]);
        return OP_OK;
    }
    const unsigned char *path = (const unsigned char *)addr.un.sun_path;
    size_t n = strnlen(addr.un.sun_path, sizeof addr.un.sun_path);
    size_t used;
    if (n == 0) {
        return op_error("IndexError: string index out of range");
    }
    decode_one(path, n, &used);
    if (used >= n) {
        return op_error("IndexError: string index out of range");
    }
    size_t at = used;
    unsigned cp = decode_one(path + at, n - at, &used);
    for (size_t i = 0; i < sizeof DIGIT_ZEROS / sizeof *DIGIT_ZEROS; i++) {
        if (cp >= DIGIT_ZEROS[i] && cp < DIGIT_ZEROS[i] + 10) {
            out_int(out, cp - DIGIT_ZEROS[i]);
            return OP_OK;
        }
    }
    char shown[32];
    if (cp >= 0xdc80 && cp <= 0xdcff) {
        snprintf(shown, sizeof shown, "'\\udc%02x'", cp & 0xff);
    } else {
        repr_str(shown, sizeof shown, addr.un.sun_path + at, used);
    }
    return op_error("ValueError: invalid literal for int() with base 10: %s", shown);
}

static enum op_status op_shutdown(const struct val *args, struct out *out)
{
    int fd, how;
    if (args_between(args, 2, 2) != 0 || arg_ctypes(args, 0, &fd) != 0 ||
        arg_ctypes(args, 1, &how) != 0) {
        return OP_ERROR;
    }
    return int_result(shutdown(fd, how), out);
}

/* ------------------------------------------------------------------ */
/* poll                                                                 */

/* POLL_EVENT_NAMES (socket_names.h) is kernel.py's POLL_EVENTS, in sorted order of the names */

static enum op_status op_poll(const struct val *args, struct out *out)
{
    int fd, timeout_ms;
    if (args_between(args, 3, 3) != 0 || arg_cint(args, 0, &fd) != 0) {
        return OP_ERROR;
    }
    /* kernel.py: sum(POLL_EVENTS[name] for name in events): a sum, so a repeated name adds twice */
    const struct val *const *items = NULL;
    size_t stride = 1;
    char first[200];
    long count = names_of(args->items[1], &items, &stride, first, sizeof first);
    if (count == -1) {
        return op_error("TypeError: '%s' object is not iterable", first);
    }
    if (count == -2) {
        return op_error("KeyError: %s", first);
    }
    long sum = 0;
    for (long i = 0; i < count; i++) {
        const struct val *name = items[(size_t)i * stride];
        size_t j = 0;
        for (; j < sizeof POLL_EVENT_NAMES / sizeof *POLL_EVENT_NAMES; j++) {
            if (name->kind == V_STR && strcmp(name->s, POLL_EVENT_NAMES[j].name) == 0 &&
                strlen(POLL_EVENT_NAMES[j].name) == name->len) {
                break;
            }
        }
        if (j == sizeof POLL_EVENT_NAMES / sizeof *POLL_EVENT_NAMES) {
            char shown[200];
            repr_val(shown, sizeof shown, name);
            return op_error("KeyError: %s", shown);
        }
        sum += POLL_EVENT_NAMES[j].bit;
    }
    if (arg_cint(args, 2, &timeout_ms) != 0) {
        return OP_ERROR;
    }
    /* libc poll, no EINTR retry; the events field a c_short (truncated) */
    struct pollfd entry = {fd, (short)(unsigned short)sum, 0};
    int n = poll(&entry, 1, timeout_ms);
    if (n == -1) {
        return OP_ERRNO;
    }
    out_mark(out);
    if (n != 0) {
        for (size_t j = 0; j < sizeof POLL_EVENT_NAMES / sizeof *POLL_EVENT_NAMES; j++) {
            if (entry.revents & POLL_EVENT_NAMES[j].bit) {
                out_str(out, POLL_EVENT_NAMES[j].name);
            }
        }
    }
    out_tuple(out);
    return OP_OK;
}

/* ------------------------------------------------------------------ */
/* socketpair_of, send, recv                                             */

static enum op_status op_socketpair_of(const struct val *args, struct out *out)
{
    int type;
    if (args_between(args, 1, 1) != 0 || type_of(args->items[0], &type) != 0) {
        return OP_ERROR;
    }
    return pair_result(AF_UNIX, type, out);
}

/* kernel.py's _msg_flags: the flags from their names; an unknown name is a ValueError */
static int msg_flags(const struct val *names, int *flags)
{
    /* MSG_FLAG_NAMES and MSG_FLAGS_KNOWN (socket_names.h): kernel.py's MSG_FLAGS */
    const struct named_bit *known = MSG_FLAG_NAMES;
    const size_t n_known = sizeof MSG_FLAG_NAMES / sizeof *MSG_FLAG_NAMES;
    const char *sorted_known = MSG_FLAGS_KNOWN;
    const struct val *const *items = NULL;
    size_t stride = 1;
    char first[200];
    long count = names_of(names, &items, &stride, first, sizeof first);
    if (count == -1) {
        op_error("TypeError: '%s' object is not iterable", first);
        return -1;
    }
    if (count == -2) {
        op_error("ValueError: unknown message flag %s; known: %s", first, sorted_known);
        return -1;
    }
    *flags = 0;
    for (long i = 0; i < count; i++) {
        const struct val *name = items[(size_t)i * stride];
        size_t j = 0;
        for (; j < n_known; j++) {
            if (name->kind == V_STR && strcmp(name->s, known[j].name) == 0 &&
                strlen(known[j].name) == name->len) {
                break;
            }
        }
        if (j == n_known) {
            char shown[200];
            repr_val(shown, sizeof shown, name);
            op_error("ValueError: unknown message flag %s; known: %s", shown, sorted_known);
            return -1;
        }
        *flags |= (int)known[j].bit;
    }
    return 0;
}

static enum op_status op_send(const struct val *args, struct out *out)
{
    int fd, flags;
    if (args_between(args, 3, 3) != 0 || arg_cint(args, 0, &fd) != 0) {
        return OP_ERROR;
    }
    const struct val *data = args->items[1];
    if (data->kind != V_BYTES && data->kind != V_STR && data->kind != V_TUPLE &&
        data->kind != V_DICT) {
        return op_error("TypeError: object of type '%s' has no len()", val_type_name(data));
    }
    if (msg_flags(args->items[2], &flags) != 0) {
        return OP_ERROR;
    }
    if (data->kind != V_BYTES) {
        return op_error("ArgumentError: argument 2: TypeError: wrong type");
    }
    /* libc send, no EINTR retry */
    return int_result(send(fd, data->s, data->len, flags), out);
}

static enum op_status op_recv(const struct val *args, struct out *out)
{
    int fd, flags;
    long long count;
    if (args_between(args, 3, 3) != 0 || arg_cint(args, 0, &fd) != 0 ||
        arg_int(args, 1, &count) != 0 || msg_flags(args->items[2], &flags) != 0) {
        return OP_ERROR;
    }
    /* create_string_buffer(max(count, 1)); the length passed is count as a
       c_size_t, which for a negative count is huge: the kernel then writes
       what it has past the one-byte buffer. Here a large unbacked mapping
       takes those bytes instead, and the result is the buffer's one byte at
       most, as buf.raw[:n] is. */
    size_t size = count > 1 ? (size_t)count : 1;
    size_t length = (size_t)(unsigned long long)count;
    size_t map_size = (size_t)1 << 30;
    char *buf;
    int mapped = 0;
    if (count < 0) {
        buf = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (buf == MAP_FAILED) {
            return op_error("MemoryError: ");
        }
        mapped = 1;
    } else {
        buf = calloc(size, 1);
        if (!buf) {
            return op_error("MemoryError: ");
        }
    }
    ssize_t n = recv(fd, buf, length, flags);
    int err = errno;
    if (n >= 0) {
        out_bytes(out, buf, (size_t)n < size ? (size_t)n : size);
    }
    if (mapped) {
        munmap(buf, map_size);
    } else {
        free(buf);
    }
    if (n < 0) {
        errno = err;
        return OP_ERRNO;
    }
    return OP_OK;
}

/* ------------------------------------------------------------------ */
/* unix_bind, unix_connect                                               */

/* kernel.py's _unix_dgram: a plain (inheritable) AF_UNIX datagram socket,
   bound or connected to the path as given; closed again on any failure
   (an OSError closes it explicitly, any other exception drops the last
   reference to the socket object, which closes it too). */
static enum op_status unix_dgram(const struct val *args, int connect_, struct out *out)
{
    if (args_between(args, 1, 1) != 0) {
        return OP_ERROR;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd == -1) {
        return OP_ERRNO;
    }
    /* socket.socket(fileno=fd) */
    struct sockaddr_storage probe;
    socklen_t probe_len = sizeof probe;
    int value;
    socklen_t vlen = sizeof value;
    enum op_status status = OP_OK;
    union sockaddr_any addr;
    socklen_t len = 0;
    int family = AF_UNIX;
    if (getsockname(fd, (struct sockaddr *)&probe, &probe_len) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &vlen) != 0 ||
        (vlen = sizeof value, getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &value, &vlen)) != 0) {
        return OP_ERRNO; /* outside kernel.py's try: no socket object owns fd yet, none closes it */
    }
    family = probe.ss_family;
    status = sockaddr_arg(family, args->items[0], 0, connect_ ? "connect" : "bind", &addr, &len);
    if (status == OP_OK) {
        int code;
        if (connect_) {
            code = internal_connect(fd, &addr, len);
        } else {
            code = bind(fd, &addr.sa, len) == 0 ? 0 : errno;
        }
        if (code == 0) {
            out_int(out, fd);
            return OP_OK;
        }
        errno = code;
        status = OP_ERRNO;
    }
    int err = errno;
    close(fd);
    errno = err;
    return status;
}

static enum op_status op_unix_bind(const struct val *args, struct out *out)
{
    return unix_dgram(args, 0, out);
}

static enum op_status op_unix_connect(const struct val *args, struct out *out)
{
    return unix_dgram(args, 1, out);
}

/* ------------------------------------------------------------------ */

const struct op_entry socket_ops[] = {
    {"socketpair", op_socketpair},
    {"sendfd", op_sendfd},
    {"recvfd", op_recvfd},
    {"unix_bind", op_unix_bind},
    {"unix_connect", op_unix_connect},
    {"socket", op_socket},
    {"bind", op_bind},
    {"listen", op_listen},
    {"accept", op_accept},
    {"connect", op_connect},
    {"local_port", op_local_port},
    {"shutdown", op_shutdown},
    {"poll", op_poll},
    {"socketpair_of", op_socketpair_of},
    {"send", op_send},
    {"recv", op_recv},
    {NULL, NULL},
};
