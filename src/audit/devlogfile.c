/*
 * devlogfile.c: the device's own log file (devlogfile.h). Owns the file
 * layout, durability of each append and the rebuild of the chain position;
 * the entry format and signing are devlog.c's.
 */
#include "audit/devlogfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mamori/err.h"

struct devlog_file {
    int fd;
    struct keys *key;
    struct devlog_chain chain;
    uint64_t size;
};

static int read_all(int fd, uint8_t **ret, size_t *ret_n)
{
    struct stat st;
    uint8_t *p;
    size_t got = 0;
    if (fstat(fd, &st) != 0)
        return MAMORI_ERR_IO;
    if ((uint64_t)st.st_size > DEVLOG_FILE_MAX_BYTES)
        return MAMORI_ERR_TOOBIG;
    p = malloc((size_t)st.st_size + 1);
    if (p == NULL)
        return MAMORI_ERR_NOMEM;
    while (got < (size_t)st.st_size) {
        ssize_t k = pread(fd, p + got, (size_t)st.st_size - got, (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break; /* shrank meanwhile: use what is there */
        got += (size_t)k;
    }
    *ret = p;
    *ret_n = got;
    return 0;
}

int devlog_file_open(const char *path, const char *serial, struct keys *log_key, struct devlog_file **ret)
{
    struct devlog_file *f = calloc(1, sizeof(*f));
    struct devlog_entry *e = NULL;
    uint8_t *p = NULL;
    size_t n = 0, good = 0;
    int r;
    if (f == NULL)
        return MAMORI_ERR_NOMEM;
    f->key = log_key;
    if ((r = devlog_chain_init(&f->chain, serial)) != 0)
        goto fail;
    f->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        r = MAMORI_ERR_IO;
        goto fail;
    }
    if ((r = read_all(f->fd, &p, &n)) != 0)
        goto fail;
    e = malloc(sizeof(*e));
    if (e == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto fail;
    }
    {
        struct buf b;
        buf_view(&b, p, n);
        while (buf_remaining(&b) > 0) {
            size_t at = b.off;
            if (devlog_read(&b, e) != 0) {
                b.off = at;
                break;
            }
            if (strcmp(e->serial, f->chain.serial) != 0) {
                r = MAMORI_ERR_INVAL;
                goto fail;
            }
            if ((r = devlog_hash(e, f->chain.last_hash)) != 0)
                goto fail;
            f->chain.next_seq = e->seq + 1;
            good = b.off;
        }
    }
    if (good < n) {
        /* A torn last append (crash): cut it so the next entry follows the last whole one. */
        if (ftruncate(f->fd, (off_t)good) != 0 || fsync(f->fd) != 0) {
            r = MAMORI_ERR_IO;
            goto fail;
        }
    }
    f->size = good;
    free(p);
    free(e);
    *ret = f;
    return 0;
fail:
    free(p);
    free(e);
    devlog_file_close(f);
    return r;
}

void devlog_file_close(struct devlog_file *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f);
}

uint64_t devlog_file_next_seq(const struct devlog_file *f)
{
    return f->chain.next_seq;
}

int devlog_file_append(struct devlog_file *f, const char *event, const uint8_t *details, size_t n,
                       int64_t time_ns)
{
    struct devlog_chain before = f->chain;
    struct buf out;
    size_t done = 0;
    int r;
    buf_init(&out, DEVLOG_ENTRY_MAX + 4);
    if ((r = devlog_append(&f->chain, f->key, event, details, n, time_ns, &out)) != 0)
        goto out;
    if (f->size + buf_remaining(&out) > DEVLOG_FILE_MAX_BYTES) {
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    while (done < buf_remaining(&out)) {
        ssize_t k = write(f->fd, buf_ptr(&out) + done, buf_remaining(&out) - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            r = MAMORI_ERR_IO;
            break;
        }
        done += (size_t)k;
    }
    if (r == 0 && fdatasync(f->fd) != 0)
        r = MAMORI_ERR_IO;
    if (r != 0 && done > 0)
        (void)ftruncate(f->fd, (off_t)f->size); /* nothing half-appended */
    if (r == 0)
        f->size += done;
out:
    if (r != 0)
        f->chain = before;
    buf_free(&out);
    return r;
}

int devlog_file_read(struct devlog_file *f, uint64_t from_seq, size_t max, size_t budget, devlog_file_fn fn,
                     void *ctx, uint64_t *ret_next)
{
    uint8_t *p = NULL;
    size_t n = 0, count = 0, used = 0;
    uint64_t next = from_seq;
    struct buf b;
    int r;
    if ((r = read_all(f->fd, &p, &n)) != 0)
        return r;
    buf_view(&b, p, n);
    while (count < max && buf_remaining(&b) >= 12) {
        uint32_t len;
        const uint8_t *ent;
        uint64_t seq;
        struct buf h;
        if (buf_get_u32(&b, &len) != 0 || len > DEVLOG_ENTRY_MAX || buf_get_ptr(&b, len, &ent) != 0)
            break; /* damaged or torn: the terminal sees where it stops */
        /* seq sits after magic, serial length and serial. */
        uint16_t sn;
        buf_view(&h, ent, len);
        if (buf_skip(&h, 4) != 0 || buf_get_u16(&h, &sn) != 0 || buf_skip(&h, sn) != 0 ||
            buf_get_u64(&h, &seq) != 0)
            break;
        if (seq < from_seq)
            continue;
        if (count > 0 && used + len > budget)
            break;
        if ((r = fn(ctx, seq, ent, len)) != 0)
            break;
        used += len;
        count++;
        next = seq + 1;
    }
    free(p);
    if (r == 0)
        *ret_next = next;
    return r;
}
