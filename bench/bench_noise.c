/*
 * bench_noise: Noise_KK handshake, both sides in one process (new, message 1,
 * message 2, split, free), against the plain cost of its ten X25519
 * operations (two ephemeral keygens + eight DH) measured in the same loop,
 * iteration by iteration, so both see the same machine load.
 *
 *   build/bench/bench_noise [N]      (default N = 20000)
 *
 * Target (issue 2): <= 0.40 ms per handshake. Results: docs/benchmarks.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto/noise.h"
#include "keys/keys.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    qsort(v, n, sizeof(*v), cmp_double);
    printf("%-28s mean %8.1f us  p50 %8.1f us  p99 %8.1f us\n", what, sum / (double)n,
           v[n / 2], v[(n * 99) / 100]);
}

static double mean(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s / (double)n;
}

/* The ten X25519 operations a KK handshake performs, both sides together. */
static int raw_x25519(const uint8_t si[32], const uint8_t sr[32], const uint8_t pi[32],
                      const uint8_t pr[32])
{
    uint8_t ei[32], er[32], pei[32], per[32], d[32];
    int bad = 0;
    randombytes_buf(ei, 32);
    randombytes_buf(er, 32);
    crypto_scalarmult_base(pei, ei);             /* initiator e */
    bad |= crypto_scalarmult(d, ei, pr);         /* initiator es */
    bad |= crypto_scalarmult(d, si, pr);         /* initiator ss */
    bad |= crypto_scalarmult(d, sr, pei);        /* responder es */
    bad |= crypto_scalarmult(d, sr, pi);         /* responder ss */
    crypto_scalarmult_base(per, er);             /* responder e */
    bad |= crypto_scalarmult(d, er, pei);        /* responder ee */
    bad |= crypto_scalarmult(d, er, pi);         /* responder se */
    bad |= crypto_scalarmult(d, ei, per);        /* initiator ee */
    bad |= crypto_scalarmult(d, si, per);        /* initiator se */
    sodium_memzero(ei, 32);
    sodium_memzero(er, 32);
    sodium_memzero(d, 32);
    return bad;
}

static int kk_handshake(struct keys *ki, struct keys *kr, const uint8_t pi[32],
                        const uint8_t pr[32])
{
    static const uint8_t prologue[] = "mamori-bus-v1";
    struct noise_hs *hi = NULL, *hr = NULL;
    struct noise_cs *ti = NULL, *ri = NULL, *tr = NULL, *rr = NULL;
    uint8_t m[256], p[64];
    size_t n, pn;
    int r = noise_hs_new(NOISE_KK, NOISE_INITIATOR, ki, pr, prologue, sizeof(prologue), &hi) ||
            noise_hs_new(NOISE_KK, NOISE_RESPONDER, kr, pi, prologue, sizeof(prologue), &hr) ||
            noise_hs_write(hi, NULL, 0, m, sizeof(m), &n) ||
            noise_hs_read(hr, m, n, p, sizeof(p), &pn) ||
            noise_hs_write(hr, NULL, 0, m, sizeof(m), &n) ||
            noise_hs_read(hi, m, n, p, sizeof(p), &pn) || noise_hs_split(hi, &ti, &ri) ||
            noise_hs_split(hr, &tr, &rr);
    noise_cs_free(ti);
    noise_cs_free(ri);
    noise_cs_free(tr);
    noise_cs_free(rr);
    noise_hs_free(hi);
    noise_hs_free(hr);
    return r;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    struct keys *ki, *kr;
    uint8_t si[32], sr[32], pi[32], pr[32];
    if (n < 100 || sodium_init() < 0 || keys_generate(&ki) || keys_generate(&kr)) {
        fprintf(stderr, "usage: bench_noise [N >= 100]\n");
        return 2;
    }
    keys_dh_public(ki, pi);
    keys_dh_public(kr, pr);
    randombytes_buf(si, 32); /* the baseline's own statics (same cost) */
    randombytes_buf(sr, 32);
    crypto_scalarmult_base(pi, si);
    crypto_scalarmult_base(pr, sr);
    uint8_t kpi[32], kpr[32];
    keys_dh_public(ki, kpi);
    keys_dh_public(kr, kpr);

    double *hs = calloc(n, sizeof(double)), *raw = calloc(n, sizeof(double));
    if (hs == NULL || raw == NULL)
        return 1;
    for (size_t i = 0; i < 200; i++) /* warm up */
        if (kk_handshake(ki, kr, kpi, kpr) || raw_x25519(si, sr, pi, pr))
            return 1;
    for (size_t i = 0; i < n; i++) {
        double t0 = now_us();
        if (raw_x25519(si, sr, pi, pr))
            return 1;
        double t1 = now_us();
        if (kk_handshake(ki, kr, kpi, kpr))
            return 1;
        double t2 = now_us();
        raw[i] = t1 - t0;
        hs[i] = t2 - t1;
    }
    double mh = mean(hs, n), mr = mean(raw, n);
    printf("Noise_KK_25519_ChaChaPoly_BLAKE2b, both sides, N=%zu\n", n);
    report("baseline: 10 x X25519", raw, n);
    report("KK handshake + split", hs, n);
    printf("ratio handshake/baseline (means): %.3f; protocol overhead %.1f us\n", mh / mr, mh - mr);
    printf("target <= 400 us per handshake: %s\n", mh <= 400.0 ? "met" : "NOT met");
    free(hs);
    free(raw);
    keys_free(ki);
    keys_free(kr);
    return 0;
}
