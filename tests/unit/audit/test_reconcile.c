/*
 * Unit tests for src/audit/reconcile.c: the Z-report cash reconciliation of
 * journal, device logs and cassette counts (POL-1, POL-8(1)).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/recon_day.h"
#include "audit/reconcile.h"
#include "mamori/err.h"

#define H(h, m) ((int64_t)(1764115200 + (h) * 3600 + (m) * 60) * 1000000000LL) /* a day, UTC */
enum { D10000, D5000, D2000, D1000, D500, D100, D50, D10, D5, D1 };

struct day {
    struct recon_move journal[32], device[32];
    size_t nj, nd;
    struct recon_session sessions[2];
    struct recon_counts start, end;
    struct recon_drawer_open dlog[16], dcmd[16];
    size_t ndl, ndc;
};

static void sale(struct day *d, int64_t t, const char *ref, const char *op, int paid_d, int change_d, int change_n)
{
    struct recon_move in = {.time_ns = t, .dir = RECON_IN, .ref = ref, .operator_id = op};
    struct recon_move out = {.time_ns = t + 2000000000, .dir = RECON_OUT, .ref = ref, .operator_id = op};
    in.count[paid_d] = 1;
    out.count[change_d] = change_n;
    d->journal[d->nj++] = in;
    d->journal[d->nj++] = out;
    in.operator_id = out.operator_id = NULL;
    in.serial = out.serial = "CHG-0001";
    in.seq = d->nd;
    d->device[d->nd++] = in;
    out.seq = d->nd;
    d->device[d->nd++] = out;
    struct recon_drawer_open cmd = {.time_ns = t + 1000000000, .ref = ref, .operator_id = op};
    struct recon_drawer_open opn = {.time_ns = t + 1000000000, .ref = ref, .serial = "DRW-0001", .seq = d->ndl};
    d->dcmd[d->ndc++] = cmd;
    d->dlog[d->ndl++] = opn;
}

/* A scripted day: two operators, six cash sales, counts consistent with the
 * change machine's own log. */
static void scripted_day(struct day *d)
{
    memset(d, 0, sizeof(*d));
    d->sessions[0] = (struct recon_session){"op-A", H(9, 0), H(13, 0)};
    d->sessions[1] = (struct recon_session){"op-B", H(13, 0), H(18, 0)};
    d->start.time_ns = H(8, 55);
    for (int k = 0; k < RECON_DENOMS; k++)
        d->start.count[k] = 50;
    sale(d, H(9, 30), "T0001", "op-A", D1000, D100, 3);
    sale(d, H(11, 10), "T0002", "op-A", D5000, D1000, 2);
    sale(d, H(12, 40), "T0003", "op-A", D10000, D1000, 6);
    sale(d, H(13, 50), "T0004", "op-B", D1000, D10, 4);
    sale(d, H(14, 20), "T0005", "op-B", D2000, D500, 1);
    sale(d, H(16, 45), "T0006", "op-B", D5000, D1000, 4);
}

static void close_counts(struct day *d)
{
    d->end.time_ns = H(18, 5);
    for (int k = 0; k < RECON_DENOMS; k++)
        d->end.count[k] = d->start.count[k];
    for (size_t i = 0; i < d->nd; i++)
        for (int k = 0; k < RECON_DENOMS; k++)
            d->end.count[k] += d->device[i].dir == RECON_IN ? d->device[i].count[k] : -d->device[i].count[k];
}

static struct recon_input input_of(struct day *d)
{
    return (struct recon_input){
        .journal = d->journal, .n_journal = d->nj, .device = d->device, .n_device = d->nd,
        .drawer_log = d->dlog, .n_drawer_log = d->ndl, .drawer_cmds = d->dcmd, .n_drawer_cmds = d->ndc,
        .sessions = d->sessions, .n_sessions = 2, .start = &d->start, .end = &d->end,
    };
}

static void test_pol8_1_clean_day_reconciles(void **state)
{
    struct day d;
    struct recon_report *rep = malloc(sizeof(*rep));
    struct recon_input in;
    (void)state;
    assert_non_null(rep);
    scripted_day(&d);
    close_counts(&d);
    in = input_of(&d);
    assert_int_equal(recon_run(&in, NULL, rep), 0);
    assert_int_equal(rep->n, 0);
    assert_int_equal(rep->matched, 12 + 6);
    free(rep);
}

/* The change machine dispenses 2 x 1000 yen the journal never asked for
 * (forced through the device's control interface at 14:05): the report names
 * it, its window between the reconciled movements around it, and op-B. */
