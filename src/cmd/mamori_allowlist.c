/*
 * mamori allowlist: build, sign, show, diff and verify the allowlist manifest
 * (POL-5, LC-5; format in docs/guard.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "common/hex.h"
#include "guard/integrity.h"
#include "guard/manifest.h"
#include "keys/keys.h"
#include "mamori/err.h"

static const char usage_text[] =
    "usage: mamori allowlist build PATH... --out FILE [--progress]\n"
    "       mamori allowlist keygen --key KEYFILE\n"
    "       mamori allowlist sign --key KEYFILE MANIFEST [--out FILE]\n"
    "       mamori allowlist show MANIFEST [--json]\n"
    "       mamori allowlist diff OLD NEW\n"
    "       mamori allowlist verify --pub HEX|FILE MANIFEST\n"
    "\n"
    "build   walk PATHs (regular files, symlinks not followed) and write an unsigned\n"
    "        manifest of SHA-256, size and absolute path; progress on stderr when it is\n"
    "        a terminal or with --progress\n"
    "keygen  create the release key file (0600) if absent; print its public key\n"
    "sign    sign MANIFEST with the release key (in place unless --out)\n"
    "show    list the entries and whether the manifest is signed\n"
    "diff    + added, - removed, ~ changed paths from OLD to NEW\n"
    "verify  exit 0 when the signature verifies under the public key, else 3\n";

/* Write data to path atomically (temp file + rename), mode 0644. */
static int write_atomic(const char *path, const uint8_t *d, size_t n)
{
    char tmp[PATH_MAX];
    int k = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    if (k < 0 || (size_t)k >= sizeof(tmp))
        return MAMORI_ERR_TOOBIG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return MAMORI_ERR_IO;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, d + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return MAMORI_ERR_IO;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return MAMORI_ERR_IO;
    }
    return 0;
}

struct build {
    struct manifest *m;
    size_t total, done;
    bool progress;
    int err;
};

static int count_cb(void *ctx, const char *path)
{
    ((struct build *)ctx)->total++;
    return 0;
}

static void progress(struct build *b, bool final)
{
    if (!b->progress)
        return;
    if (!final && b->done % 64 != 0)
        return;
    int width = 40;
    int fill = b->total ? (int)((b->done * (size_t)width) / b->total) : width;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu files", fill, "########################################", width - fill,
            "", b->done, b->total);
    if (final)
        fputc('\n', stderr);
}

static int hash_cb(void *ctx, const char *path)
{
    struct build *b = ctx;
    uint8_t sha[MANIFEST_HASH_LEN];
    uint64_t size;
    int r;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        fprintf(stderr, "\nmamori allowlist: %s: %s\n", path, strerror(errno));
        return MAMORI_ERR_IO;
    }
    r = manifest_hash_fd(fd, INTEGRITY_MAX_FILE, sha, &size);
    close(fd);
    if (r == 0)
        r = manifest_add(b->m, sha, size, path);
    if (r == 0) {
        b->done++;
        progress(b, false);
    } else {
        fprintf(stderr, "\nmamori allowlist: %s: %s\n", path, mamori_strerror(r));
    }
    return r;
}

static int do_build(int argc, char **argv)
{
    const char *out = NULL;
    const char *paths[INTEGRITY_MAX_ROOTS];
    size_t np = 0;
    struct build b = {.progress = isatty(2) != 0};
    struct buf text;
    int r, rc = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--progress") == 0)
            b.progress = true;
        else if (argv[i][0] == '-' || np >= INTEGRITY_MAX_ROOTS)
            return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
        else
            paths[np++] = argv[i];
    }
    if (out == NULL || np == 0)
        return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    if ((r = manifest_new(&b.m)))
        return cmd_fail("allowlist", "build", r);
    for (size_t i = 0; i < np; i++)
        if ((r = integrity_walk(paths[i], count_cb, &b))) {
            cmd_fail("allowlist", paths[i], r);
            goto out;
        }
    for (size_t i = 0; i < np; i++)
        if ((r = integrity_walk(paths[i], hash_cb, &b)))
            goto out;
    progress(&b, true);
    buf_init(&text, MANIFEST_MAX_BYTES);
    if ((r = manifest_seal(b.m)) || (r = manifest_write(b.m, &text)) || (r = write_atomic(out, text.d, text.len))) {
        cmd_fail("allowlist", "build", r);
    } else {
        fprintf(stderr, "mamori allowlist: %zu entries written to %s (unsigned)\n", manifest_count(b.m), out);
        rc = 0;
    }
    buf_free(&text);
