/*
 * host.c: owns the payment host simulator's decisions and its database
 * (contract in host.h). Owns the BDK contexts and the token key (guarded
 * memory, loaded from the state directory); never writes a PAN, track data
 * or PIN anywhere: the database holds tokens and last-4 digits only.
 *
 * Order of checks for a card envelope (each failure is a decline with a
 * reason): BDK known -> KSN not seen before -> MAC verifies (only then is
 * the KSN recorded, so garbage cannot burn a device's future KSN) ->
 * decrypt -> track parses -> Luhn -> expiry -> PIN -> issuer rules.
 */
#include "payhost/host.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/secmem.h"
#include "crypto/dukpt.h"
#include "crypto/kcv.h"
#include "crypto/tr31.h"
#include "devices/cardcrypt.h"
#include "devices/track.h"
#include "mamori/err.h"
#include "payhost/issuer.h"
#include "payhost/request.h"

#define PATH_MAX_LEN 4096
#define KEYFILE_MAX 4096
#define TOKEN_KEY_LEN 32

struct bdk_entry {
    uint8_t id[4];
    struct dukpt_aes_host *dukpt;
};

struct payhost {
    struct bdk_entry bdks[PAYHOST_BDKS_MAX];
    size_t nbdks;
    uint8_t *token_key; /* secmem */
    struct issuer *issuer;
    sqlite3 *db;
    int year, month;
};

/* ---- files ---- */

static int read_small(const char *path, char *out, size_t max, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    size_t len = 0;
    if (fd < 0)
        return errno == ENOENT ? MAMORI_ERR_NOTFOUND : MAMORI_ERR_IO;
    for (;;) {
        ssize_t k = read(fd, out + len, max - len);
        if (k < 0) {
            close(fd);
            return MAMORI_ERR_IO;
        }
        if (k == 0)
            break;
        len += (size_t)k;
        if (len >= max) {
            close(fd);
            return MAMORI_ERR_TOOBIG;
        }
    }
    close(fd);
    out[len] = '\0';
    *ret_len = len;
    return 0;
}

static int write_new(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    size_t n = strlen(text);
    if (fd < 0)
        return errno == EEXIST ? MAMORI_ERR_EXISTS : MAMORI_ERR_IO;
    if (write(fd, text, n) != (ssize_t)n) {
        close(fd);
        return MAMORI_ERR_IO;
    }
    return close(fd) == 0 ? 0 : MAMORI_ERR_IO;
}

static int load_bdks(struct payhost *h, const char *dir)
{
    char path[PATH_MAX_LEN];
    char *text = secmem_new(KEYFILE_MAX + 1);
    size_t len;
    int r;
    if (text == NULL)
        return MAMORI_ERR_NOMEM;
    snprintf(path, sizeof(path), "%s/bdk.keys", dir);
    r = read_small(path, text, KEYFILE_MAX + 1, &len);
    if (r == MAMORI_ERR_NOTFOUND) {
        uint8_t k[16];
        char hexk[33];
        randombytes_buf(k, sizeof(k));
        hex_encode(hexk, sizeof(hexk), k, sizeof(k));
        snprintf(text, KEYFILE_MAX, "00000001 %s\n", hexk);
        secmem_wipe(k, sizeof(k));
        secmem_wipe(hexk, sizeof(hexk));
        if ((r = write_new(path, text)) != 0)
            goto out;
        r = read_small(path, text, KEYFILE_MAX + 1, &len);
    }
    if (r != 0)
        goto out;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *s2 = NULL, *id = strtok_r(line, " \t", &s2), *key = strtok_r(NULL, " \t", &s2);
        uint8_t idb[4], kb[32];
        size_t idn, kn;
        if (id == NULL || id[0] == '#')
            continue;
        if (key == NULL || strtok_r(NULL, " \t", &s2) != NULL || hex_decode(idb, sizeof(idb), id, &idn) != 0 ||
            idn != 4 || hex_decode(kb, sizeof(kb), key, &kn) != 0 || dukpt_aes_type_for_len(kn) < 0 ||
            h->nbdks >= PAYHOST_BDKS_MAX) {
            secmem_wipe(kb, sizeof(kb));
            r = MAMORI_ERR_CONFIG;
            goto out;
        }
        memcpy(h->bdks[h->nbdks].id, idb, 4);
        r = dukpt_aes_host_new(kb, kn, &h->bdks[h->nbdks].dukpt);
        secmem_wipe(kb, sizeof(kb));
        if (r != 0)
            goto out;
        h->nbdks++;
    }
    r = h->nbdks > 0 ? 0 : MAMORI_ERR_CONFIG;
