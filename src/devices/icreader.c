/*
 * icreader.c: firmware of the IC card reader (UPOS SmartCardRW, DEV-15).
 *
 * Owns: the card in the slot (control "card emoney ID [BALANCE]",
 * "card credit PAN YYMM", "remove"), electronic-money payment performed by
 * the device against the balance that lives on the simulated card
 * (icreader.emoney_pay, idempotent by idem: a retry never deducts twice), and
 * the rule that credit card data leaves the reader only encrypted
 * (icreader.read is refused with "no key" until a DUKPT key is injected).
 * Each simulated e-money card is a file card-ID.state in the state directory,
 * so its balance survives removal and restart, with the card's random purse
 * id. The payment record returned is the device's own, signed with the
 * device's key through its runner (emrec.h, device_io.sign): without a
 * signer no e-money payment is made.
 * The chip card's data record is simplified to a track-2 image
 * (";PAN=YYMM=?", track.h track_chip_image), encrypted like a swiped track
 * but marked as chip data (cardcrypt.h card_chip_read).
 * Does not own the cryptography (cardcrypt.c, emrec.c, crypto/dukpt.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/field.h"
#include "common/secmem.h"
#include "devices/cardcrypt.h"
#include "devices/classes.h"
#include "devices/devbody.h"
#include "devices/devctl.h"
#include "devices/devinject.h"
#include "devices/devkey.h"
#include "devices/devidem.h"
#include "devices/devstate.h"
#include "devices/emrec.h"
#include "devices/track.h"
#include "mamori/err.h"

#define ICREADER_STATE "icreader.state"
#define ICREADER_CARD_ID_MAX 20       /* digits of an e-money card id */
#define ICREADER_BALANCE_MAX 200000   /* yen: the usual e-money card ceiling */

enum ic_card { IC_NONE = 0, IC_EMONEY, IC_CREDIT, IC_POINT };

struct icreader {
    char dir[DEVSTATE_PATH_MAX];
    struct device_io io;
    struct devkey *key;
    struct devinject *inj; /* KBPK and TR-31 injection (issue 4 ceremony, device side) */
    struct devidem idem;
    int64_t payments;
    /* the card in the slot (not persisted: a restart ejects it) */
    enum ic_card card;
    char card_id[ICREADER_CARD_ID_MAX + 1];
    int64_t balance, card_seq;
    uint8_t purse[EMREC_PURSE_LEN]; /* the e-money card's purse id */
    char credit_t2[TRACK2_MAX + 1]; /* HIGH: the chip's record, wiped on removal */
};

static int icreader_encode(const void *state, cbor_item_t *m)
{
    const struct icreader *ic = state;
    return devbody_put_int(m, "payments", ic->payments) ||
           devbody_put_item(m, "idem", devidem_to_cbor(&ic->idem));
}

static int icreader_decode(void *state, const cbor_item_t *st)
{
    struct icreader *ic = state;
    return devbody_get_int(st, "payments", 0, INT64_MAX, &ic->payments) ||
           devidem_from_cbor(&ic->idem, devbody_find(st, "idem"));
}

static const struct devstate_file icreader_file = {ICREADER_STATE, icreader_encode,
                                                   icreader_decode, NULL};

static int icreader_save(struct icreader *ic)
{
    return devstate_store(ic->dir, &icreader_file, ic);
}

static int card_file(const struct icreader *ic, char out[static 64])
{
    int n = snprintf(out, 64, "card-%s.state", ic->card_id);
    return n > 0 && n < 64 ? 0 : MAMORI_ERR_TOOBIG;
}

static int card_save(struct icreader *ic)
{
    char name[64];
    cbor_item_t *m = devbody_new();
    int r = MAMORI_ERR_NOMEM;
    if (devbody_put_int(m, "balance", ic->balance) || devbody_put_int(m, "seq", ic->card_seq) ||
        devbody_put_bytes(m, "purse", ic->purse, sizeof(ic->purse)))
        goto out;
    r = card_file(ic, name) ? MAMORI_ERR_TOOBIG : devstate_save(ic->dir, name, m);
out:
    if (m != NULL)
        cbor_decref(&m);
    return r;
}

