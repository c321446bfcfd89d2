/*
 * manifest.c: the allowlist manifest (text format, Ed25519 signature line,
 * SHA-256 hash set). Owns parsing of manifest bytes (always through a struct
 * buf view with the MANIFEST_MAX_* limits), writing, signing and the lookups
 * the guard decides with. It does not own key material (the signer is a
 * callback), the file walk (mamori allowlist build) or any policy.
 */
#include "guard/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/hex.h"
#include "keys/keys.h"
#include "mamori/err.h"

#define SIG_PREFIX "ed25519 "
#define HASH_CHUNK (64u * 1024u)

struct manifest {
    struct manifest_entry *e;
    size_t n, cap;
    uint32_t *set;   /* open addressing: index+1 into e, 0 = empty */
    size_t set_cap;  /* power of two, >= 2 * n */
    bool sealed;
    bool is_signed;
    uint8_t signer[MANIFEST_PK_LEN];
    uint8_t sig[MANIFEST_SIG_LEN];
    size_t signed_len; /* bytes covered by the signature */
};

int manifest_new(struct manifest **ret)
{
    struct manifest *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return MAMORI_ERR_NOMEM;
    *ret = m;
    return 0;
}

void manifest_free(struct manifest *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        free((char *)m->e[i].path);
    free(m->e);
    free(m->set);
    free(m);
}

static bool path_ok(const char *p, size_t len)
{
    if (len == 0 || p[0] != '/')
        return false;
    for (size_t i = 0; i < len; i++)
        if (p[i] == '\n' || p[i] == '\r' || p[i] == '\0')
            return false;
    return true;
}

static int add_n(struct manifest *m, const uint8_t sha256[static MANIFEST_HASH_LEN], uint64_t size,
                 const char *path, size_t len)
{
    if (m->sealed)
        return MAMORI_ERR_STATE;
    if (len > MANIFEST_MAX_PATH)
        return MAMORI_ERR_TOOBIG;
    if (!path_ok(path, len))
        return MAMORI_ERR_INVAL;
    if (m->n >= MANIFEST_MAX_ENTRIES)
        return MAMORI_ERR_TOOBIG;
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        if (nc > MANIFEST_MAX_ENTRIES)
            nc = MANIFEST_MAX_ENTRIES;
        struct manifest_entry *ne = realloc(m->e, nc * sizeof(*ne)); /* nc <= 200000: no overflow */
        if (ne == NULL)
            return MAMORI_ERR_NOMEM;
        m->e = ne;
        m->cap = nc;
    }
    char *copy = strndup(path, len);
    if (copy == NULL)
        return MAMORI_ERR_NOMEM;
    struct manifest_entry *e = &m->e[m->n++];
    memcpy(e->sha256, sha256, MANIFEST_HASH_LEN);
    e->size = size;
    e->path = copy;
    return 0;
}

int manifest_add(struct manifest *m, const uint8_t sha256[static MANIFEST_HASH_LEN], uint64_t size,
                 const char *path)
{
    return add_n(m, sha256, size, path, strnlen(path, MANIFEST_MAX_PATH + 1));
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct manifest_entry *)a)->path, ((const struct manifest_entry *)b)->path);
}

static uint64_t hash_key(const uint8_t sha[static MANIFEST_HASH_LEN])
{
    uint64_t h;
    memcpy(&h, sha, sizeof(h)); /* SHA-256 output is already uniform */
    return h;
}

int manifest_seal(struct manifest *m)
{
    if (m->sealed)
        return 0;
    if (m->n > 1)
        qsort(m->e, m->n, sizeof(*m->e), cmp_entry);
    for (size_t i = 1; i < m->n; i++)
        if (strcmp(m->e[i - 1].path, m->e[i].path) == 0)
            return MAMORI_ERR_EXISTS;
    size_t cap = 16;
    while (cap < m->n * 2) /* n <= 200000: cannot overflow */
        cap *= 2;
    uint32_t *set = calloc(cap, sizeof(*set));
    if (set == NULL)
        return MAMORI_ERR_NOMEM;
    for (size_t i = 0; i < m->n; i++) {
        size_t j = hash_key(m->e[i].sha256) & (cap - 1);
        while (set[j] != 0)
            j = (j + 1) & (cap - 1);
        set[j] = (uint32_t)(i + 1);
    }
    free(m->set);
    m->set = set;
    m->set_cap = cap;
    m->sealed = true;
    return 0;
}

