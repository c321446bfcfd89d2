/*
 * posapi.c: owns the HTTP side of the register: the unix listening socket,
 * the microhttpd daemon in external (epoll) mode on the station's event loop,
 * request size limits, JSON parsing of bodies and rendering of answers. It
 * must not own register behaviour: commands go through console.c to the same
 * engine calls the keyboard uses.
 */
#include "pos/posapi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "mamori/err.h"
#include "pos/journal.h"
#include "pos/txncodec.h"

#define POSAPI_TICK_MS 250

struct posapi_event {
    uint64_t seq;
    int64_t time_ms;
    char cmd[16];        /* the command word only: arguments may hold credentials */
    int code;
    int64_t receipt;     /* completed receipt, 0 if none */
    int64_t total, due;
    int state;
};

struct posapi {
    struct txn *t;
    struct console *con;
    struct evloop *loop;
    struct MHD_Daemon *d;
    int lfd;
    bool lfd_mhd;
    int efd;
    uint64_t timer;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    bool busy;           /* a command is running (bus calls pump the loop) */
    posapi_source_fn source;
    void *source_ctx;
    struct posapi_event ev[POSAPI_EVENTS_MAX];
    uint64_t next_seq;   /* seq of the next event (first is 1) */
};

static void on_ready(struct evloop *l, int fd, uint32_t events, void *ctx);

/* Run microhttpd until it has nothing ready. In epoll mode it keeps
 * connections it already knows to be ready (a response to send on a socket
 * that was writable all along) in its own list, signalled only through a
 * zero timeout, not through the epoll fd. */
static void pump(struct posapi *a)
{
    MHD_UNSIGNED_LONG_LONG to = 1;
    for (int i = 0; i < 64; i++) {
        (void)MHD_run(a->d);
        if (MHD_get_timeout(a->d, &to) != MHD_YES || to > 0)
            break;
    }
}

/* While a command runs, device calls pump the loop; microhttpd must not be
 * re-entered from there (it is inside our handler), so its fd leaves the
 * loop until the command is done. */
static void enter_busy(struct posapi *a)
{
    a->busy = true;
    if (a->efd >= 0)
        evloop_del_fd(a->loop, a->efd);
}

static void leave_busy(struct posapi *a)
{
    a->busy = false;
    if (a->efd >= 0)
        (void)evloop_add_fd(a->loop, a->efd, EVLOOP_READ, on_ready, a);
}

/* Record what a command did (ring buffer of the last POSAPI_EVENTS_MAX). */
static void record(struct posapi *a, const char *line, int rc, int64_t before)
{
    struct posapi_event *e;
    struct txn_totals tot;
    size_t i = 0;
    if (a->next_seq == 0)
        a->next_seq = 1;
    e = &a->ev[a->next_seq % POSAPI_EVENTS_MAX];
    memset(e, 0, sizeof(*e));
    e->seq = a->next_seq++;
    e->time_ms = evloop_now_ms();
    while (*line == ' ' || *line == '\t')
        line++;
    while (line[i] && line[i] != ' ' && line[i] != '\t' && i < sizeof(e->cmd) - 1) {
        e->cmd[i] = line[i];
        i++;
    }
    e->code = rc;
    e->state = txn_state(a->t);
    if (txn_last_receipt(a->t) != before)
        e->receipt = txn_last_receipt(a->t);
    if (txn_totals(a->t, &tot) == 0) {
        e->total = tot.total;
        e->due = tot.due;
    }
}

static json_t *events_since(struct posapi *a, uint64_t after)
{
    json_t *arr = json_array();
    uint64_t first = a->next_seq > POSAPI_EVENTS_MAX ? a->next_seq - POSAPI_EVENTS_MAX : 1;
    if (arr == NULL)
        return NULL;
    for (uint64_t s = after + 1 > first ? after + 1 : first; s < a->next_seq; s++) {
        const struct posapi_event *e = &a->ev[s % POSAPI_EVENTS_MAX];
        json_array_append_new(arr, json_pack("{s:I,s:I,s:s,s:i,s:I,s:I,s:I,s:i}", "seq",
                                             (json_int_t)e->seq, "time_ms",
                                             (json_int_t)e->time_ms, "cmd", e->cmd, "code",
                                             e->code, "receipt", (json_int_t)e->receipt, "total",
                                             (json_int_t)e->total, "due", (json_int_t)e->due,
                                             "state", e->state));
    }
    return json_pack("{s:o,s:I}", "events", arr, "next", (json_int_t)(a->next_seq ? a->next_seq : 1));
}