out:
    secmem_free(text);
    return r;
}

static int load_token_key(struct payhost *h, const char *dir)
{
    char path[PATH_MAX_LEN], text[2 * TOKEN_KEY_LEN + 4];
    size_t len, n;
    int r;
    snprintf(path, sizeof(path), "%s/token.key", dir);
    r = read_small(path, text, sizeof(text), &len);
    if (r == MAMORI_ERR_NOTFOUND) {
        uint8_t k[TOKEN_KEY_LEN];
        randombytes_buf(k, sizeof(k));
        hex_encode(text, sizeof(text), k, sizeof(k));
        secmem_wipe(k, sizeof(k));
        strcat(text, "\n");
        if ((r = write_new(path, text)) != 0)
            goto out;
        r = read_small(path, text, sizeof(text), &len);
    }
    if (r != 0)
        goto out;
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        text[--len] = '\0';
    if ((h->token_key = secmem_new(TOKEN_KEY_LEN)) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    if (hex_decode(h->token_key, TOKEN_KEY_LEN, text, &n) != 0 || n != TOKEN_KEY_LEN)
        r = MAMORI_ERR_CONFIG;
out:
    secmem_wipe(text, sizeof(text));
    return r;
}

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS accounts(token TEXT PRIMARY KEY, spent INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS txns(id TEXT PRIMARY KEY, type TEXT NOT NULL, amount INTEGER NOT NULL,"
    " method TEXT NOT NULL, installments INTEGER NOT NULL, token TEXT, last4 TEXT, approval TEXT,"
    " status TEXT NOT NULL, original TEXT, refunded INTEGER NOT NULL DEFAULT 0, terminal TEXT,"
    " ksn TEXT, created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS ksn_seen(ksn TEXT PRIMARY KEY, at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS declines(id INTEGER PRIMARY KEY, reason TEXT NOT NULL, ksn TEXT,"
    " terminal TEXT, at INTEGER NOT NULL);";

int payhost_open(const struct payhost_config *cfg, struct payhost **ret)
{
    struct payhost *h;
    char path[PATH_MAX_LEN];
    int r, line = 0;
    if (cfg == NULL || cfg->state_dir == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = secmem_init()) != 0)
        return r;
    if ((h = calloc(1, sizeof(*h))) == NULL)
        return MAMORI_ERR_NOMEM;
    h->year = cfg->year;
    h->month = cfg->month;
    if ((r = load_bdks(h, cfg->state_dir)) != 0 || (r = load_token_key(h, cfg->state_dir)) != 0)
        goto fail;
    if (cfg->issuers_path != NULL)
        snprintf(path, sizeof(path), "%s", cfg->issuers_path);
    else
        snprintf(path, sizeof(path), "%s/issuers.txt", cfg->state_dir);
    if ((r = issuer_load(path, &h->issuer, &line)) != 0)
        goto fail;
    snprintf(path, sizeof(path), "%s/payhost.db", cfg->state_dir);
    if (sqlite3_open_v2(path, &h->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(h->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        r = MAMORI_ERR_DB;
        goto fail;
    }
    chmod(path, 0600);
    *ret = h;
    return 0;
fail:
    payhost_close(h);
    return r;
}

void payhost_close(struct payhost *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->nbdks; i++)
        dukpt_aes_host_free(h->bdks[i].dukpt);
    secmem_free(h->token_key);
    issuer_free(h->issuer);
    sqlite3_close(h->db);
    free(h);
}

/* ---- helpers ---- */

static struct dukpt_aes_host *bdk_for(struct payhost *h, const uint8_t ksn[static DUKPT_AES_KSN_LEN])
{
    for (size_t i = 0; i < h->nbdks; i++)
        if (memcmp(h->bdks[i].id, ksn, 4) == 0)
            return h->bdks[i].dukpt;
    return NULL;
}

static void ksn_hex(const uint8_t ksn[static DUKPT_AES_KSN_LEN], char out[static 2 * DUKPT_AES_KSN_LEN + 1])
{
    hex_encode(out, 2 * DUKPT_AES_KSN_LEN + 1, ksn, DUKPT_AES_KSN_LEN);
}

/* 1 if the KSN was used before, 0 if not, negative on error. */
static int ksn_seen(struct payhost *h, const char *ksn)
{
    sqlite3_stmt *st = NULL;
    int r = MAMORI_ERR_DB;
    if (sqlite3_prepare_v2(h->db, "SELECT 1 FROM ksn_seen WHERE ksn = ?", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, ksn, -1, SQLITE_STATIC) == SQLITE_OK) {
        int s = sqlite3_step(st);
        r = s == SQLITE_ROW ? 1 : s == SQLITE_DONE ? 0 : MAMORI_ERR_DB;
    }
    sqlite3_finalize(st);
    return r;
}

static int ksn_remember(struct payhost *h, const char *ksn)
{
    sqlite3_stmt *st = NULL;
    int r = MAMORI_ERR_DB;
    if (sqlite3_prepare_v2(h->db, "INSERT INTO ksn_seen(ksn, at) VALUES(?, ?)", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, ksn, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL)) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE)
        r = 0;
    sqlite3_finalize(st);
    return r;
}

static void token_of(struct payhost *h, const char *pan, char out[static PAYHOST_TOKEN_HEX + 1])
{
    uint8_t mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), h->token_key, TOKEN_KEY_LEN, (const unsigned char *)pan, strlen(pan), mac, &n);
    hex_encode(out, PAYHOST_TOKEN_HEX + 1, mac, sizeof(mac));
}

