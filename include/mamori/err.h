/*
 * mamori error space (cross-process contract).
 *
 * Every fallible function returns int: 0 on success or one of the negative
 * MAMORI_ERR_* codes below. The numbers are stable: they travel in bus error
 * messages and CLI exit statuses, so never renumber, only append.
 */
#ifndef MAMORI_ERR_H
#define MAMORI_ERR_H

enum mamori_err {
    MAMORI_OK = 0,
    MAMORI_ERR_INTERNAL = -1,    /* a bug: an invariant did not hold */
    MAMORI_ERR_NOMEM = -2,       /* allocation failed */
    MAMORI_ERR_INVAL = -3,       /* invalid argument or malformed input */
    MAMORI_ERR_SHORT = -4,       /* input ended before the value did */
    MAMORI_ERR_TRAILING = -5,    /* bytes left over after a complete value */
    MAMORI_ERR_TOOBIG = -6,      /* a size limit was exceeded */
    MAMORI_ERR_CRYPTO = -7,      /* a crypto library call failed */
    MAMORI_ERR_AUTH = -8,        /* MAC, AEAD tag or signature did not verify */
    MAMORI_ERR_IO = -9,          /* read/write/socket failure (errno kept by caller) */
    MAMORI_ERR_DB = -10,         /* SQLite error */
    MAMORI_ERR_NOTFOUND = -11,   /* no such object */
    MAMORI_ERR_EXISTS = -12,     /* object already exists */
    MAMORI_ERR_PERM = -13,       /* not allowed for this actor */
    MAMORI_ERR_STATE = -14,      /* not allowed in the current state */
    MAMORI_ERR_TIMEOUT = -15,    /* deadline passed */
    MAMORI_ERR_CLOSED = -16,     /* peer closed the connection */
    MAMORI_ERR_AGAIN = -17,      /* would block; try again */
    MAMORI_ERR_PROTO = -18,      /* protocol violation by the peer */
    MAMORI_ERR_REPLAY = -19,     /* a message or counter was seen before */
    MAMORI_ERR_LIMIT = -20,      /* rate or resource limit reached */
    MAMORI_ERR_CONFIG = -21,     /* bad configuration */
    MAMORI_ERR_UNSUPPORTED = -22,/* valid but not supported here */
    MAMORI_ERR_REFUSED = -23,    /* refused by policy (unknown device, unlisted program) */
    MAMORI_ERR_BUSY = -24,       /* resource is in use (claimed by another) */
    MAMORI_ERR_OFFLINE = -25,    /* device or service is not connected */
    MAMORI_ERR_CHECKSUM = -26,   /* check digit / CRC / Luhn failed */
    MAMORI_ERR_LOCKED = -27,     /* account locked out */
    MAMORI_ERR_DECLINED = -28,   /* payment declined */
    MAMORI_ERR_TAMPER = -29,     /* a device reported tamper / evidence of tampering */
    MAMORI_ERR_SYS = -30,        /* a system call failed; see errno */
    MAMORI_ERR__LAST = -31,
};

/* Text for an error code; never NULL. */
const char *mamori_strerror(int err);

#endif
