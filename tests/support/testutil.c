/* testutil.c: shared helpers for cmocka tests (see testutil.h). */
#include "testutil.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"

json_t *testutil_load_json(const char *name)
{
    const char *dir = getenv("MAMORI_TESTVECTORS");
    char path[4096];
    json_error_t err;
    if (dir == NULL)
        dir = "../shared/testvectors";
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    json_t *j = json_load_file(path, 0, &err);
    if (j == NULL)
        fail_msg("cannot load %s: %s (line %d)", path, err.text, err.line);
    return j;
}

uint8_t *testutil_unhex(const char *hex, size_t *ret_n)
{
    size_t cap = strlen(hex) / 2 + 1;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    if (hex_decode(out, cap, hex, ret_n) != 0)
        fail_msg("bad hex: %s", hex);
    return out;
}

char *testutil_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/mamori-test-XXXXXX", t ? t : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void testutil_rmtree(const char *dir)
{
    if (dir != NULL)
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
