/*
 * seal.c: forward-secure MAC chain (see seal.h). Owns the key evolution, the
 * MAC construction, the two-slot state file and the forward-only verifier.
 * Does not own what is sealed (the audit log decides the message bytes).
 */
#include "crypto/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/secmem.h"
#include "mamori/err.h"

#define SEAL_EVOLVE_LABEL "mamori-seal-evolve"
#define SEAL_MAGIC "mamori-seal-v1\n"
#define SEAL_MAGIC_LEN (sizeof(SEAL_MAGIC) - 1)
/* slot: magic(15) epoch(8) key(32) check(32) */
#define SEAL_SLOT_LEN (SEAL_MAGIC_LEN + 8 + SEAL_KEY_LEN + 32)
/* Slots sit in different 512-byte sectors so one torn write hits one slot. */
#define SEAL_SLOT_STRIDE 512
#define SEAL_FILE_LEN (2 * SEAL_SLOT_STRIDE)

struct seal_secret {
    uint8_t key[SEAL_KEY_LEN];
};

struct seal {
    struct seal_secret *sec; /* guarded */
    uint64_t epoch;
    char *path; /* NULL: in memory */
};

struct seal_verifier {
    struct seal_secret *sec;
    uint64_t epoch;
};

static void put_be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | in[i];
    return v;
}

/* key <- H(label || key), in place; the temporaries are wiped. */
static void evolve(uint8_t key[SEAL_KEY_LEN])
{
    uint8_t in[sizeof(SEAL_EVOLVE_LABEL) - 1 + SEAL_KEY_LEN];
    memcpy(in, SEAL_EVOLVE_LABEL, sizeof(SEAL_EVOLVE_LABEL) - 1);
    memcpy(in + sizeof(SEAL_EVOLVE_LABEL) - 1, key, SEAL_KEY_LEN);
    crypto_generichash(key, SEAL_KEY_LEN, in, sizeof(in), NULL, 0);
    sodium_memzero(in, sizeof(in));
}

static void mac(const uint8_t key[SEAL_KEY_LEN], uint64_t epoch, const uint8_t *msg, size_t n,
                uint8_t out[SEAL_MAC_LEN])
{
    crypto_generichash_state st;
    uint8_t e[8];
    put_be64(e, epoch);
    crypto_generichash_init(&st, key, SEAL_KEY_LEN, SEAL_MAC_LEN);
    if (n > 0)
        crypto_generichash_update(&st, msg, n);
    crypto_generichash_update(&st, e, sizeof(e));
    crypto_generichash_final(&st, out, SEAL_MAC_LEN);
    sodium_memzero(&st, sizeof(st));
}

static int seal_alloc(const uint8_t key[SEAL_KEY_LEN], uint64_t epoch, const char *path, struct seal **ret)
{
    struct seal *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MAMORI_ERR_NOMEM;
    s->sec = secmem_new(sizeof(*s->sec));
    if (s->sec == NULL || (path != NULL && (s->path = strdup(path)) == NULL)) {
        seal_free(s);
        return MAMORI_ERR_NOMEM;
    }
    memcpy(s->sec->key, key, SEAL_KEY_LEN);
    s->epoch = epoch;
    *ret = s;
    return 0;
}

void seal_free(struct seal *s)
{
    if (s == NULL)
        return;
    secmem_free(s->sec);
    free(s->path);
    free(s);
}

uint64_t seal_epoch(const struct seal *s)
{
    return s->epoch;
}

static void slot_encode(uint8_t out[SEAL_SLOT_LEN], uint64_t epoch, const uint8_t key[SEAL_KEY_LEN])
{
    memcpy(out, SEAL_MAGIC, SEAL_MAGIC_LEN);
    put_be64(out + SEAL_MAGIC_LEN, epoch);
    memcpy(out + SEAL_MAGIC_LEN + 8, key, SEAL_KEY_LEN);
    crypto_generichash(out + SEAL_MAGIC_LEN + 8 + SEAL_KEY_LEN, 32, out, SEAL_MAGIC_LEN + 8 + SEAL_KEY_LEN,
                       NULL, 0);
}

