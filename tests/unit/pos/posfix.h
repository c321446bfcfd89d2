/*
 * posfix: a register fixture for the pos unit tests: journal, audit and
 * simulated devices in a fresh temp dir, a small fake catalog (real barcode
 * parsing in front of a table) and a fake operator table.
 *
 * Items (all codes with valid check digits):
 *   4901234567894 コーラ        108 reduced, 内税
 *   4900000000016 ギュウニク    972 reduced, 内税
 *   4900000000023 ハミガキコ    330 standard, 内税
 *   4900000000030 ビール        220 standard, 内税, age-restricted
 *   4900000000047 ノート        105 standard, 外税
 *   4900000000054 高級時計  5,000,000 standard, 内税
 *   2000000000015 量り売りトマト 198 per 100 g, reduced, weighed
 *   02xxxxx price-embedded (layout 02 default): 惣菜, price from the code
 * PLU "1" = コーラ, "2" = トマト (weighed). Departments 1 (食品, reduced), 2 (雑貨).
 * Operators: chk/1111 checker, csh/2222 cashier, mgr/3333 manager,
 *            mnt/4444 maintainer.
 */
#ifndef MAMORI_TEST_POSFIX_H
#define MAMORI_TEST_POSFIX_H

#include <stdbool.h>

#include "audit/audit.h"
#include "pos/journal.h"
#include "pos/posdev.h"
#include "pos/tender.h"
#include "pos/txn.h"

#define POSFIX_COLA "4901234567894"
#define POSFIX_BEEF "4900000000016"
#define POSFIX_PASTE "4900000000023"
#define POSFIX_BEER "4900000000030"
#define POSFIX_NOTE "4900000000047"
#define POSFIX_WATCH "4900000000054"
#define POSFIX_TOMATO "2000000000015"
#define POSFIX_DELI_398 "0212345703984"

struct posfix {
    char *dir;
    char jpath[512];
    char spath[512];
    struct journal *j;
    struct audit *a;
    struct posdev_sim *sim;
    struct pos_devices dev;
    struct txn_config cfg;
    struct txn *t;
};

extern const struct txn_catalog posfix_catalog;
extern const struct txn_auth posfix_auth;
extern const struct txn_cred posfix_mgr;      /* mgr/3333 */
extern const struct txn_cred posfix_bad_mgr;  /* mgr/wrong */
extern const struct txn_cred posfix_not_mgr;  /* csh/2222 */

/* Fresh fixture in a new temp dir; signs on csh unless signon is false. */
void posfix_setup(struct posfix *f, bool changer, bool signon);
/* Close the station and reopen it on the same files (a restart). */
void posfix_restart(struct posfix *f);
void posfix_teardown(struct posfix *f);
/* True when the last printed receipt, decoded from its ESC/POS bytes, has a
 * line containing text. */
bool posfix_receipt_has(struct posfix *f, const char *text);
/* Count of audit events named ev. */
long posfix_audit(struct posfix *f, const char *ev);

#endif