static void icreader_eject(struct icreader *ic)
{
    secmem_wipe(ic->credit_t2, sizeof(ic->credit_t2));
    ic->card = IC_NONE;
    secmem_wipe(ic->card_id, sizeof(ic->card_id)); /* a point card's member number is HIGH */
    ic->balance = ic->card_seq = 0;
}

static void icreader_destroy(void *state)
{
    struct icreader *ic = state;
    if (ic == NULL)
        return;
    icreader_eject(ic);
    devkey_free(ic->key);
    devinject_free(ic->inj);
    devidem_clear(&ic->idem);
    free(ic);
}

static int icreader_create(const char *state_dir, const struct device_io *io, void **ret_state)
{
    struct icreader *ic = calloc(1, sizeof(*ic));
    int r;
    if (ic == NULL)
        return MAMORI_ERR_NOMEM;
    devidem_init(&ic->idem);
    ic->io = *io;
    if ((r = devstate_dir(ic->dir, state_dir)) || (r = devkey_open(state_dir, &ic->key)) ||
        (r = devinject_open(state_dir, &ic->inj)) ||
        (r = devstate_open(ic->dir, &icreader_file, ic))) {
        icreader_destroy(ic);
        return r;
    }
    *ret_state = ic;
    return 0;
}

static void masked_card_id(const struct icreader *ic, char out[static ICREADER_CARD_ID_MAX + 1])
{
    field_mask_tail(out, ICREADER_CARD_ID_MAX + 1, ic->card_id);
}

/* The signed record of the deduction just made in memory (balance already
 * lowered, seq already advanced) appended to out (emrec.h). */
static int sign_record(struct icreader *ic, int64_t amount, const char *mid, const char *txn, const char *idem,
                       struct buf *out)
{
    struct emrec e;
    struct buf tbs;
    int r;
    if (ic->io.sign == NULL || ic->io.serial == NULL || strlen(ic->io.serial) > EMREC_SERIAL_MAX)
        return MAMORI_ERR_STATE; /* fail closed: no payment without the device's signature */
    memset(&e, 0, sizeof(e));
    strcpy(e.serial, ic->io.serial);
    snprintf(e.card, sizeof(e.card), "%s", mid);
    memcpy(e.purse, ic->purse, sizeof(e.purse));
    e.seq = (uint64_t)ic->card_seq;
    e.amount = (uint64_t)amount;
    e.balance_after = (uint64_t)ic->balance;
    e.balance_before = (uint64_t)(ic->balance + amount);
    snprintf(e.txn, sizeof(e.txn), "%s", txn);
    snprintf(e.idem, sizeof(e.idem), "%s", idem);
    e.time = (uint64_t)time(NULL);
    buf_init(&tbs, EMREC_MAX);
    if ((r = emrec_tbs(&e, &tbs)) == 0 && (r = ic->io.sign(ic->io.ctx, buf_ptr(&tbs), buf_remaining(&tbs), e.sig)) == 0)
        r = emrec_encode(&e, out);
    buf_free(&tbs);
    return r;
}

