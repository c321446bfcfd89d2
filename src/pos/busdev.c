/*
 * busdev.c: owns the register's device handles on the UPOS device API
 * (open/claim/enable by kind, re-enable after detach), the translation of
 * the pos_devices port into device requests (docs/protocol.md, Device
 * classes), the waits for the shopper (customer display answer, change
 * machine deposit) and the delivery of scanner and keyboard input. It does
 * not own transactions, idempotency keys (the engine chooses and journals
 * them) or device firmware.
 *
 * Deposit, exactly once (POL-1): if the change machine reports a deposit
 * open (left by a crash), it is ended with the key and counts what was
 * inserted. Otherwise `changer.deposit_end` goes first with the key: if the
 * device has seen the key it replays the counted amount (a retry after a
 * lost reply or a restart). Only when no deposit is open and the key is new
 * (MAMORI_ERR_STATE) does a new deposit begin; it is watched until it covers
 * the amount due, the shopper stops inserting (deposit_idle_ms) or
 * deposit_max_ms passes, and is ended with the same key.
 */
#include "pos/busdev.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/devapi.h"
#include "bus/msg.h"
#include "common/evloop.h"
#include "devices/devbody.h"
#include "mamori/err.h"

enum { K_PRINTER, K_LINEDISP, K_CUSTDISP, K_DRAWER, K_CHANGER, K_SCALE, K_SCANNER, K_KEYBOARD,
       K_TOUCHPANEL, K_KEYLOCK, K_COUNT };

static const char *const kind_names[K_COUNT] = {"printer", "linedisplay", "custdisplay", "drawer",
                                                "changer", "scale",       "scanner",     "keyboard",
                                                "touchpanel", "keylock"};
/* Kinds whose DataEvents the register consumes. */
static const bool kind_input[K_COUNT] = {false, false, true, false, true, false, true, true,
                                         true,  false};

struct busdev {
    struct evloop *l;
    struct devapi *api;
    struct busdev_config cfg;
    struct devapi_dev *h[K_COUNT];
    struct pos_devices port;
    uint64_t tick;
    busdev_input_fn input;
    busdev_note_fn note;
    void *ctx;
    /* customer display question */
    int64_t cid;
    bool answered, answer;
    /* change machine deposit in progress */
    int64_t dep_amount;
    int64_t dep_last_ms;
    /* mode key (DEV-11): the last position the keylock reported; LOCK while
     * it is detached or has not told it since it attached (klknown false;
     * klasked: a keylock.status request is out) */
    int klpos;
    bool klknown, klasked;
    /* Devices that come and go while the register runs (DEV-8, DEV-18b):
     * seen: the kind's device has been attached (or, for the change machine,
     * was enrolled at start); a cash command whose outcome is unknown pins
     * the kind to that device, also in the pin file across a restart (no
     * other device of the kind takes over, so a retry under the same key
     * reaches the device that may have executed it); in_call: a device call
     * is in progress (no handle is replaced under it). */
    bool seen[K_COUNT];
    char pin[K_COUNT][BUSDEV_SERIAL_MAX]; /* serial a cash command waits on ("" none) */
    char pin_path[BUSDEV_PATH_MAX];       /* "" in memory only */
    int in_call;
};

static int kind_index(const char *kind)
{
    for (int i = 0; i < K_COUNT; i++)
        if (kind != NULL && strcmp(kind, kind_names[i]) == 0)
            return i;
    return -1;
}

/* ---- pins across a restart ---- */

