/* Unit tests for src/bus/ctl.c: word splitting (hostile lines), and a control
 * socket round trip on an event loop driven from a client thread. */
#include "testutil.h"

#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/ctl.h"
#include "bus/transport.h"
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
    struct evloop *l;
};

static int handler(void *ctx, int argc, char **argv, struct buf *out)
{
    struct srv *s = ctx;
    s->calls++;
    snprintf(s->last, sizeof(s->last), "%s", argv[0]);
    if (strcmp(argv[0], "fail") == 0)
        return MAMORI_ERR_BUSY;
    if (strcmp(argv[0], "slow") == 0) /* like terminald's request: runs the loop */
        for (int i = 0; i < 20; i++)
            (void)evloop_run_once(s->l, 10);
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

struct raw {
    char path[600];
    char got[256];
    volatile int done;
};

static void *raw_main(void *p)
{
    struct raw *r = p;
    struct transport_addr a;
    int fd;
    size_t n = 0;
    memset(&a, 0, sizeof(a));
    a.kind = TRANSPORT_UNIX;
    strcpy(a.path, r->path);
    if (transport_connect(&a, &fd) == 0) {
        const char msg[] = "slow arg\nEXTRA BYTES AFTER THE LINE";
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        (void)write(fd, msg, sizeof(msg) - 1);
        while (n < sizeof(r->got) - 1 && poll(&pf, 1, 3000) == 1) {
            ssize_t k = read(fd, r->got + n, sizeof(r->got) - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
        }
        close(fd);
    }
    r->done = 1;
    return NULL;
}

static void test_handler_running_the_loop(void **state)
{
    /* More input while a handler runs the event loop must not free the
     * client under it (ASan would catch a use after free). */
    char *dir = testutil_tmpdir();
    struct evloop *l;
    struct ctl *c;
    struct srv s = {0};
    struct raw r = {0};
    pthread_t th;
    snprintf(r.path, sizeof(r.path), "%s/ctl.sock", dir);
    assert_int_equal(evloop_new(&l), 0);
    s.l = l;
    assert_int_equal(ctl_new(l, r.path, handler, &s, &c), 0);
    assert_int_equal(pthread_create(&th, NULL, raw_main, &r), 0);
    for (int i = 0; i < 300 && !r.done; i++)
        (void)evloop_run_once(l, 10);
    pthread_join(th, NULL);
    assert_int_equal(s.calls, 1);
    assert_string_equal(r.got, "arg\n");
    ctl_free(c);
    evloop_free(l);
    testutil_rmtree(dir);
    free(dir);
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
        cmocka_unit_test(test_handler_running_the_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
