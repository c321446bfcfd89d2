/*
 * tender.c: owns settlement: taking tenders (cash keyed or counted by the
 * change machine, gift certificates, coupons, point cards, external kinds),
 * completion (receipt + cash command intents in one journal commit), sending
 * cash commands exactly once, member-number encryption, and recovery of
 * interrupted cash commands. It must not own registration (txn.c) or storage
 * (journal.c).
 *
 * Order of a cash command, and why (ARCHITECTURE §5, POL-1):
 *   1. the intent with its idempotency key is committed to the journal;
 *   2. the command is sent to the device with that key;
 *   3. the result is committed.
 * A crash after 1 re-sends in txn_recover with the same key; the device
 * answers from its memory, so it never pays twice; a crash before 1 sent
 * nothing. The key names terminal, transaction and tender, so it can never
 * collide with another command.
 */
#include "pos/tender.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/journal.h"
#include "pos/txnprint.h"

#define TENDER_RETRIES 3 /* sends of one cash command before leaving it pending */
#define TENDER_PENDING_MAX 64
#define MEMBER_MIN_DIGITS 8
#define MEMBER_MAX_DIGITS 20

static int fail(struct txn *t, int rc, const char *msg)
{
    txn_set_error(t, msg);
    return rc;
}

static void idem_key(char out[static POSDEV_IDEM_MAX], const struct txn_rec *r, const char *what,
                     int n)
{
    snprintf(out, POSDEV_IDEM_MAX, "%s-%lld-%s%d", r->terminal, (long long)r->txn_no, what, n);
}

/* Send one cash command (retrying with the same key), then record the result. */
static int send_cmd(struct txn *t, struct journal_cmd *c)
{
    const struct pos_devices *d = txn_devices(t);
    struct audit_actor act;
    int64_t result = c->amount;
    int rc = MAMORI_ERR_OFFLINE;
    for (int i = 0; i < TENDER_RETRIES; i++) {
        if (strcmp(c->kind, "dispense") == 0)
            rc = d->changer_dispense ? d->changer_dispense(d->ctx, c->idem, c->amount)
                                     : MAMORI_ERR_OFFLINE;
        else if (strcmp(c->kind, "deposit") == 0)
            rc = d->changer_deposit ? d->changer_deposit(d->ctx, c->idem, c->amount, &result)
                                    : MAMORI_ERR_OFFLINE;
        else
            rc = d->drawer_open ? d->drawer_open(d->ctx, c->idem) : MAMORI_ERR_OFFLINE;
        if (rc != MAMORI_ERR_TIMEOUT && rc != MAMORI_ERR_OFFLINE && rc != MAMORI_ERR_AGAIN)
            break;
    }
    if (rc == MAMORI_ERR_TIMEOUT || rc == MAMORI_ERR_OFFLINE || rc == MAMORI_ERR_AGAIN)
        return fail(t, rc, "cash device not answering: the command stays pending");
    txn_actor(t, &act);
    audit_event(txn_audit(t), &act, rc == 0 ? "cash.command" : "cash.command.failed",
                F_STR("kind", c->kind), F_STR("idem", c->idem), F_INT("txn", c->txn_no),
                F_INT("tender", c->tender), F_AMOUNT("amount", rc == 0 ? result : c->amount));
    if (journal_cmd_done(txn_journal(t), c->idem, result, rc == 0))
        return fail(t, MAMORI_ERR_DB, "journal write failed after a cash command");
    c->result = result;
    c->state = rc == 0 ? JOURNAL_CMD_DONE : JOURNAL_CMD_FAILED;
    return rc ? fail(t, rc, "cash device refused the command") : 0;
}

static void make_cmd(struct journal_cmd *c, const struct txn_rec *r, const char *kind,
                     const char *what, int tender, int64_t amount)
{
    memset(c, 0, sizeof(*c));
    idem_key(c->idem, r, what, tender < 0 ? 0 : tender);
    snprintf(c->kind, sizeof(c->kind), "%s", kind);
    snprintf(c->terminal, sizeof(c->terminal), "%s", r->terminal);
    c->txn_no = r->txn_no;
    c->tender = tender;
    c->amount = amount;
    c->training = r->training;
}

