/*
 * audit: the API every security event goes through (POL-7, POL-8).
 *
 *     audit_event(a, &actor, "device.refused", F_STR("serial", s), F_STR("reason", why));
 *
 * Details are typed fields (common/field.h): HIGH values are refused, MEDIUM
 * values masked, before anything is stored. Callers see only this header;
 * the storage behind it (an append-only SQLite table, and the tamper-evident
 * log that replaces it) can change without touching them.
 *
 * Event names are dotted lowercase ("signon.failed", "device.attach"); docs/
 * audit-events.md lists each with its fields and data class.
 */
#ifndef MAMORI_AUDIT_H
#define MAMORI_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/field.h"

struct audit;

/* Who did it. Any member may be NULL (e.g. a device event has no operator). */
struct audit_actor {
    const char *operator_id;
    const char *role;
    const char *process;
};

/* Open (creating if needed) the audit store at path. */
int audit_open(const char *path, struct audit **ret);
/* Close; NULL-safe. */
void audit_close(struct audit *a);

/* Append one event. Returns 0; MAMORI_ERR_PERM if a HIGH field was passed (the
 * event is still recorded with that field refused, and the misuse is visible);
 * or a storage error. Durable when it returns. */
int audit_record(struct audit *a, const struct audit_actor *actor, const char *event,
                 const struct field *fields);

#define audit_event(a, actor, ev, ...) \
    audit_record((a), (actor), (ev), ((const struct field[]){__VA_ARGS__, F_END}))

/* Number of recorded events named event (NULL: all). For tests and status. */
int audit_count(struct audit *a, const char *event, int64_t *ret_n);

#endif
