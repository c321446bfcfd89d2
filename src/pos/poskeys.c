/*
 * poskeys.c: owns the key-sequence state machine of the POS keyboard device
 * (digits entered, quantity, function keys) and its mapping to register API
 * requests. It must not own any register rule: the request goes through
 * api_exec like an API call, which validates it.
 */
#include "pos/poskeys.h"

#include <stdbool.h>
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

/* Start a request of kind op in req; the entry and quantity go with it. */
static int done(struct poskeys *k, struct api_req *req, enum api_op op)
{
    req->op = op;
    if (k->qty) {
        req->qty = k->qty;
        req->have |= API_F_QTY;
    }
    clear(k);
    return 1;
}

static int refuse(struct poskeys *k, int rc)
{
    clear(k);
    return rc;
}

/* The entry as a number (at most POSKEYS_ENTRY_MAX digits: may not fit). */
static int entry_num(const struct poskeys *k, int64_t *ret)
{
    int64_t v = 0;
    if (k->n == 0 || k->n > 15)
        return MAMORI_ERR_INVAL;
    for (size_t i = 0; i < k->n; i++)
        v = v * 10 + (k->entry[i] - '0');
    *ret = v;
    return 0;
}

int poskeys_press(struct poskeys *k, const struct txn *t, const char *key,
                  struct api_req *req)
{
    const struct txn_rec *r = t ? txn_current(t) : NULL;
    int64_t v = 0;
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
        if (q < 1 || q > TXN_QTY_MAX)
            return refuse(k, MAMORI_ERR_INVAL);
        k->n = 0;
        k->entry[0] = '\0';
        k->qty = q;
        return 0;
    }
    memset(req, 0, sizeof(*req));
    if (strcmp(key, "ENTER") == 0 || strcmp(key, "PLU") == 0) {
        bool plu = key[0] == 'P';
        if (k->n == 0 || k->n >= sizeof(req->code))
            return refuse(k, MAMORI_ERR_INVAL);
        memcpy(plu ? req->plu : req->code, k->entry, k->n + 1);
        req->have = plu ? API_F_PLU : API_F_CODE;
        return done(k, req, plu ? API_PLU : API_SCAN);
    }
    if (strcmp(key, "DEPT") == 0) {
        if (entry_num(k, &req->price) != 0)
            return refuse(k, MAMORI_ERR_INVAL);
        req->dept = 1;
        req->have = API_F_DEPT | API_F_PRICE;
        return done(k, req, API_DEPT);
    }
    if (k->qty)
        return refuse(k, MAMORI_ERR_INVAL); /* a quantity belongs to an item key */
    if (strcmp(key, "SUBTOTAL") == 0 || strcmp(key, "TOTAL") == 0)
        return done(k, req, API_SUBTOTAL);
    if (strcmp(key, "CASH") == 0) {
        if (k->n > 0) {
            if (entry_num(k, &req->amount) != 0)
                return refuse(k, MAMORI_ERR_INVAL);
            req->have = API_F_AMOUNT;
        }
        return done(k, req, API_CASH);  /* no amount: through the change machine */
    }
    if (strcmp(key, "GIFT") == 0 || strcmp(key, "POINTS") == 0) {
        bool gift = key[0] == 'G';
        if (entry_num(k, &v) != 0)
            return refuse(k, MAMORI_ERR_INVAL);
        if (gift) {
            req->amount = v;
            req->have = API_F_AMOUNT;
        } else {
            req->points = v;
            req->have = API_F_POINTS;
        }
        return done(k, req, gift ? API_GIFT : API_POINTS);
    }
    if (strcmp(key, "RESUME") == 0 || strcmp(key, "COUPON") == 0) {
        bool resume = key[0] == 'R';
        if (k->n == 0 || k->n >= (resume ? sizeof(req->slip) : sizeof(req->code)))
            return refuse(k, MAMORI_ERR_INVAL);
        memcpy(resume ? req->slip : req->code, k->entry, k->n + 1);
        req->have = resume ? API_F_SLIP : API_F_CODE;
        return done(k, req, resume ? API_RESUME : API_COUPON);
    }
    if (k->n > 0)
        return refuse(k, MAMORI_ERR_INVAL); /* digits before a key that takes none */
    if (strcmp(key, "VOID") == 0) {
        for (size_t i = r ? r->n_lines : 0; i-- > 0;)
            if (!r->lines[i].voided) {
                req->line = r->lines[i].no;
                req->have = API_F_LINE;
                return done(k, req, API_VOID);
            }
        return refuse(k, MAMORI_ERR_STATE);
    }
    if (strcmp(key, "EATIN") == 0 || strcmp(key, "TAKEOUT") == 0) {
        req->on = key[0] == 'E';
        req->have = API_F_ON;
        return done(k, req, API_EAT_IN);
    }
    if (strcmp(key, "SUSPEND") == 0)
        return done(k, req, API_SUSPEND);
    /* CANCEL, RETURN, DISCOUNT, PERCENT, PRICE, NOSALE, PAIDIN, PAIDOUT,
     * MANAGER, SIGNON, SIGNOFF, TRAINING, CREDIT, EMONEY, REPRINT, RECEIPT:
     * need a credential or a dialogue the console/API provides. */
    return refuse(k, MAMORI_ERR_UNSUPPORTED);
}