static void test_pol8_1_hidden_dispense_reported(void **state)
{
    struct day d;
    struct recon_report *rep = malloc(sizeof(*rep));
    struct recon_input in;
    struct buf text;
    char *dir = testutil_tmpdir(), path[4200];
    struct audit *a;
    int64_t n;
    (void)state;
    assert_non_null(rep);
    scripted_day(&d);
    struct recon_move hidden = {.time_ns = H(14, 5), .dir = RECON_OUT, .serial = "CHG-0001", .seq = 99};
    hidden.count[D1000] = 2;
    d.device[d.nd++] = hidden;
    close_counts(&d); /* the machine's counts agree with its own log */
    in = input_of(&d);
    snprintf(path, sizeof(path), "%s/audit.db", dir);
    assert_int_equal(audit_open(path, &a), 0);
    assert_int_equal(recon_run(&in, a, rep), 0);
    assert_int_equal(rep->n, 1);
    const struct recon_finding *f = &rep->f[0];
    assert_int_equal(f->kind, RECON_DEVICE_NOT_IN_JOURNAL);
    assert_int_equal(f->amount, -2000);
    assert_int_equal(f->delta[D1000], -2);
    /* window: T0004's change (13:50:02) .. T0005's deposit (14:20) */
    assert_true(f->from_ns == H(13, 50) + 2000000000);
    assert_true(f->to_ns == H(14, 20));
    assert_int_equal(f->n_operators, 1);
    assert_string_equal(f->operators[0], "op-B");
    assert_string_equal(f->serial, "CHG-0001");
    assert_int_equal(f->seq, 99);
    assert_int_equal(audit_count(a, "cash.discrepancy", &n), 0);
    assert_int_equal(n, 1);
    buf_init(&text, 1 << 16);
    assert_int_equal(recon_report_text(rep, &text), 0);
    assert_int_equal(buf_put_u8(&text, 0), 0);
    assert_non_null(strstr((const char *)text.d, "device-not-in-journal"));
    assert_non_null(strstr((const char *)text.d, "-2000 yen"));
    assert_non_null(strstr((const char *)text.d, "14:20:00"));
    assert_non_null(strstr((const char *)text.d, "op-B"));
    buf_free(&text);
    audit_close(a);
    testutil_rmtree(dir);
    free(dir);
    free(rep);
}

/* A drawer open in the drawer's own log with no application command (a
 * forged command, or the physical key) is reported. */
static void test_pol8_1_uncommanded_drawer_open_reported(void **state)
{
    struct day d;
    struct recon_report *rep = malloc(sizeof(*rep));
    struct recon_input in;
    (void)state;
    assert_non_null(rep);
    scripted_day(&d);
    close_counts(&d);
    d.dlog[d.ndl++] = (struct recon_drawer_open){.time_ns = H(10, 15), .serial = "DRW-0001", .seq = 40};
    d.dlog[d.ndl++] = (struct recon_drawer_open){.time_ns = H(15, 0), .serial = "DRW-0001", .seq = 41, .manual = 1};
    in = input_of(&d);
    assert_int_equal(recon_run(&in, NULL, rep), 0);
    assert_int_equal(rep->n, 2);
    assert_int_equal(rep->f[0].kind, RECON_DRAWER_UNCOMMANDED);
    assert_int_equal(rep->f[0].seq, 40);
    assert_string_equal(rep->f[0].operators[0], "op-A");
    assert_int_equal(rep->f[1].kind, RECON_DRAWER_UNCOMMANDED);
    assert_string_equal(rep->f[1].ref, "manual-key");
    assert_string_equal(rep->f[1].operators[0], "op-B");
    free(rep);
}

