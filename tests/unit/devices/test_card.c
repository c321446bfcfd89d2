/* Unit tests for src/devices/msr.c, pinpad.c, icreader.c (POL-2, DEV-7/14/15). */
#include "devtest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/hex.h"
#include "crypto/dukpt.h"
#include "devices/cardcrypt.h"
#include "devices/devbody.h"
#include "crypto/kcv.h"
#include "crypto/tr31.h"
#include "devices/devkey.h"
#include "devices/emrec.h"
#include "keys/keys.h"
#include "mamori/err.h"

#define PAN "4111111111111111"
#define PAN_MID "11111111" /* the part that masking removes */

/* true if needle occurs in any file of dir (state, logs, outputs). */
static bool dir_contains(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool found = false;
    assert_non_null(d);
    while (!found && (e = readdir(d)) != NULL) {
        char path[4200], data[65536];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        size_t n = fread(data, 1, sizeof(data) - 1, f);
        fclose(f);
        data[n] = 0;
        found = memmem(data, n, needle, strlen(needle)) != NULL;
    }
    closedir(d);
    return found;
}

static void test_pol2_msr_refuses_clear_output_without_key(void **state)
{
    struct devtest t;
    struct buf all;
    char s[32];
    devtest_start(&t, "msr");
    assert_int_equal(devtest_ctl(&t, "swipe %B" PAN "^MAMORI/TARO^2812101123456789? ;" PAN "=28121011234567?"),
                     MAMORI_ERR_STATE);
    assert_non_null(strstr(devtest_answer(&t), "no key"));
    /* nothing read: no msr.data, an msr.error saying why */
    assert_int_equal(devtest_count(&t, "msr.data"), 0);
    assert_string_equal(devtest_str(devtest_event(&t, "msr.error", 0), "reason", s, sizeof(s)), "no key");
    /* and nothing of the card in anything that left the device or stayed on its disk */
    buf_init(&all, 0);
    devtest_events_bytes(&t, &all);
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), PAN_MID, strlen(PAN_MID)));
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), "4111", 4));
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), "TARO", 4));
    buf_free(&all);
    assert_false(dir_contains(t.dir, PAN_MID));
    assert_false(dir_contains(t.dir, "TARO"));
    /* a key block before the custodians formed a KBPK at the device: refused */
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_str(b, "block", "D0112B1AX00N0000"), 0);
    assert_int_equal(devbody_put_bytes(b, "ikid", "12345678", 8), 0);
    assert_int_equal(devtest_req(&t, "msr.key_inject", b, NULL), MAMORI_ERR_STATE);
    cbor_item_t *st = NULL;
    bool key = true;
    assert_int_equal(devtest_req(&t, "msr.status", NULL, &st), 0);
    assert_int_equal(devbody_get_bool(st, "key", &key), 0);
    assert_false(key);
    assert_int_equal(devtest_int(st, "refused"), 1);
    cbor_decref(&st);
    assert_int_equal(devtest_ctl(&t, "swipe - ;" PAN "=2812101?"), MAMORI_ERR_STATE);
    assert_int_equal(devtest_count(&t, "msr.data"), 0);
    assert_int_equal(devtest_ctl(&t, "swipe"), MAMORI_ERR_INVAL);
    devtest_stop(&t);
}

