/*
 * devapi: the UnifiedPOS-shaped device API the application (the register in
 * mamori-terminald) uses, on top of the terminal-side bus (bus.h).
 *
 * A device is opened by serial number or by kind ("scanner": the first
 * enrolled device of that kind), then claimed (exclusive within this devapi,
 * i.e. this process; the cash drawer is sharable and may be used unclaimed),
 * enabled, used, released and closed, as in UPOS §1.2:
 *
 *     devapi_open(api, "scanner", &listener, &d);   -> OPOS_SUCCESS / OPOS_E_NOEXIST
 *     devapi_claim(d, 0);                           -> OPOS_E_CLAIMED if another handle holds it
 *     devapi_set_enabled(d, true);                  -> OPOS_E_NOHARDWARE when detached
 *     devapi_set_data_event_enabled(d, true);
 *
 * Every call returns a UPOS result code (>= 0, DOMAIN.md §1.4), never a
 * MAMORI_ERR_*; devapi_result_extended() gives ResultCodeExtended and
 * devapi_error() the underlying MAMORI_ERR_* of the last call.
 *
 * Events (all on the bus's event-loop thread, as bus callbacks):
 *  - DataEvent: input ("scanner.data", "keyboard.key", "touchpanel.touch", "msr.data",
 *    "pinpad.data", "sigpad.data", "custdisplay.answer", "changer.deposit")
 *    is queued while the device is enabled and delivered FIFO only while
 *    DataEventEnabled is true and FreezeEvents false; delivering one DataEvent
 *    sets DataEventEnabled false (UPOS), so the application re-arms it.
 *    Input that arrives while the device is disabled is dropped.
 *  - ErrorEvent: input errors ("msr.error") queue with the data.
 *  - StatusUpdateEvent: device status events ("drawer.status",
 *    "printer.status", "scale.status", "icreader.card", "pinpad.status",
 *    "keylock.status": Status = the new KeyPosition)
 *    and power: SUE_POWER_OFF_OFFLINE when the device detaches,
 *    SUE_POWER_ONLINE when it attaches again; held while FreezeEvents.
 *  - OutputCompleteEvent: after each successful "printer.print", with the
 *    OutputID that devapi_request() returned through devapi_output_id().
 *
 * Requests are synchronous (bus_call): devapi_request(d, "drawer.open", body,
 * timeout, &reply) checks open/claimed/enabled, sends, and maps the device's
 * answer to a result code (per class where UPOS defines an extended code,
 * e.g. the scale's unstable weight -> OPOS_E_TIMEOUT, an empty printer ->
 * OPOS_E_EXTENDED / EPTR_REC_EMPTY). "KIND.status" is allowed on an open
 * device without claim or enable (UPOS properties are readable once open).
 * Inside a listener callback of device X a synchronous request to X is
 * refused with OPOS_E_BUSY (its reply cannot arrive before the callback
 * returns); use devapi_request_async there.
 */
#ifndef MAMORI_DEVAPI_H
#define MAMORI_DEVAPI_H

#include <stdbool.h>

#include <cbor.h>

struct bus;
struct devapi;
struct devapi_dev;

/* UPOS ResultCode (OPOS_*, JPOS_* have the same values). */
enum {
    OPOS_SUCCESS = 0,
    OPOS_E_CLOSED = 101,
    OPOS_E_CLAIMED = 102,
    OPOS_E_NOTCLAIMED = 103,
    OPOS_E_NOSERVICE = 104,
    OPOS_E_DISABLED = 105,
    OPOS_E_ILLEGAL = 106,
    OPOS_E_NOHARDWARE = 107,
    OPOS_E_OFFLINE = 108,
    OPOS_E_NOEXIST = 109,
    OPOS_E_EXISTS = 110,
    OPOS_E_FAILURE = 111,
    OPOS_E_TIMEOUT = 112,
    OPOS_E_BUSY = 113,
    OPOS_E_EXTENDED = 114,
};

/* Extended codes used with OPOS_E_EXTENDED (device-specific, DOMAIN.md §1.6). */
enum {
    DEVAPI_ESCAL_OVERWEIGHT = 201,
    DEVAPI_ESCAL_UNDER_ZERO = 202,
    DEVAPI_EPTR_REC_EMPTY = 203,
    DEVAPI_EPTR_TOOBIG = 206,
    DEVAPI_ECHAN_OVERDISPENSE = 201,
    DEVAPI_EPPAD_BAD_KEY = 201,
    DEVAPI_ESC_NO_CARD = 204,
};

/* State, PowerState and power StatusUpdate values. */
enum {
    OPOS_S_CLOSED = 1,
    OPOS_S_IDLE = 2,
    OPOS_S_BUSY = 3,
    OPOS_S_ERROR = 4,
    OPOS_PS_UNKNOWN = 2000,
    OPOS_PS_ONLINE = 2001,
    OPOS_PS_OFF_OFFLINE = 2004,
    OPOS_SUE_POWER_ONLINE = 2001,
    OPOS_SUE_POWER_OFF_OFFLINE = 2004,
};

