/*
 * service.c: owns the wiring of the register inside mamori-terminald: the
 * [pos] configuration with embedded defaults, the state files (journal.db,
 * items.db, operators.db, pos-data.key, pos.sock), the engine and its ports,
 * recovery after a restart, and turning scanner and keyboard input into
 * register operations (queued while the register is busy; key sequences are
 * poskeys.c's, executed through api_exec like API calls). The operations
 * themselves belong to txn/tender/report, the HTTP surface to api.c, the
 * devices to busdev.c.
 */
#include "pos/service.h"
#include "pos/zrecon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/audit.h"
#include "common/config.h"
#include "common/evloop.h"
#include "mamori/err.h"
#include "pos/api.h"
#include "pos/busdev.h"
#include "pos/journal.h"
#include "pos/paycard.h"
#include "pos/poskeys.h"
#include "pos/posmode.h"
#include "pos/poswire.h"
#include "pos/tender.h"
#include "pos/txn.h"

#define SVC_PATH_MAX 512
#define SVC_INPUT_QUEUE 64      /* device inputs waiting while the register is busy */
#define SVC_RECOVER_MS 500      /* retry period for interrupted cash commands */
#define SVC_RECOVER_TRIES 240   /* two minutes */

const char pos_service_default_config[] =
    "[pos]\n"
    "; auto: run the register once STATE/items.db exists (mamori items import)\n"
    "enabled = auto\n"
    "api_socket = pos.sock\n"
    "api_tcp_port = 0\n"
    "journal = journal.db\n"
    "items = items.db\n"
    "operators = operators.db\n"
    "data_key = pos-data.key\n"
    "store_no = 1\n"
    "terminal_no = 1\n"
    "issuer_name = まもりマート\n"
    "issuer_address = 東京都千代田区丸の内1-1-1\n"
    "regno = T1234567890123\n"
    "discount_limit_yen = 500\n"
    "discount_limit_pct = 10\n"
    "gift_gives_change = false\n"
    "points_per_100yen = 1\n"
    "rounding = down\n"
    "request_ms = 3000\n"
    "confirm_ms = 30000\n"
    "deposit_idle_ms = 10000\n"
    "deposit_max_ms = 120000\n";

struct svc_input {
    char kind[16];
    char data[BUSDEV_INPUT_MAX];
};

struct pos_service {
    struct evloop *l;
    struct busdev *dev;
    struct journal *journal;
    struct items *items;
    struct operators *ops;
    struct poswire_catalog catalog;
    struct txn_catalog cat;
    struct txn_auth auth;
    struct txn *txn;
    struct paycard *pay; /* card and e-money tenders ([pay] payhost_url) */
    struct api *api;
    struct svc_input q[SVC_INPUT_QUEUE];
    size_t qhead, qlen;
    uint64_t qtimer;
    uint64_t rtimer;          /* retry of interrupted cash commands */
    int rtries;
    struct api_env env;
    struct poskeys keys;
    struct zrecon_src zsrc; /* cash reconciliation at Z; zsrc.store NULL: none */
    char terminal[64];
    char audit_path[SVC_PATH_MAX];
    struct audit *audit;
    int mode_seen; /* mode key position last audited (DEV-11) */
};

static int in_dir(const char *dir, const char *name, char *out)
{
    int n = name[0] == '/' ? snprintf(out, SVC_PATH_MAX, "%s", name)
                           : snprintf(out, SVC_PATH_MAX, "%s/%s", dir, name);
    return n < 0 || n >= SVC_PATH_MAX ? MAMORI_ERR_TOOBIG : 0;
}

/* The data key for HIGH fields at rest: 32 random bytes, created 0600 once. */
static int data_key(const char *path, uint8_t key[TXN_DATA_KEY_BYTES])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    if (fd < 0 && errno == ENOENT) {
        randombytes_buf(key, TXN_DATA_KEY_BYTES);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return MAMORI_ERR_IO;
        n = write(fd, key, TXN_DATA_KEY_BYTES);
        if (n != TXN_DATA_KEY_BYTES || fsync(fd) != 0) {
            close(fd);
            (void)unlink(path);
            return MAMORI_ERR_IO;
        }
        close(fd);
        return 0;
    }
    if (fd < 0)
        return MAMORI_ERR_IO;
    n = read(fd, key, TXN_DATA_KEY_BYTES);
    close(fd);
    return n == TXN_DATA_KEY_BYTES ? 0 : MAMORI_ERR_INVAL;
}

/* ------------------------------------------------------------ device input */

