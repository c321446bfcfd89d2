/*
 * sandbox: self-restriction of a daemon after setup (STYLE rule 9) with
 * Linux Landlock: afterwards the process can reach only the listed paths in
 * the filesystem, so a compromised simulator cannot read another device's
 * state directory or the terminal's keys. Best effort by design: on a kernel
 * without Landlock it returns MAMORI_ERR_UNSUPPORTED and the caller decides.
 */
#ifndef MAMORI_SANDBOX_H
#define MAMORI_SANDBOX_H

#include <stddef.h>

#define SANDBOX_MAX_PATHS 16

/* Allow everything beneath each rw path (directories or files, e.g. a state
 * directory and a tty), read/execute beneath each ro path (libraries,
 * /etc), nothing else. Irreversible for the process and its children.
 * 0, MAMORI_ERR_UNSUPPORTED (no Landlock), MAMORI_ERR_INVAL (too many paths),
 * MAMORI_ERR_SYS. A path that does not exist is skipped. */
int sandbox_restrict(const char *const *rw, size_t nrw, const char *const *ro, size_t nro);

#endif
