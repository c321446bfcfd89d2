/*
 * bench_payhost: latency of one card authorisation inside the payment host
 * simulator (request parse -> BDK lookup -> replay check -> MAC verify and
 * decrypt (DUKPT) -> track parse -> PIN block decrypt and check -> issuer
 * rules -> SQLite commit), in process, without TLS or the bus. This is the
 * host's share of the issue-4 end-to-end latency; the bus share is measured
 * with the terminal flow. Usage: bench_payhost [count] (default 2000).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/hex.h"
#include "devices/cardcrypt.h"
#include "payhost/host.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void hexput(json_t *o, const char *k, const uint8_t *p, size_t n)
{
    char s[512];
    hex_encode(s, sizeof(s), p, n);
    json_object_set_new(o, k, json_string(s));
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 2000;
    char dir[] = "/tmp/bench-payhost-XXXXXX", path[256];
    static const uint8_t bdk[16] = {0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
                                    0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1};
    static const uint8_t ikid[8] = {0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56};
    const char *t2 = ";4111111111111111=28121011234567890?";
    if (count < 10 || mkdtemp(dir) == NULL)
        return 2;
    snprintf(path, sizeof(path), "%s/bdk.keys", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "12345678 FEDCBA9876543210F1F1F1F1F1F1F1F1\n");
    fclose(f);
    snprintf(path, sizeof(path), "%s/issuers.txt", dir);
    f = fopen(path, "w");
    fprintf(f, "4111111111111111 1234 100000000 active\n");
    fclose(f);
    struct payhost_config cfg = {.state_dir = dir, .year = 2026, .month = 11};
    struct payhost *h;
    struct dukpt_aes_device *d;
    uint8_t ik[16];
    if (payhost_open(&cfg, &h) != 0 || dukpt_aes_initial_key(bdk, 16, ikid, ik) != 0 ||
        dukpt_aes_device_load(ik, 16, ikid, &d) != 0)
        return 1;
    double *lat = calloc((size_t)count, sizeof(double));
    int approved = 0;
    for (int i = 0; i < count; i++) {
        struct cardcrypt_record rec;
        struct cardcrypt_pin pin;
        if (card_encrypt_tracks(d, NULL, 0, (const uint8_t *)t2, strlen(t2), &rec) != 0 ||
            card_encrypt_pin(d, "1234", "4111111111111111", NULL, &pin) != 0)
            return 1;
        json_t *o = json_pack("{s:s,s:i,s:s}", "type", "sale", "amount", 100, "terminal", "B1");
        json_t *c = json_object(), *p = json_object();
        hexput(c, "ksn", rec.ksn, 12);
        hexput(c, "ct", rec.ct, rec.ct_len);
        hexput(c, "mac", rec.mac, 16);
        hexput(p, "ksn", pin.ksn, 12);
        hexput(p, "block", pin.block, 16);
        json_object_set_new(o, "card", c);
        json_object_set_new(o, "pin", p);
        char *body = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        struct buf out;
        int status;
        const char *reason;
        buf_init(&out, PAYHOST_RESPONSE_MAX);
        double t0 = now();
        int r = payhost_handle(h, body, strlen(body), &out, &status, &reason);
        lat[i] = now() - t0;
        approved += r == 0 && reason[0] == '\0';
        buf_free(&out);
        free(body);
    }
    qsort(lat, (size_t)count, sizeof(double), cmp);
    printf("| host-side authorisation (sale + PIN), in process | n=%d | approved %d | p50 %.3f ms | p99 %.3f ms |\n",
           count, approved, lat[count / 2] * 1e3, lat[count * 99 / 100] * 1e3);
    payhost_close(h);
    dukpt_aes_device_free(d);
    free(lat);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 && approved == count ? 0 : 1;
}
