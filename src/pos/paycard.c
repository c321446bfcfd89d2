/*
 * paycard.c: owns the register's card and e-money tenders (see paycard.h):
 * the card devices' handles (PIN pad, MSR, IC reader, signature pad) on the
 * UPOS device API, the waits for the shopper, the HTTPS client of the
 * payment host (libcurl, pinned certificate) and pay.db, the payment store
 * with its masked-only rule. It never holds clear card data: what it gets
 * from the devices is ciphertext, KSNs, MACs and masked PANs.
 */
#include "pos/paycard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "bus/devapi.h"
#include "bus/msgjson.h"
#include "bus/registry.h"
#include "common/buf.h"
#include "common/evloop.h"
#include "common/hex.h"
#include "common/secmem.h"
#include "devices/devbody.h"
#include "devices/emrec.h"
#include "mamori/err.h"

#define PC_KSN 12
#define PC_CT_MAX 256
#define PC_MAC 16
#define PC_PINBLOCK 16
#define PC_URL_MAX 256
#define PAYCARD_TICK_MS 250 /* re-open / re-enable period */

enum { D_PINPAD, D_MSR, D_ICREADER, D_SIGPAD, D_COUNT };
static const char *const dev_kind[D_COUNT] = {"pinpad", "msr", "icreader", "sigpad"};

/* A card record as the devices send it: ciphertext only. */
struct pc_card {
    bool have;
    char masked[PAYCARD_MASKED_MAX];
    uint8_t ksn[PC_KSN], ct[PC_CT_MAX], mac[PC_MAC];
    size_t ct_len;
};

struct paycard {
    struct evloop *l;
    struct devapi *api;
    struct audit *audit;
    struct paystore *store;
    struct registry *reg; /* pinned device keys (e-money records) */
    char url[PC_URL_MAX], cert[PC_URL_MAX], terminal[32], pin_sha[64];
    char *cert_pem; /* the host's certificate, read once before terminald restricts itself */
    size_t cert_len;
    int input_ms, request_ms, http_ms;
    struct devapi_dev *h[D_COUNT];
    struct tender_kind card, emoney;
    /* options of the next authorization */
    char cvm[12], method[16], source[12];
    int count;
    /* inputs from the devices */
    struct pc_card swiped;        /* last msr.data */
    bool pin_done;                /* pinpad.data came */
    int64_t pin_status;
    struct pc_card pin_card;
    uint8_t pin_ksn[PC_KSN], pin_block[PC_PINBLOCK];
    bool sig_done;
    json_t *sig_points;
    char reason[48];
    int64_t emoney_seq;
    uint64_t tick;
};

/* ------------------------------------------------------------- masking */

bool paycard_has_pan_run(const char *s)
{
    size_t run = 0;
    for (; s != NULL && *s; s++) {
        run = (*s >= '0' && *s <= '9') ? run + 1 : 0;
        if (run >= PAYCARD_PAN_RUN)
            return true;
    }
    return false;
}

int paycard_masked_from(const char *s, struct paycard_masked *ret)
{
    size_t n, lead = 0, stars = 0, tail = 0;
    if (s == NULL || ret == NULL || (n = strlen(s)) == 0 || n >= PAYCARD_MASKED_MAX)
        return MAMORI_ERR_INVAL;
    while (lead < n && s[lead] >= '0' && s[lead] <= '9')
        lead++;
    while (lead + stars < n && s[lead + stars] == '*')
        stars++;
    while (lead + stars + tail < n && s[lead + stars + tail] >= '0' && s[lead + stars + tail] <= '9')
        tail++;
    if (lead + stars + tail != n)
        return MAMORI_ERR_INVAL;
    if (lead > 6 || tail > 4 || stars == 0 || paycard_has_pan_run(s))
        return MAMORI_ERR_PERM; /* more than first 6 / last 4 in clear: card data */
    if (n < 13)
        return MAMORI_ERR_INVAL;
    memcpy(ret->v, s, n + 1);
    return 0;
}

/* ------------------------------------------------------------- pay.db */

struct paystore {
    sqlite3 *db;
};

int paystore_open(const char *path, struct paystore **ret)
{
    struct paystore *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return MAMORI_ERR_NOMEM;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
        sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL;"
                     "CREATE TABLE IF NOT EXISTS payments(id INTEGER PRIMARY KEY, txn_no INTEGER NOT NULL,"
                     " kind TEXT NOT NULL, amount INTEGER NOT NULL, host_txn TEXT NOT NULL, approval TEXT NOT NULL,"
                     " token TEXT NOT NULL, masked_pan TEXT NOT NULL, last4 TEXT NOT NULL, method TEXT NOT NULL,"
                     " installments INTEGER NOT NULL, cvm TEXT NOT NULL, extra TEXT)",
                     NULL, NULL, NULL) != SQLITE_OK) {
        paystore_close(s);
        return MAMORI_ERR_DB;
    }
    *ret = s;
    return 0;
}

void paystore_close(struct paystore *s)
{
    if (s == NULL)
        return;
    sqlite3_close(s->db);
    free(s);
}