/* ErrorLocus */
enum { OPOS_EL_OUTPUT = 1, OPOS_EL_INPUT = 2, OPOS_EL_INPUT_DATA = 3 };

#define DEVAPI_QUEUE_MAX 256   /* queued events per open device; more are dropped and counted */
#define DEVAPI_OPEN_MAX 64     /* open handles per devapi */
#define DEVAPI_DEVICES_MAX 256 /* devices looked at when opening by kind */
#define DEVAPI_OBSERVERS_MAX 4 /* devapi_observe() listeners */

/* Listener callbacks; any may be NULL. body is borrowed for the call. */
struct devapi_listener {
    void *ctx;
    void (*data)(void *ctx, struct devapi_dev *d, const char *type, const cbor_item_t *body);
    void (*status)(void *ctx, struct devapi_dev *d, int status, const char *type,
                   const cbor_item_t *body);
    void (*error)(void *ctx, struct devapi_dev *d, int rc, int rc_ext, int locus,
                  const cbor_item_t *body);
    void (*output_complete)(void *ctx, struct devapi_dev *d, int output_id);
};

/* A device API over bus b (borrowed, outlives it). It subscribes to the
 * bus's event and attach callbacks (bus_on_event, bus_on_attach), so there
 * is one devapi per bus; other observers chain through devapi_observe().
 * Returns 0 or MAMORI_ERR_NOMEM (the only call not returning a UPOS code). */
int devapi_new(struct bus *b, struct devapi **ret);
/* Close every handle and free. NULL-safe. */
void devapi_free(struct devapi *a);
/* Also pass every bus event and attach change to these (a status record,
 * the register's own listener, a test hook): up to DEVAPI_OBSERVERS_MAX
 * observers, called in the order added, before devapi's own delivery.
 * Either function may be NULL. 0 or MAMORI_ERR_LIMIT. */
int devapi_observe(struct devapi *a,
                   void (*on_event)(void *ctx, const char *serial, const char *type,
                                    const cbor_item_t *body),
                   void (*on_attach)(void *ctx, const char *serial, bool attached,
                                     const char *reason),
                   void *ctx);

/* open: by serial or kind. listener is copied. */
int devapi_open(struct devapi *a, const char *name, const struct devapi_listener *l,
                struct devapi_dev **ret);
/* close: releases, disables and frees the handle (d is invalid afterwards). */
int devapi_close(struct devapi_dev *d);
int devapi_claim(struct devapi_dev *d, int timeout_ms);
int devapi_release(struct devapi_dev *d);
int devapi_set_enabled(struct devapi_dev *d, bool enabled);
int devapi_set_data_event_enabled(struct devapi_dev *d, bool enabled);
int devapi_set_freeze_events(struct devapi_dev *d, bool freeze);
/* clearInput: drop queued input. */
int devapi_clear_input(struct devapi_dev *d);

/* A request of this device's class ("drawer.open"). Takes body (may be NULL).
 * *ret_reply (may be NULL to drop it) is a new item owned by the caller. */
int devapi_request(struct devapi_dev *d, const char *type, cbor_item_t *body, int timeout_ms,
                   cbor_item_t **ret_reply);

/* The reply of an asynchronous request: rc as devapi_request would return
 * it, reply borrowed for the call (NULL on error). d is NULL when the handle
 * was closed (or the devapi freed) before the reply came. */
typedef void (*devapi_reply_fn)(void *ctx, struct devapi_dev *d, int rc, const cbor_item_t *reply);

/* Asynchronous request (UPOS AsyncMode; use it from inside event callbacks,
 * where waiting for a reply would run the event loop recursively). Takes
 * body. Returns the result of the checks (OPOS_SUCCESS: sent, cb will be
 * called exactly once later; anything else: not sent, cb never called).
 * printer.print completions also fire OutputCompleteEvent. */
int devapi_request_async(struct devapi_dev *d, const char *type, cbor_item_t *body,
                         int timeout_ms, devapi_reply_fn cb, void *ctx);

/* Properties. */
int devapi_result_extended(const struct devapi_dev *d);
int devapi_error(const struct devapi_dev *d);    /* MAMORI_ERR_* behind the last result */
int devapi_state(const struct devapi_dev *d);    /* OPOS_S_* */
int devapi_power_state(const struct devapi_dev *d);
bool devapi_claimed(const struct devapi_dev *d);
bool devapi_enabled(const struct devapi_dev *d);
bool devapi_data_event_enabled(const struct devapi_dev *d);
int devapi_data_count(const struct devapi_dev *d);
int devapi_output_id(const struct devapi_dev *d); /* of the last printer.print */
unsigned devapi_dropped(const struct devapi_dev *d); /* events lost to a full queue */
const char *devapi_serial(const struct devapi_dev *d);
const char *devapi_kind(const struct devapi_dev *d);

#endif
