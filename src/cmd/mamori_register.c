/*
 * mamori register: the operator console of one register station, interactive
 * or running a script (`--script FILE`). Owns option parsing and wiring only:
 * the item master (items.h), operators (operator.h), the journal, the audit
 * log and the device port (the in-process simulator here; mamori-terminald
 * wires the bus). The command language is src/pos/console.c.
 *
 * Files in --dir: journal.db, audit.db, devices.state (simulated devices'
 * memory of cash commands) and datakey (the at-rest data key for member
 * numbers, 32 random bytes, mode 0600; the keyholder will hold it wrapped).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/audit.h"
#include "cmd/cmd.h"
#include "common/secmem.h"
#include "mamori/err.h"
#include "bus/terminal.h"
#include "pos/console.h"
#include "pos/posapi.h"
#include "pos/posbus.h"

#include <signal.h>
#include <sys/signalfd.h>
#include "pos/journal.h"
#include "pos/poswire.h"
#include "pos/tender.h"

static const char USAGE[] =
    "usage: mamori register [--dir DIR] [--items DB] [--operators DB] [--terminal ID]\n"
    "                       [--store N] [--terminal-no N] [--changer] [--gift-change]\n"
    "                       [--issuer NAME] [--regno T0000000000000]\n"
    "                       [--script FILE [--keep-going] [--echo]]\n"
    "                       [--state TERMINAL_DIR [--config FILE]]\n"
    "                       [--api SOCKET [--max-runtime SECONDS]]\n"
    "Runs the register console (type `help`). DIR (default ./register) holds journal.db,\n"
    "audit.db, devices.state and datakey. --items defaults to $MAMORI_ITEMS_DB or items.db,\n"
    "--operators to DIR/operators.db. A script line starting with '!' must be refused.\n"
    "Without --state the devices are simulated in-process (sim commands script them);\n"
    "with --state this process hosts the terminal's bus (as mamori-terminald does) and\n"
    "uses the enrolled devices; `wait-devices N [SECONDS]` waits for N to attach.\n"
    "--api serves the HTTP+JSON API (GET /v1/state, POST /v1/command, GET /v1/receipts/N)\n"
    "on a unix socket until SIGTERM/SIGINT or --max-runtime. Prints \"ready\" when set up.\n"
    "exit: 0 ok, 1 a command failed (script) or setup failed, 2 usage\n";

/* Load DIR/datakey or create it (O_EXCL, 0600, no symlinks). */
static int data_key(const char *dir, uint8_t key[static TXN_DATA_KEY_BYTES])
{
    char path[1024];
    int fd;
    ssize_t n;
    snprintf(path, sizeof(path), "%s/datakey", dir);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        randombytes_buf(key, TXN_DATA_KEY_BYTES);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return MAMORI_ERR_IO;
        n = write(fd, key, TXN_DATA_KEY_BYTES);
        if (fsync(fd) != 0)
            n = -1;
        close(fd);
        return n == TXN_DATA_KEY_BYTES ? 0 : MAMORI_ERR_IO;
    }
    if (fd < 0)
        return MAMORI_ERR_IO;
    n = read(fd, key, TXN_DATA_KEY_BYTES);
    close(fd);
    return n == TXN_DATA_KEY_BYTES ? 0 : MAMORI_ERR_IO;
}

static void on_signal(struct evloop *l, int fd, uint32_t ev, void *ctx)
{
    struct signalfd_siginfo si;
    (void)ev;
    (void)ctx;
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        evloop_stop(l);
}

static void on_deadline(struct evloop *l, void *ctx)
{
    (void)ctx;
    evloop_stop(l);
}


static void forward_event(void *ctx, const char *serial, const char *type,
                          const cbor_item_t *body)
{
    posbus_event(ctx, serial, type, body);
}

struct waiter {
    struct evloop *loop;
    struct terminal *term;
    struct posbus *pb;
    struct console *con;
};

