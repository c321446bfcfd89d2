/*
 * posbus.c: owns the translation between the register's device port and bus
 * requests: which device of a kind answers, the CBOR bodies, chunking of
 * print jobs, the deposit sequence and waiting for the shopper's answer. It
 * must not own device sessions (bus.c) or register rules (txn.c, tender.c).
 *
 * Deposit, exactly once: first `changer.deposit_end` with the key. If the
 * device has seen the key it replays the counted amount (a retry after a lost
 * reply or a restart); if a deposit is open it ends it and counts what was
 * inserted; only if no deposit is open (-14, not remembered by the device) a
 * new deposit begins, is polled until it covers the amount due or times out,
 * and is ended with the same key.
 */
#include "pos/posbus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/devbody.h"
#include "mamori/err.h"

#define POSBUS_DEVICES_MAX 256
#define POSBUS_ID_MAX 64

struct posbus {
    struct bus *bus;
    struct evloop *loop;
    struct posbus_config cfg;
    char serial[6][64];          /* resolved serials by slot */
    uint64_t confirm_cid;        /* open question */
    int answer;                  /* -1 none, 0 no, 1 yes */
    char scans[POSBUS_SCANS_MAX][POSBUS_SCAN_LEN];
    char kinds_q[POSBUS_SCANS_MAX];
    size_t scan_head, scan_n;
    unsigned dropped;
};

enum { S_PRINTER, S_LINEDISPLAY, S_CUSTDISPLAY, S_DRAWER, S_CHANGER, S_SCALE };
static const char *const kinds[6] = {"printer", "linedisplay", "custdisplay",
                                     "drawer",  "changer",     "scale"};

