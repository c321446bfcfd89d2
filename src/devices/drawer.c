/*
 * drawer.c: firmware of the cash drawer (UPOS CashDrawer, DEV-18).
 *
 * Owns: the open/closed state, drawer.open with its idempotency key (a retry
 * after a lost reply is answered again and never opens twice), the physical
 * world's actions (close by hand, open with the physical key), and the
 * device's own record of every open: an entry in its signed hash-chained log
 * (device_record, POL-8(1)) written before the drawer opens, plus a plain
 * line in device.log. Does not own who may command it: the
 * runner accepts commands only from the paired terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devidem.h"
#include "devices/devstate.h"
#include "mamori/err.h"

#define DRAWER_STATE "drawer.state"
#define DRAWER_ID_MAX 64 /* bytes of txn and tender ids */

struct drawer {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    bool open;
    int64_t opens;        /* by command */
    int64_t manual_opens; /* with the physical key */
    struct devidem idem;
};

static int drawer_encode(const void *state, cbor_item_t *m)
{
    const struct drawer *d = state;
    return devbody_put_bool(m, "open", d->open) || devbody_put_int(m, "opens", d->opens) ||
           devbody_put_int(m, "manual_opens", d->manual_opens) ||
           devbody_put_item(m, "idem", devidem_to_cbor(&d->idem));
}

static int drawer_decode(void *state, const cbor_item_t *st)
{
    struct drawer *d = state;
    return devbody_get_bool(st, "open", &d->open) ||
           devbody_get_int(st, "opens", 0, INT64_MAX, &d->opens) ||
           devbody_get_int(st, "manual_opens", 0, INT64_MAX, &d->manual_opens) ||
           devidem_from_cbor(&d->idem, devbody_find(st, "idem"));
}

static const struct devstate_file drawer_file = {DRAWER_STATE, drawer_encode, drawer_decode, NULL};

static int drawer_save(struct drawer *d)
{
    return devstate_store(d->dir, &drawer_file, d);
}

static void drawer_destroy(void *state)
{
    struct drawer *d = state;
    if (d == NULL)
        return;
    devidem_clear(&d->idem);
    free(d);
}

static int drawer_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct drawer *d = calloc(1, sizeof(*d));
    int r;
    if (d == NULL)
        return MAMORI_ERR_NOMEM;
    devidem_init(&d->idem);
    d->io = *io;
    if ((r = devstate_dir(d->dir, state_dir)) || (r = devstate_open(d->dir, &drawer_file, d))) {
        drawer_destroy(d);
        return r;
    }
    *ret_state = d;
    return 0;
}

/* UPOS StatusUpdate CASH_SUE_DRAWERCLOSED=0, CASH_SUE_DRAWEROPEN=1. */
static void drawer_emit_status(struct drawer *d, const char *by)
{
    cbor_item_t *ev = devbody_new();
    if (devbody_put_str(ev, "state", d->open ? "open" : "closed") ||
        devbody_put_int(ev, "status", d->open ? 1 : 0) || devbody_put_str(ev, "by", by)) {
        if (ev != NULL)
            cbor_decref(&ev);
        return;
    }
    (void)d->io.emit(d->io.ctx, "drawer.status", ev); /* status is also answerable by request */
}

static cbor_item_t *drawer_status_body(const struct drawer *d)
{
    cbor_item_t *m = devbody_new();
    if (devbody_put_str(m, "state", d->open ? "open" : "closed") ||
        devbody_put_int(m, "opens", d->opens) || devbody_put_int(m, "manual_opens", d->manual_opens)) {
        if (m != NULL)
            cbor_decref(&m);
        return NULL;
    }
    return m;
}

