/*
 * devstate.c: atomic state files and append-only output files for simulated
 * devices. Owns file handling only; the meaning of each file's contents
 * belongs to the class that writes it.
 */
#include "devices/devstate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/devbody.h"
#include "mamori/err.h"

static int path_of(char *out, const char *dir, const char *name, const char *suffix)
{
    int n = snprintf(out, DEVSTATE_PATH_MAX, "%s/%s%s", dir, name, suffix);
    if (n < 0 || n >= DEVSTATE_PATH_MAX)
        return MAMORI_ERR_TOOBIG;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return MAMORI_ERR_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* libcbor allocates a container's declared size before reading it; refuse a
 * file whose declared counts exceed its own length (a corrupt or planted state
 * file must fail as INVAL, not as a giant allocation). */
struct devstate_scan {
    size_t remaining;
    bool bad;
};

static void scan_count(void *ctx, size_t n)
{
    struct devstate_scan *s = ctx;
    if (n > s->remaining)
        s->bad = true;
}

static void scan_str(void *ctx, cbor_data d, uint64_t n)
{
    (void)d;
    scan_count(ctx, n > SIZE_MAX ? SIZE_MAX : (size_t)n);
}

static bool sizes_plausible(const uint8_t *p, size_t n)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    struct devstate_scan s = {.remaining = n, .bad = false};
    size_t off = 0;
    cb.array_start = scan_count;
    cb.map_start = scan_count;
    cb.string = scan_str;
    cb.byte_string = scan_str;
    while (off < n && !s.bad) {
        s.remaining = n - off;
        struct cbor_decoder_result r = cbor_stream_decode(p + off, n - off, &cb, &s);
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
            return false;
        off += r.read;
    }
    return !s.bad;
}

