/*
 * session.c: the secure bus session state machine (sans-IO). Owns handshake
 * sequencing (which pattern, which payload, who may pair), the DATA frame
 * format with explicit epoch and nonce, the replay check, rekey policy,
 * heartbeats and the per-peer flood limits. Must not own sockets, clocks
 * (time is passed in), the registry or audit storage: admission decisions and
 * recording happen in the caller's callbacks.
 *
 * Fail closed: any AEAD failure, malformed handshake, refused admission or
 * protocol violation makes the session dead; a dead session emits nothing
 * but its CLOSED event and accepts nothing.
 */
#include "bus/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "crypto/noise.h"
#include "mamori/err.h"

enum sstate {
    ST_HS_WAIT1, /* terminal: waiting for the device's first message */
    ST_HS_WAIT2, /* device: waiting for the terminal's answer */
    ST_HS_WAIT3, /* terminal (XX): waiting for the device's third message */
    ST_WELCOME,  /* device (XX): transport up, waiting for bus.welcome */
    ST_CONFIRM,  /* terminal (KK): transport up, waiting for the device's first DATA frame */
    ST_OPEN,
    ST_DEAD,
};

struct session {
    struct session_cfg cfg;
    uint8_t cert[SESSION_CERT_MAX];
    size_t cert_len;
    char terminal_id[SESSION_TERMINAL_ID_MAX + 1];
    enum sstate st;
    int pattern; /* NOISE_XX / NOISE_KK */
    struct noise_hs *hs;
    struct noise_cs *tx, *rx;
    uint8_t peer[SESSION_KEY_LEN];
    bool have_peer;
    struct frame_dec dec;
    struct buf out;
    struct buf txpt; /* plaintext of the message being sent (secret: wiped on reset) */
    uint8_t prologue[64];
    size_t prologue_len;
    char reason[SESSION_REASON_LEN];
    bool closed_emitted;
    int64_t started, last_rx, last_tx, tx_epoch_at;
    uint32_t tx_epoch, rx_epoch;
    uint64_t last_rx_nonce;
    bool have_rx_nonce;
    uint64_t next_id;
    /* flood */
    double tokens;
    int64_t tokens_at;
    bool throttling;
    uint64_t dropped;
    struct session_stats stats;
    uint8_t scratch[FRAME_MAX];
    uint8_t plain[FRAME_MAX];
};

void session_limits_default(struct session_limits *l)
{
    l->max_msg = MSG_MAX_BYTES;
    l->rate = 500;
    l->burst = 1000;
    l->flood_drops = 2000;
    l->hb_ms = 2000;
    l->rekey_ms = 3600 * 1000;
    l->rekey_msgs = NOISE_REKEY_MESSAGES;
    l->hs_timeout_ms = 5000;
}

static void emit(struct session *s, enum session_ev_kind k, const char *reason, const struct msg *m,
                 const uint8_t *peer)
{
    struct session_ev ev = {.kind = k, .msg = m, .reason = reason, .peer = peer};
    if (s->cfg.on_event)
        s->cfg.on_event(s->cfg.ctx, s, &ev);
}

static void die(struct session *s, const char *reason)
{
    if (s->st == ST_DEAD)
        return;
    s->st = ST_DEAD;
    snprintf(s->reason, sizeof(s->reason), "%s", reason);
    noise_hs_free(s->hs);
    s->hs = NULL;
    noise_cs_free(s->tx);
    noise_cs_free(s->rx);
    s->tx = s->rx = NULL;
    if (!s->closed_emitted) {
        s->closed_emitted = true;
        emit(s, SESSION_EV_CLOSED, s->reason, NULL, NULL);
    }
}

void session_close(struct session *s, const char *reason)
{
    die(s, reason);
}

static int put_frame(struct session *s, const uint8_t *p, size_t n)
{
    if (buf_remaining(&s->out) + n + 16 > SESSION_OUT_MAX)
        return MAMORI_ERR_LIMIT;
    buf_compact(&s->out);
    return frame_encode(s->cfg.framing, p, n, &s->out);
}

