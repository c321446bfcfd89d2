/*
 * ctl.c: one-line command sockets. Owns the accept/read-line/answer/close
 * cycle and the word splitting; must not own any command's meaning.
 */
#include "bus/ctl.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus/transport.h"
#include "common/evloop.h"
#include "mamori/err.h"

struct ctl_client {
    struct ctl *c;
    int fd;
    char line[CTL_LINE_MAX + 1];
    size_t n;
    struct buf out;
    bool answering;
    uint64_t timer;
};

struct ctl {
    struct evloop *l;
    int fd;
    char path[108];
    ctl_fn fn;
    void *ctx;
    struct ctl_client *cl[CTL_CLIENTS_MAX];
};

int ctl_split(char *line, char **argv, int max, int *ret_argc)
{
    int argc = 0;
    char *p = line, *w;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p)
            break;
        if (argc >= max)
            return MAMORI_ERR_TOOBIG;
        if (*p == '"') {
            /* quoted word: \" and \\ escape, copied down in place */
            char *o;
            w = o = ++p;
            while (*p && *p != '"') {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                *o++ = *p++;
            }
            if (*p != '"')
                return MAMORI_ERR_INVAL;
            *o = '\0';
            argv[argc++] = w;
            p++;
            continue;
        } else {
            w = p;
            while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
                p++;
        }
        argv[argc++] = w;
        if (*p)
            *p++ = '\0';
    }
    *ret_argc = argc;
    return 0;
}

static void client_free(struct ctl_client *k)
{
    struct ctl *c = k->c;
    for (int i = 0; i < CTL_CLIENTS_MAX; i++)
        if (c->cl[i] == k)
            c->cl[i] = NULL;
    if (k->timer)
        evloop_timer_cancel(c->l, k->timer);
    evloop_del_fd(c->l, k->fd);
    close(k->fd);
    buf_free(&k->out);
    free(k);
}

static void client_expire(struct evloop *l, void *ctx)
{
    struct ctl_client *k = ctx;
    k->timer = 0;
    client_free(k);
}

static void client_write(struct ctl_client *k)
{
    while (buf_remaining(&k->out) > 0) {
        ssize_t w = write(k->fd, buf_ptr(&k->out), buf_remaining(&k->out));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            (void)evloop_mod_fd(k->c->l, k->fd, EVLOOP_WRITE);
            return;
        }
        if (w <= 0)
            break;
        (void)buf_skip(&k->out, (size_t)w);
    }
    client_free(k);
}

static void client_io(struct evloop *l, int fd, uint32_t ev, void *ctx);

static void client_run(struct ctl_client *k)
{
    struct evloop *l = k->c->l;
    char *argv[CTL_ARGS_MAX];
    int argc = 0, r;
    k->line[k->n] = '\0';
    k->answering = true;
    /* A handler may run the event loop (terminald's "request" waits for a
     * device): take this client out of the loop meanwhile, so neither its
     * expiry timer nor more input can free it under the handler. */
    if (k->timer)
        evloop_timer_cancel(l, k->timer);
    k->timer = 0;
    evloop_del_fd(l, k->fd);
    r = ctl_split(k->line, argv, CTL_ARGS_MAX, &argc);
    if (r == 0 && argc == 0)
        r = MAMORI_ERR_INVAL;
    if (r == 0)
        r = k->c->fn(k->c->ctx, argc, argv, &k->out);
    if (r < 0) {
        char e[128];
        int n = snprintf(e, sizeof(e), "error: %s\n", mamori_strerror(r));
        (void)buf_put_bytes(&k->out, e, (size_t)n);
    } else if (buf_remaining(&k->out) == 0 ||
               buf_ptr(&k->out)[buf_remaining(&k->out) - 1] != '\n') {
        (void)buf_put_u8(&k->out, '\n');
    }
    if (evloop_add_fd(l, k->fd, EVLOOP_WRITE, client_io, k) != 0) {
        client_free(k);
        return;
    }
    /* a client that does not read its answer is dropped too */
    (void)evloop_timer(l, 10000, client_expire, k, &k->timer);
    client_write(k);
}

