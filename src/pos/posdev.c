/*
 * posdev.c: owns the in-process device simulator behind struct pos_devices
 * (tests, the console without a bus, benchmarks). The cash devices keep the
 * memory a real drawer / change machine keeps: every executed command with its
 * idempotency key, appended to a state file with one write(2) so that a killed
 * process leaves either the whole record or none. It must not own anything a
 * real device would not: no knowledge of transactions beyond the key.
 */
#include "pos/posdev.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mamori/err.h"

#define SIM_MEMORY_MAX 1000000 /* remembered commands */

struct sim_cmd {
    char kind;                  /* 'o' drawer, 'd' dispense, 'p' deposit */
    char idem[POSDEV_IDEM_MAX];
    int64_t amount;
};

struct posdev_sim {
    int fd;                     /* state file, -1 if none */
    bool has_changer;
    struct sim_cmd *mem;
    size_t n, cap;
    int32_t grams;
    bool stable;
    bool confirm_yes;
    int64_t insert;
    int lose;
    bool die_on_loss;
    bool offline;
    bool no_printer;
    struct posdev_sim_stats st;
    uint8_t *print;
    size_t print_n;
    char disp[2][POSDEV_LINE_MAX];
};

static int remember(struct posdev_sim *s, char kind, const char *idem, int64_t amount)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        struct sim_cmd *m;
        if (nc > SIM_MEMORY_MAX)
            return MAMORI_ERR_LIMIT;
        m = realloc(s->mem, nc * sizeof(*m));
        if (m == NULL)
            return MAMORI_ERR_NOMEM;
        s->mem = m;
        s->cap = nc;
    }
    s->mem[s->n].kind = kind;
    snprintf(s->mem[s->n].idem, POSDEV_IDEM_MAX, "%s", idem);
    s->mem[s->n].amount = amount;
    s->n++;
    return 0;
}

static const struct sim_cmd *recall(const struct posdev_sim *s, const char *idem)
{
    for (size_t i = s->n; i-- > 0;)
        if (strcmp(s->mem[i].idem, idem) == 0)
            return &s->mem[i];
    return NULL;
}

static int load_state(struct posdev_sim *s, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[160], kind, idem[POSDEV_IDEM_MAX];
    int64_t amount;
    int rc = 0;
    if (f == NULL)
        return errno == ENOENT ? 0 : MAMORI_ERR_IO;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        /* A torn last line (no newline) cannot happen with one write(2) per
         * record; a malformed one is refused rather than guessed. */
        if (sscanf(line, "%c %47s %" SCNd64, &kind, idem, &amount) != 3)
            rc = MAMORI_ERR_PROTO;
        else
            rc = remember(s, kind, idem, amount);
    }
    fclose(f);
    return rc;
}