/* A clear-text refusal before the session is authenticated: informational
 * only (the peer cannot trust it); then we are dead. */
static void refuse(struct session *s, const char *reason)
{
    uint8_t f[1 + SESSION_REASON_LEN];
    size_t n = strlen(reason);
    if (n > SESSION_REASON_LEN - 1)
        n = SESSION_REASON_LEN - 1;
    f[0] = SESSION_FT_REFUSE;
    memcpy(f + 1, reason, n);
    (void)put_frame(s, f, 1 + n);
    die(s, reason);
}

/* A KK first message refused before the peer has proved anything: the wire
 * says only "auth: handshake refused", whether the key is unknown, removed
 * or the message does not decrypt, so an unauthenticated sender cannot probe
 * which keys are enrolled; the local reason (events, audit) keeps the
 * detail. */
#define SESSION_KK_REFUSED "auth: handshake refused"

static void refuse_kk(struct session *s, const char *local_reason)
{
    uint8_t f[1 + sizeof(SESSION_KK_REFUSED)];
    f[0] = SESSION_FT_REFUSE;
    memcpy(f + 1, SESSION_KK_REFUSED, sizeof(SESSION_KK_REFUSED) - 1);
    (void)put_frame(s, f, sizeof(SESSION_KK_REFUSED));
    die(s, local_reason);
}

static int build_prologue(struct session *s)
{
    const char *t = s->cfg.transport ? s->cfg.transport : "";
    size_t a = strlen(SESSION_PROTO_NAME) + 1, b = strlen(t);
    if (a + b > sizeof(s->prologue))
        return MAMORI_ERR_INVAL;
    memcpy(s->prologue, SESSION_PROTO_NAME, a); /* includes the NUL separator */
    memcpy(s->prologue + a, t, b);
    s->prologue_len = a + b;
    return 0;
}

/* The terminal's handshake payload: {"v":1, "terminal": id}. */
static int terminal_payload(struct session *s, struct buf *out)
{
    cbor_item_t *m = msg_body_new();
    int r;
    if (m == NULL)
        return MAMORI_ERR_NOMEM;
    r = msg_put_int(m, "v", 1);
    r = r ? r : msg_put_str(m, "terminal", s->cfg.terminal_id ? s->cfg.terminal_id : "");
    r = r ? r : msg_put_int(m, "hb_ms", s->cfg.lim.hb_ms);
    r = r ? r : msg_cbor_write(m, out);
    cbor_decref(&m);
    return r;
}

static int send_hs(struct session *s, uint8_t step, const uint8_t *payload, size_t plen, bool hint)
{
    uint8_t *f = s->scratch;
    size_t off = 3, n;
    int r;
    f[0] = SESSION_FT_HS;
    f[1] = (uint8_t)s->pattern;
    f[2] = step;
    if (hint) {
        keys_dh_public(s->cfg.keys, f + off);
        off += SESSION_KEY_LEN;
    }
    if ((r = noise_hs_write(s->hs, payload, plen, f + off, sizeof(s->scratch) - off, &n)) != 0)
        return r;
    return put_frame(s, f, off + n);
}

static int start_transport(struct session *s, int64_t now)
{
    int r;
    if ((r = noise_hs_remote_static(s->hs, s->peer)) != 0)
        return r;
    s->have_peer = true;
    if ((r = noise_hs_split(s->hs, &s->tx, &s->rx)) != 0)
        return r;
    noise_hs_free(s->hs);
    s->hs = NULL;
    s->tx_epoch_at = now;
    s->last_rx = s->last_tx = now;
    return 0;
}

