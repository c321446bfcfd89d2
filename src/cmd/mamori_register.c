/*
 * mamori register: one register station as a process: the operator console
 * (interactive or `--script FILE`), or the HTTP+JSON API (`--api SOCKET`).
 * Owns option parsing, signals and the choice of devices only: the station is
 * assembled by src/pos/posterm.c, the command language is src/pos/console.c.
 *
 * Without --state the devices are simulated in-process; with --state DIR this
 * process hosts the terminal's bus (src/bus/terminal.h, as mamori-terminald
 * does) and uses the enrolled devices through posbus.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bus/terminal.h"
#include "cmd/cmd.h"
#include "cmd/register_client.h"
#include "mamori/err.h"
#include "pos/posterm.h"

static const char USAGE[] =
    "usage: mamori register [--dir DIR] [--items DB] [--operators DB] [--terminal ID]\n"
    "                       [--store N] [--terminal-no N] [--changer] [--gift-change]\n"
    "                       [--issuer NAME] [--regno T0000000000000]\n"
    "                       [--script FILE [--keep-going] [--echo]]\n"
    "                       [--state TERMINAL_DIR [--config FILE]]\n"
    "                       [--api SOCKET [--max-runtime SECONDS]]\n"
    "       mamori register --socket TERMINALD_STATE/pos.sock [--script FILE] [--json]\n"
    "                       (console of the register in mamori-terminald; see --socket --help)\n"
    "Runs the register console (type `help`). DIR (default ./register) holds journal.db,\n"
    "audit.db, devices.state and datakey. --items defaults to $MAMORI_ITEMS_DB or items.db,\n"
    "--operators to DIR/operators.db. A script line starting with '!' must be refused.\n"
    "Without --state the devices are simulated in-process (sim commands script them);\n"
    "with --state this process hosts the terminal's bus (as mamori-terminald does) and\n"
    "uses the enrolled devices; `wait-devices N [S]` waits for N to attach and\n"
    "`wait-input N [S]` performs N operations from the scanner and keyboard devices.\n"
    "--api serves the HTTP+JSON API (docs/register.md) on a unix socket until\n"
    "SIGTERM/SIGINT or --max-runtime. Prints \"ready\" when set up.\n"
    "exit: 0 ok, 1 a command failed (script) or setup failed, 2 usage\n";

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

/* Serve the API until a signal or the deadline. */
static int serve(struct evloop *loop, struct posterm *p, const char *api, long max_runtime)
{
    sigset_t mask;
    int sfd, r;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0 || evloop_add_fd(loop, sfd, EVLOOP_READ, on_signal, NULL) != 0)
        return MAMORI_ERR_SYS;
    if ((r = posterm_api_start(p, api)) == 0) {
        if (max_runtime > 0)
            (void)evloop_timer(loop, max_runtime * 1000, on_deadline, NULL, NULL);
        printf("ready\n");
        fflush(stdout);
        r = evloop_run(loop);
        posterm_api_stop(p);
    }
    evloop_del_fd(loop, sfd);
    close(sfd);
    return r;
}

int cmd_register(int argc, char **argv)
{
    if (register_client_wanted(argc, argv)) /* the register in mamori-terminald */
        return register_client_main(argc, argv);
    struct posterm_config pc = {
        .dir = "register", .items_db = getenv("MAMORI_ITEMS_DB"), .terminal = "T01",
        .issuer = "mamori ストア", .regno = "T1234567890123", .store_no = 1, .terminal_no = 1,
    };
    const char *state = NULL, *tconfig = NULL, *api = NULL, *script = NULL, *what = "";
    bool keep_going = false, echo = false;
    long max_runtime = 0, store = 1, term_no = 1;
    struct evloop *loop = NULL;
    struct terminal *term = NULL;
    struct posterm *p = NULL;
    int rc = 1, r;

    if (cmd_wants_help(argc, argv, USAGE))
        return 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--changer")) { pc.sim_changer = true; continue; }
        if (!strcmp(o, "--keep-going")) { keep_going = true; continue; }
        if (!strcmp(o, "--echo")) { echo = true; continue; }
        if (!strcmp(o, "--gift-change")) { pc.gift_change = true; continue; }
        if (v == NULL)
            goto usage;
        i++;
        if (!strcmp(o, "--dir")) pc.dir = v;
        else if (!strcmp(o, "--items")) pc.items_db = v;
        else if (!strcmp(o, "--operators")) pc.operators_db = v;
        else if (!strcmp(o, "--terminal")) pc.terminal = v;
        else if (!strcmp(o, "--script")) script = v;
        else if (!strcmp(o, "--state")) state = v;
        else if (!strcmp(o, "--config")) tconfig = v;
        else if (!strcmp(o, "--api")) api = v;
        else if (!strcmp(o, "--max-runtime")) max_runtime = strtol(v, NULL, 10);
        else if (!strcmp(o, "--issuer")) pc.issuer = v;
        else if (!strcmp(o, "--regno")) pc.regno = v;
        else if (!strcmp(o, "--store")) store = strtol(v, NULL, 10);
        else if (!strcmp(o, "--terminal-no")) term_no = strtol(v, NULL, 10);
        else goto usage;
    }
    if (store < 0 || store > 9999 || term_no < 0 || term_no > 9999 || max_runtime < 0)
        goto usage;
    pc.store_no = (uint32_t)store;
    pc.terminal_no = (uint32_t)term_no;
    if (pc.items_db == NULL)
        pc.items_db = "items.db";
    if ((state != NULL || api != NULL) && (r = evloop_new(&loop)))
        return cmd_fail("register", "event loop", r);
    if (state != NULL) {
        char err[512] = "";
        if ((r = terminal_open(state, tconfig, loop, &term, err, sizeof(err)))) {
            fprintf(stderr, "mamori register: terminal: %s\n", err);
            rc = cmd_fail("register", state, r);
            goto out;
        }
        pc.bus = terminal_bus(term);
    }
    pc.loop = loop;
    if ((r = posterm_open(&pc, &p, &what))) {
        rc = cmd_fail("register", what, r);
        goto out;
    }
    /* This process hosts the bus: shopper answers and scans come as events. */
    if (term != NULL)
        bus_on_event(pc.bus, posterm_event, p);
    if (posterm_resumed(p))
        printf("resumed open transaction %lld (sign on to continue)\n",
               (long long)txn_current(posterm_txn(p))->txn_no);
    if (api != NULL) {
        r = serve(loop, p, api, max_runtime);
        rc = r ? cmd_fail("register", api, r) : 0;
    } else if (script != NULL) {
        FILE *in = strcmp(script, "-") ? fopen(script, "r") : stdin;
        if (in == NULL) {
            rc = cmd_fail("register", script, MAMORI_ERR_IO);
            goto out;
        }
        printf("ready\n");
        fflush(stdout);
        rc = console_run(posterm_console(p), in, keep_going, echo) ? 1 : 0;
        if (in != stdin)
            fclose(in);
    } else {
        char line[CONSOLE_LINE_MAX + 2];
        struct txn *t = posterm_txn(p);
        printf("mamori register %s — type help\n", pc.terminal);
        for (;;) {
            printf("%s> ", txn_operator(t)[0] ? txn_operator(t) : "signon");
            fflush(stdout);
            if (fgets(line, sizeof(line), stdin) == NULL)
                break;
            (void)console_line(posterm_console(p), line);
        }
        rc = 0;
    }
out:
    posterm_close(p);
    terminal_close(term);
    evloop_free(loop);
    return rc;
usage:
    fputs(USAGE, stderr);
    return EXIT_USAGE;
}
