/*
 * poskeys.c: owns the key-sequence state machine of the POS keyboard device
 * (digits entered, quantity, function keys) and its mapping to console lines.
 * It must not own any register rule: the console line goes through the
 * engine like a typed command, which validates it.
 */
#include "pos/poskeys.h"

#include <stdio.h>
#include <string.h>

#include "mamori/err.h"

void poskeys_init(struct poskeys *k)
{
    memset(k, 0, sizeof(*k));
}

static void clear(struct poskeys *k)
{
    k->n = 0;
    k->entry[0] = '\0';
    k->qty = 0;
}

/* Write "cmd[ arg][ num]" (arg NULL, num < 0: left out); clear the state; 1. */
static int done(struct poskeys *k, char *line, const char *cmd, const char *arg, long long num)
{
    char n[24] = "";
    if (num >= 0)
        snprintf(n, sizeof(n), " %lld", num);
    snprintf(line, POSKEYS_LINE_MAX, "%s%s%s%s", cmd, arg ? " " : "", arg ? arg : "", n);
    clear(k);
    return 1;
}

static int refuse(struct poskeys *k, int rc)
{
    clear(k);
    return rc;
}

int poskeys_press(struct poskeys *k, const struct txn *t, const char *key,
                  char line[static POSKEYS_LINE_MAX])
{
    const struct txn_rec *r = t ? txn_current(t) : NULL;
    if (key == NULL)
        return MAMORI_ERR_INVAL;
    if ((key[0] >= '0' && key[0] <= '9' && key[1] == '\0') || strcmp(key, "00") == 0) {
        size_t add = strlen(key);
        if (k->n + add > POSKEYS_ENTRY_MAX)
            return refuse(k, MAMORI_ERR_TOOBIG);
        memcpy(k->entry + k->n, key, add + 1);
        k->n += add;
        return 0;
    }
    if (strcmp(key, "CLEAR") == 0) {
        clear(k);
        return 0;
    }
    if (strcmp(key, "QTY") == 0) {
        int q = 0;
        if (k->n == 0 || k->n > 4)
            return refuse(k, MAMORI_ERR_INVAL);
        for (size_t i = 0; i < k->n; i++)
            q = q * 10 + (k->entry[i] - '0');
        k->n = 0;
        k->entry[0] = '\0';
        k->qty = q;
        return 0;
    }
    if (strcmp(key, "ENTER") == 0) {
        if (k->n == 0)
            return refuse(k, MAMORI_ERR_INVAL);
        return k->qty ? done(k, line, "scan", k->entry, k->qty)
                      : done(k, line, "scan", k->entry, -1);
    }
    if (strcmp(key, "PLU") == 0) {
        if (k->n == 0)
            return refuse(k, MAMORI_ERR_INVAL);
        return k->qty ? done(k, line, "plu", k->entry, k->qty)
                      : done(k, line, "plu", k->entry, -1);
    }
    if (strcmp(key, "DEPT") == 0) {
        if (k->n == 0)
            return refuse(k, MAMORI_ERR_INVAL);
        return k->qty ? done(k, line, "dept 1", k->entry, k->qty)
                      : done(k, line, "dept 1", k->entry, -1);
    }
    if (k->qty)
        return refuse(k, MAMORI_ERR_INVAL); /* a quantity belongs to an item key */
    if (strcmp(key, "SUBTOTAL") == 0 || strcmp(key, "TOTAL") == 0)
        return done(k, line, "subtotal", NULL, -1);
    if (strcmp(key, "CASH") == 0) {
        struct txn_totals tot;
        if (k->n > 0)
            return done(k, line, "cash", k->entry, -1);
        if (t == NULL || txn_totals(t, &tot) != 0 || tot.due <= 0)
            return refuse(k, MAMORI_ERR_STATE);
        return done(k, line, "cash", NULL, (long long)tot.due);
    }
    if (strcmp(key, "GIFT") == 0 || strcmp(key, "POINTS") == 0 || strcmp(key, "RESUME") == 0 ||
        strcmp(key, "COUPON") == 0) {
        const char *cmd = key[0] == 'G' ? "gift" : key[0] == 'P' ? "points"
                          : key[0] == 'R' ? "resume" : "coupon";
        if (k->n == 0)
            return refuse(k, MAMORI_ERR_INVAL);
        return done(k, line, cmd, k->entry, -1);
    }
    if (k->n > 0)
        return refuse(k, MAMORI_ERR_INVAL); /* digits before a key that takes none */
    if (strcmp(key, "VOID") == 0) {
        for (size_t i = r ? r->n_lines : 0; i-- > 0;)
            if (!r->lines[i].voided)
                return done(k, line, "void", NULL, (long long)r->lines[i].no);
        return refuse(k, MAMORI_ERR_STATE);
    }
    if (strcmp(key, "EATIN") == 0)
        return done(k, line, "eatin on", NULL, -1);
    if (strcmp(key, "TAKEOUT") == 0)
        return done(k, line, "eatin off", NULL, -1);
    if (strcmp(key, "SUSPEND") == 0)
        return done(k, line, "suspend", NULL, -1);
    if (strcmp(key, "RECEIPT") == 0)
        return done(k, line, "receipt", NULL, -1);
    /* CANCEL, RETURN, DISCOUNT, PERCENT, PRICE, NOSALE, PAIDIN, PAIDOUT,
     * MANAGER, SIGNON, SIGNOFF, TRAINING, CREDIT, EMONEY, REPRINT: need a
     * credential or a dialogue the console/API provides. */
    return refuse(k, MAMORI_ERR_UNSUPPORTED);
}
