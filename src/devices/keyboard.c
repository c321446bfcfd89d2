/*
 * keyboard.c: firmware of the POS keyboard (UPOS POSKeyboard, DEV-9/DEV-11).
 *
 * Owns: the key table (function keys such as SUBTOTAL, VOID, CASH, and the
 * digit keys) and turning the control interface's "key NAME" and "type TEXT"
 * into keyboard.key events {key, code} (one per key press, like UPOS
 * POSKeyData). Does not own what a key does (the register maps keys to
 * operations).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devstate.h"
#include "mamori/err.h"

#define KEYBOARD_STATE "keyboard.state"
#define KEYBOARD_TYPE_MAX 64 /* characters in one "type" command */

/* Function keys: codes 0x100 + index; digits and "00" are their ASCII codes. */
static const char *const keyboard_keys[] = {
    "SUBTOTAL", "TOTAL",  "VOID",    "CANCEL",  "CASH",     "CREDIT",  "EMONEY",  "GIFT",
    "COUPON",   "POINTS", "CLEAR",   "ENTER",   "QTY",      "PLU",     "DEPT",    "DISCOUNT",
    "PERCENT",  "PRICE",  "RETURN",  "NOSALE",  "SUSPEND",  "RESUME",  "RECEIPT", "REPRINT",
    "SIGNON",   "SIGNOFF", "EATIN",  "TAKEOUT", "PAIDIN",   "PAIDOUT", "MANAGER", "TRAINING",
};

struct keyboard {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    int64_t presses;
};

static int keyboard_encode(const void *state, cbor_item_t *m)
{
    const struct keyboard *k = state;
    return devbody_put_int(m, "presses", k->presses);
}

static int keyboard_decode(void *state, const cbor_item_t *st)
{
    struct keyboard *k = state;
    return devbody_get_int(st, "presses", 0, INT64_MAX, &k->presses);
}

static const struct devstate_file keyboard_file = {KEYBOARD_STATE, keyboard_encode,
                                                   keyboard_decode, NULL};

static int keyboard_save(struct keyboard *k)
{
    return devstate_store(k->dir, &keyboard_file, k);
}

static int keyboard_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct keyboard *k = calloc(1, sizeof(*k));
    int r;
    if (k == NULL)
        return MAMORI_ERR_NOMEM;
    k->io = *io;
    if ((r = devstate_dir(k->dir, state_dir)) || (r = devstate_open(k->dir, &keyboard_file, k))) {
        free(k);
        return r;
    }
    *ret_state = k;
    return 0;
}

static void keyboard_destroy(void *state)
{
    free(state);
}

/* The canonical name and code of a key, or -1. */
static int keyboard_lookup(const char *name, const char **ret_name)
{
    if (strcmp(name, "00") == 0) {
        *ret_name = "00";
        return 0x3030;
    }
    if (strlen(name) == 1 && name[0] >= '0' && name[0] <= '9') {
        *ret_name = name;
        return name[0];
    }
    for (size_t i = 0; i < sizeof(keyboard_keys) / sizeof(keyboard_keys[0]); i++)
        if (strcasecmp(name, keyboard_keys[i]) == 0) {
            *ret_name = keyboard_keys[i];
            return 0x100 + (int)i;
        }
    return -1;
}

static int keyboard_press(struct keyboard *k, const char *name, int code)
{
    cbor_item_t *ev = devbody_new();
    if (devbody_put_str(ev, "key", name) || devbody_put_int(ev, "code", code)) {
        if (ev != NULL)
            cbor_decref(&ev);
        return MAMORI_ERR_NOMEM;
    }
    k->presses++;
    return k->io.emit(k->io.ctx, "keyboard.key", ev);
}

static int keyboard_request(void *state, const char *type, const cbor_item_t *body,
                            cbor_item_t **ret_reply)
{
    struct keyboard *k = state;
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "keyboard.status") != 0)
        return MAMORI_ERR_UNSUPPORTED;
    cbor_item_t *m = devbody_new();
    if (devbody_put_int(m, "presses", k->presses)) {
        if (m != NULL)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    *ret_reply = m;
    return 0;
}

static int keyboard_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct keyboard *k = state;
    const char *name;
    int code, r;
    if (argc == 1 && strcmp(argv[0], "status") == 0)
        return devctl_answer(answer, "keyboard: %lld presses", (long long)k->presses);
    if (argc == 2 && strcmp(argv[0], "key") == 0) {
        if ((code = keyboard_lookup(argv[1], &name)) < 0) {
            devctl_answer(answer, "no such key: %.32s", argv[1]);
            return MAMORI_ERR_INVAL;
        }
        r = keyboard_press(k, name, code);
        (void)keyboard_save(k);
        if (r != 0) {
            devctl_answer(answer, "pressed but not delivered: %s", mamori_strerror(r));
            return r;
        }
        return devctl_answer(answer, "pressed %s", name);
    }
    if (argc == 2 && strcmp(argv[0], "type") == 0) {
        /* The keyboard has digit keys only: TEXT is a number typed key by key. */
        size_t n = strlen(argv[1]);
        if (n == 0 || n > KEYBOARD_TYPE_MAX || strspn(argv[1], "0123456789") != n) {
            devctl_answer(answer, "type takes 1..%d digits", KEYBOARD_TYPE_MAX);
            return MAMORI_ERR_INVAL;
        }
        r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
            char one[2] = {argv[1][i], '\0'};
            r = keyboard_press(k, one, one[0]);
        }
        (void)keyboard_save(k);
        if (r != 0) {
            devctl_answer(answer, "typed but not delivered: %s", mamori_strerror(r));
            return r;
        }
        return devctl_answer(answer, "typed %zu keys", n);
    }
    devctl_answer(answer, "usage: key NAME | type DIGITS | status");
    return MAMORI_ERR_INVAL;
}

const struct device_class device_keyboard = {
    .kind = "keyboard",
    .model = "MAMORI-SIM-KBD1",
    .upos_name = "POSKeyboard",
    .create = keyboard_create,
    .destroy = keyboard_destroy,
    .request = keyboard_request,
    .control = keyboard_control,
};
