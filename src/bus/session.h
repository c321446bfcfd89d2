/*
 * session: one secure bus session, sans-IO (docs/protocol.md §3-§7).
 *
 * The caller owns the socket: it feeds received bytes in (session_feed), calls
 * session_tick when session_next_tick says so, and writes out whatever
 * session_out() holds. Decoded messages and events come out through the
 * on_event callback, synchronously inside feed/tick/send. This keeps the whole
 * protocol unit-testable and fuzzable with two sessions wired back to back.
 *
 * Roles: the device is always the handshake initiator (it connects), the
 * terminal the responder.
 *   - A device with no pinned terminal key runs Noise XX (pairing); its third
 *     handshake message carries its certificate. After the terminal accepts,
 *     the terminal sends "bus.welcome" and the device reports SESSION_EV_PAIRED
 *     with the terminal's key, which the runner pins.
 *   - A paired device runs Noise KK against its pinned key; its first message
 *     carries the certificate. It refuses any XX answer (a rogue controller).
 *   - The terminal decides admission through cfg.lookup (KK: is this static key
 *     known?) and cfg.admit (certificate + static key, both patterns).
 *
 * After the handshake every frame is DATA: explicit epoch + nonce, AEAD over
 * the header. Replays are rejected visibly (SESSION_EV_REJECT "replay"); any
 * AEAD failure ends the session ("auth"). Heartbeats, rekeying and flood
 * limits are handled here; the caller learns of them through events.
 *
 * Do not free a session from inside its callback; feed/tick/send return
 * MAMORI_ERR_CLOSED once the session is dead and the caller frees it then.
 */
#ifndef MAMORI_SESSION_H
#define MAMORI_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

#include "bus/frame.h"
#include "bus/msg.h"
#include "keys/keys.h"

#define SESSION_PROTO_NAME      "mamori-bus/1"
#define SESSION_KEY_LEN         32
#define SESSION_CERT_MAX        1024       /* bytes of a device certificate */
#define SESSION_OUT_MAX         (1u << 20) /* pending output before sends fail (backpressure) */
#define SESSION_REASON_LEN      96
#define SESSION_TERMINAL_ID_MAX 64
#define SESSION_HB_MIN_MS       100 /* heartbeat interval a terminal may announce */
#define SESSION_HB_MAX_MS       60000

/* Frame types (first byte of every frame payload). */
#define SESSION_FT_HS     0x01
#define SESSION_FT_DATA   0x02
#define SESSION_FT_REFUSE 0x03
#define SESSION_DATA_HDR  13 /* type, epoch u32, nonce u64 */

struct session_limits {
    uint32_t max_msg;      /* plaintext bytes per message (<= MSG_MAX_BYTES) */
    uint32_t rate;         /* messages per second sustained (token bucket) */
    uint32_t burst;        /* bucket size */
    uint32_t flood_drops;  /* messages dropped by the throttle before the session is dropped */
    int64_t hb_ms;         /* heartbeat interval; peer is dead after 2 intervals silent */
    int64_t rekey_ms;      /* rekey a direction after this long */
    uint64_t rekey_msgs;   /* ... or after this many messages */
    int64_t hs_timeout_ms; /* handshake must finish within */
};

/* Defaults: 60000 B, 500 msg/s, burst 1000, 2000 drops, 2 s, 1 h, 2^20, 5 s. */
void session_limits_default(struct session_limits *l);

enum session_role { SESSION_DEVICE, SESSION_TERMINAL };

enum session_ev_kind {
    SESSION_EV_OPEN,     /* handshake done (terminal: device admitted) */
    SESSION_EV_PAIRED,   /* device: XX pairing accepted; peer = terminal key to pin */
    SESSION_EV_MSG,      /* an application message (msg borrowed for the call) */
    SESSION_EV_REJECT,   /* a frame was rejected, session continues (reason) */
    SESSION_EV_THROTTLE, /* the peer exceeded its rate; messages are being dropped */
    SESSION_EV_CLOSED,   /* the session is dead (reason) */
    SESSION_EV_REKEY,    /* a direction was rekeyed (reason "tx" or "rx") */
};