int session_new(const struct session_cfg *cfg, int64_t now_ms, struct session **ret)
{
    struct session *s;
    int r;
    if (cfg == NULL || cfg->keys == NULL || cfg->on_event == NULL)
        return MAMORI_ERR_INVAL;
    if (cfg->role == SESSION_DEVICE &&
        (cfg->cert == NULL || cfg->cert_len == 0 || cfg->cert_len > SESSION_CERT_MAX))
        return MAMORI_ERR_INVAL;
    if (cfg->role == SESSION_TERMINAL && (cfg->lookup == NULL || cfg->admit == NULL))
        return MAMORI_ERR_INVAL;
    if (cfg->terminal_id && strlen(cfg->terminal_id) > SESSION_TERMINAL_ID_MAX)
        return MAMORI_ERR_INVAL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MAMORI_ERR_NOMEM;
    s->cfg = *cfg;
    if (s->cfg.lim.hb_ms <= 0)
        session_limits_default(&s->cfg.lim);
    if (s->cfg.lim.max_msg == 0 || s->cfg.lim.max_msg > MSG_MAX_BYTES)
        s->cfg.lim.max_msg = MSG_MAX_BYTES;
    if (cfg->cert) {
        memcpy(s->cert, cfg->cert, cfg->cert_len);
        s->cert_len = cfg->cert_len;
    }
    s->cfg.cert = NULL;
    frame_dec_init(&s->dec, cfg->framing);
    buf_init(&s->out, SESSION_OUT_MAX + FRAME_WIRE_MAX);
    buf_init_secret(&s->txpt, s->cfg.lim.max_msg);
    s->started = s->last_rx = s->last_tx = now_ms;
    s->tokens = s->cfg.lim.burst;
    s->tokens_at = now_ms;
    s->next_id = 1;
    if ((r = build_prologue(s)) != 0)
        goto fail;
    if (cfg->role == SESSION_TERMINAL) {
        s->st = ST_HS_WAIT1;
    } else {
        bool kk = cfg->pinned != NULL;
        s->pattern = kk ? NOISE_KK : NOISE_XX;
        r = noise_hs_new(kk ? NOISE_KK : NOISE_XX, NOISE_INITIATOR, cfg->keys, cfg->pinned,
                         s->prologue, s->prologue_len, &s->hs);
        if (r != 0)
            goto fail;
        /* KK: the certificate rides in the first (encrypted) message; XX: the
         * first message is only e, the certificate goes in the third. */
        r = kk ? send_hs(s, 0, s->cert, s->cert_len, true) : send_hs(s, 0, NULL, 0, false);
        if (r != 0)
            goto fail;
        s->st = ST_HS_WAIT2;
    }
    *ret = s;
    return 0;
fail:
    session_free(s);
    return r;
}

void session_free(struct session *s)
{
    if (s == NULL)
        return;
    noise_hs_free(s->hs);
    noise_cs_free(s->tx);
    noise_cs_free(s->rx);
    frame_dec_free(&s->dec);
    buf_free(&s->out);
    buf_free(&s->txpt);
    secmem_wipe(s->plain, sizeof(s->plain));
    free(s);
}

static int send_msg(struct session *s, int64_t now, const struct msg *m);

/* ---------- handshake ---------- */

