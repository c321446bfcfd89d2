/* Unit tests for src/bus/session.c: two sessions wired back to back (sans-IO),
 * pairing, KK, refusals, replay, bit flips, rekey, heartbeats, flood, serial loss. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "bus/session.h"
#include "crypto/noise.h"
#include "mamori/err.h"

struct side {
    struct session *s;
    int open, paired, closed, msgs, rejects, throttles, rekeys;
    char reason[128];
    char last_type[64];
    uint8_t peer[32];
    /* terminal policy */
    const uint8_t *known; /* enrolled device key */
    int refuse_admit;
};

static void on_ev(void *ctx, struct session *s, const struct session_ev *ev)
{
    struct side *x = ctx;
    switch (ev->kind) {
    case SESSION_EV_OPEN:
        x->open++;
        memcpy(x->peer, ev->peer, 32);
        break;
    case SESSION_EV_PAIRED:
        x->paired++;
        memcpy(x->peer, ev->peer, 32);
        break;
    case SESSION_EV_MSG:
        x->msgs++;
        snprintf(x->last_type, sizeof(x->last_type), "%s", ev->msg->type);
        break;
    case SESSION_EV_REJECT:
        x->rejects++;
        snprintf(x->reason, sizeof(x->reason), "%s", ev->reason);
        break;
    case SESSION_EV_THROTTLE:
        x->throttles++;
        break;
    case SESSION_EV_CLOSED:
        x->closed++;
        snprintf(x->reason, sizeof(x->reason), "%s", ev->reason);
        break;
    case SESSION_EV_REKEY:
        x->rekeys++;
        break;
    }
}

static int lookup(void *ctx, const uint8_t pub[static 32], char *reason, size_t cap)
{
    struct side *x = ctx;
    if (x->known && memcmp(pub, x->known, 32) == 0)
        return 0;
    snprintf(reason, cap, "unknown key");
    return MAMORI_ERR_REFUSED;
}

static int admit(void *ctx, int pattern, const uint8_t pub[static 32], const uint8_t *cert,
                 size_t n, char *reason, size_t cap)
{
    struct side *x = ctx;
    if (x->refuse_admit || n != 4 || memcmp(cert, "CERT", 4) != 0 ||
        (x->known && memcmp(pub, x->known, 32) != 0)) {
        snprintf(reason, cap, "not enrolled");
        return MAMORI_ERR_REFUSED;
    }
    return 0;
}

struct pair {
    struct keys *dk, *tk;
    struct side dev, term;
    enum frame_kind fk;
    struct session_limits lim;
};

static void setup_pair(struct pair *p, enum frame_kind fk)
{
    memset(p, 0, sizeof(*p));
    assert_int_equal(keys_generate(&p->dk), 0);
    assert_int_equal(keys_generate(&p->tk), 0);
    p->fk = fk;
    session_limits_default(&p->lim);
}

static void start(struct pair *p, const uint8_t *pinned, int64_t now)
{
    struct session_cfg tc = {.role = SESSION_TERMINAL,
                             .framing = p->fk,
                             .transport = "unix",
                             .keys = p->tk,
                             .lim = p->lim,
                             .on_event = on_ev,
                             .ctx = &p->term,
                             .terminal_id = "T1",
                             .lookup = lookup,
                             .admit = admit};
    struct session_cfg dc = {.role = SESSION_DEVICE,
                             .framing = p->fk,
                             .transport = "unix",
                             .keys = p->dk,
                             .lim = p->lim,
                             .on_event = on_ev,
                             .ctx = &p->dev,
                             .pinned = pinned,
                             .cert = (const uint8_t *)"CERT",
                             .cert_len = 4};
    assert_int_equal(session_new(&tc, now, &p->term.s), 0);
    assert_int_equal(session_new(&dc, now, &p->dev.s), 0);
}

/* Move bytes both ways until quiet. */
static void pump(struct pair *p, int64_t now)
{
    for (int round = 0; round < 20; round++) {
        struct buf *a = session_out(p->dev.s), *b = session_out(p->term.s);
        size_t na = buf_remaining(a), nb = buf_remaining(b);
        if (na == 0 && nb == 0)
            return;
        if (na) {
            (void)session_feed(p->term.s, now, buf_ptr(a), na);
            (void)buf_skip(a, na);
        }
        if (nb) {
            (void)session_feed(p->dev.s, now, buf_ptr(b), nb);
            (void)buf_skip(b, nb);
        }
    }
}