static int pins_save(const struct busdev *b)
{
    char tmp[BUSDEV_PATH_MAX + 8], text[K_COUNT * (BUSDEV_SERIAL_MAX + 16)];
    size_t n = 0;
    int fd, rc = 0;
    if (b->pin_path[0] == '\0')
        return 0;
    for (int k = 0; k < K_COUNT; k++)
        if (b->pin[k][0] != '\0')
            n += (size_t)snprintf(text + n, sizeof(text) - n, "%s %s\n", kind_names[k], b->pin[k]);
    snprintf(tmp, sizeof(tmp), "%s.tmp", b->pin_path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return MAMORI_ERR_IO;
    if (write(fd, text, n) != (ssize_t)n || fsync(fd) != 0)
        rc = MAMORI_ERR_IO;
    if (close(fd) != 0 || (rc == 0 && rename(tmp, b->pin_path) != 0))
        rc = MAMORI_ERR_IO;
    if (rc != 0)
        (void)unlink(tmp);
    return rc;
}

static void pins_load(struct busdev *b)
{
    char line[160], kind[32], serial[BUSDEV_SERIAL_MAX];
    FILE *f = b->pin_path[0] ? fopen(b->pin_path, "re") : NULL;
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        int k;
        if (sscanf(line, "%31s %63s", kind, serial) == 2 && (k = kind_index(kind)) >= 0)
            snprintf(b->pin[k], sizeof(b->pin[k]), "%s", serial);
    }
    fclose(f);
}

/* Pin kind k to serial (a cash command is about to be sent to it). */
static int pin_set(struct busdev *b, int k, const char *serial)
{
    if (strcmp(b->pin[k], serial) == 0)
        return 0;
    snprintf(b->pin[k], sizeof(b->pin[k]), "%s", serial);
    if (pins_save(b) != 0) {
        /* Not sent (without the pin a restart could pay twice): "offline",
         * so every caller keeps the command pending and retries it. */
        b->pin[k][0] = '\0';
        if (b->note != NULL)
            b->note(b->ctx, kind_names[k], "cannot record the pin: not sent");
        return MAMORI_ERR_OFFLINE;
    }
    return 0;
}

static void pin_clear(struct busdev *b, int k)
{
    if (b->pin[k][0] == '\0')
        return;
    b->pin[k][0] = '\0';
    (void)pins_save(b); /* a stale pin only holds the kind until the device answers */
}

/* MAMORI_ERR_* for a failed devapi call. */
static int dev_err(struct devapi_dev *d, int rc)
{
    int e;
    if (rc == OPOS_SUCCESS)
        return 0;
    /* Not attached, or not (yet) claimed and enabled after a reattach: the
     * outcome is "not sent"; the engine retries with the same key. */
    if (rc == OPOS_E_OFFLINE || rc == OPOS_E_NOHARDWARE || rc == OPOS_E_CLOSED ||
        rc == OPOS_E_NOEXIST || rc == OPOS_E_DISABLED || rc == OPOS_E_NOTCLAIMED ||
        rc == OPOS_E_CLAIMED)
        return MAMORI_ERR_OFFLINE;
    if (rc == OPOS_E_TIMEOUT && d != NULL && devapi_error(d) == MAMORI_ERR_TIMEOUT)
        return MAMORI_ERR_TIMEOUT;
    e = d != NULL ? devapi_error(d) : 0;
    return e < 0 ? e : MAMORI_ERR_INTERNAL;
}

static void on_data(void *ctx, struct devapi_dev *d, const char *type, const cbor_item_t *body)
{
    struct busdev *b = ctx;
    char text[BUSDEV_INPUT_MAX];
    int64_t v;
    bool yes;
    int k = kind_index(devapi_kind(d));
    (void)devapi_set_data_event_enabled(d, true); /* UPOS: re-arm after each DataEvent */
    if (k == K_SCANNER && strcmp(type, "scanner.data") == 0) {
        if (devbody_get_str(body, "data", text, sizeof(text)) == 0 && b->input != NULL)
            b->input(b->ctx, "scanner", text);
    } else if (k == K_KEYBOARD && strcmp(type, "keyboard.key") == 0) {
        if (devbody_get_str(body, "key", text, sizeof(text)) == 0 && b->input != NULL)
            b->input(b->ctx, "keyboard", text);
    } else if (k == K_TOUCHPANEL && strcmp(type, "touchpanel.touch") == 0) {
        if (devbody_get_str(body, "button", text, sizeof(text)) == 0 && b->input != NULL)
            b->input(b->ctx, "touchpanel", text);
    } else if (k == K_CUSTDISP && strcmp(type, "custdisplay.answer") == 0) {
        if (devbody_get_int(body, "cid", 0, INT64_MAX, &v) == 0 &&
            devbody_get_bool(body, "answer", &yes) == 0 && v == b->cid && !b->answered) {
            b->answered = true;
            b->answer = yes;
        }
    } else if (k == K_CHANGER && strcmp(type, "changer.deposit") == 0) {
        if (devbody_get_int(body, "amount", 0, INT64_MAX, &v) == 0) {
            b->dep_amount = v;
            b->dep_last_ms = evloop_now_ms();
        }
    }
}