static void terminal_hs(struct session *s, int64_t now, const uint8_t *f, size_t n)
{
    uint8_t pattern, step;
    char why[SESSION_REASON_LEN] = "";
    size_t plen;
    int r;
    if (n < 3 || f[0] != SESSION_FT_HS) {
        refuse(s, "handshake: unexpected frame");
        return;
    }
    pattern = f[1];
    step = f[2];
    if (s->st == ST_HS_WAIT1) {
        struct buf pl;
        if (step != 0 || (pattern != NOISE_XX && pattern != NOISE_KK)) {
            refuse(s, "handshake: bad first message");
            return;
        }
        s->pattern = pattern;
        if (pattern == NOISE_KK) {
            const uint8_t *hint = f + 3;
            if (n < 3 + SESSION_KEY_LEN) {
                refuse(s, "handshake: short KK message");
                return;
            }
            if (s->cfg.lookup(s->cfg.ctx, hint, why, sizeof(why)) != 0) {
                /* Same work as for a known key (the DH operations of the
                 * read, against our own key, which cannot succeed), so the
                 * answer's timing does not tell either. */
                uint8_t self[SESSION_KEY_LEN];
                keys_dh_public(s->cfg.keys, self);
                if (noise_hs_new(NOISE_KK, NOISE_RESPONDER, s->cfg.keys, self, s->prologue, s->prologue_len,
                                 &s->hs) == 0)
                    (void)noise_hs_read(s->hs, f + 3 + SESSION_KEY_LEN, n - 3 - SESSION_KEY_LEN, s->plain,
                                        sizeof(s->plain), &plen);
                refuse_kk(s, why[0] ? why : "unknown key");
                return;
            }
            if (noise_hs_new(NOISE_KK, NOISE_RESPONDER, s->cfg.keys, hint, s->prologue,
                             s->prologue_len, &s->hs) != 0 ||
                noise_hs_read(s->hs, f + 3 + SESSION_KEY_LEN, n - 3 - SESSION_KEY_LEN, s->plain,
                              sizeof(s->plain), &plen) != 0) {
                refuse_kk(s, "auth: handshake decryption failed");
                return;
            }
            memcpy(s->peer, hint, SESSION_KEY_LEN);
            s->have_peer = true;
            if (s->cfg.admit(s->cfg.ctx, NOISE_KK, s->peer, s->plain, plen, why, sizeof(why)) !=
                0) {
                refuse(s, why[0] ? why : "refused");
                return;
            }
            buf_init(&pl, 256);
            r = terminal_payload(s, &pl);
            r = r ? r : send_hs(s, 1, buf_ptr(&pl), buf_remaining(&pl), false);
            buf_free(&pl);
            if (r != 0 || start_transport(s, now) != 0) {
                die(s, "internal: handshake write failed");
                return;
            }
            /* A KK first message can be replayed by anyone who recorded it;
             * only an authenticated DATA frame from the device proves it is
             * live (key confirmation), so attach waits for that. */
            s->st = ST_CONFIRM;
            return;
        }
        if (noise_hs_new(NOISE_XX, NOISE_RESPONDER, s->cfg.keys, NULL, s->prologue, s->prologue_len,
                         &s->hs) != 0 ||
            noise_hs_read(s->hs, f + 3, n - 3, s->plain, sizeof(s->plain), &plen) != 0) {
            refuse(s, "handshake: bad XX message 1");
            return;
        }
        buf_init(&pl, 256);
        r = terminal_payload(s, &pl);
        r = r ? r : send_hs(s, 1, buf_ptr(&pl), buf_remaining(&pl), false);
        buf_free(&pl);
        if (r != 0) {
            die(s, "internal: handshake write failed");
            return;
        }
        s->st = ST_HS_WAIT3;
        return;
    }
    /* ST_HS_WAIT3 */
    if (pattern != NOISE_XX || step != 2) {
        refuse(s, "handshake: bad XX message 3");
        return;
    }
    if (noise_hs_read(s->hs, f + 3, n - 3, s->plain, sizeof(s->plain), &plen) != 0) {
        refuse(s, "auth: handshake decryption failed");
        return;
    }
    if (noise_hs_remote_static(s->hs, s->peer) != 0) {
        refuse(s, "handshake: no static key");
        return;
    }
    s->have_peer = true;
    if (s->cfg.admit(s->cfg.ctx, NOISE_XX, s->peer, s->plain, plen, why, sizeof(why)) != 0) {
        refuse(s, why[0] ? why : "refused");
        return;
    }
    if (start_transport(s, now) != 0) {
        die(s, "internal: split failed");
        return;
    }
    s->st = ST_OPEN;
    {
        cbor_item_t *b = msg_body_new();
        r = b ? msg_put_str(b, "terminal", s->cfg.terminal_id ? s->cfg.terminal_id : "")
              : MAMORI_ERR_NOMEM;
        r = r ? r : session_send(s, now, "bus.welcome", b, NULL);
        if (b)
            cbor_decref(&b);
        if (r != 0) {
            die(s, "internal: welcome failed");
            return;
        }
    }
    emit(s, SESSION_EV_OPEN, NULL, NULL, s->peer);
}

