/* err.c: the text of the mamori error space (include/mamori/err.h). */
#include "mamori/err.h"

static const char *const err_text[] = {
    [0] = "success",
    [1] = "internal error",
    [2] = "out of memory",
    [3] = "invalid argument or malformed input",
    [4] = "input too short",
    [5] = "trailing data after value",
    [6] = "size limit exceeded",
    [7] = "cryptographic library failure",
    [8] = "authentication failed",
    [9] = "input/output error",
    [10] = "database error",
    [11] = "not found",
    [12] = "already exists",
    [13] = "permission denied",
    [14] = "not allowed in this state",
    [15] = "timed out",
    [16] = "connection closed",
    [17] = "try again",
    [18] = "protocol violation",
    [19] = "replay detected",
    [20] = "rate or resource limit reached",
    [21] = "configuration error",
    [22] = "not supported",
    [23] = "refused by policy",
    [24] = "busy (claimed by another)",
    [25] = "offline",
    [26] = "check digit or checksum mismatch",
    [27] = "locked out",
    [28] = "declined",
    [29] = "tamper detected",
    [30] = "system call failed",
};

const char *mamori_strerror(int err)
{
    if (err > 0 || err <= MAMORI_ERR__LAST)
        return "unknown error";
    return err_text[-err];
}
