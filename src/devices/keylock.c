/*
 * keylock.c: firmware of the mode key switch (UPOS Keylock, DEV-11).
 *
 * Owns: the key position (UPOS KeyPosition 1..PositionCount, kept across a
 * power cycle), turning the control interface's "turn POSITION" into a
 * position change, the StatusUpdateEvent of a change (keylock.status
 * {status: new position, position, count}), and the device's own record of
 * every turn. Positions (UPOS LOCK_KP_LOCK = 1, LOCK_KP_NORM = 2,
 * LOCK_KP_SUPR = 3, vendor positions 4..6 of a Japanese mode switch):
 *
 *   1 lock  施錠     2 reg  登録 (NORM)   3 x   点検 (SUPR, read)
 *   4 z     精算      5 set  設定           6 train 訓練
 *
 * Does not own what a position allows (the register: src/pos/posmode.h).
 * A physical key cannot be refused: a turn always happens, even when the
 * terminal is not listening (it asks keylock.status when it attaches).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devstate.h"
#include "mamori/err.h"

#define KEYLOCK_STATE "keylock.state"
#define KEYLOCK_COUNT 6       /* UPOS PositionCount */
#define KEYLOCK_KT_STANDARD 1 /* UPOS CapKeylockType LOCK_KT_STANDARD */

/* Control names of positions 1..KEYLOCK_COUNT. */
static const char *const keylock_names[KEYLOCK_COUNT] = {"lock", "reg", "x", "z", "set", "train"};
static const char *const keylock_keys[] = {"position", "turns"};
static const int64_t keylock_new[] = {1, 0}; /* a new switch is delivered locked */

struct keylock {
    struct devstate_ints s; /* v[0] position 1..KEYLOCK_COUNT, v[1] turns */
};

static int keylock_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct keylock *k = calloc(1, sizeof(*k));
    int r;
    if (k == NULL)
        return MAMORI_ERR_NOMEM;
    r = devstate_ints_open(&k->s, state_dir, io, KEYLOCK_STATE, keylock_keys, keylock_new, 2);
    if (r == 0 && (k->s.v[0] < 1 || k->s.v[0] > KEYLOCK_COUNT))
        r = MAMORI_ERR_INVAL;
    if (r != 0) {
        free(k);
        return r;
    }
    *ret_state = k;
    return 0;
}

static void keylock_destroy(void *state)
{
    free(state);
}

/* {status, position, count, type, turns}: the status reply and event body. */
static cbor_item_t *keylock_body(const struct keylock *k)
{
    cbor_item_t *m = devbody_new();
    if (m == NULL || devbody_put_int(m, "status", k->s.v[0]) || devbody_put_int(m, "position", k->s.v[0]) ||
        devbody_put_int(m, "count", KEYLOCK_COUNT) || devbody_put_int(m, "type", KEYLOCK_KT_STANDARD) ||
        devbody_put_str(m, "name", keylock_names[k->s.v[0] - 1]) || devbody_put_int(m, "turns", k->s.v[1])) {
        if (m != NULL)
            cbor_decref(&m);
        return NULL;
    }
    return m;
}

static int keylock_request(void *state, const char *type, const cbor_item_t *body,
                           cbor_item_t **ret_reply)
{
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "keylock.status") != 0)
        return MAMORI_ERR_UNSUPPORTED;
    if ((*ret_reply = keylock_body(state)) == NULL)
        return MAMORI_ERR_NOMEM;
    return 0;
}

/* POSITION: 1..KEYLOCK_COUNT or a name; 0 if neither. */
static int keylock_parse(const char *s)
{
    int64_t v;
    if (devctl_int(s, 1, KEYLOCK_COUNT, &v) == 0)
        return (int)v;
    for (int i = 0; i < KEYLOCK_COUNT; i++)
        if (strcasecmp(s, keylock_names[i]) == 0)
            return i + 1;
    return 0;
}

static int keylock_turn(struct keylock *k, int pos, struct buf *answer)
{
    cbor_item_t *ev;
    int r;
    if (pos == k->s.v[0])
        return devctl_answer(answer, "already at %d %s", pos, keylock_names[pos - 1]);
    /* The device's own log first: a turn it cannot record is still a turn
     * (a mechanical key), so a failed record is noted, not a refusal. */
    if (device_record_str(&k->s.io, "keylock.turn", "position", keylock_names[pos - 1]) != 0)
        (void)devstate_note(k->s.dir, "keylock.turn", "not recorded in the device log");
    k->s.v[0] = pos;
    k->s.v[1]++;
    r = devstate_ints_store(&k->s);
    if (r != 0) {
        devctl_answer(answer, "turned but not saved: %s", mamori_strerror(r));
        return r;
    }
    if ((ev = keylock_body(k)) == NULL)
        return MAMORI_ERR_NOMEM;
    r = k->s.io.emit(k->s.io.ctx, "keylock.status", ev);
    if (r != 0) {
        devctl_answer(answer, "turned to %d %s, not delivered: %s", pos, keylock_names[pos - 1],
                      mamori_strerror(r));
        return r;
    }
    return devctl_answer(answer, "turned to %d %s", pos, keylock_names[pos - 1]);
}

static int keylock_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct keylock *k = state;
    int pos;
    if (argc == 1 && strcmp(argv[0], "status") == 0)
        return devctl_answer(answer, "keylock: position %lld %s, %lld turns", (long long)k->s.v[0],
                             keylock_names[k->s.v[0] - 1], (long long)k->s.v[1]);
    if (argc == 2 && strcmp(argv[0], "turn") == 0) {
        if ((pos = keylock_parse(argv[1])) == 0) {
            devctl_answer(answer, "turn 1..%d or lock|reg|x|z|set|train", KEYLOCK_COUNT);
            return MAMORI_ERR_INVAL;
        }
        return keylock_turn(k, pos, answer);
    }
    devctl_answer(answer, "usage: turn POSITION | status");
    return MAMORI_ERR_INVAL;
}

const struct device_class device_keylock = {
    .kind = "keylock",
    .model = "MAMORI-SIM-KEY1",
    .upos_name = "Keylock",
    .create = keylock_create,
    .destroy = keylock_destroy,
    .request = keylock_request,
    .control = keylock_control,
};