static int drawer_open(struct drawer *d, const cbor_item_t *body, cbor_item_t **ret_reply)
{
    char txn[DRAWER_ID_MAX + 1], tender[DRAWER_ID_MAX + 1], idem[DEVIDEM_KEY_MAX + 1];
    char fp[DEVIDEM_FP_MAX + 1], note[256];
    cbor_item_t *reply = NULL;
    int r;
    if (body == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = devbody_get_str(body, "txn", txn, sizeof(txn))) ||
        (r = devbody_get_str(body, "tender", tender, sizeof(tender))) ||
        (r = devbody_get_str(body, "idem", idem, sizeof(idem))))
        return r == MAMORI_ERR_NOTFOUND ? MAMORI_ERR_INVAL : r;
    if (idem[0] == '\0' || txn[0] == '\0')
        return MAMORI_ERR_INVAL;
    snprintf(fp, sizeof(fp), "%s|%s", txn, tender);
    r = devidem_lookup(&d->idem, idem, fp, &reply);
    if (r == 0) {
        *ret_reply = reply; /* a retry: the first answer, no second open */
        return 0;
    }
    if (r != MAMORI_ERR_NOTFOUND)
        return r;
    /* The signed log entry first: no open without its record (POL-8(1)). */
    {
        cbor_item_t *det = devbody_new();
        if (devbody_put_str(det, "ref", idem) || devbody_put_str(det, "txn", txn) ||
            devbody_put_str(det, "tender", tender) || devbody_put_bool(det, "manual", false)) {
            if (det != NULL)
                cbor_decref(&det);
            return MAMORI_ERR_NOMEM;
        }
        if ((r = device_record(&d->io, "drawer.open", det)))
            return r;
    }
    bool was_open = d->open;
    d->open = true;
    d->opens++;
    reply = devbody_new();
    if (devbody_put_str(reply, "state", "open") || devbody_put_int(reply, "seq", d->opens) ||
        devbody_put_str(reply, "idem", idem) ||
        (r = devidem_put(&d->idem, idem, fp, reply))) {
        r = r ? r : MAMORI_ERR_NOMEM;
        goto fail;
    }
    /* Durable before the answer: a crash after this point answers the retry. */
    if ((r = drawer_save(d)))
        goto fail;
    snprintf(note, sizeof(note), "seq=%lld txn=%s tender=%s idem=%s", (long long)d->opens, txn,
             tender, idem);
    (void)devstate_note(d->dir, "drawer.open", note);
    if (!was_open)
        drawer_emit_status(d, "command");
    *ret_reply = reply;
    return 0;
fail:
    /* Leave memory as the disk has it. */
    devidem_forget(&d->idem, idem);
    d->open = was_open;
    d->opens--;
    if (reply != NULL)
        cbor_decref(&reply);
    return r;
}

static int drawer_request(void *state, const char *type, const cbor_item_t *body,
                          cbor_item_t **ret_reply)
{
    struct drawer *d = state;
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "drawer.open") == 0)
        return drawer_open(d, body, ret_reply);
    if (strcmp(type, "drawer.status") == 0) {
        cbor_item_t *m = drawer_status_body(d);
        if (m == NULL)
            return MAMORI_ERR_NOMEM;
        *ret_reply = m;
        return 0;
    }
    return MAMORI_ERR_UNSUPPORTED;
}

static int drawer_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct drawer *d = state;
    int r;
    if (argc != 1) {
        devctl_answer(answer, "usage: close | open-by-key | status");
        return MAMORI_ERR_INVAL;
    }
    if (strcmp(argv[0], "status") == 0)
        return devctl_answer(answer, "drawer: %s, %lld opens by command, %lld by key",
                             d->open ? "open" : "closed", (long long)d->opens,
                             (long long)d->manual_opens);
    if (strcmp(argv[0], "close") == 0) {
        if (!d->open)
            return devctl_answer(answer, "already closed");
        d->open = false;
        if ((r = drawer_save(d))) {
            d->open = true;
            return r;
        }
        (void)devstate_note(d->dir, "drawer.close", "by=hand");
        (void)device_record_str(&d->io, "drawer.close", "by", "hand");
        drawer_emit_status(d, "hand");
        return devctl_answer(answer, "closed");
    }
    if (strcmp(argv[0], "open-by-key") == 0) {
        cbor_item_t *det = devbody_new();
        if (devbody_put_bool(det, "manual", true)) {
            if (det != NULL)
                cbor_decref(&det);
            return MAMORI_ERR_NOMEM;
        }
        /* The key opens the drawer whatever the firmware does; the record is
         * best effort here (a failure is answered, the drawer is open). */
        if ((r = device_record(&d->io, "drawer.open", det)))
            devctl_answer(answer, "log failed: %s; ", mamori_strerror(r));
        bool was_open = d->open;
        d->open = true;
        d->manual_opens++;
        if ((r = drawer_save(d))) {
            d->open = was_open;
            d->manual_opens--;
            return r;
        }
        /* A manual open is recorded by the device itself, so reconciliation
         * can find an open that the application never asked for (issue 5). */
        char note[64];
        snprintf(note, sizeof(note), "manual_seq=%lld by=key", (long long)d->manual_opens);
        (void)devstate_note(d->dir, "drawer.open_by_key", note);
        if (!was_open)
            drawer_emit_status(d, "key");
        return devctl_answer(answer, "opened with the key (recorded)");
    }
    devctl_answer(answer, "usage: close | open-by-key | status");
    return MAMORI_ERR_INVAL;
}

const struct device_class device_drawer = {
    .kind = "drawer",
    .model = "MAMORI-SIM-DRW1",
    .upos_name = "CashDrawer",
    .create = drawer_create,
    .destroy = drawer_destroy,
    .request = drawer_request,
    .control = drawer_control,
};
