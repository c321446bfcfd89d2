/*
 * transport: the byte pipes under the bus framing (docs/protocol.md §1).
 *
 *   unix:PATH              stream socket in a directory (0600)
 *   tcp:HOST:PORT          stream socket (tests bind 127.0.0.1 only)
 *   serial:/dev/ttyXXX     RS-232C line: termios raw, 115200 8N1, no flow control,
 *                          no echo (tests use a pty pair: real termios code)
 *
 * Every fd returned is non-blocking and close-on-exec, ready for the evloop.
 */
#ifndef MAMORI_TRANSPORT_H
#define MAMORI_TRANSPORT_H

#include <stdint.h>

#include "bus/frame.h"

#define TRANSPORT_SPEC_MAX 200
#define TRANSPORT_BACKLOG  64

enum transport_kind { TRANSPORT_UNIX, TRANSPORT_TCP, TRANSPORT_SERIAL };

struct transport_addr {
    enum transport_kind kind;
    char path[108]; /* unix socket path or tty path */
    char host[64];  /* tcp: numeric IPv4 address */
    uint16_t port;
};

/* Parse "unix:PATH", "tcp:HOST:PORT" or "serial:PATH". MAMORI_ERR_INVAL. */
int transport_parse(const char *spec, struct transport_addr *ret);
/* "unix", "tcp", "serial" (also the name bound into the session prologue). */
const char *transport_kind_name(enum transport_kind k);
/* Stream framing for sockets, COBS/CRC for serial lines. */
enum frame_kind transport_framing(enum transport_kind k);

/* Listen (unix: replaces a stale socket file; tcp: SO_REUSEADDR). */
int transport_listen(const struct transport_addr *a, int *ret_fd);
/* Accept one connection (non-blocking). MAMORI_ERR_AGAIN when none is waiting. */
int transport_accept(int lfd, int *ret_fd);
/* Connect (unix/tcp) or open the line (serial). */
int transport_connect(const struct transport_addr *a, int *ret_fd);
/* Open a tty and put it in raw 115200 8N1 mode. */
int transport_serial_open(const char *path, int *ret_fd);
int transport_set_nonblock(int fd);

#endif