static void test_pol2_pinpad_refuses_pin_entry_without_key(void **state)
{
    struct devtest t;
    cbor_item_t *b;
    devtest_start(&t, "pinpad");
    b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", 5400), 0);
    assert_int_equal(devtest_req(&t, "pinpad.begin", b, NULL), MAMORI_ERR_STATE);
    /* no session: digits are refused and never kept */
    assert_int_equal(devtest_ctl(&t, "pin 1234"), MAMORI_ERR_STATE);
    assert_int_equal(devtest_ctl(&t, "enter"), MAMORI_ERR_STATE);
    assert_int_equal(devtest_count(&t, "pinpad.data"), 0);
    assert_false(dir_contains(t.dir, "1234"));
    /* hostile amounts are refused before anything else */
    b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", -1), 0);
    assert_int_equal(devtest_req(&t, "pinpad.begin", b, NULL), MAMORI_ERR_INVAL);
    b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", 1000000000000), 0);
    assert_int_equal(devtest_req(&t, "pinpad.begin", b, NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "pinpad.begin", NULL, NULL), MAMORI_ERR_INVAL);
    /* tamper: recorded, reported, and it stays tampered across a restart */
    assert_int_equal(devtest_ctl(&t, "tamper"), 0);
    assert_int_equal(devtest_count(&t, "pinpad.status"), 1);
    devtest_restart(&t);
    b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", 5400), 0);
    assert_int_equal(devtest_req(&t, "pinpad.begin", b, NULL), MAMORI_ERR_TAMPER);
    cbor_item_t *st = NULL;
    bool tampered = false;
    assert_int_equal(devtest_req(&t, "pinpad.status", NULL, &st), 0);
    assert_int_equal(devbody_get_bool(st, "tampered", &tampered), 0);
    assert_true(tampered);
    cbor_decref(&st);
    assert_true(dir_contains(t.dir, "pinpad.tamper"));
    devtest_stop(&t);
}

/* {amount, key: value} (value NULL: {amount} only). */
static cbor_item_t *amount_body(int64_t amount, const char *key, const char *value)
{
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", amount), 0);
    if (value != NULL)
        assert_int_equal(devbody_put_str(b, key, value), 0);
    return b;
}

static cbor_item_t *pay_body(int64_t amount, const char *idem)
{
    return amount_body(amount, "idem", idem);
}

/* The signed record in an emoney_pay reply, verified with the test device's key. */
static void record_verified(struct devtest *t, const cbor_item_t *reply, struct emrec *ret)
{
    const uint8_t *p;
    size_t n;
    uint8_t pub[32];
    keys_sign_public(t->sign_key, pub);
    assert_int_equal(devbody_get_bytes(reply, "record", EMREC_MAX, &p, &n), 0);
    assert_int_equal(emrec_verify(p, n, pub, sizeof(pub), ret), 0);
}

static int64_t emrec_seq_of(struct devtest *t, const cbor_item_t *reply)
{
    struct emrec e;
    record_verified(t, reply, &e);
    return (int64_t)e.seq;
}

/* DEV-15: the device signs the record of the deduction with its own key;
 * no signer, no deduction. */
static void test_dev15_emoney_record_signed_by_device(void **state)
{
    struct devtest t;
    cbor_item_t *r1 = NULL, *bal = NULL;
    struct emrec e;
    const uint8_t *p;
    size_t n;
    uint8_t other[32];
    struct keys *k2 = NULL;
    devtest_start(&t, "icreader");
    assert_int_equal(devtest_ctl(&t, "card emoney 0012345678 5000"), 0);
    cbor_item_t *b = pay_body(160, "T1-7-1");
    assert_int_equal(devbody_put_str(b, "txn", "7"), 0);
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", b, &r1), 0);
    record_verified(&t, r1, &e);
    assert_string_equal(e.serial, DEVTEST_SERIAL);
    assert_string_equal(e.card, "******5678");
    assert_int_equal(e.amount, 160);
    assert_int_equal(e.balance_before, 5000);
    assert_int_equal(e.balance_after, 4840);
    assert_int_equal(e.seq, 1);
    assert_string_equal(e.txn, "7");
    assert_string_equal(e.idem, "T1-7-1");
    assert_true(e.time > 1700000000u);
    /* another device's key does not verify it */
    assert_int_equal(keys_generate(&k2), 0);
    keys_sign_public(k2, other);
    assert_int_equal(devbody_get_bytes(r1, "record", EMREC_MAX, &p, &n), 0);
    assert_int_equal(emrec_verify(p, n, other, sizeof(other), NULL), MAMORI_ERR_AUTH);
    keys_free(k2);
    cbor_decref(&r1);
    /* a reader whose runner cannot sign makes no payment (fail closed) */
    t.io.sign = NULL;
    devtest_restart(&t);
    assert_int_equal(devtest_ctl(&t, "card emoney 0012345678"), 0);
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(100, "T1-8-1"), NULL), MAMORI_ERR_STATE);
    assert_int_equal(devtest_req(&t, "icreader.emoney_balance", NULL, &bal), 0);
    assert_int_equal(devtest_int(bal, "balance"), 4840);
    cbor_decref(&bal);
    devtest_stop(&t);
}