static void teardown_pair(struct pair *p)
{
    session_free(p->dev.s);
    session_free(p->term.s);
    keys_free(p->dk);
    keys_free(p->tk);
}

static void test_xx_pairing_then_kk(void **state)
{
    struct pair p;
    uint8_t dpub[32], tpub[32];
    setup_pair(&p, FRAME_STREAM);
    keys_dh_public(p.dk, dpub);
    keys_dh_public(p.tk, tpub);
    p.term.known = dpub;
    start(&p, NULL, 1000);
    pump(&p, 1000);
    assert_int_equal(p.term.open, 1);
    assert_int_equal(p.dev.paired, 1);
    assert_int_equal(p.dev.open, 1);
    assert_memory_equal(p.dev.peer, tpub, 32); /* device learns the key to pin */
    assert_memory_equal(p.term.peer, dpub, 32);
    assert_string_equal(session_terminal_id(p.dev.s), "T1");
    /* a message each way */
    cbor_item_t *b = msg_body_new();
    assert_int_equal(msg_put_str(b, "label", "4901234567894"), 0);
    assert_int_equal(session_send(p.dev.s, 1001, "scanner.data", b, NULL), 0);
    assert_int_equal(session_reply(p.term.s, 1001, 5, "ok", NULL), 0);
    cbor_decref(&b);
    pump(&p, 1001);
    assert_int_equal(p.term.msgs, 1);
    assert_string_equal(p.term.last_type, "scanner.data");
    assert_int_equal(p.dev.msgs, 1);
    session_free(p.dev.s);
    session_free(p.term.s);
    memset(&p.dev, 0, sizeof(p.dev));
    memset(&p.term, 0, sizeof(p.term));
    /* second session: KK with the pinned key */
    p.term.known = dpub;
    start(&p, tpub, 2000);
    pump(&p, 2000);
    assert_int_equal(p.term.open, 1);
    assert_int_equal(p.dev.open, 1);
    assert_int_equal(p.dev.paired, 0);
    teardown_pair(&p);
}

/* POL-4/THR-4: a sender that has not proved anything cannot probe which
 * keys are enrolled: an unknown key and a known key whose handshake does not
 * decrypt get the same refusal on the wire; the terminal keeps the detail. */
static void test_pol4_kk_refusal_does_not_reveal_enrolment(void **state)
{
    struct pair p;
    uint8_t tpub[32], dpub[32], wrong[32];
    char unknown_wire[sizeof(p.dev.reason)];
    struct keys *other;
    (void)state;
    setup_pair(&p, FRAME_STREAM);
    keys_dh_public(p.tk, tpub);
    start(&p, tpub, 0); /* terminal knows no device */
    pump(&p, 0);
    assert_int_equal(p.term.closed, 1);
    assert_string_equal(p.term.reason, "unknown key");
    snprintf(unknown_wire, sizeof(unknown_wire), "%s", p.dev.reason);
    assert_non_null(strstr(unknown_wire, "auth: handshake refused"));
    assert_null(strstr(unknown_wire, "unknown"));
    teardown_pair(&p);
    /* the terminal knows the device key, but the message does not decrypt
     * (the device pinned another terminal key) */
    setup_pair(&p, FRAME_STREAM);
    keys_dh_public(p.dk, dpub);
    assert_int_equal(keys_generate(&other), 0);
    keys_dh_public(other, wrong);
    p.term.known = dpub;
    start(&p, wrong, 0);
    pump(&p, 0);
    assert_int_equal(p.term.closed, 1);
    assert_non_null(strstr(p.term.reason, "decryption"));
    assert_string_equal(p.dev.reason, unknown_wire);
    keys_free(other);
    teardown_pair(&p);
}

static void test_kk_unknown_key_refused(void **state)
{
    struct pair p;
    uint8_t tpub[32];
    setup_pair(&p, FRAME_STREAM);
    keys_dh_public(p.tk, tpub);
    start(&p, tpub, 0); /* terminal knows no device */
    pump(&p, 0);
    assert_int_equal(p.term.open, 0);
    assert_int_equal(p.term.closed, 1);
    assert_string_equal(p.term.reason, "unknown key");
    assert_int_equal(p.dev.closed, 1);
    assert_non_null(strstr(p.dev.reason, "refused"));
    teardown_pair(&p);
}

static void test_xx_admission_refused(void **state)
{
    struct pair p;
    setup_pair(&p, FRAME_STREAM);
    p.term.refuse_admit = 1;
    start(&p, NULL, 0);
    pump(&p, 0);
    assert_int_equal(p.term.open, 0);
    assert_int_equal(p.dev.paired, 0); /* never pins a controller that refused it */
    assert_int_equal(p.dev.closed, 1);
    teardown_pair(&p);
}

