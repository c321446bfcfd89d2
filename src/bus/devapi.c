/*
 * devapi.c: the UnifiedPOS-shaped device API over the bus (devapi.h).
 *
 * Owns: open handles, claims (exclusive per devapi instance), the
 * enabled / DataEventEnabled / FreezeEvents state machine, per-handle event
 * queues and their delivery, the mapping of device errors to UPOS result
 * codes, and power status on attach/detach. Does not own sessions, keys or
 * the wire (bus.c), nor what any device does (src/devices).
 *
 * Re-entrancy: listeners run inside devapi calls (a request runs the bus
 * loop, which may deliver events) and may call devapi back, even close the
 * handle they were given; a handle is therefore freed only when no delivery
 * is running on it (busy == 0), and queues are popped before each callback.
 */
#include "bus/devapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "mamori/err.h"

#define DEVAPI_TYPE_MAX 48
#define DEVAPI_NAME_MAX 64

enum ev_class { EV_DATA, EV_ERROR, EV_STATUS };

struct devapi_event {
    enum ev_class cls;
    char type[DEVAPI_TYPE_MAX];
    cbor_item_t *body; /* our own copy, may be NULL */
    int status;        /* for EV_STATUS */
};

struct devapi_queue {
    struct devapi_event e[DEVAPI_QUEUE_MAX];
    size_t head, n;
};

struct devapi_dev {
    struct devapi *api;
    uint64_t id; /* unique per devapi: async replies find their handle by it */
    struct devapi_listener l;
    char serial[DEVAPI_NAME_MAX];
    char kind[32];
    bool sharable;
    bool open, claimed, enabled, dee, frozen, attached;
    bool dead; /* closed while a delivery was running */
    int busy;
    int rc_ext, err, output_id;
    unsigned dropped;
    struct devapi_queue input;  /* data + input errors */
    struct devapi_queue status; /* status updates, power */
};

struct devapi_pending {
    struct devapi *api; /* NULL once the devapi is gone */
    uint64_t dev_id;
    char type[DEVAPI_TYPE_MAX];
    devapi_reply_fn cb;
    void *ctx;
    struct devapi_pending *next;
};

struct devapi {
    struct bus *bus;
    uint64_t next_id;
    struct devapi_pending *pending; /* sent, not yet answered */
    struct devapi_dev *h[DEVAPI_OPEN_MAX];
    struct {
        void (*on_event)(void *, const char *, const char *, const cbor_item_t *);
        void (*on_attach)(void *, const char *, bool, const char *);
        void *ctx;
    } obs[DEVAPI_OBSERVERS_MAX];
    size_t nobs;
    /* The device whose event or attach callback is running: its own reply
     * cannot arrive before the callback returns, so a synchronous request to
     * it from there is refused (E_BUSY; use devapi_request_async). */
    char in_cb[DEVAPI_NAME_MAX];
    int in_cb_depth;
};

/* Input event types (DataEvent); anything else of the class is a status update. */
static const char *const devapi_data_types[] = {
    "scanner.data", "keyboard.key",       "msr.data",        "pinpad.data",
    "sigpad.data",  "custdisplay.answer", "changer.deposit", "touchpanel.touch",
};
static const char *const devapi_error_types[] = {"msr.error"};

/* ------------------------------------------------------------------ queues */

static cbor_item_t *copy_item(const cbor_item_t *it)
{
    unsigned char *p = NULL;
    size_t cap = 0, n;
    struct cbor_load_result res;
    if (it == NULL)
        return NULL;
    n = cbor_serialize_alloc(it, &p, &cap);
    if (n == 0)
        return NULL;
    cbor_item_t *c = cbor_load(p, n, &res);
    free(p);
    return c;
}

static void queue_clear(struct devapi_queue *q)
{
    while (q->n > 0) {
        struct devapi_event *e = &q->e[q->head];
        if (e->body != NULL)
            cbor_decref(&e->body);
        q->head = (q->head + 1) % DEVAPI_QUEUE_MAX;
        q->n--;
    }
    q->head = 0;
}

static void queue_push(struct devapi_dev *d, struct devapi_queue *q, enum ev_class cls,
                       const char *type, const cbor_item_t *body, int status)
{
    if (q->n == DEVAPI_QUEUE_MAX || strlen(type) >= DEVAPI_TYPE_MAX) {
        d->dropped++;
        return;
    }
    struct devapi_event *e = &q->e[(q->head + q->n) % DEVAPI_QUEUE_MAX];
    e->cls = cls;
    memcpy(e->type, type, strlen(type) + 1);
    e->body = copy_item(body);
    if (body != NULL && e->body == NULL) {
        d->dropped++;
        return;
    }
    e->status = status;
    q->n++;
}