static void test_dev15_emoney_deducted_in_card_once(void **state)
{
    struct devtest t;
    cbor_item_t *r1 = NULL, *r2 = NULL, *bal = NULL;
    char s[32];
    devtest_start(&t, "icreader");
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(100, "P0"), NULL), MAMORI_ERR_NOTFOUND);
    assert_int_equal(devtest_ctl(&t, "card emoney 0123456789012345"), MAMORI_ERR_NOTFOUND);
    assert_int_equal(devtest_ctl(&t, "card emoney 0123456789012345 3000"), 0);
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(1280, "P1"), &r1), 0);
    assert_int_equal(devtest_int(r1, "balance_after"), 1720);
    assert_string_equal(devtest_str(r1, "card", s, sizeof(s)), "************2345");
    assert_int_equal(emrec_seq_of(&t, r1), 1);
    /* a retry deducts nothing */
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(1280, "P1"), &r2), 0);
    assert_true(devtest_same(r1, r2));
    assert_int_equal(devtest_req(&t, "icreader.emoney_balance", NULL, &bal), 0);
    assert_int_equal(devtest_int(bal, "balance"), 1720);
    cbor_decref(&bal);
    /* insufficient, hostile */
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(5000, "P2"), NULL), MAMORI_ERR_DECLINED);
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(-5, "P3"), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(5, NULL), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(99, "P1"), NULL), MAMORI_ERR_EXISTS);
    /* the balance lives in the card: take it out, restart, put it back */
    assert_int_equal(devtest_ctl(&t, "remove"), 0);
    devtest_restart(&t);
    assert_int_equal(devtest_ctl(&t, "card emoney 0123456789012345"), 0);
    assert_int_equal(devtest_req(&t, "icreader.emoney_balance", NULL, &bal), 0);
    assert_int_equal(devtest_int(bal, "balance"), 1720);
    cbor_decref(&bal);
    cbor_decref(&r2);
    assert_int_equal(devtest_req(&t, "icreader.emoney_pay", pay_body(1280, "P1"), &r2), 0);
    assert_true(devtest_same(r1, r2)); /* remembered across restart */
    assert_int_equal(devtest_ctl(&t, "card emoney 12 100"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "card emoney 0123456789012345 9999999"), MAMORI_ERR_INVAL);
    cbor_decref(&r1);
    cbor_decref(&r2);
    devtest_stop(&t);
}

static void test_pol2_icreader_credit_read_refused_without_key(void **state)
{
    struct devtest t;
    devtest_start(&t, "icreader");
    assert_int_equal(devtest_ctl(&t, "card credit " PAN " 2812"), 0);
    assert_int_equal(devtest_req(&t, "icreader.read", NULL, NULL), MAMORI_ERR_STATE);
    assert_false(dir_contains(t.dir, PAN_MID));
    struct buf all;
    buf_init(&all, 0);
    devtest_events_bytes(&t, &all);
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), PAN_MID, strlen(PAN_MID)));
    buf_free(&all);
    assert_int_equal(devtest_ctl(&t, "card credit 12ab 2812"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "card credit " PAN " 2899"), MAMORI_ERR_INVAL);
    devtest_stop(&t);
}

static const uint8_t test_bdk[16] = {0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
                                     0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1};
static const uint8_t test_ikid[8] = {0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56};

/* Inject a DUKPT initial key derived from the test BDK into t's device and
 * power-cycle it (standing in for the issue 4 ceremony). */
static void inject_key(struct devtest *t)
{
    struct devkey *k;
    uint8_t ik[16];
    assert_int_equal(dukpt_aes_initial_key(test_bdk, 16, test_ikid, ik), 0);
    assert_int_equal(devkey_open(t->dir, &k), 0);
    assert_false(devkey_present(k));
    assert_int_equal(devkey_install(k, ik, sizeof(ik), test_ikid), 0);
    devkey_free(k);
    devtest_restart(t);
}

