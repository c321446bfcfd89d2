/* libFuzzer target: the allowlist manifest parser (src/guard/manifest.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "guard/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct manifest *m = NULL;
    static const uint8_t pub[MANIFEST_PK_LEN] = {1};
    if (manifest_parse(data, size, &m) == 0) {
        /* A parsed manifest must re-serialise to a prefix of its input (canonical form). */
        struct buf out;
        buf_init(&out, MANIFEST_MAX_BYTES);
        if (manifest_write(m, &out) == 0 && (out.len > size || memcmp(out.d, data, out.len) != 0))
            __builtin_trap();
        buf_free(&out);
        for (size_t i = 0; i < manifest_count(m); i++) {
            const struct manifest_entry *e = manifest_at(m, i);
            if (!manifest_has_hash(m, e->sha256) || manifest_find_path(m, e->path) != e)
                __builtin_trap();
        }
        manifest_free(m);
    }
    m = NULL;
    if (manifest_parse_verified(data, size, pub, &m) == 0)
        manifest_free(m);
    return 0;
}
