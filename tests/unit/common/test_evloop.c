/* Unit tests for src/common/evloop.c: fds, timers, cancel, stop, hostile args. */
#include "testutil.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/evloop.h"
#include "mamori/err.h"

struct ctx {
    int reads;
    int fired[4];
    uint64_t cancel_id;
    struct evloop *l;
};

static void on_read(struct evloop *l, int fd, uint32_t ev, void *c)
{
    struct ctx *x = c;
    char b[16];
    if (ev & EVLOOP_READ)
        x->reads += (int)read(fd, b, sizeof(b));
    evloop_stop(l);
}

static void t0(struct evloop *l, void *c)
{
    ((struct ctx *)c)->fired[0]++;
}
static void t1(struct evloop *l, void *c)
{
    struct ctx *x = c;
    x->fired[1]++;
    evloop_timer_cancel(l, x->cancel_id); /* cancel a later timer from a callback */
}
static void t2(struct evloop *l, void *c)
{
    ((struct ctx *)c)->fired[2]++;
}
static void t3(struct evloop *l, void *c)
{
    ((struct ctx *)c)->fired[3]++;
    evloop_stop(l);
}

static void test_fd_readiness(void **state)
{
    struct evloop *l;
    struct ctx x = {0};
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK), 0);
    assert_int_equal(evloop_new(&l), 0);
    assert_int_equal(evloop_add_fd(l, p[0], EVLOOP_READ, on_read, &x), 0);
    assert_int_equal(evloop_add_fd(l, p[0], EVLOOP_READ, on_read, &x), MAMORI_ERR_EXISTS);
    assert_int_equal(write(p[1], "abc", 3), 3);
    assert_int_equal(evloop_run(l), 0);
    assert_int_equal(x.reads, 3);
    evloop_del_fd(l, p[0]);
    evloop_del_fd(l, p[0]); /* twice is harmless */
    close(p[0]);
    close(p[1]);
    evloop_free(l);
}

static void test_timers_order_and_cancel(void **state)
{
    struct evloop *l;
    struct ctx x = {0};
    int64_t start = evloop_now_ms();
    assert_int_equal(evloop_new(&l), 0);
    assert_int_equal(evloop_timer(l, 5, t0, &x, NULL), 0);
    assert_int_equal(evloop_timer(l, 10, t1, &x, NULL), 0);
    assert_int_equal(evloop_timer(l, 30, t2, &x, &x.cancel_id), 0);
    assert_int_equal(evloop_timer(l, 40, t3, &x, NULL), 0);
    assert_int_equal(evloop_run(l), 0);
    assert_int_equal(x.fired[0], 1);
    assert_int_equal(x.fired[1], 1);
    assert_int_equal(x.fired[2], 0); /* cancelled */
    assert_int_equal(x.fired[3], 1);
    assert_true(evloop_now_ms() - start >= 40);
    evloop_timer_cancel(l, 0);
    evloop_timer_cancel(l, 999999);
    evloop_free(l);
}

static void test_hostile_args(void **state)
{
    struct evloop *l;
    struct ctx x = {0};
    assert_int_equal(evloop_new(&l), 0);
    assert_int_equal(evloop_add_fd(l, -1, EVLOOP_READ, on_read, &x), MAMORI_ERR_INVAL);
    assert_int_equal(evloop_add_fd(l, EVLOOP_MAX_FDS, EVLOOP_READ, on_read, &x), MAMORI_ERR_TOOBIG);
    assert_int_equal(evloop_add_fd(l, 1000, EVLOOP_READ, on_read, &x),
                     MAMORI_ERR_SYS); /* not open */
    assert_int_equal(evloop_mod_fd(l, 5, EVLOOP_READ), MAMORI_ERR_NOTFOUND);
    assert_int_equal(evloop_timer(l, -1, t0, &x, NULL), MAMORI_ERR_INVAL);
    for (int i = 0; i < EVLOOP_MAX_TIMERS; i++)
        assert_int_equal(evloop_timer(l, 100000, t0, &x, NULL), 0);
    assert_int_equal(evloop_timer(l, 1, t0, &x, NULL), MAMORI_ERR_LIMIT);
    evloop_free(l);
    evloop_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_readiness),
        cmocka_unit_test(test_timers_order_and_cancel),
        cmocka_unit_test(test_hostile_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