out:
    manifest_free(b.m);
    return rc;
}

static int key_from_args(int argc, char **argv, const char **ret_key)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--key") == 0) {
            *ret_key = argv[i + 1];
            return 0;
        }
    return MAMORI_ERR_INVAL;
}

static int do_keygen(int argc, char **argv)
{
    const char *kf;
    struct keys *k;
    uint8_t pub[KEYS_PK_LEN];
    char hex[2 * KEYS_PK_LEN + 1];
    int r;
    if (key_from_args(argc, argv, &kf))
        return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    if ((r = keys_load_or_create(kf, &k)))
        return cmd_fail("allowlist", kf, r);
    keys_sign_public(k, pub);
    keys_free(k);
    if ((r = hex_encode(hex, sizeof(hex), pub, sizeof(pub))))
        return cmd_fail("allowlist", "keygen", r);
    printf("%s\n", hex);
    return 0;
}

static int sign_cb(void *ctx, uint8_t ret_sig[static MANIFEST_SIG_LEN], const uint8_t *msg, size_t n)
{
    return keys_sign(ctx, ret_sig, msg, n);
}

static int do_sign(int argc, char **argv)
{
    const char *kf = NULL, *in = NULL, *out = NULL;
    struct keys *k = NULL;
    struct buf body, signed_text;
    uint8_t pub[KEYS_PK_LEN];
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
            kf = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] != '-' && in == NULL)
            in = argv[i];
        else
            return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    }
    if (kf == NULL || in == NULL)
        return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    if ((r = keys_load(kf, &k)))
        return cmd_fail("allowlist", kf, r);
    keys_sign_public(k, pub);
    if ((r = manifest_read_file(in, MANIFEST_MAX_BYTES, &body))) {
        keys_free(k);
        return cmd_fail("allowlist", in, r);
    }
    buf_init(&signed_text, MANIFEST_MAX_BYTES);
    r = manifest_sign(body.d, body.len, pub, sign_cb, k, &signed_text);
    if (r == 0)
        r = write_atomic(out ? out : in, signed_text.d, signed_text.len);
    keys_free(k);
    buf_free(&body);
    buf_free(&signed_text);
    if (r == MAMORI_ERR_STATE) {
        fprintf(stderr, "mamori allowlist: %s is already signed\n", in);
        return 1;
    }
    if (r)
        return cmd_fail("allowlist", "sign", r);
    return 0;
}

