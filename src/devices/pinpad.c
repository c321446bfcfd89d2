/*
 * pinpad.c: firmware of the PIN pad (UPOS PINPad, DEV-14).
 *
 * Owns: the PIN entry session (pinpad.begin shows the amount; the shopper
 * swipes the card on the PIN pad's own reader, "swipe TRACK1|- TRACK2|-",
 * or, for pinpad.begin {entry: "chip"}, inserts the chip card into its own
 * contact chip slot, "card credit PAN YYMM" (a PIN entry device with an
 * integrated chip reader, like a CAT terminal's PED), and keys the PIN,
 * "pin DIGITS", "enter" or "cancel"), the tamper switch
 * (control "tamper": keys erased at once, recorded, PIN entry refused until
 * re-injection), and the rule that card data and PIN leave the device only
 * encrypted: pinpad.data carries {status, ksn, block, card {masked_pan,
 * expiry, ksn, ct, mac}}. The ISO 9564 format 4 block binds the PIN to the
 * PAN, so the PIN pad reads the card itself; the PAN never leaves it.
 * The chip record is built and encrypted by the same code as the IC
 * reader's (track_chip_image, card_chip_read), marked as chip entry.
 * "fault replay-last" is SIMULATOR FAULT INJECTION, not a device feature:
 * the next "enter" re-sends the previous transaction's card record and PIN
 * block (same KSNs), standing for a compromised device path or controller,
 * so tests can show that the payment host declines the replay.
 * Without a DUKPT key (devkey.h) pinpad.begin is refused (MAMORI_ERR_STATE,
 * "no key"), so no digit is ever taken in a session that could not protect
 * it. Digits and PAN live in guarded memory only during the session.
 * Does not own the cryptography (cardcrypt.c, crypto/dukpt.c, crypto/pinblock.c).
 */
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "devices/cardcrypt.h"
#include "devices/devinject.h"
#include "devices/devkey.h"
#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devstate.h"
#include "mamori/err.h"

#define PINPAD_STATE "pinpad.state"
#define PINPAD_PIN_MIN 4
#define PINPAD_PIN_MAX 12
#define PINPAD_AMOUNT_MAX 99999999 /* yen on one payment */
#define PPAD_SUCCESS 1
#define PPAD_CANCEL 2

struct pinpad {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    struct devkey *key;
    struct devinject *inj; /* KBPK and TR-31 injection (issue 4 ceremony, device side) */
    bool tampered;
    int64_t sessions;
    /* the open session */
    bool active;
    int64_t amount;
    char *pin; /* guarded memory, PINPAD_PIN_MAX + 1 bytes */
    size_t pin_len;
    char *pan; /* guarded memory: the PAN read by the PIN pad's reader, "" before */
    bool card;
    bool chip;                     /* this session reads the chip, not the stripe */
    struct cardcrypt_read card_rd; /* the encrypted card record and its masked PAN */
    /* simulator fault injection ("fault replay-last"): ciphertext only */
    bool have_last, replay_armed;
    struct cardcrypt_read last_rd;
    struct cardcrypt_pin last_pp;
};

static int pinpad_encode(const void *state, cbor_item_t *m)
{
    const struct pinpad *p = state;
    return devbody_put_bool(m, "tampered", p->tampered) ||
           devbody_put_int(m, "sessions", p->sessions);
}

static int pinpad_decode(void *state, const cbor_item_t *st)
{
    struct pinpad *p = state;
    return devbody_get_bool(st, "tampered", &p->tampered) ||
           devbody_get_int(st, "sessions", 0, INT64_MAX, &p->sessions);
}

static const struct devstate_file pinpad_file = {PINPAD_STATE, pinpad_encode, pinpad_decode, NULL};

static int pinpad_save(struct pinpad *p)
{
    return devstate_store(p->dir, &pinpad_file, p);
}

static void pinpad_end_session(struct pinpad *p)
{
    secmem_write(p->pin);
    secmem_wipe(p->pin, PINPAD_PIN_MAX + 1);
    secmem_lock(p->pin);
    p->pin_len = 0;
    secmem_write(p->pan);
    secmem_wipe(p->pan, TRACK_PAN_MAX + 1);
    secmem_lock(p->pan);
    p->card = false;
    p->chip = false;
    secmem_wipe(&p->card_rd, sizeof(p->card_rd));
    p->active = false;
    p->amount = 0;
}

