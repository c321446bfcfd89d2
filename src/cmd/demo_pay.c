/*
 * demo_pay.c: owns the card payment part of `mamori demo` (issue 4): a
 * terminal with the register, the card devices (PIN pad, MSR, IC reader,
 * signature pad) and a printer on the secure bus, the payment host
 * SIMULATOR (mamori-payhost, HTTPS on loopback), the key injection ceremony
 * with two custodians (`mamori keys inject`), a credit sale with PIN, a
 * credit sale with signature, an e-money sale, a refund by token, and the
 * scan of terminald's memory and files that proves no card data is on the
 * controller (while the same scan finds the PAN at the host). The shopper's
 * hands are the devices' control sockets. Every process it starts has a
 * run-time limit and is stopped here.
 */
#include "cmd/demo_pay.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/demoproc.h"
#include "cmd/regclient.h"
#include "common/evloop.h"

#define DP_PATH_MAX 1024
#define DP_KINDS 6
#define DP_RUNTIME "240"
#define DP_MEM_CHUNK (1u << 20)

static const char *const dp_kinds[DP_KINDS] = {"printer", "drawer", "pinpad", "msr", "icreader", "sigpad"};

#define DP_PAN "4111111111111111"
#define DP_PIN "73916428"
#define DP_T1 "%B4111111111111111^MAMORI/TARO^2812101123456789?"
#define DP_T2 ";4111111111111111=28121011234567?"
#define DP_T2_SIG ";4242424242424242=28121011234567?"
#define DP_C1 "00112233445566778899AABBCCDDEEFF"
#define DP_C2 "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
#define DP_TEA "4901234001077"

struct dp {
    struct demoproc p;
    char dir[DP_PATH_MAX], term[DP_PATH_MAX], host[DP_PATH_MAX], sock[DP_PATH_MAX], ini[DP_PATH_MAX];
    pid_t tpid, hpid, dpid[DP_KINDS];
    int port;
};

static int dctl(struct dp *r, const char *kind, const char *w1, const char *w2, const char *w3, const char *w4)
{
    char sock[DP_PATH_MAX];
    demoproc_pathf(sock, sizeof(sock), "%s/dev-%s/ctl.sock", r->dir, kind);
    const char *argv[] = {"mamori-devsim", "ctl", "--ctl", sock, w1, w2, w3, w4, NULL};
    return demoproc_exec(&r->p, argv, NULL);
}

static int tctl(struct dp *r, const char *w1, const char *w2)
{
    char sock[DP_PATH_MAX];
    demoproc_pathf(sock, sizeof(sock), "%s/ctl.sock", r->term);
    const char *argv[] = {"mamori-devsim", "ctl", "--ctl", sock, w1, w2, NULL};
    return demoproc_exec(&r->p, argv, NULL);
}

static int attached(struct dp *r)
{
    int n = 0;
    if (tctl(r, "devices", NULL) != 0)
        return 0;
    for (const char *p = r->p.out; (p = strstr(p, "\"attached\":true")) != NULL; p++)
        n++;
    return n;
}

