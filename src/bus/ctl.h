/*
 * ctl: a local control socket taking one-line commands (terminald status,
 * devsim's "physical world"). A client connects to a unix socket in a private
 * directory, writes one line (<= CTL_LINE_MAX bytes, words separated by
 * spaces, "double quotes" group words and inside them \" and \\ escape), and reads the answer until
 * the server closes. The handler runs on the event loop.
 */
#ifndef MAMORI_CTL_H
#define MAMORI_CTL_H

#include <stddef.h>

#include "common/buf.h"
#include "common/evloop.h"

#define CTL_LINE_MAX    4096
#define CTL_ARGS_MAX    64
#define CTL_ANSWER_MAX  (1u << 20)
#define CTL_CLIENTS_MAX 16

struct ctl;
/* Answer into out (text, may be several lines). A negative return is sent as
 * "error: <text of code>" after whatever was written. */
typedef int (*ctl_fn)(void *ctx, int argc, char **argv, struct buf *out);

int ctl_new(struct evloop *l, const char *path, ctl_fn fn, void *ctx, struct ctl **ret);
void ctl_free(struct ctl *c);

/* Split a line into words (in place). MAMORI_ERR_INVAL on an unclosed quote,
 * MAMORI_ERR_TOOBIG past max words. */
int ctl_split(char *line, char **argv, int max, int *ret_argc);

/* Client: send line to the socket at path, collect the answer (NUL-terminated)
 * into out, waiting at most timeout_ms. */
int ctl_call(const char *path, const char *line, struct buf *out, int timeout_ms);

#endif
