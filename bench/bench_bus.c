/*
 * bench_bus: event latency scanner -> application through the secure session
 * versus plaintext framing of the same envelope, on the same AF_UNIX stream
 * socket pair, in the same run; and a session-level KK handshake (both sides
 * in one process, framing and certificate payload included).
 *
 *   bench_bus [EVENTS]      (default 100000)
 *
 * One event = build the scanner.data body, encode (and for the secure path:
 * AEAD-seal in a DATA frame), write to the socket, read it on the other end,
 * decode (and open), deliver the message. Latency is measured from just before
 * encoding to delivery, single-threaded, so it contains no scheduler noise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bus/frame.h"
#include "bus/msg.h"
#include "bus/session.h"
#include "common/evloop.h"
#include "common/secmem.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct side {
    struct session *s;
    int open;
    int got;
    int64_t t_us;
};

static void on_ev(void *ctx, struct session *s, const struct session_ev *ev)
{
    struct side *x = ctx;
    if (ev->kind == SESSION_EV_OPEN)
        x->open++;
    if (ev->kind == SESSION_EV_MSG) {
        x->got++;
        x->t_us = now_ns();
    }
}

static int lookup(void *ctx, const uint8_t pub[static 32], char *reason, size_t cap)
{
    return 0;
}

static int admit(void *ctx, int p, const uint8_t pub[static 32], const uint8_t *c, size_t n,
                 char *reason, size_t cap)
{
    return 0;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void pump_out(struct session *s, int fd)
{
    struct buf *o = session_out(s);
    while (buf_remaining(o) > 0) {
        ssize_t k = write(fd, buf_ptr(o), buf_remaining(o));
        if (k <= 0)
            abort();
        (void)buf_skip(o, (size_t)k);
    }
    buf_compact(o);
}

static void pump_in(struct session *s, int fd, int64_t now)
{
    uint8_t tmp[FRAME_READ_CHUNK];
    ssize_t k = read(fd, tmp, sizeof(tmp));
    if (k <= 0)
        abort();
    (void)session_feed(s, now, tmp, (size_t)k);
}

static cbor_item_t *scan_body(long i)
{
    char code[32];
    cbor_item_t *b = msg_body_new();
    snprintf(code, sizeof(code), "49%011ld", i);
    (void)msg_put_str(b, "data", code);
    (void)msg_put_int(b, "symbology", 104);
    return b;
}

static void report(const char *name, int64_t *lat, long n, double *ret_p50, double *ret_p99)
{
    qsort(lat, (size_t)n, sizeof(*lat), cmp64);
    *ret_p50 = (double)lat[n / 2] / 1000.0;
    *ret_p99 = (double)lat[(n * 99) / 100] / 1000.0;
    printf("%-10s p50 %7.2f us   p99 %7.2f us   (n=%ld)\n", name, *ret_p50, *ret_p99, n);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    int sv[2];
    struct keys *dk, *tk;
    uint8_t tpub[32];
    struct side dev = {0}, term = {0};
    struct session_limits lim;
    int64_t *lat_sec = calloc((size_t)n, sizeof(int64_t)),
            *lat_pl = calloc((size_t)n, sizeof(int64_t));
    double s50, s99, p50, p99;
    if (secmem_init() != 0 || lat_sec == NULL || lat_pl == NULL || n < 100)
        return 1;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 1;
    (void)keys_generate(&dk);
    (void)keys_generate(&tk);
    keys_dh_public(tk, tpub);
    session_limits_default(&lim);
    lim.rate = 100000000;
    lim.burst = 100000000;
    struct session_cfg tc = {.role = SESSION_TERMINAL,
                             .framing = FRAME_STREAM,
                             .transport = "unix",
                             .keys = tk,
                             .lim = lim,
                             .on_event = on_ev,
                             .ctx = &term,
                             .terminal_id = "T1",
                             .lookup = lookup,
                             .admit = admit};
    struct session_cfg dc = {.role = SESSION_DEVICE,
                             .framing = FRAME_STREAM,
                             .transport = "unix",
                             .keys = dk,
                             .lim = lim,
                             .on_event = on_ev,
                             .ctx = &dev,
                             .pinned = tpub,
                             .cert = (const uint8_t *)"certificate-bytes",
                             .cert_len = 17};

    /* KK handshake, both sides in one process, through the socket */
    {
        int rounds = 2000;
        int64_t t0 = evloop_now_us();
        for (int i = 0; i < rounds; i++) {
            struct side a = {0}, b = {0};
            tc.ctx = &b;
            dc.ctx = &a;
            (void)session_new(&tc, 0, &b.s);
            (void)session_new(&dc, 0, &a.s);
            pump_out(a.s, sv[0]);
            pump_in(b.s, sv[1], 0);
            pump_out(b.s, sv[1]);
            pump_in(a.s, sv[0], 0);
            pump_out(a.s, sv[0]);
            pump_in(b.s, sv[1], 0); /* key confirmation */
            if (!a.open || !b.open)
                abort();
            session_free(a.s);
            session_free(b.s);
        }
        printf("KK handshake (session level, both sides, socket): %.3f ms\n",
               (double)(evloop_now_us() - t0) / rounds / 1000.0);
        tc.ctx = &term;
        dc.ctx = &dev;
    }

    (void)session_new(&tc, 0, &term.s);
    (void)session_new(&dc, 0, &dev.s);
    pump_out(dev.s, sv[0]);
    pump_in(term.s, sv[1], 0);
    pump_out(term.s, sv[1]);
    pump_in(dev.s, sv[0], 0);
    pump_out(dev.s, sv[0]);
    pump_in(term.s, sv[1], 0);
    if (!term.open)
        return 1;

    /* interleave the two variants so both see the same machine state */
    struct frame_dec pd;
    struct buf pw;
    frame_dec_init(&pd, FRAME_STREAM);
    buf_init(&pw, 0);
    for (long i = 0; i < n; i++) {
        /* secure */
        {
            cbor_item_t *b;
            int64_t t0 = now_ns(), now = t0 / 1000000;
            int before = term.got;
            b = scan_body(i);
            (void)session_send(dev.s, now, "scanner.data", b, NULL);
            cbor_decref(&b);
            pump_out(dev.s, sv[0]);
            while (term.got == before)
                pump_in(term.s, sv[1], now);
            lat_sec[i] = term.t_us - t0;
        }
        /* plaintext framing of the same envelope */
        {
            struct msg m = {.id = (uint64_t)i + 1}, d;
            const uint8_t *f;
            size_t fn;
            struct buf enc;
            uint8_t tmp[FRAME_READ_CHUNK];
            int64_t t0 = now_ns();
            strcpy(m.type, "scanner.data");
            m.body = scan_body(i);
            buf_init(&enc, MSG_MAX_BYTES);
            (void)msg_encode(&m, &enc);
            buf_reset(&pw);
            (void)frame_encode(FRAME_STREAM, buf_ptr(&enc), buf_remaining(&enc), &pw);
            if (write(sv[0], pw.d, pw.len) != (ssize_t)pw.len)
                abort();
            for (;;) {
                ssize_t k = read(sv[1], tmp, sizeof(tmp));
                if (k <= 0)
                    abort();
                (void)frame_dec_feed(&pd, tmp, (size_t)k);
                if (frame_dec_next(&pd, &f, &fn) == 0)
                    break;
            }
            if (msg_decode(f, fn, &d) != 0)
                abort();
            lat_pl[i] = now_ns() - t0;
            msg_clear(&d);
            msg_clear(&m);
            buf_free(&enc);
        }
    }
    report("secure", lat_sec, n, &s50, &s99);
    report("plaintext", lat_pl, n, &p50, &p99);
    printf("ratio p50 %.2f   p99 %.2f   p99 added %.2f us\n", s50 / p50, s99 / p99, s99 - p99);
    frame_dec_free(&pd);
    buf_free(&pw);
    session_free(dev.s);
    session_free(term.s);
    keys_free(dk);
    keys_free(tk);
    free(lat_sec);
    free(lat_pl);
    return 0;
}
