/* Unit tests for src/guard/integrity.c (LC-6): missing, changed, extra files are found. */
#include "testutil.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guard/integrity.h"
#include "guard/manifest.h"
#include "mamori/err.h"

static void put(const char *dir, const char *name, const char *text)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int add_cb(void *ctx, const char *path)
{
    uint8_t sha[32];
    uint64_t size;
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(manifest_hash_fd(fd, INTEGRITY_MAX_FILE, sha, &size), 0);
    close(fd);
    return manifest_add(ctx, sha, size, path);
}

struct seen {
    char log[1024];
};

static int seen_cb(void *ctx, enum integrity_kind k, const char *path)
{
    struct seen *s = ctx;
    size_t l = strlen(s->log);
    snprintf(s->log + l, sizeof(s->log) - l, "%s:%s ", integrity_kind_name(k), strrchr(path, '/') + 1);
    return 0;
}

static void test_lc6_changes_to_install_detected(void **state)
{
    char *dir = testutil_tmpdir();
    char sub[PATH_MAX], p[PATH_MAX];
    struct manifest *m;
    size_t bad = 99;
    snprintf(sub, sizeof(sub), "%s/bin", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    put(dir, "conf", "a=1\n");
    put(dir, "bin/prog", "\x7f" "ELF fake\n");
    put(dir, "bin/lib", "library\n");
    snprintf(p, sizeof(p), "%s/bin/link", dir);
    assert_int_equal(symlink("/etc/passwd", p), 0); /* symlinks are not followed */
    assert_int_equal(manifest_new(&m), 0);
    assert_int_equal(integrity_walk(dir, add_cb, m), 0);
    assert_int_equal(manifest_seal(m), 0);
    assert_int_equal(manifest_count(m), 3);

    const char *roots[] = {dir};
    struct seen s = {{0}};
    assert_int_equal(integrity_check(m, roots, 1, seen_cb, &s, &bad), 0);
    assert_int_equal(bad, 0);
    assert_string_equal(s.log, "");

    put(dir, "conf", "a=2\n");      /* same size, other content */
    put(dir, "bin/new", "dropped\n"); /* as if from USB memory */
    snprintf(p, sizeof(p), "%s/bin/lib", dir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(integrity_check(m, roots, 1, seen_cb, &s, &bad), 0);
    assert_int_equal(bad, 3);
    assert_string_equal(s.log, "missing:lib changed:conf extra:new ");

    enum integrity_kind k;
    snprintf(p, sizeof(p), "%s/bin/prog", dir);
    assert_int_equal(integrity_check_path(m, p, &k), 0);
    assert_int_equal(k, INTEGRITY_OK);
    put(dir, "bin/prog", "\x7f" "ELF fakf\n");
    assert_int_equal(integrity_check_path(m, p, &k), 0);
    assert_int_equal(k, INTEGRITY_CHANGED);
    /* a listed path replaced by a symlink is missing, not followed */
    assert_int_equal(unlink(p), 0);
    assert_int_equal(symlink("/bin/true", p), 0);
    assert_int_equal(integrity_check_path(m, p, &k), 0);
    assert_int_equal(k, INTEGRITY_MISSING);
    manifest_free(m);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lc6_changes_to_install_detected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
