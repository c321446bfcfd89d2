/*
 * A second process opening the audit log while another appends to it (the
 * daemon and the CLI share one log): the open must never mistake the
 * writer's freshly persisted seal key for a log cut back (MAMORI_ERR_TAMPER).
 * Before the fix, the entry count and the seal state were read without the
 * write lock and a commit in between made the key look ahead (THR-6 checks
 * must not cry wolf, or the real alarm is ignored).
 */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit.h"
#include "mamori/err.h"

#define WRITES 400
#define OPENS_MAX 5000

static void test_thr6_open_while_another_process_appends_is_not_tamper(void **state)
{
    char *dir = testutil_tmpdir(), path[512];
    struct audit *a;
    pid_t pid;
    int st = 0, bad = 0;
    (void)state;
    snprintf(path, sizeof(path), "%s/audit.db", dir);
    assert_int_equal(audit_open(path, &a), 0); /* creates the log, key and seal state */
    audit_close(a);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct audit *w;
        struct audit_actor act = {.process = "writer"};
        if (audit_open(path, &w) != 0)
            _exit(2);
        for (int i = 0; i < WRITES; i++)
            if (audit_event(w, &act, "test.write", F_INT("i", i)) != 0)
                _exit(3);
        audit_close(w);
        _exit(0);
    }
    /* open again and again for as long as the writer runs */
    int opens = 0;
    pid_t done = 0;
    while (opens < OPENS_MAX && (done = waitpid(pid, &st, WNOHANG)) == 0) {
        int r = audit_open(path, &a);
        opens++;
        if (r != 0) {
            fprintf(stderr, "open %d: %s\n", opens, mamori_strerror(r));
            bad++;
            continue;
        }
        audit_close(a);
    }
    if (done == 0)
        assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(opens > 1);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(bad, 0);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thr6_open_while_another_process_appends_is_not_tamper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