static void pinpad_destroy(void *state)
{
    struct pinpad *p = state;
    if (p == NULL)
        return;
    devkey_free(p->key);
    devinject_free(p->inj);
    secmem_free(p->pin);
    secmem_free(p->pan);
    free(p);
}

static int pinpad_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct pinpad *p = calloc(1, sizeof(*p));
    int r;
    if (p == NULL)
        return MAMORI_ERR_NOMEM;
    p->io = *io;
    if ((r = devstate_dir(p->dir, state_dir)) || (r = secmem_init()))
        goto out;
    if ((p->pin = secmem_new(PINPAD_PIN_MAX + 1)) == NULL ||
        (p->pan = secmem_new(TRACK_PAN_MAX + 1)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    secmem_lock(p->pin);
    secmem_lock(p->pan);
    if ((r = devkey_open(state_dir, &p->key)) || (r = devinject_open(state_dir, &p->inj)))
        goto out;
    r = devstate_open(p->dir, &pinpad_file, p);
    /* A tampered pad stays without keys across restarts. */
    if (r == 0 && p->tampered)
        devkey_erase(p->key);
out:
    if (r != 0) {
        pinpad_destroy(p);
        return r;
    }
    *ret_state = p;
    return 0;
}

static int pinpad_emit_result(struct pinpad *p, int status, const struct cardcrypt_read *rd, const uint8_t *ksn,
                              size_t ksn_len, const uint8_t *block, size_t block_len)
{
    cbor_item_t *ev = devbody_new();
    if (devbody_put_int(ev, "status", status) || devbody_put_int(ev, "amount", p->amount) ||
        (block != NULL && (devbody_put_bytes(ev, "ksn", ksn, ksn_len) ||
                           devbody_put_bytes(ev, "block", block, block_len) ||
                           devbody_put_item(ev, "card", card_read_body(rd))))) {
        if (ev != NULL)
            cbor_decref(&ev);
        return MAMORI_ERR_NOMEM;
    }
    return p->io.emit(p->io.ctx, "pinpad.data", ev);
}

static int pinpad_begin(struct pinpad *p, const cbor_item_t *body)
{
    int64_t amount;
    char entry[8] = "swipe";
    int r;
    if ((r = devbody_get_int(body, "amount", 1, PINPAD_AMOUNT_MAX, &amount)))
        return r == MAMORI_ERR_NOTFOUND ? MAMORI_ERR_INVAL : r;
    r = devbody_get_str(body, "entry", entry, sizeof(entry));
    if ((r != 0 && r != MAMORI_ERR_NOTFOUND) || (strcmp(entry, "swipe") != 0 && strcmp(entry, "chip") != 0))
        return MAMORI_ERR_INVAL;
    if (p->tampered)
        return MAMORI_ERR_TAMPER;
    /* Fail closed: no PIN key, no PIN entry (POL-2). */
    if (!devkey_present(p->key))
        return MAMORI_ERR_STATE;
    if (p->active)
        return MAMORI_ERR_BUSY;
    if ((r = device_record_str(&p->io, "pinpad.session", "state", "begin")))
        return r; /* no PIN session without its log entry (never the PIN) */
    p->active = true;
    p->chip = strcmp(entry, "chip") == 0;
    p->amount = amount;
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
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "pinpad.begin") == 0) {
        if (body == NULL)
            return MAMORI_ERR_INVAL;
        if ((r = pinpad_begin(p, body)))
            return r;
        return devbody_empty_reply(ret_reply);
    }
    if (strcmp(type, "pinpad.end") == 0) {
        if (p->active)
            pinpad_end_session(p);
        return devbody_empty_reply(ret_reply);
    }
    if (strcmp(type, "pinpad.key_inject") == 0) {
        char kcv[32];
        if (body == NULL)
            return MAMORI_ERR_INVAL;
        if ((r = devinject_request(p->inj, p->key, p->dir, body, ret_reply)) == 0 &&
            devbody_get_str(*ret_reply, "kcv", kcv, sizeof(kcv)) == 0)
            (void)device_record_str(&p->io, "key.injected", "kcv", kcv); /* the KCV only */
        if (r == 0 && p->tampered) {
            /* keys injected again by the custodians: PIN entry is allowed again */
            p->tampered = false;
            (void)pinpad_save(p);
            (void)devstate_note(p->dir, "pinpad.tamper_cleared", "keys_reinjected");
            (void)device_record_str(&p->io, "pinpad.tamper_cleared", "action", "keys_reinjected");
        }
        return r;
    }
    if (strcmp(type, "pinpad.status") != 0)
        return MAMORI_ERR_UNSUPPORTED;
    cbor_item_t *m = devbody_new();
    if (devbody_put_bool(m, "key", devkey_present(p->key)) ||
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
    struct cardcrypt_pin pp;
    char pin[PINPAD_PIN_MAX + 1];
    int r;
    if (!p->card) {
        devctl_answer(answer, p->chip ? "insert the chip card into the PIN pad first" : "swipe the card on the PIN pad first");
        return MAMORI_ERR_STATE;
    }
    if (p->pin_len < PINPAD_PIN_MIN) {
        devctl_answer(answer, "PIN too short");
        return MAMORI_ERR_INVAL;
    }
    memset(&pp, 0, sizeof(pp));
    if (p->replay_armed && p->have_last) {
        /* SIMULATOR FAULT INJECTION: the previous transaction's ciphertext
         * again (same KSNs), as a compromised path would resend it. */
        p->replay_armed = false;
        r = pinpad_emit_result(p, PPAD_SUCCESS, &p->last_rd, p->last_pp.ksn, sizeof(p->last_pp.ksn),
                               p->last_pp.block, sizeof(p->last_pp.block));
        pinpad_end_session(p);
        return r ? r : devctl_answer(answer, "FAULT: previous PIN block and card record re-sent");
    }
    secmem_read(p->pin);
    memcpy(pin, p->pin, sizeof(pin));
    secmem_lock(p->pin);
    secmem_read(p->pan);
    r = card_encrypt_pin(devkey_dukpt(p->key), pin, p->pan, NULL, &pp);
    secmem_lock(p->pan);
    secmem_wipe(pin, sizeof(pin));
    /* The counter is on disk before the block leaves: no KSN is used twice. */
    if (r == 0)
        r = devkey_commit(p->key);
    if (r == 0)
        r = pinpad_emit_result(p, PPAD_SUCCESS, &p->card_rd, pp.ksn, sizeof(pp.ksn), pp.block, sizeof(pp.block));
    if (r == 0) {
        p->last_rd = p->card_rd; /* ciphertext and masked PAN only, for the fault injection */
        p->last_pp = pp;
        p->have_last = true;
    }
    pinpad_end_session(p);
    secmem_wipe(&pp, sizeof(pp));
    if (r != 0) {
        devctl_answer(answer, "PIN entry failed: %s", mamori_strerror(r));
        return r;
    }
    (void)devstate_note(p->dir, "pinpad.session", "pin_block_sent");
    (void)device_record_str(&p->io, "pinpad.session", "state", "pin_block_sent");
    return devctl_answer(answer, "PIN block sent");
}

