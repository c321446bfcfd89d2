/* Unit tests for src/bus/bus.c: a real terminal bus on a unix socket and an
 * in-process device session on the same event loop: attach, requests with
 * replies, device errors, timeouts, events, offline, detach failing pending
 * requests, refusal of an unenrolled device, audit events. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus.h"
#include "bus/transport.h"
#include "mamori/err.h"
#include "pos/operator.h"

struct dev {
    struct evloop *l;
    struct keys *k;
    uint8_t cert[CERT_MAX];
    size_t cert_len;
    struct session *s;
    int fd;
    int open, closed;
};

struct fx {
    char *dir;
    char sock[512];
    struct evloop *l;
    struct audit *a;
    struct registry *r;
    struct operators *ops;
    struct keys *ca, *tk;
    struct bus *bus;
    struct dev d, d2, rogue;
    int attached, detached, events;
    char last_reason[96], last_event[64];
    int reply_status, replies;
};

static void dev_flush(struct dev *d)
{
    struct buf *o = session_out(d->s);
    while (buf_remaining(o)) {
        ssize_t k = write(d->fd, buf_ptr(o), buf_remaining(o));
        if (k <= 0)
            break;
        (void)buf_skip(o, (size_t)k);
    }
    buf_compact(o);
}

static void dev_ev(void *ctx, struct session *s, const struct session_ev *ev)
{
    struct dev *d = ctx;
    if (ev->kind == SESSION_EV_OPEN)
        d->open++;
    if (ev->kind == SESSION_EV_CLOSED)
        d->closed++;
    if (ev->kind == SESSION_EV_MSG && !ev->msg->has_ref) {
        const struct msg *m = ev->msg;
        if (strcmp(m->type, "x.echo") == 0)
            (void)session_reply(s, evloop_now_ms(), m->id, "ok", m->body);
        else if (strcmp(m->type, "x.fail") == 0)
            (void)session_reply_error(s, evloop_now_ms(), m->id, MAMORI_ERR_BUSY, "claimed");
        /* x.slow: never answered */
    }
}

static void dev_io(struct evloop *l, int fd, uint32_t events, void *ctx)
{
    struct dev *d = ctx;
    uint8_t b[4096];
    ssize_t k = read(fd, b, sizeof(b));
    if (k > 0)
        (void)session_feed(d->s, evloop_now_ms(), b, (size_t)k);
    else if (k == 0 || (errno != EAGAIN && errno != EINTR))
        evloop_del_fd(l, fd);
    dev_flush(d);
}

static void dev_start(struct fx *f, struct dev *d, const uint8_t *pinned)
{
    struct transport_addr a;
    struct session_cfg c = {.role = SESSION_DEVICE,
                            .framing = FRAME_STREAM,
                            .transport = "unix",
                            .keys = d->k,
                            .on_event = dev_ev,
                            .ctx = d,
                            .pinned = pinned,
                            .cert = d->cert,
                            .cert_len = d->cert_len};
    char spec[600];
    snprintf(spec, sizeof(spec), "unix:%s", f->sock);
    assert_int_equal(transport_parse(spec, &a), 0);
    assert_int_equal(transport_connect(&a, &d->fd), 0);
    assert_int_equal(session_new(&c, evloop_now_ms(), &d->s), 0);
    assert_int_equal(evloop_add_fd(f->l, d->fd, EVLOOP_READ, dev_io, d), 0);
    dev_flush(d);
}

static void dev_stop(struct fx *f, struct dev *d)
{
    evloop_del_fd(f->l, d->fd);
    close(d->fd);
    session_free(d->s);
    d->s = NULL;
}

static void on_attach(void *ctx, const char *serial, bool attached, const char *reason)
{
    struct fx *f = ctx;
    if (attached)
        f->attached++;
    else
        f->detached++;
    snprintf(f->last_reason, sizeof(f->last_reason), "%s", reason);
}

static int nested_same, nested_other;

static void on_event(void *ctx, const char *serial, const char *type, const cbor_item_t *body)
{
    struct fx *f = ctx;
    /* a scan event makes the application show text on another device: a
     * nested bus_call from the callback; to the device itself it is refused */
    nested_same = bus_call(f->bus, serial, "x.echo", msg_body_new(), 100, NULL);
    nested_other = f->d2.s ? bus_call(f->bus, "DEV-2", "x.echo", msg_body_new(), 2000, NULL)
                           : MAMORI_ERR_OFFLINE;
    f->events++;
    snprintf(f->last_event, sizeof(f->last_event), "%s", type);
}

static void on_reply(void *ctx, int status, const cbor_item_t *reply)
{
    struct fx *f = ctx;
    f->replies++;
    f->reply_status = status;
}

