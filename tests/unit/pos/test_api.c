/* test_api: the register API's request validation (api_parse) and the HTTP
 * server on a unix socket against the engine with simulated devices
 * (OPS-1..6 API; bad input gives a clear error and changes nothing). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "common/evloop.h"
#include "common/secmem.h"
#include "mamori/err.h"
#include "pos/api.h"
#include "posfix.h"

static int parse(const char *method, const char *path, const char *body, struct api_req *r,
                 char *msg)
{
    return api_parse(method, path, body, body ? strlen(body) : 0, r, msg, 160);
}

static void test_parse_valid(void **state)
{
    struct api_req *r = api_req_new();
    char msg[160];
    (void)state;
    assert_int_equal(parse("POST", "/v1/scan", "{\"code\":\"4901234567894\",\"qty\":3}", r, msg), 0);
    assert_int_equal(r->op, API_SCAN);
    assert_string_equal(r->code, "4901234567894");
    assert_int_equal(r->qty, 3);
    assert_true(r->have & API_F_QTY);
    assert_int_equal(parse("POST", "/v1/void",
                           "{\"line\":2,\"manager\":{\"id\":\"mgr\",\"password\":\"3333\"}}", r, msg),
                     0);
    assert_string_equal(r->mgr_id, "mgr");
    assert_string_equal(r->mgr_pw, "3333");
    assert_int_equal(parse("POST", "/v1/declare", "{\"counts\":{\"10000\":2,\"1\":7}}", r, msg), 0);
    assert_int_equal(r->counts[0], 2);
    assert_int_equal(r->counts[REPORT_DENOMS - 1], 7);
    assert_false(r->have & API_F_CHANGER_COUNTS);
    assert_int_equal(parse("POST", "/v1/declare",
                           "{\"counts\":{},\"changer_counts\":{\"1000\":49,\"5\":1000000}}", r, msg),
                     0);
    assert_true(r->have & API_F_CHANGER_COUNTS);
    assert_int_equal(r->counts[3], 0);
    assert_int_equal(r->changer_counts[3], 49);
    assert_int_equal(r->changer_counts[8], 1000000);
    assert_int_equal(parse("POST", "/v1/subtotal", NULL, r, msg), 0);
    assert_int_equal(r->op, API_SUBTOTAL);
    assert_int_equal(parse("GET", "/v1/journal/42", NULL, r, msg), 0);
    assert_int_equal(r->op, API_JOURNAL_SHOW);
    assert_int_equal(r->receipt, 42);
    api_req_free(r);
}

/* Each refusal: its code and that *ret was not touched. */
static void test_parse_bad_input_refused(void **state)
{
    static const struct { const char *m, *p, *b; int rc; } bad[] = {
        {"POST", "/v1/scan", "{\"code\":\"49012\",\"code\":\"1\"}", MAMORI_ERR_INVAL},  /* dup */
        {"POST", "/v1/scan", "{\"code\":\"4901234567894\",\"x\":1}", MAMORI_ERR_INVAL}, /* unknown */
        {"POST", "/v1/scan", "{\"qty\":1}", MAMORI_ERR_INVAL},                          /* missing */
        {"POST", "/v1/scan", "{\"code\":4901234567894}", MAMORI_ERR_INVAL},             /* type */
        {"POST", "/v1/scan", "{\"code\":\"49O1\"}", MAMORI_ERR_INVAL},                  /* digits */
        {"POST", "/v1/scan", "{\"code\":\"4901234567894\",\"qty\":0}", MAMORI_ERR_INVAL},
        {"POST", "/v1/scan", "{\"code\":\"4901234567894\",\"qty\":-5}", MAMORI_ERR_INVAL},
        {"POST", "/v1/scan", "{\"code\":\"4901234567894\",\"qty\":100000000}", MAMORI_ERR_INVAL},
        {"POST", "/v1/scan", "{\"code\":\"123456789012345678901234567890123\"}", MAMORI_ERR_TOOBIG},
        {"POST", "/v1/scan", "[1,2]", MAMORI_ERR_INVAL},
        {"POST", "/v1/scan", "{\"code\":", MAMORI_ERR_INVAL},
        {"POST", "/v1/tender/cash", "{\"amount\":0}", MAMORI_ERR_INVAL},
        {"POST", "/v1/tender/cash", "{\"amount\":1.5}", MAMORI_ERR_INVAL},
        {"POST", "/v1/discount", "{\"line\":1}", MAMORI_ERR_INVAL},        /* neither */
        {"POST", "/v1/discount", "{\"amount\":1,\"percent\":1}", MAMORI_ERR_INVAL}, /* both */
        {"POST", "/v1/void", "{\"line\":1,\"manager\":{\"id\":\"m\"}}", MAMORI_ERR_INVAL},
        {"POST", "/v1/signon", "{\"id\":\"a b\",\"password\":\"x\"}", MAMORI_ERR_INVAL},
        {"POST", "/v1/cash/pickup", "{\"amount\":5,\"note\":\"a\\u0000b\"}", MAMORI_ERR_INVAL},
        {"POST", "/v1/declare", "{\"counts\":{\"3\":1}}", MAMORI_ERR_INVAL},
        {"POST", "/v1/declare", "{\"counts\":{\"1000\":-1}}", MAMORI_ERR_INVAL},
        /* OPS-5 by denomination: hostile counts for the drawer and the change machine */
        {"POST", "/v1/declare", "{\"counts\":{\"1000\":1000001}}", MAMORI_ERR_INVAL},
        {"POST", "/v1/declare", "{\"counts\":{\"1000\":1e3}}", MAMORI_ERR_INVAL},
        {"POST", "/v1/declare", "{\"counts\":{\"1000\":\"3\"}}", MAMORI_ERR_INVAL},
        {"POST", "/v1/declare", "{\"counts\":{\"01000\":1}}", MAMORI_ERR_INVAL},
        {"POST", "/v1/declare", "{\"counts\":{\"1000\":1,\"1000\":2}}", MAMORI_ERR_INVAL},
        {"POST", "/v1/declare", "{\"counts\":[1,2]}", MAMORI_ERR_INVAL},
        {"POST", "/v1/declare", "{\"changer_counts\":{\"1000\":1}}", MAMORI_ERR_INVAL}, /* missing */
        {"POST", "/v1/declare", "{\"counts\":{},\"changer_counts\":{\"2\":1}}", MAMORI_ERR_INVAL},
        {"POST", "/v1/declare", "{\"counts\":{},\"changer_counts\":{\"10\":-1}}", MAMORI_ERR_INVAL},
        {"POST", "/v1/declare",
         "{\"counts\":{},\"changer_counts\":{\"10\":9223372036854775807}}", MAMORI_ERR_INVAL},
        {"POST", "/v1/declare", "{\"counts\":{},\"changer_counts\":null}", MAMORI_ERR_INVAL},
        {"POST", "/v1/x", "{\"changer_counts\":{}}", MAMORI_ERR_NOTFOUND},
        {"POST", "/v1/report/x", "{\"changer_counts\":{}}", MAMORI_ERR_INVAL},
        {"GET", "/v1/scan", NULL, MAMORI_ERR_UNSUPPORTED},
        {"POST", "/v1/nope", "{}", MAMORI_ERR_NOTFOUND},
        {"GET", "/v1/journal/0", NULL, MAMORI_ERR_INVAL},
        {"GET", "/v1/state", "{}", MAMORI_ERR_INVAL},
    };
    struct api_req *r = api_req_new();
    char msg[160];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(r, 0x5A, sizeof(*r));
        int rc = parse(bad[i].m, bad[i].p, bad[i].b, r, msg);
        if (rc != bad[i].rc)
            fail_msg("case %zu (%s %s %s): %d, want %d (%s)", i, bad[i].m, bad[i].p,
                     bad[i].b ? bad[i].b : "", rc, bad[i].rc, msg);
        assert_true(msg[0] != '\0');
        assert_int_equal(((uint8_t *)r)[0], 0x5A); /* *ret untouched */
    }
    /* Over the body limit. */
    {
        size_t n = API_BODY_MAX + 1;
        char *big = malloc(n);
        memset(big, ' ', n);
        assert_int_equal(api_parse("POST", "/v1/scan", big, n, r, msg, sizeof(msg)),
                         MAMORI_ERR_TOOBIG);
        free(big);
    }
    api_req_free(r);
}