static void note(struct pos_service *s, const char *type, json_t *data)
{
    api_event(s->api, type, data);
}

/* A keyboard key as a POS keyboard works (poskeys.h): digits collect, a
 * function key turns them into a register request, executed like an API
 * call. */
static int key_press(struct pos_service *s, const char *key, bool button, json_t **ret_slip)
{
    struct api_req req;
    json_t *res = NULL;
    const char *msg = NULL;
    /* A touch-panel button is keys (poskeys_button): same entry, same mapping. */
    int rc = button ? poskeys_button(&s->keys, s->txn, key, &req)
                    : poskeys_press(&s->keys, s->txn, key, &req);
    if (rc <= 0) {
        if (rc != 0)
            txn_set_error(s->txn, rc == MAMORI_ERR_UNSUPPORTED ? "this key needs the console (approvals)"
                                  : rc == MAMORI_ERR_NOTFOUND  ? "no such button"
                                                               : "key sequence not accepted");
        return rc;
    }
    if ((rc = api_exec(&s->env, &req, &res, &msg)) != 0)
        return rc;
    if (json_object_get(res, "slip"))
        *ret_slip = json_incref(json_object_get(res, "slip"));
    json_decref(res);
    return 0;
}

static void handle_input(struct pos_service *s, const struct svc_input *in)
{
    json_t *slip = NULL;
    int rc;
    api_enter(s->api);
    if (strcmp(in->kind, "scanner") == 0)
        rc = s->env.gate(s, API_SCAN) ? MAMORI_ERR_PERM : txn_scan(s->txn, in->data, 1);
    else
        rc = key_press(s, in->data, strcmp(in->kind, "touchpanel") == 0, &slip);
    api_leave(s->api);
    if (rc == 0)
        note(s, "register", json_pack("{s:s,s:s,s:o,s:o*}", "input", in->kind, "data", in->data,
                                      "state", api_state_json(s->txn), "slip", slip));
    else
        note(s, "refused", json_pack("{s:s,s:s,s:i,s:s}", "input", in->kind, "data", in->data,
                                     "code", rc, "message", txn_last_error(s->txn)));
}

static void drain(struct evloop *l, void *ctx)
{
    struct pos_service *s = ctx;
    s->qtimer = 0;
    while (s->qlen > 0) {
        struct svc_input in;
        if (api_busy(s->api)) {
            (void)evloop_timer(l, 10, drain, s, &s->qtimer);
            return;
        }
        in = s->q[s->qhead];
        s->qhead = (s->qhead + 1) % SVC_INPUT_QUEUE;
        s->qlen--;
        handle_input(s, &in);
    }
}

static void on_input(void *ctx, const char *kind, const char *data)
{
    struct pos_service *s = ctx;
    struct svc_input *in;
    if (s->qlen == SVC_INPUT_QUEUE) {
        note(s, "refused", json_pack("{s:s,s:s}", "input", kind, "message", "input queue full"));
        return;
    }
    in = &s->q[(s->qhead + s->qlen) % SVC_INPUT_QUEUE];
    snprintf(in->kind, sizeof(in->kind), "%s", kind);
    snprintf(in->data, sizeof(in->data), "%s", data);
    s->qlen++;
    /* Never re-enter the engine from inside a device call: run from a timer. */
    if (s->qtimer == 0)
        (void)evloop_timer(s->l, 0, drain, s, &s->qtimer);
}

/* The mode key's position changed (or the keylock came or went): audit
 * the change and tell the event stream (DEV-11). */
static void mode_changed(struct pos_service *s)
{
    int pos = busdev_keylock(s->dev);
    struct audit_actor act = {.operator_id = txn_operator(s->txn), .process = "mamori-terminald"};
    if (pos == s->mode_seen)
        return;
    (void)audit_event(s->audit, &act, "mode.key", F_STR("from", posmode_name(s->mode_seen)),
                      F_STR("to", posmode_name(pos)), F_STR("terminal", s->terminal));
    s->mode_seen = pos;
    note(s, "mode", json_pack("{s:i,s:s}", "position", pos, "name", posmode_name(pos)));
}

static void on_note(void *ctx, const char *kind, const char *what)
{
    struct pos_service *s = ctx;
    note(s, "device", json_pack("{s:s,s:s}", "kind", kind ? kind : "?", "status", what));
    if (kind != NULL && strcmp(kind, "keylock") == 0)
        mode_changed(s);
}

/* api_env.gate: the mode key position allows the operation (posmode.h). */
static int mode_gate(void *ctx, enum api_op op)
{
    struct pos_service *s = ctx;
    mode_changed(s);
    return posmode_gate(busdev_keylock(s->dev), s->txn, op);
}