int posdev_sim_new(const char *state_path, bool has_changer, struct posdev_sim **ret)
{
    struct posdev_sim *s = calloc(1, sizeof(*s));
    int rc;
    if (s == NULL)
        return MAMORI_ERR_NOMEM;
    s->fd = -1;
    s->has_changer = has_changer;
    s->confirm_yes = true;
    if (state_path != NULL) {
        if ((rc = load_state(s, state_path))) {
            posdev_sim_free(s);
            return rc;
        }
        s->fd = open(state_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (s->fd < 0) {
            posdev_sim_free(s);
            return MAMORI_ERR_IO;
        }
    }
    *ret = s;
    return 0;
}

void posdev_sim_free(struct posdev_sim *s)
{
    if (s == NULL)
        return;
    if (s->fd >= 0)
        close(s->fd);
    free(s->mem);
    free(s->print);
    free(s);
}

/* Execute a cash command once per key; a repeated key replays the result. */
static int cash_cmd(struct posdev_sim *s, char kind, const char *idem, int64_t amount,
                    int64_t *ret_amount)
{
    const struct sim_cmd *c;
    char line[128];
    int n, rc;
    if (s->offline)
        return MAMORI_ERR_OFFLINE;
    if (idem == NULL || idem[0] == '\0' || strlen(idem) >= POSDEV_IDEM_MAX ||
        strchr(idem, ' ') != NULL || amount < 0)
        return MAMORI_ERR_INVAL;
    c = recall(s, idem);
    if (c != NULL) {
        if (c->kind != kind)
            return MAMORI_ERR_PROTO; /* a key reused for another command */
        s->st.replays++;
        if (ret_amount)
            *ret_amount = c->amount;
        return 0;
    }
    if (s->fd >= 0) {
        n = snprintf(line, sizeof(line), "%c %s %" PRId64 "\n", kind, idem, amount);
        if (n < 0 || (size_t)n >= sizeof(line) || write(s->fd, line, (size_t)n) != n)
            return MAMORI_ERR_IO;
    }
    if ((rc = remember(s, kind, idem, amount)))
        return rc;
    switch (kind) {
    case 'o': s->st.drawer_opens++; break;
    case 'd': s->st.dispenses++; s->st.dispensed += amount; break;
    case 'P': break; /* a report printed once (sim_print_once counted it) */
    default: s->st.deposits++; s->st.deposited += amount; break;
    }
    if (s->lose > 0) {
        s->lose--;
        s->offline = s->die_on_loss;
        return MAMORI_ERR_TIMEOUT; /* executed, but the reply was lost */
    }
    if (ret_amount)
        *ret_amount = amount;
    return 0;
}

static int sim_print(void *ctx, const uint8_t *bytes, size_t n)
{
    struct posdev_sim *s = ctx;
    uint8_t *p;
    if (n > POSDEV_PRINT_MAX)
        return MAMORI_ERR_TOOBIG;
    p = malloc(n ? n : 1);
    if (p == NULL)
        return MAMORI_ERR_NOMEM;
    if (n)
        memcpy(p, bytes, n);
    free(s->print);
    s->print = p;
    s->print_n = n;
    s->st.prints++;
    return 0;
}

static int sim_print_plain(void *ctx, const uint8_t *bytes, size_t n)
{
    struct posdev_sim *s = ctx;
    return s->no_printer ? MAMORI_ERR_OFFLINE : sim_print(ctx, bytes, n);
}

/* Print once per key; the key is remembered like a cash command's (and its
 * reply can be lost the same way). */
static int sim_print_once(void *ctx, const char *idem, const uint8_t *bytes, size_t n)
{
    struct posdev_sim *s = ctx;
    const struct sim_cmd *c;
    int rc;
    if (s->no_printer || s->offline)
        return MAMORI_ERR_OFFLINE;
    if (idem == NULL || idem[0] == '\0')
        return MAMORI_ERR_INVAL;
    if ((c = recall(s, idem)) != NULL)
        return cash_cmd(s, 'P', idem, c->amount, NULL); /* replayed, not printed */
    if ((rc = sim_print(ctx, bytes, n)))
        return rc;
    return cash_cmd(s, 'P', idem, (int64_t)n, NULL);
}

static int sim_display(void *ctx, const char *l1, const char *l2)
{
    struct posdev_sim *s = ctx;
    snprintf(s->disp[0], POSDEV_LINE_MAX, "%s", l1 ? l1 : "");
    snprintf(s->disp[1], POSDEV_LINE_MAX, "%s", l2 ? l2 : "");
    s->st.displays++;
    return 0;
}

static int sim_confirm(void *ctx, const char *prompt, bool *ret_yes)
{
    struct posdev_sim *s = ctx;
    (void)prompt;
    *ret_yes = s->confirm_yes;
    return 0;
}

static int sim_drawer(void *ctx, const char *idem)
{
    return cash_cmd(ctx, 'o', idem, 0, NULL);
}

static int sim_deposit(void *ctx, const char *idem, int64_t want, int64_t *ret_counted)
{
    struct posdev_sim *s = ctx;
    if (!s->has_changer)
        return MAMORI_ERR_OFFLINE;
    return cash_cmd(s, 'p', idem, s->insert > 0 ? s->insert : want, ret_counted);
}

static int sim_dispense(void *ctx, const char *idem, int64_t amount)
{
    struct posdev_sim *s = ctx;
    if (!s->has_changer)
        return MAMORI_ERR_OFFLINE;
    return cash_cmd(s, 'd', idem, amount, NULL);
}

static int sim_scale(void *ctx, int32_t *ret_grams, bool *ret_stable)
{
    struct posdev_sim *s = ctx;
    *ret_grams = s->grams;
    *ret_stable = s->stable;
    return 0;
}

void posdev_sim_port(struct posdev_sim *s, struct pos_devices *d)
{
    memset(d, 0, sizeof(*d));
    d->ctx = s;
    d->print = sim_print_plain;
    d->print_once = sim_print_once;
    d->display = sim_display;
    d->confirm = sim_confirm;
    d->drawer_open = sim_drawer;
    d->changer_deposit = sim_deposit;
    d->changer_dispense = sim_dispense;
    d->scale_read = sim_scale;
    d->has_changer = s->has_changer;
}

void posdev_sim_set_printer(struct posdev_sim *s, bool present)
{
    s->no_printer = !present;
}

void posdev_sim_set_scale(struct posdev_sim *s, int32_t grams, bool stable)
{
    s->grams = grams;
    s->stable = stable;
}

void posdev_sim_set_confirm(struct posdev_sim *s, bool yes)
{
    s->confirm_yes = yes;
}

void posdev_sim_set_deposit(struct posdev_sim *s, int64_t inserted)
{
    s->insert = inserted;
}

void posdev_sim_lose_replies(struct posdev_sim *s, int n)
{
    s->lose = n;
}

void posdev_sim_offline_after_loss(struct posdev_sim *s, bool on)
{
    s->die_on_loss = on;
}

void posdev_sim_set_offline(struct posdev_sim *s, bool offline)
{
    s->offline = offline;
}

void posdev_sim_stats(const struct posdev_sim *s, struct posdev_sim_stats *ret)
{
    *ret = s->st;
}

const uint8_t *posdev_sim_last_print(const struct posdev_sim *s, size_t *ret_n)
{
    *ret_n = s->print_n;
    return s->print;
}

const char *posdev_sim_last_display(const struct posdev_sim *s, int line)
{
    return s->disp[line ? 1 : 0];
}
