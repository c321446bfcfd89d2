/* demoproc.c: child processes for the demo steps (see demoproc.h). */
#include "cmd/demoproc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/evloop.h"

void demoproc_nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

pid_t demoproc_start(const char *bindir, const char *const *argv, const char *input, int *ret_fd)
{
    int in[2], out[2];
    char exe[1024];
    pid_t pid;
    int n = snprintf(exe, sizeof(exe), "%s/%s", bindir, argv[0]);
    if (n < 0 || n >= (int)sizeof(exe) || pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(in[0], 0);
        dup2(ret_fd ? out[1] : devnull, 1);
        dup2(devnull, 2);
        execv(exe, (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (pid > 0 && input && write(in[1], input, strlen(input)) < 0)
        (void)0; /* the child exited early: its status tells */
    close(in[1]);
    if (ret_fd && pid > 0)
        *ret_fd = out[0];
    else
        close(out[0]);
    return pid;
}

int demoproc_run(const char *bindir, const char *const *argv, const char *input, char *out, size_t cap,
                 int timeout_ms)
{
    int fd = -1, st;
    size_t n = 0;
    int64_t end = evloop_now_ms() + timeout_ms;
    pid_t pid = demoproc_start(bindir, argv, input, &fd);
    if (pid < 0 || cap == 0)
        return -1;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(end - evloop_now_ms());
        ssize_t k;
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        if ((k = read(fd, out + n, cap - 1 - n)) <= 0)
            break;
        n += (size_t)k;
    }
    out[n] = '\0';
    close(fd);
    if (evloop_now_ms() >= end)
        kill(pid, SIGKILL);
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int demoproc_pathf(char *out, size_t cap, const char *f, ...)
{
    va_list ap;
    int n;
    va_start(ap, f);
    n = vsnprintf(out, cap, f, ap);
    va_end(ap);
    return n;
}

void demoproc_step(struct demoproc *d, int ok, const char *what)
{
    printf("  [%s] %s\n", ok ? "ok" : "FAILED", what);
    fflush(stdout);
    if (!ok)
        d->failures++;
}

int demoproc_exec(struct demoproc *d, const char *const *argv, const char *input)
{
    return demoproc_run(d->bindir, argv, input, d->out, DEMOPROC_OUT_MAX, DEMOPROC_RUN_MS);
}

pid_t demoproc_start_ready(struct demoproc *d, const char *const *argv, char *line, size_t cap)
{
    char buf[256];
    size_t n = 0;
    int fd = -1;
    int64_t end = evloop_now_ms() + DEMOPROC_WAIT_MS;
    pid_t pid = demoproc_start(d->bindir, argv, NULL, &fd);
    if (pid < 0)
        return -1;
    while (n + 1 < sizeof(buf)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(end - evloop_now_ms());
        ssize_t k;
        if (left <= 0 || poll(&p, 1, left) <= 0 || (k = read(fd, buf + n, sizeof(buf) - 1 - n)) <= 0)
            break;
        n += (size_t)k;
        buf[n] = '\0';
        if (strstr(buf, "ready") && strchr(strstr(buf, "ready"), '\n')) {
            if (line)
                snprintf(line, cap, "%s", strstr(buf, "ready"));
            close(fd);
            return pid;
        }
    }
    close(fd);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

void demoproc_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

int demoproc_terminal(struct demoproc *d, const char *dir, const char *term,
                      const char *const (*ops)[3], size_t nops)
{
    char vendor[DEMOPROC_PATH_MAX], ca[DEMOPROC_PATH_MAX], db[DEMOPROC_PATH_MAX];
    int ok;
    demoproc_pathf(vendor, sizeof(vendor), "%s/vendor", dir);
    demoproc_pathf(ca, sizeof(ca), "%s/ca.pub", vendor);
    {
        const char *a[] = {"mamori", "vendor", "init", "--dir", vendor, NULL};
        const char *b[] = {"mamori", "devices", "trust-ca", "--state", term, "--ca-pub", ca, NULL};
        ok = demoproc_exec(d, a, NULL) == 0 && demoproc_exec(d, b, NULL) == 0;
    }
    demoproc_pathf(db, sizeof(db), "%s/operators.db", term);
    for (size_t i = 0; ok && i < nops; i++) {
        char pw[64];
        const char *a[] = {"mamori", "operator", "add", "--db", db, "--id", ops[i][0], "--name",
                           ops[i][0], "--role", ops[i][1], NULL};
        demoproc_pathf(pw, sizeof(pw), "%s\n", ops[i][2]);
        ok = demoproc_exec(d, a, pw) == 0;
    }
    return ok ? 0 : -1;
}

int demoproc_items(struct demoproc *d, const char *datadir, const char *term)
{
    char p[DEMOPROC_PATH_MAX], q[DEMOPROC_PATH_MAX];
    demoproc_pathf(p, sizeof(p), "%s/items.csv", datadir);
    demoproc_pathf(q, sizeof(q), "%s/items.db", term);
    const char *a[] = {"mamori", "items", "import", p, "--db", q, NULL};
    return demoproc_exec(d, a, NULL) == 0 ? 0 : -1;
}

int demoproc_enrol(struct demoproc *d, const char *dir, const char *term, const char *const *kinds,
                   size_t n)
{
    char vendor[DEMOPROC_PATH_MAX];
    int ok = 1;
    demoproc_pathf(vendor, sizeof(vendor), "%s/vendor", dir);
    for (size_t i = 0; ok && i < n; i++) {
        char st[DEMOPROC_PATH_MAX], id[DEMOPROC_PATH_MAX], cert[DEMOPROC_PATH_MAX];
        demoproc_pathf(st, sizeof(st), "%s/dev-%s", dir, kinds[i]);
        demoproc_pathf(id, sizeof(id), "%s/identity.json", st);
        demoproc_pathf(cert, sizeof(cert), "%s/device.cert", st);
        const char *a[] = {"mamori-devsim", "init", "--kind", kinds[i], "--state", st, NULL};
        const char *b[] = {"mamori", "vendor", "issue", "--dir", vendor, "--identity", id, "--out",
                           cert, NULL};
        const char *c[] = {"mamori", "devices", "enrol", "--state", term, "--cert", cert,
                           "--kind", kinds[i], "--maintainer", "maint", "--manager", "boss",
                           NULL};
        ok = demoproc_exec(d, a, NULL) == 0 && demoproc_exec(d, b, NULL) == 0 &&
             demoproc_exec(d, c, "maint-pw-1\nboss-pw-1\n") == 0;
    }
    return ok ? 0 : -1;
}

void demoproc_devices(struct demoproc *d, const char *dir, const char *term, const char *const *kinds,
                      size_t n, const char *runtime, pid_t *pids)
{
    char bus[DEMOPROC_PATH_MAX];
    demoproc_pathf(bus, sizeof(bus), "unix:%s/bus.sock", term);
    for (size_t i = 0; i < n; i++) {
        char st[DEMOPROC_PATH_MAX];
        demoproc_pathf(st, sizeof(st), "%s/dev-%s", dir, kinds[i]);
        const char *a[] = {"mamori-devsim", "--kind", kinds[i], "--state", st, "--connect", bus,
                           "--max-runtime", runtime, NULL};
        pids[i] = demoproc_start_ready(d, a, NULL, 0);
    }
}