static void keylock_ask(struct busdev *b);

/* A keylock position from the keylock's own status (event or reply): 1..count. */
static void keylock_set(struct busdev *b, const cbor_item_t *body)
{
    int64_t pos, count;
    if (devbody_get_int(body, "count", 1, 32, &count) != 0 ||
        devbody_get_int(body, "position", 1, count, &pos) != 0)
        pos = 1; /* a position we cannot read is LOCK */
    b->klpos = (int)pos;
    b->klknown = true;
}

static void on_status(void *ctx, struct devapi_dev *d, int status, const char *type,
                      const cbor_item_t *body)
{
    struct busdev *b = ctx;
    char what[64];
    if (kind_index(devapi_kind(d)) == K_KEYLOCK) {
        /* fail closed: detached is LOCK until the device tells its position */
        if (status == OPOS_SUE_POWER_OFF_OFFLINE || status == OPOS_SUE_POWER_ONLINE) {
            b->klpos = 1;
            b->klknown = b->klasked = false;
            if (status == OPOS_SUE_POWER_ONLINE)
                keylock_ask(b);
        } else if (type != NULL && strcmp(type, "keylock.status") == 0) {
            keylock_set(b, body);
        }
    }
    if (b->note == NULL)
        return;
    if (status == OPOS_SUE_POWER_OFF_OFFLINE)
        snprintf(what, sizeof(what), "offline");
    else if (status == OPOS_SUE_POWER_ONLINE)
        snprintf(what, sizeof(what), "online");
    else
        snprintf(what, sizeof(what), "%.40s %d", type ? type : "status", status);
    b->note(b->ctx, devapi_kind(d), what);
}

static void on_keylock_reply(void *ctx, struct devapi_dev *d, int rc, const cbor_item_t *reply)
{
    struct busdev *b = ctx;
    if (d == NULL)
        return; /* the handle (and maybe b) is gone */
    b->klasked = false;
    if (rc != OPOS_SUCCESS || devapi_power_state(d) == OPOS_PS_OFF_OFFLINE)
        return; /* still LOCK; asked again by the tick */
    keylock_set(b, reply);
    if (b->note != NULL)
        b->note(b->ctx, "keylock", "keylock.status");
}

/* Ask the keylock its position (asynchronously: this may run inside one of
 * its callbacks, where a synchronous request is refused). */
static void keylock_ask(struct busdev *b)
{
    struct devapi_dev *d = b->h[K_KEYLOCK];
    if (d == NULL || b->klasked || devapi_power_state(d) == OPOS_PS_OFF_OFFLINE)
        return;
    b->klasked = true; /* before: the reply may come before the call returns */
    if (devapi_request_async(d, "keylock.status", NULL, b->cfg.request_ms, on_keylock_reply, b) !=
        OPOS_SUCCESS)
        b->klasked = false;
}

/* The device of kind k is detached: another enrolled device of the kind
 * that is attached takes over, unless a cash command is pinned to it or a
 * device call is in progress. */
static void take_over(struct busdev *b, int k, const struct devapi_listener *l)
{
    struct devapi_dev *n = NULL;
    if (b->pin[k][0] != '\0' || b->in_call > 0)
        return;
    if (devapi_open(b->api, kind_names[k], l, &n) != OPOS_SUCCESS)
        return;
    if (devapi_power_state(n) == OPOS_PS_OFF_OFFLINE ||
        strcmp(devapi_serial(n), devapi_serial(b->h[k])) == 0) {
        (void)devapi_close(n);
        return;
    }
    (void)devapi_close(b->h[k]);
    b->h[k] = n;
    if (k == K_KEYLOCK) {
        b->klpos = 1; /* the new keylock: LOCK until it answers */
        b->klknown = b->klasked = false;
    }
    if (b->note != NULL)
        b->note(b->ctx, kind_names[k], "replaced");
}