static struct devapi_event queue_pop(struct devapi_queue *q)
{
    struct devapi_event e = q->e[q->head];
    q->head = (q->head + 1) % DEVAPI_QUEUE_MAX;
    q->n--;
    return e;
}

static void handle_free(struct devapi_dev *d)
{
    queue_clear(&d->input);
    queue_clear(&d->status);
    free(d);
}

/* Integer value of key in a map (0..INT64_MAX), true if present. */
static bool devapi_int_of(const cbor_item_t *map, const char *key, int64_t *ret)
{
    size_t kl = strlen(key);
    if (map == NULL || !cbor_isa_map(map) || !cbor_map_is_definite(map))
        return false;
    struct cbor_pair *p = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++)
        if (cbor_isa_string(p[i].key) && cbor_string_is_definite(p[i].key) &&
            cbor_string_length(p[i].key) == kl && memcmp(cbor_string_handle(p[i].key), key, kl) == 0 &&
            cbor_isa_uint(p[i].value) && cbor_get_int(p[i].value) <= INT64_MAX) {
            *ret = (int64_t)cbor_get_int(p[i].value);
            return true;
        }
    return false;
}

/* Deliver what the current flags allow. */
static void pump(struct devapi_dev *d)
{
    if (d->busy > 0)
        return; /* the outer pump continues after the callback returns */
    d->busy++;
    while (!d->dead && d->open && !d->frozen) {
        struct devapi_event e;
        if (d->status.n > 0) {
            e = queue_pop(&d->status);
            if (d->l.status != NULL)
                d->l.status(d->l.ctx, d, e.status, e.type, e.body);
        } else if (d->input.n > 0 && d->dee) {
            e = queue_pop(&d->input);
            if (e.cls == EV_DATA) {
                d->dee = false; /* UPOS: re-armed by the application per event */
                if (d->l.data != NULL)
                    d->l.data(d->l.ctx, d, e.type, e.body);
            } else if (d->l.error != NULL) {
                /* msr.error {error, reason, ext}: ext is the UPOS extended code, if any. */
                int64_t x = 0;
                if (e.body != NULL && devapi_int_of(e.body, "ext", &x) && x > 0 && x < 1000)
                    d->l.error(d->l.ctx, d, OPOS_E_EXTENDED, (int)x, OPOS_EL_INPUT, e.body);
                else
                    d->l.error(d->l.ctx, d, OPOS_E_FAILURE, 0, OPOS_EL_INPUT, e.body);
            }
        } else {
            break;
        }
        if (e.body != NULL)
            cbor_decref(&e.body);
    }
    d->busy--;
    if (d->dead)
        handle_free(d);
}

/* ------------------------------------------------------------- bus events */

static bool type_of_kind(const char *type, const char *kind)
{
    size_t kl = strlen(kind);
    return strncmp(type, kind, kl) == 0 && type[kl] == '.';
}

static bool in_list(const char *type, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(type, list[i]) == 0)
            return true;
    return false;
}

static int status_of(const cbor_item_t *body)
{
    int64_t v = 0;
    return devapi_int_of(body, "status", &v) && v < 100000 ? (int)v : 0;
}

static void enter_cb(struct devapi *a, const char *serial, char saved[static DEVAPI_NAME_MAX])
{
    memcpy(saved, a->in_cb, DEVAPI_NAME_MAX);
    snprintf(a->in_cb, sizeof(a->in_cb), "%s", serial);
    a->in_cb_depth++;
}

static void leave_cb(struct devapi *a, const char saved[static DEVAPI_NAME_MAX])
{
    memcpy(a->in_cb, saved, DEVAPI_NAME_MAX);
    a->in_cb_depth--;
}

static void on_bus_event_in(struct devapi *a, const char *serial, const char *type,
                            const cbor_item_t *body);
static void on_bus_attach_in(struct devapi *a, const char *serial, bool attached, const char *reason);

static void on_bus_event(void *ctx, const char *serial, const char *type, const cbor_item_t *body)
{
    struct devapi *a = ctx;
    char saved[DEVAPI_NAME_MAX];
    enter_cb(a, serial, saved);
    on_bus_event_in(a, serial, type, body);
    leave_cb(a, saved);
}