int paystore_put(struct paystore *s, const struct paycard_payment *p)
{
    sqlite3_stmt *st = NULL;
    char *extra = NULL;
    int r = MAMORI_ERR_DB;
    if (s == NULL || p == NULL)
        return MAMORI_ERR_INVAL;
    if (p->extra != NULL && (extra = json_dumps(p->extra, JSON_COMPACT)) == NULL)
        return MAMORI_ERR_NOMEM;
    /* host ids and tokens are the host's hex (a keyed hash, never the PAN):
     * checked for their shape; every free text is checked for a PAN */
    if (strspn(p->token, "0123456789abcdef") != strlen(p->token) ||
        (p->token[0] != '\0' && strlen(p->token) != 64) || strlen(p->host_txn) > 20 ||
        strspn(p->host_txn, "0123456789abcdefE") != strlen(p->host_txn)) {
        free(extra);
        return MAMORI_ERR_INVAL;
    }
    const char *texts[] = {p->kind, p->approval, p->pan.v, p->last4, p->method, p->cvm, extra};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (paycard_has_pan_run(texts[i])) {
            free(extra);
            return MAMORI_ERR_PERM; /* a clear card number never reaches the store */
        }
    if (extra != NULL && strlen(extra) > PAYCARD_EXTRA_MAX) {
        free(extra);
        return MAMORI_ERR_TOOBIG;
    }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO payments(txn_no, kind, amount, host_txn, approval, token, masked_pan, last4,"
                           " method, installments, cvm, extra) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_int64(st, 1, p->txn_no) == SQLITE_OK &&
        sqlite3_bind_text(st, 2, p->kind, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_int64(st, 3, p->amount) == SQLITE_OK &&
        sqlite3_bind_text(st, 4, p->host_txn, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 5, p->approval, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 6, p->token, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 7, p->pan.v, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 8, p->last4, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 9, p->method, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_int(st, 10, p->installments) == SQLITE_OK &&
        sqlite3_bind_text(st, 11, p->cvm, -1, SQLITE_STATIC) == SQLITE_OK &&
        (extra ? sqlite3_bind_text(st, 12, extra, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 12)) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_DONE)
        r = 0;
    sqlite3_finalize(st);
    free(extra);
    return r;
}

static void col(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const char *v = (const char *)sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", v ? v : "");
}

int paystore_find(struct paystore *s, const char *host_txn, struct paycard_payment *ret)
{
    sqlite3_stmt *st = NULL;
    struct paycard_payment p;
    int r = MAMORI_ERR_DB;
    if (s == NULL || host_txn == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    memset(&p, 0, sizeof(p));
    if (sqlite3_prepare_v2(s->db,
                           "SELECT txn_no, kind, amount, host_txn, approval, token, last4, method, installments, cvm,"
                           " masked_pan FROM payments WHERE host_txn = ? AND kind = 'card' ORDER BY id LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, host_txn, -1, SQLITE_STATIC) != SQLITE_OK)
        goto out;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        r = MAMORI_ERR_NOTFOUND;
        goto out;
    }
    if (rc != SQLITE_ROW)
        goto out;
    p.txn_no = sqlite3_column_int64(st, 0);
    col(st, 1, p.kind, sizeof(p.kind));
    p.amount = sqlite3_column_int64(st, 2);
    col(st, 3, p.host_txn, sizeof(p.host_txn));
    col(st, 4, p.approval, sizeof(p.approval));
    col(st, 5, p.token, sizeof(p.token));
    col(st, 6, p.last4, sizeof(p.last4));
    col(st, 7, p.method, sizeof(p.method));
    p.installments = sqlite3_column_int(st, 8);
    col(st, 9, p.cvm, sizeof(p.cvm));
    col(st, 10, p.pan.v, sizeof(p.pan.v));
    *ret = p;
    r = 0;
out:
    sqlite3_finalize(st);
    return r;
}

/* ------------------------------------------------------------- references */

int paycard_ref_parse(const char *ref, char host_txn[static 24], char approval[static 8], char last4[static 5],
                      char method[static 16])
{
    char h[24], a[8], l4[5], m[16];
    if (ref == NULL || sscanf(ref, "%23s %7s %4s %15s", h, a, l4, m) != 4)
        return MAMORI_ERR_INVAL;
    strcpy(host_txn, h);
    strcpy(approval, a);
    strcpy(last4, l4);
    strcpy(method, m);
    return 0;
}

const char *paycard_ref_entry_ja(const char *ref)
{
    char h[24], a[8], l4[5], m[16], e[8];
    if (ref == NULL || sscanf(ref, "%23s %7s %4s %15s %7s", h, a, l4, m, e) != 5)
        return NULL;
    return strcmp(e, "chip") == 0 ? "IC" : strcmp(e, "swipe") == 0 ? "磁気" : NULL;
}

const char *paycard_method_ja(const char *m)
{
    if (m == NULL)
        return "";
    if (strncmp(m, "installments", 12) == 0)
        return "分割";
    if (strcmp(m, "revolving") == 0)
        return "リボ";
    if (strcmp(m, "bonus") == 0)
        return "ボーナス";
    if (strcmp(m, "lump") == 0)
        return "一括";
    return "";
}

/* ------------------------------------------------------------- devices */

static int card_from(const cbor_item_t *m, struct pc_card *c)
{
    const uint8_t *p;
    size_t n;
    struct pc_card x = {0};
    if (devbody_get_str(m, "masked_pan", x.masked, sizeof(x.masked)) != 0 ||
        devbody_get_bytes(m, "ksn", PC_KSN, &p, &n) != 0 || n != PC_KSN)
        return MAMORI_ERR_PROTO;
    memcpy(x.ksn, p, n);
    if (devbody_get_bytes(m, "ct", PC_CT_MAX, &p, &n) != 0 || n == 0)
        return MAMORI_ERR_PROTO;
    memcpy(x.ct, p, n);
    x.ct_len = n;
    if (devbody_get_bytes(m, "mac", PC_MAC, &p, &n) != 0 || n != PC_MAC)
        return MAMORI_ERR_PROTO;
    memcpy(x.mac, p, n);
    x.have = true;
    *c = x;
    return 0;
}

static void on_data(void *ctx, struct devapi_dev *d, const char *type, const cbor_item_t *body)
{
    struct paycard *p = ctx;
    const uint8_t *b;
    size_t n;
    (void)devapi_set_data_event_enabled(d, true);
    if (strcmp(type, "msr.data") == 0) {
        (void)card_from(body, &p->swiped);
    } else if (strcmp(type, "pinpad.data") == 0) {
        int64_t st = 0;
        p->pin_done = true;
        p->pin_card.have = false;
        if (devbody_get_int(body, "status", 0, 10, &st) != 0)
            st = 0;
        p->pin_status = st;
        if (st == 1 && devbody_get_bytes(body, "ksn", PC_KSN, &b, &n) == 0 && n == PC_KSN) {
            memcpy(p->pin_ksn, b, n);
            if (devbody_get_bytes(body, "block", PC_PINBLOCK, &b, &n) == 0 && n == PC_PINBLOCK) {
                memcpy(p->pin_block, b, n);
                if (card_from(devbody_find(body, "card"), &p->pin_card) != 0)
                    p->pin_status = 0;
            } else
                p->pin_status = 0;
        } else if (st == 1)
            p->pin_status = 0;
    } else if (strcmp(type, "sigpad.data") == 0) {
        json_t *j = msgjson_from_cbor(devbody_find(body, "points"));
        json_decref(p->sig_points);
        p->sig_points = j;
        p->sig_done = true;
    }
}

/* A tampered PIN pad (keys erased by the device) is a security event. */
static void on_status(void *ctx, struct devapi_dev *d, int status, const char *type, const cbor_item_t *body)
{
    struct paycard *p = ctx;
    bool tampered = false;
    (void)d;
    (void)status;
    if (type != NULL && strcmp(type, "pinpad.status") == 0 && devbody_get_bool(body, "tampered", &tampered) == 0 &&
        tampered && p->audit != NULL) {
        struct audit_actor a = {.process = "register"};
        (void)audit_event(p->audit, &a, "pay.pinpad.tamper", F_STR("kind", "pinpad"),
                          F_STR("effect", "keys erased; PIN entry refused until re-injection"));
    }
}

static struct devapi_dev *ensure(struct paycard *p, int k)
{
    struct devapi_listener l = {.ctx = p, .data = on_data, .status = on_status};
    struct devapi_dev *d = p->h[k];
    if (d == NULL) {
        if (devapi_open(p->api, dev_kind[k], &l, &d) != OPOS_SUCCESS)
            return NULL;
        p->h[k] = d;
    }
    if (devapi_power_state(d) == OPOS_PS_OFF_OFFLINE)
        return NULL;
    if (!devapi_claimed(d) && devapi_claim(d, 0) != OPOS_SUCCESS)
        return NULL;
    if (!devapi_enabled(d) && devapi_set_enabled(d, true) != OPOS_SUCCESS)
        return NULL;
    if (!devapi_data_event_enabled(d))
        (void)devapi_set_data_event_enabled(d, true);
    return d;
}

static int dev_req(struct paycard *p, int k, const char *type, cbor_item_t *body, cbor_item_t **ret_reply)
{
    struct devapi_dev *d = ensure(p, k);
    int rc, e;
    if (d == NULL) {
        if (body)
            cbor_decref(&body);
        return MAMORI_ERR_OFFLINE;
    }
    rc = devapi_request(d, type, body, p->request_ms, ret_reply);
    if (rc == OPOS_SUCCESS)
        return 0;
    e = devapi_error(d);
    return e < 0 ? e : MAMORI_ERR_OFFLINE;
}

/* Keep the card devices open, claimed and enabled as they attach, so a swipe
 * made before the tender is not lost. */
static void on_tick(struct evloop *l, void *ctx)
{
    struct paycard *p = ctx;
    for (int k = 0; k < D_COUNT; k++)
        (void)ensure(p, k);
    (void)evloop_timer(l, PAYCARD_TICK_MS, on_tick, p, &p->tick);
}

/* Run the loop until *flag or the shopper's time is up. */
static int wait_flag(struct paycard *p, const bool *flag)
{
    int64_t deadline = evloop_now_ms() + p->input_ms;
    while (!*flag && evloop_now_ms() < deadline)
        if (evloop_run_once(p->l, 50) < 0)
            break;
    return *flag ? 0 : MAMORI_ERR_TIMEOUT;
}

/* ------------------------------------------------------------- host */

struct membuf {
    char d[PAYCARD_HTTP_MAX + 1];
    size_t n;
    bool over;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    struct membuf *m = ctx;
    size_t n = size * nmemb;
    if (n > PAYCARD_HTTP_MAX - m->n) {
        m->over = true;
        return 0;
    }
    memcpy(m->d + m->n, ptr, n);
    m->n += n;
    m->d[m->n] = '\0';
    return n;
}

/* "sha256//BASE64" of the certificate's public key, for CURLOPT_PINNEDPUBLICKEY. */
static int pin_of(const char *cert_path, char out[static 64])
{
    FILE *f = fopen(cert_path, "re");
    X509 *x = NULL;
    unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH], b64[48];
    int n, r = MAMORI_ERR_CONFIG;
    if (f == NULL)
        return MAMORI_ERR_CONFIG;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (x == NULL || (n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) <= 0)
        goto out;
    SHA256(der, (size_t)n, md);
    if (EVP_EncodeBlock(b64, md, sizeof(md)) <= 0)
        goto out;
    snprintf(out, 64, "sha256//%s", (const char *)b64);
    r = 0;
out:
    OPENSSL_free(der);
    X509_free(x);
    return r;
}

#define PAYCARD_CERT_MAX 16384 /* bytes of the host's PEM certificate */

static int read_cert(struct paycard *p)
{
    FILE *f = fopen(p->cert, "re");
    size_t n;
    if (f == NULL)
        return MAMORI_ERR_CONFIG;
    if ((p->cert_pem = malloc(PAYCARD_CERT_MAX)) == NULL) {
        fclose(f);
        return MAMORI_ERR_NOMEM;
    }
    n = fread(p->cert_pem, 1, PAYCARD_CERT_MAX, f);
    fclose(f);
    if (n == 0 || n == PAYCARD_CERT_MAX)
        return MAMORI_ERR_CONFIG;
    p->cert_len = n;
    return 0;
}

/* POST req to the host; *ret the parsed JSON response. */
static int host_call(struct paycard *p, json_t *req, json_t **ret)
{
    char *body = json_dumps(req, JSON_COMPACT);
    struct membuf *m = calloc(1, sizeof(*m));
    struct curl_slist *hdr = NULL;
    CURL *c = NULL;
    struct curl_blob blob = {.data = p->cert_pem, .len = p->cert_len, .flags = CURL_BLOB_COPY};
    long status = 0;
    int r = MAMORI_ERR_OFFLINE;
    if (body == NULL || m == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    if ((c = curl_easy_init()) == NULL || (hdr = curl_slist_append(NULL, "Content-Type: application/json")) == NULL)
        goto out;
    if (curl_easy_setopt(c, CURLOPT_URL, p->url) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, p->pin_sha) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)p->http_ms) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, m) != CURLE_OK)
        goto out;
    if (curl_easy_perform(c) != CURLE_OK) {
        r = m->over ? MAMORI_ERR_TOOBIG : MAMORI_ERR_OFFLINE;
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    json_t *j = json_loads(m->d, 0, NULL);
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        r = MAMORI_ERR_PROTO;
        goto out;
    }
    *ret = j;
    r = 0;
out:
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    free(m);
    free(body);
    return r;
}

