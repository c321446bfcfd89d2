/*
 * mamori devices: the terminal's device registry (src/bus/registry.h).
 *
 *   mamori devices list     --state D [--json]
 *   mamori devices trust-ca --state D --ca-pub FILE     install the manufacturer CA key
 *   mamori devices enrol    --state D --cert FILE --kind K --maintainer ID --manager ID
 *                           [--password-fd N]
 *   mamori devices remove   --state D --serial S --maintainer ID --manager ID [--password-fd N]
 *   mamori devices log SERIAL --state D [--verify] [--export FILE] [--no-sync] [--json]
 *                           the device's own signed log as fetched by the terminal (POL-8(1));
 *                           --verify checks it with only the certificate's log key (exit 3)
 *
 * enrol and remove need dual control: the maintainer's password and then the
 * manager's, one line each, from stdin (or --password-fd N); never on the
 * command line. Operators live in D/operators.db (mamori operator --db D/operators.db).
 * Exit: 0 ok, 1 failure, 2 usage, 3 certificate not from the trusted CA,
 * 4 refused (dual control not satisfied, already enrolled).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/ctl.h"
#include "bus/registry.h"
#include "cmd/cmd.h"
#include "cmd/devices_log.h"
#include "common/hex.h"
#include "common/secmem.h"
#include "mamori/err.h"
#include "pos/operator.h"

#define DEV_PATH_MAX 1024

static const char usage_text[] =
    "usage: mamori devices list     --state D [--json]\n"
    "       mamori devices trust-ca --state D --ca-pub FILE\n"
    "       mamori devices enrol    --state D --cert FILE --kind K --maintainer ID --manager ID\n"
    "                               [--password-fd N]\n"
    "       mamori devices remove   --state D --serial S --maintainer ID --manager ID\n"
    "                               [--password-fd N]\n"
    "       mamori devices log SERIAL --state D [--verify] [--export FILE] [--no-sync] [--json]\n"
    "enrol/remove read the maintainer's then the manager's password, one line each,\n"
    "from stdin or file descriptor N.\n"
    "exit: 0 ok, 1 failure, 2 usage, 3 certificate not from the trusted CA (log: device log\n"
    "does not verify), 4 refused\n";

struct dopts {
    const char *state, *cert, *kind, *maint, *mgr, *serial, *ca_pub, *export_path;
    int pwfd;
    bool json, verify, no_sync;
};

static int spath(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, DEV_PATH_MAX, "%s/%s", dir, name);
    return n < 0 || n >= DEV_PATH_MAX ? MAMORI_ERR_TOOBIG : 0;
}

struct env {
    struct audit *a;
    struct registry *reg;
    struct operators *ops;
};

static int env_open(const struct dopts *o, struct env *e)
{
    char p[DEV_PATH_MAX];
    int r;
    memset(e, 0, sizeof(*e));
    if ((r = spath(p, o->state, "audit.db")) || (r = audit_open(p, &e->a)) ||
        (r = spath(p, o->state, "registry.db")) || (r = registry_open(p, e->a, &e->reg)) ||
        (r = spath(p, o->state, "operators.db")) || (r = operators_open(p, e->a, &e->ops)))
        return r;
    return 0;
}

static void env_close(struct env *e)
{
    operators_free(e->ops);
    registry_close(e->reg);
    audit_close(e->a);
}

static int refused_exit(const char *what, int r)
{
    fprintf(stderr, "mamori devices: %s: %s\n", what, mamori_strerror(r));
    return r == MAMORI_ERR_PERM || r == MAMORI_ERR_AUTH || r == MAMORI_ERR_LOCKED ||
                   r == MAMORI_ERR_NOTFOUND || r == MAMORI_ERR_EXISTS
               ? EXIT_REFUSED
               : 1;
}

static int do_list(const struct dopts *o)
{
    struct registry_device *d = calloc(REGISTRY_MAX_DEVICES, sizeof(*d));
    struct env e;
    struct buf live;
    char p[DEV_PATH_MAX];
    size_t n = 0;
    int r;
    if (d == NULL)
        return 1;
    if ((r = env_open(o, &e)) || (r = registry_list(e.reg, d, REGISTRY_MAX_DEVICES, &n))) {
        env_close(&e);
        free(d);
        return cmd_fail("devices", "cannot read the registry", r);
    }
    env_close(&e);
    buf_init(&live, CTL_ANSWER_MAX);
    /* attached state from a running terminald, if any */
    if (spath(p, o->state, "ctl.sock") != 0 || ctl_call(p, "devices", &live, 3000) != 0)
        buf_reset(&live);
    for (size_t i = 0; i < n; i++) {
        char key[65], pat[80];
        const char *att = "unknown";
        (void)hex_encode(key, sizeof(key), d[i].bus_pub, 32);
        snprintf(pat, sizeof(pat), "\"serial\":\"%s\"", d[i].serial);
        if (live.len > 0) {
            const char *hit;
            (void)buf_put_u8(&live, 0);
            live.len--;
            hit = strstr((const char *)live.d, pat);
            if (hit) {
                const char *eol = strchr(hit, '\n'), *a = strstr(hit, "\"attached\":true");
                att = a && (eol == NULL || a < eol) ? "yes" : "no";
            } else {
                att = "no";
            }
        }
        if (o->json)
            printf("{\"serial\":\"%s\",\"model\":\"%s\",\"kind\":\"%s\",\"bus_pub\":\"%s\","
                   "\"removed\":%s,\"maintainer\":\"%s\",\"manager\":\"%s\",\"enrolled_at\":%lld,"
                   "\"attached\":\"%s\"}\n",
                   d[i].serial, d[i].model, d[i].kind, key, d[i].removed ? "true" : "false",
                   d[i].maintainer, d[i].manager, (long long)d[i].enrolled_at, att);
        else
            printf("%-20s %-12s %-18s %-8s attached=%s by %s+%s\n", d[i].serial, d[i].kind,
                   d[i].model, d[i].removed ? "removed" : "active", att, d[i].maintainer,
                   d[i].manager);
    }
    buf_free(&live);
    free(d);
    return 0;
}