static int serial_of(struct dp *r, const char *kind, char *out, size_t cap)
{
    char want[64];
    if (tctl(r, "devices", NULL) != 0)
        return -1;
    demoproc_pathf(want, sizeof(want), "\"kind\":\"%s\"", kind);
    for (char *line = strtok(r->p.out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_t *j = strstr(line, want) ? json_loads(line, 0, NULL) : NULL;
        const char *s = json_string_value(json_object_get(j, "serial"));
        if (s != NULL) {
            snprintf(out, cap, "%s", s);
            json_decref(j);
            return 0;
        }
        json_decref(j);
    }
    return -1;
}

static int api(struct dp *r, const char *method, const char *path, json_t *body, int timeout_ms, json_t **ret)
{
    int status = 0;
    json_t *j = NULL;
    int rc = regclient_call(r->sock, method, path, body, timeout_ms, &status, &j);
    json_decref(body);
    if (rc != 0)
        return -1;
    if (ret)
        *ret = j;
    else
        json_decref(j);
    return status;
}

/* ---- setup ---- */

static int setup(struct dp *r, const char *datadir)
{
    static const char *const ops[][3] = {{"maint", "maintainer", "maint-pw-1"},
                                         {"maint2", "maintainer", "maint2-pw-1"},
                                         {"boss", "manager", "boss-pw-1"},
                                         {"kenji", "cashier", "kenji-pw-1"}};
    int ok = demoproc_terminal(&r->p, r->dir, r->term, ops, 4) == 0 &&
             demoproc_items(&r->p, datadir, r->term) == 0 &&
             demoproc_enrol(&r->p, r->dir, r->term, dp_kinds, DP_KINDS) == 0;
    demoproc_step(&r->p, ok, "terminal with the register; two key custodians (maintainers); printer, drawer and "
                             "the card devices (PIN pad, MSR, IC reader, signature pad) enrolled under dual control");
    return ok ? 0 : -1;
}

static int start_host(struct dp *r)
{
    char line[256], p[DP_PATH_MAX];
    FILE *f;
    demoproc_pathf(p, sizeof(p), "%s/issuers.txt", r->host);
    if (mkdir(r->host, 0700) != 0 || (f = fopen(p, "we")) == NULL)
        return -1;
    fprintf(f, "# simulated issuer records: PAN PIN LIMIT STATUS\n%s %s 500000 active\n", DP_PAN, DP_PIN);
    if (fclose(f) != 0)
        return -1;
    const char *a[] = {"mamori-payhost", "--state", r->host, "--port", "0", "--today", "2026-11",
                       "--max-seconds", DP_RUNTIME, NULL};
    r->hpid = demoproc_start_ready(&r->p, a, line, sizeof(line));
    if (r->hpid <= 0 || sscanf(line, "ready port=%d", &r->port) != 1)
        return -1;
    demoproc_pathf(r->ini, sizeof(r->ini), "%s/terminald.ini", r->dir);
    if ((f = fopen(r->ini, "we")) == NULL)
        return -1;
    fprintf(f,
            "[pay]\npayhost_url = https://127.0.0.1:%d/v1/authorize\npayhost_cert = %s/cert.pem\ninput_ms = 20000\n"
            "[keys]\npayhost_state = %s\npayhost_prog = %s/mamori-payhost\nreinject_days = 365\n"
            "[sandbox]\n; terminald reads the pinned host certificate after it restricts itself\nro = %s/cert.pem\n",
            r->port, r->host, r->host, r->p.bindir, r->host);
    return fclose(f) == 0 ? 0 : -1;
}

static int start_terminal(struct dp *r)
{
    const char *a[] = {"mamori-terminald", "--state", r->term, "--config", r->ini, "--max-runtime", DP_RUNTIME, NULL};
    if ((r->tpid = demoproc_start_ready(&r->p, a, NULL, 0)) <= 0)
        return -1;
    demoproc_devices(&r->p, r->dir, r->term, dp_kinds, DP_KINDS, DP_RUNTIME, r->dpid);
    int64_t end = evloop_now_ms() + DEMOPROC_WAIT_MS;
    while (attached(r) < DP_KINDS && evloop_now_ms() < end)
        demoproc_nap(100);
    return attached(r) == DP_KINDS ? 0 : -1;
}

/* ---- the key ceremony ---- */

static int inject(struct dp *r, const char *kind, const char *who, bool show)
{
    char serial[128];
    if (serial_of(r, kind, serial, sizeof(serial)) != 0 || dctl(r, kind, "kbpk", "1", DP_C1, NULL) != 0 ||
        dctl(r, kind, "kbpk", "2", DP_C2, NULL) != 0)
        return -1;
    if (show)
        printf("  at the %s: custodian 1 and custodian 2 key their components: %s", kind, r->p.out);
    const char *a[] = {"mamori", "keys", "inject", "--device", serial, "--state", r->term, "--config", r->ini, NULL};
    char in[512];
    demoproc_pathf(in, sizeof(in), "%s\n%s\n", who, DP_C1 "\n" DP_C2);
    int rc = demoproc_exec(&r->p, a, in);
    if (show)
        printf("  mamori keys inject --device %s:\n%s", serial, r->p.out);
    return rc;
}

static void ceremony(struct dp *r)
{
    char serial[128];
    int rc;
    printf("---- key injection ceremony (POL-8(3): dual control, split knowledge) ----\n");
    if (serial_of(r, "pinpad", serial, sizeof(serial)) == 0) {
        const char *a[] = {"mamori", "keys", "inject", "--device", serial, "--state", r->term, "--config", r->ini, NULL};
        rc = demoproc_exec(&r->p, a, "maint\nmaint-pw-1\nmaint\nmaint-pw-1\n" DP_C1 "\n" DP_C2 "\n");
        demoproc_step(&r->p, rc == 4, "the same custodian twice: refused before any key material (exit 4, audited)");
        rc = demoproc_exec(&r->p, a, "maint\nmaint-pw-1\n");
        demoproc_step(&r->p, rc == 4, "one custodian alone: refused (exit 4, audited)");
    }
    rc = inject(r, "pinpad", "maint\nmaint-pw-1\nmaint2\nmaint2-pw-1", true);
    demoproc_step(&r->p, rc == 0, "PIN pad: KBPK from two components (each KCV shown), DUKPT initial key derived from the BDK "
                     "at the payment host and delivered only as a TR-31 key block over the bus; KCVs match");
    demoproc_step(&r->p, inject(r, "msr", "maint\nmaint-pw-1\nmaint2\nmaint2-pw-1", false) == 0 &&
                inject(r, "icreader", "maint\nmaint-pw-1\nmaint2\nmaint2-pw-1", false) == 0,
         "MSR and IC reader injected the same way");
    const char *s[] = {"mamori", "keys", "status", "--state", r->term, "--config", r->ini, NULL};
    rc = demoproc_exec(&r->p, s, NULL);
    printf("  mamori keys status:\n%s", r->p.out);
    demoproc_step(&r->p, rc == 0 && strstr(r->p.out, "pinpad") && strstr(r->p.out, " ok"), "re-injection schedule: all card "
                                                                          "devices injected, none overdue");
}

/* ---- the shopper ---- */

/* The shopper at the PIN pad: swipe (chip false) or insert the chip card
 * into the PIN pad's own chip slot (chip true), then key the PIN. */
static bool pin_entry(struct dp *r, bool chip)
{
    return (chip ? dctl(r, "pinpad", "card", "credit", DP_PAN, "2812") == 0
                 : dctl(r, "pinpad", "swipe", DP_T1, DP_T2, NULL) == 0) &&
           dctl(r, "pinpad", "pin", DP_PIN, NULL, NULL) == 0 && dctl(r, "pinpad", "enter", NULL, NULL, NULL) == 0;
}

/* The shopper signing on the signature pad. */
static bool signing(struct dp *r, bool chip)
{
    (void)chip;
    return dctl(r, "sigpad", "sign", "12,40", "80,10", "150,60") == 0;
}

/* The shopper, in a child process: once kind's status shows waiting (within
 * 30 s), act(r, chip) at the device; the child exits 0 when that worked. */
static pid_t shopper(struct dp *r, const char *kind, const char *waiting, bool (*act)(struct dp *, bool), bool chip)
{
    pid_t pid;
    fflush(stdout);
    if ((pid = fork()) != 0)
        return pid;
    int64_t end = evloop_now_ms() + 30000;
    while (evloop_now_ms() < end) {
        if (dctl(r, kind, "status", NULL, NULL, NULL) == 0 && strstr(r->p.out, waiting))
            _exit(act(r, chip) ? 0 : 1);
        demoproc_nap(100);
    }
    _exit(1);
}

static bool reap_ok(pid_t pid)
{
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void show_payment(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (s != NULL && strlen(s) > 300)
        s[300] = '\0';
    printf("    -> %s\n", s ? s : "(no answer)");
    free(s);
}

static int64_t sales(struct dp *r)
{
    json_t *j = NULL;
    int st;
    int64_t sold = 0;
    printf("---- card payments through the register (the controller forwards ciphertext only) ----\n");
    api(r, "POST", "/v1/signon", json_pack("{s:s,s:s}", "id", "kenji", "password", "kenji-pw-1"), 5000, NULL);
    api(r, "POST", "/v1/day/open", json_pack("{s:i}", "change_fund", 30000), 5000, NULL);
    api(r, "POST", "/v1/scan", json_pack("{s:s,s:i}", "code", DP_TEA, "qty", 2), 5000, NULL);
    pid_t sh = shopper(r, "pinpad", "waiting for PIN", pin_entry, false);
    st = api(r, "POST", "/v1/tender/card", json_pack("{s:i,s:s}", "amount", 320, "method", "lump"), 60000, &j);
    show_payment(j);
    sold = json_integer_value(json_object_get(j, "receipt"));
    json_decref(j);
    demoproc_step(&r->p, reap_ok(sh) && st == 200 && sold > 0,
         "credit sale with PIN: the shopper swipes and keys the PIN at the PIN pad; the host decrypts, checks the "
         "PIN and approves (一括)");

    api(r, "POST", "/v1/scan", json_pack("{s:s}", "code", DP_TEA), 5000, NULL);
    sh = shopper(r, "pinpad", "waiting for PIN", pin_entry, true);
    j = NULL;
    st = api(r, "POST", "/v1/tender/card", json_pack("{s:i,s:s,s:s}", "amount", 160, "cvm", "pin", "source", "ic"),
             60000, &j);
    show_payment(j);
    json_decref(j);
    demoproc_step(&r->p, reap_ok(sh) && st == 200,
         "IC credit sale with PIN: the chip card goes into the PIN pad's own chip slot, so the PAN for the format-4 "
         "PIN block never leaves that device; the host sees entry mode chip inside the MAC'd envelope");

    dctl(r, "msr", "swipe", "-", DP_T2_SIG, NULL);
    api(r, "POST", "/v1/scan", json_pack("{s:s}", "code", DP_TEA), 5000, NULL);
    sh = shopper(r, "sigpad", "sigpad: capturing", signing, false);
    j = NULL;
    st = api(r, "POST", "/v1/tender/card",
             json_pack("{s:i,s:s,s:s,s:i}", "amount", 160, "cvm", "signature", "method", "installments", "count", 3),
             60000, &j);
    show_payment(j);
    json_decref(j);
    demoproc_step(&r->p, reap_ok(sh) && st == 200,
         "credit sale with signature: MSR swipe, stroke points from the signature pad stored with the sale (分割 3回)");

    dctl(r, "icreader", "card", "emoney", "0012345678", "5000");
    api(r, "POST", "/v1/scan", json_pack("{s:s}", "code", DP_TEA), 5000, NULL);
    j = NULL;
    st = api(r, "POST", "/v1/tender/emoney", json_pack("{s:i}", "amount", 160), 30000, &j);
    show_payment(j);
    json_decref(j);
    dctl(r, "icreader", "status", NULL, NULL, NULL);
    demoproc_step(&r->p, st == 200, "e-money sale: the IC reader deducts 160 yen in the card and returns the record of it, "
                       "signed with its own device key; the register verified it against the key pinned at enrolment");
    {
        const char *v[] = {"mamori", "pay", "verify", "--state", r->term, NULL};
        int rc = demoproc_exec(&r->p, v, NULL);
        printf("  mamori pay verify:\n%s", r->p.out);
        demoproc_step(&r->p, rc == 0 && strstr(r->p.out, "1 e-money record(s) verified, 0 failed") != NULL,
             "the stored e-money record re-verified offline against the pinned device key");
    }

    if (sold > 0) {
        api(r, "POST", "/v1/return",
            json_pack("{s:I,s:{s:s,s:s}}", "receipt", (json_int_t)sold, "manager", "id", "boss", "password",
                      "boss-pw-1"),
            5000, NULL);
        api(r, "POST", "/v1/return/line", json_pack("{s:i,s:i}", "line", 1, "qty", 2), 5000, NULL);
        j = NULL;
        st = api(r, "POST", "/v1/refund/external", json_pack("{s:s}", "kind", "card"), 30000, &j);
        show_payment(j);
        json_decref(j);
        demoproc_step(&r->p, st == 200, "refund of the PIN sale back to the card by the host's token (no card data at all)");
    }
    return sold;
}

/* ---- the scan ---- */

static size_t count_in(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle), c = 0;
    for (const uint8_t *p = hay; n >= k && (p = memmem(p, n - (size_t)(p - hay), needle, k)) != NULL; p++)
        c++;
    return c;
}

/* Occurrences of needle in the readable memory of pid (we are the parent or root). */
static long scan_memory(pid_t pid, const char *needle, size_t *ret_bytes)
{
    char path[64], line[512];
    uint8_t *buf = malloc(DP_MEM_CHUNK + 64);
    long hits = 0;
    size_t total = 0;
    demoproc_pathf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    FILE *maps = fopen(path, "re");
    demoproc_pathf(path, sizeof(path), "/proc/%d/mem", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (buf == NULL || maps == NULL || fd < 0) {
        hits = -1;
        goto out;
    }
    while (fgets(line, sizeof(line), maps)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' || strstr(line, "[vvar]") ||
            strstr(line, "[vsyscall]"))
            continue;
        for (unsigned long a = lo; a < hi; a += DP_MEM_CHUNK) {
            size_t want = hi - a < DP_MEM_CHUNK ? hi - a : DP_MEM_CHUNK;
            ssize_t k = pread(fd, buf, want, (off_t)a);
            if (k <= 0)
                break;
            total += (size_t)k;
            hits += (long)count_in(buf, (size_t)k, needle);
        }
    }
out:
    if (maps)
        fclose(maps);
    if (fd >= 0)
        close(fd);
    free(buf);
    *ret_bytes = total;
    return hits;
}

static long scan_files(struct dp *r, const char *needle)
{
    char cmd[DP_PATH_MAX * 2];
    long hits = 0;
    demoproc_pathf(cmd, sizeof(cmd), "find '%s' -type f", r->term);
    FILE *f = popen(cmd, "r");
    char path[DP_PATH_MAX];
    while (f && fgets(path, sizeof(path), f)) {
        path[strcspn(path, "\n")] = '\0';
        FILE *g = fopen(path, "rb");
        if (g == NULL)
            continue;
        size_t n = fread(r->p.out, 1, DEMOPROC_OUT_MAX, g);
        fclose(g);
        hits += (long)count_in((const uint8_t *)r->p.out, n, needle);
    }
    if (f)
        pclose(f);
    return hits;
}

static void scan(struct dp *r)
{
    static const char *const secrets[] = {DP_PAN, "MAMORI/TARO", "4111111111111111=2812", DP_PIN};
    size_t bytes = 0, hbytes = 0;
    long mem = 0, files = 0;
    printf("---- the scan: is any card data on the controller? (POL-2) ----\n");
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        long m = scan_memory(r->tpid, secrets[i], &bytes), f = scan_files(r, secrets[i]);
        printf("  %-24s terminald memory: %ld   terminal files: %ld\n", secrets[i], m, f);
        mem += m < 0 ? 1000 : m;
        files += f;
    }
    long host = scan_memory(r->hpid, DP_PAN, &hbytes);
    long masked = scan_memory(r->tpid, "411111******1111", &bytes);
    printf("  searched %zu bytes of mamori-terminald memory (/proc/%d/mem) and every file in its state dir\n",
           bytes, (int)r->tpid);
    demoproc_step(&r->p, mem == 0 && files == 0 && bytes > 1000000 && masked >= 0,
         "no PAN, track data or PIN digits anywhere in terminald's memory or files (only the masked PAN)");
    demoproc_step(&r->p, host > 0, "the same search in the payment host simulator's memory finds the PAN (the scan works)");
}

