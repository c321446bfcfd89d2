/*
 * mamori pay: the register's payment records. `mamori pay verify` re-checks
 * offline every e-money payment in pay.db: its device-signed record
 * (DEV-15, devices/emrec.h) against the IC reader's key pinned in
 * registry.db at enrolment, and that the row says what the device signed
 * (amount, card sequence). Owns option parsing and printing; the check is
 * src/pos/payemoney.c. Opens both databases read-only.
 *
 * Exit codes: 0 every record verified, 1 failure, 2 usage, 3 a record
 * failed verification.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "bus/registry.h"
#include "cmd/cmd.h"
#include "devices/emrec.h"
#include "mamori/err.h"
#include "pos/paycard.h"

static const char usage_text[] =
    "usage: mamori pay verify --state DIR [--json]\n"
    "  Re-verifies every e-money payment in DIR/pay.db: the record signed by the IC card reader\n"
    "  (Ed25519, the device's log key pinned in DIR/registry.db at enrolment) and that the stored\n"
    "  amount and card sequence are the signed ones. Exit 0 all verified, 3 any failed.\n";

#define PAY_PATH_MAX 4096

int cmd_pay(int argc, char **argv)
{
    const char *state = NULL;
    bool json = false;
    char path[PAY_PATH_MAX];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct registry *reg = NULL;
    int64_t ok = 0, bad = 0;
    int r, rc = 1;
    if (cmd_wants_help(argc, argv, usage_text))
        return 0;
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
            state = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else {
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
    }
    if (state == NULL) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (snprintf(path, sizeof(path), "%s/registry.db", state) >= (int)sizeof(path))
        return cmd_fail("pay", "state", MAMORI_ERR_TOOBIG);
    if ((r = registry_open(path, NULL, &reg)) != 0)
        return cmd_fail("pay", path, r);
    snprintf(path, sizeof(path), "%s/pay.db", state);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT txn_no, amount, host_txn, extra FROM payments WHERE kind = 'emoney' ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = cmd_fail("pay", path, MAMORI_ERR_DB);
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct emrec e;
        int64_t txn = sqlite3_column_int64(st, 0), amount = sqlite3_column_int64(st, 1);
        const char *host = (const char *)sqlite3_column_text(st, 2);
        const char *extra = (const char *)sqlite3_column_text(st, 3);
        int v = paycard_emoney_verify_stored(reg, extra, amount, host ? host : "", &e);
        if (v == 0)
            ok++;
        else
            bad++;
        if (json)
            printf("{\"txn\":%" PRId64 ",\"amount\":%" PRId64 ",\"ok\":%s,\"device\":\"%s\",\"seq\":%" PRIu64
                   ",\"error\":\"%s\"}\n",
                   txn, amount, v == 0 ? "true" : "false", v == 0 ? e.serial : "", v == 0 ? e.seq : 0,
                   v == 0 ? "" : mamori_strerror(v));
        else if (v == 0)
            printf("ok      txn %" PRId64 " e-money %" PRId64 " yen, card %s seq %" PRIu64 ", balance %" PRIu64
                   " -> %" PRIu64 ", signed by %s\n",
                   txn, amount, e.card, e.seq, e.balance_before, e.balance_after, e.serial);
        else
            printf("FAILED  txn %" PRId64 " e-money %" PRId64 " yen: %s\n", txn, amount, mamori_strerror(v));
    }
    if (r != SQLITE_DONE) {
        rc = cmd_fail("pay", path, MAMORI_ERR_DB);
        goto out;
    }
    if (!json)
        printf("%" PRId64 " e-money record(s) verified, %" PRId64 " failed\n", ok, bad);
    rc = bad == 0 ? 0 : EXIT_VERIFY;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    registry_close(reg);
    return rc;
}