/* ---- HTTP on a unix socket, served by the evloop in this thread ---- */

struct srv {
    struct posfix f;
    struct evloop *l;
    struct api *a;
    char sock[100];
};

static int http(struct srv *s, const char *method, const char *path, const char *body,
                json_t **ret)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char *req, resp[65536];
    size_t cap = 512 + (body ? strlen(body) : 0);
    size_t got = 0;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0), status = 0;
    int64_t end = evloop_now_ms() + 5000;
    memcpy(sa.sun_path, s->sock, strlen(s->sock) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    req = malloc(cap);
    assert_non_null(req);
    int n = snprintf(req, cap,
                     "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %zu\r\n"
                     "Content-Type: application/json\r\n\r\n%s",
                     method, path, body ? strlen(body) : 0, body ? body : "");
    assert_true(n > 0 && (size_t)n < cap);
    assert_int_equal(write(fd, req, (size_t)n), n);
    free(req);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    for (;;) {
        ssize_t k = read(fd, resp + got, sizeof(resp) - 1 - got);
        if (k > 0) {
            got += (size_t)k;
            continue;
        }
        if (k == 0)
            break;
        assert_true(errno == EAGAIN);
        assert_true(evloop_now_ms() < end);
        evloop_run_once(s->l, 10);
    }
    close(fd);
    resp[got] = '\0';
    assert_int_equal(sscanf(resp, "HTTP/1.1 %d", &status), 1);
    char *b = strstr(resp, "\r\n\r\n");
    assert_non_null(b);
    *ret = json_loads(b + 4, 0, NULL);
    assert_non_null(*ret);
    return status;
}