static int do_enrol_remove(const struct dopts *o, bool enrol)
{
    struct env e;
    char p[DEV_PATH_MAX], *pw1 = NULL, *pw2 = NULL;
    uint8_t cert[CERT_MAX], ca[32];
    size_t n = 0;
    int fd = o->pwfd >= 0 ? o->pwfd : 0, r, rc;
    if (enrol) {
        if ((r = cert_read_file(o->cert, cert, sizeof(cert), &n)) != 0)
            return cmd_fail("devices", o->cert, r);
        if ((r = spath(p, o->state, "manufacturer-ca.pub")) || (r = hex_read_file(p, ca, 32)))
            return cmd_fail("devices", "no trusted manufacturer CA (mamori devices trust-ca)", r);
    }
    if ((r = cmd_read_password(fd, &pw1)) || (r = cmd_read_password(fd, &pw2))) {
        secmem_free(pw1);
        return cmd_fail("devices", "cannot read the two passwords", r);
    }
    if ((r = env_open(o, &e)) != 0) {
        env_close(&e);
        secmem_free(pw1);
        secmem_free(pw2);
        return cmd_fail("devices", "cannot open the state directory", r);
    }
    if (enrol) {
        r = registry_enrol(e.reg, e.ops, cert, n, ca, o->kind, o->maint, pw1, o->mgr, pw2);
    } else {
        struct operator_info w1, w2;
        r = operators_dual_authorize(e.ops, o->maint, pw1, OPERATOR_MAINTAINER, o->mgr, pw2,
                                     OPERATOR_MANAGER, &w1, &w2);
        if (r == 0) {
            struct audit_actor act = {
                .operator_id = o->maint, .role = "maintainer", .process = "mamori devices"};
            r = registry_remove(e.reg, o->serial, &act);
        }
    }
    secmem_free(pw1);
    secmem_free(pw2);
    env_close(&e);
    if (r == MAMORI_ERR_AUTH && enrol) {
        /* distinguish a bad certificate from a bad password */
        struct cert c;
        if (cert_decode(cert, n, &c) == 0 && cert_verify(&c, ca) != 0) {
            fprintf(stderr, "mamori devices: %s: not signed by the trusted manufacturer CA\n",
                    o->cert);
            return EXIT_VERIFY;
        }
    }
    if (r != 0)
        return refused_exit(enrol ? "enrolment refused" : "removal refused", r);
    if (!enrol) {
        struct buf ans;
        char line[128];
        buf_init(&ans, 4096);
        snprintf(line, sizeof(line), "disconnect %s", o->serial);
        if (spath(p, o->state, "ctl.sock") == 0)
            (void)ctl_call(p, line, &ans, 3000); /* a running terminald drops the session */
        buf_free(&ans);
    }
    rc = 0;
    printf("%s %s\n", enrol ? "enrolled" : "removed", enrol ? o->cert : o->serial);
    return rc;
}