/* The PIN pad's own card readers: encrypt the tracks like the MSR (stripe)
 * or the chip record like the IC reader (chip) and keep the PAN (guarded)
 * for the PIN block of this session. The session says which reader. */
static int pinpad_card_in(struct pinpad *p, bool chip, const char *t1, const char *t2, struct buf *answer)
{
    struct track_data td;
    size_t n1 = t1 != NULL ? strlen(t1) : 0, n2 = t2 != NULL ? strlen(t2) : 0;
    int r;
    memset(&td, 0, sizeof(td));
    if (chip != p->chip) {
        devctl_answer(answer, p->chip ? "this payment reads the chip: insert the card" : "this payment reads the stripe: swipe the card");
        return MAMORI_ERR_STATE;
    }
    if (n1 == 0 && n2 == 0) {
        devctl_answer(answer, "no track");
        return MAMORI_ERR_INVAL;
    }
    r = chip ? card_chip_read(devkey_dukpt(p->key), (const uint8_t *)t2, n2, &p->card_rd)
             : card_msr_read(devkey_dukpt(p->key), (const uint8_t *)t1, n1, (const uint8_t *)t2, n2, &p->card_rd);
    if (r == 0)
        r = n2 > 0 ? track2_parse((const uint8_t *)t2, n2, &td) : track1_parse((const uint8_t *)t1, n1, &td);
    if (r == 0)
        r = devkey_commit(p->key);
    if (r != 0) {
        secmem_wipe(&p->card_rd, sizeof(p->card_rd));
        track_data_wipe(&td);
        devctl_answer(answer, "unreadable card");
        return r;
    }
    secmem_write(p->pan);
    memcpy(p->pan, td.pan, sizeof(td.pan));
    secmem_lock(p->pan);
    track_data_wipe(&td);
    p->card = true;
    (void)devstate_note(p->dir, "pinpad.card_read", p->card_rd.masked_pan);
    (void)device_record_str(&p->io, "pinpad.card_read", "masked_pan", p->card_rd.masked_pan);
    return devctl_answer(answer, "card read %s", p->card_rd.masked_pan);
}

