/*
 * console: the operator's line-oriented register console (`mamori register`).
 *
 * One line is one key sequence of a POS keyboard, e.g.
 *     signon csh 2222          scan 4901234567894 2     subtotal
 *     cash 1500                return 12 mgr 3333       x
 * `help` lists every command. A line starting with '!' expects the command to
 * be refused (scripts test bad input: the script fails if it succeeds). '#'
 * starts a comment. Lines are outside bytes: at most CONSOLE_LINE_MAX bytes,
 * at most CONSOLE_TOKENS_MAX tokens, split by console_tokenize (fuzzed).
 */
#ifndef MAMORI_POS_CONSOLE_H
#define MAMORI_POS_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "pos/posdev.h"
#include "pos/txn.h"

#define CONSOLE_LINE_MAX 512
#define CONSOLE_TOKENS_MAX 16
#define CONSOLE_HOOKS_MAX 4

struct console;

/* Split line (n bytes, no NUL needed) into at most CONSOLE_TOKENS_MAX
 * whitespace-separated tokens copied into buf (cap bytes). 0 and *ret_n;
 * MAMORI_ERR_TOOBIG for an overlong line or too many tokens; MAMORI_ERR_INVAL
 * for a NUL or control byte. */
int console_tokenize(const char *line, size_t n, char *buf, size_t cap,
                     char *tok[static CONSOLE_TOKENS_MAX], size_t *ret_n);

/* A console on station t writing to out. sim (may be NULL) lets scripts set
 * the simulated scale, shopper answers and change-machine deposits. */
int console_new(struct txn *t, struct posdev_sim *sim, FILE *out, struct console **ret);
void console_free(struct console *c);

/* Where the console writes (the API captures each command's output). */
void console_set_output(struct console *c, FILE *out);

/* Extra commands handled by the host (at most CONSOLE_HOOKS_MAX) (e.g. `wait-devices` in the bus
 * host): fn gets the tokens (tok[0] is the name) and returns 0 or an error. */
typedef int (*console_hook_fn)(void *ctx, char **tok, size_t n);
int console_set_hook(struct console *c, const char *name, console_hook_fn fn, void *ctx);

/* Run one line. 0 when the command did what it says (or, with '!', was
 * refused as expected); a negative MAMORI_ERR_* otherwise (the message was
 * printed). */
int console_line(struct console *c, const char *line);

/* Run a script: every line; stops at the first failure unless keep_going.
 * Returns 0 or the first failure. */
int console_run(struct console *c, FILE *in, bool keep_going, bool echo);

#endif