/* The next scanner.data code as a console line (codes are letters/digits). */
static int next_scan_line(void *ctx, char *line, size_t cap)
{
    struct waiter *w = ctx;
    char code[POSBUS_SCAN_LEN];
    while (posbus_next_scan(w->pb, code) == 0) {
        bool ok = code[0] != '\0';
        for (const char *c = code; *c; c++)
            ok &= (*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z');
        if (!ok) {
            printf("ERROR scanner: not a code, ignored\n");
            continue;
        }
        snprintf(line, cap, "scan %s", code);
        return 0;
    }
    return MAMORI_ERR_NOTFOUND;
}

/* wait-scans N [SECONDS]: run the bus and register N scanned codes. */
static int wait_scans(void *ctx, char **tok, size_t n)
{
    struct waiter *w = ctx;
    long want = n > 1 ? strtol(tok[1], NULL, 10) : 1, done = 0;
    long secs = n > 2 ? strtol(tok[2], NULL, 10) : 20;
    char line[CONSOLE_LINE_MAX + 1];
    int64_t deadline;
    if (want < 0 || want > 1000 || secs < 0 || secs > 600)
        return MAMORI_ERR_INVAL;
    deadline = evloop_now_ms() + secs * 1000;
    while (done < want && evloop_now_ms() < deadline) {
        if (next_scan_line(w, line, sizeof(line)) == 0) {
            (void)console_line(w->con, line); /* prints OK/ERROR like a keyed scan */
            done++;
            continue;
        }
        if (evloop_run_once(w->loop, 100) < 0)
            return MAMORI_ERR_SYS;
    }
    return done >= want ? 0 : MAMORI_ERR_TIMEOUT;
}


/* wait-devices N [SECONDS]: run the bus until N devices are attached. */
static int wait_devices(void *ctx, char **tok, size_t n)
{
    struct waiter *w = ctx;
    long want = n > 1 ? strtol(tok[1], NULL, 10) : 1;
    long secs = n > 2 ? strtol(tok[2], NULL, 10) : 20;
    int64_t deadline;
    if (want < 0 || want > 256 || secs < 0 || secs > 600)
        return MAMORI_ERR_INVAL;
    deadline = evloop_now_ms() + secs * 1000;
    while ((long)bus_attached_count(terminal_bus(w->term)) < want && evloop_now_ms() < deadline)
        if (evloop_run_once(w->loop, 100) < 0)
            return MAMORI_ERR_SYS;
    return (long)bus_attached_count(terminal_bus(w->term)) >= want ? 0 : MAMORI_ERR_TIMEOUT;
}

struct waiter_api {
    console_hook_fn fn;
    void *ctx;
};

/* Serve the API until a signal or the deadline. */
static int serve(struct evloop *loop, struct txn *t, struct posdev_sim *sim, const char *api,
                 long max_runtime, struct waiter_api *hook, struct waiter *scans)
{
    struct posapi *pa = NULL;
    sigset_t mask;
    int sfd, r;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0 || evloop_add_fd(loop, sfd, EVLOOP_READ, on_signal, NULL) != 0)
        return MAMORI_ERR_SYS;
    if ((r = posapi_start(t, sim, loop, api, &pa))) {
        evloop_del_fd(loop, sfd);
        close(sfd);
        return r;
    }
    if (hook != NULL)
        (void)console_set_hook(posapi_console(pa), "wait-devices", hook->fn, hook->ctx);
    if (scans != NULL)
        posapi_set_source(pa, next_scan_line, scans); /* scanner device input */
    if (max_runtime > 0)
        (void)evloop_timer(loop, max_runtime * 1000, on_deadline, NULL, NULL);
    printf("ready\n");
    fflush(stdout);
    r = evloop_run(loop);
    posapi_stop(pa);
    evloop_del_fd(loop, sfd);
    close(sfd);
    return r;
}