struct session_ev {
    enum session_ev_kind kind;
    const struct msg *msg; /* MSG */
    const char *reason;    /* REJECT, THROTTLE, CLOSED, REKEY */
    const uint8_t *peer;   /* OPEN, PAIRED: peer static key */
};

struct session;
typedef void (*session_event_fn)(void *ctx, struct session *s, const struct session_ev *ev);

struct session_cfg {
    enum session_role role;
    enum frame_kind framing;
    const char *transport; /* "unix", "tcp" or "serial": bound into the prologue */
    struct keys *keys;     /* our static keys (borrowed) */
    struct session_limits lim;
    session_event_fn on_event;
    void *ctx;
    /* device */
    const uint8_t *pinned; /* terminal key, or NULL when unpaired (XX) */
    const uint8_t *cert;   /* our certificate (copied) */
    size_t cert_len;
    /* terminal */
    const char *terminal_id;
    /* KK: is this device key enrolled? 0 yes; else negative, reason filled. */
    int (*lookup)(void *ctx, const uint8_t pub[static SESSION_KEY_LEN], char *reason, size_t cap);
    /* Admit the device (pattern NOISE_XX=0 / NOISE_KK=1, its proven static key and
     * certificate bytes). 0 admits; negative refuses with reason. */
    int (*admit)(void *ctx, int pattern, const uint8_t pub[static SESSION_KEY_LEN],
                 const uint8_t *cert, size_t cert_len, char *reason, size_t cap);
};

struct session_stats {
    uint64_t rx_msgs, tx_msgs;
    uint64_t replays, throttled, rekeys_tx, rekeys_rx;
    uint32_t tx_epoch, rx_epoch;
};

/* New session; a device writes its first handshake message at once.
 * cfg is copied (pointers inside stay borrowed, except cert which is copied). */
int session_new(const struct session_cfg *cfg, int64_t now_ms, struct session **ret);
void session_free(struct session *s);

/* Process received bytes. 0, or MAMORI_ERR_CLOSED once dead. */
int session_feed(struct session *s, int64_t now_ms, const uint8_t *p, size_t n);
/* Heartbeats, rekey and timeouts. 0, or MAMORI_ERR_CLOSED once dead. */
int session_tick(struct session *s, int64_t now_ms);
/* Milliseconds until session_tick should run again (>= 0). */
int64_t session_next_tick(const struct session *s, int64_t now_ms);

/* Send a request/event (new id in *ret_id, optional) or a reply to ref.
 * body (a map or NULL) is borrowed. MAMORI_ERR_STATE before the session is
 * open, MAMORI_ERR_LIMIT when the output is full. */
int session_send(struct session *s, int64_t now_ms, const char *type, const cbor_item_t *body,
                 uint64_t *ret_id);
int session_reply(struct session *s, int64_t now_ms, uint64_t ref, const char *type,
                  const cbor_item_t *body);
int session_reply_error(struct session *s, int64_t now_ms, uint64_t ref, int code,
                        const char *text);
/* Close deliberately (reason recorded, a CLOSED event fires once). */
void session_close(struct session *s, const char *reason);

/* Bytes to write; the caller consumes them (buf_skip) after writing. */
struct buf *session_out(struct session *s);

bool session_is_open(const struct session *s);
bool session_is_dead(const struct session *s);
const char *session_close_reason(const struct session *s);
/* Peer static key once known (0), MAMORI_ERR_STATE before. */
int session_peer(const struct session *s, uint8_t ret_pub[static SESSION_KEY_LEN]);
/* Terminal id the terminal sent (device side), "" before. */
const char *session_terminal_id(const struct session *s);
void session_get_stats(const struct session *s, struct session_stats *ret);
struct frame_stats session_frame_stats(const struct session *s);

#endif