static json_t *devices_json(void *ctx)
{
    struct pos_service *s = ctx;
    static const char *const kinds[] = {"printer", "linedisplay", "custdisplay", "drawer",
                                        "changer", "scale",       "scanner",     "keyboard",
                                        "touchpanel", "keylock"};
    json_t *o = json_object();
    int pos = busdev_keylock(s->dev);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        json_object_set_new(o, kinds[i], json_boolean(busdev_ready(s->dev, kinds[i])));
    json_object_set_new(o, "mode_key", json_pack("{s:i,s:s}", "position", pos, "name", posmode_name(pos)));
    return o;
}

/* Cash commands interrupted by a crash are re-sent with their original keys
 * once the cash devices are back (the device replays what it executed). */
static void retry_recover(struct evloop *l, void *ctx)
{
    struct pos_service *s = ctx;
    int rc;
    s->rtimer = 0;
    if (api_busy(s->api)) {
        (void)evloop_timer(l, 50, retry_recover, s, &s->rtimer);
        return;
    }
    api_enter(s->api);
    rc = tender_recover(s->txn);
    api_leave(s->api);
    if (rc == 0) {
        note(s, "recovered", json_pack("{s:s}", "cash_commands", "done"));
        return;
    }
    if (++s->rtries < SVC_RECOVER_TRIES)
        (void)evloop_timer(l, SVC_RECOVER_MS, retry_recover, s, &s->rtimer);
    else
        note(s, "recovered", json_pack("{s:s,s:i}", "cash_commands", "pending", "code", rc));
}

/* ----------------------------------------------------------------- config */

#define GETI(key, dflt, lo, hi, dst)                                                    \
    do {                                                                                \
        int64_t v_;                                                                     \
        if ((rc = config_get_int(cfg, "pos", key, dflt, lo, hi, &v_)) != 0)             \
            goto cfgerr;                                                                \
        dst = v_;                                                                       \
    } while (0)

/* The Z report's cash reconciliation (api_env.z_reconcile). */
static json_t *z_reconcile(void *ctx, int64_t z_no)
{
    struct pos_service *s = ctx;
    struct zrecon_result *res;
    json_t *j;
    int rc;
    if (s->zsrc.store == NULL)
        return NULL;
    if ((res = calloc(1, sizeof(*res))) == NULL)
        return NULL;
    rc = zrecon_run(&s->zsrc, z_no, res);
    j = rc == 0 ? zrecon_json(res) : json_pack("{s:s}", "error", mamori_strerror(rc));
    free(res);
    return j;
}

/* Card and e-money tenders (issue 4) when [pay] names the payment host:
 * payhost_url (https://127.0.0.1:PORT/v1/authorize), payhost_cert (its
 * certificate, pinned), db (pay.db), input_ms, http_ms. */
static int start_pay(struct pos_service *s, struct evloop *l, struct devapi *devapi, struct config *cfg,
                     const char *state_dir, struct audit *audit, const char *terminal, char *err, size_t errlen)
{
    struct paycard_config pc = {0};
    char db[SVC_PATH_MAX], cert[SVC_PATH_MAX], reg[SVC_PATH_MAX];
    int64_t v;
    int rc;
    pc.url = config_get_str(cfg, "pay", "payhost_url", NULL);
    if (pc.url == NULL)
        return 0;
    if ((rc = in_dir(state_dir, config_get_str(cfg, "pay", "db", "pay.db"), db)) ||
        (rc = in_dir(state_dir, config_get_str(cfg, "pay", "payhost_cert", "payhost.pem"), cert)) ||
        (rc = in_dir(state_dir, "registry.db", reg)))
        return rc;
    pc.registry_path = reg; /* the device keys pinned at enrolment (signed e-money records) */
    pc.db_path = db;
    pc.cert_path = cert;
    pc.terminal = terminal;
    if ((rc = config_get_int(cfg, "pay", "input_ms", 60000, 100, 600000, &v)) != 0)
        goto cfgerr;
    pc.input_ms = (int)v;
    if ((rc = config_get_int(cfg, "pay", "http_ms", 15000, 100, 120000, &v)) != 0)
        goto cfgerr;
    pc.http_ms = (int)v;
    if ((rc = paycard_new(l, devapi, audit, &pc, &s->pay)) != 0) {
        snprintf(err, errlen, "[pay]: cannot start the card tenders (%s, %s)", pc.url, cert);
        return rc;
    }
    if ((rc = txn_add_tender_kind(s->txn, paycard_kind_card(s->pay))) != 0 ||
        (rc = txn_add_tender_kind(s->txn, paycard_kind_emoney(s->pay))) != 0)
        return rc;
    return 0;
cfgerr:
    snprintf(err, errlen, "%s", config_error(cfg));
    return MAMORI_ERR_CONFIG;
}