static void on_bus_attach(void *ctx, const char *serial, bool attached, const char *reason)
{
    struct devapi *a = ctx;
    char saved[DEVAPI_NAME_MAX];
    enter_cb(a, serial, saved);
    on_bus_attach_in(a, serial, attached, reason);
    leave_cb(a, saved);
}

static void on_bus_event_in(struct devapi *a, const char *serial, const char *type,
                            const cbor_item_t *body)
{
    for (size_t i = 0; i < a->nobs; i++)
        if (a->obs[i].on_event != NULL)
            a->obs[i].on_event(a->obs[i].ctx, serial, type, body);
    for (size_t i = 0; i < DEVAPI_OPEN_MAX; i++) {
        struct devapi_dev *d = a->h[i];
        if (d == NULL || strcmp(d->serial, serial) != 0)
            continue;
        /* A device speaks only for its own class; other types are dropped. */
        if (!type_of_kind(type, d->kind)) {
            d->dropped++;
            continue;
        }
        bool data = in_list(type, devapi_data_types, sizeof(devapi_data_types) / sizeof(char *));
        bool err = in_list(type, devapi_error_types, sizeof(devapi_error_types) / sizeof(char *));
        if (data || err) {
            /* Input reaches only the enabled holder (the claimer of an exclusive device). */
            if (!d->enabled || (!d->sharable && !d->claimed))
                continue;
            queue_push(d, &d->input, data ? EV_DATA : EV_ERROR, type, body, 0);
        } else {
            queue_push(d, &d->status, EV_STATUS, type, body, status_of(body));
        }
        pump(d);
    }
}

static void on_bus_attach_in(struct devapi *a, const char *serial, bool attached, const char *reason)
{
    for (size_t i = 0; i < a->nobs; i++)
        if (a->obs[i].on_attach != NULL)
            a->obs[i].on_attach(a->obs[i].ctx, serial, attached, reason);
    for (size_t i = 0; i < DEVAPI_OPEN_MAX; i++) {
        struct devapi_dev *d = a->h[i];
        if (d == NULL || strcmp(d->serial, serial) != 0 || d->attached == attached)
            continue;
        d->attached = attached;
        queue_push(d, &d->status, EV_STATUS, attached ? "power.online" : "power.off_offline", NULL,
                   attached ? OPOS_SUE_POWER_ONLINE : OPOS_SUE_POWER_OFF_OFFLINE);
        pump(d);
    }
}

/* -------------------------------------------------------------- lifecycle */

int devapi_new(struct bus *b, struct devapi **ret)
{
    struct devapi *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return MAMORI_ERR_NOMEM;
    a->bus = b;
    bus_on_event(b, on_bus_event, a);
    bus_on_attach(b, on_bus_attach, a);
    *ret = a;
    return 0;
}

void devapi_free(struct devapi *a)
{
    if (a == NULL)
        return;
    /* The bus still owes these a reply; they free themselves when it comes. */
    for (struct devapi_pending *p = a->pending; p != NULL; p = p->next)
        p->api = NULL;
    for (size_t i = 0; i < DEVAPI_OPEN_MAX; i++)
        if (a->h[i] != NULL)
            (void)devapi_close(a->h[i]);
    bus_on_event(a->bus, NULL, NULL);
    bus_on_attach(a->bus, NULL, NULL);
    free(a);
}

int devapi_observe(struct devapi *a,
                   void (*on_event)(void *, const char *, const char *, const cbor_item_t *),
                   void (*on_attach)(void *, const char *, bool, const char *), void *ctx)
{
    if (a->nobs == DEVAPI_OBSERVERS_MAX)
        return MAMORI_ERR_LIMIT;
    a->obs[a->nobs].on_event = on_event;
    a->obs[a->nobs].on_attach = on_attach;
    a->obs[a->nobs].ctx = ctx;
    a->nobs++;
    return 0;
}