/* The serial for a slot: configured, or the first enrolled device of the kind. */
static const char *serial_of(struct posbus *p, int slot)
{
    struct bus_device_info *all;
    size_t n = 0;
    if (p->serial[slot][0])
        return p->serial[slot];
    all = calloc(POSBUS_DEVICES_MAX, sizeof(*all));
    if (all == NULL)
        return NULL;
    if (bus_devices(p->bus, all, POSBUS_DEVICES_MAX, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (strcmp(all[i].kind, kinds[slot]) == 0) {
                snprintf(p->serial[slot], sizeof(p->serial[slot]), "%s", all[i].serial);
                break;
            }
    free(all);
    return p->serial[slot][0] ? p->serial[slot] : NULL;
}

static int call(struct posbus *p, int slot, const char *type, cbor_item_t *body,
                cbor_item_t **ret_reply)
{
    const char *serial = serial_of(p, slot);
    if (serial == NULL) {
        if (body)
            cbor_decref(&body);
        return MAMORI_ERR_OFFLINE;
    }
    return bus_call(p->bus, serial, type, body, p->cfg.timeout_ms, ret_reply);
}

/* Split "T01-12-change3" into txn "T01-12" and tender "change3" (stable
 * across retries: the device fingerprints them with the key). */
static int split_idem(const char *idem, char txn[static POSBUS_ID_MAX + 1],
                      char tender[static POSBUS_ID_MAX + 1])
{
    const char *dash = strrchr(idem, '-');
    size_t n = strlen(idem);
    if (n == 0 || n > POSBUS_ID_MAX || dash == NULL || dash == idem || dash[1] == '\0')
        return MAMORI_ERR_INVAL;
    memcpy(txn, idem, (size_t)(dash - idem));
    txn[dash - idem] = '\0';
    snprintf(tender, POSBUS_ID_MAX + 1, "%s", dash + 1);
    return 0;
}

int posbus_new(struct bus *b, struct evloop *loop, const struct posbus_config *cfg,
               struct posbus **ret)
{
    struct posbus *p;
    const char *cs[6];
    if (b == NULL || loop == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return MAMORI_ERR_NOMEM;
    p->bus = b;
    p->loop = loop;
    if (cfg)
        p->cfg = *cfg;
    if (p->cfg.timeout_ms <= 0)
        p->cfg.timeout_ms = 3000;
    if (p->cfg.deposit_timeout_ms <= 0)
        p->cfg.deposit_timeout_ms = 120000;
    if (p->cfg.confirm_timeout_ms <= 0)
        p->cfg.confirm_timeout_ms = 60000;
    cs[S_PRINTER] = p->cfg.printer;
    cs[S_LINEDISPLAY] = p->cfg.linedisplay;
    cs[S_CUSTDISPLAY] = p->cfg.custdisplay;
    cs[S_DRAWER] = p->cfg.drawer;
    cs[S_CHANGER] = p->cfg.changer;
    cs[S_SCALE] = p->cfg.scale;
    for (int i = 0; i < 6; i++)
        if (cs[i] != NULL)
            snprintf(p->serial[i], sizeof(p->serial[i]), "%s", cs[i]);
    p->answer = -1;
    *ret = p;
    return 0;
}

void posbus_free(struct posbus *p)
{
    free(p);
}

void posbus_event(struct posbus *p, const char *serial, const char *type,
                  const cbor_item_t *body)
{
    int64_t cid;
    bool yes;
    if (p == NULL || type == NULL)
        return;
    if (strcmp(type, "scanner.data") == 0 || strcmp(type, "keyboard.key") == 0) {
        char text[POSBUS_SCAN_LEN];
        bool scan = type[0] == 's';
        size_t at;
        if (devbody_get_str(body, scan ? "data" : "key", text, sizeof(text)) ||
            p->scan_n == POSBUS_SCANS_MAX) {
            p->dropped++;
            return;
        }
        at = (p->scan_head + p->scan_n) % POSBUS_SCANS_MAX;
        memcpy(p->scans[at], text, sizeof(text));
        p->kinds_q[at] = scan ? 's' : 'k';
        p->scan_n++;
        return;
    }
    if (strcmp(type, "custdisplay.answer") != 0)
        return;
    if (serial_of(p, S_CUSTDISPLAY) == NULL || strcmp(serial, p->serial[S_CUSTDISPLAY]) != 0)
        return; /* only the customer display we asked may answer */
    if (devbody_get_int(body, "cid", 1, INT64_MAX, &cid) || devbody_get_bool(body, "answer", &yes))
        return;
    if ((uint64_t)cid == p->confirm_cid)
        p->answer = yes ? 1 : 0;
}

int posbus_next_input(struct posbus *p, char *ret_kind, char ret[static POSBUS_SCAN_LEN])
{
    if (p->scan_n == 0)
        return MAMORI_ERR_NOTFOUND;
    memcpy(ret, p->scans[p->scan_head], POSBUS_SCAN_LEN);
    *ret_kind = p->kinds_q[p->scan_head];
    p->scan_head = (p->scan_head + 1) % POSBUS_SCANS_MAX;
    p->scan_n--;
    return 0;
}

unsigned posbus_scans_dropped(const struct posbus *p)
{
    return p->dropped;
}

static int pb_print(void *ctx, const uint8_t *bytes, size_t n)
{
    struct posbus *p = ctx;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < n; off += POSBUS_PRINT_JOB_MAX) {
        size_t k = n - off < POSBUS_PRINT_JOB_MAX ? n - off : POSBUS_PRINT_JOB_MAX;
        cbor_item_t *b = devbody_new();
        if (b == NULL || devbody_put_bytes(b, "data", bytes + off, k)) {
            if (b)
                cbor_decref(&b);
            return MAMORI_ERR_NOMEM;
        }
        rc = call(p, S_PRINTER, "printer.print", b, NULL);
    }
    return rc;
}

static cbor_item_t *lines_body(const char *l1, const char *l2)
{
    cbor_item_t *b = devbody_new(), *arr = cbor_new_definite_array(2);
    cbor_item_t *s1 = cbor_build_string(l1 ? l1 : ""), *s2 = cbor_build_string(l2 ? l2 : "");
    bool ok = b && arr && s1 && s2 && cbor_array_push(arr, s1) && cbor_array_push(arr, s2);
    if (s1)
        cbor_decref(&s1);
    if (s2)
        cbor_decref(&s2);
    if (!ok || devbody_put_item(b, "lines", arr)) {
        if (!ok && arr)
            cbor_decref(&arr);
        if (b)
            cbor_decref(&b);
        return NULL;
    }
    return b;
}

static int pb_display(void *ctx, const char *l1, const char *l2)
{
    struct posbus *p = ctx;
    cbor_item_t *b1 = lines_body(l1, l2), *b2 = lines_body(l1, l2);
    int r1, r2;
    if (b1 == NULL || b2 == NULL) {
        if (b1)
            cbor_decref(&b1);
        if (b2)
            cbor_decref(&b2);
        return MAMORI_ERR_NOMEM;
    }
    r1 = call(p, S_LINEDISPLAY, "linedisplay.text", b1, NULL);
    r2 = call(p, S_CUSTDISPLAY, "custdisplay.text", b2, NULL);
    return r1 ? r1 : r2;
}

static int pb_confirm(void *ctx, const char *prompt, bool *ret_yes)
{
    struct posbus *p = ctx;
    cbor_item_t *b = devbody_new(), *reply = NULL;
    int64_t cid, deadline;
    int rc;
    if (b == NULL || devbody_put_str(b, "prompt", prompt)) {
        if (b)
            cbor_decref(&b);
        return MAMORI_ERR_NOMEM;
    }
    if ((rc = call(p, S_CUSTDISPLAY, "custdisplay.confirm", b, &reply)))
        return rc;
    rc = devbody_get_int(reply, "cid", 1, INT64_MAX, &cid);
    cbor_decref(&reply);
    if (rc)
        return MAMORI_ERR_PROTO;
    p->confirm_cid = (uint64_t)cid;
    p->answer = -1;
    deadline = evloop_now_ms() + p->cfg.confirm_timeout_ms;
    while (p->answer < 0 && evloop_now_ms() < deadline)
        if (evloop_run_once(p->loop, 100) < 0)
            break;
    p->confirm_cid = 0;
    if (p->answer < 0) {
        (void)call(p, S_CUSTDISPLAY, "custdisplay.cancel", NULL, NULL);
        return MAMORI_ERR_TIMEOUT;
    }
    *ret_yes = p->answer == 1;
    return 0;
}

static cbor_item_t *cash_body(const char *idem, bool with_tender, int64_t amount)
{
    char txn[POSBUS_ID_MAX + 1], tender[POSBUS_ID_MAX + 1];
    cbor_item_t *b;
    if (split_idem(idem, txn, tender))
        return NULL;
    b = devbody_new();
    if (b == NULL || devbody_put_str(b, "idem", idem) || devbody_put_str(b, "txn", txn) ||
        (with_tender && devbody_put_str(b, "tender", tender)) ||
        (amount > 0 && devbody_put_int(b, "amount", amount))) {
        if (b)
            cbor_decref(&b);
        return NULL;
    }
    return b;
}

static int pb_drawer(void *ctx, const char *idem)
{
    cbor_item_t *b = cash_body(idem, true, 0);
    return b ? call(ctx, S_DRAWER, "drawer.open", b, NULL) : MAMORI_ERR_INVAL;
}

static int pb_dispense(void *ctx, const char *idem, int64_t amount)
{
    cbor_item_t *b;
    if (amount < 1)
        return MAMORI_ERR_INVAL;
    b = cash_body(idem, false, amount);
    return b ? call(ctx, S_CHANGER, "changer.dispense", b, NULL) : MAMORI_ERR_INVAL;
}

static int deposit_end(struct posbus *p, const char *idem, int64_t *ret_counted)
{
    cbor_item_t *b = cash_body(idem, false, 0), *reply = NULL;
    int64_t amount;
    int rc;
    if (b == NULL)
        return MAMORI_ERR_INVAL;
    if ((rc = call(p, S_CHANGER, "changer.deposit_end", b, &reply)))
        return rc;
    rc = devbody_get_int(reply, "amount", 0, INT64_MAX, &amount);
    cbor_decref(&reply);
    if (rc)
        return MAMORI_ERR_PROTO;
    *ret_counted = amount;
    return 0;
}

static int pb_deposit(void *ctx, const char *idem, int64_t want, int64_t *ret_counted)
{
    struct posbus *p = ctx;
    char txn[POSBUS_ID_MAX + 1], tender[POSBUS_ID_MAX + 1];
    cbor_item_t *b, *reply = NULL;
    int64_t deadline, amount = 0;
    int rc = deposit_end(p, idem, ret_counted);
    if (rc != MAMORI_ERR_STATE)
        return rc; /* replayed, or an open deposit counted, or a real error */
    if (split_idem(idem, txn, tender) || (b = devbody_new()) == NULL)
        return MAMORI_ERR_INVAL;
    if (devbody_put_str(b, "txn", txn)) {
        cbor_decref(&b);
        return MAMORI_ERR_NOMEM;
    }
    if ((rc = call(p, S_CHANGER, "changer.deposit_begin", b, NULL)))
        return rc;
    deadline = evloop_now_ms() + p->cfg.deposit_timeout_ms;
    while (amount < want && evloop_now_ms() < deadline) {
        if (evloop_run_once(p->loop, 100) < 0)
            break;
        if ((rc = call(p, S_CHANGER, "changer.status", NULL, &reply)))
            break;
        (void)devbody_get_int(reply, "deposit_amount", 0, INT64_MAX, &amount);
        cbor_decref(&reply);
    }
    /* End with the key whatever happened: the money inserted is counted. */
    return deposit_end(p, idem, ret_counted);
}

static int pb_scale(void *ctx, int32_t *ret_grams, bool *ret_stable)
{
    cbor_item_t *reply = NULL;
    int64_t g;
    int rc = call(ctx, S_SCALE, "scale.read", NULL, &reply);
    if (rc == MAMORI_ERR_AGAIN) {
        *ret_grams = 0;
        *ret_stable = false;
        return 0;
    }
    if (rc)
        return rc;
    rc = devbody_get_int(reply, "weight_g", 0, INT32_MAX, &g);
    cbor_decref(&reply);
    if (rc)
        return MAMORI_ERR_PROTO;
    *ret_grams = (int32_t)g;
    *ret_stable = true; /* the device answers scale.read only with a stable weight */
    return 0;
}

void posbus_port(struct posbus *p, struct pos_devices *d)
{
    memset(d, 0, sizeof(*d));
    d->ctx = p;
    d->print = pb_print;
    d->display = pb_display;
    d->confirm = pb_confirm;
    d->drawer_open = pb_drawer;
    d->changer_deposit = pb_deposit;
    d->changer_dispense = pb_dispense;
    d->scale_read = pb_scale;
    d->has_changer = serial_of(p, S_CHANGER) != NULL;
}