static void read_terminal_payload(struct session *s, const uint8_t *p, size_t n)
{
    cbor_item_t *m = NULL;
    int64_t hb;
    if (msg_cbor_parse(p, n, &m) == 0) {
        (void)msg_get_str(m, "terminal", s->terminal_id, sizeof(s->terminal_id));
        /* The terminal's heartbeat interval wins, so both sides are in step
         * (authenticated: this payload is encrypted and bound to the handshake). */
        if (msg_get_int(m, "hb_ms", &hb) == 0 && hb >= SESSION_HB_MIN_MS && hb <= SESSION_HB_MAX_MS)
            s->cfg.lim.hb_ms = hb;
        cbor_decref(&m);
    }
}

static void device_hs(struct session *s, int64_t now, const uint8_t *f, size_t n)
{
    size_t plen;
    if (n >= 1 && f[0] == SESSION_FT_REFUSE) {
        char why[SESSION_REASON_LEN];
        size_t l = n - 1 < sizeof(why) - 12 ? n - 1 : sizeof(why) - 12;
        memcpy(why, "refused: ", 9);
        for (size_t i = 0; i < l; i++)
            why[9 + i] = (f[1 + i] >= 0x20 && f[1 + i] < 0x7f) ? (char)f[1 + i] : '?';
        why[9 + l] = '\0';
        die(s, why);
        return;
    }
    if (n < 3 || f[0] != SESSION_FT_HS || f[2] != 1) {
        die(s, "handshake: unexpected frame");
        return;
    }
    if (f[1] != s->pattern) {
        /* A paired device answered with XX: someone wants to pair without a reset. */
        die(s, s->pattern == NOISE_KK ? "pairing refused: device is paired (reset required)"
                                      : "handshake: pattern mismatch");
        return;
    }
    if (noise_hs_read(s->hs, f + 3, n - 3, s->plain, sizeof(s->plain), &plen) != 0) {
        die(s, "auth: handshake decryption failed (wrong controller key?)");
        return;
    }
    read_terminal_payload(s, s->plain, plen);
    if (s->pattern == NOISE_KK) {
        struct msg hb = {.id = 0};
        if (start_transport(s, now) != 0) {
            die(s, "internal: split failed");
            return;
        }
        s->st = ST_OPEN;
        /* key confirmation for the terminal: a first DATA frame right away */
        strcpy(hb.type, "bus.hb");
        hb.id = s->next_id++;
        if (send_msg(s, now, &hb) != 0) {
            die(s, "internal: confirmation failed");
            return;
        }
        emit(s, SESSION_EV_OPEN, NULL, NULL, s->peer);
        return;
    }
    if (send_hs(s, 2, s->cert, s->cert_len, false) != 0 || start_transport(s, now) != 0) {
        die(s, "internal: handshake write failed");
        return;
    }
    s->st = ST_WELCOME;
}

/* ---------- transport ---------- */

static int send_msg(struct session *s, int64_t now, const struct msg *m)
{
    uint8_t *f = s->scratch;
    struct buf *pt;
    size_t n;
    uint64_t nonce;
    int r;
    if (s->st != ST_OPEN && s->st != ST_WELCOME)
        return s->st == ST_DEAD ? MAMORI_ERR_CLOSED : MAMORI_ERR_STATE;
    /* Rekey before sending when the epoch is used up (count or age). */
    if (noise_cs_since_rekey(s->tx) >= s->cfg.lim.rekey_msgs ||
        now - s->tx_epoch_at >= s->cfg.lim.rekey_ms) {
        if ((r = noise_cs_rekey(s->tx)) != 0) {
            die(s, "internal: rekey failed");
            return MAMORI_ERR_CLOSED;
        }
        s->tx_epoch++;
        s->tx_epoch_at = now;
        s->stats.rekeys_tx++;
        emit(s, SESSION_EV_REKEY, "tx", NULL, NULL);
    }
    /* The plaintext is encoded into a buffer the session keeps (wiped after
     * each message), so a message costs no allocation of its own. */
    pt = &s->txpt;
    buf_reset(pt);
    if ((r = msg_encode(m, pt)) != 0) {
        buf_reset(pt);
        return r;
    }
    nonce = noise_cs_nonce(s->tx);
    f[0] = SESSION_FT_DATA;
    f[1] = (uint8_t)(s->tx_epoch >> 24);
    f[2] = (uint8_t)(s->tx_epoch >> 16);
    f[3] = (uint8_t)(s->tx_epoch >> 8);
    f[4] = (uint8_t)s->tx_epoch;
    for (int i = 0; i < 8; i++)
        f[5 + i] = (uint8_t)(nonce >> (56 - 8 * i));
    r = noise_cs_encrypt(s->tx, f, SESSION_DATA_HDR, buf_ptr(pt), buf_remaining(pt),
                         f + SESSION_DATA_HDR, sizeof(s->scratch) - SESSION_DATA_HDR, &n);
    buf_reset(pt);
    if (r != 0)
        return r;
    if ((r = put_frame(s, f, SESSION_DATA_HDR + n)) != 0) {
        /* The nonce was spent; the peer will see a gap, which is allowed. */
        return r;
    }
    s->last_tx = now;
    s->stats.tx_msgs++;
    return 0;
}