static void ensure_one(struct busdev *b, int k)
{
    struct devapi_listener l = {.ctx = b, .data = on_data, .status = on_status};
    struct devapi_dev *d = b->h[k];
    if (d == NULL) {
        /* A kind pinned by a pending cash command opens that very device. */
        int rc = devapi_open(b->api, b->pin[k][0] ? b->pin[k] : kind_names[k], &l, &d);
        if (rc == OPOS_E_NOEXIST && b->pin[k][0] != '\0') {
            /* removed from the registry (dual control): nothing answers for it now */
            if (b->note != NULL)
                b->note(b->ctx, kind_names[k], "pinned device removed");
            pin_clear(b, k);
        }
        if (rc != OPOS_SUCCESS)
            return; /* no device of this kind enrolled (yet) */
        b->h[k] = d;
        if (k == K_KEYLOCK) {
            b->klpos = 1; /* enrolled: LOCK until it answers */
            b->klknown = false;
        }
    }
    if (devapi_power_state(d) == OPOS_PS_OFF_OFFLINE) {
        take_over(b, k, &l);
        if (devapi_power_state(d = b->h[k]) == OPOS_PS_OFF_OFFLINE)
            return;
    }
    /* UPOS: the drawer is sharable, the keylock always sharable (no claim) */
    if (!devapi_claimed(d) && k != K_DRAWER && k != K_KEYLOCK && devapi_claim(d, 0) != OPOS_SUCCESS)
        return;
    if (!devapi_enabled(d) && devapi_set_enabled(d, true) != OPOS_SUCCESS)
        return;
    if (kind_input[k] && !devapi_data_event_enabled(d))
        (void)devapi_set_data_event_enabled(d, true);
    if (k == K_KEYLOCK && !b->klknown)
        keylock_ask(b);
    if (devapi_enabled(d))
        b->seen[k] = true;
}

void busdev_ensure(struct busdev *b)
{
    for (int k = 0; k < K_COUNT; k++)
        ensure_one(b, k);
    /* A change machine counts once seen; later a detach means retry, not
     * "use the drawer" (the engine asks changer_present at use time). */
    b->port.has_changer = b->h[K_CHANGER] != NULL && b->seen[K_CHANGER];
}

static bool p_changer_present(void *ctx)
{
    struct busdev *b = ctx;
    if (b->in_call == 0)
        ensure_one(b, K_CHANGER);
    return b->h[K_CHANGER] != NULL && b->seen[K_CHANGER];
}

bool busdev_ready(const struct busdev *b, const char *kind)
{
    int k = kind_index(kind);
    struct devapi_dev *d = k >= 0 ? b->h[k] : NULL;
    return d != NULL && devapi_enabled(d) && devapi_power_state(d) != OPOS_PS_OFF_OFFLINE;
}

int busdev_keylock(const struct busdev *b)
{
    return b->h[K_KEYLOCK] != NULL ? b->klpos : 0;
}

static void on_tick(struct evloop *l, void *ctx)
{
    struct busdev *b = ctx;
    busdev_ensure(b);
    (void)evloop_timer(l, BUSDEV_TICK_MS, on_tick, b, &b->tick);
}

/* Send a request to the device of kind k; *ret_reply optional. */
static int req(struct busdev *b, int k, const char *type, cbor_item_t *body, int timeout_ms,
               cbor_item_t **ret_reply)
{
    struct devapi_dev *d;
    /* Cash commands stay with the device that may have executed them. (A
     * keyed print is not pinned: a lost printer must not block its
     * replacement; the key makes retries to the same printer print once.) */
    bool cash = strcmp(type, "drawer.open") == 0 || strcmp(type, "changer.dispense") == 0 ||
                strncmp(type, "changer.deposit_", 16) == 0;
    int rc;
    if (b->in_call == 0)
        ensure_one(b, k);
    d = b->h[k];
    if (d == NULL || (cash && devapi_power_state(d) == OPOS_PS_OFF_OFFLINE)) {
        if (body)
            cbor_decref(&body);
        return MAMORI_ERR_OFFLINE; /* not sent */
    }
    /* Sent: the outcome is unknown until the device answers. */
    if (cash && (rc = pin_set(b, k, devapi_serial(d))) != 0) {
        if (body)
            cbor_decref(&body);
        return rc;
    }
    b->in_call++;
    rc = devapi_request(d, type, body, timeout_ms > 0 ? timeout_ms : b->cfg.request_ms, ret_reply);
    b->in_call--;
    rc = dev_err(d, rc);
    /* A definite answer settles it; an open deposit stays pinned until its end. */
    if (cash && rc != MAMORI_ERR_OFFLINE && rc != MAMORI_ERR_TIMEOUT &&
        !(rc == 0 && strcmp(type, "changer.deposit_begin") == 0))
        pin_clear(b, k);
    return rc;
}