static int64_t spent_of(struct payhost *h, const char *token)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(h->db, "SELECT spent FROM accounts WHERE token = ?", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int add_spent(struct payhost *h, const char *token, int64_t delta)
{
    sqlite3_stmt *st = NULL;
    int r = MAMORI_ERR_DB;
    if (sqlite3_prepare_v2(h->db,
                           "INSERT INTO accounts(token, spent) VALUES(?1, ?2) "
                           "ON CONFLICT(token) DO UPDATE SET spent = spent + ?2",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_int64(st, 2, delta) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE)
        r = 0;
    sqlite3_finalize(st);
    return r;
}

static void record_decline(struct payhost *h, const char *reason, const char *ksn, const char *terminal)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h->db, "INSERT INTO declines(reason, ksn, terminal, at) VALUES(?, ?, ?, ?)", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, reason, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ksn, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, terminal, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
        (void)sqlite3_step(st);
    }
    sqlite3_finalize(st);
}

struct decision {
    const char *reason; /* NULL = approved */
    char token[PAYHOST_TOKEN_HEX + 1];
    char last4[5];
    char txn_id[17];
    char approval[7];
    const char *entry; /* "chip" / "swipe" from the card envelope (inside its MAC); NULL without a card */
};

static void today(struct payhost *h, int *y, int *m)
{
    if (h->year > 0) {
        *y = h->year;
        *m = h->month;
        return;
    }
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    *y = tm.tm_year + 1900;
    *m = tm.tm_mon + 1;
}

