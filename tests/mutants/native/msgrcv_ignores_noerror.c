/* msgrcv(2) that drops MSG_NOERROR, so a long message is refused (E2BIG)
 * instead of truncated: sysv.msg.noerror-truncates must catch it. */
#include "cactor.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/msg.h>

#define ROOM (1 << 20)

static enum op_status msgrcv_without_noerror(const struct val *args, struct out *out)
{
    long long qid, maxsize, msgtyp, flags;
    if (args_between(args, 4, 4) || arg_int(args, 0, &qid) || arg_int(args, 1, &maxsize) ||
        arg_int(args, 2, &msgtyp) || arg_int(args, 3, &flags)) {
        return OP_ERROR;
    }
    if (maxsize < 0 || maxsize > ROOM) {
        return op_error("this mutant receives at most %d bytes", ROOM);
    }
    struct {
        long mtype;
        char text[ROOM];
    } *buf = malloc(sizeof *buf);
    ssize_t n = msgrcv((int)qid, buf, (size_t)maxsize, (long)msgtyp, (int)(flags & ~MSG_NOERROR));
    if (n < 0) {
        int err = errno;
        free(buf);
        errno = err;
        return OP_ERRNO;
    }
    out_mark(out);
    out_int(out, buf->mtype);
    out_bytes(out, buf->text, (size_t)n);
    out_tuple(out);
    free(buf);
    return OP_OK;
}

const struct op_entry mutant_ops[] = {{"msgrcv", msgrcv_without_noerror}, {NULL, NULL}};