/* ------------------------------------------------------------------ port */

_Static_assert(BUSDEV_PRINT_CHUNK <= MSG_MAX_STRING, "a print chunk must fit one bus byte string");

/* Print in chunks; with idem, chunk i carries the key "idem.i" (the printer
 * replays a chunk it has printed). */
static int print_chunks(struct busdev *b, const char *idem, const uint8_t *bytes, size_t n)
{
    int rc = 0;
    if (n > POSDEV_PRINT_MAX)
        return MAMORI_ERR_TOOBIG;
    for (size_t off = 0, i = 0; rc == 0 && off < n; off += BUSDEV_PRINT_CHUNK, i++) {
        size_t len = n - off < BUSDEV_PRINT_CHUNK ? n - off : BUSDEV_PRINT_CHUNK;
        char key[POSDEV_IDEM_MAX + 8];
        cbor_item_t *m = devbody_new();
        snprintf(key, sizeof(key), "%s.%zu", idem ? idem : "", i);
        if (m == NULL || devbody_put_bytes(m, "data", bytes + off, len) ||
            (idem != NULL && devbody_put_str(m, "idem", key))) {
            if (m)
                cbor_decref(&m);
            return MAMORI_ERR_NOMEM;
        }
        rc = req(b, K_PRINTER, "printer.print", m, 0, NULL);
    }
    return rc;
}

static int p_print(void *ctx, const uint8_t *bytes, size_t n)
{
    return print_chunks(ctx, NULL, bytes, n);
}

static int p_print_once(void *ctx, const char *idem, const uint8_t *bytes, size_t n)
{
    if (idem == NULL || idem[0] == '\0' || strlen(idem) >= POSDEV_IDEM_MAX)
        return MAMORI_ERR_INVAL;
    return print_chunks(ctx, idem, bytes, n);
}

static cbor_item_t *lines_body(const char *l1, const char *l2)
{
    cbor_item_t *m = devbody_new(), *a = cbor_new_definite_array(2);
    if (m == NULL || a == NULL ||
        !cbor_array_push(a, cbor_move(cbor_build_string(l1 ? l1 : ""))) ||
        !cbor_array_push(a, cbor_move(cbor_build_string(l2 ? l2 : ""))) ||
        devbody_put_item(m, "lines", a)) {
        if (m)
            cbor_decref(&m);
        return NULL;
    }
    return m;
}

/* Both displays are sent their text at once and waited for together (a
 * scan answers after the slower of the two, not after their sum). The wait
 * is on the heap: if the loop fails while waiting, the late replies still
 * have somewhere to land. */
struct display_wait {
    int pending;    /* replies still to come */
    int rc;         /* first failure (MAMORI_ERR_*) */
    bool abandoned; /* the caller returned: the last reply frees this */
};

static void display_done(void *ctx, struct devapi_dev *d, int rc, const cbor_item_t *reply)
{
    struct display_wait *w = ctx;
    (void)reply;
    if (rc != OPOS_SUCCESS && w->rc == 0)
        w->rc = dev_err(d, rc);
    if (--w->pending == 0 && w->abandoned)
        free(w);
}