/* A card record as emitted (masked_pan, ksn, ct, mac) back into cardcrypt form. */
static void record_of(const cbor_item_t *m, struct cardcrypt_record *rec)
{
    const uint8_t *p;
    size_t n;
    memset(rec, 0, sizeof(*rec));
    assert_int_equal(devbody_get_bytes(m, "ksn", DUKPT_AES_KSN_LEN, &p, &n), 0);
    assert_int_equal(n, DUKPT_AES_KSN_LEN);
    memcpy(rec->ksn, p, n);
    assert_int_equal(devbody_get_bytes(m, "ct", CARDCRYPT_CT_MAX, &p, &n), 0);
    memcpy(rec->ct, p, n);
    rec->ct_len = n;
    assert_int_equal(devbody_get_bytes(m, "mac", CARDCRYPT_MAC_LEN, &p, &n), 0);
    assert_int_equal(n, CARDCRYPT_MAC_LEN);
    memcpy(rec->mac, p, n);
}

#define T1 "%B4111111111111111^MAMORI/TARO^2812101123456789?"
#define T2 ";4111111111111111=28121011234567?"

static void test_pol2_msr_sends_only_ciphertext_host_decrypts(void **state)
{
    struct devtest t;
    struct dukpt_aes_host *h;
    struct cardcrypt_record rec, rec2, rec3;
    struct cardcrypt_tracks *tr = NULL;
    struct buf all;
    char s[32];
    devtest_start(&t, "msr");
    inject_key(&t);
    assert_int_equal(devtest_ctl(&t, "swipe " T1 " " T2), 0);
    const cbor_item_t *ev = devtest_event(&t, "msr.data", 0);
    assert_non_null(ev);
    assert_string_equal(devtest_str(ev, "masked_pan", s, sizeof(s)), "411111******1111");
    assert_string_equal(devtest_str(ev, "expiry", s, sizeof(s)), "2812");
    assert_int_equal(devtest_int(ev, "tracks"), 3);
    record_of(ev, &rec);
    /* nothing in clear left the device or stayed on its disk */
    buf_init(&all, 0);
    devtest_events_bytes(&t, &all);
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), PAN_MID, strlen(PAN_MID)));
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), "TARO", 4));
    buf_free(&all);
    assert_false(dir_contains(t.dir, PAN_MID));
    /* the payment host, with the BDK, gets the tracks back */
    assert_int_equal(dukpt_aes_host_new(test_bdk, 16, &h), 0);
    assert_int_equal(card_decrypt_tracks(h, &rec, &tr), 0);
    assert_int_equal(tr->n1, strlen(T1));
    assert_memory_equal(tr->t1, T1, tr->n1);
    assert_memory_equal(tr->t2, T2, tr->n2);
    cardcrypt_tracks_free(tr);
    /* every read has its own KSN, also across a restart (the counter is durable) */
    assert_int_equal(devtest_ctl(&t, "swipe - " T2), 0);
    record_of(devtest_event(&t, "msr.data", 1), &rec2);
    devtest_restart(&t);
    assert_int_equal(devtest_ctl(&t, "swipe - " T2), 0);
    record_of(devtest_event(&t, "msr.data", 2), &rec3);
    assert_memory_not_equal(rec.ksn, rec2.ksn, DUKPT_AES_KSN_LEN);
    assert_memory_not_equal(rec2.ksn, rec3.ksn, DUKPT_AES_KSN_LEN);
    assert_memory_not_equal(rec.ksn, rec3.ksn, DUKPT_AES_KSN_LEN);
    /* a flipped ciphertext bit is refused by the host */
    rec3.ct[0] ^= 1;
    assert_int_equal(card_decrypt_tracks(h, &rec3, &tr), MAMORI_ERR_AUTH);
    /* a bad swipe (Luhn) spends nothing and says only why */
    assert_int_not_equal(devtest_ctl(&t, "swipe - ;4111111111111112=2812101?"), 0);
    assert_string_equal(devtest_str(devtest_event(&t, "msr.error", 0), "reason", s, sizeof(s)),
                        "bad card number");
    assert_int_equal(devtest_count(&t, "msr.data"), 3);
    dukpt_aes_host_free(h);
    devtest_stop(&t);
}

