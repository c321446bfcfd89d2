/* Unit tests for src/guard/gqueue.c: a full queue drops and counts, never blocks. */
#include "testutil.h"

#include <string.h>

#include "guard/gqueue.h"
#include "mamori/err.h"

static void test_pol5_full_queue_drops_and_counts(void **state)
{
    struct gqueue *q;
    struct gqueue_rec r = {.kind = GREC_DENY}, out;
    assert_int_equal(gqueue_new(0, &q), MAMORI_ERR_TOOBIG);
    assert_int_equal(gqueue_new(GQUEUE_MAX + 1, &q), MAMORI_ERR_TOOBIG);
    assert_int_equal(gqueue_new(4, &q), 0);
    for (int i = 0; i < 4; i++) {
        r.pid = i;
        assert_true(gqueue_push(q, &r));
    }
    r.pid = 99;
    assert_false(gqueue_push(q, &r)); /* full: dropped at once */
    assert_false(gqueue_push(q, &r));
    assert_int_equal(gqueue_take_dropped(q), 2);
    assert_int_equal(gqueue_take_dropped(q), 0);
    for (int i = 0; i < 4; i++) { /* FIFO */
        assert_true(gqueue_pop(q, 10, &out));
        assert_int_equal(out.pid, i);
    }
    assert_false(gqueue_pop(q, 10, &out)); /* empty: times out */
    r.pid = 5;
    assert_true(gqueue_push(q, &r)); /* wraps around */
    assert_true(gqueue_pop(q, 0, &out));
    assert_int_equal(out.pid, 5);
    gqueue_free(q);
    gqueue_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol5_full_queue_drops_and_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
