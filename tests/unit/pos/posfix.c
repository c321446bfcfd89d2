/* posfix.c: the pos test fixture (see posfix.h). */
#include "posfix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/escpos_decode.h"
#include "testutil.h"

struct fake_item {
    const char *code;
    const char *plu;
    const char *name;
    int64_t price;
    bool reduced, incl, age, weighed;
    int dept;
};

static const struct fake_item items[] = {
    {POSFIX_COLA, "1", "コーラ", 108, true, true, false, false, 1},
    {POSFIX_BEEF, NULL, "ギュウニク", 972, true, true, false, false, 1},
    {POSFIX_PASTE, NULL, "ハミガキコ", 330, false, true, false, false, 2},
    {POSFIX_BEER, NULL, "ビール", 220, false, true, true, false, 3},
    {POSFIX_NOTE, NULL, "ノート", 105, false, false, false, false, 2},
    {POSFIX_WATCH, NULL, "高級時計", 5000000, false, true, false, false, 2},
    {POSFIX_TOMATO, "2", "量り売りトマト", 198, true, true, false, true, 1},
};

static void fill(const struct fake_item *f, struct txn_item *ret)
{
    memset(ret, 0, sizeof(*ret));
    snprintf(ret->code, sizeof(ret->code), "%s", f->code);
    snprintf(ret->name, sizeof(ret->name), "%s", f->name);
    ret->unit_price = f->price;
    ret->reduced = f->reduced;
    ret->tax_included = f->incl;
    ret->age_restricted = f->age;
    ret->weighed = f->weighed;
    ret->dept = f->dept;
}

static int fake_scan(void *ctx, const char *code, struct txn_item *ret)
{
    struct barcode bc;
    int rc = barcode_parse(NULL, code, strlen(code), &bc);
    (void)ctx;
    if (rc)
        return rc;
    if (bc.kind == BARCODE_INSTORE_PRICE) {
        memset(ret, 0, sizeof(*ret));
        snprintf(ret->code, sizeof(ret->code), "%s", bc.code);
        snprintf(ret->name, sizeof(ret->name), "惣菜");
        ret->unit_price = bc.price;
        ret->reduced = true;
        ret->tax_included = true;
        ret->dept = 1;
        ret->embedded_price = true;
        return 0;
    }
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
        if (strcmp(items[i].code, bc.code) == 0) {
            fill(&items[i], ret);
            return 0;
        }
    return MAMORI_ERR_NOTFOUND;
}

static int fake_plu(void *ctx, const char *plu, struct txn_item *ret)
{
    (void)ctx;
    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
        if (items[i].plu && strcmp(items[i].plu, plu) == 0) {
            fill(&items[i], ret);
            return 0;
        }
    return MAMORI_ERR_NOTFOUND;
}

static int fake_dept(void *ctx, int dept, struct txn_item *ret)
{
    (void)ctx;
    if (dept != 1 && dept != 2)
        return MAMORI_ERR_NOTFOUND;
    memset(ret, 0, sizeof(*ret));
    snprintf(ret->code, sizeof(ret->code), "D%d", dept);
    snprintf(ret->name, sizeof(ret->name), "%s", dept == 1 ? "食品" : "雑貨");
    ret->reduced = dept == 1;
    ret->tax_included = true;
    ret->dept = dept;
    return 0;
}

static int fake_verify(void *ctx, const char *id, const char *pw, enum txn_role *ret)
{
    static const struct { const char *id, *pw; enum txn_role role; } ops[] = {
        {"chk", "1111", TXN_ROLE_CHECKER}, {"csh", "2222", TXN_ROLE_CASHIER},
        {"mgr", "3333", TXN_ROLE_MANAGER}, {"mnt", "4444", TXN_ROLE_MAINTAINER},
        {"csh2", "5555", TXN_ROLE_CASHIER},
    };
    (void)ctx;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i].id, id) == 0) {
            if (strcmp(ops[i].pw, pw) != 0)
                return MAMORI_ERR_AUTH;
            *ret = ops[i].role;
            return 0;
        }
    return MAMORI_ERR_NOTFOUND;
}

const struct txn_catalog posfix_catalog = {NULL, fake_scan, fake_plu, fake_dept};
const struct txn_auth posfix_auth = {NULL, fake_verify};
const struct txn_cred posfix_mgr = {"mgr", "3333"};
const struct txn_cred posfix_bad_mgr = {"mgr", "wrong"};
const struct txn_cred posfix_not_mgr = {"csh", "2222"};

static void open_all(struct posfix *f, bool changer)
{
    assert_int_equal(journal_open(f->jpath, &f->j), 0);
    assert_int_equal(posdev_sim_new(f->spath, changer, &f->sim), 0);
    posdev_sim_port(f->sim, &f->dev);
    assert_int_equal(txn_new(&f->cfg, f->j, &f->dev, &posfix_catalog, &posfix_auth, f->a, &f->t),
                     0);
}

void posfix_setup(struct posfix *f, bool changer, bool signon)
{
    char apath[512];
    memset(f, 0, sizeof(*f));
    f->dir = testutil_tmpdir();
    snprintf(f->jpath, sizeof(f->jpath), "%s/journal.db", f->dir);
    snprintf(f->spath, sizeof(f->spath), "%s/changer.state", f->dir);
    snprintf(apath, sizeof(apath), "%s/audit.db", f->dir);
    assert_int_equal(audit_open(apath, &f->a), 0);
    snprintf(f->cfg.terminal, sizeof(f->cfg.terminal), "T01");
    f->cfg.store_no = 12;
    f->cfg.terminal_no = 1;
    snprintf(f->cfg.issuer_name, sizeof(f->cfg.issuer_name), "スーパーまもり");
    snprintf(f->cfg.regno, sizeof(f->cfg.regno), "T1234567890123");
    f->cfg.discount_limit_yen = 100;
    f->cfg.discount_limit_pct = 10;
    f->cfg.points_per_100yen = 1;
    for (size_t i = 0; i < sizeof(f->cfg.data_key); i++)
        f->cfg.data_key[i] = (uint8_t)(i * 7 + 1);
    open_all(f, changer);
    if (signon)
        assert_int_equal(txn_signon(f->t, "csh", "2222"), 0);
}

void posfix_restart(struct posfix *f)
{
    bool changer = f->dev.has_changer;
    txn_free(f->t);
    posdev_sim_free(f->sim);
    journal_close(f->j);
    open_all(f, changer);
}

void posfix_teardown(struct posfix *f)
{
    txn_free(f->t);
    posdev_sim_free(f->sim);
    journal_close(f->j);
    audit_close(f->a);
    testutil_rmtree(f->dir);
    free(f->dir);
}

long posfix_audit(struct posfix *f, const char *ev)
{
    int64_t n = -1;
    assert_int_equal(audit_count(f->a, ev, &n), 0);
    return (long)n;
}

bool posfix_receipt_has(struct posfix *f, const char *text)
{
    size_t n = 0;
    const uint8_t *p = posdev_sim_last_print(f->sim, &n);
    struct escpos_doc *d = NULL;
    bool found = false;
    if (p == NULL || escpos_decode(p, n, &d) != 0)
        return false;
    for (size_t i = 0; i < d->n_lines && !found; i++)
        found = strstr(d->lines[i], text) != NULL;
    escpos_doc_free(d);
    return found;
}