static void test_dev14_pin_block_verifies_at_host_and_tamper_erases(void **state)
{
    struct devtest t;
    struct dukpt_aes_host *h;
    struct cardcrypt_pin pp;
    struct cardcrypt_record rec;
    char pin[PINBLOCK_PIN_BUF];
    const uint8_t *p;
    size_t n;
    devtest_start(&t, "pinpad");
    inject_key(&t);
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", 5400), 0);
    assert_int_equal(devtest_req(&t, "pinpad.begin", b, NULL), 0);
    assert_int_equal(devtest_ctl(&t, "pin 1234"), 0);
    assert_int_equal(devtest_ctl(&t, "enter"), MAMORI_ERR_STATE); /* no card read yet */
    assert_int_equal(devtest_ctl(&t, "swipe - " T2), 0);
    assert_int_equal(devtest_ctl(&t, "pin 5678"), 0); /* the session's digits: 12345678 */
    assert_int_equal(devtest_ctl(&t, "enter"), 0);
    const cbor_item_t *ev = devtest_event(&t, "pinpad.data", 0);
    assert_int_equal(devtest_int(ev, "status"), 1);
    assert_int_equal(devbody_get_bytes(ev, "ksn", DUKPT_AES_KSN_LEN, &p, &n), 0);
    memcpy(pp.ksn, p, DUKPT_AES_KSN_LEN);
    assert_int_equal(devbody_get_bytes(ev, "block", PINBLOCK_ISO4_LEN, &p, &n), 0);
    assert_int_equal(n, PINBLOCK_ISO4_LEN);
    memcpy(pp.block, p, n);
    record_of(devbody_find(ev, "card"), &rec);
    assert_int_equal(dukpt_aes_host_new(test_bdk, 16, &h), 0);
    assert_int_equal(card_decrypt_pin(h, &pp, "4111111111111111", pin), 0);
    assert_string_equal(pin, "12345678");
    struct cardcrypt_tracks *tr = NULL;
    assert_int_equal(card_decrypt_tracks(h, &rec, &tr), 0);
    assert_memory_equal(tr->t2, T2, strlen(T2));
    cardcrypt_tracks_free(tr);
    /* neither the PIN nor the PAN is anywhere the device wrote or sent */
    struct buf all;
    buf_init(&all, 0);
    devtest_events_bytes(&t, &all);
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), "12345678", 8));
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), PAN_MID, strlen(PAN_MID)));
    buf_free(&all);
    assert_false(dir_contains(t.dir, "12345678"));
    assert_false(dir_contains(t.dir, PAN_MID));
    /* tamper erases the key at once, on disk too, and stays refused */
    char path[4200];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", t.dir, DEVKEY_FILE);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(devtest_ctl(&t, "tamper"), 0);
    assert_int_not_equal(stat(path, &st), 0);
    devtest_restart(&t);
    b = devtest_body();
    assert_int_equal(devbody_put_int(b, "amount", 100), 0);
    assert_int_equal(devtest_req(&t, "pinpad.begin", b, NULL), MAMORI_ERR_TAMPER);
    dukpt_aes_host_free(h);
    devtest_stop(&t);
}

/* pinpad.data -> the PIN block and card record in cardcrypt form. */
static void pin_of_event(const cbor_item_t *ev, struct cardcrypt_pin *pp, struct cardcrypt_record *rec)
{
    const uint8_t *p;
    size_t n;
    assert_int_equal(devtest_int(ev, "status"), 1);
    assert_int_equal(devbody_get_bytes(ev, "ksn", DUKPT_AES_KSN_LEN, &p, &n), 0);
    memcpy(pp->ksn, p, DUKPT_AES_KSN_LEN);
    assert_int_equal(devbody_get_bytes(ev, "block", PINBLOCK_ISO4_LEN, &p, &n), 0);
    memcpy(pp->block, p, PINBLOCK_ISO4_LEN);
    record_of(devbody_find(ev, "card"), rec);
}

static cbor_item_t *begin_body(int64_t amount, const char *entry)
{
    return amount_body(amount, "entry", entry);
}

