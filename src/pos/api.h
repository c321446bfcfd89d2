/*
 * api: the register's local HTTP+JSON API (OPS-1..6 operations for the
 * console, the demo, tests and later the web UI), served by libmicrohttpd on
 * a unix socket in the state directory (mode 0600), optionally also on a
 * loopback TCP port. See docs/api.md for every endpoint.
 *
 * Every request runs on the event loop thread (MHD in external-epoll mode,
 * its epoll fd watched by the evloop), so the register engine is never
 * entered by two requests at once. While an operation waits for a device
 * (the bus runs the loop nested), the API stops serving until it is done
 * (api_enter / api_leave also guard the register against device input).
 *
 * A request body is JSON (at most API_BODY_MAX bytes, an object, no
 * duplicate keys, only the keys the endpoint knows, each with its type and
 * range). Errors answer HTTP 4xx/5xx with {"error","code","message"} and
 * change nothing (the engine validates before it changes anything).
 */
#ifndef MAMORI_POS_API_H
#define MAMORI_POS_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pos/report.h"
#include "pos/txn.h"

struct evloop;
struct journal;
struct api;

#define API_BODY_MAX 16384        /* request body bytes */
#define API_EVENTS_MAX 1024       /* events kept for the event stream */
#define API_WAITERS_MAX 32        /* concurrent long-polls */
#define API_WAIT_MAX_MS 60000     /* longest long-poll */
#define API_CONNS_MAX 64          /* concurrent connections */
#define API_PATH_MAX 108          /* sun_path */
#define API_NOTE_MAX 64           /* note text of a cash movement, bytes incl. NUL */
#define API_SEARCH_MAX 200        /* receipts one journal search returns */
#define API_PW_MAX 257            /* password bytes incl. NUL (OPERATOR_PASSWORD_MAX + 1) */

enum api_op {
    API_OP_NONE = 0,
    API_SIGNON, API_SIGNON_PAIR, API_SIGNOFF, API_TRAINING,
    API_DAY_OPEN, API_DAY_CLOSE,
    API_SCAN, API_PLU, API_DEPT, API_WEIGHED, API_QTY, API_VOID, API_CANCEL, API_DISCOUNT,
    API_OVERRIDE, API_SUBTOTAL, API_EAT_IN, API_CONFIRM_AGE,
    API_CASH, API_GIFT, API_COUPON, API_MEMBER, API_POINTS, API_EXTERNAL, API_REFUND_CASH,
    API_SUSPEND, API_RESUME, API_RETURN, API_RETURN_LINE,
    API_PICKUP, API_PAID_IN, API_PAID_OUT, API_CHANGE_FUND, API_NO_SALE, API_DECLARE,
    API_REPORT_X, API_REPORT_Z, API_REPRINT,
    API_STATE, API_JOURNAL_SHOW, API_JOURNAL_SEARCH, API_EVENTS,
    API_CARD, API_EMONEY, API_REFUND_EXTERNAL, API_MEMBER_IC, /* issue 4: pos/paycard.h */
    API_OP_COUNT
};

/* A parsed, validated request. Holds passwords and member numbers (HIGH):
 * allocate with api_req_new (guarded memory) and free with api_req_free. */
struct api_req {
    enum api_op op;
    uint32_t have;                 /* API_F_* bits present */
    char id[TXN_ID_MAX], password[API_PW_MAX];
    char checker[TXN_ID_MAX], checker_pw[API_PW_MAX];
    char cashier[TXN_ID_MAX], cashier_pw[API_PW_MAX];
    char mgr_id[TXN_ID_MAX], mgr_pw[API_PW_MAX];
    char code[TXN_CODE_MAX];
    char plu[TXN_CODE_MAX];
    char slip[TXN_SLIP_LEN + 1];
    char member[TXN_MEMBER_MAX];
    char kind[16];
    char note[API_NOTE_MAX];
    char cert[TXN_REF_MAX];
    int64_t dept, price, qty, line, amount, percent, receipt, points, fund;
    bool on;
    int64_t counts[REPORT_DENOMS];
    char cvm[12], pmethod[16], psource[12]; /* card tender options (paycard_next) */
    int64_t pcount;
    int64_t changer_counts[REPORT_DENOMS]; /* declare: pieces counted in the change machine */
};