static void client_io(struct evloop *l, int fd, uint32_t ev, void *ctx)
{
    struct ctl_client *k = ctx;
    if (k->answering) {
        client_write(k);
        return;
    }
    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || ch == '\n') {
            if (r <= 0 && k->n == 0) {
                client_free(k);
                return;
            }
            client_run(k);
            return;
        }
        if (k->n >= CTL_LINE_MAX) {
            client_free(k); /* too long: drop, no answer */
            return;
        }
        k->line[k->n++] = ch;
    }
}

static void ctl_accept(struct evloop *l, int fd, uint32_t ev, void *ctx)
{
    struct ctl *c = ctx;
    int cfd, slot = -1;
    struct ctl_client *k;
    if (transport_accept(fd, &cfd) != 0)
        return;
    for (int i = 0; i < CTL_CLIENTS_MAX; i++)
        if (c->cl[i] == NULL) {
            slot = i;
            break;
        }
    if (slot < 0 || (k = calloc(1, sizeof(*k))) == NULL) {
        close(cfd);
        return;
    }
    k->c = c;
    k->fd = cfd;
    buf_init(&k->out, CTL_ANSWER_MAX);
    if (evloop_add_fd(l, cfd, EVLOOP_READ, client_io, k) != 0) {
        close(cfd);
        buf_free(&k->out);
        free(k);
        return;
    }
    c->cl[slot] = k;
    /* a client that never finishes its line is dropped */
    (void)evloop_timer(l, 10000, client_expire, k, &k->timer);
}

int ctl_new(struct evloop *l, const char *path, ctl_fn fn, void *ctx, struct ctl **ret)
{
    struct ctl *c;
    struct transport_addr a;
    int r;
    if (strlen(path) >= sizeof(a.path))
        return MAMORI_ERR_INVAL;
    memset(&a, 0, sizeof(a));
    a.kind = TRANSPORT_UNIX;
    strcpy(a.path, path);
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return MAMORI_ERR_NOMEM;
    c->l = l;
    c->fn = fn;
    c->ctx = ctx;
    strcpy(c->path, path);
    if ((r = transport_listen(&a, &c->fd)) != 0) {
        free(c);
        return r;
    }
    if ((r = evloop_add_fd(l, c->fd, EVLOOP_READ, ctl_accept, c)) != 0) {
        close(c->fd);
        unlink(path);
        free(c);
        return r;
    }
    *ret = c;
    return 0;
}

void ctl_free(struct ctl *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < CTL_CLIENTS_MAX; i++)
        if (c->cl[i])
            client_free(c->cl[i]);
    evloop_del_fd(c->l, c->fd);
    close(c->fd);
    unlink(c->path);
    free(c);
}

int ctl_call(const char *path, const char *line, struct buf *out, int timeout_ms)
{
    struct transport_addr a;
    int fd, r;
    int64_t deadline = evloop_now_ms() + timeout_ms;
    char tmp[4096];
    if (strlen(path) >= sizeof(a.path) || strlen(line) > CTL_LINE_MAX)
        return MAMORI_ERR_INVAL;
    memset(&a, 0, sizeof(a));
    a.kind = TRANSPORT_UNIX;
    strcpy(a.path, path);
    if ((r = transport_connect(&a, &fd)) != 0)
        return MAMORI_ERR_OFFLINE;
    {
        char msg[CTL_LINE_MAX + 2];
        size_t n = (size_t)snprintf(msg, sizeof(msg), "%s\n", line), off = 0;
        while (off < n) {
            ssize_t w = write(fd, msg + off, n - off);
            if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                struct pollfd pf = {.fd = fd, .events = POLLOUT};
                if (evloop_now_ms() > deadline) {
                    close(fd);
                    return MAMORI_ERR_TIMEOUT;
                }
                (void)poll(&pf, 1, 100);
                continue;
            }
            if (w <= 0) {
                close(fd);
                return MAMORI_ERR_IO;
            }
            off += (size_t)w;
        }
    }
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - evloop_now_ms();
        ssize_t k;
        if (left <= 0) {
            close(fd);
            return MAMORI_ERR_TIMEOUT;
        }
        if (poll(&pf, 1, (int)left) <= 0)
            continue;
        k = read(fd, tmp, sizeof(tmp));
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (k <= 0)
            break;
        if ((r = buf_put_bytes(out, tmp, (size_t)k)) != 0) {
            close(fd);
            return r;
        }
    }
    close(fd);
    return buf_put_u8(out, 0) == 0 ? (out->len--, 0) : MAMORI_ERR_TOOBIG;
}