static int srv_setup(void **state)
{
    struct srv *s = calloc(1, sizeof(*s));
    struct api_config c = {0};
    struct api_env e = {0};
    posfix_setup(&s->f, true, false);
    assert_int_equal(evloop_new(&s->l), 0);
    assert_true(strlen(s->f.dir) < 80);
    snprintf(s->sock, sizeof(s->sock), "%.80s/pos.sock", s->f.dir);
    c.socket_path = s->sock;
    e.txn = s->f.t;
    e.journal = s->f.j;
    assert_int_equal(api_new(s->l, &c, &e, &s->a), 0);
    *state = s;
    return 0;
}

static int srv_teardown(void **state)
{
    struct srv *s = *state;
    api_free(s->a);
    evloop_free(s->l);
    posfix_teardown(&s->f);
    free(s);
    return 0;
}

static const char *err_of(json_t *j)
{
    return json_string_value(json_object_get(j, "error"));
}

static json_t *st(json_t *j)
{
    return json_object_get(j, "state");
}

static void test_ops1_api_sale_and_refusals_change_nothing(void **state)
{
    struct srv *s = *state;
    json_t *j;
    /* Wrong password: 401, nobody signed on, audit records the failure. */
    assert_int_equal(http(s, "POST", "/v1/signon", "{\"id\":\"csh\",\"password\":\"nope\"}", &j), 401);
    assert_string_equal(err_of(j), "auth");
    assert_int_equal(json_integer_value(json_object_get(j, "code")), MAMORI_ERR_AUTH);
    json_decref(j);
    assert_null(txn_operator(s->f.t) && txn_operator(s->f.t)[0] ? "x" : NULL);
    assert_int_equal(http(s, "POST", "/v1/signon", "{\"id\":\"csh\",\"password\":\"2222\"}", &j), 200);
    json_decref(j);
    assert_int_equal(http(s, "POST", "/v1/scan", "{\"code\":\"" POSFIX_COLA "\",\"qty\":2}", &j), 200);
    assert_int_equal(json_integer_value(json_object_get(st(j), "total")), 216);
    json_decref(j);
    /* Bad check digit, unknown code, malformed body, huge qty: 4xx and nothing changed. */
    assert_int_equal(http(s, "POST", "/v1/scan", "{\"code\":\"4901234567895\"}", &j), 400);
    assert_string_equal(err_of(j), "check_digit");
    json_decref(j);
    assert_int_equal(http(s, "POST", "/v1/scan", "{\"code\":\"4901234567801\"}", &j), 404);
    json_decref(j);
    assert_int_equal(http(s, "POST", "/v1/scan", "{\"code\":", &j), 400);
    assert_non_null(json_object_get(j, "message"));
    json_decref(j);
    assert_int_equal(http(s, "POST", "/v1/scan", "{\"code\":\"" POSFIX_COLA "\",\"qty\":99999}", &j),
                     400);
    json_decref(j);
    assert_int_equal(txn_current(s->f.t)->n_lines, 1);
    /* Void without a manager after subtotal needs approval; wrong manager refused. */
    assert_int_equal(http(s, "POST", "/v1/subtotal", NULL, &j), 200);
    json_decref(j);
    assert_int_equal(http(s, "POST", "/v1/void",
                          "{\"line\":1,\"manager\":{\"id\":\"mgr\",\"password\":\"bad\"}}", &j),
                     401);
    json_decref(j);
    assert_false(txn_current(s->f.t)->lines[0].voided);
    /* Cash below the total is a keying error: refused, nothing tendered. */
    assert_int_equal(http(s, "POST", "/v1/tender/cash", "{\"amount\":100}", &j), 400);
    json_decref(j);
    assert_int_equal(txn_current(s->f.t)->n_tenders, 0);
    assert_int_equal(http(s, "POST", "/v1/tender/cash", "{\"amount\":1000}", &j), 200);
    assert_int_equal(json_integer_value(json_object_get(j, "receipt")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "change")), 784);
    json_decref(j);
    assert_true(posfix_receipt_has(&s->f, "コーラ"));
    /* The journal shows it; an unknown receipt is 404. */
    assert_int_equal(http(s, "GET", "/v1/journal/1", NULL, &j), 200);
    assert_non_null(json_object_get(j, "receipt"));
    json_decref(j);
    assert_int_equal(http(s, "GET", "/v1/journal/77", NULL, &j), 404);
    json_decref(j);
    assert_int_equal(http(s, "GET", "/v1/journal?code=" POSFIX_COLA, NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "receipts")), 1);
    json_decref(j);
    /* Events: the sale and the refusals are in the stream. */
    assert_int_equal(http(s, "GET", "/v1/events?since=0", NULL, &j), 200);
    assert_true(json_array_size(json_object_get(j, "events")) >= 5);
    json_decref(j);
    assert_int_equal(http(s, "GET", "/v1/events?since=0&wait=999999", NULL, &j), 400);
    json_decref(j);
    /* Unknown endpoint and wrong method. */
    assert_int_equal(http(s, "POST", "/v1/frobnicate", "{}", &j), 404);
    json_decref(j);
    assert_int_equal(http(s, "GET", "/v1/scan", NULL, &j), 405);
    json_decref(j);
}

static void test_ops1_api_body_too_large_413(void **state)
{
    struct srv *s = *state;
    size_t n = API_BODY_MAX + 100;
    char *big = malloc(n + 1);
    json_t *j;
    memset(big, ' ', n);
    big[n] = '\0';
    big[0] = '{';
    big[n - 1] = '}';
    assert_int_equal(http(s, "POST", "/v1/subtotal", big, &j), 413);
    assert_string_equal(err_of(j), "too_big");
    json_decref(j);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_bad_input_refused),
        cmocka_unit_test_setup_teardown(test_ops1_api_sale_and_refusals_change_nothing, srv_setup,
                                        srv_teardown),
        cmocka_unit_test_setup_teardown(test_ops1_api_body_too_large_413, srv_setup, srv_teardown),
    };
    if (secmem_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