/* ---- member numbers (POL-1 HIGH) ---- */

void tender_mask_member(char out[static TXN_MEMBER_MAX], const char *member_no)
{
    size_t n = strlen(member_no), i;
    if (n >= TXN_MEMBER_MAX)
        n = TXN_MEMBER_MAX - 1;
    for (i = 0; i < n; i++)
        out[i] = i + 4 < n ? '*' : member_no[i];
    out[n] = '\0';
}

static void member_ad(const struct txn_rec *r, char ad[static 64])
{
    snprintf(ad, 64, "mamori-member|%s|%lld", r->terminal, (long long)r->txn_no);
}

static int member_valid(const char *m)
{
    size_t n = m ? strlen(m) : 0;
    if (n < MEMBER_MIN_DIGITS || n > MEMBER_MAX_DIGITS)
        return MAMORI_ERR_INVAL;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)m[i]))
            return MAMORI_ERR_INVAL;
    return 0;
}

/* Keyed hash of a member number: the key of its point balance. */
static int member_tag(struct txn *t, const char *m, uint8_t tag[static JOURNAL_TAG_BYTES])
{
    const uint8_t *key = txn_data_key_open(t);
    int rc = crypto_generichash(tag, JOURNAL_TAG_BYTES, (const uint8_t *)m, strlen(m), key,
                                TXN_DATA_KEY_BYTES);
    txn_data_key_close(t);
    return rc ? MAMORI_ERR_CRYPTO : 0;
}

/* Decrypt the record's member number into out (caller wipes it). */
static int member_open(struct txn *t, const struct txn_rec *r, char out[static TXN_MEMBER_MAX])
{
    char ad[64];
    unsigned long long n = 0;
    const uint8_t *key;
    int rc;
    if (!r->has_member || r->member_ct_len > TXN_MEMBER_CT_MAX ||
        r->member_ct_len < crypto_aead_xchacha20poly1305_ietf_ABYTES ||
        r->member_ct_len - crypto_aead_xchacha20poly1305_ietf_ABYTES >= TXN_MEMBER_MAX)
        return MAMORI_ERR_STATE;
    member_ad(r, ad);
    key = txn_data_key_open(t);
    rc = crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)out, &n, NULL, r->member_ct,
                                                    r->member_ct_len, (const uint8_t *)ad,
                                                    strlen(ad), r->member_nonce, key);
    txn_data_key_close(t);
    if (rc != 0)
        return MAMORI_ERR_AUTH;
    out[n] = '\0';
    return 0;
}

int tender_member(struct txn *t, const char *member_no)
{
    const struct txn_rec *cur = txn_current(t);
    struct txn_rec *r;
    struct audit_actor act;
    char ad[64];
    unsigned long long n = 0;
    const uint8_t *key;
    int rc;
    if (cur == NULL || cur->is_return || cur->state == TXN_COMPLETED)
        return fail(t, MAMORI_ERR_STATE, "register the sale first");
    if (member_valid(member_no))
        return fail(t, MAMORI_ERR_INVAL, "not a member number");
    r = txn_begin_change(t);
    member_ad(r, ad);
    randombytes_buf(r->member_nonce, sizeof(r->member_nonce));
    key = txn_data_key_open(t);
    rc = crypto_aead_xchacha20poly1305_ietf_encrypt(r->member_ct, &n, (const uint8_t *)member_no,
                                                    strlen(member_no), (const uint8_t *)ad,
                                                    strlen(ad), NULL, r->member_nonce, key);
    txn_data_key_close(t);
    if (rc != 0)
        return fail(t, MAMORI_ERR_CRYPTO, "encryption failed");
    r->member_ct_len = (size_t)n;
    r->has_member = true;
    tender_mask_member(r->member_masked, member_no);
    if ((rc = txn_commit_change(t)))
        return rc;
    txn_actor(t, &act);
    /* The number itself is HIGH: not even its mask goes to the audit log. */
    audit_event(txn_audit(t), &act, "member.attach", F_INT("txn", r->txn_no));
    return 0;
}