/* Next line (without its '\n') from b; MAMORI_ERR_INVAL when no newline ends it. */
static int next_line(struct buf *b, const char **ret_p, size_t *ret_len)
{
    size_t rem = buf_remaining(b);
    const uint8_t *p = buf_ptr(b);
    const uint8_t *nl = rem ? memchr(p, '\n', rem) : NULL;
    if (nl == NULL)
        return MAMORI_ERR_INVAL;
    size_t len = (size_t)(nl - p);
    const uint8_t *line;
    int r = buf_get_ptr(b, len + 1, &line);
    if (r)
        return r;
    *ret_p = (const char *)line;
    *ret_len = len;
    return 0;
}

static int parse_hex_exact(const char *s, size_t hexlen, uint8_t *out)
{
    char tmp[2 * MANIFEST_SIG_LEN + 1];
    size_t got;
    if (hexlen >= sizeof(tmp))
        return MAMORI_ERR_INVAL;
    /* Lowercase only: one canonical text per manifest. */
    for (size_t i = 0; i < hexlen; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return MAMORI_ERR_INVAL;
    memcpy(tmp, s, hexlen);
    tmp[hexlen] = '\0';
    if (hex_decode(out, hexlen / 2, tmp, &got) != 0 || got != hexlen / 2)
        return MAMORI_ERR_INVAL;
    return 0;
}

/* "<64 hex> <decimal size> <path>" */
static int parse_entry(struct manifest *m, const char *l, size_t len)
{
    uint8_t sha[MANIFEST_HASH_LEN];
    if (len < 2 * MANIFEST_HASH_LEN + 4 || l[2 * MANIFEST_HASH_LEN] != ' ')
        return MAMORI_ERR_INVAL;
    if (parse_hex_exact(l, 2 * MANIFEST_HASH_LEN, sha))
        return MAMORI_ERR_INVAL;
    size_t i = 2 * MANIFEST_HASH_LEN + 1;
    uint64_t size = 0;
    size_t digits = 0;
    for (; i < len && l[i] >= '0' && l[i] <= '9'; i++, digits++) {
        if (digits >= 19) /* < 10^19 fits in uint64 */
            return MAMORI_ERR_INVAL;
        size = size * 10 + (uint64_t)(l[i] - '0');
    }
    if (digits == 0 || (digits > 1 && l[i - digits] == '0') || i >= len || l[i] != ' ')
        return MAMORI_ERR_INVAL;
    i++;
    return add_n(m, sha, size, l + i, len - i);
}

static int parse_sig(struct manifest *m, const char *l, size_t len)
{
    size_t pl = strlen(SIG_PREFIX);
    if (len != pl + 2 * MANIFEST_PK_LEN + 1 + 2 * MANIFEST_SIG_LEN || memcmp(l, SIG_PREFIX, pl) != 0 ||
        l[pl + 2 * MANIFEST_PK_LEN] != ' ')
        return MAMORI_ERR_INVAL;
    if (parse_hex_exact(l + pl, 2 * MANIFEST_PK_LEN, m->signer) ||
        parse_hex_exact(l + pl + 2 * MANIFEST_PK_LEN + 1, 2 * MANIFEST_SIG_LEN, m->sig))
        return MAMORI_ERR_INVAL;
    m->is_signed = true;
    return 0;
}

int manifest_parse(const uint8_t *p, size_t n, struct manifest **ret)
{
    struct manifest *m = NULL;
    struct buf b;
    const char *l;
    size_t len;
    int r;

    if (n > MANIFEST_MAX_BYTES)
        return MAMORI_ERR_TOOBIG;
    buf_view(&b, p, n);
    if ((r = manifest_new(&m)))
        return r;
    if ((r = next_line(&b, &l, &len)))
        goto out;
    if (len != strlen(MANIFEST_MAGIC) || memcmp(l, MANIFEST_MAGIC, len) != 0) {
        r = MAMORI_ERR_INVAL;
        goto out;
    }
    const char *prev = NULL;
    while (buf_remaining(&b) > 0) {
        size_t before = n - buf_remaining(&b);
        if ((r = next_line(&b, &l, &len)))
            goto out;
        if (len >= strlen(SIG_PREFIX) && memcmp(l, SIG_PREFIX, strlen(SIG_PREFIX)) == 0) {
            if ((r = parse_sig(m, l, len)))
                goto out;
            m->signed_len = before;
            r = buf_end(&b) ? MAMORI_ERR_INVAL : 0; /* nothing may follow the signature */
            if (r)
                goto out;
            break;
        }
        if ((r = parse_entry(m, l, len)))
            goto out;
        /* Strictly ascending paths: canonical text, no duplicates. */
        const char *cur = m->e[m->n - 1].path;
        if (prev != NULL && strcmp(prev, cur) >= 0) {
            r = MAMORI_ERR_INVAL;
            goto out;
        }
        prev = cur;
    }
    if ((r = manifest_seal(m)))
        goto out;
    *ret = m;
    m = NULL;
out:
    manifest_free(m);
    return r;
}

int manifest_parse_verified(const uint8_t *p, size_t n, const uint8_t pub[static MANIFEST_PK_LEN],
                            struct manifest **ret)
{
    struct manifest *m = NULL;
    int r = manifest_parse(p, n, &m);
    if (r)
        return r;
    /* Order matters: nothing of an unverified manifest leaves this function. */
    if (!m->is_signed || memcmp(m->signer, pub, MANIFEST_PK_LEN) != 0 ||
        keys_verify(pub, m->sig, p, m->signed_len) != 0) {
        manifest_free(m);
        return MAMORI_ERR_AUTH;
    }
    *ret = m;
    return 0;
}

int manifest_read_file(const char *path, size_t max, struct buf *out)
{
    struct stat st;
    int r = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_IO;
    buf_init(out, max);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r = MAMORI_ERR_IO;
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    for (;;) {
        uint8_t tmp[65536];
        ssize_t k = read(fd, tmp, sizeof(tmp));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            r = MAMORI_ERR_IO;
            goto out;
        }
        if (k == 0)
            break;
        if ((r = buf_put_bytes(out, tmp, (size_t)k)))
            goto out;
    }
out:
    if (r)
        buf_free(out);
    close(fd);
    return r;
}

