/*
 * transport.c: unix, TCP and serial (termios) endpoints. Owns socket options
 * and line discipline; must not own framing or sessions.
 */
#include "bus/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "mamori/err.h"

int transport_parse(const char *spec, struct transport_addr *ret)
{
    struct transport_addr a;
    memset(&a, 0, sizeof(a));
    if (spec == NULL || strlen(spec) > TRANSPORT_SPEC_MAX)
        return MAMORI_ERR_INVAL;
    if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "serial:", 7) == 0) {
        const char *p = strchr(spec, ':') + 1;
        a.kind = spec[0] == 'u' ? TRANSPORT_UNIX : TRANSPORT_SERIAL;
        if (p[0] == '\0' || strlen(p) >= sizeof(a.path))
            return MAMORI_ERR_INVAL;
        strcpy(a.path, p);
    } else if (strncmp(spec, "tcp:", 4) == 0) {
        const char *h = spec + 4, *c = strrchr(h, ':');
        char *end;
        long port;
        struct in_addr ia;
        if (c == NULL || (size_t)(c - h) >= sizeof(a.host) || c == h)
            return MAMORI_ERR_INVAL;
        memcpy(a.host, h, (size_t)(c - h));
        a.host[c - h] = '\0';
        if (inet_pton(AF_INET, a.host, &ia) != 1)
            return MAMORI_ERR_INVAL;
        port = strtol(c + 1, &end, 10);
        if (*end != '\0' || end == c + 1 || port < 0 || port > 65535)
            return MAMORI_ERR_INVAL;
        a.kind = TRANSPORT_TCP;
        a.port = (uint16_t)port;
    } else {
        return MAMORI_ERR_INVAL;
    }
    *ret = a;
    return 0;
}

const char *transport_kind_name(enum transport_kind k)
{
    return k == TRANSPORT_UNIX ? "unix" : k == TRANSPORT_TCP ? "tcp" : "serial";
}

enum frame_kind transport_framing(enum transport_kind k)
{
    return k == TRANSPORT_SERIAL ? FRAME_SERIAL : FRAME_STREAM;
}

int transport_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return MAMORI_ERR_SYS;
    return 0;
}

static int unix_addr(const struct transport_addr *a, struct sockaddr_un *sun)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(a->path) >= sizeof(sun->sun_path))
        return MAMORI_ERR_INVAL;
    strcpy(sun->sun_path, a->path);
    return 0;
}

static int tcp_addr(const struct transport_addr *a, struct sockaddr_in *sin)
{
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(a->port);
    return inet_pton(AF_INET, a->host, &sin->sin_addr) == 1 ? 0 : MAMORI_ERR_INVAL;
}

int transport_listen(const struct transport_addr *a, int *ret_fd)
{
    int fd = -1, r, one = 1;
    if (a->kind == TRANSPORT_SERIAL)
        return transport_serial_open(a->path, ret_fd);
    if (a->kind == TRANSPORT_UNIX) {
        struct sockaddr_un sun;
        struct stat st;
        if ((r = unix_addr(a, &sun)) != 0)
            return r;
        /* Replace only a stale socket, never another kind of file. */
        if (lstat(a->path, &st) == 0) {
            if (!S_ISSOCK(st.st_mode))
                return MAMORI_ERR_EXISTS;
            unlink(a->path);
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            return MAMORI_ERR_SYS;
        mode_t old = umask(0077);
        r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
        umask(old);
        if (r != 0)
            goto sys;
    } else {
        struct sockaddr_in sin;
        if ((r = tcp_addr(a, &sin)) != 0)
            return r;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            return MAMORI_ERR_SYS;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
            goto sys;
    }
    if (listen(fd, TRANSPORT_BACKLOG) != 0)
        goto sys;
    *ret_fd = fd;
    return 0;
sys:
    r = errno == EADDRINUSE ? MAMORI_ERR_EXISTS : MAMORI_ERR_SYS;
    close(fd);
    return r;
}

int transport_accept(int lfd, int *ret_fd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), one = 1;
    if (fd < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? MAMORI_ERR_AGAIN
                                                                           : MAMORI_ERR_SYS;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails on unix: fine */
    *ret_fd = fd;
    return 0;
}

int transport_connect(const struct transport_addr *a, int *ret_fd)
{
    int fd, r, one = 1;
    if (a->kind == TRANSPORT_SERIAL)
        return transport_serial_open(a->path, ret_fd);
    if (a->kind == TRANSPORT_UNIX) {
        struct sockaddr_un sun;
        if ((r = unix_addr(a, &sun)) != 0)
            return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return MAMORI_ERR_SYS;
        r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    } else {
        struct sockaddr_in sin;
        if ((r = tcp_addr(a, &sin)) != 0)
            return r;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return MAMORI_ERR_SYS;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
    }
    if (r != 0 || transport_set_nonblock(fd) != 0) {
        close(fd);
        return MAMORI_ERR_IO;
    }
    *ret_fd = fd;
    return 0;
}

int transport_serial_open(const char *path, int *ret_fd)
{
    struct termios t;
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return MAMORI_ERR_IO;
    if (!isatty(fd) || tcgetattr(fd, &t) != 0)
        goto fail;
    /* Raw: no line editing, no echo, no signals, no CR/NL mapping, 8N1. */
    cfmakeraw(&t);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
    t.c_cflag |= CS8 | CLOCAL | CREAD;
    t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (cfsetispeed(&t, B115200) != 0 || cfsetospeed(&t, B115200) != 0 ||
        tcsetattr(fd, TCSANOW, &t) != 0)
        goto fail;
    (void)tcflush(fd, TCIOFLUSH);
    *ret_fd = fd;
    return 0;
fail:
    close(fd);
    return MAMORI_ERR_IO;
}