/* Open the card envelope and check the card; on success d->token/last4 are
 * set and pan_out holds the PAN (caller wipes). Returns a decline reason or NULL. */
static const char *open_card(struct payhost *h, const struct payhost_request *q, char *ksn_txt,
                             char pan_out[static TRACK_PAN_MAX + 1], struct decision *d)
{
    struct dukpt_aes_host *bdk = bdk_for(h, q->card.ksn);
    struct cardcrypt_tracks *t = NULL;
    struct track_data td;
    const char *why = NULL;
    int r, y, m;
    ksn_hex(q->card.ksn, ksn_txt);
    if (bdk == NULL)
        return "unknown_bdk";
    if (!dukpt_aes_counter_valid(dukpt_aes_ksn_counter(q->card.ksn)))
        return "bad_ksn";
    if ((r = ksn_seen(h, ksn_txt)) != 0)
        return r > 0 ? "replay" : "host_error";
    r = card_decrypt_tracks(bdk, &q->card, &t);
    if (r == MAMORI_ERR_AUTH)
        return "bad_mac";
    if (r != 0)
        return "bad_card_data";
    if (ksn_remember(h, ksn_txt) != 0) {
        why = "host_error";
        goto out;
    }
    r = t->n2 > 0 ? track2_parse(t->t2, t->n2, &td) : track1_parse(t->t1, t->n1, &td);
    if (r == MAMORI_ERR_CHECKSUM) {
        why = "invalid_pan";
        goto out;
    }
    if (r != 0) {
        why = "bad_track";
        goto out;
    }
    today(h, &y, &m);
    if (!track_expiry_ok(td.expiry, y, m)) {
        why = "expired_card";
        goto wipe;
    }
    memcpy(pan_out, td.pan, sizeof(td.pan));
    d->entry = t->entry == CARDCRYPT_ENTRY_CHIP ? "chip" : "swipe";
    token_of(h, td.pan, d->token);
    size_t n = strlen(td.pan);
    memcpy(d->last4, td.pan + n - 4, 5);
wipe:
    track_data_wipe(&td);
out:
    cardcrypt_tracks_free(t);
    return why;
}

static const char *check_pin(struct payhost *h, const struct payhost_request *q, const char *pan,
                             const struct issuer_card *ic)
{
    char ksn_txt[2 * DUKPT_AES_KSN_LEN + 1], pin[PINBLOCK_PIN_BUF], want[PINBLOCK_PIN_BUF];
    struct dukpt_aes_host *bdk = bdk_for(h, q->pin.ksn);
    const char *why = NULL;
    int r;
    ksn_hex(q->pin.ksn, ksn_txt);
    if (bdk == NULL)
        return "unknown_bdk";
    if (!dukpt_aes_counter_valid(dukpt_aes_ksn_counter(q->pin.ksn)))
        return "bad_ksn";
    if ((r = ksn_seen(h, ksn_txt)) != 0)
        return r > 0 ? "replay" : "host_error";
    r = card_decrypt_pin(bdk, &q->pin, pan, pin);
    /* The PIN block has no MAC: a block that does not decode is refused, and
     * its KSN is burnt so the same block cannot be tried again. */
    if (ksn_remember(h, ksn_txt) != 0)
        return "host_error";
    if (r != 0)
        return "bad_pin_block";
    memset(want, 0, sizeof(want));
    if (ic != NULL && ic->pin[0] != '\0')
        memcpy(want, ic->pin, strlen(ic->pin) + 1);
    else
        why = "no_pin_on_record";
    if (why == NULL) {
        char padded[PINBLOCK_PIN_BUF];
        memset(padded, 0, sizeof(padded));
        memcpy(padded, pin, strlen(pin) + 1);
        if (!secmem_eq(padded, want, sizeof(want)))
            why = "wrong_pin";
        secmem_wipe(padded, sizeof(padded));
    }
    secmem_wipe(pin, sizeof(pin));
    secmem_wipe(want, sizeof(want));
    return why;
}

