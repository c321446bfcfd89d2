/*
 * Unit tests for src/audit/devlogfile.c: the device's own log file
 * (POL-8(1)). Appends are durable and chained across restarts, the file
 * verifies with only the device's public key, a torn last append is cut off
 * at the next start, another device's file is refused, and reads by seq
 * show an entry removed behind the device's back as a gap.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/devlogfile.h"
#include "keys/keys.h"
#include "mamori/err.h"

struct seen {
    uint64_t seq[64];
    size_t n;
};

static int collect(void *ctx, uint64_t seq, const uint8_t *entry, size_t n)
{
    struct seen *s = ctx;
    (void)entry;
    (void)n;
    if (s->n < 64)
        s->seq[s->n++] = seq;
    return 0;
}

static uint8_t *slurp(const char *path, size_t *ret_n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = malloc(1 << 20);
    assert_non_null(f);
    *ret_n = fread(p, 1, 1 << 20, f);
    fclose(f);
    return p;
}

static void spit(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void test_pol8_1_device_file_chains_across_restarts_and_verifies(void **state)
{
    char *dir = testutil_tmpdir(), path[512];
    struct keys *k;
    struct devlog_file *f;
    struct devlog_file_result res;
    uint8_t pub[32], *data;
    size_t n;
    (void)state;
    snprintf(path, sizeof(path), "%s/devlog.bin", dir);
    assert_int_equal(keys_generate(&k), 0);
    keys_sign_public(k, pub);
    assert_int_equal(devlog_file_open(path, "CHG-1", k, &f), 0);
    assert_int_equal(devlog_file_append(f, "changer.dispense", NULL, 0, 1), 0);
    assert_int_equal(devlog_file_append(f, "changer.deposit", NULL, 0, 2), 0);
    devlog_file_close(f);
    /* restart: the chain continues */
    assert_int_equal(devlog_file_open(path, "CHG-1", k, &f), 0);
    assert_int_equal(devlog_file_next_seq(f), 2);
    assert_int_equal(devlog_file_append(f, "drawer.open", NULL, 0, 3), 0);
    devlog_file_close(f);
    data = slurp(path, &n);
    assert_int_equal(devlog_verify_file(data, n, pub, &res), 0);
    assert_int_equal(res.entries, 3);
    /* a torn last append (crash): cut at the next start, chain still valid */
    spit(path, data, n - 5);
    assert_int_equal(devlog_file_open(path, "CHG-1", k, &f), 0);
    assert_int_equal(devlog_file_next_seq(f), 2);
    assert_int_equal(devlog_file_append(f, "drawer.open", NULL, 0, 4), 0);
    devlog_file_close(f);
    free(data);
    data = slurp(path, &n);
    assert_int_equal(devlog_verify_file(data, n, pub, &res), 0);
    assert_int_equal(res.entries, 3);
    /* another device's file is refused, not appended to */
    assert_int_equal(devlog_file_open(path, "DRW-9", k, &f), MAMORI_ERR_INVAL);
    free(data);
    keys_free(k);
    testutil_rmtree(dir);
    free(dir);
}

static void test_pol8_1_device_file_read_by_seq_shows_removed_entry(void **state)
{
    char *dir = testutil_tmpdir(), path[512];
    struct keys *k;
    struct devlog_file *f;
    struct seen s = {0};
    uint64_t next = 0;
    uint8_t *data;
    size_t n, off[8], at = 0;
    (void)state;
    snprintf(path, sizeof(path), "%s/devlog.bin", dir);
    assert_int_equal(keys_generate(&k), 0);
    assert_int_equal(devlog_file_open(path, "CHG-1", k, &f), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(devlog_file_append(f, "changer.dispense", NULL, 0, i), 0);
    /* a page of at most 2 from seq 1 */
    assert_int_equal(devlog_file_read(f, 1, 2, 40000, collect, &s, &next), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seq[0], 1);
    assert_int_equal(next, 3);
    /* an insider removes seq 2 from the file behind the device's back */
    data = slurp(path, &n);
    for (int i = 0; i < 5; i++) {
        off[i] = at;
        at += 4 + ((size_t)data[at] << 24 | (size_t)data[at + 1] << 16 | (size_t)data[at + 2] << 8 | data[at + 3]);
    }
    off[5] = at;
    memmove(data + off[2], data + off[3], n - off[3]);
    spit(path, data, n - (off[3] - off[2]));
    s.n = 0;
    assert_int_equal(devlog_file_read(f, 0, 64, 40000, collect, &s, &next), 0);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.seq[2], 3); /* the terminal sees 1 then 3: a gap */
    assert_int_equal(next, 5);
    assert_int_equal(devlog_file_next_seq(f), 5); /* the device's own position is unchanged */
    devlog_file_close(f);
    free(data);
    keys_free(k);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol8_1_device_file_chains_across_restarts_and_verifies),
        cmocka_unit_test(test_pol8_1_device_file_read_by_seq_shows_removed_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
