/*
 * mamori-payhost-testclient: a TEST tool standing for the terminal's MSR and
 * PIN pad firmware in system tests of mamori-payhost. It owns a DUKPT device
 * state file (the injected initial key's future-key registers), encrypts a
 * track and a PIN exactly as src/devices/cardcrypt.c does in the devices,
 * and prints the request body for POST /v1/authorize. It never talks to the
 * network. derive-ik stands for the key injection facility (BDK -> IK).
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/secmem.h"
#include "crypto/dukpt.h"
#include "devices/cardcrypt.h"
#include "mamori/err.h"

static const char usage[] =
    "usage: mamori-payhost-testclient derive-ik --bdk HEX --ikid HEX\n"
    "       mamori-payhost-testclient sale --device FILE --ik HEX --ikid HEX --track2 T [--track1 T]\n"
    "           [--pin PIN --pan PAN] --amount N --terminal ID [--method KIND [--count N]] [--signature]\n";

static const char *opt(int argc, char **argv, const char *name)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static bool flag(int argc, char **argv, const char *name)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

static char *hexdup(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (s != NULL)
        hex_encode(s, 2 * n + 1, p, n);
    return s;
}

static int load_device(const char *path, const char *ik_hex, const char *ikid_hex, struct dukpt_aes_device **ret)
{
    uint8_t blob[DUKPT_AES_STATE_LEN], ik[32], ikid[8];
    size_t n = 0, ikn, idn;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t k = read(fd, blob, sizeof(blob));
        close(fd);
        if (k != (ssize_t)sizeof(blob))
            return MAMORI_ERR_INVAL;
        return dukpt_aes_device_restore(blob, sizeof(blob), ret);
    }
    if (ik_hex == NULL || ikid_hex == NULL || hex_decode(ik, sizeof(ik), ik_hex, &ikn) != 0 ||
        hex_decode(ikid, sizeof(ikid), ikid_hex, &idn) != 0 || idn != 8)
        return MAMORI_ERR_INVAL;
    (void)n;
    int r = dukpt_aes_device_load(ik, ikn, ikid, ret);
    secmem_wipe(ik, sizeof(ik));
    return r;
}

static int save_device(const char *path, const struct dukpt_aes_device *d)
{
    uint8_t blob[DUKPT_AES_STATE_LEN];
    char tmp[4200];
    int r = dukpt_aes_device_save(d, blob);
    if (r != 0)
        return r;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, blob, sizeof(blob)) != (ssize_t)sizeof(blob) || close(fd) != 0 ||
        rename(tmp, path) != 0)
        r = MAMORI_ERR_IO;
    secmem_wipe(blob, sizeof(blob));
    return r;
}

static int sale(int argc, char **argv)
{
    const char *dev = opt(argc, argv, "--device"), *t1 = opt(argc, argv, "--track1"),
               *t2 = opt(argc, argv, "--track2"), *pin = opt(argc, argv, "--pin"), *pan = opt(argc, argv, "--pan"),
               *amount = opt(argc, argv, "--amount"), *term = opt(argc, argv, "--terminal"),
               *method = opt(argc, argv, "--method"), *count = opt(argc, argv, "--count");
    struct dukpt_aes_device *d = NULL;
    struct cardcrypt_record rec;
    struct cardcrypt_pin pb;
    int r;
    if (dev == NULL || (t1 == NULL && t2 == NULL) || amount == NULL || term == NULL || (!pin != !pan)) {
        fputs(usage, stderr);
        return 2;
    }
    if ((r = load_device(dev, opt(argc, argv, "--ik"), opt(argc, argv, "--ikid"), &d)) != 0 ||
        (r = card_encrypt_tracks(d, (const uint8_t *)t1, t1 ? strlen(t1) : 0, (const uint8_t *)t2,
                                 t2 ? strlen(t2) : 0, &rec)) != 0 ||
        (pin != NULL && (r = card_encrypt_pin(d, pin, pan, NULL, &pb)) != 0) || (r = save_device(dev, d)) != 0) {
        fprintf(stderr, "testclient: %s\n", mamori_strerror(r));
        dukpt_aes_device_free(d);
        return 1;
    }
    dukpt_aes_device_free(d);
    json_t *o = json_pack("{s:s,s:I,s:s}", "type", "sale", "amount", (json_int_t)strtoll(amount, NULL, 10),
                          "terminal", term);
    char *k = hexdup(rec.ksn, sizeof(rec.ksn)), *c = hexdup(rec.ct, rec.ct_len), *m = hexdup(rec.mac, 16);
    json_object_set_new(o, "card", json_pack("{s:s,s:s,s:s}", "ksn", k, "ct", c, "mac", m));
    free(k);
    free(c);
    free(m);
    if (pin != NULL) {
        k = hexdup(pb.ksn, sizeof(pb.ksn));
        c = hexdup(pb.block, sizeof(pb.block));
        json_object_set_new(o, "pin", json_pack("{s:s,s:s}", "ksn", k, "block", c));
        free(k);
        free(c);
    }
    if (flag(argc, argv, "--signature"))
        json_object_set_new(o, "signature", json_true());
    if (method != NULL) {
        json_t *mo = json_pack("{s:s}", "kind", method);
        if (count != NULL)
            json_object_set_new(mo, "count", json_integer(strtol(count, NULL, 10)));
        json_object_set_new(o, "method", mo);
    }
    char *s = json_dumps(o, JSON_COMPACT);
    puts(s);
    free(s);
    json_decref(o);
    return 0;
}

static int derive_ik(int argc, char **argv)
{
    const char *bdk_hex = opt(argc, argv, "--bdk"), *ikid_hex = opt(argc, argv, "--ikid");
    uint8_t bdk[32], ikid[8], ik[32];
    size_t bn, idn;
    if (bdk_hex == NULL || ikid_hex == NULL || hex_decode(bdk, sizeof(bdk), bdk_hex, &bn) != 0 ||
        hex_decode(ikid, sizeof(ikid), ikid_hex, &idn) != 0 || idn != 8) {
        fputs(usage, stderr);
        return 2;
    }
    if (dukpt_aes_initial_key(bdk, bn, ikid, ik) != 0)
        return 1;
    char *s = hexdup(ik, bn);
    puts(s);
    free(s);
    secmem_wipe(ik, sizeof(ik));
    secmem_wipe(bdk, sizeof(bdk));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "derive-ik") == 0)
        return derive_ik(argc, argv);
    if (strcmp(argv[1], "sale") == 0)
        return sale(argc, argv);
    fputs(usage, stderr);
    return 2;
}
