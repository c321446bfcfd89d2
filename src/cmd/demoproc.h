/*
 * demoproc: the child-process helpers the demo steps share (demo_register.c,
 * demo_pay.c): start a built program with a given stdin, run one to
 * completion collecting its stdout with a deadline.
 */
#ifndef MAMORI_DEMOPROC_H
#define MAMORI_DEMOPROC_H

#include <stddef.h>
#include <sys/types.h>

/* Sleep ms milliseconds. */
void demoproc_nap(int ms);

/* Start bindir/argv[0] with input (may be NULL) on its stdin; its stdout goes
 * to *ret_fd (a pipe the caller closes) or /dev/null when ret_fd is NULL;
 * stderr to /dev/null. The pid, or -1. */
pid_t demoproc_start(const char *bindir, const char *const *argv, const char *input, int *ret_fd);

/* Run to completion (killed after timeout_ms); stdout into out (NUL-terminated,
 * cut at cap - 1). The exit status, or -1. */
int demoproc_run(const char *bindir, const char *const *argv, const char *input, char *out, size_t cap,
                 int timeout_ms);

#endif