/* DEV-14/DEV-15: IC credit with PIN. The PIN pad's own chip slot reads the
 * chip (entry "chip"), the PIN block is bound to that PAN, the host sees
 * chip entry; the stripe is refused in a chip session; the PAN and PIN are
 * nowhere in what the device sent or stored. */
static void test_dev14_pinpad_chip_slot_pin_block_bound_to_chip_pan(void **state)
{
    struct devtest t;
    struct dukpt_aes_host *h;
    struct cardcrypt_pin pp;
    struct cardcrypt_record rec;
    struct cardcrypt_tracks *tr = NULL;
    char pin[PINBLOCK_PIN_BUF];
    devtest_start(&t, "pinpad");
    inject_key(&t);
    assert_int_equal(devtest_req(&t, "pinpad.begin", begin_body(5400, "contactless"), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_req(&t, "pinpad.begin", begin_body(5400, "chip"), NULL), 0);
    assert_int_equal(devtest_ctl(&t, "swipe - ;" PAN "=28121011234567?"), MAMORI_ERR_STATE); /* not the stripe */
    assert_int_equal(devtest_ctl(&t, "card credit 4111111111111112 2812"), MAMORI_ERR_INVAL); /* Luhn */
    assert_int_equal(devtest_ctl(&t, "card credit " PAN " 2812"), 0);
    assert_int_equal(devtest_ctl(&t, "pin 4321"), 0);
    assert_int_equal(devtest_ctl(&t, "enter"), 0);
    pin_of_event(devtest_event(&t, "pinpad.data", 0), &pp, &rec);
    assert_int_equal(dukpt_aes_host_new(test_bdk, 16, &h), 0);
    assert_int_equal(card_decrypt_tracks(h, &rec, &tr), 0);
    assert_int_equal(tr->entry, CARDCRYPT_ENTRY_CHIP);
    assert_memory_equal(tr->t2, ";" PAN "=2812=?", tr->n2);
    cardcrypt_tracks_free(tr);
    assert_int_equal(card_decrypt_pin(h, &pp, PAN, pin), 0);
    assert_string_equal(pin, "4321");
    struct buf all;
    buf_init(&all, 0);
    devtest_events_bytes(&t, &all);
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), PAN_MID, strlen(PAN_MID)));
    assert_null(memmem(buf_ptr(&all), buf_remaining(&all), "4321", 4));
    buf_free(&all);
    assert_false(dir_contains(t.dir, PAN_MID));
    /* a stripe session refuses the chip slot */
    assert_int_equal(devtest_req(&t, "pinpad.begin", begin_body(100, NULL), NULL), 0);
    assert_int_equal(devtest_ctl(&t, "card credit " PAN " 2812"), MAMORI_ERR_STATE);
    assert_int_equal(devtest_ctl(&t, "cancel"), 0);
    dukpt_aes_host_free(h);
    devtest_stop(&t);
}

/* SIMULATOR FAULT INJECTION "fault replay-last": the next PIN entry re-sends
 * the previous transaction's ciphertext byte for byte (same KSNs); once. */
static void test_pol2_pinpad_fault_replay_last_resends_same_ksns(void **state)
{
    struct devtest t;
    struct cardcrypt_pin p1, p2, p3;
    struct cardcrypt_record r1, r2, r3;
    devtest_start(&t, "pinpad");
    inject_key(&t);
    assert_int_equal(devtest_ctl(&t, "fault replay-last"), MAMORI_ERR_STATE); /* nothing to replay yet */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(devtest_req(&t, "pinpad.begin", begin_body(100 + i, NULL), NULL), 0);
        assert_int_equal(devtest_ctl(&t, "swipe - ;" PAN "=28121011234567?"), 0);
        assert_int_equal(devtest_ctl(&t, "pin 1234"), 0);
        if (i == 1)
            assert_int_equal(devtest_ctl(&t, "fault replay-last"), 0);
        assert_int_equal(devtest_ctl(&t, "enter"), 0);
    }
    pin_of_event(devtest_event(&t, "pinpad.data", 0), &p1, &r1);
    pin_of_event(devtest_event(&t, "pinpad.data", 1), &p2, &r2);
    pin_of_event(devtest_event(&t, "pinpad.data", 2), &p3, &r3);
    assert_memory_equal(&p1, &p2, sizeof(p1));
    assert_memory_equal(r1.ksn, r2.ksn, sizeof(r1.ksn));
    assert_memory_equal(r1.ct, r2.ct, r1.ct_len);
    /* one-shot: the third is fresh */
    assert_memory_not_equal(p1.ksn, p3.ksn, sizeof(p1.ksn));
    assert_memory_not_equal(r1.ksn, r3.ksn, sizeof(r1.ksn));
    devtest_stop(&t);
}