int devapi_open(struct devapi *a, const char *name, const struct devapi_listener *l,
                struct devapi_dev **ret)
{
    struct bus_device_info *info = NULL;
    size_t n = 0, slot = DEVAPI_OPEN_MAX;
    int rc = OPOS_E_NOEXIST;
    if (a == NULL || name == NULL || name[0] == '\0' || strlen(name) >= DEVAPI_NAME_MAX)
        return OPOS_E_ILLEGAL;
    for (size_t i = 0; i < DEVAPI_OPEN_MAX && slot == DEVAPI_OPEN_MAX; i++)
        if (a->h[i] == NULL)
            slot = i;
    if (slot == DEVAPI_OPEN_MAX)
        return OPOS_E_FAILURE;
    info = calloc(DEVAPI_DEVICES_MAX, sizeof(*info));
    if (info == NULL)
        return OPOS_E_FAILURE;
    if (bus_devices(a->bus, info, DEVAPI_DEVICES_MAX, &n) != 0) {
        rc = OPOS_E_FAILURE;
        goto out;
    }
    /* A serial wins over a kind; among a kind, an attached device first. */
    const struct bus_device_info *pick = NULL;
    for (size_t i = 0; i < n && pick == NULL; i++)
        if (strcmp(info[i].serial, name) == 0)
            pick = &info[i];
    for (int pass = 0; pass < 2 && pick == NULL; pass++)
        for (size_t i = 0; i < n && pick == NULL; i++)
            if (strcmp(info[i].kind, name) == 0 && (pass == 1 || info[i].attached))
                pick = &info[i];
    if (pick == NULL)
        goto out;
    struct devapi_dev *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        rc = OPOS_E_FAILURE;
        goto out;
    }
    d->api = a;
    d->id = ++a->next_id;
    if (l != NULL)
        d->l = *l;
    snprintf(d->serial, sizeof(d->serial), "%s", pick->serial);
    snprintf(d->kind, sizeof(d->kind), "%s", pick->kind);
    /* UPOS: CashDrawer is sharable, Keylock always sharable */
    d->sharable = strcmp(d->kind, "drawer") == 0 || strcmp(d->kind, "keylock") == 0;
    d->open = true;
    d->attached = pick->attached;
    a->h[slot] = d;
    *ret = d;
    rc = OPOS_SUCCESS;
out:
    free(info);
    return rc;
}

static struct devapi_dev *claimer_of(const struct devapi *a, const char *serial)
{
    for (size_t i = 0; i < DEVAPI_OPEN_MAX; i++)
        if (a->h[i] != NULL && a->h[i]->claimed && strcmp(a->h[i]->serial, serial) == 0)
            return a->h[i];
    return NULL;
}

static int set_rc(struct devapi_dev *d, int rc, int ext, int err)
{
    if (d != NULL) {
        d->rc_ext = ext;
        d->err = err;
    }
    return rc;
}

int devapi_close(struct devapi_dev *d)
{
    if (d == NULL || !d->open)
        return OPOS_E_CLOSED;
    struct devapi *a = d->api;
    for (size_t i = 0; i < DEVAPI_OPEN_MAX; i++)
        if (a->h[i] == d)
            a->h[i] = NULL;
    d->open = d->claimed = d->enabled = d->dee = false;
    if (d->busy > 0)
        d->dead = true; /* freed when the running delivery returns */
    else
        handle_free(d);
    return OPOS_SUCCESS;
}

int devapi_claim(struct devapi_dev *d, int timeout_ms)
{
    (void)timeout_ms; /* one thread: nothing can release while we wait */
    if (d == NULL || !d->open)
        return set_rc(d, OPOS_E_CLOSED, 0, MAMORI_ERR_STATE);
    if (strcmp(d->kind, "keylock") == 0)
        return set_rc(d, OPOS_E_ILLEGAL, 0, MAMORI_ERR_UNSUPPORTED); /* UPOS: claim illegal */
    struct devapi_dev *holder = claimer_of(d->api, d->serial);
    if (holder == d)
        return set_rc(d, OPOS_SUCCESS, 0, 0);
    if (holder != NULL)
        return set_rc(d, OPOS_E_CLAIMED, 0, MAMORI_ERR_BUSY);
    d->claimed = true;
    return set_rc(d, OPOS_SUCCESS, 0, 0);
}

int devapi_release(struct devapi_dev *d)
{
    if (d == NULL || !d->open)
        return set_rc(d, OPOS_E_CLOSED, 0, MAMORI_ERR_STATE);
    if (!d->claimed)
        return set_rc(d, OPOS_E_NOTCLAIMED, 0, MAMORI_ERR_STATE);
    d->claimed = false;
    d->enabled = false; /* release disables (UPOS) */
    queue_clear(&d->input);
    return set_rc(d, OPOS_SUCCESS, 0, 0);
}