static int load_any(const char *path, struct manifest **ret)
{
    struct buf b;
    int r = manifest_read_file(path, MANIFEST_MAX_BYTES, &b);
    if (r)
        return r;
    r = manifest_parse(b.d, b.len, ret);
    buf_free(&b);
    return r;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int do_show(int argc, char **argv)
{
    const char *in = NULL;
    bool json = false;
    struct manifest *m;
    char hex[2 * MANIFEST_HASH_LEN + 1];
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] != '-' && in == NULL)
            in = argv[i];
        else
            return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    }
    if (in == NULL)
        return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    if ((r = load_any(in, &m)))
        return cmd_fail("allowlist", in, r);
    uint8_t pub[MANIFEST_PK_LEN];
    char pubhex[2 * MANIFEST_PK_LEN + 1] = "";
    if (manifest_signer(m, pub) == 0 && hex_encode(pubhex, sizeof(pubhex), pub, sizeof(pub)) != 0)
        pubhex[0] = '\0';
    if (json)
        printf("{\"signed\":%s,\"signer\":\"%s\",\"entries\":[", manifest_is_signed(m) ? "true" : "false",
               pubhex);
    else
        printf("# %zu entries, %s%s\n", manifest_count(m),
               manifest_is_signed(m) ? "signature by " : "unsigned", pubhex);
    for (size_t i = 0; i < manifest_count(m); i++) {
        const struct manifest_entry *e = manifest_at(m, i);
        if (hex_encode(hex, sizeof(hex), e->sha256, MANIFEST_HASH_LEN) != 0)
            break;
        if (json) {
            printf("%s{\"sha256\":\"%s\",\"size\":%llu,\"path\":", i ? "," : "", hex,
                   (unsigned long long)e->size);
            json_str(e->path);
            putchar('}');
        } else {
            printf("%s %10llu %s\n", hex, (unsigned long long)e->size, e->path);
        }
    }
    if (json)
        printf("]}\n");
    manifest_free(m);
    return 0;
}

static int diff_cb(void *ctx, enum manifest_change what, const struct manifest_entry *o,
                   const struct manifest_entry *n)
{
    (*(size_t *)ctx)++;
    printf("%c %s\n", what == MANIFEST_ADDED ? '+' : what == MANIFEST_REMOVED ? '-' : '~', (n ? n : o)->path);
    return 0;
}

static int do_diff(int argc, char **argv)
{
    struct manifest *a = NULL, *b = NULL;
    size_t changes = 0;
    int r;
    if (argc != 3)
        return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    if ((r = load_any(argv[1], &a)))
        return cmd_fail("allowlist", argv[1], r);
    if ((r = load_any(argv[2], &b))) {
        manifest_free(a);
        return cmd_fail("allowlist", argv[2], r);
    }
    r = manifest_diff(a, b, diff_cb, &changes);
    manifest_free(a);
    manifest_free(b);
    if (r)
        return cmd_fail("allowlist", "diff", r);
    fprintf(stderr, "mamori allowlist: %zu change(s)\n", changes);
    return 0;
}

static int do_verify(int argc, char **argv)
{
    const char *pubarg = NULL, *in = NULL;
    uint8_t pub[MANIFEST_PK_LEN];
    struct manifest *m;
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pub") == 0 && i + 1 < argc)
            pubarg = argv[++i];
        else if (argv[i][0] != '-' && in == NULL)
            in = argv[i];
        else
            return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    }
    if (pubarg == NULL || in == NULL)
        return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    if ((r = manifest_parse_pub(pubarg, pub)))
        return cmd_fail("allowlist", "--pub", r);
    r = manifest_load(in, pub, &m);
    if (r == MAMORI_ERR_AUTH || r == MAMORI_ERR_INVAL) {
        fprintf(stderr, "mamori allowlist: %s: signature does not verify (%s)\n", in, mamori_strerror(r));
        return EXIT_VERIFY;
    }
    if (r)
        return cmd_fail("allowlist", in, r);
    printf("ok: %zu entries, signature verifies\n", manifest_count(m));
    manifest_free(m);
    return 0;
}

int cmd_allowlist(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv, usage_text))
        return 0;
    if (argc < 2)
        return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    const char *sub = argv[1];
    argc--;
    argv++;
    if (strcmp(sub, "build") == 0)
        return do_build(argc, argv);
    if (strcmp(sub, "keygen") == 0)
        return do_keygen(argc, argv);
    if (strcmp(sub, "sign") == 0)
        return do_sign(argc, argv);
    if (strcmp(sub, "show") == 0)
        return do_show(argc, argv);
    if (strcmp(sub, "diff") == 0)
        return do_diff(argc, argv);
    if (strcmp(sub, "verify") == 0)
        return do_verify(argc, argv);
    fprintf(stderr, "mamori allowlist: unknown subcommand '%s'\n%s", sub, usage_text);
    return EXIT_USAGE;
}
