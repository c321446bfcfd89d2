/*
 * pinpad.c: firmware of the PIN pad (UPOS PINPad, DEV-14).
 *
 * Owns: the PIN entry session (pinpad.begin shows the amount; the shopper's
 * digits arrive through the control interface "pin DIGITS", "enter",
 * "cancel"), the tamper switch (control "tamper": keys erased at once,
 * recorded, PIN entry refused until re-injection), and the rule that a PIN
 * leaves the device only as an encrypted PIN block: the completion event
 * pinpad.data carries {status, ksn, block}. Without an injected PIN key
 * pinpad.begin is refused (MAMORI_ERR_STATE, "no key"), so no digit is ever
 * taken in a session that could not protect it. The digits live in guarded
 * memory only during the session and are wiped at its end.
 * Does not own the cryptography (cardcrypt.h; ISO 9564-4 / AES DUKPT with issue 4).
 */
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "devices/cardcrypt.h"
#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devstate.h"
#include "mamori/err.h"

#define PINPAD_STATE "pinpad.state"
#define PINPAD_PIN_MIN 4
#define PINPAD_PIN_MAX 12
#define PINPAD_AMOUNT_MAX 99999999 /* yen on one payment */
#define PINPAD_TOKEN_MAX 64
#define PINPAD_KEYBLOCK_MAX 512
#define PPAD_SUCCESS 1
#define PPAD_CANCEL 2

struct pinpad {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    struct cardcrypt *cc;
    bool tampered;
    int64_t sessions;
    /* the open session */
    bool active;
    int64_t amount;
    char token[PINPAD_TOKEN_MAX + 1];
    char *pin; /* guarded memory, PINPAD_PIN_MAX + 1 bytes */
    size_t pin_len;
};

static int pinpad_save(struct pinpad *p)
{
    cbor_item_t *m = devbody_new();
    int r = MAMORI_ERR_NOMEM;
    if (devbody_put_bool(m, "tampered", p->tampered) || devbody_put_int(m, "sessions", p->sessions))
        goto out;
    r = devstate_save(p->dir, PINPAD_STATE, m);
out:
    if (m != NULL)
        cbor_decref(&m);
    return r;
}

static void pinpad_end_session(struct pinpad *p)
{
    secmem_write(p->pin);
    secmem_wipe(p->pin, PINPAD_PIN_MAX + 1);
    secmem_lock(p->pin);
    p->pin_len = 0;
    p->active = false;
    p->amount = 0;
    p->token[0] = '\0';
}

static void pinpad_destroy(void *state)
{
    struct pinpad *p = state;
    if (p == NULL)
        return;
    cardcrypt_free(p->cc);
    secmem_free(p->pin);
    free(p);
}

static int pinpad_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct pinpad *p = calloc(1, sizeof(*p));
    cbor_item_t *st = NULL;
    int r;
    if (p == NULL)
        return MAMORI_ERR_NOMEM;
    if (strlen(state_dir) >= sizeof(p->dir)) {
        free(p);
        return MAMORI_ERR_TOOBIG;
    }
    strcpy(p->dir, state_dir);
    p->io = *io;
    if ((r = secmem_init()))
        goto out;
    if ((p->pin = secmem_new(PINPAD_PIN_MAX + 1)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    secmem_lock(p->pin);
    if ((r = cardcrypt_open(state_dir, &p->cc)))
        goto out;
    r = devstate_load(state_dir, PINPAD_STATE, &st);
    if (r == 0) {
        if (devbody_get_bool(st, "tampered", &p->tampered) ||
            devbody_get_int(st, "sessions", 0, INT64_MAX, &p->sessions))
            r = MAMORI_ERR_INVAL;
        cbor_decref(&st);
    } else if (r == MAMORI_ERR_NOTFOUND) {
        r = pinpad_save(p);
    }
    /* A tampered pad stays without keys across restarts. */
    if (r == 0 && p->tampered)
        cardcrypt_erase(p->cc);
out:
    if (r != 0) {
        pinpad_destroy(p);
        return r;
    }
    *ret_state = p;
    return 0;
}

static int pinpad_emit_result(struct pinpad *p, int status, const uint8_t *ksn, size_t ksn_len,
                              const uint8_t *block, size_t block_len)
{
    cbor_item_t *ev = devbody_new();
    if (devbody_put_int(ev, "status", status) || devbody_put_int(ev, "amount", p->amount) ||
        (block != NULL && (devbody_put_bytes(ev, "ksn", ksn, ksn_len) ||
                           devbody_put_bytes(ev, "block", block, block_len)))) {
        if (ev != NULL)
            cbor_decref(&ev);
        return MAMORI_ERR_NOMEM;
    }
    return p->io.emit(p->io.ctx, "pinpad.data", ev);
}

static int pinpad_begin(struct pinpad *p, const cbor_item_t *body)
{
    char token[PINPAD_TOKEN_MAX + 1] = "";
    int64_t amount;
    int r;
    if ((r = devbody_get_int(body, "amount", 1, PINPAD_AMOUNT_MAX, &amount)))
        return r == MAMORI_ERR_NOTFOUND ? MAMORI_ERR_INVAL : r;
    r = devbody_get_str(body, "pan_token", token, sizeof(token));
    if (r != 0 && r != MAMORI_ERR_NOTFOUND)
        return r;
    if (p->tampered)
        return MAMORI_ERR_TAMPER;
    /* Fail closed: no PIN key, no PIN entry (POL-2). */
    if (!cardcrypt_has_key(p->cc))
        return MAMORI_ERR_STATE;
    if (p->active)
        return MAMORI_ERR_BUSY;
    p->active = true;
    p->amount = amount;
    memcpy(p->token, token, sizeof(token));
    p->pin_len = 0;
    p->sessions++;
    (void)pinpad_save(p);
    (void)devstate_note(p->dir, "pinpad.session", "begin");
    return 0;
}

static int pinpad_request(void *state, const char *type, const cbor_item_t *body,
                          cbor_item_t **ret_reply)
{
    struct pinpad *p = state;
    const uint8_t *kb;
    size_t n;
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "pinpad.begin") == 0) {
        if (body == NULL)
            return MAMORI_ERR_INVAL;
        if ((r = pinpad_begin(p, body)))
            return r;
        *ret_reply = NULL;
        return 0;
    }
    if (strcmp(type, "pinpad.end") == 0) {
        if (p->active)
            pinpad_end_session(p);
        *ret_reply = NULL;
        return 0;
    }
    if (strcmp(type, "pinpad.key_inject") == 0) {
        if ((r = devbody_get_bytes(body, "block", PINPAD_KEYBLOCK_MAX, &kb, &n)))
            return r == MAMORI_ERR_NOTFOUND ? MAMORI_ERR_INVAL : r;
        return cardcrypt_inject(p->cc, kb, n);
    }
    if (strcmp(type, "pinpad.status") != 0)
        return MAMORI_ERR_UNSUPPORTED;
    cbor_item_t *m = devbody_new();
    if (devbody_put_bool(m, "key", cardcrypt_has_key(p->cc)) ||
        devbody_put_bool(m, "tampered", p->tampered) || devbody_put_bool(m, "active", p->active) ||
        devbody_put_int(m, "amount", p->amount) || devbody_put_int(m, "sessions", p->sessions)) {
        if (m != NULL)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    *ret_reply = m;
    return 0;
}