static void test_pol2_icreader_chip_record_encrypted(void **state)
{
    struct devtest t;
    struct dukpt_aes_host *h;
    struct cardcrypt_record rec;
    struct cardcrypt_tracks *tr = NULL;
    cbor_item_t *r = NULL;
    char s[32];
    devtest_start(&t, "icreader");
    inject_key(&t);
    assert_int_equal(devtest_req(&t, "icreader.read", NULL, NULL), MAMORI_ERR_NOTFOUND);
    assert_int_equal(devtest_ctl(&t, "card credit 4111111111111111 2812"), 0);
    assert_int_equal(devtest_req(&t, "icreader.read", NULL, &r), 0);
    assert_string_equal(devtest_str(r, "masked_pan", s, sizeof(s)), "411111******1111");
    record_of(r, &rec);
    cbor_decref(&r);
    assert_int_equal(dukpt_aes_host_new(test_bdk, 16, &h), 0);
    assert_int_equal(card_decrypt_tracks(h, &rec, &tr), 0);
    assert_memory_equal(tr->t2, ";4111111111111111=2812=?", tr->n2);
    assert_int_equal(tr->entry, CARDCRYPT_ENTRY_CHIP); /* the host knows it was the chip */
    cardcrypt_tracks_free(tr);
    assert_false(dir_contains(t.dir, PAN_MID));
    assert_int_equal(devtest_ctl(&t, "card credit 4111111111111112 2812"), MAMORI_ERR_INVAL); /* Luhn */
    dukpt_aes_host_free(h);
    devtest_stop(&t);
}

static cbor_item_t *inject_body(const char *kb, size_t ikid_len)
{
    cbor_item_t *b = devtest_body();
    assert_int_equal(devbody_put_str(b, "block", kb), 0);
    assert_int_equal(devbody_put_bytes(b, "ikid", test_ikid, ikid_len), 0);
    return b;
}

static char *wrap_ik(const uint8_t kbpk[16], const char *usage, const uint8_t ik[16])
{
    struct tr31_header h;
    char *kb = NULL;
    memset(&h, 0, sizeof(h));
    memcpy(h.usage, usage, 3);
    h.algorithm = 'A';
    h.mode = 'X';
    memcpy(h.key_version, "00", 3);
    h.exportability = 'N';
    assert_int_equal(tr31_wrap_d(kbpk, 16, &h, ik, 16, &kb), 0);
    return kb;
}

