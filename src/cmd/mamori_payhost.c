/*
 * mamori-payhost: the payment host SIMULATOR. It stands for the external
 * card network / acquirer (EFT/CAT is outside the Open POS guideline's
 * scope, DEV-17): it holds the BDKs, opens the P2PE envelopes, checks PINs
 * against simulated issuer records and answers over HTTPS on loopback.
 * Thin main: options, then host (src/payhost/host.c) and server (server.c).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "common/log.h"
#include "common/secmem.h"
#include "mamori/err.h"
#include "payhost/host.h"
#include "payhost/server.h"

static const char usage[] =
    "usage: mamori-payhost --state DIR [--port N] [--issuers FILE] [--cert PEM --key PEM]\n"
    "                      [--today YYYY-MM] [--max-seconds N]\n"
    "Payment host SIMULATOR (stands for the card network/acquirer; not part of the POS).\n"
    "Listens on 127.0.0.1 only (HTTPS, POST /v1/authorize); prints 'ready port=N' when up.\n"
    "Files in DIR: bdk.keys, token.key, issuers.txt, payhost.db, cert.pem, key.pem (docs/payhost.md).\n"
    "Exit: 0 after SIGTERM/SIGINT or --max-seconds, 1 on failure, 2 on usage error.\n";

int main(int argc, char **argv)
{
    struct payhost_config cfg = {0};
    const char *cert = NULL, *key = NULL;
    long port = 0, max_seconds = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (v == NULL) {
            fputs(usage, stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--state") == 0)
            cfg.state_dir = v;
        else if (strcmp(a, "--port") == 0)
            port = strtol(v, NULL, 10);
        else if (strcmp(a, "--issuers") == 0)
            cfg.issuers_path = v;
        else if (strcmp(a, "--cert") == 0)
            cert = v;
        else if (strcmp(a, "--key") == 0)
            key = v;
        else if (strcmp(a, "--max-seconds") == 0)
            max_seconds = strtol(v, NULL, 10);
        else if (strcmp(a, "--today") == 0 && sscanf(v, "%d-%d", &cfg.year, &cfg.month) == 2)
            continue;
        else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (cfg.state_dir == NULL || port < 0 || port > 65535 || max_seconds < 0 || (!cert != !key)) {
        fputs(usage, stderr);
        return 2;
    }
    log_setup(2, LOG_INFO, "mamori-payhost");
    struct payhost *h = NULL;
    struct payhost_server *s = NULL;
    char *cert_pem = NULL, *key_pem = NULL;
    sigset_t set;
    int r, rc = 1;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the server thread starts */
    if ((r = payhost_open(&cfg, &h)) != 0) {
        fprintf(stderr, "mamori-payhost: state %s: %s\n", cfg.state_dir, mamori_strerror(r));
        goto out;
    }
    if ((r = payhost_tls_load_or_create(cfg.state_dir, cert, key, &cert_pem, &key_pem)) != 0 ||
        (r = payhost_server_start(h, (uint16_t)port, cert_pem, key_pem, &s)) != 0) {
        fprintf(stderr, "mamori-payhost: TLS listener: %s\n", mamori_strerror(r));
        goto out;
    }
    secmem_wipe(key_pem, strlen(key_pem));
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    log_info("payhost.ready", F_STR("note", "payment host simulator"), F_INT("port", payhost_server_port(s)));
    printf("ready port=%u\n", (unsigned)payhost_server_port(s));
    fflush(stdout);
    struct timespec ts = {.tv_sec = max_seconds > 0 ? max_seconds : 24 * 3600};
    for (;;) {
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig > 0 || max_seconds > 0)
            break; /* signal, or the run-time limit passed */
    }
    rc = 0;
out:
    payhost_server_stop(s);
    payhost_close(h);
    free(cert_pem);
    free(key_pem);
    return rc;
}