int manifest_load(const char *path, const uint8_t pub[static MANIFEST_PK_LEN], struct manifest **ret)
{
    struct buf b;
    int r = manifest_read_file(path, MANIFEST_MAX_BYTES, &b);
    if (r)
        return r;
    r = manifest_parse_verified(b.d, b.len, pub, ret);
    buf_free(&b);
    return r;
}

int manifest_parse_pub(const char *arg, uint8_t ret_pub[static MANIFEST_PK_LEN])
{
    char hex[2 * MANIFEST_PK_LEN + 1];
    uint8_t pub[MANIFEST_PK_LEN];
    size_t got;
    if (arg == NULL)
        return MAMORI_ERR_INVAL;
    if (strlen(arg) == 2 * MANIFEST_PK_LEN && hex_decode(pub, sizeof(pub), arg, &got) == 0 &&
        got == MANIFEST_PK_LEN) {
        memcpy(ret_pub, pub, MANIFEST_PK_LEN);
        return 0;
    }
    struct buf b;
    int r = manifest_read_file(arg, 4096, &b);
    if (r)
        return r;
    size_t len = b.len;
    while (len > 0 && (b.d[len - 1] == '\n' || b.d[len - 1] == '\r' || b.d[len - 1] == ' '))
        len--;
    if (len != 2 * MANIFEST_PK_LEN) {
        buf_free(&b);
        return MAMORI_ERR_INVAL;
    }
    memcpy(hex, b.d, len);
    hex[len] = '\0';
    buf_free(&b);
    if (hex_decode(pub, sizeof(pub), hex, &got) != 0 || got != MANIFEST_PK_LEN)
        return MAMORI_ERR_INVAL;
    memcpy(ret_pub, pub, MANIFEST_PK_LEN);
    return 0;
}

bool manifest_is_signed(const struct manifest *m)
{
    return m->is_signed;
}

int manifest_signer(const struct manifest *m, uint8_t ret_pub[static MANIFEST_PK_LEN])
{
    if (!m->is_signed)
        return MAMORI_ERR_NOTFOUND;
    memcpy(ret_pub, m->signer, MANIFEST_PK_LEN);
    return 0;
}

static int put_str(struct buf *out, const char *s)
{
    return buf_put_bytes(out, s, strlen(s));
}

int manifest_write(const struct manifest *m, struct buf *out)
{
    char hex[2 * MANIFEST_HASH_LEN + 1], num[24];
    int r;
    if (!m->sealed)
        return MAMORI_ERR_STATE;
    if ((r = put_str(out, MANIFEST_MAGIC "\n")))
        return r;
    for (size_t i = 0; i < m->n; i++) {
        const struct manifest_entry *e = &m->e[i];
        if ((r = hex_encode(hex, sizeof(hex), e->sha256, MANIFEST_HASH_LEN)))
            return r;
        snprintf(num, sizeof(num), " %llu ", (unsigned long long)e->size);
        if ((r = put_str(out, hex)) || (r = put_str(out, num)) || (r = put_str(out, e->path)) ||
            (r = buf_put_u8(out, '\n')))
            return r;
    }
    return 0;
}