/* May this handle use the device now? (open, claim rules) */
static int usable(struct devapi_dev *d)
{
    if (d == NULL || !d->open)
        return OPOS_E_CLOSED;
    struct devapi_dev *holder = claimer_of(d->api, d->serial);
    if (holder != NULL && holder != d)
        return OPOS_E_CLAIMED;
    if (!d->sharable && !d->claimed)
        return OPOS_E_NOTCLAIMED;
    return OPOS_SUCCESS;
}

int devapi_set_enabled(struct devapi_dev *d, bool enabled)
{
    int rc = usable(d);
    if (rc != OPOS_SUCCESS)
        return set_rc(d, rc, 0, MAMORI_ERR_STATE);
    if (enabled && !d->attached)
        return set_rc(d, OPOS_E_NOHARDWARE, 0, MAMORI_ERR_OFFLINE);
    d->enabled = enabled;
    if (!enabled)
        queue_clear(&d->input);
    return set_rc(d, OPOS_SUCCESS, 0, 0);
}

int devapi_set_data_event_enabled(struct devapi_dev *d, bool enabled)
{
    if (d == NULL || !d->open)
        return set_rc(d, OPOS_E_CLOSED, 0, MAMORI_ERR_STATE);
    d->dee = enabled;
    set_rc(d, OPOS_SUCCESS, 0, 0);
    pump(d); /* may free d (a listener closed it): do not touch d after */
    return OPOS_SUCCESS;
}

int devapi_set_freeze_events(struct devapi_dev *d, bool freeze)
{
    if (d == NULL || !d->open)
        return set_rc(d, OPOS_E_CLOSED, 0, MAMORI_ERR_STATE);
    d->frozen = freeze;
    set_rc(d, OPOS_SUCCESS, 0, 0);
    pump(d); /* may free d (a listener closed it): do not touch d after */
    return OPOS_SUCCESS;
}

int devapi_clear_input(struct devapi_dev *d)
{
    int rc = usable(d);
    if (rc != OPOS_SUCCESS)
        return set_rc(d, rc, 0, MAMORI_ERR_STATE);
    queue_clear(&d->input);
    return set_rc(d, OPOS_SUCCESS, 0, 0);
}

/* ---------------------------------------------------------------- requests */

/* A device's MAMORI_ERR_* as a UPOS result (and extended code). */
static int map_error(const struct devapi_dev *d, int err, int *ret_ext)
{
    const char *k = d->kind;
    *ret_ext = 0;
    if (strcmp(k, "scale") == 0) {
        if (err == MAMORI_ERR_AGAIN)
            return OPOS_E_TIMEOUT; /* no stable weight (readWeight) */
        if (err == MAMORI_ERR_TOOBIG)
            return (*ret_ext = DEVAPI_ESCAL_OVERWEIGHT), OPOS_E_EXTENDED;
        if (err == MAMORI_ERR_STATE)
            return (*ret_ext = DEVAPI_ESCAL_UNDER_ZERO), OPOS_E_EXTENDED;
    } else if (strcmp(k, "printer") == 0) {
        if (err == MAMORI_ERR_STATE)
            return (*ret_ext = DEVAPI_EPTR_REC_EMPTY), OPOS_E_EXTENDED;
        if (err == MAMORI_ERR_TOOBIG)
            return (*ret_ext = DEVAPI_EPTR_TOOBIG), OPOS_E_EXTENDED;
    } else if (strcmp(k, "changer") == 0) {
        if (err == MAMORI_ERR_LIMIT)
            return (*ret_ext = DEVAPI_ECHAN_OVERDISPENSE), OPOS_E_EXTENDED;
    } else if (strcmp(k, "pinpad") == 0) {
        if (err == MAMORI_ERR_STATE || err == MAMORI_ERR_TAMPER)
            return (*ret_ext = DEVAPI_EPPAD_BAD_KEY), OPOS_E_EXTENDED;
    } else if (strcmp(k, "icreader") == 0) {
        if (err == MAMORI_ERR_NOTFOUND)
            return (*ret_ext = DEVAPI_ESC_NO_CARD), OPOS_E_EXTENDED;
    }
    switch (err) {
    case MAMORI_ERR_OFFLINE:
    case MAMORI_ERR_CLOSED:
        return OPOS_E_OFFLINE;
    case MAMORI_ERR_TIMEOUT:
        return OPOS_E_TIMEOUT;
    case MAMORI_ERR_BUSY:
        return OPOS_E_BUSY;
    case MAMORI_ERR_INVAL:
    case MAMORI_ERR_TOOBIG:
    case MAMORI_ERR_UNSUPPORTED:
    case MAMORI_ERR_STATE:
        return OPOS_E_ILLEGAL;
    case MAMORI_ERR_EXISTS:
        return OPOS_E_EXISTS;
    case MAMORI_ERR_NOTFOUND:
        return OPOS_E_NOEXIST;
    default:
        return OPOS_E_FAILURE;
    }
}