static void stop_all(struct dp *r)
{
    demoproc_stop(r->tpid);
    demoproc_stop(r->hpid);
    for (int i = 0; i < DP_KINDS; i++)
        demoproc_stop(r->dpid[i]);
}

int demo_pay(const char *bindir, const char *dir, const char *datadir)
{
    struct dp r;
    memset(&r, 0, sizeof(r));
    r.p.bindir = bindir;
    if ((r.p.out = malloc(DEMOPROC_OUT_MAX)) == NULL)
        return 1;
    demoproc_pathf(r.dir, sizeof(r.dir), "%s/pay", dir);
    demoproc_pathf(r.term, sizeof(r.term), "%s/term", r.dir);
    demoproc_pathf(r.host, sizeof(r.host), "%s/payhost", r.dir);
    demoproc_pathf(r.sock, sizeof(r.sock), "%s/pos.sock", r.term);
    printf("---- card, PIN and e-money payments (issue 4): P2PE in the devices, payment host SIMULATOR ----\n");
    if (mkdir(r.dir, 0700) != 0 || mkdir(r.term, 0700) != 0 || setup(&r, datadir) != 0)
        goto out;
    demoproc_step(&r.p, start_host(&r) == 0, "mamori-payhost (SIMULATOR of the card network) on 127.0.0.1 over HTTPS; "
                                  "it alone holds the BDK");
    if (r.hpid <= 0)
        goto out;
    demoproc_step(&r.p, start_terminal(&r) == 0, "terminald and the six devices attached over the secure bus");
    if (r.tpid <= 0)
        goto out;
    ceremony(&r);
    sales(&r);
    scan(&r);
    {
        char roll[DP_PATH_MAX];
        demoproc_pathf(roll, sizeof(roll), "%s/dev-printer/fw/printer.out", r.dir);
        const char *a[] = {"mamori", "receipt", "decode", roll, NULL};
        int rc = demoproc_exec(&r.p, a, NULL);
        printf("---- card receipts as printed ----\n%s", r.p.out);
        demoproc_step(&r.p, rc == 0 && strstr(r.p.out, "1111") != NULL && strstr(r.p.out, DP_PAN) == NULL,
             "receipts show only the last 4 digits, the approval code and the payment method");
    }
out:
    stop_all(&r);
    free(r.p.out);
    return r.p.failures;
}