static json_t *hexval(const uint8_t *p, size_t n)
{
    char h[2 * PC_CT_MAX + 1];
    if (hex_encode(h, sizeof(h), p, n) != 0)
        return NULL;
    return json_string(h);
}

static json_t *card_json(const struct pc_card *c)
{
    return json_pack("{s:o,s:o,s:o}", "ksn", hexval(c->ksn, PC_KSN), "ct", hexval(c->ct, c->ct_len), "mac",
                     hexval(c->mac, PC_MAC));
}

static void set_reason(struct paycard *p, const char *why)
{
    snprintf(p->reason, sizeof(p->reason), "%s", why ? why : "");
}

/* Approved -> payment record + tender reference; declined -> DECLINED
 * (reason written); anything else -> PROTO. */
static int answer_core(json_t *resp, struct paycard_payment *pay, char ref[static TENDER_REF_MAX], char *reason,
                       size_t reason_cap)
{
    const char *res = json_string_value(json_object_get(resp, "result"));
    const char *id = json_string_value(json_object_get(resp, "txn_id"));
    const char *ap = json_string_value(json_object_get(resp, "approval_code"));
    const char *tok = json_string_value(json_object_get(resp, "token"));
    const char *l4 = json_string_value(json_object_get(resp, "last4"));
    const char *entry = json_string_value(json_object_get(resp, "entry"));
    if (res == NULL || strcmp(res, "approved") != 0) {
        const char *why = json_string_value(json_object_get(resp, "reason"));
        snprintf(reason, reason_cap, "%s", why && strspn(why, "abcdefghijklmnopqrstuvwxyz_") == strlen(why) ? why
                                                                                                       : "declined");
        return res != NULL && strcmp(res, "declined") == 0 ? MAMORI_ERR_DECLINED : MAMORI_ERR_PROTO;
    }
    if (id == NULL || ap == NULL || strlen(id) >= sizeof(pay->host_txn) || strlen(ap) >= sizeof(pay->approval) ||
        strspn(id, "0123456789abcdef") != strlen(id) || strspn(ap, "0123456789") != strlen(ap) ||
        (tok && strlen(tok) >= sizeof(pay->token)) || (l4 && (strlen(l4) != 4 || strspn(l4, "0123456789") != 4)) ||
        (entry && strcmp(entry, "chip") != 0 && strcmp(entry, "swipe") != 0))
        return MAMORI_ERR_PROTO;
    snprintf(pay->entry, sizeof(pay->entry), "%s", entry ? entry : "");
    strcpy(pay->host_txn, id);
    strcpy(pay->approval, ap);
    snprintf(pay->token, sizeof(pay->token), "%s", tok ? tok : "");
    snprintf(pay->last4, sizeof(pay->last4), "%s", l4 ? l4 : "");
    int n = snprintf(ref, TENDER_REF_MAX, "%s %s %s %s%s%s", pay->host_txn, pay->approval,
                     pay->last4[0] ? pay->last4 : "----", pay->method[0] ? pay->method : "lump",
                     pay->entry[0] ? " " : "", pay->entry);
    if (n < 0 || n >= TENDER_REF_MAX)
        return MAMORI_ERR_TOOBIG;
    snprintf(reason, reason_cap, "%s", "");
    return 0;
}