struct req {
    char body[POSAPI_BODY_MAX + 1];
    size_t n;
    bool too_big;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    struct MHD_Response *r;
    enum MHD_Result ret;
    json_decref(o);
    if (text == NULL)
        text = strdup("{\"error\":\"internal\"}");
    if (text == NULL)
        return MHD_NO;
    r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static json_t *error_obj(const char *msg)
{
    return json_pack("{s:s}", "error", msg);
}

/* State of the station as JSON (the record carries no HIGH field). */
static json_t *state_obj(struct posapi *a)
{
    const struct txn_rec *r = txn_current(a->t);
    json_t *o = json_object(), *rec = json_null();
    struct txn_totals tot;
    if (o == NULL)
        return NULL;
    if (r != NULL) {
        char *text = NULL;
        if (txncodec_encode(r, &text) == 0) {
            json_decref(rec);
            rec = json_loads(text, 0, NULL);
            free(text);
        }
        if (txn_totals(a->t, &tot) == 0)
            json_object_set_new(o, "totals",
                                json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "total",
                                          (json_int_t)tot.total, "paid", (json_int_t)tot.paid,
                                          "due", (json_int_t)tot.due, "base10",
                                          (json_int_t)tot.tax.g[TAX_G10].taxable, "tax10",
                                          (json_int_t)tot.tax.g[TAX_G10].tax, "base8",
                                          (json_int_t)tot.tax.g[TAX_G8].taxable, "tax8",
                                          (json_int_t)tot.tax.g[TAX_G8].tax));
    }
    json_object_set_new(o, "txn", rec ? rec : json_null());
    json_object_set_new(o, "state", json_integer(txn_state(a->t)));
    json_object_set_new(o, "operator", json_string(txn_operator(a->t)));
    json_object_set_new(o, "training", json_boolean(txn_training(a->t)));
    json_object_set_new(o, "last_receipt", json_integer(txn_last_receipt(a->t)));
    json_object_set_new(o, "last_change", json_integer(txn_last_change(a->t)));
    return o;
}

static enum MHD_Result do_command(struct posapi *a, struct MHD_Connection *c, struct req *q)
{
    json_error_t jerr;
    json_t *in = json_loadb(q->body, q->n, JSON_REJECT_DUPLICATES, &jerr), *line, *o;
    char *out = NULL;
    size_t outlen = 0;
    FILE *mem;
    int rc;
    if (in == NULL || !json_is_object(in) || json_object_size(in) != 1 ||
        !json_is_string(line = json_object_get(in, "line")) ||
        json_string_length(line) > CONSOLE_LINE_MAX ||
        memchr(json_string_value(line), '\0', json_string_length(line)) != NULL) {
        json_decref(in);
        return reply(c, MHD_HTTP_BAD_REQUEST, error_obj("body must be {\"line\": TEXT}"));
    }
    mem = open_memstream(&out, &outlen);
    if (mem == NULL) {
        json_decref(in);
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, error_obj("out of memory"));
    }
    console_set_output(a->con, mem);
    {
        int64_t before = txn_last_receipt(a->t);
        enter_busy(a);
        rc = console_line(a->con, json_string_value(line));
        leave_busy(a);
        record(a, json_string_value(line), rc, before);
    }
    console_set_output(a->con, stdout);
    fclose(mem);
    json_decref(in);
    if (outlen > POSAPI_OUTPUT_MAX)
        out[POSAPI_OUTPUT_MAX] = '\0';
    o = json_pack("{s:b,s:i,s:s,s:s?,s:o}", "ok", rc == 0, "code", rc, "error",
                  rc ? txn_last_error(a->t) : "", "output", out, "state", state_obj(a));
    free(out);
    return reply(c, rc == 0 ? MHD_HTTP_OK : MHD_HTTP_UNPROCESSABLE_CONTENT, o);
}

static enum MHD_Result do_receipt(struct posapi *a, struct MHD_Connection *c, const char *num)
{
    char *end = NULL, *text = NULL;
    long long no = strtoll(num, &end, 10);
    json_t *rec;
    int rc;
    if (*num == '\0' || *end != '\0' || no < 1)
        return reply(c, MHD_HTTP_BAD_REQUEST, error_obj("receipt number expected"));
    rc = journal_receipt_json(txn_journal(a->t), no, &text);
    if (rc == MAMORI_ERR_NOTFOUND)
        return reply(c, MHD_HTTP_NOT_FOUND, error_obj("no such receipt"));
    if (rc)
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, error_obj(mamori_strerror(rc)));
    rec = json_loads(text, 0, NULL);
    free(text);
    return reply(c, MHD_HTTP_OK, json_pack("{s:I,s:o}", "receipt_no", (json_int_t)no, "record",
                                           rec ? rec : json_null()));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    struct posapi *a = cls;
    struct req *q = *con_cls;
    (void)version;
    if (q == NULL) {
        if ((q = calloc(1, sizeof(*q))) == NULL)
            return MHD_NO;
        *con_cls = q;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (q->n + *upload_size > POSAPI_BODY_MAX)
            q->too_big = true;
        else {
            memcpy(q->body + q->n, upload, *upload_size);
            q->n += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->too_big)
        return reply(c, MHD_HTTP_CONTENT_TOO_LARGE, error_obj("body too large"));
    /* Re-entered from inside a running command (a device call pumps the
     * loop): the engine is mid-operation, so nothing may touch it. */
    if (a->busy)
        return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, error_obj("busy: retry"));
    if (strcmp(url, "/v1/state") == 0) {
        if (strcmp(method, "GET") != 0)
            return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, error_obj("GET only"));
        return reply(c, MHD_HTTP_OK, state_obj(a));
    }
    if (strcmp(url, "/v1/command") == 0) {
        if (strcmp(method, "POST") != 0)
            return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, error_obj("POST only"));
        return do_command(a, c, q);
    }
    if (strcmp(url, "/v1/events") == 0) {
        const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
        char *end = NULL;
        unsigned long long v = after ? strtoull(after, &end, 10) : 0;
        if (strcmp(method, "GET") != 0)
            return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, error_obj("GET only"));
        if (after != NULL && (*after == '\0' || *end != '\0'))
            return reply(c, MHD_HTTP_BAD_REQUEST, error_obj("after=SEQ expected"));
        return reply(c, MHD_HTTP_OK, events_since(a, (uint64_t)v));
    }
    if (strncmp(url, "/v1/receipts/", 13) == 0) {
        if (strcmp(method, "GET") != 0)
            return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, error_obj("GET only"));
        return do_receipt(a, c, url + 13);
    }
    return reply(c, MHD_HTTP_NOT_FOUND, error_obj("no such endpoint"));
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static void on_ready(struct evloop *l, int fd, uint32_t events, void *ctx)
{
    struct posapi *a = ctx;
    (void)l;
    (void)fd;
    (void)events;
    if (!a->busy)
        pump(a);
}

