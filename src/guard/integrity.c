/*
 * integrity.c: file integrity against the manifest (LC-6). Owns the bounded
 * directory walk and the per-file comparison (size, then SHA-256). It does
 * not own reporting (a callback does) or the signature check (the caller
 * passes an already verified manifest).
 */
#include "guard/integrity.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mamori/err.h"

const char *integrity_kind_name(enum integrity_kind k)
{
    switch (k) {
    case INTEGRITY_OK: return "ok";
    case INTEGRITY_MISSING: return "missing";
    case INTEGRITY_CHANGED: return "changed";
    case INTEGRITY_EXTRA: return "extra";
    case INTEGRITY_UNREADABLE: return "unreadable";
    }
    return "?";
}

int integrity_check_path(const struct manifest *m, const char *path, enum integrity_kind *ret_kind)
{
    const struct manifest_entry *e = manifest_find_path(m, path);
    struct stat st;
    uint8_t sha[MANIFEST_HASH_LEN];
    uint64_t size;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        *ret_kind = e ? (errno == ENOENT || errno == ELOOP ? INTEGRITY_MISSING : INTEGRITY_UNREADABLE)
                      : INTEGRITY_OK; /* unlisted and absent: nothing to say */
        return 0;
    }
    enum integrity_kind k = INTEGRITY_OK;
    if (fstat(fd, &st) != 0)
        k = INTEGRITY_UNREADABLE;
    else if (!S_ISREG(st.st_mode))
        k = e ? INTEGRITY_MISSING : INTEGRITY_OK;
    else if (e == NULL)
        k = INTEGRITY_EXTRA;
    else if ((uint64_t)st.st_size != e->size)
        k = INTEGRITY_CHANGED;
    else if (manifest_hash_fd(fd, INTEGRITY_MAX_FILE, sha, &size) != 0)
        k = INTEGRITY_UNREADABLE;
    else if (size != e->size || memcmp(sha, e->sha256, MANIFEST_HASH_LEN) != 0)
        k = INTEGRITY_CHANGED;
    close(fd);
    *ret_kind = k;
    return 0;
}

struct walk {
    integrity_walk_fn cb;
    void *ctx;
    size_t visited;
};

static int walk_dir(struct walk *w, const char *dir, int depth)
{
    struct dirent **names = NULL;
    char path[PATH_MAX];
    int r = 0;
    if (depth > INTEGRITY_MAX_DEPTH)
        return MAMORI_ERR_TOOBIG;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return 0; /* vanished or unreadable directory: its listed files show as missing */
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        if (r != 0 || strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
            continue;
        int k = snprintf(path, sizeof(path), "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", nm);
        if (k < 0 || (size_t)k >= sizeof(path))
            continue; /* too long to be in a manifest either */
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            r = walk_dir(w, path, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            if (++w->visited > INTEGRITY_MAX_WALK)
                r = MAMORI_ERR_TOOBIG;
            else
                r = w->cb(w->ctx, path);
        }
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return r;
}

int integrity_walk(const char *root, integrity_walk_fn cb, void *ctx)
{
    char real[PATH_MAX];
    struct stat st;
    struct walk w = {.cb = cb, .ctx = ctx};
    if (realpath(root, real) == NULL)
        return errno == ENOENT ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_IO;
    if (lstat(real, &st) != 0)
        return MAMORI_ERR_IO;
    if (S_ISREG(st.st_mode))
        return cb(ctx, real);
    if (!S_ISDIR(st.st_mode))
        return MAMORI_ERR_INVAL;
    return walk_dir(&w, real, 0);
}

static bool under(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return true;
    return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

struct check {
    const struct manifest *m;
    integrity_fn cb;
    void *ctx;
    size_t bad;
};

static int report(struct check *c, enum integrity_kind k, const char *path)
{
    if (k == INTEGRITY_OK)
        return 0;
    c->bad++;
    return c->cb ? c->cb(c->ctx, k, path) : 0;
}

static int extra_cb(void *ctx, const char *path)
{
    struct check *c = ctx;
    if (manifest_find_path(c->m, path) != NULL)
        return 0; /* listed: compared in the first pass */
    return report(c, INTEGRITY_EXTRA, path);
}

int integrity_check(const struct manifest *m, const char *const *roots, size_t nroots, integrity_fn cb,
                    void *ctx, size_t *ret_bad)
{
    struct check c = {.m = m, .cb = cb, .ctx = ctx};
    char real[PATH_MAX];
    int r = 0;
    if (nroots > INTEGRITY_MAX_ROOTS)
        return MAMORI_ERR_TOOBIG;
    char *res[INTEGRITY_MAX_ROOTS] = {0};
    for (size_t j = 0; j < nroots; j++) {
        res[j] = strdup(realpath(roots[j], real) != NULL ? real : roots[j]);
        if (res[j] == NULL) {
            r = MAMORI_ERR_NOMEM;
            goto out;
        }
    }
    /* Pass 1: every listed file under a root. */
    for (size_t i = 0; i < manifest_count(m); i++) {
        const struct manifest_entry *e = manifest_at(m, i);
        bool in = nroots == 0;
        for (size_t j = 0; j < nroots && !in; j++)
            in = under(e->path, res[j]);
        if (!in)
            continue;
        enum integrity_kind k;
        if ((r = integrity_check_path(m, e->path, &k)) || (r = report(&c, k, e->path)))
            goto out;
    }
    /* Pass 2: files present under a root but not listed. */
    for (size_t j = 0; j < nroots; j++) {
        r = integrity_walk(roots[j], extra_cb, &c);
        if (r == MAMORI_ERR_NOTFOUND)
            r = 0; /* a missing root: its files were reported missing above */
        if (r)
            goto out;
    }
    *ret_bad = c.bad;
out:
    for (size_t j = 0; j < nroots; j++)
        free(res[j]);
    return r;
}
