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
#include <unistd.h>

#include "common/hex.h"
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
    "Exit: 0 after SIGTERM/SIGINT or --max-seconds, 1 on failure, 2 on usage error.\n"
    "       mamori-payhost issue-ik --state DIR --ikid HEX16   (offline, key injection facility)\n"
    "Reads the ceremony's KBPK (hex) from stdin and prints {\"block\":TR-31,\"ik_kcv\":KCV}: the\n"
    "device's DUKPT initial key derived from the BDK, wrapped; the clear key never leaves.\n";

/* Offline issuing of a device's initial key (payhost_issue_initial_key). */
static int issue_ik(int argc, char **argv)
{
    struct payhost_config cfg = {0};
    const char *ikid_hex = NULL;
    uint8_t ikid[8];
    size_t n = 0, kn = 0;
    char *line = secmem_new(256), *kb = NULL, kcv[7];
    uint8_t *kbpk = secmem_new(32);
    struct payhost *h = NULL;
    int r, rc = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--state") == 0)
            cfg.state_dir = argv[i + 1];
        else if (strcmp(argv[i], "--ikid") == 0)
            ikid_hex = argv[i + 1];
    }
    if (line == NULL || kbpk == NULL)
        goto out;
    if (cfg.state_dir == NULL || ikid_hex == NULL || hex_decode(ikid, sizeof(ikid), ikid_hex, &n) != 0 || n != 8) {
        fputs(usage, stderr);
        rc = 2;
        goto out;
    }
    for (n = 0; n < 255;) { /* byte at a time: no stdio buffer keeps a copy */
        ssize_t k = read(0, line + n, 1);
        if (k <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    if (hex_decode(kbpk, 32, line, &kn) != 0) {
        fputs("mamori-payhost: bad KBPK\n", stderr);
        goto out;
    }
    if ((r = payhost_open(&cfg, &h)) != 0 || (r = payhost_issue_initial_key(h, ikid, kbpk, kn, &kb, kcv)) != 0) {
        fprintf(stderr, "mamori-payhost: issue-ik: %s\n", mamori_strerror(r));
        goto out;
    }
    printf("{\"block\":\"%s\",\"ik_kcv\":\"%s\"}\n", kb, kcv);
    rc = 0;
out:
    payhost_close(h);
    free(kb);
    secmem_free(line);
    secmem_free(kbpk);
    return rc;
}

int main(int argc, char **argv)
{
    struct payhost_config cfg = {0};
    const char *cert = NULL, *key = NULL;
    long port = 0, max_seconds = 0;
    if (argc > 1 && strcmp(argv[1], "issue-ik") == 0)
        return issue_ik(argc, argv);
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