/* The checks before a request is sent: OPOS_SUCCESS or the result code. */
static int request_allowed(struct devapi_dev *d, const char *type)
{
    int rc;
    if (d == NULL || !d->open)
        return set_rc(d, OPOS_E_CLOSED, 0, MAMORI_ERR_STATE);
    if (type == NULL || !type_of_kind(type, d->kind) || strlen(type) >= DEVAPI_TYPE_MAX)
        return set_rc(d, OPOS_E_ILLEGAL, 0, MAMORI_ERR_INVAL);
    size_t kl = strlen(d->kind);
    bool status_only = strcmp(type + kl, ".status") == 0;
    if (!status_only) {
        if ((rc = usable(d)) != OPOS_SUCCESS)
            return set_rc(d, rc, 0, MAMORI_ERR_STATE);
        if (!d->enabled)
            return set_rc(d, OPOS_E_DISABLED, 0, MAMORI_ERR_STATE);
    }
    if (!d->attached)
        return set_rc(d, OPOS_E_OFFLINE, 0, MAMORI_ERR_OFFLINE);
    return OPOS_SUCCESS;
}

int devapi_request(struct devapi_dev *d, const char *type, cbor_item_t *body, int timeout_ms,
                   cbor_item_t **ret_reply)
{
    cbor_item_t *reply = NULL;
    int rc, ext = 0, err;
    if ((rc = request_allowed(d, type)) != OPOS_SUCCESS)
        goto drop;
    if (d->api->in_cb_depth > 0 && strcmp(d->api->in_cb, d->serial) == 0) {
        rc = set_rc(d, OPOS_E_BUSY, 0, MAMORI_ERR_BUSY);
        goto drop;
    }
    d->busy++; /* events delivered while we wait must not free d */
    err = bus_call(d->api->bus, d->serial, type, body, timeout_ms, &reply);
    body = NULL;
    d->busy--;
    if (d->dead) {
        /* closed by a listener while we waited; free it unless an outer
         * delivery still runs on it (that one frees it). */
        if (reply != NULL)
            cbor_decref(&reply);
        if (d->busy == 0)
            handle_free(d);
        return OPOS_E_CLOSED;
    }
    if (err != 0) {
        rc = map_error(d, err, &ext);
        if (err == MAMORI_ERR_OFFLINE)
            d->attached = false;
        set_rc(d, rc, ext, err);
        if (reply != NULL)
            cbor_decref(&reply);
        pump(d);
        return rc;
    }
    set_rc(d, OPOS_SUCCESS, 0, 0);
    if (strcmp(type, "printer.print") == 0) {
        d->output_id++;
        if (d->l.output_complete != NULL) {
            d->busy++;
            d->l.output_complete(d->l.ctx, d, d->output_id);
            d->busy--;
        }
    }
    if (ret_reply != NULL)
        *ret_reply = reply;
    else if (reply != NULL)
        cbor_decref(&reply);
    if (d->dead) {
        if (d->busy == 0)
            handle_free(d);
        return OPOS_SUCCESS;
    }
    pump(d);
    return OPOS_SUCCESS;
drop:
    if (body != NULL)
        cbor_decref(&body);
    return rc;
}

static struct devapi_dev *handle_by_id(struct devapi *a, uint64_t id)
{
    for (size_t i = 0; a != NULL && i < DEVAPI_OPEN_MAX; i++)
        if (a->h[i] != NULL && a->h[i]->id == id)
            return a->h[i];
    return NULL;
}