static void test_rogue_controller_cannot_answer_kk(void **state)
{
    /* The device pinned T; a rogue R with its own keys answers. */
    struct pair p;
    struct keys *real;
    uint8_t realpub[32], dpub[32];
    setup_pair(&p, FRAME_STREAM);
    assert_int_equal(keys_generate(&real), 0);
    keys_dh_public(real, realpub);
    keys_dh_public(p.dk, dpub);
    p.term.known = dpub; /* the rogue even "knows" the device key */
    start(&p, realpub, 0);
    pump(&p, 0);
    assert_int_equal(p.dev.open, 0);
    assert_int_equal(p.term.open, 0);
    assert_int_equal(p.dev.closed, 1);
    keys_free(real);
    teardown_pair(&p);
}

static void open_kk(struct pair *p, enum frame_kind fk)
{
    static uint8_t dpub[32], tpub[32];
    setup_pair(p, fk);
    keys_dh_public(p->dk, dpub);
    keys_dh_public(p->tk, tpub);
    p->term.known = dpub;
}

static void test_replay_rejected_visibly_and_bitflip_kills(void **state)
{
    struct pair p;
    uint8_t tpub[32];
    uint8_t frame[256];
    size_t n;
    open_kk(&p, FRAME_STREAM);
    keys_dh_public(p.tk, tpub);
    start(&p, tpub, 0);
    pump(&p, 0);
    assert_int_equal(p.term.open, 1);
    assert_int_equal(session_send(p.dev.s, 1, "keyboard.key", NULL, NULL), 0);
    n = buf_remaining(session_out(p.dev.s));
    memcpy(frame, buf_ptr(session_out(p.dev.s)), n);
    pump(&p, 1);
    assert_int_equal(p.term.msgs, 1);
    /* replay the captured frame */
    assert_int_equal(session_feed(p.term.s, 2, frame, n), 0);
    assert_int_equal(p.term.msgs, 1);
    assert_int_equal(p.term.rejects, 1);
    assert_string_equal(p.term.reason, "replay");
    assert_true(session_is_open(p.term.s));
    /* a fresh frame with one flipped bit */
    assert_int_equal(session_send(p.dev.s, 3, "keyboard.key", NULL, NULL), 0);
    n = buf_remaining(session_out(p.dev.s));
    memcpy(frame, buf_ptr(session_out(p.dev.s)), n);
    (void)buf_skip(session_out(p.dev.s), n);
    frame[n - 3] ^= 0x01;
    assert_int_equal(session_feed(p.term.s, 3, frame, n), MAMORI_ERR_CLOSED);
    assert_int_equal(p.term.closed, 1);
    assert_non_null(strstr(p.term.reason, "auth"));
    assert_int_equal(p.term.msgs, 1);
    teardown_pair(&p);
}

static void test_replayed_kk_first_message_does_not_attach(void **state)
{
    /* Someone records a device's KK message 1 and replays it: the terminal
     * answers, but never reports an attach without key confirmation. */
    struct pair p;
    uint8_t tpub[32], m1[512];
    size_t n;
    open_kk(&p, FRAME_STREAM);
    keys_dh_public(p.tk, tpub);
    start(&p, tpub, 0);
    n = buf_remaining(session_out(p.dev.s));
    memcpy(m1, buf_ptr(session_out(p.dev.s)), n);
    pump(&p, 0);
    assert_int_equal(p.term.open, 1);
    /* the replay, to a fresh terminal session */
    struct side t2 = {.known = p.term.known};
    struct session_cfg tc = {.role = SESSION_TERMINAL,
                             .framing = FRAME_STREAM,
                             .transport = "unix",
                             .keys = p.tk,
                             .lim = p.lim,
                             .on_event = on_ev,
                             .ctx = &t2,
                             .terminal_id = "T1",
                             .lookup = lookup,
                             .admit = admit};
    assert_int_equal(session_new(&tc, 0, &t2.s), 0);
    assert_int_equal(session_feed(t2.s, 0, m1, n), 0);
    assert_int_equal(t2.open, 0);
    assert_true(buf_remaining(session_out(t2.s)) > 0);             /* it answered message 2 */
    assert_int_equal(session_tick(t2.s, 5000), MAMORI_ERR_CLOSED); /* and gives up */
    assert_int_equal(t2.open, 0);
    session_free(t2.s);
    teardown_pair(&p);
}