int devstate_load(const char *dir, const char *name, cbor_item_t **ret)
{
    char path[DEVSTATE_PATH_MAX];
    uint8_t *data = NULL;
    int fd = -1, r;
    struct stat st;
    struct cbor_load_result res;
    if ((r = path_of(path, dir, name, "")))
        return r;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_IO;
    if (fstat(fd, &st) != 0) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    if (st.st_size <= 0 || (uint64_t)st.st_size > DEVSTATE_MAX) {
        r = st.st_size <= 0 ? MAMORI_ERR_INVAL : MAMORI_ERR_TOOBIG;
        goto out;
    }
    size_t n = (size_t)st.st_size, got = 0;
    data = malloc(n);
    if (data == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    while (got < n) {
        ssize_t k = read(fd, data + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            r = MAMORI_ERR_IO;
            goto out;
        }
        got += (size_t)k;
    }
    if (!sizes_plausible(data, n)) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    cbor_item_t *item = cbor_load(data, n, &res);
    if (item == NULL || res.error.code != CBOR_ERR_NONE || res.read != n) {
        if (item != NULL)
            cbor_decref(&item);
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    *ret = item;
    r = 0;
out:
    free(data);
    close(fd);
    return r;
}

/* Write item to dir/name via a temporary file and rename; durable: fsync the
 * file before and the directory after the rename. */
static int save(const char *dir, const char *name, const cbor_item_t *item, bool durable)
{
    char path[DEVSTATE_PATH_MAX], tmp[DEVSTATE_PATH_MAX];
    unsigned char *data = NULL;
    size_t cap = 0;
    int fd = -1, dfd = -1, r;
    if ((r = path_of(path, dir, name, "")) || (r = path_of(tmp, dir, name, ".tmp")))
        return r;
    size_t n = cbor_serialize_alloc(item, &data, &cap);
    if (n == 0) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    if (n > DEVSTATE_MAX) {
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    if ((r = write_all(fd, data, n)))
        goto out;
    if (durable && fsync(fd) != 0) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    r = close(fd);
    fd = -1;
    if (r != 0) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    if (rename(tmp, path) != 0) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    if (!durable) {
        r = 0;
        goto out;
    }
    /* The rename is durable only once the directory is synced. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    free(data);
    return r;
}

int devstate_save(const char *dir, const char *name, const cbor_item_t *item)
{
    return save(dir, name, item, true);
}

int devstate_save_volatile(const char *dir, const char *name, const cbor_item_t *item)
{
    return save(dir, name, item, false);
}

int devstate_remove(const char *dir, const char *name)
{
    char path[DEVSTATE_PATH_MAX];
    int r;
    if ((r = path_of(path, dir, name, "")))
        return r;
    return unlink(path) == 0 || errno == ENOENT ? 0 : MAMORI_ERR_IO;
}

int devstate_append(const char *dir, const char *name, const void *p, size_t n, size_t max)
{
    char path[DEVSTATE_PATH_MAX];
    struct stat st;
    int fd, r;
    if ((r = path_of(path, dir, name, "")))
        return r;
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return MAMORI_ERR_IO;
    if (fstat(fd, &st) != 0) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    if ((uint64_t)st.st_size > max || n > max - (size_t)st.st_size) {
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    if ((r = write_all(fd, p, n)))
        goto out;
    r = fsync(fd) == 0 ? 0 : MAMORI_ERR_IO;
out:
    close(fd);
    return r;
}

/* Copy s into out up to the first control character (keeps a note one line). */
static void one_line(char *out, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s != NULL && s[i] != '\0' && i + 1 < cap; i++) {
        if ((unsigned char)s[i] < 0x20)
            break;
        out[i] = s[i];
    }
    out[i] = '\0';
}

int devstate_note(const char *dir, const char *event, const char *detail)
{
    char ev[64], de[256], line[400];
    one_line(ev, sizeof(ev), event);
    one_line(de, sizeof(de), detail);
    int n = snprintf(line, sizeof(line), "%lld %s %s\n", (long long)time(NULL), ev, de);
    if (n < 0 || (size_t)n >= sizeof(line))
        return MAMORI_ERR_INTERNAL;
    return devstate_append(dir, "device.log", line, (size_t)n, DEVSTATE_NOTES_MAX);
}

int devstate_store(const char *dir, const struct devstate_file *f, const void *state)
{
    cbor_item_t *m = devbody_new();
    int r = m == NULL || f->encode(state, m) ? MAMORI_ERR_NOMEM : devstate_save(dir, f->name, m);
    if (m != NULL)
        cbor_decref(&m);
    return r;
}

int devstate_open(const char *dir, const struct devstate_file *f, void *state)
{
    cbor_item_t *st = NULL;
    int r = devstate_load(dir, f->name, &st);
    if (r == MAMORI_ERR_NOTFOUND) {
        if (f->defaults != NULL)
            f->defaults(state);
        return devstate_store(dir, f, state);
    }
    if (r != 0)
        return r;
    r = f->decode(state, st) ? MAMORI_ERR_INVAL : 0;
    cbor_decref(&st);
    return r;
}

int devstate_dir(char out[DEVSTATE_PATH_MAX], const char *dir)
{
    size_t n = strlen(dir);
    if (n >= DEVSTATE_PATH_MAX)
        return MAMORI_ERR_TOOBIG;
    memcpy(out, dir, n + 1);
    return 0;
}

/* devstate_ints as a devstate_file: s->n integers under s->keys. */
static int ints_encode(const void *state, cbor_item_t *m)
{
    const struct devstate_ints *s = state;
    int r = 0;
    for (size_t i = 0; i < s->n && r == 0; i++)
        r = devbody_put_int(m, s->keys[i], s->v[i]);
    return r;
}

static int ints_decode(void *state, const cbor_item_t *st)
{
    struct devstate_ints *s = state;
    for (size_t i = 0; i < s->n; i++)
        if (devbody_get_int(st, s->keys[i], 0, INT64_MAX, &s->v[i]) != 0)
            return MAMORI_ERR_INVAL;
    return 0;
}

int devstate_ints_store(const struct devstate_ints *s)
{
    const struct devstate_file f = {s->name, ints_encode, ints_decode, NULL};
    return devstate_store(s->dir, &f, s);
}

int devstate_ints_open(struct devstate_ints *s, const char *dir, const struct device_io *io,
                       const char *name, const char *const *keys, const int64_t *defaults,
                       size_t n)
{
    const struct devstate_file f = {name, ints_encode, ints_decode, NULL};
    int r;
    if (n > DEVSTATE_INTS_MAX)
        return MAMORI_ERR_LIMIT;
    if ((r = devstate_dir(s->dir, dir)))
        return r;
    s->io = *io;
    s->name = name;
    s->keys = keys;
    s->n = n;
    memcpy(s->v, defaults, n * sizeof(s->v[0]));
    return devstate_open(dir, &f, s);
}