static int icreader_pay(struct icreader *ic, const cbor_item_t *body, cbor_item_t **ret_reply)
{
    char idem[DEVIDEM_KEY_MAX + 1], txn[65] = "", fp[DEVIDEM_FP_MAX + 1], mid[ICREADER_CARD_ID_MAX + 1];
    int64_t amount;
    cbor_item_t *reply = NULL;
    struct buf signed_rec;
    int r;
    if ((r = devbody_get_str(body, "idem", idem, sizeof(idem))) ||
        (r = devbody_get_int(body, "amount", 1, ICREADER_BALANCE_MAX, &amount)))
        return r == MAMORI_ERR_NOTFOUND ? MAMORI_ERR_INVAL : r;
    if (idem[0] == '\0')
        return MAMORI_ERR_INVAL;
    r = devbody_get_str(body, "txn", txn, sizeof(txn));
    if (r != 0 && r != MAMORI_ERR_NOTFOUND)
        return r;
    snprintf(fp, sizeof(fp), "emoney_pay|%lld|%s", (long long)amount, txn);
    if ((r = devidem_lookup(&ic->idem, idem, fp, &reply)) == 0) {
        *ret_reply = reply; /* a retry: the first answer, nothing deducted again */
        return 0;
    }
    if (r != MAMORI_ERR_NOTFOUND)
        return r;
    if (ic->card != IC_EMONEY)
        return MAMORI_ERR_NOTFOUND; /* no e-money card in the slot */
    if (amount > ic->balance)
        return MAMORI_ERR_DECLINED; /* insufficient balance: nothing deducted */
    masked_card_id(ic, mid);
    ic->balance -= amount;
    ic->card_seq++;
    reply = devbody_new();
    buf_init(&signed_rec, EMREC_MAX);
    if ((r = sign_record(ic, amount, mid, txn, idem, &signed_rec)) != 0) {
        buf_free(&signed_rec);
        goto fail;
    }
    r = devbody_put_bytes(reply, "record", buf_ptr(&signed_rec), buf_remaining(&signed_rec));
    buf_free(&signed_rec);
    if (r || devbody_put_int(reply, "amount", amount) ||
        devbody_put_int(reply, "balance_after", ic->balance) ||
        devbody_put_str(reply, "card", mid) || (r = devidem_put(&ic->idem, idem, fp, reply))) {
        r = r ? r : MAMORI_ERR_NOMEM;
        goto fail;
    }
    /* The card's balance first (it is the money), then the device state. */
    if ((r = card_save(ic))) {
        devidem_forget(&ic->idem, idem);
        goto fail;
    }
    ic->payments++;
    if ((r = icreader_save(ic))) {
        /* The deduction is on the card; without the idem record a retry
         * would deduct again, so put the balance back and refuse. */
        ic->payments--;
        devidem_forget(&ic->idem, idem);
        ic->balance += amount;
        ic->card_seq--;
        (void)card_save(ic);
        goto fail_restored;
    }
    char note[128];
    snprintf(note, sizeof(note), "card=%s amount=%lld balance_after=%lld idem=%s", mid,
             (long long)amount, (long long)ic->balance, idem);
    (void)devstate_note(ic->dir, "icreader.emoney_pay", note);
    {
        cbor_item_t *det = devbody_new();
        if (det != NULL && devbody_put_str(det, "ref", idem) == 0 && devbody_put_int(det, "amount", amount) == 0)
            (void)device_record(&ic->io, "icreader.emoney_pay", det);
        else if (det != NULL)
            cbor_decref(&det);
    }
    *ret_reply = reply;
    return 0;
fail:
    ic->balance += amount;
    ic->card_seq--;
fail_restored:
    if (reply != NULL)
        cbor_decref(&reply);
    return r;
}

static int icreader_read_credit(struct icreader *ic, cbor_item_t **ret_reply)
{
    struct cardcrypt_read rd;
    int r;
    /* Fail closed: no data key, no read (POL-2). */
    if (!devkey_present(ic->key))
        return MAMORI_ERR_STATE;
    if (ic->card != IC_CREDIT)
        return MAMORI_ERR_NOTFOUND; /* no credit card in the slot */
    memset(&rd, 0, sizeof(rd));
    r = card_chip_read(devkey_dukpt(ic->key), (const uint8_t *)ic->credit_t2, strlen(ic->credit_t2), &rd);
    if (r == 0)
        r = devkey_commit(ic->key); /* before the record leaves */
    if (r == 0) {
        cbor_item_t *m = card_read_body(&rd);
        if (m == NULL) {
            r = MAMORI_ERR_NOMEM;
        } else {
            (void)devstate_note(ic->dir, "icreader.card_read", rd.masked_pan);
            (void)device_record_str(&ic->io, "icreader.card_read", "masked_pan", rd.masked_pan);
            *ret_reply = m;
        }
    }
    secmem_wipe(&rd, sizeof(rd));
    return r;
}

