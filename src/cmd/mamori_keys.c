/*
 * mamori keys: the key injection ceremony and its schedule (src/keys/inject.h,
 * POL-8(3)).
 *
 *   mamori keys inject --device SERIAL --state D [--config FILE]
 *   mamori keys status --state D [--config FILE] [--json] [--now UNIX]
 *
 * inject reads, one line each from stdin (never the command line): custodian 1
 * id, custodian 1 password, custodian 2 id, custodian 2 password (dual control
 * first), then custodian 1's KBPK component (hex), then custodian 2's. Each
 * component's KCV is shown to compare with the paper form. terminald must be
 * running on D (its control socket D/ctl.sock carries the key block).
 * Config [keys]: payhost_state (the payment host's state dir, required),
 * payhost_prog (default: mamori-payhost next to this program), bdk_id
 * (default 00000001), kbpk_bits (128), reinject_days (365).
 * Exit: 0 ok, 1 failure, 2 usage, 3 the device's KCV differed, 4 refused.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "bus/ctl.h"
#include "cmd/cmd.h"
#include "common/config.h"
#include "common/hex.h"
#include "common/secmem.h"
#include "keys/inject.h"
#include "mamori/err.h"
#include "pos/operator.h"

#define KEYS_PATH_MAX 1024
#define KEYS_LINE_MAX 256

static const char usage_text[] =
    "usage: mamori keys inject --device SERIAL --state D [--config FILE]\n"
    "       mamori keys status --state D [--config FILE] [--json] [--now UNIX]\n"
    "inject reads from stdin, one line each: custodian 1 id, password, custodian 2 id,\n"
    "password, then component 1 (hex), component 2 (hex); shows each component's KCV.\n"
    "Config [keys]: payhost_state (required for inject), payhost_prog, bdk_id, kbpk_bits,\n"
    "reinject_days (default 365). status reports overdue devices (audit keys.overdue).\n"
    "exit: 0 ok, 1 failure, 2 usage, 3 device KCV mismatch, 4 refused (dual control)\n";

struct kopts {
    const char *device, *state, *config;
    bool json;
    int64_t now;
};

/* One line from stdin into guarded memory, byte at a time (no stdio copy). */
static int read_line(char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t k = read(0, &c, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || c == '\n')
            break;
        if (n + 1 >= cap) {
            out[n] = '\0';
            return MAMORI_ERR_TOOBIG;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    if (n > 0 && out[n - 1] == '\r')
        out[--n] = '\0';
    return n > 0 ? 0 : MAMORI_ERR_SHORT;
}

static int comp_from_stdin(void *ctx, int custodian, uint8_t *buf, size_t cap, size_t *ret_len)
{
    char *line = secmem_new(KEYS_LINE_MAX);
    size_t n = 0;
    int r;
    (void)ctx;
    if (line == NULL)
        return MAMORI_ERR_NOMEM;
    fprintf(stderr, "custodian %d: enter your KBPK component (hex)\n", custodian);
    if ((r = read_line(line, KEYS_LINE_MAX)) == 0 && (hex_decode(buf, cap, line, &n) != 0 || n == 0))
        r = MAMORI_ERR_INVAL;
    secmem_free(line);
    if (r == 0)
        *ret_len = n;
    return r;
}

static void show_kcv(void *ctx, const char *what, const char *kcv)
{
    (void)ctx;
    printf("%s KCV %s\n", what, kcv);
    fflush(stdout);
}

static int pathf(char *out, const char *dir, const char *name)
{
    int n = name[0] == '/' ? snprintf(out, KEYS_PATH_MAX, "%s", name) : snprintf(out, KEYS_PATH_MAX, "%s/%s", dir, name);
    return n < 0 || n >= KEYS_PATH_MAX ? MAMORI_ERR_TOOBIG : 0;
}

static int load_config(const struct kopts *o, struct config **ret)
{
    char p[KEYS_PATH_MAX];
    int r = config_new(ret);
    if (r != 0)
        return r;
    if (o->config != NULL)
        return config_parse_file(*ret, o->config);
    if (pathf(p, o->state, "terminald.ini") == 0 && access(p, R_OK) == 0)
        return config_parse_file(*ret, p);
    return 0;
}

static int do_inject(const struct kopts *o)
{
    struct config *cfg = NULL;
    struct audit *audit = NULL;
    struct operators *ops = NULL;
    struct inject_params p = {0};
    struct inject_result res;
    char ctlp[KEYS_PATH_MAX], dbp[KEYS_PATH_MAX], opsp[KEYS_PATH_MAX], auditp[KEYS_PATH_MAX], prog[KEYS_PATH_MAX];
    char id1[OPERATOR_ID_MAX + 2] = "", id2[OPERATOR_ID_MAX + 2] = "";
    char *pw1 = secmem_new(OPERATOR_PASSWORD_MAX + 2), *pw2 = secmem_new(OPERATOR_PASSWORD_MAX + 2);
    int64_t bits;
    int r, rc = 1;
    if (pw1 == NULL || pw2 == NULL)
        goto out;
    if ((r = load_config(o, &cfg)) != 0) {
        rc = cmd_fail("keys", "config", r);
        goto out;
    }
    p.payhost_state = config_get_str(cfg, "keys", "payhost_state", NULL);
    p.payhost_prog = config_get_str(cfg, "keys", "payhost_prog", NULL);
    p.bdk_id = config_get_str(cfg, "keys", "bdk_id", "00000001");
    if (p.payhost_state == NULL) {
        fprintf(stderr, "mamori keys: [keys] payhost_state is not configured\n");
        rc = EXIT_USAGE;
        goto out;
    }
    if (p.payhost_prog == NULL) {
        char self[KEYS_PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
            goto out;
        self[n] = '\0';
        if (pathf(prog, dirname(self), "mamori-payhost") != 0)
            goto out;
        p.payhost_prog = prog;
    }
    if ((r = config_get_int(cfg, "keys", "kbpk_bits", 128, 128, 256, &bits)) != 0 ||
        (bits != 128 && bits != 192 && bits != 256)) {
        rc = cmd_fail("keys", "kbpk_bits", r ? r : MAMORI_ERR_CONFIG);
        goto out;
    }
    p.kbpk_len = (size_t)bits / 8;
    if (pathf(ctlp, o->state, "ctl.sock") || pathf(dbp, o->state, "keys.db") ||
        pathf(opsp, o->state, config_get_str(cfg, "pos", "operators", "operators.db")) ||
        pathf(auditp, o->state, "audit.db"))
        goto out;
    p.device = o->device;
    p.ctl_path = ctlp;
    p.db_path = dbp;
    if ((r = audit_open(auditp, &audit)) != 0 || (r = operators_open(opsp, audit, &ops)) != 0) {
        rc = cmd_fail("keys", "open", r);
        goto out;
    }
    fprintf(stderr, "custodian 1: id and password; custodian 2: id and password (one line each)\n");
    if (read_line(id1, sizeof(id1)) || read_line(pw1, OPERATOR_PASSWORD_MAX + 2) || read_line(id2, sizeof(id2)) ||
        read_line(pw2, OPERATOR_PASSWORD_MAX + 2)) {
        /* one custodian alone: refused by dual control, recorded */
        struct operator_info i1, i2;
        r = operators_dual_authorize(ops, id1, pw1, OPERATOR_MAINTAINER, "-", "", OPERATOR_MAINTAINER, &i1, &i2);
        fprintf(stderr, "mamori keys: refused: two custodians are required (%s)\n", mamori_strerror(r ? r : MAMORI_ERR_PERM));
        rc = EXIT_REFUSED;
        goto out;
    }
    r = inject_run(ops, audit, &p, id1, pw1, id2, pw2, comp_from_stdin, show_kcv, NULL, &res);
    if (r == MAMORI_ERR_PERM || r == MAMORI_ERR_AUTH || r == MAMORI_ERR_LOCKED || r == MAMORI_ERR_NOTFOUND ||
        r == MAMORI_ERR_INVAL) {
        fprintf(stderr, "mamori keys: refused: %s\n", mamori_strerror(r));
        rc = r == MAMORI_ERR_INVAL ? 1 : EXIT_REFUSED;
        goto out;
    }
    if (r == MAMORI_ERR_CRYPTO) {
        fprintf(stderr, "mamori keys: the device's initial key KCV differs from the host's\n");
        rc = EXIT_VERIFY;
        goto out;
    }
    if (r != 0) {
        rc = cmd_fail("keys", "inject", r);
        goto out;
    }
    printf("injected %s (%s) ikid %s initial key KCV %s\n", o->device, res.kind, res.ikid, res.ik_kcv);
    rc = 0;
out:
    secmem_free(pw1);
    secmem_free(pw2);
    operators_free(ops);
    audit_close(audit);
    config_free(cfg);
    return rc;
}

/* Card devices terminald knows (serial, kind pairs), if it runs. */
static size_t card_devices(const char *ctlp, char **pairs, size_t max_pairs)
{
    struct buf out;
    size_t n = 0;
    buf_init(&out, CTL_ANSWER_MAX);
    if (ctl_call(ctlp, "devices", &out, 3000) == 0) {
        char *save = NULL;
        for (char *l = strtok_r((char *)out.d, "\n", &save); l && n < max_pairs; l = strtok_r(NULL, "\n", &save)) {
            json_t *j = json_loads(l, 0, NULL);
            const char *s = json_string_value(json_object_get(j, "serial"));
            const char *k = json_string_value(json_object_get(j, "kind"));
            if (s && inject_kind_card(k) && (pairs[2 * n] = strdup(s)) && (pairs[2 * n + 1] = strdup(k)))
                n++;
            json_decref(j);
        }
    }
    buf_free(&out);
    return n;
}

static int do_status(const struct kopts *o)
{
    struct config *cfg = NULL;
    struct audit *audit = NULL;
    struct inject_status *v = NULL;
    char ctlp[KEYS_PATH_MAX], dbp[KEYS_PATH_MAX], auditp[KEYS_PATH_MAX];
    char *pairs[2 * 64] = {0};
    size_t n = 0, np = 0;
    int64_t days;
    int r, rc = 1;
    if ((r = load_config(o, &cfg)) != 0 ||
        (r = config_get_int(cfg, "keys", "reinject_days", 365, 1, 3650, &days)) != 0) {
        rc = cmd_fail("keys", "config", r);
        goto out;
    }
    if (pathf(ctlp, o->state, "ctl.sock") || pathf(dbp, o->state, "keys.db") || pathf(auditp, o->state, "audit.db"))
        goto out;
    np = card_devices(ctlp, pairs, 64);
    int64_t now = o->now > 0 ? o->now : (int64_t)time(NULL);
    if ((r = inject_status_list(dbp, now, days, (const char *const *)pairs, np, &v, &n)) != 0 ||
        (r = audit_open(auditp, &audit)) != 0) {
        rc = cmd_fail("keys", "status", r);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char when[32] = "never";
        if (v[i].last_at > 0) {
            time_t t = (time_t)v[i].last_at;
            struct tm tm;
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        }
        if (o->json) {
            json_t *j = json_pack("{s:s,s:s,s:s,s:I,s:s,s:b,s:I}", "serial", v[i].serial, "kind", v[i].kind,
                                  "last_injection", when, "last_at", (json_int_t)v[i].last_at, "ik_kcv", v[i].ik_kcv,
                                  "overdue", v[i].overdue, "reinject_days", (json_int_t)days);
            char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
            if (s)
                puts(s);
            free(s);
            json_decref(j);
        } else
            printf("%-16s %-9s last %-20s %s\n", v[i].serial, v[i].kind, when, v[i].overdue ? "OVERDUE" : "ok");
        if (v[i].overdue) {
            struct audit_actor a = {.process = "keys.status"};
            if ((r = audit_event(audit, &a, "keys.overdue", F_STR("device", v[i].serial), F_STR("last", when),
                                 F_INT("reinject_days", days))) != 0) {
                rc = cmd_fail("keys", "audit", r);
                goto out;
            }
        }
    }
    rc = 0;
out:
    for (size_t i = 0; i < 2 * np; i++)
        free(pairs[i]);
    free(v);
    audit_close(audit);
    config_free(cfg);
    return rc;
}

int cmd_keys(int argc, char **argv)
{
    struct kopts o = {0};
    if (cmd_wants_help(argc, argv, usage_text))
        return 0;
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            o.json = true;
            continue;
        }
        if (v == NULL) {
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
        i++;
        if (strcmp(a, "--device") == 0)
            o.device = v;
        else if (strcmp(a, "--state") == 0)
            o.state = v;
        else if (strcmp(a, "--config") == 0)
            o.config = v;
        else if (strcmp(a, "--now") == 0)
            o.now = strtoll(v, NULL, 10);
        else {
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
    }
    if (o.state == NULL) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "inject") == 0 && o.device != NULL)
        return do_inject(&o);
    if (strcmp(argv[1], "status") == 0)
        return do_status(&o);
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}
