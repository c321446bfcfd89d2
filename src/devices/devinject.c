/*
 * devinject.c: KBPK components and TR-31 injection on the device
 * (devinject.h). Owns the component slots, kbpk.state and the checks on an
 * incoming key block; TR-31 itself is crypto/tr31.c's, DUKPT state devkey.c's.
 */
#include "devices/devinject.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/secmem.h"
#include "crypto/kcv.h"
#include "crypto/tr31.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devstate.h"
#include "mamori/err.h"

#define DEVINJECT_KEY_MAX 32

struct devinject {
    char path[DEVSTATE_PATH_MAX];
    uint8_t *comp[2];   /* guarded: the custodians' components until combined */
    size_t comp_len[2]; /* 0: not entered */
    uint8_t *kbpk;      /* guarded */
    size_t kbpk_len;    /* 0: no KBPK */
};

static void wipe_slot(uint8_t *p)
{
    secmem_write(p);
    secmem_wipe(p, DEVINJECT_KEY_MAX);
    secmem_lock(p);
}

int devinject_open(const char *state_dir, struct devinject **ret)
{
    struct devinject *j = calloc(1, sizeof(*j));
    int fd = -1, r = 0;
    if (j == NULL)
        return MAMORI_ERR_NOMEM;
    int n = snprintf(j->path, sizeof(j->path), "%s/%s", state_dir, DEVINJECT_FILE);
    if (n < 0 || (size_t)n >= sizeof(j->path)) {
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    if ((r = secmem_init()) != 0)
        goto out;
    j->comp[0] = secmem_new(DEVINJECT_KEY_MAX);
    j->comp[1] = secmem_new(DEVINJECT_KEY_MAX);
    j->kbpk = secmem_new(DEVINJECT_KEY_MAX + 1);
    if (j->comp[0] == NULL || j->comp[1] == NULL || j->kbpk == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        r = errno == ENOENT ? 0 : MAMORI_ERR_IO;
    } else {
        ssize_t k = read(fd, j->kbpk, DEVINJECT_KEY_MAX + 1);
        if (k == 16 || k == 24 || k == 32)
            j->kbpk_len = (size_t)k;
        else
            r = MAMORI_ERR_INVAL; /* fail closed on a damaged file */
    }
    secmem_lock(j->comp[0]);
    secmem_lock(j->comp[1]);
    secmem_lock(j->kbpk);
out:
    if (fd >= 0)
        close(fd);
    if (r != 0) {
        devinject_free(j);
        return r;
    }
    *ret = j;
    return 0;
}

void devinject_free(struct devinject *j)
{
    if (j == NULL)
        return;
    secmem_free(j->comp[0]);
    secmem_free(j->comp[1]);
    secmem_free(j->kbpk);
    free(j);
}

bool devinject_ready(const struct devinject *j)
{
    return j != NULL && j->kbpk_len > 0;
}

static int store_kbpk(struct devinject *j)
{
    char tmp[DEVSTATE_PATH_MAX + 8];
    int fd, r = MAMORI_ERR_IO;
    snprintf(tmp, sizeof(tmp), "%s.tmp", j->path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return MAMORI_ERR_IO;
    secmem_read(j->kbpk);
    if (write(fd, j->kbpk, j->kbpk_len) == (ssize_t)j->kbpk_len && fsync(fd) == 0)
        r = 0;
    secmem_lock(j->kbpk);
    close(fd);
    if (r == 0 && rename(tmp, j->path) != 0)
        r = MAMORI_ERR_IO;
    if (r != 0)
        (void)unlink(tmp);
    return r;
}

int devinject_control(struct devinject *j, int argc, char **argv, struct buf *answer)
{
    char kcv[2 * KCV_LEN + 1];
    size_t len = 0;
    int r;
    if (argc < 1 || strcmp(argv[0], "kbpk") != 0)
        return MAMORI_ERR_UNSUPPORTED;
    if (argc != 3 || (strcmp(argv[1], "1") != 0 && strcmp(argv[1], "2") != 0)) {
        devctl_answer(answer, "usage: kbpk 1|2 HEX (one custodian's component)");
        return MAMORI_ERR_INVAL;
    }
    int i = argv[1][0] - '1';
    size_t hl = strlen(argv[2]);
    secmem_write(j->comp[i]);
    r = hl == 32 || hl == 48 || hl == 64 ? hex_decode(j->comp[i], DEVINJECT_KEY_MAX, argv[2], &len)
                                         : MAMORI_ERR_INVAL;
    secmem_wipe(argv[2], hl); /* the runner's copy of the component */
    if (r == 0 && (len != hl / 2 || kcv_hex(SYMM_AES, j->comp[i], len, KCV_LEN, kcv, sizeof(kcv)) != 0))
        r = MAMORI_ERR_INVAL;
    secmem_lock(j->comp[i]);
    if (r != 0) {
        wipe_slot(j->comp[i]);
        devctl_answer(answer, "component refused (16, 24 or 32 bytes in hex)");
        return MAMORI_ERR_INVAL;
    }
    j->comp_len[i] = len;
    if (j->comp_len[0] == 0 || j->comp_len[1] == 0)
        return devctl_answer(answer, "component %d KCV %s", i + 1, kcv);
    if (j->comp_len[0] != j->comp_len[1]) {
        wipe_slot(j->comp[0]);
        wipe_slot(j->comp[1]);
        j->comp_len[0] = j->comp_len[1] = 0;
        devctl_answer(answer, "components differ in length: both cleared");
        return MAMORI_ERR_INVAL;
    }
    /* Both in: KBPK = c1 XOR c2; the components are wiped either way. */
    bool zero = true;
    secmem_read(j->comp[0]);
    secmem_read(j->comp[1]);
    secmem_write(j->kbpk);
    for (size_t k = 0; k < len; k++) {
        j->kbpk[k] = j->comp[0][k] ^ j->comp[1][k];
        zero = zero && j->kbpk[k] == 0;
    }
    char kbpk_kcv[2 * KCV_LEN + 1] = "";
    r = zero ? MAMORI_ERR_INVAL : kcv_hex(SYMM_AES, j->kbpk, len, KCV_LEN, kbpk_kcv, sizeof(kbpk_kcv));
    secmem_lock(j->kbpk);
    secmem_lock(j->comp[0]);
    secmem_lock(j->comp[1]);
    wipe_slot(j->comp[0]);
    wipe_slot(j->comp[1]);
    j->comp_len[0] = j->comp_len[1] = 0;
    if (r == 0) {
        j->kbpk_len = len;
        r = store_kbpk(j);
    }
    if (r != 0) {
        wipe_slot(j->kbpk);
        j->kbpk_len = 0;
        devctl_answer(answer, zero ? "equal components refused" : "KBPK not stored");
        return r;
    }
    return devctl_answer(answer, "component %d KCV %s; KBPK formed, KCV %s", i + 1, kcv, kbpk_kcv);
}

int devinject_request(struct devinject *j, struct devkey *key, const char *state_dir,
                      const cbor_item_t *body, cbor_item_t **ret_reply)
{
    char kb[DEVINJECT_KB_MAX + 1], kcv[2 * KCV_LEN + 1], note[64];
    const uint8_t *ikid;
    size_t ikid_len, ik_len = 0;
    uint8_t *ik = NULL;
    struct tr31_header h;
    int r;
    if ((r = devbody_get_str(body, "block", kb, sizeof(kb))) ||
        (r = devbody_get_bytes(body, "ikid", DUKPT_AES_IKID_LEN, &ikid, &ikid_len)))
        return r == MAMORI_ERR_NOTFOUND ? MAMORI_ERR_INVAL : r;
    if (ikid_len != DUKPT_AES_IKID_LEN)
        return MAMORI_ERR_INVAL;
    if (!devinject_ready(j))
        return MAMORI_ERR_STATE; /* no KBPK: the custodians have not been at the device */
    secmem_read(j->kbpk);
    r = tr31_unwrap(j->kbpk, j->kbpk_len, kb, strlen(kb), &h, &ik, &ik_len);
    secmem_lock(j->kbpk);
    if (r != 0)
        return r;
    if (strcmp(h.usage, "B1") != 0 || h.algorithm != 'A' ||
        (ik_len != 16 && ik_len != 24 && ik_len != 32)) {
        r = MAMORI_ERR_INVAL; /* only an AES initial DUKPT key belongs here */
        goto out;
    }
    if ((r = kcv_hex(SYMM_AES, ik, ik_len, KCV_LEN, kcv, sizeof(kcv))) != 0 ||
        (r = devkey_install(key, ik, ik_len, ikid)) != 0)
        goto out;
    snprintf(note, sizeof(note), "kcv=%s", kcv);
    (void)devstate_note(state_dir, "key.injected", note);
    cbor_item_t *m = devbody_new();
    if (devbody_put_str(m, "kcv", kcv)) {
        if (m != NULL)
            cbor_decref(&m);
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    *ret_reply = m;
out:
    tr31_key_free(ik);
    return r;
}

void devinject_erase(struct devinject *j)
{
    if (j == NULL)
        return;
    wipe_slot(j->comp[0]);
    wipe_slot(j->comp[1]);
    secmem_write(j->kbpk);
    secmem_wipe(j->kbpk, DEVINJECT_KEY_MAX + 1);
    secmem_lock(j->kbpk);
    j->comp_len[0] = j->comp_len[1] = 0;
    j->kbpk_len = 0;
    int fd = open(j->path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        uint8_t zero[DEVINJECT_KEY_MAX] = {0};
        (void)!write(fd, zero, sizeof(zero));
        (void)fsync(fd);
        close(fd);
    }
    (void)unlink(j->path);
}
