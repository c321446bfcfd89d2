/*
 * demo_audit: the audit part of `mamori demo` (issue 5): the audit trail of
 * the demo day (the register's terminal), verified offline with the exported
 * verifier keys; one byte of a copy of the database changed and
 * `mamori audit verify` naming the entry; the change machine's own signed
 * log verified with only its certificate's key; a cash reconciliation with
 * one planted discrepancy (data/demo/cash-day.json).
 */
#ifndef MAMORI_CMD_DEMO_AUDIT_H
#define MAMORI_CMD_DEMO_AUDIT_H

/* bindir: where mamori is; term: the demo day's terminal state directory
 * (stopped); devdir: the directory holding dev-changer/; workdir: an existing
 * private directory; datadir: holds demo/cash-day.json. Prints as it goes.
 * Returns the number of failed steps. */
int demo_audit(const char *bindir, const char *term, const char *devdir, const char *workdir, const char *datadir);

#endif