int paycard_parse_answer(const char *body, size_t len, struct paycard_payment *pay, char ref[static TENDER_REF_MAX],
                         char *reason, size_t reason_cap)
{
    json_t *j;
    int r;
    if (body == NULL || pay == NULL || ref == NULL || reason == NULL || reason_cap == 0 || len > PAYCARD_HTTP_MAX)
        return MAMORI_ERR_INVAL;
    if ((j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) == NULL || !json_is_object(j)) {
        json_decref(j);
        return MAMORI_ERR_PROTO;
    }
    r = answer_core(j, pay, ref, reason, reason_cap);
    json_decref(j);
    return r;
}

static int approved(struct paycard *p, json_t *resp, struct paycard_payment *pay, char ref[static TENDER_REF_MAX])
{
    return answer_core(resp, pay, ref, p->reason, sizeof(p->reason));
}

static json_t *method_json(const struct paycard *p)
{
    if (strcmp(p->method, "installments") == 0)
        return json_pack("{s:s,s:i}", "kind", p->method, "count", p->count);
    return json_pack("{s:s}", "kind", p->method);
}

static void reset_options(struct paycard *p)
{
    strcpy(p->cvm, "pin");
    strcpy(p->method, "lump");
    p->source[0] = '\0';
    p->count = 0;
}

