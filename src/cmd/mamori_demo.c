/*
 * mamori demo: the first end-to-end demonstration (issue 2), run by
 * `make demo`. In a fresh temporary directory it:
 *   1. creates the vendor (manufacturer) CA and the terminal's state,
 *   2. creates a maintainer and a manager,
 *   3. makes the 12 simulated devices, has the vendor issue their
 *      certificates and enrols each with both operators (dual control),
 *   4. starts mamori-terminald and the 12 simulators on a unix-socket bus,
 *   5. scans an item and shows it reach the application (the device API
 *      watcher in terminald) and the line display,
 *   6. swipes a card at the MSR before any key injection: refused (POL-2),
 *   7. plugs in a rogue scanner (a genuine certificate, never enrolled) and
 *      shows it refused and recorded,
 *   8. unplugs the printer and shows the detach record,
 *   9. prints a summary, stops everything and exits 0 only if every step
 *      showed what it should.
 *
 * Everything it starts is a child process that also stops by itself
 * (--max-runtime); every wait has a deadline. Nothing listens beyond unix
 * sockets in the temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bus/ctl.h"
#include "cmd/cmd.h"
#include "cmd/demo_audit.h"
#include "cmd/demo_pay.h"
#include "cmd/demo_register.h"
#include "cmd/demoproc.h"
#include "common/buf.h"
#include "common/evloop.h"
#include "mamori/err.h"

#define DEMO_PATH_MAX 1024
#define DEMO_DIR_MAX 512 /* the demo directory: paths under it fit DEMO_PATH_MAX */
#define DEMO_NDEV 12
#define DEMO_RUNTIME "300"     /* children stop by themselves after this (s) */
#define DEMO_STEP_MS 10000     /* the longest any single step may wait */
#define DEMO_OUT_MAX 65536

static const char usage_text[] =
    "usage: mamori demo [--dir DIR] [--keep]\n"
    "Runs mamori-terminald and the 12 device simulators in a temporary directory\n"
    "(or DIR, which must not exist), enrols the devices with two operators, scans\n"
    "an item, plugs in a rogue device, unplugs a device, prints a summary and\n"
    "stops everything. --keep leaves the directory for inspection.\n"
    "exit: 0 every step showed what it should, 1 otherwise, 2 usage\n";

static const char *const demo_kinds[DEMO_NDEV] = {
    "scanner", "msr",     "pinpad",      "icreader",    "scale",    "drawer",
    "changer", "printer", "linedisplay", "custdisplay", "keyboard", "sigpad",
};

#define MAINT "maint1"
#define MAINT_PW "demo-maintainer-pw"
#define MGR "mgr1"
#define MGR_PW "demo-manager-pw"

