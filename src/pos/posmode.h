/*
 * posmode: what the mode key (UPOS Keylock, DEV-11) allows the register to
 * do in each position, when a keylock is enrolled on the terminal's bus.
 *
 *   position (UPOS)     name   allows
 *   1 LOCK_KP_LOCK      施錠   nothing (reading the state only)
 *   2 LOCK_KP_NORM      登録   registration, tenders, returns, suspend/resume,
 *                              pickup, paid-in/out, no-sale, reprint
 *   3 LOCK_KP_SUPR      点検   X report (read), cash declaration
 *   4 vendor            精算   Z report (reset), day close, cash declaration
 *   5 vendor            設定   day open and change fund (setup of the till)
 *   6 vendor            訓練   as 登録, in training mode (receipts marked,
 *                              no real totals: txn_set_training)
 * Sign-on, sign-off and reading the journal: any position but 施錠.
 * Training on/off by API: never (the key decides). POSMODE_NONE (no keylock
 * enrolled) allows everything: modes by sign-on role and API as before.
 *
 * The position comes only from the enrolled keylock device over the
 * authenticated bus (busdev_keylock); a keylock that is enrolled but
 * detached, or not yet heard from, is 施錠 (fail closed).
 */
#ifndef MAMORI_POS_POSMODE_H
#define MAMORI_POS_POSMODE_H

#include "pos/api.h"

struct txn;

enum posmode_pos {
    POSMODE_NONE = 0, /* no keylock enrolled */
    POSMODE_LOCK = 1,
    POSMODE_REG = 2,
    POSMODE_X = 3,
    POSMODE_Z = 4,
    POSMODE_SET = 5,
    POSMODE_TRAIN = 6,
};
#define POSMODE_COUNT 6 /* positions of the switch (UPOS PositionCount) */

/* "登録 (2 reg)" for a position, "?" outside 0..POSMODE_COUNT. */
const char *posmode_name(int pos);
/* Bit mask (1u << position) of the positions op may run in. */
unsigned posmode_allowed(enum api_op op);

/* The gate before each register operation (API, keys, touches, scans) at
 * key position pos: 0 when op may run. Otherwise MAMORI_ERR_PERM, the
 * refusal text in txn_last_error(t) naming the position(s) op needs, and an
 * audit event mode.refused {op, position, required}. In 登録/訓練 it first
 * puts the station in or out of training mode to match the key (only with
 * an operator signed on and no transaction open; otherwise a registration
 * operation is refused until the key is turned back). */
__attribute__((warn_unused_result)) int posmode_gate(int pos, struct txn *t, enum api_op op);

#endif