static int pinpad_enter(struct pinpad *p, struct buf *answer)
{
    uint8_t ksn[CARDCRYPT_KSN_MAX], block[CARDCRYPT_BLOCK_MAX];
    size_t ksn_len = 0;
    char pin[PINPAD_PIN_MAX + 1];
    int r;
    if (p->pin_len < PINPAD_PIN_MIN) {
        devctl_answer(answer, "PIN too short");
        return MAMORI_ERR_INVAL;
    }
    secmem_read(p->pin);
    memcpy(pin, p->pin, sizeof(pin));
    secmem_lock(p->pin);
    r = cardcrypt_encrypt_pin(p->cc, pin, p->token, ksn, &ksn_len, block);
    secmem_wipe(pin, sizeof(pin));
    if (r == 0)
        r = pinpad_emit_result(p, PPAD_SUCCESS, ksn, ksn_len, block, sizeof(block));
    pinpad_end_session(p);
    secmem_wipe(block, sizeof(block));
    if (r != 0) {
        devctl_answer(answer, "PIN entry failed: %s", mamori_strerror(r));
        return r;
    }
    (void)devstate_note(p->dir, "pinpad.session", "pin_block_sent");
    return devctl_answer(answer, "PIN block sent");
}

static int pinpad_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct pinpad *p = state;
    int r;
    if (argc == 1 && strcmp(argv[0], "status") == 0)
        return devctl_answer(answer, "pinpad: key %s%s, %s", cardcrypt_has_key(p->cc) ? "present" : "absent",
                             p->tampered ? ", TAMPERED" : "",
                             p->active ? "waiting for PIN" : "idle");
    if (argc == 1 && strcmp(argv[0], "tamper") == 0) {
        /* Erase first, then record: the keys must be gone even if recording fails. */
        cardcrypt_erase(p->cc);
        if (p->active)
            pinpad_end_session(p);
        p->tampered = true;
        (void)pinpad_save(p);
        (void)devstate_note(p->dir, "pinpad.tamper", "keys_erased");
        cbor_item_t *ev = devbody_new();
        if (devbody_put_bool(ev, "tampered", true) == 0)
            (void)p->io.emit(p->io.ctx, "pinpad.status", ev);
        else if (ev != NULL)
            cbor_decref(&ev);
        return devctl_answer(answer, "tamper: keys erased, PIN entry refused until re-injection");
    }
    if (!p->active) {
        devctl_answer(answer, "no PIN entry in progress");
        return MAMORI_ERR_STATE;
    }
    if (argc == 2 && strcmp(argv[0], "pin") == 0) {
        size_t n = strlen(argv[1]);
        bool ok = n > 0 && strspn(argv[1], "0123456789") == n && p->pin_len + n <= PINPAD_PIN_MAX;
        if (ok) {
            secmem_write(p->pin);
            memcpy(p->pin + p->pin_len, argv[1], n);
            p->pin_len += n;
            p->pin[p->pin_len] = '\0';
            secmem_lock(p->pin);
        }
        secmem_wipe(argv[1], n); /* the runner's copy of the digits */
        if (!ok) {
            devctl_answer(answer, "digits only, at most %d", PINPAD_PIN_MAX);
            return MAMORI_ERR_INVAL;
        }
        return devctl_answer(answer, "%zu digits entered", p->pin_len);
    }
    if (argc == 1 && strcmp(argv[0], "enter") == 0)
        return pinpad_enter(p, answer);
    if (argc == 1 && strcmp(argv[0], "cancel") == 0) {
        r = pinpad_emit_result(p, PPAD_CANCEL, NULL, 0, NULL, 0);
        pinpad_end_session(p);
        return r ? r : devctl_answer(answer, "cancelled");
    }
    devctl_answer(answer, "usage: pin DIGITS | enter | cancel | tamper | status");
    return MAMORI_ERR_INVAL;
}

const struct device_class device_pinpad = {
    .kind = "pinpad",
    .model = "MAMORI-SIM-PIN1",
    .upos_name = "PINPad",
    .create = pinpad_create,
    .destroy = pinpad_destroy,
    .request = pinpad_request,
    .control = pinpad_control,
};