static void spin(struct fx *f, int *counter, int want, int ms)
{
    int64_t end = evloop_now_ms() + ms;
    while (*counter < want && evloop_now_ms() < end)
        assert_true(evloop_run_once(f->l, 20) >= 0);
}

static void make_cert(struct fx *f, struct dev *d, const char *serial)
{
    struct cert c;
    struct buf w;
    memset(&c, 0, sizeof(c));
    strcpy(c.model, "TEST-1");
    strcpy(c.serial, serial);
    assert_int_equal(keys_generate(&d->k), 0);
    keys_dh_public(d->k, c.bus_pub);
    keys_sign_public(d->k, c.log_pub);
    c.issued = 1;
    buf_init(&w, CERT_MAX);
    assert_int_equal(cert_issue(&c, f->ca, &w), 0);
    memcpy(d->cert, w.d, w.len);
    d->cert_len = w.len;
    buf_free(&w);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct bus_config bc;
    char p[600];
    f->dir = testutil_tmpdir();
    snprintf(f->sock, sizeof(f->sock), "%s/bus.sock", f->dir);
    assert_int_equal(evloop_new(&f->l), 0);
    snprintf(p, sizeof(p), "%s/audit.db", f->dir);
    assert_int_equal(audit_open(p, &f->a), 0);
    snprintf(p, sizeof(p), "%s/registry.db", f->dir);
    assert_int_equal(registry_open(p, f->a, &f->r), 0);
    snprintf(p, sizeof(p), "%s/operators.db", f->dir);
    assert_int_equal(operators_open(p, f->a, &f->ops), 0);
    assert_int_equal(operators_add(f->ops, "m", "M", OPERATOR_MAINTAINER, "maint-pw"), 0);
    assert_int_equal(operators_add(f->ops, "g", "G", OPERATOR_MANAGER, "manager-pw"), 0);
    assert_int_equal(keys_generate(&f->ca), 0);
    assert_int_equal(keys_generate(&f->tk), 0);
    make_cert(f, &f->d, "DEV-1");
    make_cert(f, &f->rogue, "DEV-ROGUE");
    make_cert(f, &f->d2, "DEV-2");
    memset(&bc, 0, sizeof(bc));
    bc.loop = f->l;
    bc.keys = f->tk;
    bc.registry = f->r;
    bc.audit = f->a;
    bc.terminal_id = "T1";
    keys_sign_public(f->ca, bc.ca_pub);
    snprintf(p, sizeof(p), "unix:%s", f->sock);
    bc.listen[0] = p;
    bc.nlisten = 1;
    assert_int_equal(registry_enrol(f->r, f->ops, f->d.cert, f->d.cert_len, bc.ca_pub, "scanner",
                                    "m", "maint-pw", "g", "manager-pw"),
                     0);
    assert_int_equal(registry_enrol(f->r, f->ops, f->d2.cert, f->d2.cert_len, bc.ca_pub,
                                    "linedisplay", "m", "maint-pw", "g", "manager-pw"),
                     0);
    assert_int_equal(bus_new(&bc, &f->bus), 0);
    bus_on_attach(f->bus, on_attach, f);
    bus_on_event(f->bus, on_event, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->d.s)
        dev_stop(f, &f->d);
    if (f->rogue.s)
        dev_stop(f, &f->rogue);
    if (f->d2.s)
        dev_stop(f, &f->d2);
    bus_free(f->bus);
    operators_free(f->ops);
    registry_close(f->r);
    audit_close(f->a);
    keys_free(f->ca);
    keys_free(f->tk);
    keys_free(f->d.k);
    keys_free(f->rogue.k);
    keys_free(f->d2.k);
    evloop_free(f->l);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void test_attach_request_reply_event_detach(void **state)
{
    struct fx *f = *state;
    cbor_item_t *body, *reply = NULL;
    struct bus_device_info info[4];
    size_t n = 0;
    int64_t cnt = 0;
    char s[32];
    dev_start(f, &f->d, NULL); /* unpaired: XX */
    spin(f, &f->attached, 1, 3000);
    assert_int_equal(f->attached, 1);
    assert_int_equal(bus_attached_count(f->bus), 1);
    assert_int_equal(bus_devices(f->bus, info, 4, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(info[0].serial, "DEV-1");
    assert_string_equal(info[0].kind, "scanner");
    assert_true(info[0].attached);
    assert_string_equal(info[1].serial, "DEV-2");
    assert_false(info[1].attached);
    /* request with a reply */
    body = msg_body_new();
    assert_int_equal(msg_put_str(body, "text", "hello"), 0);
    assert_int_equal(bus_call(f->bus, "DEV-1", "x.echo", body, 2000, &reply), 0);
    assert_int_equal(msg_get_str(reply, "text", s, sizeof(s)), 0);
    assert_string_equal(s, "hello");
    cbor_decref(&reply);
    /* the device's error code comes back as the status */
    assert_int_equal(bus_call(f->bus, "DEV-1", "x.fail", NULL, 2000, NULL), MAMORI_ERR_BUSY);
    /* no answer: timeout */
    assert_int_equal(bus_call(f->bus, "DEV-1", "x.slow", NULL, 100, NULL), MAMORI_ERR_TIMEOUT);
    /* unknown device: offline at once */
    assert_int_equal(bus_call(f->bus, "NOPE", "x.echo", NULL, 100, NULL), MAMORI_ERR_OFFLINE);
    /* an event from the device */
    body = msg_body_new();
    assert_int_equal(msg_put_str(body, "data", "4901234567894"), 0);
    assert_int_equal(session_send(f->d.s, evloop_now_ms(), "scanner.data", body, NULL), 0);
    cbor_decref(&body);
    dev_flush(&f->d);
    spin(f, &f->events, 1, 2000);
    assert_string_equal(f->last_event, "scanner.data");
    assert_int_equal(nested_same, MAMORI_ERR_STATE);
    assert_int_equal(nested_other, MAMORI_ERR_OFFLINE); /* DEV-2 not connected yet */
    /* now with DEV-2 attached: the nested call to it succeeds */
    dev_start(f, &f->d2, NULL);
    spin(f, &f->attached, 2, 3000);
    assert_int_equal(f->attached, 2);
    body = msg_body_new();
    assert_int_equal(session_send(f->d.s, evloop_now_ms(), "scanner.data", body, NULL), 0);
    cbor_decref(&body);
    dev_flush(&f->d);
    spin(f, &f->events, 2, 3000);
    assert_int_equal(nested_same, MAMORI_ERR_STATE);
    assert_int_equal(nested_other, 0);
    /* a pending request fails with OFFLINE when the device goes away */
    assert_int_equal(bus_request(f->bus, "DEV-1", "x.slow", NULL, 5000, on_reply, f), 0);
    dev_stop(f, &f->d);
    spin(f, &f->detached, 1, 3000);
    assert_int_equal(f->detached, 1);
    assert_string_equal(f->last_reason, "closed");
    dev_stop(f, &f->d2);
    spin(f, &f->detached, 2, 3000);
    assert_int_equal(f->replies, 1);
    assert_int_equal(f->reply_status, MAMORI_ERR_OFFLINE);
    assert_int_equal(audit_count(f->a, "device.attach", &cnt), 0);
    assert_int_equal(cnt, 2);
    assert_int_equal(audit_count(f->a, "device.detach", &cnt), 0);
    assert_int_equal(cnt, 2);
}

static void test_unenrolled_device_refused_and_recorded(void **state)
{
    struct fx *f = *state;
    int64_t cnt = 0;
    dev_start(f, &f->rogue, NULL);
    spin(f, &f->rogue.closed, 1, 3000);
    assert_int_equal(f->rogue.closed, 1);
    assert_int_equal(f->rogue.open, 0);
    assert_int_equal(f->attached, 0);
    assert_int_equal(audit_count(f->a, "device.refused", &cnt), 0);
    assert_int_equal(cnt, 1);
    assert_int_equal(bus_call(f->bus, "DEV-ROGUE", "x.echo", NULL, 100, NULL), MAMORI_ERR_OFFLINE);
}

static void test_refusal_records_are_capped(void **state)
{
    /* An unenrolled device hammering the bus cannot flood the audit log. */
    struct fx *f = *state;
    int64_t cnt = 0;
    for (int i = 0; i < BUS_REFUSALS_PER_MIN + 10; i++) {
        f->rogue.closed = 0;
        dev_start(f, &f->rogue, NULL);
        spin(f, &f->rogue.closed, 1, 3000);
        assert_int_equal(f->rogue.closed, 1);
        dev_stop(f, &f->rogue);
    }
    assert_int_equal(audit_count(f->a, "device.refused", &cnt), 0);
    assert_int_equal(cnt, BUS_REFUSALS_PER_MIN);
}

static void test_config_hostile(void **state)
{
    struct fx *f = *state;
    struct bus_config bc;
    struct bus *b = NULL;
    memset(&bc, 0, sizeof(bc));
    assert_int_equal(bus_new(&bc, &b), MAMORI_ERR_INVAL);
    bc.loop = f->l;
    bc.keys = f->tk;
    bc.registry = f->r;
    bc.audit = f->a;
    bc.listen[0] = "ftp:nowhere";
    bc.nlisten = 1;
    assert_int_equal(bus_new(&bc, &b), MAMORI_ERR_INVAL);
    bc.nlisten = BUS_MAX_LISTEN + 1;
    assert_int_equal(bus_new(&bc, &b), MAMORI_ERR_INVAL);
    assert_null(b);
    bus_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_attach_request_reply_event_detach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unenrolled_device_refused_and_recorded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refusal_records_are_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_hostile, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
