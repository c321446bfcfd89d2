/*
 * bus: the terminal side of the secure device bus, as the layers above it
 * (the UPOS device API in devapi.h, the register) see it.
 *
 * It owns every device session: listening transports, handshakes, registry
 * checks, attach/detach, heartbeats, flood limits and audit events. Above
 * this line a device is a serial number and a kind; whether it is a simulator,
 * a serial line or a network device is invisible (POL-6).
 *
 * All callbacks run on the bus's event loop thread.
 */
#ifndef MAMORI_BUS_H
#define MAMORI_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#include "audit/audit.h"
#include "bus/registry.h"
#include "bus/session.h"
#include "common/evloop.h"
#include "keys/keys.h"

struct bus;

#define BUS_MAX_LISTEN 8       /* listening transports */
#define BUS_MAX_CONNS 256      /* concurrent device connections (handshaking or open) */
#define BUS_MAX_PENDING 4096   /* outstanding requests */
#define BUS_REFUSALS_PER_MIN 120 /* refusal/handshake-failure audit records per minute; the
                                  * rest are counted in one "device.refused_suppressed" */

/* What the terminal's bus needs (all pointers borrowed; they outlive the bus). */
struct bus_config {
    struct evloop *loop;
    struct keys *keys;                 /* terminal static keys: only keys_dh() is used */
    struct registry *registry;
    struct audit *audit;
    const char *terminal_id;
    uint8_t ca_pub[32];                /* trusted manufacturer CA (Ed25519) */
    const char *listen[BUS_MAX_LISTEN]; /* transport specs: unix:PATH, tcp:H:P, serial:TTY */
    size_t nlisten;
    struct session_limits lim;         /* zero hb_ms: defaults */
};

/* Start listening on every transport. */
int bus_new(const struct bus_config *cfg, struct bus **ret);
/* Close every session (detach events, reason "shutdown") and free; NULL-safe. */
void bus_free(struct bus *b);
/* Drop the session of serial, if attached (e.g. after removal). */
void bus_disconnect(struct bus *b, const char *serial, const char *reason);
/* Number of attached devices. */
size_t bus_attached_count(const struct bus *b);

struct bus_device_info {
    char serial[64];
    char model[64];
    char kind[32];
    bool attached;
};

/* An unsolicited event from an attached device (body borrowed for the call). */
typedef void (*bus_event_fn)(void *ctx, const char *serial, const char *type,
                             const cbor_item_t *body);
/* attach (attached=true) or detach (false, reason like "heartbeat", "closed"). */
typedef void (*bus_attach_fn)(void *ctx, const char *serial, bool attached, const char *reason);
/* The reply to bus_request: status 0 and reply body (borrowed), or a negative
 * MAMORI_ERR_* (MAMORI_ERR_OFFLINE, MAMORI_ERR_TIMEOUT, or the device's error code). */
typedef void (*bus_reply_fn)(void *ctx, int status, const cbor_item_t *reply);

void bus_on_event(struct bus *b, bus_event_fn fn, void *ctx);
void bus_on_attach(struct bus *b, bus_attach_fn fn, void *ctx);

/* Send a request to the device with this serial. Takes ownership of body.
 * cb is called exactly once (reply, error, or timeout after timeout_ms). */
int bus_request(struct bus *b, const char *serial, const char *type, cbor_item_t *body,
                int timeout_ms, bus_reply_fn cb, void *ctx);

/* Synchronous form for callers that can wait: runs the bus's event loop until
 * the reply arrives. *ret_reply is a new item owned by the caller (may be NULL).
 * It may be called from a bus callback (e.g. a scan event sends display text)
 * for another device; for the very device whose callback is running it
 * returns MAMORI_ERR_STATE (body consumed): use bus_request there. */
int bus_call(struct bus *b, const char *serial, const char *type, cbor_item_t *body,
             int timeout_ms, cbor_item_t **ret_reply);

/* Snapshot of known devices (enrolled, attached or not). */
int bus_devices(struct bus *b, struct bus_device_info *out, size_t cap, size_t *ret_n);

#endif