void posapi_set_source(struct posapi *a, posapi_source_fn next_line, void *ctx)
{
    a->source = next_line;
    a->source_ctx = ctx;
}

/* Run queued device input while the engine is idle. */
static void drain_source(struct posapi *a)
{
    char line[CONSOLE_LINE_MAX + 1];
    while (!a->busy && a->source != NULL && a->source(a->source_ctx, line, sizeof(line)) == 0) {
        int64_t before = txn_last_receipt(a->t);
        int rc;
        enter_busy(a);
        rc = console_line(a->con, line);
        leave_busy(a);
        record(a, line, rc, before);
    }
}

static void on_tick(struct evloop *l, void *ctx)
{
    struct posapi *a = ctx;
    if (!a->busy) {
        pump(a);
        drain_source(a);
    }
    (void)evloop_timer(l, POSAPI_TICK_MS, on_tick, a, &a->timer);
}

int posapi_start(struct txn *t, struct posdev_sim *sim, struct evloop *loop, const char *path,
                 struct posapi **ret)
{
    struct posapi *a;
    struct sockaddr_un sa;
    struct stat st;
    const union MHD_DaemonInfo *info;
    mode_t old;
    int rc = MAMORI_ERR_SYS;
    if (t == NULL || loop == NULL || path == NULL || strlen(path) >= sizeof(sa.sun_path))
        return MAMORI_ERR_INVAL;
    /* Replace a stale socket, never another kind of file. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return MAMORI_ERR_EXISTS;
        if (unlink(path) != 0)
            return MAMORI_ERR_SYS;
    }
    if ((a = calloc(1, sizeof(*a))) == NULL)
        return MAMORI_ERR_NOMEM;
    a->t = t;
    a->loop = loop;
    a->lfd = a->efd = -1;
    snprintf(a->path, sizeof(a->path), "%s", path);
    if ((rc = console_new(t, sim, stdout, &a->con)))
        goto fail;
    rc = MAMORI_ERR_SYS;
    a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (a->lfd < 0)
        goto fail;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    old = umask(0177); /* the socket is 0600 from birth */
    if (bind(a->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        umask(old);
        goto fail;
    }
    umask(old);
    if (listen(a->lfd, 16) != 0)
        goto fail;
    a->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, handler, a,
                            MHD_OPTION_LISTEN_SOCKET, a->lfd, MHD_OPTION_NOTIFY_COMPLETED,
                            completed, a, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                            MHD_OPTION_END);
    if (a->d == NULL)
        goto fail;
    a->lfd_mhd = true; /* MHD_stop_daemon closes the listening socket */
    info = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (info == NULL)
        goto fail;
    a->efd = info->epoll_fd;
    if (evloop_add_fd(loop, a->efd, EVLOOP_READ, on_ready, a) != 0)
        goto fail;
    if (evloop_timer(loop, POSAPI_TICK_MS, on_tick, a, &a->timer) != 0) {
        evloop_del_fd(loop, a->efd);
        goto fail;
    }
    *ret = a;
    return 0;
fail:
    if (a->d)
        MHD_stop_daemon(a->d);
    if (a->lfd >= 0 && !a->lfd_mhd)
        close(a->lfd);
    if (a->lfd >= 0)
        unlink(path);
    console_free(a->con);
    free(a);
    return rc;
}

void posapi_stop(struct posapi *a)
{
    if (a == NULL)
        return;
    evloop_timer_cancel(a->loop, a->timer);
    if (a->efd >= 0)
        evloop_del_fd(a->loop, a->efd);
    MHD_stop_daemon(a->d); /* closes the listening socket too */
    unlink(a->path);
    console_free(a->con);
    free(a);
}

struct console *posapi_console(struct posapi *a)
{
    return a->con;
}
