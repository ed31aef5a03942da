/* dup(2) that never returns the lowest free descriptor (it starts at 10):
 * fd.dup.new-number must catch it. */
#include "cactor.h"

#include <fcntl.h>

static enum op_status dup_from_ten(const struct val *args, struct out *out)
{
    long long fd;
    if (args_between(args, 1, 1) || arg_int(args, 0, &fd)) {
        return OP_ERROR;
    }
    return int_result(fcntl((int)fd, F_DUPFD, 10), out);
}

const struct op_entry mutant_ops[] = {{"dup", dup_from_ten}, {NULL, NULL}};
