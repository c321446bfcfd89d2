/*
 * devkey.c: a card device's DUKPT state file (devkey.h). Owns reading,
 * atomically replacing and erasing dukpt.state; the DUKPT arithmetic is
 * crypto/dukpt.c's, the envelopes cardcrypt.c's.
 */
#include "devices/devkey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secmem.h"
#include "devices/devstate.h"
#include "mamori/err.h"

struct devkey {
    char path[DEVSTATE_PATH_MAX];
    char tmp[DEVSTATE_PATH_MAX];
    char dir[DEVSTATE_PATH_MAX];
    struct dukpt_aes_device *d; /* NULL: no key */
};

int devkey_open(const char *state_dir, struct devkey **ret)
{
    struct devkey *k = calloc(1, sizeof(*k));
    uint8_t *blob = NULL;
    int fd = -1, r = 0;
    if (k == NULL)
        return MAMORI_ERR_NOMEM;
    int n1 = snprintf(k->path, sizeof(k->path), "%s/%s", state_dir, DEVKEY_FILE);
    int n2 = snprintf(k->tmp, sizeof(k->tmp), "%s/%s.tmp", state_dir, DEVKEY_FILE);
    int n3 = snprintf(k->dir, sizeof(k->dir), "%s", state_dir);
    if (n1 < 0 || n2 < 0 || n3 < 0 || (size_t)n2 >= sizeof(k->tmp) || (size_t)n3 >= sizeof(k->dir)) {
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    fd = open(k->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        r = errno == ENOENT ? 0 : MAMORI_ERR_IO;
        goto out;
    }
    if ((blob = secmem_new(DUKPT_AES_STATE_LEN + 1)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    size_t got = 0;
    for (;;) {
        ssize_t m = read(fd, blob + got, DUKPT_AES_STATE_LEN + 1 - got);
        if (m < 0 && errno == EINTR)
            continue;
        if (m < 0) {
            r = MAMORI_ERR_IO;
            goto out;
        }
        if (m == 0 || (got += (size_t)m) > DUKPT_AES_STATE_LEN)
            break;
    }
    if (got != DUKPT_AES_STATE_LEN || dukpt_aes_device_restore(blob, got, &k->d) != 0)
        r = MAMORI_ERR_INVAL;
out:
    if (fd >= 0)
        close(fd);
    secmem_free(blob);
    if (r != 0) {
        devkey_free(k);
        return r;
    }
    *ret = k;
    return 0;
}

void devkey_free(struct devkey *k)
{
    if (k == NULL)
        return;
    dukpt_aes_device_free(k->d);
    free(k);
}

bool devkey_present(const struct devkey *k)
{
    return k != NULL && k->d != NULL;
}

struct dukpt_aes_device *devkey_dukpt(struct devkey *k)
{
    return k != NULL ? k->d : NULL;
}

int devkey_commit(struct devkey *k)
{
    uint8_t *blob;
    int fd = -1, dfd = -1, r;
    if (!devkey_present(k))
        return MAMORI_ERR_STATE;
    if ((blob = secmem_new(DUKPT_AES_STATE_LEN)) == NULL)
        return MAMORI_ERR_NOMEM;
    if ((r = dukpt_aes_device_save(k->d, blob)) != 0)
        goto out;
    fd = open(k->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    size_t off = 0;
    while (off < DUKPT_AES_STATE_LEN) {
        ssize_t w = write(fd, blob + off, DUKPT_AES_STATE_LEN - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            r = MAMORI_ERR_IO;
            goto out;
        }
        off += (size_t)w;
    }
    /* Durable before the result leaves: a restart must never reuse a KSN. */
    if (fsync(fd) != 0 || rename(k->tmp, k->path) != 0) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    dfd = open(k->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    r = dfd >= 0 && fsync(dfd) == 0 ? 0 : MAMORI_ERR_IO;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (r != 0)
        (void)unlink(k->tmp);
    secmem_free(blob);
    return r;
}

int devkey_install(struct devkey *k, const uint8_t *ik, size_t ik_len,
                   const uint8_t ikid[static DUKPT_AES_IKID_LEN])
{
    struct dukpt_aes_device *d = NULL;
    int r;
    if (k == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = dukpt_aes_device_load(ik, ik_len, ikid, &d)) != 0)
        return r;
    dukpt_aes_device_free(k->d);
    k->d = d;
    if ((r = devkey_commit(k)) != 0)
        devkey_erase(k); /* a key that cannot be kept is not kept at all */
    return r;
}

void devkey_erase(struct devkey *k)
{
    if (k == NULL)
        return;
    dukpt_aes_device_free(k->d); /* wipes the registers */
    k->d = NULL;
    /* Overwrite the file before unlinking it, so the registers do not stay
     * readable in freed blocks of a file that still exists elsewhere. */
    int fd = open(k->path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        uint8_t zero[256] = {0};
        for (size_t off = 0; off < DUKPT_AES_STATE_LEN; off += sizeof(zero))
            if (write(fd, zero, sizeof(zero)) < 0)
                break;
        (void)fsync(fd);
        close(fd);
    }
    (void)unlink(k->path);
    (void)unlink(k->tmp);
}