static void test_pol8_1_mismatches_and_counts_reported(void **state)
{
    struct day d;
    struct recon_report *rep = malloc(sizeof(*rep));
    struct recon_input in;
    (void)state;
    assert_non_null(rep);
    scripted_day(&d);
    d.device[3].count[D1000] = 3; /* T0002 change: device paid 3 x 1000, journal 2 */
    close_counts(&d);
    d.end.count[D100] -= 1;       /* and one 100-yen coin is missing from the cassette */
    /* T0006's change never reached the device log (withheld) */
    d.nd--; /* the counts (close_counts above) follow the real machine: it did pay */
    in = input_of(&d);
    assert_int_equal(recon_run(&in, NULL, rep), 0);
    int seen_amount = 0, seen_journal = 0, seen_count = 0;
    for (size_t i = 0; i < rep->n; i++) {
        if (rep->f[i].kind == RECON_AMOUNT_MISMATCH) {
            seen_amount++;
            assert_int_equal(rep->f[i].amount, -1000);
            assert_string_equal(rep->f[i].ref, "T0002");
        } else if (rep->f[i].kind == RECON_JOURNAL_NOT_IN_DEVICE) {
            seen_journal++;
            assert_string_equal(rep->f[i].ref, "T0006");
        } else if (rep->f[i].kind == RECON_COUNT_MISMATCH) {
            seen_count++;
            assert_int_equal(rep->f[i].delta[D100], -1);
            assert_int_equal(rep->f[i].delta[D1000], -4);
        }
    }
    assert_int_equal(seen_amount, 1);
    assert_int_equal(seen_journal, 1);
    assert_int_equal(seen_count, 1);
    /* hostile inputs */
    d.device[0].count[0] = -1;
    in = input_of(&d);
    assert_int_equal(recon_run(&in, NULL, rep), MAMORI_ERR_INVAL);
    d.device[0].count[0] = 0;
    d.device[0].dir = 7;
    assert_int_equal(recon_run(&in, NULL, rep), MAMORI_ERR_INVAL);
    in.n_journal = RECON_MAX_ITEMS + 1;
    assert_int_equal(recon_run(&in, NULL, rep), MAMORI_ERR_TOOBIG);
    free(rep);
}

/* The day file (outside bytes): a valid one reconciles; hostile ones are refused. */
static void test_pol8_1_day_file_parsed_and_hostile_refused(void **state)
{
    static const char good[] =
        "{\"journal\":[{\"time\":100,\"dir\":\"out\",\"ref\":\"T1\",\"operator\":\"op-A\",\"denoms\":{\"1000\":1}}],"
        "\"device\":[{\"time\":100,\"dir\":\"out\",\"ref\":\"T1\",\"serial\":\"CHG-1\",\"seq\":0,\"denoms\":{\"1000\":1}},"
        "{\"time\":\"1970-01-01T00:03:20Z\",\"dir\":\"out\",\"ref\":null,\"serial\":\"CHG-1\",\"seq\":1,"
        "\"denoms\":{\"5000\":1}}],"
        "\"sessions\":[{\"operator\":\"op-A\",\"from\":0,\"to\":1000}]}";
    static const char *const bad[] = {
        "", "[]", "{\"journal\":{}}", "{\"journal\":[{\"time\":1,\"dir\":\"up\",\"denoms\":{}}]}",
        "{\"journal\":[{\"time\":1,\"dir\":\"in\",\"denoms\":{\"3\":1}}]}",
        "{\"journal\":[{\"time\":1,\"dir\":\"in\",\"denoms\":{\"1\":-1}}]}",
        "{\"journal\":[{\"time\":-5,\"dir\":\"in\",\"denoms\":{}}]}",
        "{\"journal\":[{\"time\":\"yesterday\",\"dir\":\"in\",\"denoms\":{}}]}",
        "{\"journal\":[{\"time\":1,\"dir\":\"in\",\"ref\":\"0123456789012345678901234567890123456789012345678901234567890123456789\",\"denoms\":{}}]}",
        "{\"start\":{\"time\":1}}", "{\"a\":1,\"a\":2}",
    };
    struct recon_day *day;
    struct recon_report *rep = malloc(sizeof(*rep));
    (void)state;
    assert_non_null(rep);
    assert_int_equal(recon_day_parse(good, strlen(good), &day), 0);
    assert_int_equal(recon_run(recon_day_input(day), NULL, rep), 0);
    assert_int_equal(rep->n, 1);
    assert_int_equal(rep->f[0].kind, RECON_DEVICE_NOT_IN_JOURNAL);
    assert_int_equal(rep->f[0].amount, -5000);
    assert_int_equal(rep->f[0].from_ns, 100 * INT64_C(1000000000));
    assert_string_equal(rep->f[0].operators[0], "op-A");
    recon_day_free(day);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (recon_day_parse(bad[i], strlen(bad[i]), &day) == 0)
            fail_msg("accepted hostile day file %zu: %s", i, bad[i]);
    recon_day_free(NULL);
    free(rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol8_1_clean_day_reconciles),
        cmocka_unit_test(test_pol8_1_hidden_dispense_reported),
        cmocka_unit_test(test_pol8_1_uncommanded_drawer_open_reported),
        cmocka_unit_test(test_pol8_1_mismatches_and_counts_reported),
        cmocka_unit_test(test_pol8_1_day_file_parsed_and_hostile_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