/* The card for a signature sale: the last swipe, or the chip. */
static int card_for_signature(struct paycard *p, struct pc_card *ret)
{
    if (strcmp(p->source, "ic") == 0) {
        cbor_item_t *reply = NULL;
        int r = dev_req(p, D_ICREADER, "icreader.read", NULL, &reply);
        if (r == 0) {
            r = card_from(reply, ret);
            cbor_decref(&reply);
        }
        return r;
    }
    if (!p->swiped.have)
        (void)wait_flag(p, &p->swiped.have);
    if (!p->swiped.have)
        return MAMORI_ERR_TIMEOUT;
    *ret = p->swiped;
    memset(&p->swiped, 0, sizeof(p->swiped)); /* one swipe, one sale */
    return 0;
}

static int card_authorize(void *ctx, int64_t txn_no, int64_t amount, struct tender_auth *ret)
{
    struct paycard *p = ctx;
    struct paycard_payment pay;
    struct pc_card card;
    json_t *req = NULL, *resp = NULL;
    char ref[TENDER_REF_MAX];
    int r;
    memset(&pay, 0, sizeof(pay));
    memset(&card, 0, sizeof(card));
    pay.txn_no = txn_no;
    strcpy(pay.kind, "card");
    pay.amount = amount;
    snprintf(pay.method, sizeof(pay.method), "%s", p->method);
    pay.installments = strcmp(p->method, "installments") == 0 ? p->count : 0;
    snprintf(pay.cvm, sizeof(pay.cvm), "%s", p->cvm);
    req = json_pack("{s:s,s:I,s:o,s:s}", "type", "sale", "amount", (json_int_t)amount, "method", method_json(p),
                    "terminal", p->terminal);
    if (req == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    if (strcmp(p->cvm, "pin") == 0) {
        /* source "ic": the chip is read by the PIN pad's own chip slot, as
         * the format-4 PIN block needs the PAN inside the same device. */
        cbor_item_t *m = devbody_new();
        if (m == NULL || devbody_put_int(m, "amount", amount) ||
            (strcmp(p->source, "ic") == 0 && devbody_put_str(m, "entry", "chip"))) {
            if (m)
                cbor_decref(&m);
            r = MAMORI_ERR_NOMEM;
            goto out;
        }
        p->pin_done = false;
        if ((r = dev_req(p, D_PINPAD, "pinpad.begin", m, NULL)) != 0) {
            set_reason(p, r == MAMORI_ERR_TAMPER ? "pinpad_tampered" : r == MAMORI_ERR_STATE ? "pinpad_no_key"
                                                                                             : "pinpad_unavailable");
            goto out;
        }
        r = wait_flag(p, &p->pin_done);
        (void)dev_req(p, D_PINPAD, "pinpad.end", NULL, NULL);
        if (r != 0 || p->pin_status != 1 || !p->pin_card.have) {
            set_reason(p, r != 0 ? "pin_timeout" : "pin_cancelled");
            r = r != 0 ? r : MAMORI_ERR_DECLINED;
            goto out;
        }
        card = p->pin_card;
        if (json_object_set_new(req, "pin", json_pack("{s:o,s:o}", "ksn", hexval(p->pin_ksn, PC_KSN), "block",
                                                      hexval(p->pin_block, PC_PINBLOCK))) != 0) {
            r = MAMORI_ERR_NOMEM;
            goto out;
        }
        memset(p->pin_block, 0, sizeof(p->pin_block));
    } else {
        if ((r = card_for_signature(p, &card)) != 0) {
            set_reason(p, "no_card");
            goto out;
        }
        cbor_item_t *m = devbody_new();
        if (m == NULL || devbody_put_str(m, "form", "credit sale")) {
            if (m)
                cbor_decref(&m);
            r = MAMORI_ERR_NOMEM;
            goto out;
        }
        p->sig_done = false;
        if ((r = dev_req(p, D_SIGPAD, "sigpad.capture", m, NULL)) != 0 || (r = wait_flag(p, &p->sig_done)) != 0 ||
            p->sig_points == NULL) {
            (void)dev_req(p, D_SIGPAD, "sigpad.end", NULL, NULL);
            set_reason(p, "no_signature");
            r = r ? r : MAMORI_ERR_DECLINED;
            goto out;
        }
        if (json_object_set_new(req, "signature", json_true()) != 0) {
            r = MAMORI_ERR_NOMEM;
            goto out;
        }
        pay.extra = json_pack("{s:O}", "signature", p->sig_points);
    }
    if ((r = paycard_masked_from(card.masked, &pay.pan)) != 0 ||
        json_object_set_new(req, "card", card_json(&card)) != 0) {
        r = r ? r : MAMORI_ERR_NOMEM;
        goto out;
    }
    if ((r = host_call(p, req, &resp)) != 0) {
        set_reason(p, "host_unreachable");
        goto out;
    }
    if ((r = approved(p, resp, &pay, ref)) != 0)
        goto out;
    if (pay.entry[0] != '\0') { /* stored with the payment: chip or stripe, as the device marked it */
        if (pay.extra == NULL)
            pay.extra = json_object();
        if (pay.extra == NULL || json_object_set_new(pay.extra, "entry", json_string(pay.entry)) != 0) {
            r = MAMORI_ERR_NOMEM;
            goto out;
        }
    }
    if ((r = paystore_put(p->store, &pay)) != 0)
        goto out;
    snprintf(ret->ref, sizeof(ret->ref), "%s", ref);
    ret->amount = amount;
out:
    if (r != 0 && p->audit != NULL) {
        struct audit_actor a = {.process = "register"};
        (void)audit_event(p->audit, &a, "pay.card.refused", F_INT("txn", txn_no), F_STR("reason", p->reason),
                          F_INT("error", r));
    }
    json_decref(pay.extra);
    json_decref(req);
    json_decref(resp);
    memset(&card, 0, sizeof(card));
    reset_options(p);
    return r;
}

static int capture_noop(void *ctx, int64_t txn_no, const struct tender_auth *a)
{
    (void)ctx;
    (void)txn_no;
    (void)a;
    return 0; /* the host's sale is already the capture */
}

static int card_refund(void *ctx, int64_t txn_no, const struct tender_auth *a)
{
    struct paycard *p = ctx;
    struct paycard_payment orig, pay;
    char host[24], ap[8], l4[5], m[16], ref[TENDER_REF_MAX];
    json_t *req = NULL, *resp = NULL;
    int64_t amount = a->amount < 0 ? -a->amount : a->amount;
    int r;
    if ((r = paycard_ref_parse(a->ref, host, ap, l4, m)) != 0 || (r = paystore_find(p->store, host, &orig)) != 0)
        return r;
    memset(&pay, 0, sizeof(pay));
    pay.txn_no = txn_no;
    strcpy(pay.kind, "refund");
    pay.amount = -amount;
    pay.pan = orig.pan;
    snprintf(pay.method, sizeof(pay.method), "%s", orig.method);
    strcpy(pay.cvm, "none");
    req = json_pack("{s:s,s:I,s:s,s:s,s:s}", "type", "refund", "amount", (json_int_t)amount, "token", orig.token,
                    "original_txn", host, "terminal", p->terminal);
    if (req == NULL)
        return MAMORI_ERR_NOMEM;
    if ((r = host_call(p, req, &resp)) == 0 && (r = approved(p, resp, &pay, ref)) == 0)
        r = paystore_put(p->store, &pay);
    json_decref(req);
    json_decref(resp);
    return r;
}

static void audit_bad_record(struct paycard *p, int64_t txn_no, const char *serial, int r)
{
    struct audit_actor a = {.process = "register"};
    if (p->audit != NULL)
        (void)audit_event(p->audit, &a, "pay.emoney.bad_signature", F_INT("txn", txn_no),
                          F_STR("device", serial ? serial : ""), F_INT("error", r),
                          F_STR("effect", "tender refused; the record is not the pinned device's"));
}

static int emoney_authorize(void *ctx, int64_t txn_no, int64_t amount, struct tender_auth *ret)
{
    struct paycard *p = ctx;
    struct paycard_payment pay;
    cbor_item_t *m = devbody_new(), *reply = NULL;
    char idem[96], txn[24], b64[sodium_base64_ENCODED_LEN(EMREC_MAX, sodium_base64_VARIANT_ORIGINAL)];
    const char *serial;
    uint8_t pub[EMREC_PUB_LEN];
    const uint8_t *rb = NULL;
    size_t rn = 0;
    struct emrec e;
    int r;
    snprintf(idem, sizeof(idem), "%s-%lld-%lld", p->terminal, (long long)txn_no, (long long)++p->emoney_seq);
    snprintf(txn, sizeof(txn), "%lld", (long long)txn_no);
    if (m == NULL || devbody_put_int(m, "amount", amount) || devbody_put_str(m, "idem", idem) ||
        devbody_put_str(m, "txn", txn)) {
        if (m)
            cbor_decref(&m);
        return MAMORI_ERR_NOMEM;
    }
    if ((r = dev_req(p, D_ICREADER, "icreader.emoney_pay", m, &reply)) != 0) {
        set_reason(p, r == MAMORI_ERR_DECLINED ? "insufficient_balance" : "icreader_error");
        return r;
    }
    /* DEV-15: accept the deduction only on the record signed by the IC
     * reader's own key as pinned at enrolment (not merely what came over
     * the session). */
    serial = p->h[D_ICREADER] != NULL ? devapi_serial(p->h[D_ICREADER]) : NULL;
    if ((r = devbody_get_bytes(reply, "record", EMREC_MAX, &rb, &rn)) != 0)
        r = MAMORI_ERR_AUTH;
    else if ((r = paycard_pinned_key(p->reg, serial, pub)) == 0)
        r = paycard_emoney_check(rb, rn, pub, sizeof(pub), serial, amount, txn, idem, &e);
    if (r != 0) {
        audit_bad_record(p, txn_no, serial, r);
        set_reason(p, "bad_signature");
        cbor_decref(&reply);
        return MAMORI_ERR_AUTH;
    }
    sodium_bin2base64(b64, sizeof(b64), rb, rn, sodium_base64_VARIANT_ORIGINAL);
    cbor_decref(&reply);
    memset(&pay, 0, sizeof(pay));
    pay.txn_no = txn_no;
    strcpy(pay.kind, "emoney");
    pay.amount = amount;
    snprintf(pay.host_txn, sizeof(pay.host_txn), "E%llu", (unsigned long long)e.seq);
    size_t cl = strlen(e.card);
    memcpy(pay.last4, cl >= 4 ? e.card + cl - 4 : e.card, cl >= 4 ? 4 : cl);
    strcpy(pay.method, "emoney");
    strcpy(pay.cvm, "none");
    pay.extra = json_pack("{s:{s:I,s:s,s:I,s:I,s:I,s:s,s:s,s:I},s:I,s:s,s:s}", "record", "seq", (json_int_t)e.seq,
                          "card", e.card, "amount", (json_int_t)e.amount, "balance_before",
                          (json_int_t)e.balance_before, "balance_after", (json_int_t)e.balance_after, "txn", e.txn,
                          "idem", e.idem, "time", (json_int_t)e.time, "balance_after",
                          (json_int_t)e.balance_after, "device", e.serial, "signed", b64);
    if (pay.extra == NULL)
        return MAMORI_ERR_NOMEM;
    r = paystore_put(p->store, &pay);
    json_decref(pay.extra);
    if (r != 0)
        return r;
    snprintf(ret->ref, sizeof(ret->ref), "%s - %s emoney", pay.host_txn, pay.last4);
    ret->amount = amount;
    return 0;
}

static int emoney_refund(void *ctx, int64_t txn_no, const struct tender_auth *a)
{
    (void)ctx;
    (void)txn_no;
    (void)a;
    return MAMORI_ERR_UNSUPPORTED; /* e-money refunds go back in cash (the card's value is not credited) */
}

/* ------------------------------------------------------------- lifecycle */

int paycard_new(struct evloop *l, struct devapi *api, struct audit *audit, const struct paycard_config *cfg,
                struct paycard **ret)
{
    struct paycard *p;
    int r;
    if (l == NULL || api == NULL || cfg == NULL || ret == NULL || cfg->url == NULL || cfg->cert_path == NULL ||
        cfg->db_path == NULL || strlen(cfg->url) >= PC_URL_MAX || strlen(cfg->cert_path) >= PC_URL_MAX ||
        strncmp(cfg->url, "https://", 8) != 0)
        return MAMORI_ERR_INVAL;
    if ((p = calloc(1, sizeof(*p))) == NULL)
        return MAMORI_ERR_NOMEM;
    p->l = l;
    p->api = api;
    p->audit = audit;
    strcpy(p->url, cfg->url);
    strcpy(p->cert, cfg->cert_path);
    snprintf(p->terminal, sizeof(p->terminal), "%s", cfg->terminal ? cfg->terminal : "T1");
    p->input_ms = cfg->input_ms > 0 ? cfg->input_ms : 60000;
    p->request_ms = cfg->request_ms > 0 ? cfg->request_ms : 3000;
    p->http_ms = cfg->http_ms > 0 ? cfg->http_ms : 15000;
    reset_options(p);
    if ((r = pin_of(p->cert, p->pin_sha)) != 0 || (r = read_cert(p)) != 0 ||
        (r = paystore_open(cfg->db_path, &p->store)) != 0 ||
        (cfg->registry_path != NULL && (r = registry_open(cfg->registry_path, NULL, &p->reg)) != 0)) {
        paycard_free(p);
        return r;
    }
    p->card = (struct tender_kind){"card", p, card_authorize, capture_noop, card_refund};
    p->emoney = (struct tender_kind){"emoney", p, emoney_authorize, capture_noop, emoney_refund};
    for (int k = 0; k < D_COUNT; k++)
        (void)ensure(p, k);
    (void)evloop_timer(l, PAYCARD_TICK_MS, on_tick, p, &p->tick);
    *ret = p;
    return 0;
}

void paycard_free(struct paycard *p)
{
    if (p == NULL)
        return;
    if (p->tick)
        evloop_timer_cancel(p->l, p->tick);
    for (int k = 0; k < D_COUNT; k++)
        if (p->h[k])
            (void)devapi_close(p->h[k]);
    json_decref(p->sig_points);
    free(p->cert_pem);
    paystore_close(p->store);
    registry_close(p->reg);
    free(p);
}

const struct tender_kind *paycard_kind_card(struct paycard *p)
{
    return &p->card;
}

const struct tender_kind *paycard_kind_emoney(struct paycard *p)
{
    return &p->emoney;
}

int paycard_next(struct paycard *p, const char *cvm, const char *method, int count, const char *source)
{
    if (p == NULL)
        return MAMORI_ERR_INVAL;
    if (cvm != NULL && strcmp(cvm, "pin") != 0 && strcmp(cvm, "signature") != 0)
        return MAMORI_ERR_INVAL;
    if (method != NULL && strcmp(method, "lump") != 0 && strcmp(method, "installments") != 0 &&
        strcmp(method, "revolving") != 0 && strcmp(method, "bonus") != 0)
        return MAMORI_ERR_INVAL;
    if (method != NULL && strcmp(method, "installments") == 0 && (count < 2 || count > 60))
        return MAMORI_ERR_INVAL;
    if (source != NULL && strcmp(source, "pinpad") != 0 && strcmp(source, "msr") != 0 && strcmp(source, "ic") != 0)
        return MAMORI_ERR_INVAL;
    reset_options(p);
    if (cvm)
        strcpy(p->cvm, cvm);
    if (method)
        strcpy(p->method, method);
    if (source)
        strcpy(p->source, source);
    p->count = count;
    return 0;
}

int paycard_point_card(struct paycard *p, struct txn *t)
{
    cbor_item_t *reply = NULL;
    char member[TXN_MEMBER_MAX + 1];
    int r;
    if (p == NULL || t == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = dev_req(p, D_ICREADER, "icreader.point_read", NULL, &reply)) != 0) {
        set_reason(p, r == MAMORI_ERR_NOTFOUND ? "no_point_card" : "icreader_error");
        return r;
    }
    r = devbody_get_str(reply, "member", member, sizeof(member));
    cbor_decref(&reply);
    if (r != 0) {
        secmem_wipe(member, sizeof(member));
        return MAMORI_ERR_PROTO;
    }
    r = tender_member(t, member);
    secmem_wipe(member, sizeof(member));
    return r;
}

const char *paycard_last_reason(const struct paycard *p)
{
    return p ? p->reason : "";
}