int tender_member_balance(struct txn *t, const char *member_no, int64_t *ret_points)
{
    uint8_t tag[JOURNAL_TAG_BYTES];
    int rc;
    if (member_valid(member_no))
        return fail(t, MAMORI_ERR_INVAL, "not a member number");
    if ((rc = member_tag(t, member_no, tag)))
        return rc;
    return journal_points(txn_journal(t), tag, ret_points);
}

/* ---- completion ---- */

static int capture_external(struct txn *t, const struct txn_rec *r)
{
    for (size_t i = 0; i < r->n_tenders; i++) {
        const struct txn_tender *d = &r->tenders[i];
        const struct tender_kind *k;
        struct tender_auth au;
        int rc;
        if (d->type != TENDER_EXTERNAL)
            continue;
        if ((k = txn_find_kind(t, d->kind)) == NULL)
            return fail(t, MAMORI_ERR_NOTFOUND, "tender kind not available");
        memset(&au, 0, sizeof(au));
        snprintf(au.ref, sizeof(au.ref), "%s", d->ref);
        au.amount = d->amount;
        if ((rc = k->capture(k->ctx, r->txn_no, &au)))
            return fail(t, rc, "capture failed");
    }
    return 0;
}

/* r (the scratch record) covers its total: store, pay out, print. */
static int complete(struct txn *t, struct txn_rec *r, const struct txn_totals *tot0)
{
    struct txn_totals tot = *tot0;
    struct journal_cmd cmds[2];
    size_t ncmds = 0;
    uint8_t tag[JOURNAL_TAG_BYTES];
    char member[TXN_MEMBER_MAX];
    int64_t points = 0, receipt_no;
    bool cash_keyed = false, has_tag = false;
    struct audit_actor act;
    const struct pos_devices *d = txn_devices(t);
    int rc;

    tot.change = r->is_return ? 0 : tot.paid - tot.total;
    for (size_t i = 0; i < r->n_tenders; i++) {
        if (r->tenders[i].type == TENDER_CASH && r->tenders[i].idem[0] == '\0')
            cash_keyed = true;
        if (r->tenders[i].type == TENDER_POINTS)
            points -= r->tenders[i].amount;
    }
    if (r->has_member) {
        if ((rc = member_open(t, r, member)))
            return fail(t, rc, "member number unreadable");
        rc = member_tag(t, member, tag);
        sodium_memzero(member, sizeof(member));
        if (rc)
            return fail(t, rc, "member tag failed");
        has_tag = true;
        points += tot.points_earned;
    }
    /* Cash commands of this completion (none in training: no real cash moves). */
    if (!r->training) {
        int64_t out = r->is_return ? -tot.total : tot.change;
        if (posdev_has_changer(d) && out > 0)
            make_cmd(&cmds[ncmds++], r, "dispense", r->is_return ? "refund" : "change",
                     (int)r->n_tenders - 1, out);
        else if (cash_keyed || out > 0)
            make_cmd(&cmds[ncmds++], r, "drawer", "drawer", (int)r->n_tenders - 1, 0);
    }
    r->state = TXN_COMPLETED;
    rc = journal_complete(txn_journal(t), r, &tot, has_tag ? tag : NULL, points, cmds, ncmds,
                          &receipt_no);
    if (rc) {
        r->state = TXN_TENDERING;
        return fail(t, rc, rc == MAMORI_ERR_LIMIT ? "return exceeds what was sold"
                                                  : "journal write failed; nothing changed");
    }
    txn_after_complete(t, receipt_no, tot.change);
    if (has_tag)
        (void)journal_points(txn_journal(t), tag, &tot.points_balance);
    txn_actor(t, &act);
    audit_event(txn_audit(t), &act, r->is_return ? "txn.return" : "txn.complete",
                F_INT("txn", r->txn_no), F_INT("receipt", receipt_no),
                F_AMOUNT("total", tot.total), F_INT("tenders", (int64_t)r->n_tenders),
                F_AMOUNT("change", tot.change), F_INT("training", r->training),
                F_INT("orig_receipt", r->orig_receipt));
    /* Capture only what the journal holds as sold: a capture for a sale that
     * was never stored would take money for nothing. A failed capture leaves
     * the authorization for reconciliation (issue 4), recorded here. */
    if (capture_external(t, r) != 0)
        audit_event(txn_audit(t), &act, "tender.capture_failed", F_INT("txn", r->txn_no),
                    F_INT("receipt", receipt_no));
    /* The sale is durable; now the money moves. A failure here leaves the
     * command pending for txn_recover, never lost, never doubled. */
    for (size_t i = 0; i < ncmds; i++)
        if ((rc = send_cmd(t, &cmds[i])))
            return rc;
    (void)txnprint_receipt(t, r, &tot, receipt_no, false);
    return 0;
}

