/*
 * demoproc: the child-process helpers the demo steps share (demo_register.c,
 * demo_pay.c): start a built program with a given stdin, run one to
 * completion collecting its stdout with a deadline, start a daemon and wait
 * for its "ready" line; and the parts of a demo terminal they build the same
 * way (vendor CA, operators, item master, enrolled and running simulated
 * devices), with the demo's "[ok]/[FAILED] step" lines.
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

#define DEMOPROC_OUT_MAX (256 * 1024) /* stdout kept from one program run */
#define DEMOPROC_RUN_MS 120000        /* one program run */
#define DEMOPROC_WAIT_MS 20000        /* a daemon's "ready", the devices attaching */
#define DEMOPROC_PATH_MAX 1024

/* One demo part: where the programs are, the last run's stdout (out, malloc'd
 * DEMOPROC_OUT_MAX bytes by the part) and how many of its steps failed. */
struct demoproc {
    const char *bindir;
    char *out;
    int failures;
};

/* snprintf that reports truncation (paths here are far below the limits). */
__attribute__((format(printf, 3, 4))) int demoproc_pathf(char *out, size_t cap, const char *f, ...);
/* Print "  [ok] what" or "  [FAILED] what" (counted in d->failures). */
void demoproc_step(struct demoproc *d, int ok, const char *what);
/* demoproc_run of d->bindir/argv[0], stdout into d->out. Exit status or -1. */
int demoproc_exec(struct demoproc *d, const char *const *argv, const char *input);
/* Start a daemon and wait (DEMOPROC_WAIT_MS) for its "ready" line, copied
 * into line (cap bytes) when line is not NULL. The pid, or -1 (killed). */
pid_t demoproc_start_ready(struct demoproc *d, const char *const *argv, char *line, size_t cap);
/* SIGTERM pid (when > 0) and reap it. */
void demoproc_stop(pid_t pid);

/* A demo terminal at term: a vendor CA in dir/vendor trusted by it, and the
 * operators ops[i] = {id, role, password}. 0 or -1. */
int demoproc_terminal(struct demoproc *d, const char *dir, const char *term,
                      const char *const (*ops)[3], size_t nops);
/* Import datadir/items.csv into term/items.db. 0 or -1. */
int demoproc_items(struct demoproc *d, const char *datadir, const char *term);
/* Create the simulated devices of kinds[] in dir/dev-KIND, certify them with
 * the vendor CA of demoproc_terminal and enrol them at term under dual
 * control (maintainer "maint", manager "boss"). 0 or -1. */
int demoproc_enrol(struct demoproc *d, const char *dir, const char *term, const char *const *kinds,
                   size_t n);
/* Start the devices of demoproc_enrol against term's bus, each with
 * --max-runtime runtime; their pids into pids[] (-1 for one that did not
 * start). */
void demoproc_devices(struct demoproc *d, const char *dir, const char *term, const char *const *kinds,
                      size_t n, const char *runtime, pid_t *pids);

#endif
