/*
 * cmd.h: shared helpers for the mamori CLI verbs.
 *
 * Exit codes (documented in docs/operations.md):
 *   0 success, 1 failure (the message says why), 2 usage error,
 *   3 verification failed (audit, integrity, certificate), 4 refused by policy.
 */
#ifndef MAMORI_CMD_H
#define MAMORI_CMD_H

#include <stdbool.h>
#include <stdio.h>

enum { EXIT_USAGE = 2, EXIT_VERIFY = 3, EXIT_REFUSED = 4 };

#define VERB(name, summary) int cmd_##name(int argc, char **argv);
#include "cmd/verbs.def"
#undef VERB

/* Print "mamori VERB: message: strerror(err)" to stderr; returns 1. */
int cmd_fail(const char *verb, const char *what, int err);

/* True when argv has --help or -h (prints usage first). */
bool cmd_wants_help(int argc, char **argv, const char *usage);

/* Read one line (without its newline, a trailing CR dropped) from fd into
 * guarded memory, byte at a time so no stdio buffer keeps a copy; at most
 * OPERATOR_PASSWORD_MAX bytes (else MAMORI_ERR_TOOBIG). 0 and *ret, which the
 * caller secmem_free()s. (cmdutil.c) */
int cmd_read_password(int fd, char **ret);

#endif