/* Add tender d to the open transaction; complete when paid in full. */
static int take(struct txn *t, const struct txn_tender *d)
{
    const struct txn_rec *cur = txn_current(t);
    struct txn_rec *r;
    struct txn_totals tot;
    int rc;
    if (cur == NULL || (cur->state != TXN_REGISTERING && cur->state != TXN_SUBTOTAL &&
                        cur->state != TXN_TENDERING))
        return fail(t, MAMORI_ERR_STATE, "nothing to pay");
    if (cur->n_tenders == TXN_TENDERS_MAX)
        return fail(t, MAMORI_ERR_LIMIT, "too many tenders");
    r = txn_begin_change(t);
    r->tenders[r->n_tenders] = *d;
    snprintf(r->tenders[r->n_tenders].cashier, TXN_ID_MAX, "%s", txn_cashier(t));
    r->n_tenders++;
    r->state = TXN_TENDERING;
    if ((rc = txn_rec_totals(r, txn_config(t)->rounding, txn_config(t)->points_per_100yen, &tot)))
        return fail(t, rc, "totals out of range");
    if ((!r->is_return && tot.due <= 0) || (r->is_return && tot.due >= 0))
        return complete(t, r, &tot);
    return txn_commit_change(t);
}

/* Checks every sale tender shares; *ret_due = amount still due (> 0). */
static int precheck(struct txn *t, int64_t *ret_due)
{
    const struct txn_rec *cur = txn_current(t);
    struct txn_totals tot;
    int rc;
    if (cur == NULL || cur->is_return)
        return fail(t, MAMORI_ERR_STATE, "nothing to pay");
    for (size_t i = 0; i < cur->n_lines; i++)
        if (!cur->lines[i].voided && cur->lines[i].age_restricted && !cur->age_confirmed)
            return fail(t, MAMORI_ERR_PERM, "age confirmation required before payment");
    if ((rc = txn_totals(t, &tot)))
        return fail(t, rc, "totals out of range");
    if (tot.due <= 0)
        return fail(t, MAMORI_ERR_STATE, "nothing due");
    *ret_due = tot.due;
    return 0;
}

int tender_cash(struct txn *t, int64_t received)
{
    struct txn_tender d;
    int64_t due;
    int rc;
    if ((rc = precheck(t, &due)))
        return rc;
    if (received < 1 || received > TAX_AMOUNT_MAX)
        return fail(t, MAMORI_ERR_INVAL, "amount out of range");
    /* Cash closes the sale (お預り): less than due is a keying error; split
     * payments take the other tenders first. */
    if (received < due)
        return fail(t, MAMORI_ERR_INVAL, "cash below the amount due");
    memset(&d, 0, sizeof(d));
    d.type = TENDER_CASH;
    snprintf(d.kind, sizeof(d.kind), "cash");
    d.amount = d.received = received;
    return take(t, &d);
}

/* Apply cash counted under key idem (once: a tender already carrying the key
 * is not added again). */
static int apply_deposit(struct txn *t, const char *idem, int64_t counted)
{
    const struct txn_rec *cur = txn_current(t);
    struct txn_tender d;
    if (cur == NULL)
        return MAMORI_ERR_STATE;
    for (size_t i = 0; i < cur->n_tenders; i++)
        if (strcmp(cur->tenders[i].idem, idem) == 0)
            return 0;
    memset(&d, 0, sizeof(d));
    d.type = TENDER_CASH;
    snprintf(d.kind, sizeof(d.kind), "cash");
    snprintf(d.idem, sizeof(d.idem), "%s", idem);
    d.amount = d.received = counted;
    return take(t, &d);
}