static void on_async_reply(void *ctx, int status, const cbor_item_t *reply)
{
    struct devapi_pending *p = ctx;
    struct devapi *a = p->api;
    struct devapi_dev *d = NULL;
    int rc = OPOS_E_CLOSED, ext = 0;
    if (a != NULL) {
        for (struct devapi_pending **pp = &a->pending; *pp != NULL; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
        d = handle_by_id(a, p->dev_id);
    }
    if (d != NULL) {
        if (status != 0) {
            rc = map_error(d, status, &ext);
            if (status == MAMORI_ERR_OFFLINE)
                d->attached = false;
            set_rc(d, rc, ext, status);
        } else {
            rc = set_rc(d, OPOS_SUCCESS, 0, 0);
        }
        d->busy++;
        p->cb(p->ctx, d, rc, status == 0 ? reply : NULL);
        if (rc == OPOS_SUCCESS && strcmp(p->type, "printer.print") == 0) {
            d->output_id++;
            if (!d->dead && d->l.output_complete != NULL)
                d->l.output_complete(d->l.ctx, d, d->output_id);
        }
        d->busy--;
        if (d->dead) {
            if (d->busy == 0)
                handle_free(d);
        } else {
            pump(d);
        }
    } else {
        p->cb(p->ctx, NULL, OPOS_E_CLOSED, NULL);
    }
    free(p);
}

int devapi_request_async(struct devapi_dev *d, const char *type, cbor_item_t *body,
                         int timeout_ms, devapi_reply_fn cb, void *ctx)
{
    struct devapi_pending *p;
    struct devapi *a;
    uint64_t id;
    int rc, err, ext = 0;
    if ((rc = request_allowed(d, type)) != OPOS_SUCCESS)
        goto drop;
    if (cb == NULL) {
        rc = set_rc(d, OPOS_E_ILLEGAL, 0, MAMORI_ERR_INVAL);
        goto drop;
    }
    if ((p = calloc(1, sizeof(*p))) == NULL) {
        rc = set_rc(d, OPOS_E_FAILURE, 0, MAMORI_ERR_NOMEM);
        goto drop;
    }
    a = d->api;
    id = d->id;
    p->api = a;
    p->dev_id = id;
    memcpy(p->type, type, strlen(type) + 1);
    p->cb = cb;
    p->ctx = ctx;
    p->next = a->pending;
    a->pending = p;
    set_rc(d, OPOS_SUCCESS, 0, 0);
    err = bus_request(a->bus, d->serial, type, body, timeout_ms, on_async_reply, p);
    if (err == 0)
        return OPOS_SUCCESS; /* p is the bus's now (it may even have been answered) */
    /* Not sent: the bus will not call back. */
    for (struct devapi_pending **pp = &a->pending; *pp != NULL; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    free(p);
    d = handle_by_id(a, id);
    if (d == NULL)
        return OPOS_E_CLOSED;
    rc = map_error(d, err, &ext);
    if (err == MAMORI_ERR_OFFLINE)
        d->attached = false;
    return set_rc(d, rc, ext, err);
drop:
    if (body != NULL)
        cbor_decref(&body);
    return rc;
}

/* -------------------------------------------------------------- properties */

int devapi_result_extended(const struct devapi_dev *d)
{
    return d != NULL ? d->rc_ext : 0;
}

int devapi_error(const struct devapi_dev *d)
{
    return d != NULL ? d->err : MAMORI_ERR_STATE;
}

int devapi_state(const struct devapi_dev *d)
{
    if (d == NULL || !d->open)
        return OPOS_S_CLOSED;
    return d->busy > 0 ? OPOS_S_BUSY : OPOS_S_IDLE;
}

int devapi_power_state(const struct devapi_dev *d)
{
    if (d == NULL || !d->open)
        return OPOS_PS_UNKNOWN;
    return d->attached ? OPOS_PS_ONLINE : OPOS_PS_OFF_OFFLINE;
}

bool devapi_claimed(const struct devapi_dev *d)
{
    return d != NULL && d->claimed;
}

bool devapi_enabled(const struct devapi_dev *d)
{
    return d != NULL && d->enabled;
}

bool devapi_data_event_enabled(const struct devapi_dev *d)
{
    return d != NULL && d->dee;
}

int devapi_data_count(const struct devapi_dev *d)
{
    return d != NULL ? (int)d->input.n : 0;
}

int devapi_output_id(const struct devapi_dev *d)
{
    return d != NULL ? d->output_id : 0;
}

unsigned devapi_dropped(const struct devapi_dev *d)
{
    return d != NULL ? d->dropped : 0;
}

const char *devapi_serial(const struct devapi_dev *d)
{
    return d != NULL ? d->serial : "";
}

const char *devapi_kind(const struct devapi_dev *d)
{
    return d != NULL ? d->kind : "";
}