static int pinpad_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct pinpad *p = state;
    int r;
    int ri = devinject_control(p->inj, argc, argv, answer);
    if (ri != MAMORI_ERR_UNSUPPORTED)
        return ri; /* "kbpk N HEX": a custodian at the device */
    if (argc == 1 && strcmp(argv[0], "status") == 0)
        return devctl_answer(answer, "pinpad: key %s%s, %s", devkey_present(p->key) ? "present" : "absent",
                             p->tampered ? ", TAMPERED" : "",
                             p->active ? "waiting for PIN" : "idle");
    if (argc == 1 && strcmp(argv[0], "tamper") == 0) {
        /* Erase first, then record: the keys must be gone even if recording fails. */
        devkey_erase(p->key);
        devinject_erase(p->inj);
        if (p->active)
            pinpad_end_session(p);
        p->tampered = true;
        (void)pinpad_save(p);
        (void)devstate_note(p->dir, "pinpad.tamper", "keys_erased");
        (void)device_record_str(&p->io, "pinpad.tamper", "action", "keys_erased");
        cbor_item_t *ev = devbody_new();
        if (devbody_put_bool(ev, "tampered", true) == 0)
            (void)p->io.emit(p->io.ctx, "pinpad.status", ev);
        else if (ev != NULL)
            cbor_decref(&ev);
        return devctl_answer(answer, "tamper: keys erased, PIN entry refused until re-injection");
    }
    if (argc == 2 && strcmp(argv[0], "fault") == 0 && strcmp(argv[1], "replay-last") == 0) {
        /* SIMULATOR FAULT INJECTION (tests only; see the file comment). */
        if (!p->have_last) {
            devctl_answer(answer, "FAULT: no previous transaction to replay");
            return MAMORI_ERR_STATE;
        }
        p->replay_armed = true;
        return devctl_answer(answer, "FAULT armed: the next PIN entry re-sends the previous card record and PIN block");
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
    if (argc == 3 && strcmp(argv[0], "swipe") == 0) {
        int r2 = pinpad_card_in(p, false, strcmp(argv[1], "-") == 0 ? NULL : argv[1],
                                strcmp(argv[2], "-") == 0 ? NULL : argv[2], answer);
        secmem_wipe(argv[1], strlen(argv[1]));
        secmem_wipe(argv[2], strlen(argv[2]));
        return r2;
    }
    if (argc == 4 && strcmp(argv[0], "card") == 0 && strcmp(argv[1], "credit") == 0) {
        /* A chip card inserted into the PIN pad's own chip slot. */
        char img[TRACK2_MAX + 1];
        size_t n;
        int r2 = track_chip_image(argv[2], argv[3], img, &n);
        secmem_wipe(argv[2], strlen(argv[2]));
        if (r2 != 0) {
            devctl_answer(answer, "usage: card credit PAN YYMM (a valid card number)");
            return MAMORI_ERR_INVAL;
        }
        r2 = pinpad_card_in(p, true, NULL, img, answer);
        secmem_wipe(img, sizeof(img));
        return r2;
    }
    if (argc == 1 && strcmp(argv[0], "cancel") == 0) {
        r = pinpad_emit_result(p, PPAD_CANCEL, NULL, NULL, 0, NULL, 0);
        pinpad_end_session(p);
        return r ? r : devctl_answer(answer, "cancelled");
    }
    devctl_answer(answer, "usage: swipe TRACK1|- TRACK2|- | card credit PAN YYMM | pin DIGITS | enter | cancel | tamper | "
                          "fault replay-last | status");
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
