/*
 * regclient.c: owns the client side of one register API request: connect to
 * the unix socket, send an HTTP/1.1 request (Connection: close), read the
 * response up to REGCLIENT_RESP_MAX with a deadline, parse status and JSON.
 */
#include "cmd/regclient.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/secmem.h"
#include "mamori/err.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return MAMORI_ERR_IO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int regclient_call(const char *socket_path, const char *method, const char *path,
                   const json_t *body, int timeout_ms, int *ret_status, json_t **ret)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char *b = NULL, *resp = NULL, head[512], *p;
    size_t bl = 0, got = 0;
    long long end = now_ms() + timeout_ms;
    int fd = -1, rc, status = 0, n;
    json_t *j;
    if (strlen(socket_path) >= sizeof(sa.sun_path))
        return MAMORI_ERR_TOOBIG;
    memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
    if (body != NULL) {
        if ((b = json_dumps(body, JSON_COMPACT)) == NULL)
            return MAMORI_ERR_NOMEM;
        bl = strlen(b);
    }
    if ((resp = malloc(REGCLIENT_RESP_MAX + 1)) == NULL) {
        rc = MAMORI_ERR_NOMEM;
        goto out;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        rc = MAMORI_ERR_OFFLINE;
        goto out;
    }
    n = snprintf(head, sizeof(head),
                 "%s %s HTTP/1.1\r\nHost: register\r\nConnection: close\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                 method, path, bl);
    if (n < 0 || (size_t)n >= sizeof(head)) {
        rc = MAMORI_ERR_TOOBIG;
        goto out;
    }
    if ((rc = write_all(fd, head, (size_t)n)) || (bl && (rc = write_all(fd, b, bl))))
        goto out;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        long long left = end - now_ms();
        ssize_t k;
        if (left <= 0) {
            rc = MAMORI_ERR_TIMEOUT;
            goto out;
        }
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
            rc = MAMORI_ERR_IO;
            goto out;
        }
        if (!(pfd.revents & (POLLIN | POLLHUP)))
            continue;
        if (got == REGCLIENT_RESP_MAX) {
            rc = MAMORI_ERR_TOOBIG;
            goto out;
        }
        k = read(fd, resp + got, REGCLIENT_RESP_MAX - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = MAMORI_ERR_IO;
            goto out;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    resp[got] = '\0';
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 || (p = strstr(resp, "\r\n\r\n")) == NULL) {
        rc = MAMORI_ERR_PROTO;
        goto out;
    }
    if ((j = json_loads(p + 4, 0, NULL)) == NULL) {
        rc = MAMORI_ERR_PROTO;
        goto out;
    }
    *ret_status = status;
    *ret = j;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(resp);
    if (b != NULL)
        secmem_wipe(b, bl); /* the body may carry passwords */
    free(b);
    return rc;
}