static int do_trust_ca(const struct dopts *o)
{
    uint8_t ca[32];
    char p[DEV_PATH_MAX], h[70];
    struct audit *a = NULL;
    int fd, r;
    if ((r = hex_read_file(o->ca_pub, ca, 32)) != 0)
        return cmd_fail("devices", o->ca_pub, r);
    (void)hex_encode(h, sizeof(h), ca, 32);
    strcat(h, "\n");
    if ((r = spath(p, o->state, "manufacturer-ca.pub")) != 0)
        return cmd_fail("devices", "path", r);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 || write(fd, h, strlen(h)) != (ssize_t)strlen(h)) {
        if (fd >= 0)
            close(fd);
        return cmd_fail("devices", p, MAMORI_ERR_IO);
    }
    close(fd);
    if (spath(p, o->state, "audit.db") == 0 && audit_open(p, &a) == 0) {
        struct audit_actor act = {.process = "mamori devices"};
        (void)audit_event(a, &act, "device.ca_trusted", F_HEX("ca", ca, 32));
        audit_close(a);
    }
    return 0;
}

int cmd_devices(int argc, char **argv)
{
    static const struct option lo[] = {
        {"state", required_argument, NULL, 's'},
        {"cert", required_argument, NULL, 'c'},
        {"kind", required_argument, NULL, 'k'},
        {"maintainer", required_argument, NULL, 'M'},
        {"manager", required_argument, NULL, 'G'},
        {"serial", required_argument, NULL, 'S'},
        {"password-fd", required_argument, NULL, 'p'},
        {"ca-pub", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"verify", no_argument, NULL, 'v'},
        {"export", required_argument, NULL, 'e'},
        {"no-sync", no_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    struct dopts o = {.pwfd = -1};
    const char *sub;
    int ch;
    if (argc < 2 || cmd_wants_help(argc, argv, usage_text)) {
        if (argc < 2)
            fputs(usage_text, stderr);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    sub = argv[1];
    optind = 1;
    argc--;
    argv++;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 's':
            o.state = optarg;
            break;
        case 'c':
            o.cert = optarg;
            break;
        case 'k':
            o.kind = optarg;
            break;
        case 'M':
            o.maint = optarg;
            break;
        case 'G':
            o.mgr = optarg;
            break;
        case 'S':
            o.serial = optarg;
            break;
        case 'p':
            o.pwfd = atoi(optarg);
            break;
        case 'a':
            o.ca_pub = optarg;
            break;
        case 'j':
            o.json = true;
            break;
        case 'v':
            o.verify = true;
            break;
        case 'e':
            o.export_path = optarg;
            break;
        case 'n':
            o.no_sync = true;
            break;
        default:
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
    }
    if (strcmp(sub, "log") == 0 && o.state != NULL && (optind == argc - 1 || (optind == argc && o.serial)))
        return devices_log_run(o.state, optind == argc - 1 ? argv[optind] : o.serial, o.verify, o.export_path,
                               !o.no_sync, o.json);
    if (o.state == NULL || optind != argc) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(sub, "list") == 0)
        return do_list(&o);
    if (strcmp(sub, "trust-ca") == 0 && o.ca_pub)
        return do_trust_ca(&o);
    if ((strcmp(sub, "enrol") == 0 || strcmp(sub, "enroll") == 0) && o.cert && o.kind && o.maint &&
        o.mgr)
        return do_enrol_remove(&o, true);
    if (strcmp(sub, "remove") == 0 && o.serial && o.maint && o.mgr)
        return do_enrol_remove(&o, false);
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}