int manifest_sign(const uint8_t *body, size_t n, const uint8_t pub[static MANIFEST_PK_LEN],
                  manifest_signer_fn sign, void *ctx, struct buf *out)
{
    struct manifest *check = NULL;
    uint8_t sig[MANIFEST_SIG_LEN];
    char pubhex[2 * MANIFEST_PK_LEN + 1], sighex[2 * MANIFEST_SIG_LEN + 1];
    int r;
    /* Sign only well-formed, unsigned text: what is signed is what loads. */
    if ((r = manifest_parse(body, n, &check)))
        return r;
    bool was_signed = check->is_signed;
    manifest_free(check);
    if (was_signed)
        return MAMORI_ERR_STATE;
    if ((r = sign(ctx, sig, body, n)) || (r = hex_encode(pubhex, sizeof(pubhex), pub, MANIFEST_PK_LEN)) ||
        (r = hex_encode(sighex, sizeof(sighex), sig, MANIFEST_SIG_LEN)))
        return r;
    if ((r = buf_put_bytes(out, body, n)) || (r = put_str(out, SIG_PREFIX)) || (r = put_str(out, pubhex)) ||
        (r = buf_put_u8(out, ' ')) || (r = put_str(out, sighex)) || (r = buf_put_u8(out, '\n')))
        return r;
    return 0;
}

size_t manifest_count(const struct manifest *m)
{
    return m->n;
}

const struct manifest_entry *manifest_at(const struct manifest *m, size_t i)
{
    return i < m->n ? &m->e[i] : NULL;
}

const struct manifest_entry *manifest_find_path(const struct manifest *m, const char *path)
{
    if (!m->sealed)
        return NULL;
    struct manifest_entry key = {.path = path};
    return bsearch(&key, m->e, m->n, sizeof(*m->e), cmp_entry);
}

bool manifest_has_hash(const struct manifest *m, const uint8_t sha256[static MANIFEST_HASH_LEN])
{
    if (!m->sealed || m->set_cap == 0)
        return false;
    size_t j = hash_key(sha256) & (m->set_cap - 1);
    while (m->set[j] != 0) {
        if (memcmp(m->e[m->set[j] - 1].sha256, sha256, MANIFEST_HASH_LEN) == 0)
            return true;
        j = (j + 1) & (m->set_cap - 1);
    }
    return false;
}

int manifest_diff(const struct manifest *old_m, const struct manifest *new_m, manifest_diff_fn cb, void *ctx)
{
    size_t i = 0, j = 0;
    int r;
    if (!old_m->sealed || !new_m->sealed)
        return MAMORI_ERR_STATE;
    while (i < old_m->n || j < new_m->n) {
        const struct manifest_entry *a = i < old_m->n ? &old_m->e[i] : NULL;
        const struct manifest_entry *b = j < new_m->n ? &new_m->e[j] : NULL;
        int c = a == NULL ? 1 : b == NULL ? -1 : strcmp(a->path, b->path);
        if (c < 0) {
            r = cb(ctx, MANIFEST_REMOVED, a, NULL);
            i++;
        } else if (c > 0) {
            r = cb(ctx, MANIFEST_ADDED, NULL, b);
            j++;
        } else {
            r = 0;
            if (a->size != b->size || memcmp(a->sha256, b->sha256, MANIFEST_HASH_LEN) != 0)
                r = cb(ctx, MANIFEST_CHANGED, a, b);
            i++;
            j++;
        }
        if (r)
            return r;
    }
    return 0;
}

int manifest_hash_fd(int fd, uint64_t max, uint8_t ret_sha256[static MANIFEST_HASH_LEN], uint64_t *ret_size)
{
    uint8_t chunk[HASH_CHUNK];
    uint64_t total = 0;
    unsigned int outlen = 0;
    int r = MAMORI_ERR_CRYPTO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        return MAMORI_ERR_NOMEM;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    for (;;) {
        ssize_t k = pread(fd, chunk, sizeof(chunk), (off_t)total);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            r = MAMORI_ERR_IO;
            goto out;
        }
        if (k == 0)
            break;
        total += (uint64_t)k;
        if (total > max) {
            r = MAMORI_ERR_TOOBIG;
            goto out;
        }
        if (EVP_DigestUpdate(ctx, chunk, (size_t)k) != 1)
            goto out;
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    if (EVP_DigestFinal_ex(ctx, md, &outlen) != 1 || outlen != MANIFEST_HASH_LEN)
        goto out;
    memcpy(ret_sha256, md, MANIFEST_HASH_LEN);
    if (ret_size)
        *ret_size = total;
    r = 0;
out:
    EVP_MD_CTX_free(ctx);
    return r;
}
