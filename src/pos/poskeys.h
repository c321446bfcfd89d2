/*
 * poskeys: the POS keyboard device's key presses (keyboard.key events: digit
 * keys, "00" and function keys such as ENTER, QTY, PLU, SUBTOTAL, CASH) turned
 * into register console lines, as a real register's keyboard works:
 *
 *   4 9 0 1 ... ENTER   -> scan 4901...          (key-in of a barcode)
 *   3 QTY 4 9 ... ENTER -> scan 49... 3
 *   1 2 PLU             -> plu 12
 *   5 0 0 DEPT          -> dept 1 500           (the open department key)
 *   SUBTOTAL / TOTAL    -> subtotal
 *   1 0 0 0 CASH        -> cash 1000; CASH alone -> cash for the amount due
 *   VOID                -> void of the last live line (直前訂正)
 *   GIFT / POINTS / RESUME with digits, EATIN / TAKEOUT, SUSPEND, RECEIPT,
 *   CLEAR (drops the entry).
 * Keys that need a manager's password (cancel, returns, approvals, cash
 * movements, sign-on) are refused: passwords are not typed on the
 * key-by-key device stream. Key names are outside bytes: unknown names and
 * over-long entries are refused.
 */
#ifndef MAMORI_POS_POSKEYS_H
#define MAMORI_POS_POSKEYS_H

#include <stddef.h>

#include "pos/txn.h"

#define POSKEYS_ENTRY_MAX 24 /* digits in one entry */
#define POSKEYS_LINE_MAX 96

struct poskeys {
    char entry[POSKEYS_ENTRY_MAX + 1];
    size_t n;
    int qty;            /* 0: none pressed */
};

void poskeys_init(struct poskeys *k);
/* One key press. Returns 1 and a console line in line when the key completes
 * an operation, 0 when it only edited the entry, or a negative MAMORI_ERR_*
 * (unknown key, entry too long, key not allowed from the keyboard); the entry
 * is cleared after a completed or refused operation. t (may be NULL) is read
 * for the amount due and the last line. */
int poskeys_press(struct poskeys *k, const struct txn *t, const char *key,
                  char line[static POSKEYS_LINE_MAX]);

#endif