static int p_display(void *ctx, const char *l1, const char *l2)
{
    static const int kinds[2] = {K_LINEDISP, K_CUSTDISP};
    static const char *const types[2] = {"linedisplay.text", "custdisplay.text"};
    struct busdev *b = ctx;
    struct display_wait *w = calloc(1, sizeof(*w));
    int rc;
    if (w == NULL)
        return MAMORI_ERR_NOMEM;
    for (int i = 0; i < 2; i++) {
        int k = kinds[i];
        cbor_item_t *m;
        /* Displays are optional: a register without one still sells. One
         * enrolled later is opened by the tick, not looked up per scan. */
        if (b->h[k] == NULL)
            continue;
        ensure_one(b, k);
        if ((m = lines_body(l1, l2)) == NULL) {
            w->rc = w->rc ? w->rc : MAMORI_ERR_NOMEM;
            break;
        }
        w->pending++; /* before sending: the reply may come inside the call */
        rc = devapi_request_async(b->h[k], types[i], m, b->cfg.request_ms, display_done, w);
        if (rc != OPOS_SUCCESS) {
            w->pending--;
            if (w->rc == 0)
                w->rc = dev_err(b->h[k], rc);
        }
    }
    while (w->pending > 0)
        if (evloop_run_once(b->l, 100) < 0) {
            w->abandoned = true; /* the bus times the requests out later */
            return MAMORI_ERR_SYS;
        }
    rc = w->rc;
    free(w);
    return rc;
}

static int confirm_run(struct busdev *b, const char *prompt, bool *ret_yes);

/* A wait for the shopper runs the loop: no handle is replaced meanwhile. */
static int p_confirm(void *ctx, const char *prompt, bool *ret_yes)
{
    struct busdev *b = ctx;
    int rc;
    if (b->in_call == 0)
        ensure_one(b, K_CUSTDISP);
    b->in_call++;
    rc = confirm_run(b, prompt, ret_yes);
    b->in_call--;
    return rc;
}

