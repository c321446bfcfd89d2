/*
 * devices_log.c: `mamori devices log SERIAL [--verify] [--export FILE]`
 * (devices_log.h). Asks a running terminald to fetch first (control command
 * "devlog-sync SERIAL", best effort), then reads the terminal's state
 * directory: the device's log key from registry.db (its certificate), the
 * stored entries from devlog.db.
 */
#include "cmd/devices_log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit/audit.h"
#include "audit/devlog.h"
#include "bus/ctl.h"
#include "bus/msg.h"
#include "bus/msgjson.h"
#include "bus/registry.h"
#include "cmd/cmd.h"
#include "common/hex.h"
#include "mamori/err.h"

#define DLOG_PATH_MAX 1024
#define DLOG_EXPORT_MAX (256u << 20) /* bytes of one exported device log */

static int spath(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, DLOG_PATH_MAX, "%s/%s", dir, name);
    return n < 0 || n >= DLOG_PATH_MAX ? MAMORI_ERR_TOOBIG : 0;
}

static void print_entries(const struct buf *exp)
{
    struct buf b;
    struct devlog_entry *e = malloc(sizeof(*e));
    if (e == NULL)
        return;
    buf_view(&b, buf_ptr(exp), buf_remaining(exp));
    while (buf_remaining(&b) > 0 && devlog_read(&b, e) == 0) {
        cbor_item_t *it = NULL;
        char *js = NULL;
        if (msg_cbor_parse(e->details, e->details_len, &it) == 0) {
            json_t *j = msgjson_from_cbor(it);
            js = j ? json_dumps(j, JSON_COMPACT) : NULL;
            json_decref(j);
            cbor_decref(&it);
        }
        printf("%8" PRIu64 " %lld.%09lld %-20s %s\n", e->seq, (long long)(e->time_ns / 1000000000),
               (long long)(e->time_ns % 1000000000), e->event, js ? js : "(details not shown)");
        free(js);
    }
    free(e);
}

int devices_log_run(const char *state, const char *serial, bool verify, const char *export_path, bool sync,
                    bool json)
{
    char p[DLOG_PATH_MAX], line[256];
    struct audit *a = NULL;
    struct registry *reg = NULL;
    struct devlog_store *st = NULL;
    struct registry_device rd;
    struct buf exp;
    int r, rc = 1;
    buf_init(&exp, DLOG_EXPORT_MAX);
    if (sync && spath(p, state, "ctl.sock") == 0 &&
        snprintf(line, sizeof(line), "devlog-sync %s", serial) < (int)sizeof(line)) {
        struct buf ans;
        buf_init(&ans, CTL_ANSWER_MAX);
        (void)ctl_call(p, line, &ans, 30000); /* no terminald running: use what is stored */
        buf_free(&ans);
    }
    if ((r = spath(p, state, "audit.db")) || (r = audit_open(p, &a)) || (r = spath(p, state, "registry.db")) ||
        (r = registry_open(p, a, &reg))) {
        rc = cmd_fail("devices", "cannot open the registry", r);
        goto out;
    }
    if ((r = registry_get(reg, serial, &rd)) != 0) {
        fprintf(stderr, "mamori devices: %s: not an enrolled device\n", serial);
        rc = EXIT_REFUSED;
        goto out;
    }
    if ((r = spath(p, state, "devlog.db")) || (r = devlog_store_open(p, NULL, &st)) ||
        (r = devlog_store_export(st, serial, &exp))) {
        rc = cmd_fail("devices", "cannot read the device-log store", r);
        goto out;
    }
    if (export_path != NULL) {
        FILE *f = fopen(export_path, "wbx");
        if (f == NULL || fwrite(buf_ptr(&exp), 1, buf_remaining(&exp), f) != buf_remaining(&exp)) {
            if (f)
                fclose(f);
            rc = cmd_fail("devices", "cannot write the export (exists?)", MAMORI_ERR_IO);
            goto out;
        }
        if (fclose(f) != 0) {
            rc = cmd_fail("devices", "cannot write the export", MAMORI_ERR_IO);
            goto out;
        }
    }
    if (!verify && export_path == NULL)
        print_entries(&exp);
    rc = 0;
    if (verify) {
        struct devlog_file_result res;
        char pubhex[65];
        (void)hex_encode(pubhex, sizeof(pubhex), rd.log_pub, sizeof(rd.log_pub));
        memset(&res, 0, sizeof(res));
        r = devlog_verify_file(buf_ptr(&exp), buf_remaining(&exp), rd.log_pub, &res);
        if (json) {
            printf("{\"serial\":\"%s\",\"ok\":%s,\"entries\":%" PRIu64 ",\"verified\":%" PRIu64
                   ",\"verdict\":\"%s\",\"log_pub\":\"%s\"",
                   serial, r == 0 ? "true" : "false", res.entries, res.ok, devlog_verdict_name(res.verdict), pubhex);
            if (r != 0)
                printf(",\"first_bad\":%" PRIu64, res.first_bad);
            printf("}\n");
        } else if (r == 0) {
            printf("device log of %s OK: %" PRIu64 " entries, signatures, chain and sequence verified with the "
                   "certificate's log key %s\n",
                   serial, res.entries, pubhex);
        } else {
            printf("device log of %s FAILED at entry %" PRIu64 " (%s): %s\n", serial, res.first_bad,
                   devlog_verdict_name(res.verdict), res.reason);
        }
        if (r != 0)
            rc = r == MAMORI_ERR_AUTH ? EXIT_VERIFY : 1;
    }
out:
    devlog_store_close(st);
    registry_close(reg);
    audit_close(a);
    buf_free(&exp);
    return rc;
}