static bool slot_decode(const uint8_t in[SEAL_SLOT_LEN], uint64_t *epoch, uint8_t key[SEAL_KEY_LEN])
{
    uint8_t check[32];
    if (memcmp(in, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
        return false;
    crypto_generichash(check, sizeof(check), in, SEAL_MAGIC_LEN + 8 + SEAL_KEY_LEN, NULL, 0);
    if (memcmp(check, in + SEAL_MAGIC_LEN + 8 + SEAL_KEY_LEN, 32) != 0)
        return false;
    *epoch = get_be64(in + SEAL_MAGIC_LEN);
    memcpy(key, in + SEAL_MAGIC_LEN + 8, SEAL_KEY_LEN);
    return true;
}

static int write_full_at(int fd, const uint8_t *p, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return MAMORI_ERR_IO;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Both slots become (epoch, key): the older-epoch slot first, each followed by
 * fdatasync (the file's size never changes after creation), so at every
 * instant one slot holds a valid state. */
static int state_write(int fd, uint64_t epoch, const uint8_t key[SEAL_KEY_LEN], int first_slot)
{
    uint8_t slot[SEAL_SLOT_LEN];
    int r;
    slot_encode(slot, epoch, key);
    r = write_full_at(fd, slot, sizeof(slot), (off_t)first_slot * SEAL_SLOT_STRIDE);
    if (r == 0 && fdatasync(fd) != 0)
        r = MAMORI_ERR_IO;
    if (r == 0)
        r = write_full_at(fd, slot, sizeof(slot), (off_t)(1 - first_slot) * SEAL_SLOT_STRIDE);
    if (r == 0 && fdatasync(fd) != 0)
        r = MAMORI_ERR_IO;
    sodium_memzero(slot, sizeof(slot));
    return r;
}

/* Read both slots; the valid one with the higher epoch wins. *ret_older is the
 * index of the slot to overwrite first. */
static int state_read(int fd, uint64_t *ret_epoch, uint8_t ret_key[SEAL_KEY_LEN], int *ret_older)
{
    uint8_t file[SEAL_FILE_LEN];
    uint8_t k[2][SEAL_KEY_LEN];
    uint64_t e[2] = {0, 0};
    bool ok[2];
    ssize_t n;
    int best, r = 0;
    memset(file, 0, sizeof(file));
    do
        n = pread(fd, file, sizeof(file), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return MAMORI_ERR_IO;
    for (int i = 0; i < 2; i++)
        ok[i] = (size_t)n >= (size_t)i * SEAL_SLOT_STRIDE + SEAL_SLOT_LEN &&
                slot_decode(file + i * SEAL_SLOT_STRIDE, &e[i], k[i]);
    if (!ok[0] && !ok[1]) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    best = !ok[0] || (ok[1] && e[1] > e[0]) ? 1 : 0;
    *ret_epoch = e[best];
    memcpy(ret_key, k[best], SEAL_KEY_LEN);
    if (ret_older != NULL)
        *ret_older = 1 - best;
out:
    sodium_memzero(file, sizeof(file));
    sodium_memzero(k, sizeof(k));
    return r;
}

/* fsync the directory holding path, so a new file's name is durable too. */
static int sync_dir_of(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    int fd, r = 0;
    if (n >= sizeof(dir))
        return MAMORI_ERR_TOOBIG;
    if (n == 0) {
        dir[0] = slash ? '/' : '.';
        dir[1] = '\0';
    } else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return MAMORI_ERR_IO;
    if (fsync(fd) != 0)
        r = MAMORI_ERR_IO;
    close(fd);
    return r;
}

int seal_create(const char *path, uint8_t ret_key0[static SEAL_KEY_LEN], struct seal **ret)
{
    uint8_t key[SEAL_KEY_LEN];
    struct seal *s = NULL;
    int r, fd = -1;
    if (sodium_init() < 0)
        return MAMORI_ERR_CRYPTO;
    randombytes_buf(key, sizeof(key));
    if ((r = seal_alloc(key, 0, path, &s)) != 0)
        goto out;
    if (path != NULL) {
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            r = errno == EEXIST ? MAMORI_ERR_EXISTS : MAMORI_ERR_IO;
            goto out;
        }
        if ((r = state_write(fd, 0, key, 0)) != 0 || (r = sync_dir_of(path)) != 0) {
            unlink(path);
            goto out;
        }
    }
    memcpy(ret_key0, key, SEAL_KEY_LEN);
    *ret = s;
    s = NULL;
out:
    if (fd >= 0)
        close(fd);
    seal_free(s);
    sodium_memzero(key, sizeof(key));
    return r;
}

int seal_read_state(const char *path, uint64_t *ret_epoch, uint8_t ret_key[static SEAL_KEY_LEN])
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int r;
    if (fd < 0)
        return errno == ENOENT ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_IO;
    r = state_read(fd, ret_epoch, ret_key, NULL);
    close(fd);
    return r;
}

int seal_open(const char *path, struct seal **ret)
{
    uint8_t key[SEAL_KEY_LEN];
    uint64_t epoch;
    int r;
    if (sodium_init() < 0)
        return MAMORI_ERR_CRYPTO;
    if ((r = seal_read_state(path, &epoch, key)) == 0)
        r = seal_alloc(key, epoch, path, ret);
    sodium_memzero(key, sizeof(key));
    return r;
}

int seal_from_key(const uint8_t key0[static SEAL_KEY_LEN], struct seal **ret)
{
    if (sodium_init() < 0)
        return MAMORI_ERR_CRYPTO;
    return seal_alloc(key0, 0, NULL, ret);
}

int seal_from_key_at(const uint8_t key[static SEAL_KEY_LEN], uint64_t epoch, struct seal **ret)
{
    if (sodium_init() < 0)
        return MAMORI_ERR_CRYPTO;
    return seal_alloc(key, epoch, NULL, ret);
}

int seal_entry(struct seal *s, const uint8_t *msg, size_t n, uint8_t ret_mac[static SEAL_MAC_LEN],
               uint64_t *ret_epoch)
{
    if (s->epoch == UINT64_MAX)
        return MAMORI_ERR_TOOBIG;
    mac(s->sec->key, s->epoch, msg, n, ret_mac);
    if (ret_epoch != NULL)
        *ret_epoch = s->epoch;
    evolve(s->sec->key);
    s->epoch++;
    return 0;
}

int seal_tag(struct seal *s, const uint8_t *msg, size_t n, uint8_t ret_mac[static SEAL_MAC_LEN])
{
    mac(s->sec->key, s->epoch, msg, n, ret_mac);
    return 0;
}

int seal_advance(struct seal *s, uint64_t epoch)
{
    if (epoch < s->epoch)
        return MAMORI_ERR_STATE;
    while (s->epoch < epoch) {
        evolve(s->sec->key);
        s->epoch++;
    }
    return 0;
}

int seal_dup(const struct seal *s, struct seal **ret)
{
    return seal_alloc(s->sec->key, s->epoch, NULL, ret);
}

void seal_restore(struct seal *s, const struct seal *snap)
{
    memcpy(s->sec->key, snap->sec->key, SEAL_KEY_LEN);
    s->epoch = snap->epoch;
}

int seal_persist(struct seal *s)
{
    uint8_t key[SEAL_KEY_LEN];
    uint64_t e;
    int older = 0, fd, r;
    if (s->path == NULL)
        return 0;
    fd = open(s->path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return MAMORI_ERR_IO;
    /* Writers in several processes share the file: under an exclusive lock,
     * never move it backwards (a slower writer must not put back an older
     * key). Which slot is older decides the write order; an unreadable file
     * is rewritten from slot 0. */
    if (flock(fd, LOCK_EX) != 0) {
        close(fd);
        return MAMORI_ERR_IO;
    }
    if (state_read(fd, &e, key, &older) != 0) {
        older = 0;
        e = 0;
    } else if (e >= s->epoch) {
        sodium_memzero(key, sizeof(key));
        close(fd);
        return 0;
    }
    sodium_memzero(key, sizeof(key));
    r = state_write(fd, s->epoch, s->sec->key, older);
    if (close(fd) != 0 && r == 0)
        r = MAMORI_ERR_IO;
    return r;
}

/* ---- verifier ---- */

int seal_verifier_new(const uint8_t key0[static SEAL_KEY_LEN], struct seal_verifier **ret)
{
    struct seal_verifier *v;
    if (sodium_init() < 0)
        return MAMORI_ERR_CRYPTO;
    v = calloc(1, sizeof(*v));
    if (v == NULL)
        return MAMORI_ERR_NOMEM;
    v->sec = secmem_new(sizeof(*v->sec));
    if (v->sec == NULL) {
        free(v);
        return MAMORI_ERR_NOMEM;
    }
    memcpy(v->sec->key, key0, SEAL_KEY_LEN);
    *ret = v;
    return 0;
}

void seal_verifier_free(struct seal_verifier *v)
{
    if (v == NULL)
        return;
    secmem_free(v->sec);
    free(v);
}

int seal_verifier_dup(const struct seal_verifier *v, struct seal_verifier **ret)
{
    struct seal_verifier *c;
    int r = seal_verifier_new(v->sec->key, &c);
    if (r != 0)
        return r;
    c->epoch = v->epoch;
    *ret = c;
    return 0;
}

void seal_verifier_copy(struct seal_verifier *dst, const struct seal_verifier *src)
{
    memcpy(dst->sec->key, src->sec->key, SEAL_KEY_LEN);
    dst->epoch = src->epoch;
}

uint64_t seal_verifier_epoch(const struct seal_verifier *v)
{
    return v->epoch;
}

static int verifier_goto(struct seal_verifier *v, uint64_t epoch)
{
    if (epoch < v->epoch)
        return MAMORI_ERR_STATE;
    while (v->epoch < epoch) {
        evolve(v->sec->key);
        v->epoch++;
    }
    return 0;
}

int seal_verifier_check(struct seal_verifier *v, uint64_t epoch, const uint8_t *msg, size_t n,
                        const uint8_t want[static SEAL_MAC_LEN])
{
    uint8_t got[SEAL_MAC_LEN];
    int r = verifier_goto(v, epoch);
    if (r != 0)
        return r;
    mac(v->sec->key, epoch, msg, n, got);
    /* constant time, and much faster than a byte loop at a million entries */
    r = crypto_verify_32(got, want) == 0 ? 0 : MAMORI_ERR_AUTH;
    sodium_memzero(got, sizeof(got));
    return r;
}

int seal_verifier_key_is(struct seal_verifier *v, uint64_t epoch, const uint8_t key[static SEAL_KEY_LEN])
{
    int r = verifier_goto(v, epoch);
    if (r != 0)
        return r;
    return secmem_eq(v->sec->key, key, SEAL_KEY_LEN) ? 0 : MAMORI_ERR_AUTH;
}