int pos_service_start(struct evloop *l, struct devapi *devapi, struct config *cfg,
                      const char *state_dir, struct audit *audit, struct pos_service **ret,
                      char *err, size_t errlen)
{
    struct pos_service *s = NULL;
    struct txn_config tc;
    struct busdev_config bc = {0};
    struct api_config ac = {0};
    char p[SVC_PATH_MAX], sock[SVC_PATH_MAX];
    const char *str;
    bool resumed = false;
    int64_t port = 0;
    int rc;
    *ret = NULL;
    /* enabled = auto (default): the register runs once an item master has
     * been imported into the state directory; true: always; false: never. */
    str = config_get_str(cfg, "pos", "enabled", "auto");
    if (strcmp(str, "false") == 0 || strcmp(str, "no") == 0 || strcmp(str, "off") == 0)
        return 0;
    if (strcmp(str, "auto") == 0) {
        if ((rc = in_dir(state_dir, config_get_str(cfg, "pos", "items", "items.db"), p)) != 0)
            return rc;
        if (access(p, F_OK) != 0)
            return 0;
    } else if (strcmp(str, "true") != 0 && strcmp(str, "yes") != 0 && strcmp(str, "on") != 0) {
        snprintf(err, errlen, "%s: [pos] enabled: auto, true or false",
                 config_where(cfg, "pos", "enabled") ? config_where(cfg, "pos", "enabled") : "");
        return MAMORI_ERR_CONFIG;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return MAMORI_ERR_NOMEM;
    s->l = l;
    memset(&tc, 0, sizeof(tc));
    snprintf(tc.terminal, sizeof(tc.terminal), "%s", config_get_str(cfg, "terminal", "id", "T1"));
    GETI("store_no", 1, 0, 9999, tc.store_no);
    GETI("terminal_no", 1, 0, 9999, tc.terminal_no);
    GETI("discount_limit_yen", 500, 0, TAX_AMOUNT_MAX, tc.discount_limit_yen);
    GETI("discount_limit_pct", 10, 0, 100, tc.discount_limit_pct);
    GETI("points_per_100yen", 1, 0, 100, tc.points_per_100yen);
    GETI("request_ms", 3000, 100, 600000, bc.request_ms);
    GETI("confirm_ms", 30000, 100, 600000, bc.confirm_ms);
    GETI("deposit_idle_ms", 10000, 100, 600000, bc.deposit_idle_ms);
    GETI("deposit_max_ms", 120000, 100, 3600000, bc.deposit_max_ms);
    GETI("api_tcp_port", 0, 0, 65535, port);
    if ((rc = config_get_bool(cfg, "pos", "gift_gives_change", false, &tc.gift_gives_change)))
        goto cfgerr;
    if ((rc = tax_rounding_parse(config_get_str(cfg, "pos", "rounding", "down"), &tc.rounding))) {
        snprintf(err, errlen, "%s: [pos] rounding: down, up or half-up",
                 config_where(cfg, "pos", "rounding") ? config_where(cfg, "pos", "rounding") : "");
        rc = MAMORI_ERR_CONFIG;
        goto fail;
    }
    snprintf(tc.issuer_name, sizeof(tc.issuer_name), "%s",
             config_get_str(cfg, "pos", "issuer_name", "まもりマート"));
    snprintf(tc.issuer_address, sizeof(tc.issuer_address), "%s",
             config_get_str(cfg, "pos", "issuer_address", "東京都千代田区丸の内1-1-1"));
    str = config_get_str(cfg, "pos", "regno", "T1234567890123");
    if (strlen(str) != 14 || str[0] != 'T' || strspn(str + 1, "0123456789") != 13) {
        snprintf(err, errlen, "%s: [pos] regno must be T and 13 digits",
                 config_where(cfg, "pos", "regno") ? config_where(cfg, "pos", "regno") : "");
        rc = MAMORI_ERR_CONFIG;
        goto fail;
    }
    snprintf(tc.regno, sizeof(tc.regno), "%s", str);
    if ((rc = in_dir(state_dir, config_get_str(cfg, "pos", "data_key", "pos-data.key"), p)) ||
        (rc = data_key(p, tc.data_key))) {
        snprintf(err, errlen, "%s: cannot read or create the register's data key", p);
        goto fail;
    }
    if ((rc = in_dir(state_dir, config_get_str(cfg, "pos", "journal", "journal.db"), p)) ||
        (rc = journal_open(p, &s->journal))) {
        snprintf(err, errlen, "%s: cannot open the journal", p);
        goto fail;
    }
    if ((rc = in_dir(state_dir, config_get_str(cfg, "pos", "items", "items.db"), p)) ||
        (rc = items_open(p, &s->items))) {
        snprintf(err, errlen, "%s: cannot open the item master", p);
        goto fail;
    }
    if ((rc = in_dir(state_dir, config_get_str(cfg, "pos", "operators", "operators.db"), p)) ||
        (rc = operators_open(p, audit, &s->ops))) {
        snprintf(err, errlen, "%s: cannot open the operator database", p);
        goto fail;
    }
    /* Devices holding a cash command without an answer, across restarts. */
    if ((rc = in_dir(state_dir, "busdev.pins", p)) != 0)
        goto fail;
    bc.pin_path = p;
    if ((rc = busdev_new(l, devapi, &bc, &s->dev)) != 0)
        goto fail;
    busdev_on_input(s->dev, on_input, on_note, s);
    s->catalog.items = s->items;
    poswire_catalog(&s->catalog, &s->cat);
    poswire_auth(s->ops, &s->auth);
    rc = txn_new(&tc, s->journal, busdev_port(s->dev), &s->cat, &s->auth, audit, &s->txn);
    sodium_memzero(tc.data_key, sizeof(tc.data_key));
    if (rc != 0)
        goto fail;
    if ((rc = start_pay(s, l, devapi, cfg, state_dir, audit, tc.terminal, err, errlen)) != 0)
        goto fail;
    if ((rc = in_dir(state_dir, config_get_str(cfg, "pos", "api_socket", "pos.sock"), sock)))
        goto fail;
    ac.socket_path = sock;
    ac.tcp_port = (int)port;
    s->env.txn = s->txn;
    s->env.journal = s->journal;
    s->env.devices = devices_json;
    s->env.z_reconcile = z_reconcile;
    s->env.gate = mode_gate;
    s->env.ctx = s;
    s->audit = audit;
    snprintf(s->terminal, sizeof(s->terminal), "%s", tc.terminal);
    s->zsrc.audit = audit;
    poskeys_init(&s->keys);
    if ((rc = api_new(l, &ac, &s->env, &s->api)) != 0) {
        snprintf(err, errlen, "%s: cannot serve the register API", sock);
        goto fail;
    }
    /* Devices attach after the daemon is up; cash commands interrupted by a
     * crash are finished by txn_recover with their original keys (the device
     * replays a command it already executed). */
    if ((rc = txn_recover(s->txn, &resumed)) == MAMORI_ERR_DB || rc == MAMORI_ERR_IO ||
        rc == MAMORI_ERR_NOMEM) {
        snprintf(err, errlen, "journal: cannot recover the open transaction");
        goto fail;
    }
    note(s, "recovered", json_pack("{s:b,s:i}", "resumed", resumed, "code", rc));
    if (rc != 0)
        (void)evloop_timer(l, SVC_RECOVER_MS, retry_recover, s, &s->rtimer);
    *ret = s;
    return 0;
cfgerr:
    snprintf(err, errlen, "%s", config_error(cfg));
    rc = MAMORI_ERR_CONFIG;
    if (0) {
fail:
        ;
    }
    pos_service_stop(s);
    return rc;
}

void pos_service_set_cash_sources(struct pos_service *s, struct bus *bus, struct logsync *ls,
                                  struct devlog_store *store, const char *audit_path)
{
    if (s == NULL)
        return;
    snprintf(s->audit_path, sizeof(s->audit_path), "%s", audit_path != NULL ? audit_path : "");
    s->zsrc.journal = s->journal;
    s->zsrc.terminal = s->terminal;
    s->zsrc.bus = bus;
    s->zsrc.logsync = ls;
    s->zsrc.store = store;
    s->zsrc.audit_path = s->audit_path[0] ? s->audit_path : NULL;
}

void pos_service_stop(struct pos_service *s)
{
    if (s == NULL)
        return;
    if (s->qtimer)
        evloop_timer_cancel(s->l, s->qtimer);
    if (s->rtimer)
        evloop_timer_cancel(s->l, s->rtimer);
    api_free(s->api);
    txn_free(s->txn);
    paycard_free(s->pay);
    busdev_free(s->dev);
    operators_free(s->ops);
    items_free(s->items);
    journal_close(s->journal);
    free(s);
}
