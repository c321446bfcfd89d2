/*
 * poskeys: the POS keyboard device's key presses (keyboard.key events: digit
 * keys, "00" and function keys such as ENTER, QTY, PLU, SUBTOTAL, CASH) turned
 * into register API requests (api.h), as a real register's keyboard works:
 *
 *   4 9 0 1 ... ENTER   -> scan 4901...          (key-in of a barcode)
 *   3 QTY 4 9 ... ENTER -> scan 49... qty 3
 *   1 2 PLU             -> plu 12
 *   5 0 0 DEPT          -> dept 1 price 500     (the open department key)
 *   SUBTOTAL / TOTAL    -> subtotal
 *   1 0 0 0 CASH        -> cash 1000; CASH alone -> cash through the change
 *                          machine (the shopper inserts the money)
 *   VOID                -> void of the last live line (直前訂正)
 *   GIFT / POINTS / RESUME / COUPON with digits, EATIN / TAKEOUT, SUSPEND,
 *   CLEAR (drops the entry).
 * Keys that need a manager's password (cancel, returns, approvals, cash
 * movements, sign-on) are refused: passwords are not typed on the
 * key-by-key device stream. Key names are outside bytes: unknown names and
 * over-long entries are refused.
 */
#ifndef MAMORI_POS_POSKEYS_H
#define MAMORI_POS_POSKEYS_H

#include <stddef.h>

#include "pos/api.h"
#include "pos/txn.h"

#define POSKEYS_ENTRY_MAX 24 /* digits in one entry */
#define POSKEYS_BUTTON_MAX 32 /* bytes of a touch-panel button id (without NUL) */

struct poskeys {
    char entry[POSKEYS_ENTRY_MAX + 1];
    size_t n;
    int qty;            /* 0: none pressed */
};

void poskeys_init(struct poskeys *k);
/* One key press. Returns 1 and the request in *ret_req (zeroed first; no
 * secrets) when the key completes an operation, 0 when it only edited the
 * entry, or a negative MAMORI_ERR_* (unknown key, entry too long, key not
 * allowed from the keyboard); the entry is cleared after a completed or
 * refused operation. t (may be NULL) is read for the last live line (VOID).
 * The request goes through api_exec like an API call, which validates it. */
int poskeys_press(struct poskeys *k, const struct txn *t, const char *key,
                  struct api_req *ret_req);

/* One touch-panel button (DEV-10): a button id is a key name ("SUBTOTAL",
 * "7", "00") or KEY:DIGITS, a key with preset digits ("PLU:102" presses
 * 1 0 2 PLU, "CASH:1000" presses 1 0 0 0 CASH), fed through poskeys_press
 * key by key, so buttons and keys share one entry and one mapping. The id is
 * outside bytes: MAMORI_ERR_INVAL for a malformed id (empty, too long,
 * not [A-Z0-9] KEY with 1..15 DIGITS, digits after a digit key) or preset
 * digits while an entry is open (the entry is cleared), MAMORI_ERR_NOTFOUND
 * for a key name the register does not know; otherwise as poskeys_press
 * (keys needing a password: MAMORI_ERR_UNSUPPORTED). */
int poskeys_button(struct poskeys *k, const struct txn *t, const char *id,
                   struct api_req *ret_req);

#endif
