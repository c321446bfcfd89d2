/*
 * posmode.c: owns the table of which register operations each mode key
 * position allows, the refusal text and its audit record, and keeping the
 * station's training mode in step with the key (訓練). It does not own the
 * position (busdev.c reads it from the keylock device) nor any operation.
 */
#include "pos/posmode.h"

#include <stdio.h>

#include "audit/audit.h"
#include "mamori/err.h"
#include "pos/txn.h"

#define BIT(p) (1u << (p))
#define M_ANY (BIT(POSMODE_NONE) | BIT(POSMODE_LOCK) | BIT(POSMODE_REG) | BIT(POSMODE_X) | \
               BIT(POSMODE_Z) | BIT(POSMODE_SET) | BIT(POSMODE_TRAIN))
#define M_UNLOCKED (M_ANY & ~BIT(POSMODE_LOCK))
#define M_REG (BIT(POSMODE_NONE) | BIT(POSMODE_REG) | BIT(POSMODE_TRAIN))

static const char *const posmode_names[] = {
    "none", "施錠 (1 lock)", "登録 (2 reg)", "点検 (3 x)", "精算 (4 z)", "設定 (5 set)", "訓練 (6 train)",
};

const char *posmode_name(int pos)
{
    return pos >= 0 && pos <= POSMODE_COUNT ? posmode_names[pos] : "?";
}

unsigned posmode_allowed(enum api_op op)
{
    switch (op) {
    case API_STATE: case API_EVENTS: case API_JOURNAL_SEARCH:
        return M_ANY; /* reading, not operating */
    case API_SIGNON: case API_SIGNON_PAIR: case API_SIGNOFF: case API_JOURNAL_SHOW:
        return M_UNLOCKED;
    case API_TRAINING:
        return BIT(POSMODE_NONE); /* with a mode key, the key decides */
    case API_DAY_OPEN: case API_CHANGE_FUND:
        return BIT(POSMODE_NONE) | BIT(POSMODE_SET);
    case API_REPORT_X:
        return BIT(POSMODE_NONE) | BIT(POSMODE_X);
    case API_DECLARE:
        return BIT(POSMODE_NONE) | BIT(POSMODE_X) | BIT(POSMODE_Z);
    case API_REPORT_Z: case API_DAY_CLOSE:
        return BIT(POSMODE_NONE) | BIT(POSMODE_Z);
    case API_OP_NONE: case API_OP_COUNT:
        return 0;
    default:
        return M_REG; /* registration, tenders, returns, cash movements, reprint */
    }
}

/* "登録 (2 reg) or 訓練 (6 train)": the positions in mask, for a refusal. */
static void mask_text(unsigned mask, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int p = POSMODE_LOCK; p <= POSMODE_COUNT && n < cap; p++)
        if (mask & BIT(p)) {
            int w = snprintf(out + n, cap - n, "%s%s", n ? " or " : "", posmode_names[p]);
            if (w < 0)
                return;
            n += (size_t)w;
        }
    if (n == 0)
        snprintf(out, cap, "no position (the mode key decides)");
}

static int refuse(int pos, struct txn *t, enum api_op op, const char *why, unsigned mask)
{
    struct audit_actor act;
    char need[160], msg[256];
    mask_text(mask, need, sizeof(need));
    txn_actor(t, &act);
    (void)audit_event(txn_audit(t), &act, "mode.refused", F_INT("op", op),
                      F_STR("position", posmode_name(pos)), F_STR("required", need),
                      F_STR("reason", why));
    snprintf(msg, sizeof(msg), "mode key at %s: %s; turn it to %s", posmode_name(pos), why, need);
    txn_set_error(t, msg);
    return MAMORI_ERR_PERM;
}

int posmode_gate(int pos, struct txn *t, enum api_op op)
{
    unsigned mask = posmode_allowed(op);
    bool want;
    if (pos == POSMODE_NONE)
        return 0;
    if (pos < POSMODE_LOCK || pos > POSMODE_COUNT)
        pos = POSMODE_LOCK; /* an unknown position is no permission */
    if (!(mask & BIT(pos)))
        return refuse(pos, t, op, pos == POSMODE_LOCK ? "locked" : "not allowed in this position",
                      mask & ~BIT(POSMODE_NONE));
    if (mask == M_ANY)
        return 0;
    /* Training follows the key: on in 訓練, off elsewhere. It can switch only
     * between transactions with someone signed on; a registration operation
     * in the wrong mode is refused rather than mixing real and training. */
    want = pos == POSMODE_TRAIN;
    if (txn_training(t) == want)
        return 0;
    if (txn_operator(t)[0] == '\0')
        return 0; /* nobody signed on: the engine refuses what needs someone */
    if (txn_current(t) == NULL && txn_set_training(t, want) == 0)
        return 0;
    if (mask == M_REG)
        return refuse(pos, t, op,
                      want ? "a real transaction is open" : "a training transaction is open",
                      BIT(want ? POSMODE_REG : POSMODE_TRAIN));
    return 0;
}