static int confirm_run(struct busdev *b, const char *prompt, bool *ret_yes)
{
    cbor_item_t *m = devbody_new(), *reply = NULL;
    int64_t cid, deadline;
    int rc;
    if (m == NULL || devbody_put_str(m, "prompt", prompt)) {
        if (m)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    if ((rc = req(b, K_CUSTDISP, "custdisplay.confirm", m, 0, &reply)) == MAMORI_ERR_BUSY) {
        /* a question left open (e.g. by a crash): withdraw it and ask again */
        (void)req(b, K_CUSTDISP, "custdisplay.cancel", NULL, 0, NULL);
        if ((m = devbody_new()) == NULL || devbody_put_str(m, "prompt", prompt)) {
            if (m)
                cbor_decref(&m);
            return MAMORI_ERR_NOMEM;
        }
        rc = req(b, K_CUSTDISP, "custdisplay.confirm", m, 0, &reply);
    }
    if (rc != 0)
        return rc;
    rc = devbody_get_int(reply, "cid", 1, INT64_MAX, &cid);
    cbor_decref(&reply);
    if (rc != 0)
        return MAMORI_ERR_PROTO;
    b->cid = cid;
    b->answered = false;
    deadline = evloop_now_ms() + b->cfg.confirm_ms;
    while (!b->answered && evloop_now_ms() < deadline)
        if (evloop_run_once(b->l, 50) < 0)
            break;
    b->cid = 0;
    if (!b->answered) {
        (void)req(b, K_CUSTDISP, "custdisplay.cancel", NULL, 0, NULL);
        return MAMORI_ERR_TIMEOUT;
    }
    *ret_yes = b->answer;
    return 0;
}

static int p_drawer(void *ctx, const char *idem)
{
    struct busdev *b = ctx;
    cbor_item_t *m = devbody_new();
    if (m == NULL || devbody_put_str(m, "txn", idem) || devbody_put_str(m, "tender", "") ||
        devbody_put_str(m, "idem", idem)) {
        if (m)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    return req(b, K_DRAWER, "drawer.open", m, 0, NULL);
}

static int deposit_end(struct busdev *b, const char *idem, int64_t *ret_counted)
{
    cbor_item_t *m = devbody_new(), *reply = NULL;
    int64_t amount;
    int rc;
    if (m == NULL || devbody_put_str(m, "idem", idem) || devbody_put_str(m, "txn", idem) ||
        devbody_put_str(m, "action", "keep")) {
        if (m)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    if ((rc = req(b, K_CHANGER, "changer.deposit_end", m, 0, &reply)) != 0)
        return rc;
    rc = devbody_get_int(reply, "amount", 0, INT64_MAX, &amount);
    cbor_decref(&reply);
    if (rc != 0)
        return MAMORI_ERR_PROTO;
    *ret_counted = amount;
    return 0;
}

static int deposit_run(struct busdev *b, const char *idem, int64_t want, int64_t *ret_counted);

static int p_deposit(void *ctx, const char *idem, int64_t want, int64_t *ret_counted)
{
    struct busdev *b = ctx;
    int rc;
    if (b->in_call == 0)
        ensure_one(b, K_CHANGER);
    b->in_call++;
    rc = deposit_run(b, idem, want, ret_counted);
    b->in_call--;
    return rc;
}

static int deposit_run(struct busdev *b, const char *idem, int64_t want, int64_t *ret_counted)
{
    cbor_item_t *m;
    int64_t start, now;
    int rc;
    /* A retry of a finished deposit replays its reply; a deposit left open by
     * a crash is ended with what the shopper had inserted. */
    if (b->h[K_CHANGER] == NULL)
        ensure_one(b, K_CHANGER);
    if (b->h[K_CHANGER] != NULL && devapi_request(b->h[K_CHANGER], "changer.status", NULL,
                                                  b->cfg.request_ms, &m) == OPOS_SUCCESS) {
        bool depositing = false;
        (void)devbody_get_bool(m, "depositing", &depositing);
        cbor_decref(&m);
        if (depositing)
            return deposit_end(b, idem, ret_counted);
    }
    rc = deposit_end(b, idem, ret_counted);
    if (rc != MAMORI_ERR_STATE)
        return rc; /* replayed (0), or the device is not there */
    if ((m = devbody_new()) == NULL || devbody_put_str(m, "txn", idem)) {
        if (m)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    if ((rc = req(b, K_CHANGER, "changer.deposit_begin", m, 0, NULL)) != 0)
        return rc;
    b->dep_amount = 0;
    start = b->dep_last_ms = evloop_now_ms();
    for (;;) {
        now = evloop_now_ms();
        if (b->dep_amount >= want || now - start >= b->cfg.deposit_max_ms ||
            (b->dep_amount > 0 && now - b->dep_last_ms >= b->cfg.deposit_idle_ms) ||
            (b->dep_amount == 0 && now - start >= b->cfg.deposit_idle_ms * 3))
            break;
        if (evloop_run_once(b->l, 50) < 0)
            break;
    }
    return deposit_end(b, idem, ret_counted);
}

static int p_dispense(void *ctx, const char *idem, int64_t amount)
{
    struct busdev *b = ctx;
    cbor_item_t *m = devbody_new();
    if (m == NULL || devbody_put_int(m, "amount", amount) || devbody_put_str(m, "idem", idem) ||
        devbody_put_str(m, "txn", idem)) {
        if (m)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    return req(b, K_CHANGER, "changer.dispense", m, 0, NULL);
}

int busdev_counts_read(const struct cbor_item_t *reply, int64_t ret_counts[POSDEV_DENOMS])
{
    static const int64_t dv[POSDEV_DENOMS] = {10000, 5000, 2000, 1000, 500, 100, 50, 10, 5, 1};
    const cbor_item_t *m = reply != NULL ? devbody_find(reply, "counts") : NULL;
    int64_t c[POSDEV_DENOMS] = {0};
    if (m == NULL || !cbor_isa_map(m) || !cbor_map_is_definite(m) ||
        cbor_map_size(m) > POSDEV_DENOMS)
        return MAMORI_ERR_PROTO;
    for (size_t i = 0; i < cbor_map_size(m); i++) {
        const struct cbor_pair *p = &cbor_map_handle(m)[i];
        int k = 0;
        if (!cbor_isa_uint(p->key) || !cbor_isa_uint(p->value) ||
            cbor_get_int(p->value) > POSDEV_COUNT_MAX)
            return MAMORI_ERR_PROTO;
        while (k < POSDEV_DENOMS && (uint64_t)dv[k] != cbor_get_int(p->key))
            k++;
        if (k == POSDEV_DENOMS)
            return MAMORI_ERR_PROTO;
        c[k] = (int64_t)cbor_get_int(p->value);
    }
    memcpy(ret_counts, c, sizeof(c));
    return 0;
}

static int p_changer_counts(void *ctx, int64_t ret_counts[POSDEV_DENOMS])
{
    cbor_item_t *reply = NULL;
    int rc = req(ctx, K_CHANGER, "changer.counts", NULL, 0, &reply);
    if (rc != 0)
        return rc;
    rc = busdev_counts_read(reply, ret_counts);
    cbor_decref(&reply);
    return rc;
}

static int p_scale(void *ctx, int32_t *ret_grams, bool *ret_stable)
{
    struct busdev *b = ctx;
    cbor_item_t *reply = NULL;
    int64_t g;
    bool stable = false;
    int rc = req(b, K_SCALE, "scale.read", NULL, 0, &reply);
    if (rc == MAMORI_ERR_AGAIN) { /* UPOS E_TIMEOUT: no stable weight */
        *ret_grams = 0;
        *ret_stable = false;
        return 0;
    }
    if (rc != 0)
        return rc;
    rc = devbody_get_int(reply, "weight_g", 0, INT32_MAX, &g);
    if (rc == 0)
        rc = devbody_get_bool(reply, "stable", &stable);
    cbor_decref(&reply);
    if (rc != 0)
        return MAMORI_ERR_PROTO;
    *ret_grams = (int32_t)g;
    *ret_stable = stable;
    return 0;
}

/* ------------------------------------------------------------- lifecycle */

int busdev_new(struct evloop *l, struct devapi *api, const struct busdev_config *cfg,
               struct busdev **ret)
{
    struct busdev *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return MAMORI_ERR_NOMEM;
    b->l = l;
    b->api = api;
    if (cfg != NULL)
        b->cfg = *cfg;
    if (b->cfg.request_ms <= 0)
        b->cfg.request_ms = 3000;
    if (b->cfg.confirm_ms <= 0)
        b->cfg.confirm_ms = 30000;
    if (b->cfg.deposit_idle_ms <= 0)
        b->cfg.deposit_idle_ms = 10000;
    if (b->cfg.deposit_max_ms <= 0)
        b->cfg.deposit_max_ms = 120000;
    if (cfg != NULL && cfg->pin_path != NULL) {
        if (strlen(cfg->pin_path) >= sizeof(b->pin_path)) {
            free(b);
            return MAMORI_ERR_TOOBIG;
        }
        snprintf(b->pin_path, sizeof(b->pin_path), "%s", cfg->pin_path);
        pins_load(b);
    }
    b->cfg.pin_path = NULL; /* copied */
    b->port.ctx = b;
    b->port.print = p_print;
    b->port.display = p_display;
    b->port.confirm = p_confirm;
    b->port.drawer_open = p_drawer;
    b->port.changer_deposit = p_deposit;
    b->port.changer_dispense = p_dispense;
    b->port.scale_read = p_scale;
    b->port.print_once = p_print_once;
    b->port.changer_present = p_changer_present;
    b->port.changer_counts = p_changer_counts;
    busdev_ensure(b);
    /* A change machine enrolled when the register starts counts at once, as
     * before a restart (until it attaches: retry, not the drawer); one
     * enrolled later counts from its first attach. */
    if (b->h[K_CHANGER] != NULL)
        b->seen[K_CHANGER] = true;
    busdev_ensure(b);
    if (evloop_timer(l, BUSDEV_TICK_MS, on_tick, b, &b->tick) != 0) {
        free(b);
        return MAMORI_ERR_LIMIT;
    }
    *ret = b;
    return 0;
}

void busdev_free(struct busdev *b)
{
    if (b == NULL)
        return;
    evloop_timer_cancel(b->l, b->tick);
    for (int k = 0; k < K_COUNT; k++)
        if (b->h[k] != NULL)
            (void)devapi_close(b->h[k]);
    free(b);
}

const struct pos_devices *busdev_port(struct busdev *b)
{
    return &b->port;
}

void busdev_on_input(struct busdev *b, busdev_input_fn fn, busdev_note_fn note, void *ctx)
{
    b->input = fn;
    b->note = note;
    b->ctx = ctx;
}