int tender_cash_deposit(struct txn *t)
{
    const struct txn_rec *cur;
    struct journal_cmd c;
    int64_t due;
    int rc;
    if ((rc = precheck(t, &due)))
        return rc;
    cur = txn_current(t);
    if (!posdev_has_changer(txn_devices(t)))
        return fail(t, MAMORI_ERR_OFFLINE, "no change machine: key the cash amount");
    if (cur->training)
        return tender_cash(t, due); /* training: the real machine is not touched */
    make_cmd(&c, cur, "deposit", "dep", (int)cur->n_tenders, due);
    rc = journal_cmd_intent(txn_journal(t), &c);
    if (rc == MAMORI_ERR_EXISTS) {
        /* A deposit left pending (the change machine did not answer, e.g.
         * detached): finish it under its own key; the machine replays it if
         * it already counted, so the cash is taken once. */
        struct journal_cmd old;
        if (journal_cmd_get(txn_journal(t), c.idem, &old) != 0 ||
            old.state != JOURNAL_CMD_INTENT || strcmp(old.kind, "deposit") != 0)
            return fail(t, MAMORI_ERR_STATE, "a deposit of this tender is already recorded");
        rc = 0;
    }
    if (rc)
        return fail(t, rc, "journal write failed; nothing changed");
    {
        /* send_cmd records the result; the tender is applied before marking
         * done would be ideal, but the device's memory makes a re-send after a
         * crash return the same count, and apply_deposit is keyed. */
        const struct pos_devices *d = txn_devices(t);
        int64_t counted = 0;
        for (int i = 0; i < TENDER_RETRIES; i++) {
            rc = d->changer_deposit(d->ctx, c.idem, due, &counted);
            if (rc != MAMORI_ERR_TIMEOUT && rc != MAMORI_ERR_OFFLINE)
                break;
        }
        if (rc)
            return fail(t, rc, "change machine not answering: deposit stays pending");
        if (counted < 1)
            return fail(t, MAMORI_ERR_INVAL, "nothing inserted");
        if ((rc = apply_deposit(t, c.idem, counted)))
            return rc;
        if (journal_cmd_done(txn_journal(t), c.idem, counted, true))
            return fail(t, MAMORI_ERR_DB, "journal write failed after a deposit");
    }
    return 0;
}

int tender_gift(struct txn *t, int64_t face, const char *cert_no)
{
    struct txn_tender d;
    int64_t due;
    int rc;
    if ((rc = precheck(t, &due)))
        return rc;
    if (face < 1 || face > 1000000)
        return fail(t, MAMORI_ERR_INVAL, "certificate value out of range");
    memset(&d, 0, sizeof(d));
    d.type = TENDER_GIFT;
    snprintf(d.kind, sizeof(d.kind), "gift");
    if (cert_no)
        snprintf(d.ref, sizeof(d.ref), "%s", cert_no);
    d.received = face;
    /* 商品券: change only where configured; otherwise the excess is forfeited. */
    d.amount = face > due && !txn_config(t)->gift_gives_change ? due : face;
    return take(t, &d);
}

int tender_coupon(struct txn *t, const char *code, int today)
{
    const struct txn_rec *cur;
    struct barcode bc;
    struct txn_tender d;
    struct txn_totals tot;
    int64_t due, value;
    int rc;
    if ((rc = precheck(t, &due)))
        return rc;
    if (code == NULL || barcode_parse(NULL, code, strlen(code), &bc) != 0 ||
        bc.kind != BARCODE_COUPON)
        return fail(t, MAMORI_ERR_INVAL, "not a coupon");
    if (today <= 0 || (uint32_t)today > bc.coupon_expiry)
        return fail(t, MAMORI_ERR_STATE, "coupon expired");
    cur = txn_current(t);
    for (size_t i = 0; i < cur->n_tenders; i++)
        if (cur->tenders[i].type == TENDER_COUPON && strcmp(cur->tenders[i].ref, bc.code) == 0)
            return fail(t, MAMORI_ERR_EXISTS, "coupon already used in this transaction");
    if ((rc = txn_totals(t, &tot)))
        return rc;
    value = bc.coupon_type == BARCODE_COUPON_PERCENT ? tot.total * bc.coupon_value / 100
                                                     : (int64_t)bc.coupon_value;
    if (value < 1)
        return fail(t, MAMORI_ERR_INVAL, "coupon worth nothing here");
    memset(&d, 0, sizeof(d));
    d.type = TENDER_COUPON;
    snprintf(d.kind, sizeof(d.kind), "coupon");
    snprintf(d.ref, sizeof(d.ref), "%s", bc.code);
    d.received = value;
    d.amount = value > due ? due : value; /* coupons give no change */
    return take(t, &d);
}