static int icreader_request(void *state, const char *type, const cbor_item_t *body,
                            cbor_item_t **ret_reply)
{
    struct icreader *ic = state;
    char mid[ICREADER_CARD_ID_MAX + 1];
    int r;
    if ((r = devbody_check(body)))
        return r;
    if (strcmp(type, "icreader.emoney_pay") == 0)
        return body == NULL ? MAMORI_ERR_INVAL : icreader_pay(ic, body, ret_reply);
    if (strcmp(type, "icreader.read") == 0)
        return icreader_read_credit(ic, ret_reply);
    if (strcmp(type, "icreader.point_read") == 0) {
        /* A point card's member number (HIGH): only over the device's
         * authenticated, encrypted session; the register encrypts it at once. */
        cbor_item_t *pm;
        if (ic->card != IC_POINT)
            return MAMORI_ERR_NOTFOUND;
        if ((pm = devbody_new()) == NULL || devbody_put_str(pm, "member", ic->card_id)) {
            if (pm != NULL)
                cbor_decref(&pm);
            return MAMORI_ERR_NOMEM;
        }
        (void)devstate_note(ic->dir, "icreader.point_read", "member number read");
        *ret_reply = pm;
        return 0;
    }
    if (strcmp(type, "icreader.key_inject") == 0) {
        char kcv[32];
        int ri;
        if (body == NULL)
            return MAMORI_ERR_INVAL;
        if ((ri = devinject_request(ic->inj, ic->key, ic->dir, body, ret_reply)) == 0 &&
            devbody_get_str(*ret_reply, "kcv", kcv, sizeof(kcv)) == 0)
            (void)device_record_str(&ic->io, "key.injected", "kcv", kcv);
        return ri;
    }
    cbor_item_t *m = devbody_new();
    if (strcmp(type, "icreader.emoney_balance") == 0) {
        if (ic->card != IC_EMONEY) {
            if (m != NULL)
                cbor_decref(&m);
            return MAMORI_ERR_NOTFOUND;
        }
        masked_card_id(ic, mid);
        if (devbody_put_int(m, "balance", ic->balance) || devbody_put_str(m, "card", mid))
            goto nomem;
    } else if (strcmp(type, "icreader.status") == 0) {
        const char *what = ic->card == IC_EMONEY ? "emoney" : ic->card == IC_CREDIT ? "credit" : ic->card == IC_POINT ? "point" : "none";
        if (devbody_put_str(m, "card", what) || devbody_put_bool(m, "key", devkey_present(ic->key)) ||
            devbody_put_int(m, "payments", ic->payments))
            goto nomem;
    } else {
        if (m != NULL)
            cbor_decref(&m);
        return MAMORI_ERR_UNSUPPORTED;
    }
    *ret_reply = m;
    return 0;
nomem:
    if (m != NULL)
        cbor_decref(&m);
    return MAMORI_ERR_NOMEM;
}

static void icreader_emit_card(struct icreader *ic)
{
    const char *what = ic->card == IC_EMONEY ? "emoney" : ic->card == IC_CREDIT ? "credit" : ic->card == IC_POINT ? "point" : "none";
    cbor_item_t *ev = devbody_new();
    /* UPOS SC_SUE_NO_CARD=1, SC_SUE_CARD_PRESENT=2 */
    if (devbody_put_str(ev, "card", what) || devbody_put_int(ev, "status", ic->card ? 2 : 1)) {
        if (ev != NULL)
            cbor_decref(&ev);
        return;
    }
    (void)ic->io.emit(ic->io.ctx, "icreader.card", ev);
}

static int icreader_insert_emoney(struct icreader *ic, int argc, char **argv, struct buf *answer)
{
    char name[64];
    cbor_item_t *st = NULL;
    int64_t bal = 0, seq = 0;
    int r;
    size_t n = strlen(argv[2]);
    if (n < 4 || n > ICREADER_CARD_ID_MAX || strspn(argv[2], "0123456789") != n ||
        (argc == 4 && devctl_int(argv[3], 0, ICREADER_BALANCE_MAX, &bal))) {
        devctl_answer(answer, "usage: card emoney ID(4-20 digits) [BALANCE 0..%d]",
                      ICREADER_BALANCE_MAX);
        return MAMORI_ERR_INVAL;
    }
    icreader_eject(ic);
    memcpy(ic->card_id, argv[2], n + 1);
    if ((r = card_file(ic, name)))
        return r;
    r = devstate_load(ic->dir, name, &st);
    if (r == 0) {
        const uint8_t *pp;
        size_t pn;
        if (devbody_get_int(st, "balance", 0, ICREADER_BALANCE_MAX, &ic->balance) ||
            devbody_get_int(st, "seq", 0, INT64_MAX, &seq))
            r = MAMORI_ERR_INVAL;
        else if (devbody_get_bytes(st, "purse", sizeof(ic->purse), &pp, &pn) == 0 && pn == sizeof(ic->purse))
            memcpy(ic->purse, pp, pn);
        else
            randombytes_buf(ic->purse, sizeof(ic->purse)); /* a card issued before purse ids */
        cbor_decref(&st);
    } else if (r == MAMORI_ERR_NOTFOUND && argc == 4) {
        randombytes_buf(ic->purse, sizeof(ic->purse)); /* a new card: its purse id */
        r = 0;
    } else if (r == MAMORI_ERR_NOTFOUND) {
        devctl_answer(answer, "a new card needs a BALANCE");
        ic->card_id[0] = '\0';
        return MAMORI_ERR_NOTFOUND;
    }
    if (r != 0) {
        ic->card_id[0] = '\0';
        return r;
    }
    ic->card_seq = seq;
    if (argc == 4)
        ic->balance = bal; /* charged at a kiosk */
    ic->card = IC_EMONEY;
    if ((r = card_save(ic))) {
        icreader_eject(ic);
        return r;
    }
    icreader_emit_card(ic);
    return devctl_answer(answer, "e-money card inserted, balance %lld", (long long)ic->balance);
}

