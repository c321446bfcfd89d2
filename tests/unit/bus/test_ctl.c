/* Unit tests for src/bus/ctl.c: word splitting (hostile lines), and a control
 * socket round trip on an event loop driven from a client thread. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/ctl.h"
#include "mamori/err.h"

static void test_split(void **state)
{
    char *argv[4];
    int argc = 0;
    char l1[] = "  scan  4901234567894\t\r\n";
    assert_int_equal(ctl_split(l1, argv, 4, &argc), 0);
    assert_int_equal(argc, 2);
    assert_string_equal(argv[0], "scan");
    assert_string_equal(argv[1], "4901234567894");
    char l2[] = "request LD-1 \"{\\\"lines\\\": [\\\"a b\\\"]}\" 100";
    assert_int_equal(ctl_split(l2, argv, 4, &argc), 0);
    assert_int_equal(argc, 4);
    assert_string_equal(argv[2], "{\"lines\": [\"a b\"]}");
    assert_string_equal(argv[3], "100");
    char l3[] = "say \"unclosed";
    assert_int_equal(ctl_split(l3, argv, 4, &argc), MAMORI_ERR_INVAL);
    char l4[] = "a b c d e";
    assert_int_equal(ctl_split(l4, argv, 4, &argc), MAMORI_ERR_TOOBIG);
    char l5[] = "";
    assert_int_equal(ctl_split(l5, argv, 4, &argc), 0);
    assert_int_equal(argc, 0);
    char l6[] = "\"\" x";
    assert_int_equal(ctl_split(l6, argv, 4, &argc), 0);
    assert_int_equal(argc, 2);
    assert_string_equal(argv[0], "");
}

struct srv {
    int calls;
    char last[64];
};

static int handler(void *ctx, int argc, char **argv, struct buf *out)
{
    struct srv *s = ctx;
    s->calls++;
    snprintf(s->last, sizeof(s->last), "%s", argv[0]);
    if (strcmp(argv[0], "fail") == 0)
        return MAMORI_ERR_BUSY;
    return buf_put_bytes(out, argv[argc - 1], strlen(argv[argc - 1]));
}

struct client {
    char path[600];
    const char *line;
    struct buf out;
    int r;
    volatile int done;
};

static void *client_main(void *p)
{
    struct client *c = p;
    buf_init(&c->out, 4096);
    c->r = ctl_call(c->path, c->line, &c->out, 3000);
    c->done = 1;
    return NULL;
}

static void call(struct evloop *l, const char *path, const char *line, struct client *c)
{
    pthread_t th;
    memset(c, 0, sizeof(*c));
    snprintf(c->path, sizeof(c->path), "%s", path);
    c->line = line;
    assert_int_equal(pthread_create(&th, NULL, client_main, c), 0);
    for (int i = 0; i < 200 && !c->done; i++)
        (void)evloop_run_once(l, 10);
    pthread_join(th, NULL);
}

static void test_roundtrip(void **state)
{
    char *dir = testutil_tmpdir(), path[600];
    struct evloop *l;
    struct ctl *c;
    struct srv s = {0};
    struct client cl;
    snprintf(path, sizeof(path), "%s/ctl.sock", dir);
    assert_int_equal(evloop_new(&l), 0);
    assert_int_equal(ctl_new(l, path, handler, &s, &c), 0);
    call(l, path, "echo hello", &cl);
    assert_int_equal(cl.r, 0);
    assert_string_equal((const char *)cl.out.d, "hello\n");
    buf_free(&cl.out);
    call(l, path, "fail now", &cl);
    assert_int_equal(cl.r, 0);
    assert_non_null(strstr((const char *)cl.out.d, "error:"));
    buf_free(&cl.out);
    call(l, path, "unclosed \"quote", &cl);
    assert_non_null(strstr((const char *)cl.out.d, "error:"));
    buf_free(&cl.out);
    assert_int_equal(s.calls, 2);
    ctl_free(c);
    assert_int_equal(ctl_call(path, "x", &cl.out, 100), MAMORI_ERR_OFFLINE); /* gone */
    buf_free(&cl.out);
    evloop_free(l);
    testutil_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
