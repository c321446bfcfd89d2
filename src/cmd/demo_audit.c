/*
 * demo_audit.c: the audit steps of `mamori demo` (demo_audit.h). Owns only
 * running the CLI on the demo day's files and judging what it printed; the
 * checks themselves are `mamori audit`, `mamori devices log` and
 * `mamori audit reconcile`.
 */
#include "cmd/demo_audit.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#define DA_PATH_MAX 1024
#define DA_OUT_MAX (512 * 1024)
#define DA_TIMEOUT_MS 60000
#define DA_FILE_MAX (64u << 20) /* the database copy edited in memory */

struct da {
    const char *bindir;
    char *out;
    int failures;
};

static void step(struct da *d, int ok, const char *what)
{
    printf("  [%s] %s\n", ok ? "ok" : "FAILED", what);
    fflush(stdout);
    if (!ok)
        d->failures++;
}

static int64_t ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run bindir/mamori argv...; stdout+stderr into d->out. Exit status or -1. */
static int run(struct da *d, const char *const *argv)
{
    char exe[DA_PATH_MAX];
    int out[2], st;
    size_t n = 0;
    int64_t end = ms_now() + DA_TIMEOUT_MS;
    pid_t pid;
    if (snprintf(exe, sizeof(exe), "%s/%s", d->bindir, argv[0]) >= (int)sizeof(exe) || pipe2(out, O_CLOEXEC) != 0)
        return -1;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        execv(exe, (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(out[1]);
    if (pid < 0) {
        close(out[0]);
        return -1;
    }
    while (n + 1 < DA_OUT_MAX) {
        struct pollfd p = {.fd = out[0], .events = POLLIN};
        int left = (int)(end - ms_now());
        ssize_t k;
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        if ((k = read(out[0], d->out + n, DA_OUT_MAX - 1 - n)) <= 0)
            break;
        n += (size_t)k;
    }
    d->out[n] = '\0';
    close(out[0]);
    if (ms_now() >= end)
        kill(pid, SIGKILL);
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The last lines of d->out. */
static void print_tail(const struct da *d, int lines, const char *indent)
{
    const char *p = d->out + strlen(d->out);
    int seen = 0;
    while (p > d->out) {
        if (p[-1] == '\n' && ++seen > lines)
            break;
        p--;
    }
    for (const char *q = p; *q;) {
        const char *e = strchr(q, '\n');
        size_t len = e ? (size_t)(e - q) : strlen(q);
        printf("%s%.*s\n", indent, (int)len, q);
        q += len + (e ? 1 : 0);
    }
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rbe"), *b;
    char buf[65536];
    size_t k;
    int r = 0;
    if (a == NULL)
        return -1;
    if ((b = fopen(to, "wbxe")) == NULL) {
        fclose(a);
        return -1;
    }
    while ((k = fread(buf, 1, sizeof(buf), a)) > 0)
        if (fwrite(buf, 1, k, b) != k)
            r = -1;
    fclose(a);
    if (fclose(b) != 0)
        r = -1;
    return r;
}

/* Fold the copy's WAL into it, then flip one bit of the newest audit entry's
 * details inside the database file (as an insider with the disk would). */
static int tamper_copy(const char *path, long *ret_off)
{
    sqlite3 *db = NULL;
    FILE *f;
    unsigned char *p;
    long n, at = -1;
    static const char pat[] = "\"pid\":";
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_close(db);
    if ((f = fopen(path, "r+be")) == NULL)
        return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || (unsigned long)n > DA_FILE_MAX ||
        fseek(f, 0, SEEK_SET) != 0 || (p = malloc((size_t)n)) == NULL) {
        fclose(f);
        return -1;
    }
    if (fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        fclose(f);
        return -1;
    }
    for (long i = 0; i + (long)sizeof(pat) < n; i++)
        if (memcmp(p + i, pat, sizeof(pat) - 1) == 0)
            at = i;
    if (at >= 0) {
        at += (long)sizeof(pat); /* the pid's second digit */
        p[at] ^= 0x01;
        if (fseek(f, at, SEEK_SET) != 0 || fwrite(p + at, 1, 1, f) != 1)
            at = -1;
    }
    free(p);
    if (fclose(f) != 0)
        at = -1;
    *ret_off = at;
    return at >= 0 ? 0 : -1;
}

__attribute__((format(printf, 3, 4))) static void pathf(char *out, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    (void)vsnprintf(out, cap, f, ap);
    va_end(ap);
}

int demo_audit(const char *bindir, const char *term, const char *devdir, const char *workdir, const char *datadir)
{
    struct da d = {.bindir = bindir};
    char db[DA_PATH_MAX], keys[DA_PATH_MAX], tdb[DA_PATH_MAX], a[DA_PATH_MAX], b[DA_PATH_MAX];
    char ident[DA_PATH_MAX], serial[128] = "", day[DA_PATH_MAX];
    long off = -1;
    int rc;
    if ((d.out = malloc(DA_OUT_MAX)) == NULL)
        return 1;
    printf("---- the audit trail (issue 5): tamper-evident log, device logs, cash reconciliation ----\n");
    pathf(db, sizeof(db), "%s/audit.db", term);
    pathf(keys, sizeof(keys), "%s/verifier.json", workdir);
    {
        const char *v[] = {"mamori", "audit", "keys", "--export", keys, "--db", db, NULL};
        rc = run(&d, v);
        step(&d, rc == 0, "provisioning: the verifier keys (initial seal key, audit public key) moved off the "
                          "terminal");
    }
    {
        const char *v[] = {"mamori", "audit", "show", "--db", db, NULL};
        rc = run(&d, v);
        printf("  the demo day's audit trail (last 12 of it):\n");
        print_tail(&d, 12, "    ");
        step(&d, rc == 0 && strstr(d.out, "signon") != NULL && strstr(d.out, "cash.command") != NULL,
             "sign-ons, cash commands, device attach records and the Z report are in the trail");
    }
    {
        const char *v[] = {"mamori", "audit", "verify", "--db", db, "--keys", keys, NULL};
        rc = run(&d, v);
        print_tail(&d, 2, "    ");
        step(&d, rc == 0, "mamori audit verify: every seal, Merkle root, signed checkpoint and the tail seal "
                          "verify with the exported keys");
    }
    pathf(tdb, sizeof(tdb), "%s/tampered.db", workdir);
    pathf(a, sizeof(a), "%s-wal", db);
    pathf(b, sizeof(b), "%s-wal", tdb);
    {
        struct stat st;
        int ok = copy_file(db, tdb) == 0 && (stat(a, &st) != 0 || copy_file(a, b) == 0);
        pathf(a, sizeof(a), "%s.seal", db);
        pathf(b, sizeof(b), "%s.seal", tdb);
        ok = ok && copy_file(a, b) == 0 && tamper_copy(tdb, &off) == 0;
        printf("  an insider edits one byte of (a copy of) the database file at offset %ld\n", off);
        const char *v[] = {"mamori", "audit", "verify", "--db", tdb, "--keys", keys, NULL};
        rc = ok ? run(&d, v) : -1;
        {
            const char *at = strstr(d.out, "at entry");
            const char *eol = at ? strchr(at, '\n') : NULL;
            if (at != NULL)
                printf("    mamori audit verify (exit %d): detected %.*s\n", rc, (int)(eol ? eol - at : (long)strlen(at)), at);
        }
        step(&d, rc == 3 && strstr(d.out, "entry") != NULL,
             "mamori audit verify names the edited entry and exits 3");
    }
    /* The change machine's own signed log, fetched by the terminal. */
    pathf(ident, sizeof(ident), "%s/dev-changer/identity.json", devdir);
    {
        json_error_t je;
        json_t *j = json_load_file(ident, 0, &je);
        const char *s = j ? json_string_value(json_object_get(j, "serial")) : NULL;
        if (s != NULL)
            snprintf(serial, sizeof(serial), "%s", s);
        json_decref(j);
    }
    {
        const char *v[] = {"mamori", "devices", "log", serial, "--state", term, "--no-sync", NULL};
        rc = run(&d, v);
        printf("  the change machine's own log as the terminal fetched it:\n");
        print_tail(&d, 6, "    ");
        step(&d, rc == 0 && strstr(d.out, "changer.dispense") != NULL,
             "the change machine logged every deposit and payout (denominations), signed in the device");
        const char *w[] = {"mamori", "devices", "log", serial, "--state", term, "--no-sync", "--verify", NULL};
        rc = run(&d, w);
        print_tail(&d, 1, "    ");
        step(&d, rc == 0, "its log verifies with only the log key of its manufacturer certificate");
    }
    pathf(day, sizeof(day), "%s/demo/cash-day.json", datadir);
    {
        const char *v[] = {"mamori", "audit", "reconcile", "--day", day, NULL};
        rc = run(&d, v);
        printf("  cash reconciliation of a day with one planted hidden payout (data/demo/cash-day.json):\n");
        print_tail(&d, 6, "    ");
        step(&d, rc == 3 && strstr(d.out, "device-not-in-journal") != NULL,
             "the hidden payout is reported with its time window and the operators signed on");
    }
    free(d.out);
    return d.failures;
}
