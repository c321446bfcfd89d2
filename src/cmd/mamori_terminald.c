/*
 * mamori-terminald: the controller daemon. Thin main: arguments, signals,
 * self-restriction, then the terminal host (src/bus/terminal.h) on one event
 * loop.
 *
 *   mamori-terminald --state DIR [--config FILE] [--max-runtime SECONDS]
 *
 * Prints "ready" on stdout once the bus listens. Stops on SIGTERM/SIGINT, the
 * control command "stop", or after --max-runtime (tests).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bus/terminal.h"
#include "common/log.h"
#include "common/secmem.h"
#include "mamori/err.h"
#include "pos/service.h"

static const char usage[] =
    "usage: mamori-terminald --state DIR [--config FILE] [--max-runtime SECONDS]\n"
    "  --state DIR        state directory (keys, registry, audit; created 0700)\n"
    "  --config FILE      INI file overriding the embedded defaults\n"
    "  --print-config     print the embedded default configuration and exit\n"
    "  --max-runtime S    stop by itself after S seconds (tests)\n";

static void restrict_self(void)
{
    struct rlimit nocore = {0, 0};
    /* No core dumps (keys in memory) and no privilege gain through exec. */
    (void)setrlimit(RLIMIT_CORE, &nocore);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    (void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"max-runtime", required_argument, NULL, 'm'},
        {"print-config", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *state = NULL, *config = NULL;
    long max_runtime = 0;
    struct evloop *l = NULL;
    struct terminal *t = NULL;
    struct pos_service *pos = NULL;
    char err[512];
    int c, sfd, r;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            state = optarg;
            break;
        case 'c':
            config = optarg;
            break;
        case 'm':
            max_runtime = strtol(optarg, NULL, 10);
            break;
        case 'p':
            fputs(terminal_default_config, stdout);
            return 0;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (state == NULL || optind != argc) {
        fputs(usage, stderr);
        return 2;
    }
    log_setup(2, LOG_INFO, "mamori-terminald");
    if (secmem_init() != 0 || evloop_new(&l) != 0)
        return 1;
    if (evloop_stop_on_signals(l, &sfd) != 0)
        return 1;
    if ((r = terminal_open(state, config, l, &t, err, sizeof(err))) != 0) {
        fprintf(stderr, "mamori-terminald: %s%s%s\n", err, err[0] ? ": " : "", mamori_strerror(r));
        evloop_free(l);
        return r == MAMORI_ERR_CONFIG ? 2 : 1;
    }
    /* The register (OPS-1..6) with its API socket in the state directory. */
    if ((r = pos_service_start(l, terminal_devapi(t), terminal_config(t), terminal_dir(t),
                               terminal_audit(t), &pos, err, sizeof(err))) != 0) {
        fprintf(stderr, "mamori-terminald: register: %s%s%s\n", err, err[0] ? ": " : "",
                mamori_strerror(r));
        terminal_close(t);
        evloop_free(l);
        return r == MAMORI_ERR_CONFIG ? 2 : 1;
    }
    if (pos != NULL) {
        /* Cash reconciliation at the Z report (issue 5). */
        char ap[1024];
        snprintf(ap, sizeof(ap), "%s/audit.db", terminal_dir(t));
        pos_service_set_cash_sources(pos, terminal_bus(t), terminal_logsync(t), terminal_devlog(t), ap);
    }
    restrict_self();
    if ((r = terminal_restrict(t, err, sizeof(err))) != 0) {
        fprintf(stderr, "mamori-terminald: %s: %s\n", err, mamori_strerror(r));
        terminal_close(t);
        evloop_free(l);
        return 1;
    }
    evloop_stop_after(l, max_runtime);
    log_info("terminald.ready", F_STR("state", state));
    printf("ready\n");
    fflush(stdout);
    r = evloop_run(l);
    pos_service_stop(pos);
    terminal_close(t);
    evloop_signals_close(l, sfd);
    evloop_free(l);
    return r == 0 ? 0 : 1;
}
