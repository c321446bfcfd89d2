/* libFuzzer: handshake and frame processing of a bus session (src/bus/session.c)
 * from both roles: a terminal fed arbitrary bytes (as from an unknown device),
 * and a device that sent its first message and is fed an arbitrary answer. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bus/session.h"
#include "common/secmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct keys *tkeys, *dkeys;
static uint8_t tpub[32];

static void on_ev(void *ctx, struct session *s, const struct session_ev *ev)
{
    if (ev->kind == SESSION_EV_OPEN || ev->kind == SESSION_EV_MSG)
        __builtin_trap(); /* no one without the keys gets a session */
}

static int lookup(void *ctx, const uint8_t pub[static 32], char *reason, size_t cap)
{
    return 0; /* every key "known": the handshake itself must stop forgeries */
}

static int admit(void *ctx, int pattern, const uint8_t pub[static 32], const uint8_t *c, size_t n,
                 char *reason, size_t cap)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct session *t = NULL, *d = NULL;
    uint8_t mode;
    if (size == 0)
        return 0;
    mode = data[0]; /* bit 0: serial framing for the device; bit 1: device is paired (KK) */
    data++;
    size--;
    if (tkeys == NULL) {
        uint8_t sk[32];
        (void)secmem_init();
        memset(sk, 7, sizeof(sk));
        (void)keys_from_x25519(sk, &tkeys);
        memset(sk, 9, sizeof(sk));
        (void)keys_from_x25519(sk, &dkeys);
        keys_dh_public(tkeys, tpub);
    }
    struct session_cfg tc = {.role = SESSION_TERMINAL,
                             .framing = FRAME_STREAM,
                             .transport = "unix",
                             .keys = tkeys,
                             .on_event = on_ev,
                             .terminal_id = "T",
                             .lookup = lookup,
                             .admit = admit};
    struct session_cfg dc = {.role = SESSION_DEVICE,
                             .framing = (mode & 1) ? FRAME_SERIAL : FRAME_STREAM,
                             .transport = "unix",
                             .keys = dkeys,
                             .on_event = on_ev,
                             .pinned = (mode & 2) ? tpub : NULL,
                             .cert = (const uint8_t *)"cert",
                             .cert_len = 4};
    if (session_new(&tc, 0, &t) == 0) {
        (void)session_feed(t, 0, data, size);
        (void)session_tick(t, 10000);
        session_free(t);
    }
    if (session_new(&dc, 0, &d) == 0) {
        (void)session_feed(d, 0, data, size);
        session_free(d);
    }
    return 0;
}