/* Token bucket: true when this message may pass. */
static bool flood_take(struct session *s, int64_t now)
{
    double add = (double)(now - s->tokens_at) * s->cfg.lim.rate / 1000.0;
    if (add > 0) {
        s->tokens += add;
        if (s->tokens > s->cfg.lim.burst)
            s->tokens = s->cfg.lim.burst;
        s->tokens_at = now;
    }
    if (s->tokens >= 1.0) {
        s->tokens -= 1.0;
        if (s->throttling && s->tokens >= s->cfg.lim.burst / 2.0)
            s->throttling = false;
        return true;
    }
    return false;
}

static void on_data(struct session *s, int64_t now, const uint8_t *f, size_t n)
{
    uint32_t epoch;
    uint64_t nonce = 0;
    size_t plen;
    struct msg m;
    if (n < SESSION_DATA_HDR + NOISE_TAGLEN) {
        die(s, "protocol: short data frame");
        return;
    }
    if (n - SESSION_DATA_HDR - NOISE_TAGLEN > s->cfg.lim.max_msg) {
        die(s, "flood: message too large");
        return;
    }
    if (!flood_take(s, now)) {
        s->dropped++;
        s->stats.throttled++;
        if (!s->throttling) {
            s->throttling = true;
            emit(s, SESSION_EV_THROTTLE, "rate limit exceeded", NULL, NULL);
        }
        if (s->dropped >= s->cfg.lim.flood_drops)
            die(s, "flood: rate limit exceeded repeatedly");
        return;
    }
    epoch = ((uint32_t)f[1] << 24) | ((uint32_t)f[2] << 16) | ((uint32_t)f[3] << 8) | f[4];
    for (int i = 0; i < 8; i++)
        nonce = (nonce << 8) | f[5 + i];
    /* Nonces only grow (across epochs too): anything not newer is a replay. */
    if (s->have_rx_nonce && nonce <= s->last_rx_nonce) {
        s->stats.replays++;
        emit(s, SESSION_EV_REJECT, "replay", NULL, NULL);
        return;
    }
    if (epoch == s->rx_epoch + 1) {
        if (noise_cs_rekey(s->rx) != 0) {
            die(s, "internal: rekey failed");
            return;
        }
        s->rx_epoch = epoch;
        s->stats.rekeys_rx++;
        emit(s, SESSION_EV_REKEY, "rx", NULL, NULL);
    } else if (epoch != s->rx_epoch) {
        die(s, "protocol: bad epoch");
        return;
    }
    noise_cs_set_nonce(s->rx, nonce);
    if (noise_cs_decrypt(s->rx, f, SESSION_DATA_HDR, f + SESSION_DATA_HDR, n - SESSION_DATA_HDR,
                         s->plain, sizeof(s->plain), &plen) != 0) {
        /* Fail closed: a forged or corrupted frame ends the session. */
        die(s, "auth: frame failed authentication");
        return;
    }
    s->last_rx_nonce = nonce;
    s->have_rx_nonce = true;
    s->last_rx = now;
    if (s->st == ST_CONFIRM) {
        s->st = ST_OPEN;
        emit(s, SESSION_EV_OPEN, NULL, NULL, s->peer);
        if (s->st != ST_OPEN) {
            secmem_wipe(s->plain, plen);
            return;
        }
    }
    if (msg_decode(s->plain, plen, &m) != 0) {
        secmem_wipe(s->plain, plen);
        emit(s, SESSION_EV_REJECT, "malformed message", NULL, NULL);
        return;
    }
    secmem_wipe(s->plain, plen);
    s->stats.rx_msgs++;
    if (strcmp(m.type, "bus.hb") == 0) {
        msg_clear(&m);
        return;
    }
    if (strcmp(m.type, "bus.welcome") == 0) {
        if (s->cfg.role == SESSION_DEVICE && s->st == ST_WELCOME) {
            (void)msg_get_str(m.body, "terminal", s->terminal_id, sizeof(s->terminal_id));
            s->st = ST_OPEN;
            emit(s, SESSION_EV_PAIRED, NULL, NULL, s->peer);
            if (s->st == ST_OPEN)
                emit(s, SESSION_EV_OPEN, NULL, NULL, s->peer);
        } else {
            emit(s, SESSION_EV_REJECT, "unexpected welcome", NULL, NULL);
        }
        msg_clear(&m);
        return;
    }
    if (s->st != ST_OPEN) {
        msg_clear(&m);
        die(s, "protocol: message before welcome");
        return;
    }
    emit(s, SESSION_EV_MSG, NULL, &m, NULL);
    msg_clear(&m);
}

