/*
 * Fuzz target: arbitrary bytes as Noise handshake messages (XX and KK), to a
 * responder (the terminal side that a rogue device talks to first) and to an
 * initiator (a device that a rogue controller answers). Must never crash,
 * leak or read out of bounds, whatever the bytes.
 *
 * Input: [mode u8][len u16 BE][message A: len bytes][message B: the rest]
 *   mode bit 0: 0 = XX, 1 = KK;  bit 1: 0 = we are responder, 1 = initiator.
 *   Responder: reads A as message 0, writes message 1, then (XX) reads B as
 *   message 2 or (KK) decrypts B as a transport message.
 *   Initiator: writes message 0, reads A as message 1, then (XX) writes
 *   message 2; finally decrypts B as a transport message.
 * Keys and ephemerals are fixed so seeds replay exactly.
 *
 * Seeds (tests/fuzz/corpus/noise_handshake/) are valid messages made by this
 * same file built as a generator:
 *   cc -DNOISE_FUZZ_SEEDGEN -Isrc -Iinclude tests/fuzz/fuzz_noise_handshake.c \
 *      build/src/libmamori.a -lsodium -o /tmp/gen && /tmp/gen tests/fuzz/corpus/noise_handshake
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/noise.h"
#include "keys/keys.h"

static const uint8_t fz_prologue[] = "mamori-fuzz";

static void fz_fill(uint8_t k[32], uint8_t start)
{
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)(start + i);
}

static struct keys *fz_keys(uint8_t start)
{
    uint8_t sk[32];
    struct keys *k = NULL;
    fz_fill(sk, start);
    if (keys_from_x25519(sk, &k) != 0)
        abort();
    return k;
}

struct fz_world {
    struct keys *ki, *kr;
    uint8_t pi[32], pr[32];
};

static struct fz_world *fz_world(void)
{
    static struct fz_world w;
    if (w.ki == NULL) {
        w.ki = fz_keys(0x01);
        w.kr = fz_keys(0x41);
        keys_dh_public(w.ki, w.pi);
        keys_dh_public(w.kr, w.pr);
    }
    return &w;
}

static struct noise_hs *fz_hs(enum noise_pattern pat, enum noise_role role)
{
    struct fz_world *w = fz_world();
    struct noise_hs *hs = NULL;
    uint8_t e[32];
    int init = role == NOISE_INITIATOR;
    if (noise_hs_new(pat, role, init ? w->ki : w->kr,
                     pat == NOISE_KK ? (init ? w->pr : w->pi) : NULL, fz_prologue,
                     sizeof(fz_prologue), &hs) != 0)
        abort();
    fz_fill(e, init ? 0x81 : 0xc1);
    if (noise_hs_set_ephemeral(hs, e) != 0)
        abort();
    return hs;
}

static void fz_transport(struct noise_hs *hs, const uint8_t *b, size_t bn)
{
    struct noise_cs *tx = NULL, *rx = NULL;
    static uint8_t out[NOISE_MAX_MSG];
    size_t n;
    if (!noise_hs_done(hs) || noise_hs_split(hs, &tx, &rx) != 0)
        return;
    if (noise_cs_decrypt(rx, NULL, 0, b, bn, out, sizeof(out), &n) == 0 && n > bn)
        abort();
    noise_cs_free(tx);
    noise_cs_free(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[NOISE_MAX_MSG], pl[NOISE_MAX_MSG];
    size_t n, plen;
    if (size < 3)
        return 0;
    enum noise_pattern pat = (data[0] & 1) ? NOISE_KK : NOISE_XX;
    int initiator = (data[0] & 2) != 0;
    size_t alen = ((size_t)data[1] << 8) | data[2];
    if (alen > size - 3)
        alen = size - 3;
    const uint8_t *a = data + 3, *b = a + alen;
    size_t blen = size - 3 - alen;

    struct noise_hs *hs = fz_hs(pat, initiator ? NOISE_INITIATOR : NOISE_RESPONDER);
    if (initiator) {
        if (noise_hs_write(hs, (const uint8_t *)"hello", 5, out, sizeof(out), &n) == 0 &&
            noise_hs_read(hs, a, alen, pl, sizeof(pl), &plen) == 0) {
            if (plen > alen)
                abort();
            if (pat == NOISE_XX)
                (void)noise_hs_write(hs, NULL, 0, out, sizeof(out), &n);
            fz_transport(hs, b, blen);
        }
    } else if (noise_hs_read(hs, a, alen, pl, sizeof(pl), &plen) == 0) {
        if (plen > alen)
            abort();
        if (noise_hs_write(hs, (const uint8_t *)"welcome", 7, out, sizeof(out), &n) == 0) {
            if (pat == NOISE_XX)
                (void)noise_hs_read(hs, b, blen, pl, sizeof(pl), &plen);
            fz_transport(hs, b, blen);
        }
    }
    noise_hs_free(hs);
    return 0;
}

#ifdef NOISE_FUZZ_SEEDGEN
/* Seed generator: valid inputs for each mode, made by the real peers. */
static void seed_write(const char *dir, const char *name, uint8_t mode, const uint8_t *a,
                       size_t an, const uint8_t *b, size_t bn)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        abort();
    uint8_t hdr[3] = {mode, (uint8_t)(an >> 8), (uint8_t)an};
    fwrite(hdr, 1, 3, f);
    fwrite(a, 1, an, f);
    if (bn > 0)
        fwrite(b, 1, bn, f);
    fclose(f);
}

int main(int argc, char **argv)
{
    static uint8_t m0[512], m1[512], m2[512], pl[512], t[64];
    size_t n0, n1, n2, pn, tn;
    struct noise_cs *tx, *rx;
    if (argc != 2)
        return 2;
    for (int kk = 0; kk <= 1; kk++) {
        enum noise_pattern pat = kk ? NOISE_KK : NOISE_XX;
        struct noise_hs *hi = fz_hs(pat, NOISE_INITIATOR), *hr = fz_hs(pat, NOISE_RESPONDER);
        if (noise_hs_write(hi, (const uint8_t *)"hello", 5, m0, sizeof(m0), &n0) ||
            noise_hs_read(hr, m0, n0, pl, sizeof(pl), &pn) ||
            noise_hs_write(hr, (const uint8_t *)"welcome", 7, m1, sizeof(m1), &n1) ||
            noise_hs_read(hi, m1, n1, pl, sizeof(pl), &pn))
            abort();
        n2 = 0;
        if (pat == NOISE_XX && (noise_hs_write(hi, NULL, 0, m2, sizeof(m2), &n2) ||
                                noise_hs_read(hr, m2, n2, pl, sizeof(pl), &pn)))
            abort();
        /* A transport message from the initiator (what a KK responder or an
         * XX responder after message 2 decrypts as B). */
        if (noise_hs_split(hi, &tx, &rx) ||
            noise_cs_encrypt(tx, NULL, 0, (const uint8_t *)"scan 4901234567894", 18, t,
                             sizeof(t), &tn))
            abort();
        noise_cs_free(tx);
        noise_cs_free(rx);
        if (pat == NOISE_XX) {
            seed_write(argv[1], "xx_responder_msg0_msg2", 0, m0, n0, m2, n2);
            seed_write(argv[1], "xx_initiator_msg1", 2, m1, n1, NULL, 0);
        } else {
            seed_write(argv[1], "kk_responder_msg0_transport", 1, m0, n0, t, tn);
            seed_write(argv[1], "kk_initiator_msg1", 3, m1, n1, NULL, 0);
        }
        noise_hs_free(hi);
        noise_hs_free(hr);
    }
    return 0;
}
#endif