/* Field bits of struct api_req.have. */
enum {
    API_F_ID = 1u << 0, API_F_PASSWORD = 1u << 1, API_F_CHECKER = 1u << 2,
    API_F_CHECKER_PW = 1u << 3, API_F_CASHIER = 1u << 4, API_F_CASHIER_PW = 1u << 5,
    API_F_MANAGER = 1u << 6, API_F_CODE = 1u << 7, API_F_PLU = 1u << 8, API_F_SLIP = 1u << 9,
    API_F_MEMBER = 1u << 10, API_F_KIND = 1u << 11, API_F_NOTE = 1u << 12, API_F_CERT = 1u << 13,
    API_F_DEPT = 1u << 14, API_F_PRICE = 1u << 15, API_F_QTY = 1u << 16, API_F_LINE = 1u << 17,
    API_F_AMOUNT = 1u << 18, API_F_PERCENT = 1u << 19, API_F_RECEIPT = 1u << 20,
    API_F_POINTS = 1u << 21, API_F_FUND = 1u << 22, API_F_ON = 1u << 23, API_F_COUNTS = 1u << 24,
    API_F_CVM = 1u << 25, API_F_METHOD = 1u << 26, API_F_PCOUNT = 1u << 27, API_F_SOURCE = 1u << 28,
    API_F_CHANGER_COUNTS = 1u << 29,
};

struct api_req *api_req_new(void);
void api_req_free(struct api_req *r);

/* Route and validate one request: method ("GET"/"POST"), path ("/v1/scan"),
 * body (may be NULL when n is 0). On error returns MAMORI_ERR_INVAL (bad
 * JSON, unknown/missing/duplicate key, wrong type, out of range),
 * MAMORI_ERR_TOOBIG (body or a string too long), MAMORI_ERR_NOTFOUND (no
 * such endpoint) or MAMORI_ERR_UNSUPPORTED (method), with a message in msg.
 * *ret is written only on success. */
__attribute__((warn_unused_result)) int api_parse(const char *method, const char *path,
                                                  const char *body, size_t n,
                                                  struct api_req *ret, char *msg, size_t msglen);

/* The register the API drives. Everything borrowed; must outlive the api. */
struct api_env {
    struct txn *txn;
    struct journal *journal;
    /* Optional: a JSON object describing the devices (GET /v1/devices). */
    json_t *(*devices)(void *ctx);
    void *ctx;
    /* Optional: the cash reconciliation of a Z report just taken (z_no),
     * added to the reply as "reconciliation" (new reference or NULL;
     * src/pos/zrecon.h). Called with ctx. */
    json_t *(*z_reconcile)(void *ctx, int64_t z_no);
    /* Optional: asked before every operation (the mode key, posmode.h):
     * 0 lets it run; a negative MAMORI_ERR_* refuses it with the message in
     * txn_last_error. Called with ctx. */
    int (*gate)(void *ctx, enum api_op op);
};

struct api_config {
    const char *socket_path;   /* unix socket (created 0600; an old one is replaced) */
    int tcp_port;              /* 0: none; else 127.0.0.1:port */
};

int api_new(struct evloop *l, const struct api_config *cfg, const struct api_env *env,
            struct api **ret);
void api_free(struct api *a);

/* Execute a parsed request against env (also used by the console tests):
 * 0 and *ret_result (a new JSON object), or a negative MAMORI_ERR_* with
 * *ret_msg (static or engine text). */
int api_exec(const struct api_env *env, const struct api_req *r, json_t **ret_result,
             const char **ret_msg);

/* The register's state as JSON (new reference). */
json_t *api_state_json(struct txn *t);

/* Append an event (type, data: reference taken) to the event stream and wake
 * long-polls. Safe to call with a NULL api. */
void api_event(struct api *a, const char *type, json_t *data);

/* Reentrancy guard around engine work (see above). */
void api_enter(struct api *a);
void api_leave(struct api *a);
bool api_busy(const struct api *a);

/* The error name and HTTP status for a MAMORI_ERR_* code. */
const char *api_error_name(int code);
unsigned api_http_status(int code);

#endif