struct demo {
    char dir[DEMO_DIR_MAX];
    char bindir[DEMO_PATH_MAX];
    char term[DEMO_PATH_MAX];
    pid_t tpid;
    pid_t dpid[DEMO_NDEV + 1]; /* + the rogue */
    char serial[DEMO_NDEV + 1][64];
    int failures;
    int steps;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("[demo] ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
}

static void check(struct demo *d, bool ok, const char *what)
{
    d->steps++;
    if (!ok)
        d->failures++;
    say("%s %s", ok ? "OK  " : "FAIL", what);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int path_in(char *out, const char *a, const char *b)
{
    int n = snprintf(out, DEMO_PATH_MAX, "%s/%s", a, b);
    return n < 0 || n >= DEMO_PATH_MAX ? MAMORI_ERR_TOOBIG : 0;
}

/* Wait for pid up to ms; kill it after that. Returns its exit status or -1. */
static int reap(pid_t pid, int ms)
{
    int st;
    int64_t end = evloop_now_ms() + ms;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (w < 0)
            return -1;
        if (evloop_now_ms() > end) {
            kill(pid, SIGKILL);
            (void)waitpid(pid, &st, 0);
            return -1;
        }
        sleep_ms(10);
    }
}

/* Start prog (in bindir): demoproc_start. */
static pid_t spawn(const struct demo *d, const char *const *argv, const char *input, int *ret_out)
{
    return demoproc_start(d->bindir, argv, input, ret_out);
}

/* Read fd into out (NUL-terminated) until EOF or ms. */
static void slurp(int fd, char *out, size_t cap, int ms)
{
    size_t n = 0;
    int64_t end = evloop_now_ms() + ms;
    out[0] = '\0';
    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(end - evloop_now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        ssize_t k = read(fd, out + n, cap - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    out[n] = '\0';
}

/* Run a program to completion; its stdout into out. Returns its exit status. */
static int run(const struct demo *d, const char *const *argv, const char *input, char *out,
               size_t cap)
{
    int fd = -1;
    char sink[256];
    pid_t pid = spawn(d, argv, input, &fd);
    if (pid < 0)
        return -1;
    slurp(fd, out != NULL ? out : sink, out != NULL ? cap : sizeof(sink), DEMO_STEP_MS * 3);
    close(fd);
    return reap(pid, DEMO_STEP_MS);
}

/* Wait until a started daemon prints "ready". */
static bool wait_ready(int fd)
{
    char buf[256];
    size_t n = 0;
    int64_t end = evloop_now_ms() + DEMO_STEP_MS;
    while (n + 1 < sizeof(buf)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(end - evloop_now_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return false;
        ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (k <= 0)
            return false;
        n += (size_t)k;
        buf[n] = '\0';
        if (strstr(buf, "ready") != NULL)
            return true;
    }
    return false;
}

/* One control command; the answer (NUL-terminated) into out. */
static int ctl(const char *sock, const char *line, char *out, size_t cap)
{
    struct buf b;
    buf_init(&b, CTL_ANSWER_MAX);
    int r = ctl_call(sock, line, &b, DEMO_STEP_MS);
    size_t n = buf_remaining(&b) < cap - 1 ? buf_remaining(&b) : cap - 1;
    memcpy(out, buf_ptr(&b), n);
    out[n] = '\0';
    buf_free(&b);
    /* A refused command ends with "error: <why>" after whatever it answered. */
    if (r == 0 && (strncmp(out, "error:", 6) == 0 || strstr(out, "error: ") != NULL))
        r = MAMORI_ERR_INVAL;
    return r;
}

static int tctl(const struct demo *d, const char *line, char *out, size_t cap)
{
    char sock[DEMO_PATH_MAX];
    if (path_in(sock, d->term, "ctl.sock") != 0)
        return MAMORI_ERR_TOOBIG;
    return ctl(sock, line, out, cap);
}

static int dctl(const struct demo *d, const char *name, const char *line, char *out, size_t cap)
{
    char sock[DEMO_PATH_MAX];
    int n = snprintf(sock, sizeof(sock), "%s/dev-%s/ctl.sock", d->dir, name);
    if (n < 0 || (size_t)n >= sizeof(sock))
        return MAMORI_ERR_TOOBIG;
    return ctl(sock, line, out, cap);
}

/* Count the attached devices in terminald's "devices" answer. */
static int attached_count(const struct demo *d)
{
    static char out[DEMO_OUT_MAX];
    int n = 0;
    if (tctl(d, "devices", out, sizeof(out)) != 0)
        return -1;
    for (char *p = out; (p = strstr(p, "\"attached\":true")) != NULL; p++)
        n++;
    return n;
}

static int64_t audit_count(const struct demo *d, const char *event)
{
    char line[128], out[64];
    snprintf(line, sizeof(line), "audit-count %s", event);
    if (tctl(d, line, out, sizeof(out)) != 0)
        return -1;
    return strtoll(out, NULL, 10);
}

/* Make the state directory of one device: keys, identity, vendor certificate;
 * enrol it with both operators when enrol is true. */
static bool make_device(struct demo *d, int i, const char *name, const char *kind, bool enrol)
{
    char st[DEMO_PATH_MAX], ident[DEMO_PATH_MAX], cert[DEMO_PATH_MAX], vendor[DEMO_PATH_MAX];
    char out[4096];
    int k = snprintf(st, sizeof(st), "%s/dev-%s", d->dir, name);
    if (k < 0 || (size_t)k >= sizeof(st) || path_in(ident, st, "identity.json") || path_in(cert, st, "device.cert") ||
        path_in(vendor, d->dir, "vendor"))
        return false;
    const char *init[] = {"mamori-devsim", "init", "--kind", kind, "--state", st, NULL};
    if (run(d, init, NULL, out, sizeof(out)) != 0)
        return false;
    json_t *j = json_loads(out, 0, NULL);
    const char *serial = json_string_value(json_object_get(j, "serial"));
    snprintf(d->serial[i], sizeof(d->serial[i]), "%s", serial != NULL ? serial : "?");
    json_decref(j);
    const char *issue[] = {"mamori", "vendor", "issue", "--dir", vendor, "--identity", ident,
                           "--out", cert, NULL};
    if (run(d, issue, NULL, NULL, 0) != 0)
        return false;
    if (!enrol)
        return true;
    const char *en[] = {"mamori", "devices", "enrol", "--state", d->term, "--cert", cert,
                        "--kind", kind, "--maintainer", MAINT, "--manager", MGR, NULL};
    return run(d, en, MAINT_PW "\n" MGR_PW "\n", NULL, 0) == 0;
}

static pid_t start_device(struct demo *d, const char *name, const char *kind)
{
    char st[DEMO_PATH_MAX], conn[DEMO_PATH_MAX + 16];
    int fd = -1;
    int k = snprintf(st, sizeof(st), "%s/dev-%s", d->dir, name);
    if (k < 0 || (size_t)k >= sizeof(st))
        return -1;
    k = snprintf(conn, sizeof(conn), "unix:%s/bus.sock", d->term);
    if (k < 0 || (size_t)k >= sizeof(conn))
        return -1;
    const char *argv[] = {"mamori-devsim", "--kind", kind, "--state", st, "--connect", conn,
                          "--max-runtime", DEMO_RUNTIME, NULL};
    pid_t pid = spawn(d, argv, NULL, &fd);
    if (pid > 0 && !wait_ready(fd)) {
        kill(pid, SIGKILL);
        (void)reap(pid, 1000);
        pid = -1;
    }
    if (fd >= 0)
        close(fd);
    return pid;
}

/* Poll until cond holds or DEMO_STEP_MS passes; ok receives the last value. */
#define WAIT_UNTIL(ok, cond)                                               \
    do {                                                                   \
        int64_t end_ = evloop_now_ms() + DEMO_STEP_MS;                            \
        while (!((ok) = (cond)) && evloop_now_ms() < end_)                        \
            sleep_ms(25);                                                  \
    } while (0)

static bool setup(struct demo *d)
{
    char vendor[DEMO_PATH_MAX], capub[DEMO_PATH_MAX], ops[DEMO_PATH_MAX];
    if (path_in(vendor, d->dir, "vendor") || path_in(capub, vendor, "ca.pub") ||
        path_in(d->term, d->dir, "term") || path_in(ops, d->term, "operators.db"))
        return false;
    const char *vinit[] = {"mamori", "vendor", "init", "--dir", vendor, NULL};
    check(d, run(d, vinit, NULL, NULL, 0) == 0, "vendor CA created (mamori vendor init)");
    if (mkdir(d->term, 0700) != 0)
        return false;
    const char *trust[] = {"mamori", "devices", "trust-ca", "--state", d->term, "--ca-pub", capub, NULL};
    check(d, run(d, trust, NULL, NULL, 0) == 0, "terminal trusts the vendor CA");
    const char *m[] = {"mamori", "operator", "add", "--db", ops, "--id", MAINT, "--name",
                       "Maintainer", "--role", "maintainer", NULL};
    const char *g[] = {"mamori", "operator", "add", "--db", ops, "--id", MGR, "--name", "Manager",
                       "--role", "manager", NULL};
    check(d, run(d, m, MAINT_PW "\n", NULL, 0) == 0 && run(d, g, MGR_PW "\n", NULL, 0) == 0,
          "operators: maintainer " MAINT " and manager " MGR);
    int enrolled = 0;
    for (int i = 0; i < DEMO_NDEV; i++)
        enrolled += make_device(d, i, demo_kinds[i], demo_kinds[i], true);
    char what[128];
    snprintf(what, sizeof(what), "%d/%d devices certified by the vendor and enrolled with both operators",
             enrolled, DEMO_NDEV);
    check(d, enrolled == DEMO_NDEV, what);
    /* Enrolment without the second operator is refused. */
    make_device(d, DEMO_NDEV, "rogue", "scanner", false);
    char cert[DEMO_PATH_MAX];
    int k = snprintf(cert, sizeof(cert), "%s/dev-rogue/device.cert", d->dir);
    if (k < 0 || (size_t)k >= sizeof(cert))
        return false;
    const char *one[] = {"mamori", "devices", "enrol", "--state", d->term, "--cert", cert, "--kind",
                         "scanner", "--maintainer", MAINT, "--manager", MAINT, NULL};
    check(d, run(d, one, MAINT_PW "\n" MAINT_PW "\n", NULL, 0) == EXIT_REFUSED,
          "enrolment by one person in both roles refused (dual control)");
    return d->failures == 0;
}

static bool start(struct demo *d)
{
    int fd = -1;
    const char *argv[] = {"mamori-terminald", "--state", d->term, "--max-runtime", DEMO_RUNTIME, NULL};
    int64_t t0 = evloop_now_ms();
    d->tpid = spawn(d, argv, NULL, &fd);
    bool ok = d->tpid > 0 && wait_ready(fd);
    if (fd >= 0)
        close(fd);
    check(d, ok, "mamori-terminald started (bus on a unix socket)");
    if (!ok)
        return false;
    int started = 0;
    for (int i = 0; i < DEMO_NDEV; i++)
        started += (d->dpid[i] = start_device(d, demo_kinds[i], demo_kinds[i])) > 0;
    ok = false;
    if (started == DEMO_NDEV)
        WAIT_UNTIL(ok, attached_count(d) == DEMO_NDEV);
    char what[160];
    snprintf(what, sizeof(what), "%d simulators started, %d attached over the secure bus (Noise sessions; %lld ms)",
             started, attached_count(d), (long long)(evloop_now_ms() - t0));
    check(d, ok, what);
    return ok;
}

static bool scan_shown(const struct demo *d, const char *code)
{
    static char out[DEMO_OUT_MAX];
    if (tctl(d, "watch", out, sizeof(out)) != 0)
        return false;
    char *nl = strchr(out, '\n');
    if (nl != NULL)
        *nl = '\0';
    json_t *j = json_loads(out, 0, NULL);
    bool ok = false;
    json_t *scans = json_object_get(j, "scans");
    size_t n = json_array_size(scans);
    if (n > 0) {
        const char *last = json_string_value(json_object_get(json_array_get(scans, n - 1), "data"));
        ok = last != NULL && strcmp(last, code) == 0 &&
             json_integer_value(json_object_get(j, "display_rc")) == 0;
    }
    json_decref(j);
    return ok;
}

static void demo_scan(struct demo *d)
{
    char out[DEMO_OUT_MAX];
    const char *code = "4901085089347"; /* a JAN-13 with a valid check digit */
    check(d, tctl(d, "watch start", out, sizeof(out)) == 0 && strstr(out, "watching 12") != NULL,
          "application (the device-API watcher in terminald) opened, claimed and enabled all 12 devices");
    char line[64];
    snprintf(line, sizeof(line), "scan %s", code);
    check(d, dctl(d, "scanner", line, out, sizeof(out)) == 0, "scanned JAN 4901085089347 at the scanner");
    bool reached, shown;
    WAIT_UNTIL(reached, scan_shown(d, code));
    check(d, reached, "the scan reached the application as a DataEvent (ScanDataType 104 = EAN/JAN-13)");
    WAIT_UNTIL(shown, dctl(d, "linedisplay", "show", out, sizeof(out)) == 0 &&
                          strstr(out, code) != NULL);
    out[strcspn(out, "\n")] = '\0';
    say("     line display now shows: %s", out);
    check(d, shown, "the application showed it on the line display");
}

static void demo_card(struct demo *d)
{
    static char out[DEMO_OUT_MAX];
    int r = dctl(d, "msr",
                 "swipe %B4111111111111111^DEMO/TARO^2812101123456789? ;4111111111111111=28121011234567?",
                 out, sizeof(out));
    bool refused = r != 0 && strstr(out, "no key") != NULL;
    char *err = strstr(out, "error:");
    if (err != NULL)
        *err = '\0';
    say("     msr answered: %s", out);
    bool clean = tctl(d, "events", out, sizeof(out)) == 0 && strstr(out, "\"msr.error\"") != NULL &&
                 strstr(out, "\"msr.data\"") == NULL && strstr(out, "11111111") == NULL;
    check(d, refused && clean,
          "a card swiped at the MSR before any key injection: refused, nothing read (POL-2)");
}

static void demo_rogue(struct demo *d)
{
    char out[DEMO_OUT_MAX];
    int64_t before = audit_count(d, "device.refused");
    d->dpid[DEMO_NDEV] = start_device(d, "rogue", "scanner");
    bool refused = false;
    if (d->dpid[DEMO_NDEV] > 0)
        WAIT_UNTIL(refused, audit_count(d, "device.refused") > before);
    say("     rogue scanner %s: genuine vendor certificate, never enrolled", d->serial[DEMO_NDEV]);
    check(d, refused, "the rogue device was refused and the refusal recorded (device.refused)");
    (void)dctl(d, "rogue", "scan 4900000000009", out, sizeof(out));
    sleep_ms(200);
    check(d, tctl(d, "events", out, sizeof(out)) == 0 && strstr(out, "4900000000009") == NULL &&
                 attached_count(d) == DEMO_NDEV,
          "nothing it sent reached the terminal; still 12 devices attached");
    if (d->dpid[DEMO_NDEV] > 0) {
        kill(d->dpid[DEMO_NDEV], SIGTERM);
        (void)reap(d->dpid[DEMO_NDEV], 3000);
        d->dpid[DEMO_NDEV] = 0;
    }
}

static void demo_unplug(struct demo *d)
{
    static char out[DEMO_OUT_MAX];
    int pi = 7; /* printer */
    int64_t before = audit_count(d, "device.detach");
    check(d, dctl(d, "printer", "unplug", out, sizeof(out)) == 0, "printer unplugged");
    bool rec, off;
    WAIT_UNTIL(rec, audit_count(d, "device.detach") > before);
    WAIT_UNTIL(off, tctl(d, "watch", out, sizeof(out)) == 0 &&
                        strstr(out, "\"kind\":\"printer\",\"power\":2004") != NULL);
    if (tctl(d, "events", out, sizeof(out)) == 0) {
        for (char *l = strtok(out, "\n"); l != NULL; l = strtok(NULL, "\n"))
            if (strstr(l, "\"detach\"") != NULL && strstr(l, d->serial[pi]) != NULL)
                say("     detach record: %s", l);
    }
    check(d, rec, "the detach was recorded in the audit log (device.detach)");
    check(d, off, "the application sees the printer offline (PowerState PS_OFF_OFFLINE)");
}

static void stop_all(struct demo *d)
{
    char out[256];
    if (d->tpid > 0) {
        (void)tctl(d, "stop", out, sizeof(out));
        (void)reap(d->tpid, 5000);
        d->tpid = 0;
    }
    for (int i = 0; i <= DEMO_NDEV; i++)
        if (d->dpid[i] > 0) {
            kill(d->dpid[i], SIGTERM);
            (void)reap(d->dpid[i], 5000);
            d->dpid[i] = 0;
        }
}

static int rm_tree(const char *dir)
{
    const char *argv[] = {"/bin/rm", "-rf", "--", dir, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    return pid > 0 ? reap(pid, DEMO_STEP_MS) : -1;
}

int cmd_demo(int argc, char **argv)
{
    struct demo d;
    bool keep = false;
    const char *want = NULL;
    char self[DEMO_PATH_MAX];
    if (cmd_wants_help(argc, argv, usage_text))
        return 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--keep") == 0)
            keep = true;
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            want = argv[++i];
        else {
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
    }
    memset(&d, 0, sizeof(d));
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return cmd_fail("demo", "cannot find the programs", MAMORI_ERR_SYS);
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(d.bindir, sizeof(d.bindir), "%s", self);
    if (want != NULL) {
        if (strlen(want) >= sizeof(d.dir) - 64 || mkdir(want, 0700) != 0)
            return cmd_fail("demo", want, MAMORI_ERR_EXISTS);
        snprintf(d.dir, sizeof(d.dir), "%s", want);
    } else {
        snprintf(d.dir, sizeof(d.dir), "/tmp/mamori-demo-XXXXXX");
        if (mkdtemp(d.dir) == NULL)
            return cmd_fail("demo", "mkdtemp", MAMORI_ERR_SYS);
    }
    signal(SIGPIPE, SIG_IGN);
    int64_t t0 = evloop_now_ms();
    say("mamori demo in %s", d.dir);
    if (setup(&d) && start(&d)) {
        demo_scan(&d);
        demo_card(&d);
        demo_rogue(&d);
        demo_unplug(&d);
        {   /* issue 3: the register in terminald (src/cmd/demo_register.c) */
            char data[DEMO_PATH_MAX];
            const char *env = getenv("MAMORI_DATA");
            snprintf(data, sizeof(data), "%.900s/../../../data", d.bindir);
            check(&d, demo_register(d.bindir, d.dir, env ? env : data) == 0,
                  "the register: a day of sales, a return, X and Z, receipts from the printer");
            /* issue 5: the audit trail of that day (src/cmd/demo_audit.c) */
            char term[DEMO_PATH_MAX], reg[DEMO_PATH_MAX], work[DEMO_PATH_MAX];
            snprintf(reg, sizeof(reg), "%.900s/register", d.dir);
            snprintf(term, sizeof(term), "%.900s/register/term", d.dir);
            snprintf(work, sizeof(work), "%.900s/audit", d.dir);
            check(&d, mkdir(work, 0700) == 0 && demo_audit(d.bindir, term, reg, work, env ? env : data) == 0,
                  "the audit trail: verified, one edited byte named, device log verified, planted cash "
                  "discrepancy reported");
            /* issue 4: card payments (src/cmd/demo_pay.c) */
            check(&d, demo_pay(d.bindir, d.dir, env ? env : data) == 0,
                  "card payments: key ceremony, PIN, signature, e-money, refund by token, no card data on the "
                  "controller");
        }
        say("summary: %lld device.attach, %lld device.detach, %lld device.refused, %lld device.enrol "
            "audit events",
            (long long)audit_count(&d, "device.attach"), (long long)audit_count(&d, "device.detach"),
            (long long)audit_count(&d, "device.refused"), (long long)audit_count(&d, "device.enrol"));
    }
    stop_all(&d);
    say("summary: %d/%d steps OK in %lld ms%s", d.steps - d.failures, d.steps,
        (long long)(evloop_now_ms() - t0), d.failures ? " -- SOME STEPS FAILED" : "");
    if (keep)
        say("kept %s", d.dir);
    else
        (void)rm_tree(d.dir);
    return d.failures == 0 && d.steps > 0 ? 0 : 1;
}
