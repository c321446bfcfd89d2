/*
 * vkeys.c: read/write the audit verifier export (see vkeys.h). Owns the file
 * format only.
 */
#include "audit/vkeys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "common/hex.h"
#include "mamori/err.h"

#define VKEYS_FORMAT "mamori-audit-verifier-v1"

int audit_vkeys_save(const char *path, const struct audit_vkeys *k)
{
    char key_hex[65], pub_hex[65], text[256];
    int r = MAMORI_ERR_IO, fd, n;
    hex_encode(key_hex, sizeof(key_hex), k->seal_key0, 32);
    hex_encode(pub_hex, sizeof(pub_hex), k->audit_pub, 32);
    n = snprintf(text, sizeof(text), "{\"format\":\"%s\",\"seal_key0\":\"%s\",\"audit_pub\":\"%s\"}\n",
                 VKEYS_FORMAT, key_hex, pub_hex);
    sodium_memzero(key_hex, sizeof(key_hex));
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        r = errno == EEXIST ? MAMORI_ERR_EXISTS : MAMORI_ERR_IO;
        goto out;
    }
    if (n > 0 && write(fd, text, (size_t)n) == n && fsync(fd) == 0)
        r = 0;
    close(fd);
    if (r != 0)
        unlink(path);
out:
    sodium_memzero(text, sizeof(text));
    return r;
}

static int get_hex32(json_t *o, const char *name, uint8_t out[32])
{
    json_t *v = json_object_get(o, name);
    size_t n = 0;
    if (!json_is_string(v) || json_string_length(v) != 64 ||
        hex_decode(out, 32, json_string_value(v), &n) != 0 || n != 32)
        return MAMORI_ERR_INVAL;
    return 0;
}

int audit_vkeys_load(const char *path, struct audit_vkeys *ret)
{
    char text[AUDIT_VKEYS_MAX + 1];
    struct audit_vkeys k;
    json_error_t err;
    json_t *j = NULL;
    ssize_t n;
    int r = MAMORI_ERR_INVAL;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_IO;
    n = read(fd, text, sizeof(text));
    close(fd);
    if (n < 0)
        return MAMORI_ERR_IO;
    if ((size_t)n > AUDIT_VKEYS_MAX) {
        r = MAMORI_ERR_TOOBIG;
        goto out;
    }
    j = json_loadb(text, (size_t)n, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "format")) ||
        strcmp(json_string_value(json_object_get(j, "format")), VKEYS_FORMAT) != 0)
        goto out;
    if ((r = get_hex32(j, "seal_key0", k.seal_key0)) || (r = get_hex32(j, "audit_pub", k.audit_pub)))
        goto out;
    *ret = k;
out:
    /* the hex of key_0 also sits in jansson's copy of the string: wipe it */
    if (json_is_string(json_object_get(j, "seal_key0")))
        sodium_memzero((char *)(uintptr_t)json_string_value(json_object_get(j, "seal_key0")),
                       json_string_length(json_object_get(j, "seal_key0")));
    json_decref(j);
    sodium_memzero(text, sizeof(text));
    sodium_memzero(&k, sizeof(k));
    return r;
}