/* Every key name poskeys_press knows (those it maps and those that need the
 * console), so a button naming anything else is refused as unknown. */
static const char *const poskeys_names[] = {
    "CLEAR",  "QTY",     "ENTER",   "PLU",      "DEPT",     "SUBTOTAL", "TOTAL",   "CASH",
    "GIFT",   "POINTS",  "RESUME",  "COUPON",   "VOID",     "EATIN",    "TAKEOUT", "SUSPEND",
    "CANCEL", "RETURN",  "DISCOUNT", "PERCENT", "PRICE",    "NOSALE",   "PAIDIN",  "PAIDOUT",
    "MANAGER", "SIGNON", "SIGNOFF", "TRAINING", "CREDIT",   "EMONEY",   "REPRINT", "RECEIPT",
};

static bool poskeys_known(const char *key)
{
    if ((key[0] >= '0' && key[0] <= '9' && key[1] == '\0') || strcmp(key, "00") == 0)
        return true;
    for (size_t i = 0; i < sizeof(poskeys_names) / sizeof(poskeys_names[0]); i++)
        if (strcmp(key, poskeys_names[i]) == 0)
            return true;
    return false;
}

int poskeys_button(struct poskeys *k, const struct txn *t, const char *id, struct api_req *req)
{
    char key[POSKEYS_BUTTON_MAX + 1];
    const char *colon, *digits = NULL;
    size_t n, kn;
    int rc;
    if (id == NULL || (n = strnlen(id, POSKEYS_BUTTON_MAX + 1)) == 0 || n > POSKEYS_BUTTON_MAX)
        return refuse(k, MAMORI_ERR_INVAL);
    colon = memchr(id, ':', n);
    kn = colon != NULL ? (size_t)(colon - id) : n;
    if (kn == 0 || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != kn)
        return refuse(k, MAMORI_ERR_INVAL);
    memcpy(key, id, kn);
    key[kn] = '\0';
    if (colon != NULL) {
        size_t dn = n - kn - 1;
        digits = colon + 1;
        if (dn == 0 || dn > 15 || strspn(digits, "0123456789") != dn ||
            (key[0] >= '0' && key[0] <= '9'))
            return refuse(k, MAMORI_ERR_INVAL);
        if (k->n > 0)
            return refuse(k, MAMORI_ERR_INVAL); /* a preset button replaces no typed entry */
    }
    if (!poskeys_known(key))
        return refuse(k, MAMORI_ERR_NOTFOUND);
    for (const char *d = digits; d != NULL && *d != '\0'; d++)
        if ((rc = poskeys_press(k, t, (char[2]){*d, '\0'}, req)) != 0)
            return rc < 0 ? rc : refuse(k, MAMORI_ERR_INTERNAL);
    return poskeys_press(k, t, key, req);
}
