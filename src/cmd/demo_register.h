/*
 * demo_register: the register part of `mamori demo` (issue 3): a terminal
 * with the register, eight simulated devices enrolled under dual control,
 * two-person sale with a weighed item, a price-embedded code, an
 * age-restricted item confirmed on the customer display, gift certificate,
 * coupon, points and cash through the change machine; a return with a
 * manager's approval; X and Z reports; the receipts decoded from the bytes
 * the printer device received.
 */
#ifndef MAMORI_CMD_DEMO_REGISTER_H
#define MAMORI_CMD_DEMO_REGISTER_H

/* bindir: where mamori, mamori-terminald and mamori-devsim are; dir: an
 * existing private directory to work in; datadir: holds items.csv.
 * Prints as it goes. Returns the number of failed steps (0: all shown). */
int demo_register(const char *bindir, const char *dir, const char *datadir);

#endif