static void test_rekey_in_step(void **state)
{
    struct pair p;
    uint8_t tpub[32];
    open_kk(&p, FRAME_STREAM);
    p.lim.rekey_msgs = 3;
    keys_dh_public(p.tk, tpub);
    start(&p, tpub, 0);
    pump(&p, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(session_send(p.dev.s, 1, "scale.weight", NULL, NULL), 0);
    pump(&p, 1);
    assert_int_equal(p.term.msgs, 10);
    struct session_stats st;
    session_get_stats(p.dev.s, &st);
    assert_int_equal(st.rekeys_tx, 3);
    session_get_stats(p.term.s, &st);
    assert_int_equal(st.rekeys_rx, 3);
    /* time-based: one hour later the next message rekeys */
    assert_int_equal(session_send(p.dev.s, 3600 * 1000 + 1, "scale.weight", NULL, NULL), 0);
    pump(&p, 3600 * 1000 + 1);
    assert_int_equal(p.term.msgs, 11);
    session_get_stats(p.term.s, &st);
    assert_int_equal(st.rekeys_rx, 4);
    teardown_pair(&p);
}

static void test_heartbeat_and_timeout(void **state)
{
    struct pair p;
    uint8_t tpub[32];
    open_kk(&p, FRAME_STREAM);
    keys_dh_public(p.tk, tpub);
    start(&p, tpub, 0);
    pump(&p, 0);
    assert_true(session_next_tick(p.dev.s, 0) <= 2000);
    /* both tick at 2000: heartbeats flow, nobody dies */
    assert_int_equal(session_tick(p.dev.s, 2000), 0);
    assert_int_equal(session_tick(p.term.s, 2000), 0);
    pump(&p, 2000);
    assert_int_equal(session_tick(p.term.s, 5999), 0);
    /* the device goes silent: dead after two intervals */
    assert_int_equal(session_tick(p.term.s, 6000), MAMORI_ERR_CLOSED);
    assert_string_equal(p.term.reason, "heartbeat");
    teardown_pair(&p);
}

static void test_device_adopts_terminal_heartbeat(void **state)
{
    struct pair p;
    uint8_t tpub[32];
    open_kk(&p, FRAME_STREAM);
    keys_dh_public(p.tk, tpub);
    start(&p, tpub, 0);
    /* the terminal announces 700 ms; the device was configured with 2000 */
    session_free(p.term.s);
    struct session_limits tl;
    session_limits_default(&tl);
    tl.hb_ms = 700;
    struct session_cfg tc = {.role = SESSION_TERMINAL,
                             .framing = FRAME_STREAM,
                             .transport = "unix",
                             .keys = p.tk,
                             .lim = tl,
                             .on_event = on_ev,
                             .ctx = &p.term,
                             .terminal_id = "T1",
                             .lookup = lookup,
                             .admit = admit};
    assert_int_equal(session_new(&tc, 0, &p.term.s), 0);
    pump(&p, 0);
    assert_int_equal(p.dev.open, 1);
    assert_int_equal(session_next_tick(p.dev.s, 0), 700);
    teardown_pair(&p);
}

static void test_handshake_timeout(void **state)
{
    struct pair p;
    setup_pair(&p, FRAME_STREAM);
    start(&p, NULL, 0);
    assert_int_equal(session_tick(p.term.s, 4999), 0);
    assert_int_equal(session_tick(p.term.s, 5000), MAMORI_ERR_CLOSED);
    assert_string_equal(p.term.reason, "handshake timeout");
    assert_int_equal(session_send(p.term.s, 5000, "x", NULL, NULL), MAMORI_ERR_CLOSED);
    teardown_pair(&p);
}

static void test_flood_throttled_then_dropped(void **state)
{
    struct pair p;
    uint8_t tpub[32];
    open_kk(&p, FRAME_STREAM);
    p.lim.rate = 10;
    p.lim.burst = 20;
    p.lim.flood_drops = 50;
    keys_dh_public(p.tk, tpub);
    start(&p, tpub, 0);
    pump(&p, 0);
    for (int i = 0; i < 30; i++)
        assert_int_equal(session_send(p.dev.s, 1, "scanner.data", NULL, NULL), 0);
    pump(&p, 1);
    assert_int_equal(p.term.throttles, 1);
    assert_true(p.term.msgs <= 21 && p.term.msgs >= 19);
    assert_true(session_is_open(p.term.s));
    for (int i = 0; i < 60; i++)
        (void)session_send(p.dev.s, 2, "scanner.data", NULL, NULL);
    pump(&p, 2);
    assert_int_equal(p.term.closed, 1);
    assert_non_null(strstr(p.term.reason, "flood"));
    teardown_pair(&p);
}

static void test_oversize_message_dropped(void **state)
{
    struct pair p;
    uint8_t tpub[32];
    open_kk(&p, FRAME_STREAM);
    keys_dh_public(p.tk, tpub);
    start(&p, tpub, 0);
    pump(&p, 0);
    /* the terminal allows less than the device sends */
    struct session_cfg dummy;
    (void)dummy;
    cbor_item_t *b = msg_body_new();
    uint8_t big[2000] = {0};
    assert_int_equal(msg_put_bytes(b, "data", big, sizeof(big)), 0);
    assert_int_equal(session_send(p.dev.s, 1, "printer.print", b, NULL), 0);
    cbor_decref(&b);
    pump(&p, 1);
    assert_int_equal(p.term.msgs, 1);
    teardown_pair(&p);
    /* now with a 1000-byte limit on the terminal */
    open_kk(&p, FRAME_STREAM);
    keys_dh_public(p.tk, tpub);
    p.lim.max_msg = 1000;
    start(&p, tpub, 0);
    pump(&p, 0);
    b = msg_body_new();
    assert_int_equal(msg_put_bytes(b, "data", big, 900), 0);
    assert_int_equal(session_send(p.dev.s, 1, "printer.print", b, NULL), 0);
    cbor_decref(&b);
    b = msg_body_new();
    assert_int_equal(msg_put_bytes(b, "data", big, 999), 0);
    assert_int_equal(session_send(p.dev.s, 1, "printer.print", b, NULL), MAMORI_ERR_TOOBIG);
    cbor_decref(&b);
    pump(&p, 1);
    assert_int_equal(p.term.msgs, 1);
    teardown_pair(&p);
}

static void test_serial_loss_recovers(void **state)
{
    struct pair p;
    uint8_t tpub[32];
    open_kk(&p, FRAME_SERIAL);
    keys_dh_public(p.tk, tpub);
    start(&p, tpub, 0);
    pump(&p, 0);
    assert_int_equal(p.term.open, 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(session_send(p.dev.s, 1, "scanner.data", NULL, NULL), 0);
    struct buf *o = session_out(p.dev.s);
    size_t n = buf_remaining(o);
    uint8_t *copy = malloc(n);
    memcpy(copy, buf_ptr(o), n);
    (void)buf_skip(o, n);
    /* lose one byte in the middle of frame 2 and flip one in frame 4 */
    size_t fl = n / 5;
    memmove(copy + fl + 10, copy + fl + 11, n - fl - 11);
    n--;
    copy[3 * fl + 12] ^= 0x10;
    assert_int_equal(session_feed(p.term.s, 1, copy, n), 0);
    assert_int_equal(p.term.msgs, 3); /* 1, 3, 5 accepted; 2 and 4 dropped by CRC */
    assert_true(session_is_open(p.term.s));
    assert_int_equal(session_frame_stats(p.term.s).dropped, 2);
    free(copy);
    teardown_pair(&p);
}

static void test_garbage_before_handshake(void **state)
{
    struct pair p;
    setup_pair(&p, FRAME_STREAM);
    start(&p, NULL, 0);
    const uint8_t junk[] = {0, 5, 0x02, 1, 2, 3, 4};
    assert_int_equal(session_feed(p.term.s, 0, junk, sizeof(junk)), MAMORI_ERR_CLOSED);
    assert_int_equal(p.term.closed, 1);
    teardown_pair(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xx_pairing_then_kk),
        cmocka_unit_test(test_kk_unknown_key_refused),
        cmocka_unit_test(test_pol4_kk_refusal_does_not_reveal_enrolment),
        cmocka_unit_test(test_xx_admission_refused),
        cmocka_unit_test(test_rogue_controller_cannot_answer_kk),
        cmocka_unit_test(test_replay_rejected_visibly_and_bitflip_kills),
        cmocka_unit_test(test_replayed_kk_first_message_does_not_attach),
        cmocka_unit_test(test_rekey_in_step),
        cmocka_unit_test(test_heartbeat_and_timeout),
        cmocka_unit_test(test_device_adopts_terminal_heartbeat),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_flood_throttled_then_dropped),
        cmocka_unit_test(test_oversize_message_dropped),
        cmocka_unit_test(test_serial_loss_recovers),
        cmocka_unit_test(test_garbage_before_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