static void random_digits(char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)('0' + randombytes_uniform(10));
    out[n] = '\0';
}

static void random_id(char out[static 17])
{
    uint8_t b[8];
    randombytes_buf(b, sizeof(b));
    hex_encode(out, 17, b, sizeof(b));
}

static int insert_txn(struct payhost *h, const struct payhost_request *q, struct decision *d, const char *ksn)
{
    sqlite3_stmt *st = NULL;
    int r = MAMORI_ERR_DB;
    if (sqlite3_prepare_v2(h->db,
                           "INSERT INTO txns(id, type, amount, method, installments, token, last4, approval,"
                           " status, original, terminal, ksn, created)"
                           " VALUES(?,?,?,?,?,?,?,?,'approved',?,?,?,?)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, d->txn_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, payhost_type_name(q->type), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, q->amount);
        sqlite3_bind_text(st, 4, payhost_method_name(q->method), -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, q->installments);
        sqlite3_bind_text(st, 6, d->token, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, d->last4, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, d->approval, -1, SQLITE_STATIC);
        if (q->original_txn[0])
            sqlite3_bind_text(st, 9, q->original_txn, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, q->terminal, -1, SQLITE_STATIC);
        if (ksn != NULL)
            sqlite3_bind_text(st, 11, ksn, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 12, (sqlite3_int64)time(NULL));
        if (sqlite3_step(st) == SQLITE_DONE)
            r = 0;
    }
    sqlite3_finalize(st);
    return r;
}

static const char *decide_sale(struct payhost *h, const struct payhost_request *q, struct decision *d,
                               char *ksn_txt)
{
    char pan[TRACK_PAN_MAX + 1] = "";
    const char *why = open_card(h, q, ksn_txt, pan, d);
    const struct issuer_card *ic = NULL;
    int64_t limit = 0;
    if (why != NULL)
        goto out;
    ic = issuer_find(h->issuer, pan);
    if (ic != NULL) {
        if (ic->status == ISSUER_BLOCKED) {
            why = "card_blocked";
            goto out;
        }
        if (ic->status == ISSUER_LOST) {
            why = "lost_card";
            goto out;
        }
        limit = ic->limit;
    } else {
        switch (issuer_range_rule(pan)) {
        case ISSUER_RANGE_APPROVE: limit = ISSUER_RANGE_LIMIT; break;
        case ISSUER_RANGE_DECLINE: why = "do_not_honor"; goto out;
        case ISSUER_RANGE_NSF: why = "insufficient_funds"; goto out;
        default: why = "unknown_card"; goto out;
        }
    }
    if (q->has_pin) {
        if ((why = check_pin(h, q, pan, ic)) != NULL)
            goto out;
    } else if (!q->signature) {
        why = "no_cardholder_verification";
        goto out;
    }
    if (q->amount > limit - spent_of(h, d->token)) {
        why = "insufficient_funds";
        goto out;
    }
    random_digits(d->approval, 6);
    random_id(d->txn_id);
    if (add_spent(h, d->token, q->amount) != 0 || insert_txn(h, q, d, ksn_txt) != 0)
        why = "host_error";
out:
    secmem_wipe(pan, sizeof(pan));
    return why;
}

/* Look up the original transaction; 0 and its fields, or a reason. */
static const char *find_original(struct payhost *h, const char *id, char *type, char *token, int64_t *amount,
                                 int64_t *refunded, char *status, char *last4)
{
    sqlite3_stmt *st = NULL;
    const char *why = "original_not_found";
    if (sqlite3_prepare_v2(h->db, "SELECT type, token, amount, refunded, status, last4 FROM txns WHERE id = ?",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(type, 16, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(token, PAYHOST_TOKEN_HEX + 1, "%s", (const char *)sqlite3_column_text(st, 1));
        *amount = sqlite3_column_int64(st, 2);
        *refunded = sqlite3_column_int64(st, 3);
        snprintf(status, 16, "%s", (const char *)sqlite3_column_text(st, 4));
        snprintf(last4, 5, "%s", (const char *)sqlite3_column_text(st, 5));
        why = NULL;
    }
    sqlite3_finalize(st);
    return why;
}

static int exec_update(struct payhost *h, const char *sql, int64_t v, const char *id)
{
    sqlite3_stmt *st = NULL;
    int r = MAMORI_ERR_DB;
    if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_bind_int64(st, 1, v) == SQLITE_OK &&
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE)
        r = 0;
    sqlite3_finalize(st);
    return r;
}

static const char *decide_refund(struct payhost *h, const struct payhost_request *q, struct decision *d,
                                 char *ksn_txt)
{
    char type[16], token[PAYHOST_TOKEN_HEX + 1], status[16], last4[5], pan[TRACK_PAN_MAX + 1] = "";
    int64_t amount, refunded;
    const char *why = find_original(h, q->original_txn, type, token, &amount, &refunded, status, last4);
    if (why != NULL)
        return why;
    if (strcmp(type, "sale") != 0 || strcmp(status, "approved") != 0)
        return "original_not_refundable";
    if (q->has_card) {
        if ((why = open_card(h, q, ksn_txt, pan, d)) != NULL) {
            secmem_wipe(pan, sizeof(pan));
            return why;
        }
        secmem_wipe(pan, sizeof(pan));
    } else {
        memcpy(d->token, q->token, sizeof(d->token));
        memcpy(d->last4, last4, sizeof(d->last4));
    }
    if (!secmem_eq(d->token, token, PAYHOST_TOKEN_HEX))
        return "token_mismatch";
    if (q->amount > amount - refunded)
        return "refund_exceeds_sale";
    random_digits(d->approval, 6);
    random_id(d->txn_id);
    if (exec_update(h, "UPDATE txns SET refunded = refunded + ?1 WHERE id = ?2", q->amount, q->original_txn) != 0 ||
        add_spent(h, d->token, -q->amount) != 0 || insert_txn(h, q, d, q->has_card ? ksn_txt : NULL) != 0)
        return "host_error";
    return NULL;
}

static const char *decide_void(struct payhost *h, const struct payhost_request *q, struct decision *d)
{
    char type[16], token[PAYHOST_TOKEN_HEX + 1], status[16], last4[5];
    int64_t amount, refunded;
    const char *why = find_original(h, q->original_txn, type, token, &amount, &refunded, status, last4);
    if (why != NULL)
        return why;
    /* Only an approved sale with nothing refunded can be voided. */
    if (strcmp(status, "approved") != 0 || strcmp(type, "sale") != 0 || refunded != 0)
        return "original_not_voidable";
    memcpy(d->token, token, sizeof(d->token));
    memcpy(d->last4, last4, sizeof(d->last4));
    int64_t back = -amount;
    random_digits(d->approval, 6);
    random_id(d->txn_id);
    if (exec_update(h, "UPDATE txns SET status = 'voided', refunded = refunded + ?1 WHERE id = ?2", 0,
                    q->original_txn) != 0 ||
        add_spent(h, token, back) != 0 || insert_txn(h, q, d, NULL) != 0)
        return "host_error";
    return NULL;
}

static int respond(struct buf *out, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    int r;
    json_decref(o);
    if (s == NULL)
        return MAMORI_ERR_NOMEM;
    r = buf_put_bytes(out, s, strlen(s) + 1);
    free(s);
    return r;
}

int payhost_handle(struct payhost *h, const char *body, size_t len, struct buf *out, int *ret_status,
                   const char **ret_reason)
{
    struct payhost_request *q = NULL;
    struct decision d;
    char ksn_txt[2 * DUKPT_AES_KSN_LEN + 1] = "";
    const char *why;
    int r;
    if (h == NULL || out == NULL || ret_status == NULL || ret_reason == NULL)
        return MAMORI_ERR_INVAL;
    memset(&d, 0, sizeof(d));
    /* The request holds encrypted card data only, but keep it in guarded memory anyway. */
    if ((q = secmem_new(sizeof(*q))) == NULL)
        return MAMORI_ERR_NOMEM;
    if (body == NULL || payhost_request_parse(body, len, q) != 0) {
        secmem_free(q);
        *ret_status = 400;
        *ret_reason = "bad_request";
        return respond(out, json_pack("{s:s,s:s}", "result", "error", "reason", "bad_request"));
    }
    sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    switch (q->type) {
    case PAYHOST_SALE: why = decide_sale(h, q, &d, ksn_txt); break;
    case PAYHOST_REFUND: why = decide_refund(h, q, &d, ksn_txt); break;
    default: why = decide_void(h, q, &d); break;
    }
    if (why != NULL)
        record_decline(h, why, ksn_txt[0] ? ksn_txt : NULL, q->terminal);
    sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
    *ret_status = 200;
    *ret_reason = why != NULL ? why : "";
    if (why != NULL)
        r = respond(out, json_pack("{s:s,s:s}", "result", "declined", "reason", why));
    else {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:I}", "result", "approved", "type",
                              payhost_type_name(q->type), "txn_id", d.txn_id, "approval_code", d.approval, "token",
                              d.token, "last4", d.last4, "method", payhost_method_name(q->method), "installments",
                              q->installments, "amount", (json_int_t)q->amount);
        if (o != NULL && d.entry != NULL && json_object_set_new(o, "entry", json_string(d.entry)) != 0) {
            json_decref(o);
            o = NULL;
        }
        r = o != NULL ? respond(out, o) : MAMORI_ERR_NOMEM;
    }
    secmem_free(q);
    secmem_wipe(&d, sizeof(d));
    return r;
}