static void on_frame(struct session *s, int64_t now, const uint8_t *f, size_t n)
{
    switch (s->st) {
    case ST_HS_WAIT1:
    case ST_HS_WAIT3:
        terminal_hs(s, now, f, n);
        return;
    case ST_HS_WAIT2:
        device_hs(s, now, f, n);
        return;
    case ST_WELCOME:
    case ST_CONFIRM:
    case ST_OPEN:
        if (n >= 1 && f[0] == SESSION_FT_DATA) {
            on_data(s, now, f, n);
            return;
        }
        if (n >= 1 && f[0] == SESSION_FT_REFUSE && s->st == ST_WELCOME) {
            device_hs(s, now, f, n); /* the terminal refused our certificate */
            return;
        }
        /* Clear-text frames after the handshake are not ours: reject and
         * count them against the flood limit instead of dying, so an
         * on-path injector cannot kill a session with one plain byte. */
        if (!flood_take(s, now) && ++s->dropped >= s->cfg.lim.flood_drops) {
            die(s, "flood: junk frames");
            return;
        }
        emit(s, SESSION_EV_REJECT, "unexpected clear frame", NULL, NULL);
        return;
    case ST_DEAD:
        return;
    }
}

int session_feed(struct session *s, int64_t now_ms, const uint8_t *p, size_t n)
{
    size_t off = 0;
    if (s->st == ST_DEAD)
        return MAMORI_ERR_CLOSED;
    while (off < n && s->st != ST_DEAD) {
        size_t chunk = n - off > FRAME_READ_CHUNK ? FRAME_READ_CHUNK : n - off;
        const uint8_t *f;
        size_t fn;
        int r = 0; /* gcc -fsanitize: maybe-uninitialized (false positive) */
        if (frame_dec_feed(&s->dec, p + off, chunk) != 0) {
            die(s, "protocol: input overflow");
            break;
        }
        off += chunk;
        while (s->st != ST_DEAD && (r = frame_dec_next(&s->dec, &f, &fn)) == 0)
            on_frame(s, now_ms, f, fn);
        if (s->st != ST_DEAD && r == MAMORI_ERR_PROTO)
            die(s, "protocol: bad framing");
    }
    return s->st == ST_DEAD ? MAMORI_ERR_CLOSED : 0;
}

