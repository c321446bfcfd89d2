/*
 * demo_pay: the card payment part of `mamori demo` (issue 4): the key
 * injection ceremony with two custodians, a credit sale with PIN, one with
 * signature, an e-money sale, a refund by token, and the scan proving no
 * card data on the controller.
 */
#ifndef MAMORI_CMD_DEMO_PAY_H
#define MAMORI_CMD_DEMO_PAY_H

/* bindir: the programs; dir: an existing private directory; datadir: items.csv.
 * Prints as it goes. Returns the number of failed steps (0: all shown). */
int demo_pay(const char *bindir, const char *dir, const char *datadir);

#endif