/* ---- key injection facility ---- */

int payhost_issue_initial_key(struct payhost *h, const uint8_t ikid[static 8], const uint8_t *kbpk, size_t kbpk_len,
                              char **ret_kb, char ret_kcv[static 7])
{
    uint8_t ksn[DUKPT_AES_KSN_LEN] = {0};
    struct tr31_header th;
    struct dukpt_aes_host *bdk;
    uint8_t *ik = NULL;
    char kcv[7], *kb = NULL;
    size_t ik_len;
    int r;
    if (h == NULL || ikid == NULL || kbpk == NULL || ret_kb == NULL || ret_kcv == NULL ||
        (kbpk_len != 16 && kbpk_len != 24 && kbpk_len != 32))
        return MAMORI_ERR_INVAL;
    memcpy(ksn, ikid, 8);
    if ((bdk = bdk_for(h, ksn)) == NULL)
        return MAMORI_ERR_NOTFOUND;
    ik_len = dukpt_aes_host_key_len(bdk);
    if ((ik = secmem_new(DUKPT_AES_KEY_MAX)) == NULL)
        return MAMORI_ERR_NOMEM;
    if ((r = dukpt_aes_host_initial_key(bdk, ikid, ik)) != 0 ||
        (r = kcv_hex(SYMM_AES, ik, ik_len, KCV_LEN, kcv, sizeof(kcv))) != 0)
        goto out;
    memset(&th, 0, sizeof(th));
    memcpy(th.usage, "B1", 3); /* initial DUKPT key */
    th.algorithm = 'A';
    th.mode = 'X';
    memcpy(th.key_version, "00", 3);
    th.exportability = 'N';
    if ((r = tr31_wrap_d(kbpk, kbpk_len, &th, ik, ik_len, &kb)) != 0)
        goto out;
    *ret_kb = kb;
    memcpy(ret_kcv, kcv, sizeof(kcv));
out:
    secmem_free(ik);
    return r;
}