int cmd_register(int argc, char **argv)
{
    const char *state = NULL, *tconfig = NULL, *api = NULL;
    long max_runtime = 0;
    struct evloop *loop = NULL;
    struct terminal *term = NULL;
    struct posbus *pb = NULL;
    struct waiter waiter;
    const char *dir = "register", *items_db = getenv("MAMORI_ITEMS_DB"), *ops_db = NULL;
    const char *script = NULL, *terminal = "T01", *issuer = "mamori ストア";
    const char *regno = "T1234567890123";
    bool changer = false, keep_going = false, echo = false, gift_change = false;
    long store = 1, term_no = 1;
    struct txn_config *cfg = NULL;
    struct journal *j = NULL;
    struct audit *a = NULL;
    struct items *items = NULL;
    struct operators *ops = NULL;
    struct posdev_sim *sim = NULL;
    struct pos_devices dev;
    struct poswire_catalog pc;
    struct txn_catalog cat;
    struct txn_auth auth;
    struct txn *t = NULL;
    struct console *con = NULL;
    char path[1024];
    bool resumed = false;
    int rc = 1, r;

    if (cmd_wants_help(argc, argv, USAGE))
        return 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--changer")) { changer = true; continue; }
        if (!strcmp(o, "--keep-going")) { keep_going = true; continue; }
        if (!strcmp(o, "--echo")) { echo = true; continue; }
        if (!strcmp(o, "--gift-change")) { gift_change = true; continue; }
        if (v == NULL)
            goto usage;
        i++;
        if (!strcmp(o, "--dir")) dir = v;
        else if (!strcmp(o, "--items")) items_db = v;
        else if (!strcmp(o, "--operators")) ops_db = v;
        else if (!strcmp(o, "--terminal")) terminal = v;
        else if (!strcmp(o, "--script")) script = v;
        else if (!strcmp(o, "--state")) state = v;
        else if (!strcmp(o, "--config")) tconfig = v;
        else if (!strcmp(o, "--api")) api = v;
        else if (!strcmp(o, "--max-runtime")) max_runtime = strtol(v, NULL, 10);
        else if (!strcmp(o, "--issuer")) issuer = v;
        else if (!strcmp(o, "--regno")) regno = v;
        else if (!strcmp(o, "--store")) store = strtol(v, NULL, 10);
        else if (!strcmp(o, "--terminal-no")) term_no = strtol(v, NULL, 10);
        else goto usage;
    }
    if (store < 0 || store > 9999 || term_no < 0 || term_no > 9999 ||
        strlen(terminal) >= TXN_ID_MAX || strlen(issuer) >= TXN_NAME_MAX || strlen(regno) >= 16)
        goto usage;
    if (items_db == NULL)
        items_db = "items.db";
    if (secmem_init())
        return cmd_fail("register", "libsodium", MAMORI_ERR_CRYPTO);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cmd_fail("register", dir, MAMORI_ERR_IO);
    if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
        return cmd_fail("register", "memory", MAMORI_ERR_NOMEM);
    snprintf(cfg->terminal, sizeof(cfg->terminal), "%s", terminal);
    snprintf(cfg->issuer_name, sizeof(cfg->issuer_name), "%s", issuer);
    snprintf(cfg->regno, sizeof(cfg->regno), "%s", regno);
    cfg->store_no = (uint32_t)store;
    cfg->terminal_no = (uint32_t)term_no;
    cfg->discount_limit_yen = 500;
    cfg->discount_limit_pct = 10;
    cfg->points_per_100yen = 1;
    cfg->gift_gives_change = gift_change;
    if ((r = data_key(dir, cfg->data_key))) {
        rc = cmd_fail("register", "data key", r);
        goto out;
    }
    snprintf(path, sizeof(path), "%s/audit.db", dir);
    if ((r = audit_open(path, &a))) {
        rc = cmd_fail("register", path, r);
        goto out;
    }
    snprintf(path, sizeof(path), "%s/journal.db", dir);
    if ((r = journal_open(path, &j))) {
        rc = cmd_fail("register", path, r);
        goto out;
    }
    if ((r = items_open(items_db, &items))) {
        rc = cmd_fail("register", items_db, r);
        goto out;
    }
    if (ops_db == NULL) {
        snprintf(path, sizeof(path), "%s/operators.db", dir);
        ops_db = path;
    }
    if ((r = operators_open(ops_db, a, &ops))) {
        rc = cmd_fail("register", ops_db, r);
        goto out;
    }
    if (state != NULL) {
        char err[512] = "";
        if ((r = evloop_new(&loop)) ||
            (r = terminal_open(state, tconfig, loop, &term, err, sizeof(err)))) {
            fprintf(stderr, "mamori register: terminal: %s\n", err);
            rc = cmd_fail("register", state, r);
            goto out;
        }
        if ((r = posbus_new(terminal_bus(term), loop, NULL, &pb))) {
            rc = cmd_fail("register", "posbus", r);
            goto out;
        }
        /* This process hosts the bus: the shopper's answers come as events. */
        bus_on_event(terminal_bus(term), forward_event, pb);
        posbus_port(pb, &dev);
    } else {
        snprintf(path, sizeof(path), "%s/devices.state", dir);
        if ((r = posdev_sim_new(path, changer, &sim))) {
            rc = cmd_fail("register", path, r);
            goto out;
        }
        posdev_sim_port(sim, &dev);
    }
    memset(&pc, 0, sizeof(pc));
    pc.items = items;
    poswire_catalog(&pc, &cat);
    poswire_auth(ops, &auth);
    if ((r = txn_new(cfg, j, &dev, &cat, &auth, a, &t))) {
        rc = cmd_fail("register", "station", r);
        goto out;
    }
    if ((r = txn_recover(t, &resumed))) {
        rc = cmd_fail("register", "recovery", r);
        goto out;
    }
    if (resumed)
        printf("resumed open transaction %lld (sign on to continue)\n",
               (long long)txn_current(t)->txn_no);
    if ((r = console_new(t, sim, stdout, &con))) {
        rc = cmd_fail("register", "console", r);
        goto out;
    }
    if (term != NULL) {
        waiter.loop = loop;
        waiter.term = term;
        waiter.pb = pb;
        waiter.con = con;
        if (console_set_hook(con, "wait-devices", wait_devices, &waiter) ||
            console_set_hook(con, "wait-scans", wait_scans, &waiter)) {
            rc = cmd_fail("register", "console", MAMORI_ERR_LIMIT);
            goto out;
        }
    }
    if (api != NULL) {
        struct waiter_api wa = {wait_devices, &waiter};
        if (loop == NULL && (r = evloop_new(&loop))) {
            rc = cmd_fail("register", "event loop", r);
            goto out;
        }
        r = serve(loop, t, sim, api, max_runtime, term ? &wa : NULL, term ? &waiter : NULL);
        rc = r ? cmd_fail("register", api, r) : 0;
    } else if (script != NULL) {
        printf("ready\n");
        fflush(stdout);
        FILE *in = strcmp(script, "-") ? fopen(script, "r") : stdin;
        if (in == NULL) {
            rc = cmd_fail("register", script, MAMORI_ERR_IO);
            goto out;
        }
        rc = console_run(con, in, keep_going, echo) ? 1 : 0;
        if (in != stdin)
            fclose(in);
    } else {
        char line[CONSOLE_LINE_MAX + 2];
        printf("mamori register %s — type help\n", terminal);
        for (;;) {
            printf("%s> ", txn_operator(t)[0] ? txn_operator(t) : "signon");
            fflush(stdout);
            if (fgets(line, sizeof(line), stdin) == NULL)
                break;
            (void)console_line(con, line);
        }
        rc = 0;
    }
out:
    console_free(con);
    txn_free(t);
    posdev_sim_free(sim);
    posbus_free(pb);
    terminal_close(term);
    evloop_free(loop);
    operators_free(ops);
    items_free(items);
    journal_close(j);
    audit_close(a);
    if (cfg)
        sodium_memzero(cfg, sizeof(*cfg));
    free(cfg);
    return rc;
usage:
    fputs(USAGE, stderr);
    return EXIT_USAGE;
}
