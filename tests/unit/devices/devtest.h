/*
 * devtest: drives one device class directly (no bus, no runner) for the
 * firmware unit tests: create in a temporary state directory, requests,
 * control commands, captured events, restart on the same state.
 */
#ifndef MAMORI_DEVTEST_H
#define MAMORI_DEVTEST_H

#include "testutil.h"

#include <stdbool.h>

#include <cbor.h>

#include "common/buf.h"
#include "devices/device.h"

#define DEVTEST_EVENTS_MAX 512
#define DEVTEST_SERIAL "DEVTEST-0001" /* io.serial of every test device */

struct keys;

struct devtest {
    char *dir;
    const struct device_class *cls;
    void *st;
    struct device_io io;
    bool offline;              /* emit answers MAMORI_ERR_OFFLINE */
    size_t nev;
    char *ev_type[DEVTEST_EVENTS_MAX];
    cbor_item_t *ev_body[DEVTEST_EVENTS_MAX];
    struct buf answer;         /* last control answer, NUL-terminated */
    struct keys *sign_key;     /* the device key behind io.sign */
};

void devtest_start(struct devtest *t, const char *kind);
/* Destroy and create again on the same state directory (a power cycle). */
void devtest_restart(struct devtest *t);
void devtest_stop(struct devtest *t);
/* A request; takes body. *ret_reply may be NULL to drop the reply. */
int devtest_req(struct devtest *t, const char *type, cbor_item_t *body, cbor_item_t **ret_reply);
/* A control command line split at spaces ("scan 4901234567894 ean13"). */
int devtest_ctl(struct devtest *t, const char *line);
const char *devtest_answer(struct devtest *t);
/* The i-th captured event of this type (from the start), or NULL. */
const cbor_item_t *devtest_event(struct devtest *t, const char *type, size_t i);
size_t devtest_count(struct devtest *t, const char *type);
/* Every captured event serialised and concatenated (for leak searches). */
void devtest_events_bytes(struct devtest *t, struct buf *out);

/* Body builders for tests: a map from "k", int / "k", "str" pairs. */
cbor_item_t *devtest_body(void);
int64_t devtest_int(const cbor_item_t *map, const char *key);
const char *devtest_str(const cbor_item_t *map, const char *key, char *out, size_t cap);
/* Serialise then compare two items. */
bool devtest_same(const cbor_item_t *a, const cbor_item_t *b);

#endif
