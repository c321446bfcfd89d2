/* Unit tests for the decision of src/guard/enforcer.c (no fanotify needed):
 * hash-based allow, ELF opens, detect mode, cache reuse and invalidation. */
#include "testutil.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard/enforcer.h"
#include "guard/gqueue.h"
#include "guard/manifest.h"
#include "mamori/err.h"

static char dir[1024];

static void put(const char *name, const char *text, size_t n, char *ret_path)
{
    snprintf(ret_path, PATH_MAX, "%s/%s", dir, name);
    FILE *f = fopen(ret_path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
}

static struct manifest *listing(const char *path)
{
    struct manifest *m;
    uint8_t sha[32];
    uint64_t size;
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(manifest_hash_fd(fd, 1 << 20, sha, &size), 0);
    close(fd);
    assert_int_equal(manifest_new(&m), 0);
    assert_int_equal(manifest_add(m, sha, size, path), 0);
    assert_int_equal(manifest_seal(m), 0);
    return m;
}

static bool decide(struct enforcer *e, const char *path, bool exec, pid_t pid, bool *rec_out,
                   struct gqueue_rec *rec)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    bool allow = enforcer_decide(e, fd, exec, pid, rec, rec_out);
    close(fd);
    return allow;
}

static void test_pol5_decision_is_hash_based(void **state)
{
    char *d = testutil_tmpdir();
    snprintf(dir, sizeof(dir), "%s", d);
    char listed[PATH_MAX], copy[PATH_MAX], unlisted[PATH_MAX], data[PATH_MAX], script[PATH_MAX];
    static const char elf[] = "\x7f" "ELF listed program bytes";
    static const char elf2[] = "\x7f" "ELF another program";
    put("listed", elf, sizeof(elf), listed);
    put("copy", elf, sizeof(elf), copy);
    put("unlisted", elf2, sizeof(elf2), unlisted);
    put("data", "plain text", 10, data);
    put("script", "#!/bin/sh\necho hi\n", 18, script);
    struct manifest *m = listing(listed);
    struct gqueue *q;
    struct enforcer *e;
    struct enforcer_stats st;
    struct gqueue_rec rec;
    bool record;
    pid_t other = getpid() + 1;
    assert_int_equal(gqueue_new(16, &q), 0);
    assert_int_equal(enforcer_new(GUARD_ENFORCE, 1 << 20, q, &e), 0);
    enforcer_set_manifest(e, m);

    assert_true(decide(e, listed, true, other, &record, &rec));
    assert_false(record);
    assert_true(decide(e, copy, true, other, &record, &rec)); /* identical bytes elsewhere */
    assert_false(decide(e, unlisted, true, other, &record, &rec));
    assert_true(record);
    assert_int_equal(rec.kind, GREC_DENY);
    assert_true(rec.exec);
    assert_true(rec.have_sha);
    assert_false(decide(e, unlisted, false, other, &record, &rec)); /* opened as ELF (ld.so, dlopen) */
    assert_true(decide(e, data, false, other, &record, &rec));      /* data opens are free */
    assert_false(decide(e, script, true, other, &record, &rec));    /* a script run directly must be listed */
    assert_true(decide(e, script, false, other, &record, &rec));    /* read by an interpreter: not ELF */
    assert_true(decide(e, unlisted, true, getpid(), &record, &rec)); /* the guard itself */
    assert_false(record);

    /* warm cache: no new hash for the listed file */
    enforcer_stats(e, &st);
    uint64_t hashed = st.hashed;
    assert_true(decide(e, listed, true, other, &record, &rec));
    enforcer_stats(e, &st);
    assert_int_equal(st.hashed, hashed);
    assert_true(st.cache_hits >= 1);

    /* modified in place (same size): re-hashed and denied. The pause puts the
     * write on a later clock tick than the first decision's fstat on kernels
     * without multigrain timestamps; writes within one tick are covered by the
     * FAN_MODIFY invalidation (tests/system/test_guard.py stress test). */
    usleep(20000);
    FILE *f = fopen(listed, "r+");
    fputc('X', f);
    fclose(f);
    assert_false(decide(e, listed, true, other, &record, &rec));

    /* detect mode: allowed but recorded */
    enforcer_set_mode(e, GUARD_DETECT);
    assert_true(decide(e, unlisted, true, other, &record, &rec));
    assert_true(record);
    assert_int_equal(rec.kind, GREC_DETECT);

    /* a file over the hash limit is refused in enforce mode (fail closed) */
    enforcer_free(e);
    assert_int_equal(enforcer_new(GUARD_ENFORCE, 4, q, &e), 0);
    enforcer_set_manifest(e, m);
    assert_false(decide(e, copy, true, other, &record, &rec));
    assert_int_equal(rec.reason, MAMORI_ERR_TOOBIG);
    /* no manifest at all: nothing runs */
    enforcer_free(e);
    assert_int_equal(enforcer_new(GUARD_ENFORCE, 1 << 20, q, &e), 0);
    assert_false(decide(e, copy, true, other, &record, &rec));

    enforcer_free(e);
    enforcer_free(NULL);
    manifest_free(m);
    gqueue_free(q);
    testutil_rmtree(d);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol5_decision_is_hash_based),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
