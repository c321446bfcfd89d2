/* Unit tests for src/common/sandbox.c: after sandbox_restrict a process can
 * reach the listed paths and nothing else (checked in a forked child, since
 * the restriction is irreversible). Skipped where the kernel has no Landlock. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/sandbox.h"
#include "mamori/err.h"

static int child(const char *inside, const char *outside_file, const char *inside_file)
{
    const char *rw[] = {inside};
    const char *ro[] = {"/usr", "/lib"};
    int r = sandbox_restrict(rw, 1, ro, 2), fd;
    if (r == MAMORI_ERR_UNSUPPORTED)
        return 77;
    if (r != 0)
        return 10;
    fd = open(inside_file, O_RDWR | O_CREAT, 0600);
    if (fd < 0)
        return 11; /* its own state directory must stay usable */
    if (write(fd, "ok", 2) != 2)
        return 12;
    close(fd);
    fd = open(outside_file, O_RDONLY);
    if (fd >= 0 || errno != EACCES)
        return 13; /* another device's key file must not be readable */
    fd = open("/usr/include/stdio.h", O_RDONLY);
    if (fd >= 0)
        close(fd);
    if (open("/usr/new-file", O_WRONLY | O_CREAT, 0600) >= 0)
        return 14; /* read-only paths stay read-only */
    return 0;
}

static void test_restrict_paths(void **state)
{
    char *a = testutil_tmpdir(), *b = testutil_tmpdir();
    char secret[600], mine[600];
    int st = 0;
    pid_t pid;
    FILE *f;
    snprintf(secret, sizeof(secret), "%s/device.key", b);
    snprintf(mine, sizeof(mine), "%s/state.db", a);
    f = fopen(secret, "w");
    fputs("secret", f);
    fclose(f);
    pid = fork();
    if (pid == 0)
        _exit(child(a, secret, mine));
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77) {
        testutil_rmtree(a);
        testutil_rmtree(b);
        free(a);
        free(b);
        skip();
    }
    assert_int_equal(WEXITSTATUS(st), 0);
    testutil_rmtree(a);
    testutil_rmtree(b);
    free(a);
    free(b);
}

static void test_too_many_paths(void **state)
{
    const char *p[SANDBOX_MAX_PATHS + 1];
    for (size_t i = 0; i <= SANDBOX_MAX_PATHS; i++)
        p[i] = "/tmp";
    assert_int_equal(sandbox_restrict(p, SANDBOX_MAX_PATHS + 1, NULL, 0), MAMORI_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restrict_paths),
        cmocka_unit_test(test_too_many_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