int tender_points(struct txn *t, int64_t points)
{
    const struct txn_rec *cur;
    struct txn_tender d;
    char member[TXN_MEMBER_MAX];
    uint8_t tag[JOURNAL_TAG_BYTES];
    int64_t due, balance = 0, used = 0;
    int rc;
    if ((rc = precheck(t, &due)))
        return rc;
    cur = txn_current(t);
    if (!cur->has_member)
        return fail(t, MAMORI_ERR_STATE, "scan the point card first");
    if (points < 1 || points > due)
        return fail(t, MAMORI_ERR_INVAL, "points must be 1 up to the amount due");
    if ((rc = member_open(t, cur, member)))
        return fail(t, rc, "member number unreadable");
    rc = member_tag(t, member, tag);
    sodium_memzero(member, sizeof(member));
    if (rc || (rc = journal_points(txn_journal(t), tag, &balance)))
        return fail(t, rc, "point balance unavailable");
    for (size_t i = 0; i < cur->n_tenders; i++)
        if (cur->tenders[i].type == TENDER_POINTS)
            used += cur->tenders[i].amount;
    if (points > balance - used)
        return fail(t, MAMORI_ERR_LIMIT, "not enough points");
    memset(&d, 0, sizeof(d));
    d.type = TENDER_POINTS;
    snprintf(d.kind, sizeof(d.kind), "points");
    snprintf(d.member_masked, sizeof(d.member_masked), "%s", cur->member_masked);
    d.amount = d.received = points;
    return take(t, &d);
}

int tender_external(struct txn *t, const char *kind, int64_t amount)
{
    const struct tender_kind *k;
    const struct txn_rec *cur;
    struct tender_auth au;
    struct txn_tender d;
    int64_t due;
    int rc;
    if ((rc = precheck(t, &due)))
        return rc;
    if (kind == NULL || (k = txn_find_kind(t, kind)) == NULL)
        return fail(t, MAMORI_ERR_NOTFOUND, "no such tender");
    if (amount < 1 || amount > due)
        return fail(t, MAMORI_ERR_INVAL, "amount must be 1 up to the amount due");
    cur = txn_current(t);
    memset(&au, 0, sizeof(au));
    if ((rc = k->authorize(k->ctx, cur->txn_no, amount, &au)))
        return fail(t, rc, rc == MAMORI_ERR_DECLINED ? "declined" : "authorization failed");
    memset(&d, 0, sizeof(d));
    d.type = TENDER_EXTERNAL;
    snprintf(d.kind, sizeof(d.kind), "%s", k->name);
    snprintf(d.ref, sizeof(d.ref), "%s", au.ref);
    d.amount = d.received = amount;
    if ((rc = take(t, &d))) {
        (void)k->refund(k->ctx, cur->txn_no, &au); /* not recorded: undo the authorization */
        return rc;
    }
    return 0;
}

int tender_refund_cash(struct txn *t)
{
    const struct txn_rec *cur = txn_current(t);
    struct txn_tender d;
    struct txn_totals tot;
    int rc;
    if (cur == NULL || !cur->is_return)
        return fail(t, MAMORI_ERR_STATE, "no return to refund");
    if ((rc = txn_totals(t, &tot)))
        return fail(t, rc, "totals out of range");
    if (tot.due >= 0)
        return fail(t, MAMORI_ERR_STATE, "nothing to refund");
    memset(&d, 0, sizeof(d));
    d.type = TENDER_CASH;
    snprintf(d.kind, sizeof(d.kind), "cash");
    d.amount = d.received = tot.due;
    return take(t, &d);
}