static int icreader_control(void *state, int argc, char **argv, struct buf *answer)
{
    struct icreader *ic = state;
    int ri = devinject_control(ic->inj, argc, argv, answer);
    if (ri != MAMORI_ERR_UNSUPPORTED)
        return ri; /* "kbpk N HEX": a custodian at the device */
    if (argc == 1 && strcmp(argv[0], "status") == 0)
        return devctl_answer(answer, "icreader: card %s, key %s, %lld e-money payments",
                             ic->card == IC_EMONEY ? "emoney" : ic->card == IC_CREDIT ? "credit" : ic->card == IC_POINT ? "point" : "none",
                             devkey_present(ic->key) ? "present" : "absent",
                             (long long)ic->payments);
    if (argc == 1 && strcmp(argv[0], "remove") == 0) {
        icreader_eject(ic);
        icreader_emit_card(ic);
        return devctl_answer(answer, "card removed");
    }
    if ((argc == 3 || argc == 4) && strcmp(argv[0], "card") == 0 && strcmp(argv[1], "emoney") == 0)
        return icreader_insert_emoney(ic, argc, argv, answer);
    if (argc == 3 && strcmp(argv[0], "card") == 0 && strcmp(argv[1], "point") == 0) {
        size_t n = strlen(argv[2]);
        if (n < 8 || n > ICREADER_CARD_ID_MAX || strspn(argv[2], "0123456789") != n) {
            devctl_answer(answer, "usage: card point MEMBER(8-20 digits)");
            return MAMORI_ERR_INVAL;
        }
        icreader_eject(ic);
        memcpy(ic->card_id, argv[2], n + 1);
        secmem_wipe(argv[2], n);
        ic->card = IC_POINT;
        icreader_emit_card(ic);
        return devctl_answer(answer, "point card inserted");
    }
    if (argc == 4 && strcmp(argv[0], "card") == 0 && strcmp(argv[1], "credit") == 0) {
        /* The chip's record as a track-2 image, checked with the same rules
         * (format, Luhn) a swiped track gets. */
        char t2[TRACK2_MAX + 1];
        size_t n;
        int r = track_chip_image(argv[2], argv[3], t2, &n);
        secmem_wipe(argv[2], strlen(argv[2]));
        if (r != 0) {
            secmem_wipe(t2, sizeof(t2));
            devctl_answer(answer, "usage: card credit PAN YYMM (a valid card number)");
            return MAMORI_ERR_INVAL;
        }
        icreader_eject(ic);
        memcpy(ic->credit_t2, t2, sizeof(t2));
        secmem_wipe(t2, sizeof(t2));
        ic->card = IC_CREDIT;
        icreader_emit_card(ic);
        return devctl_answer(answer, "credit card inserted");
    }
    devctl_answer(answer, "usage: card emoney ID [BALANCE] | card credit PAN YYMM | remove | status");
    return MAMORI_ERR_INVAL;
}

const struct device_class device_icreader = {
    .kind = "icreader",
    .model = "MAMORI-SIM-ICR1",
    .upos_name = "SmartCardRW",
    .create = icreader_create,
    .destroy = icreader_destroy,
    .request = icreader_request,
    .control = icreader_control,
};