static void test_pol8_3_key_injected_under_custodian_kbpk(void **state)
{
    static const char c1[] = "00112233445566778899AABBCCDDEEFF";
    static const char c2[] = "0F0E0D0C0B0A09080706050403020100";
    uint8_t k1[16], k2[16], kbpk[16], ik[16], other[16];
    size_t n;
    char want[2 * KCV_LEN + 1], s[16], line[128];
    struct devtest t;
    cbor_item_t *r = NULL;
    assert_int_equal(hex_decode(k1, 16, c1, &n), 0);
    assert_int_equal(hex_decode(k2, 16, c2, &n), 0);
    for (int i = 0; i < 16; i++)
        kbpk[i] = k1[i] ^ k2[i];
    assert_int_equal(dukpt_aes_initial_key(test_bdk, 16, test_ikid, ik), 0);
    assert_int_equal(kcv_hex(SYMM_AES, ik, 16, KCV_LEN, want, sizeof(want)), 0);
    devtest_start(&t, "msr");
    /* hostile components */
    assert_int_equal(devtest_ctl(&t, "kbpk 3 00112233445566778899AABBCCDDEEFF"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "kbpk 1 0011"), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "kbpk 1 zz112233445566778899AABBCCDDEEFF"), MAMORI_ERR_INVAL);
    /* equal components would make a zero KBPK: refused, both cleared */
    snprintf(line, sizeof(line), "kbpk 1 %s", c1);
    assert_int_equal(devtest_ctl(&t, line), 0);
    assert_int_equal(devtest_ctl(&t, "kbpk 2 00112233445566778899AABBCCDDEEFF"), MAMORI_ERR_INVAL);
    /* the two custodians, each at the device */
    assert_int_equal(devtest_ctl(&t, line), 0);
    assert_non_null(strstr(devtest_answer(&t), "KCV"));
    snprintf(line, sizeof(line), "kbpk 2 %s", c2);
    assert_int_equal(devtest_ctl(&t, line), 0);
    assert_non_null(strstr(devtest_answer(&t), "KBPK formed"));
    /* the components are not kept anywhere on the device's disk */
    assert_false(dir_contains(t.dir, c1));
    /* a key block for another purpose, a tampered one, a foreign KBPK: refused */
    char *kb = wrap_ik(kbpk, "P0", ik);
    assert_int_equal(devtest_req(&t, "msr.key_inject", inject_body(kb, 8), NULL), MAMORI_ERR_INVAL);
    free(kb);
    kb = wrap_ik(kbpk, "B1", ik);
    char *bad = strdup(kb);
    bad[strlen(bad) - 1] = bad[strlen(bad) - 1] == '0' ? '1' : '0';
    assert_int_equal(devtest_req(&t, "msr.key_inject", inject_body(bad, 8), NULL), MAMORI_ERR_AUTH);
    free(bad);
    memset(other, 0x5a, sizeof(other));
    bad = wrap_ik(other, "B1", ik);
    assert_int_equal(devtest_req(&t, "msr.key_inject", inject_body(bad, 8), NULL), MAMORI_ERR_AUTH);
    free(bad);
    assert_int_equal(devtest_req(&t, "msr.key_inject", inject_body(kb, 7), NULL), MAMORI_ERR_INVAL);
    assert_int_equal(devtest_ctl(&t, "swipe - " T2), MAMORI_ERR_STATE); /* still no key */
    /* the real one: the device answers the initial key's KCV, never the key */
    devtest_restart(&t); /* the KBPK survives a power cycle */
    assert_int_equal(devtest_req(&t, "msr.key_inject", inject_body(kb, 8), &r), 0);
    assert_string_equal(devtest_str(r, "kcv", s, sizeof(s)), want);
    cbor_decref(&r);
    free(kb);
    assert_int_equal(devtest_ctl(&t, "swipe - " T2), 0);
    struct cardcrypt_record rec;
    struct cardcrypt_tracks *tr = NULL;
    struct dukpt_aes_host *h;
    record_of(devtest_event(&t, "msr.data", 0), &rec);
    assert_int_equal(dukpt_aes_host_new(test_bdk, 16, &h), 0);
    assert_int_equal(card_decrypt_tracks(h, &rec, &tr), 0);
    assert_memory_equal(tr->t2, T2, strlen(T2));
    cardcrypt_tracks_free(tr);
    dukpt_aes_host_free(h);
    assert_true(dir_contains(t.dir, "key.injected"));
    devtest_stop(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pol2_msr_refuses_clear_output_without_key),
        cmocka_unit_test(test_pol2_pinpad_refuses_pin_entry_without_key),
        cmocka_unit_test(test_dev15_emoney_deducted_in_card_once),
        cmocka_unit_test(test_dev15_emoney_record_signed_by_device),
        cmocka_unit_test(test_pol2_icreader_credit_read_refused_without_key),
        cmocka_unit_test(test_pol2_msr_sends_only_ciphertext_host_decrypts),
        cmocka_unit_test(test_dev14_pin_block_verifies_at_host_and_tamper_erases),
        cmocka_unit_test(test_pol2_icreader_chip_record_encrypted),
        cmocka_unit_test(test_dev14_pinpad_chip_slot_pin_block_bound_to_chip_pan),
        cmocka_unit_test(test_pol2_pinpad_fault_replay_last_resends_same_ksns),
        cmocka_unit_test(test_pol8_3_key_injected_under_custodian_kbpk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