int tender_refund_external(struct txn *t, const char *kind)
{
    const struct txn_rec *cur = txn_current(t);
    const struct tender_kind *k;
    struct txn_rec *orig;
    struct txn_totals tot;
    struct tender_auth au;
    struct txn_tender d;
    int rc;
    if (cur == NULL || !cur->is_return)
        return fail(t, MAMORI_ERR_STATE, "no return to refund");
    if (kind == NULL || (k = txn_find_kind(t, kind)) == NULL)
        return fail(t, MAMORI_ERR_NOTFOUND, "no such tender");
    if ((rc = txn_totals(t, &tot)))
        return fail(t, rc, "totals out of range");
    if (tot.due >= 0)
        return fail(t, MAMORI_ERR_STATE, "nothing to refund");
    if ((orig = malloc(sizeof(*orig))) == NULL)
        return fail(t, MAMORI_ERR_NOMEM, "out of memory");
    if ((rc = journal_receipt_get(txn_journal(t), cur->orig_receipt, orig))) {
        free(orig);
        return fail(t, rc, "original receipt unreadable");
    }
    memset(&au, 0, sizeof(au));
    for (size_t i = 0; i < orig->n_tenders; i++)
        if (orig->tenders[i].type == TENDER_EXTERNAL && strcmp(orig->tenders[i].kind, kind) == 0) {
            snprintf(au.ref, sizeof(au.ref), "%s", orig->tenders[i].ref);
            au.amount = orig->tenders[i].amount;
            break;
        }
    free(orig);
    /* Never more back to the card than the card paid on that receipt. */
    if (au.ref[0] == '\0' || -tot.due > au.amount)
        return fail(t, MAMORI_ERR_LIMIT, "the original sale was not paid that much this way");
    au.amount = -tot.due;
    if ((rc = k->refund(k->ctx, cur->txn_no, &au)))
        return fail(t, rc, "refund refused");
    memset(&d, 0, sizeof(d));
    d.type = TENDER_EXTERNAL;
    snprintf(d.kind, sizeof(d.kind), "%s", k->name);
    snprintf(d.ref, sizeof(d.ref), "%s", au.ref);
    d.amount = d.received = tot.due;
    return take(t, &d);
}

int tender_pay_back(struct txn *t, const struct txn_rec *r, int i)
{
    struct journal_cmd c, old;
    int rc;
    make_cmd(&c, r, "dispense", "back", i, r->tenders[i].amount);
    rc = journal_cmd_intent(txn_journal(t), &c);
    if (rc == MAMORI_ERR_EXISTS && journal_cmd_get(txn_journal(t), c.idem, &old) == 0 &&
        old.state == JOURNAL_CMD_DONE)
        return 0;
    if (rc && rc != MAMORI_ERR_EXISTS)
        return fail(t, rc, "journal write failed; nothing changed");
    return send_cmd(t, &c);
}

int tender_recover(struct txn *t)
{
    struct journal_cmd *p;
    size_t n = 0;
    int rc;
    p = calloc(TENDER_PENDING_MAX, sizeof(*p));
    if (p == NULL)
        return MAMORI_ERR_NOMEM;
    rc = journal_cmd_pending(txn_journal(t), txn_config(t)->terminal, p, TENDER_PENDING_MAX, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct txn_rec *cur = txn_current(t);
        if (strcmp(p[i].kind, "deposit") == 0) {
            const struct pos_devices *d = txn_devices(t);
            int64_t counted = 0;
            rc = d->changer_deposit ? d->changer_deposit(d->ctx, p[i].idem, p[i].amount, &counted)
                                    : MAMORI_ERR_OFFLINE;
            if (rc)
                break;
            /* The deposit belongs to the open transaction: apply it (keyed). */
            if (cur != NULL && cur->txn_no == p[i].txn_no && counted > 0)
                rc = apply_deposit(t, p[i].idem, counted);
            if (rc == 0)
                rc = journal_cmd_done(txn_journal(t), p[i].idem, counted, true);
        } else {
            rc = send_cmd(t, &p[i]);
        }
    }
    free(p);
    return rc;
}
