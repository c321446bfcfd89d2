/* Unit tests for src/guard/vcache.c: a changed file version never hits. */
#include "testutil.h"

#include "guard/vcache.h"
#include "mamori/err.h"

static struct vcache_key key(uint64_t ino, int64_t mtime)
{
    return (struct vcache_key){.dev = 7, .ino = ino, .size = 100, .mtime_ns = mtime, .ctime_ns = mtime};
}

static void test_pol5_changed_version_misses(void **state)
{
    struct vcache *c;
    assert_int_equal(vcache_new(64, &c), 0);
    struct vcache_key k = key(1, 1000);
    assert_int_equal(vcache_get(c, &k), 0);
    vcache_put(c, &k, VCACHE_LISTED_KNOWN | VCACHE_LISTED);
    assert_int_equal(vcache_get(c, &k), VCACHE_LISTED_KNOWN | VCACHE_LISTED);
    vcache_put(c, &k, VCACHE_ELF_KNOWN); /* merges */
    assert_int_equal(vcache_get(c, &k), VCACHE_LISTED_KNOWN | VCACHE_LISTED | VCACHE_ELF_KNOWN);
    struct vcache_key k2 = k;
    k2.mtime_ns++; /* written */
    assert_int_equal(vcache_get(c, &k2), 0);
    k2 = k;
    k2.ctime_ns++; /* chmod, rename, link */
    assert_int_equal(vcache_get(c, &k2), 0);
    k2 = k;
    k2.size++;
    assert_int_equal(vcache_get(c, &k2), 0);
    k2 = k;
    k2.dev++;
    assert_int_equal(vcache_get(c, &k2), 0);
    /* a new version replaces the old one of the same inode */
    k2 = key(1, 2000);
    vcache_put(c, &k2, VCACHE_LISTED_KNOWN);
    assert_int_equal(vcache_get(c, &k), 0);
    assert_int_equal(vcache_get(c, &k2), VCACHE_LISTED_KNOWN);
    /* invalidation by inode, whatever the version (same-tick writes) */
    vcache_invalidate(c, 7, 1);
    assert_int_equal(vcache_get(c, &k2), 0);
    vcache_free(c);
    vcache_free(NULL);
}

static void test_capacity_bounded_and_clear(void **state)
{
    struct vcache *c;
    assert_int_equal(vcache_new(VCACHE_MAX_ENTRIES + 1, &c), MAMORI_ERR_TOOBIG);
    assert_int_equal(vcache_new(16, &c), 0);
    for (uint64_t i = 0; i < 10000; i++) { /* far more files than slots */
        struct vcache_key k = key(i, 5);
        vcache_put(c, &k, VCACHE_ELF_KNOWN);
    }
    struct vcache_key last = key(9999, 5);
    assert_int_equal(vcache_get(c, &last), VCACHE_ELF_KNOWN); /* the newest survives */
    size_t present = 0;
    for (uint64_t i = 0; i < 10000; i++) {
        struct vcache_key k = key(i, 5);
        present += vcache_get(c, &k) != 0;
    }
    assert_true(present <= 16);
    vcache_clear(c);
    assert_int_equal(vcache_get(c, &last), 0);
    vcache_put(c, &last, 0); /* nothing known: not stored */
    assert_int_equal(vcache_get(c, &last), 0);
    vcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol5_changed_version_misses),
        cmocka_unit_test(test_capacity_bounded_and_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