int session_tick(struct session *s, int64_t now_ms)
{
    if (s->st == ST_DEAD)
        return MAMORI_ERR_CLOSED;
    if (s->st != ST_OPEN && s->st != ST_WELCOME) {
        if (now_ms - s->started >= s->cfg.lim.hs_timeout_ms)
            die(s, "handshake timeout");
    } else {
        if (now_ms - s->last_rx >= 2 * s->cfg.lim.hb_ms) {
            die(s, "heartbeat");
        } else if (now_ms - s->last_tx >= s->cfg.lim.hb_ms) {
            struct msg m = {.id = s->next_id++};
            strcpy(m.type, "bus.hb");
            (void)send_msg(s, now_ms, &m);
        }
    }
    return s->st == ST_DEAD ? MAMORI_ERR_CLOSED : 0;
}

int64_t session_next_tick(const struct session *s, int64_t now_ms)
{
    int64_t t;
    if (s->st == ST_DEAD)
        return 0;
    if (s->st != ST_OPEN && s->st != ST_WELCOME)
        t = s->started + s->cfg.lim.hs_timeout_ms - now_ms;
    else {
        int64_t a = s->last_tx + s->cfg.lim.hb_ms - now_ms;
        int64_t b = s->last_rx + 2 * s->cfg.lim.hb_ms - now_ms;
        t = a < b ? a : b;
    }
    return t < 0 ? 0 : t;
}

int session_send(struct session *s, int64_t now_ms, const char *type, const cbor_item_t *body,
                 uint64_t *ret_id)
{
    struct msg m;
    int r;
    memset(&m, 0, sizeof(m));
    if (strlen(type) > MSG_TYPE_MAX)
        return MAMORI_ERR_INVAL;
    strcpy(m.type, type);
    m.id = s->next_id;
    m.body = (cbor_item_t *)(uintptr_t)body;
    if ((r = send_msg(s, now_ms, &m)) != 0)
        return r;
    if (ret_id)
        *ret_id = m.id;
    s->next_id++;
    return 0;
}

int session_reply(struct session *s, int64_t now_ms, uint64_t ref, const char *type,
                  const cbor_item_t *body)
{
    struct msg m;
    int r;
    memset(&m, 0, sizeof(m));
    if (strlen(type) > MSG_TYPE_MAX)
        return MAMORI_ERR_INVAL;
    strcpy(m.type, type);
    m.id = s->next_id;
    m.ref = ref;
    m.has_ref = true;
    m.body = (cbor_item_t *)(uintptr_t)body;
    if ((r = send_msg(s, now_ms, &m)) != 0)
        return r;
    s->next_id++;
    return 0;
}

int session_reply_error(struct session *s, int64_t now_ms, uint64_t ref, int code, const char *text)
{
    struct msg m;
    int r;
    if ((r = msg_make_error(&m, s->next_id, ref, code, text)) != 0)
        return r;
    r = send_msg(s, now_ms, &m);
    msg_clear(&m);
    if (r == 0)
        s->next_id++;
    return r;
}

struct buf *session_out(struct session *s)
{
    return &s->out;
}

bool session_is_open(const struct session *s)
{
    return s->st == ST_OPEN;
}

bool session_is_dead(const struct session *s)
{
    return s->st == ST_DEAD;
}

const char *session_close_reason(const struct session *s)
{
    return s->reason;
}

int session_peer(const struct session *s, uint8_t ret_pub[static SESSION_KEY_LEN])
{
    if (!s->have_peer)
        return MAMORI_ERR_STATE;
    memcpy(ret_pub, s->peer, SESSION_KEY_LEN);
    return 0;
}

const char *session_terminal_id(const struct session *s)
{
    return s->terminal_id;
}

void session_get_stats(const struct session *s, struct session_stats *ret)
{
    *ret = s->stats;
    ret->tx_epoch = s->tx_epoch;
    ret->rx_epoch = s->rx_epoch;
}

struct frame_stats session_frame_stats(const struct session *s)
{
    return s->dec.st;
}
