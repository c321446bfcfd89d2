/*
 * bverify.c: the one-pass offline verifier of audit bundles and its
 * two-thread driver (see bundle.h). Owns the order of the checks and the
 * failure reports; the format is written by bundle.c.
 */
#include "audit/bundle.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/hex.h"
#include "crypto/merkle.h"
#include "crypto/seal.h"
#include "keys/keys.h"
#include "mamori/err.h"

/* ---- verifier ---- */

struct audit_bverifier {
    struct seal_verifier *sv;
    uint8_t pub[KEYS_PK_LEN];
    struct merkle_frontier tree;
    merkle_hash last_root;
    uint64_t last_size;
    bool have_ckpt, header, done, failed;
    bool no_seal; /* the seal checks run on another thread (audit_bundle_verify) */
    char where_buf[48];
    bool rot_pending; /* a key hand-over entry was seen */
    uint64_t rot_seq;
    uint8_t pub_next[KEYS_PK_LEN];
    struct audit_verify_result res;
    audit_progress_fn fn;
    void *ctx;
};

int audit_bverifier_new(const struct audit_vkeys *k, struct audit_bverifier **ret)
{
    struct audit_bverifier *v = calloc(1, sizeof(*v));
    int r;
    if (v == NULL)
        return MAMORI_ERR_NOMEM;
    if ((r = seal_verifier_new(k->seal_key0, &v->sv)) != 0) {
        free(v);
        return r;
    }
    memcpy(v->pub, k->audit_pub, KEYS_PK_LEN);
    merkle_frontier_init(&v->tree);
    *ret = v;
    return 0;
}

int audit_bverifier_dup(const struct audit_bverifier *v, struct audit_bverifier **ret)
{
    struct audit_bverifier *c = malloc(sizeof(*c));
    int r;
    if (c == NULL)
        return MAMORI_ERR_NOMEM;
    *c = *v;
    if ((r = seal_verifier_dup(v->sv, &c->sv)) != 0) {
        free(c);
        return r;
    }
    *ret = c;
    return 0;
}

void audit_bverifier_copy(struct audit_bverifier *dst, const struct audit_bverifier *src)
{
    struct seal_verifier *keep = dst->sv;
    *dst = *src;
    dst->sv = keep;
    seal_verifier_copy(dst->sv, src->sv);
}

void audit_bverifier_free(struct audit_bverifier *v)
{
    if (v == NULL)
        return;
    seal_verifier_free(v->sv);
    free(v);
}

void audit_bverifier_progress(struct audit_bverifier *v, audit_progress_fn fn, void *ctx)
{
    v->fn = fn;
    v->ctx = ctx;
}

__attribute__((format(printf, 4, 5))) static int fail(struct audit_bverifier *v, const char *where, uint64_t seq,
                                                      const char *fmt, ...)
{
    va_list ap;
    v->failed = true;
    v->res.ok = false;
    v->res.bad_seq = seq;
    snprintf(v->res.where, sizeof(v->res.where), "%s", where);
    va_start(ap, fmt);
    vsnprintf(v->res.reason, sizeof(v->res.reason), fmt, ap);
    va_end(ap);
    return MAMORI_ERR_AUTH;
}

int audit_bverifier_header(struct audit_bverifier *v, struct buf *b)
{
    const uint8_t *p;
    if (v->failed)
        return MAMORI_ERR_AUTH;
    if (buf_get_ptr(b, AUDIT_BUNDLE_MAGIC_LEN, &p) != 0 || memcmp(p, AUDIT_BUNDLE_MAGIC, AUDIT_BUNDLE_MAGIC_LEN) != 0)
        return fail(v, "bundle", 0, "not an audit bundle (bad header)");
    v->header = true;
    return 0;
}

/* An "audit.key_rotated" entry: checkpoints after the one that covers it are
 * signed with new_pub, which must follow from the key in use (old_pub). */
static int take_rotation(struct audit_bverifier *v, const struct audit_entry *e)
{
    json_error_t err;
    json_t *j = json_loadb(e->details.p, e->details.n, JSON_REJECT_DUPLICATES, &err);
    json_t *np = json_object_get(j, "new_pub"), *op = json_object_get(j, "old_pub");
    uint8_t newk[KEYS_PK_LEN], oldk[KEYS_PK_LEN];
    size_t n1 = 0, n2 = 0;
    int r = MAMORI_ERR_INVAL;
    if (json_is_string(np) && json_is_string(op) && json_string_length(np) == 2 * KEYS_PK_LEN &&
        json_string_length(op) == 2 * KEYS_PK_LEN && hex_decode(newk, sizeof(newk), json_string_value(np), &n1) == 0 &&
        hex_decode(oldk, sizeof(oldk), json_string_value(op), &n2) == 0 && n1 == KEYS_PK_LEN && n2 == KEYS_PK_LEN &&
        memcmp(oldk, v->rot_pending ? v->pub_next : v->pub, KEYS_PK_LEN) == 0) {
        memcpy(v->pub_next, newk, KEYS_PK_LEN);
        v->rot_pending = true;
        v->rot_seq = e->seq;
        v->res.rotations++;
        r = 0;
    }
    json_decref(j);
    return r;
}

/* "entry N" for a failure report (formatted only when something failed). */
#define ENTRY_WHERE(v, pos) (snprintf((v)->where_buf, sizeof((v)->where_buf), "entry %" PRIu64, (pos)), (v)->where_buf)

static int step_entry(struct audit_bverifier *v, struct buf *b)
{
    uint64_t pos = v->res.entries;
    uint32_t len;
    const uint8_t *canon, *mac;
    struct audit_entry e;
    merkle_hash leaf;
    int r;
    if (buf_get_u32(b, &len) != 0 || len > AUDIT_ENTRY_MAX || buf_get_ptr(b, len, &canon) != 0 ||
        buf_get_ptr(b, AUDIT_MAC_LEN, &mac) != 0)
        return fail(v, ENTRY_WHERE(v, pos), pos, "entry record truncated or oversized");
    if (pos >= AUDIT_BUNDLE_MAX_ENTRIES)
        return fail(v, ENTRY_WHERE(v, pos), pos, "too many entries");
    if (audit_entry_decode(canon, len, &e) != 0)
        return fail(v, ENTRY_WHERE(v, pos), pos, "malformed entry bytes");
    if (e.seq != pos)
        return fail(v, ENTRY_WHERE(v, pos), pos,
                    "sequence break: expected seq %" PRIu64 ", found %" PRIu64
                    " (an entry was deleted, inserted or moved)",
                    pos, e.seq);
    r = v->no_seal ? 0 : seal_verifier_check(v->sv, e.seq, canon, len, mac);
    if (r != 0)
        return fail(v, ENTRY_WHERE(v, pos), pos,
                    "seal MAC does not verify with the key of epoch %" PRIu64
                    " (entry edited, or sealed with another epoch's key)",
                    e.seq);
    if (e.event.n == sizeof(AUDIT_EVENT_KEY_ROTATED) - 1 &&
        memcmp(e.event.p, AUDIT_EVENT_KEY_ROTATED, e.event.n) == 0 && (r = take_rotation(v, &e)) != 0)
        return fail(v, ENTRY_WHERE(v, pos), pos, "malformed signing-key hand-over");
    if ((r = merkle_leaf_hash(leaf, canon, len)) != 0 || (r = merkle_frontier_append(&v->tree, leaf)) != 0)
        return r;
    v->res.entries++;
    if (v->fn != NULL && (v->res.entries & 0xFFFF) == 0)
        v->fn(v->ctx, v->res.entries);
    return 0;
}

static int step_checkpoint(struct audit_bverifier *v, struct buf *b)
{
    struct audit_checkpoint c;
    uint8_t msg[AUDIT_CKPT_MSG_LEN], pn;
    const uint8_t *proof;
    merkle_hash root;
    uint64_t t;
    char where[48];
    if (buf_get_u64(b, &c.size) != 0 || buf_get_bytes(b, c.root, AUDIT_ROOT_LEN) != 0 || buf_get_u64(b, &t) != 0 ||
        buf_get_bytes(b, c.sig, AUDIT_SIG_LEN) != 0 || buf_get_bytes(b, c.tag, AUDIT_MAC_LEN) != 0 ||
        buf_get_u8(b, &pn) != 0 || pn > MERKLE_MAX_PROOF || buf_get_ptr(b, (size_t)pn * MERKLE_HASH_LEN, &proof) != 0)
        return fail(v, "checkpoint", v->res.entries, "checkpoint record truncated or malformed");
    c.time_ns = (int64_t)t;
    snprintf(where, sizeof(where), "checkpoint %" PRIu64, c.size);
    if (v->have_ckpt && c.size <= v->last_size)
        return fail(v, where, v->res.entries, "checkpoints out of order (after one for %" PRIu64 ")", v->last_size);
    if (c.size != v->res.entries)
        return fail(v, where, v->res.entries,
                    "signed for %" PRIu64 " entries but found after entry %" PRIu64
                    " (entries deleted, inserted or cut back)",
                    c.size, v->res.entries);
    /* the checkpoint right after a hand-over is still the old key's */
    if (v->rot_pending && c.size > v->rot_seq + 1) {
        memcpy(v->pub, v->pub_next, KEYS_PK_LEN);
        v->rot_pending = false;
    }
    audit_checkpoint_message(&c, msg);
    if (keys_verify(v->pub, c.sig, msg, sizeof(msg)) != 0)
        return fail(v, where, c.size, "signature does not verify with the audit public key");
    merkle_frontier_root(&v->tree, root);
    if (memcmp(root, c.root, MERKLE_HASH_LEN) != 0)
        return fail(v, where, c.size, "root does not match the entries before it");
    if (!v->no_seal && seal_verifier_check(v->sv, c.size, msg, sizeof(msg), c.tag) != 0)
        return fail(v, where, c.size, "seal tag does not verify with the key of epoch %" PRIu64, c.size);
    if (v->have_ckpt) {
        if (merkle_verify_consistency(v->last_size, c.size, v->last_root, c.root, proof, pn) != 0)
            return fail(v, where, c.size, "consistency proof from checkpoint %" PRIu64 " does not verify",
                        v->last_size);
    } else if (pn != 0) {
        return fail(v, where, c.size, "first checkpoint carries a proof");
    }
    v->have_ckpt = true;
    v->last_size = c.size;
    memcpy(v->last_root, c.root, MERKLE_HASH_LEN);
    v->res.checkpoints++;
    v->res.last_ckpt_size = c.size;
    return 0;
}

static int step_end(struct audit_bverifier *v, struct buf *b)
{
    uint64_t count;
    uint8_t root[AUDIT_ROOT_LEN], has_tail, tag[AUDIT_MAC_LEN], msg[AUDIT_TAIL_MSG_LEN];
    merkle_hash calc;
    if (buf_get_u64(b, &count) != 0 || buf_get_bytes(b, root, sizeof(root)) != 0 || buf_get_u8(b, &has_tail) != 0 ||
        has_tail > 1 || (has_tail && buf_get_bytes(b, tag, sizeof(tag)) != 0))
        return fail(v, "end", v->res.entries, "end record truncated or malformed");
    if (count != v->res.entries)
        return fail(v, "end", v->res.entries, "end record claims %" PRIu64 " entries, bundle has %" PRIu64, count,
                    v->res.entries);
    merkle_frontier_root(&v->tree, calc);
    if (memcmp(calc, root, MERKLE_HASH_LEN) != 0)
        return fail(v, "end", count, "end root does not match the entries");
    if (!has_tail)
        return fail(v, "end", count,
                    "no tail seal: the %" PRIu64 " entries after the last checkpoint (%" PRIu64
                    ") are not bound, so cutting the tail cannot be ruled out",
                    count - v->res.last_ckpt_size, v->res.last_ckpt_size);
    audit_tail_message(count, root, msg);
    if (!v->no_seal && seal_verifier_check(v->sv, count, msg, sizeof(msg), tag) != 0)
        return fail(v, "end", count,
                    "tail seal does not verify with the key of epoch %" PRIu64
                    " (the log was cut back, or the end edited)",
                    count);
    if (buf_end(b) != 0)
        return fail(v, "bundle", count, "bytes after the end record");
    v->res.tail_sealed = true;
    v->done = true;
    v->res.ok = true;
    return 0;
}

int audit_bverifier_step(struct audit_bverifier *v, struct buf *b, bool *ret_done)
{
    uint8_t type;
    int r;
    if (v->failed)
        return MAMORI_ERR_AUTH;
    if (!v->header)
        return MAMORI_ERR_STATE;
    if (v->done) {
        *ret_done = true;
        return 0;
    }
    if (buf_get_u8(b, &type) != 0)
        return fail(v, "bundle", v->res.entries, "bundle ends without an end record (file cut short)");
    switch (type) {
    case AUDIT_REC_ENTRY:
        r = step_entry(v, b);
        break;
    case AUDIT_REC_CHECKPOINT:
        r = step_checkpoint(v, b);
        break;
    case AUDIT_REC_END:
        r = step_end(v, b);
        break;
    default:
        r = fail(v, "bundle", v->res.entries, "unknown record type %u after entry %" PRIu64, type,
                 v->res.entries);
    }
    if (r == 0)
        *ret_done = v->done;
    return r;
}

int audit_bverifier_run(struct audit_bverifier *v, struct buf *b)
{
    bool done = false;
    int r;
    while (!done)
        if ((r = audit_bverifier_step(v, b, &done)) != 0)
            return r;
    return 0;
}

void audit_bverifier_result(const struct audit_bverifier *v, struct audit_verify_result *ret)
{
    *ret = v->res;
}

/* The seal half of a verification, for a second thread: every entry MAC at
 * the epoch of its position, every checkpoint tag at its size, the tail tag at
 * its count. Any parse problem or failure just says "not ok"; the caller then
 * reruns the one-pass verifier for the exact first failure. */
struct seal_job {
    const uint8_t *p;
    size_t n;
    const struct audit_vkeys *k;
    bool ok;
};

static bool seal_pass(struct seal_job *j)
{
    struct seal_verifier *sv;
    struct buf b;
    uint64_t pos = 0;
    bool ok = false;
    if (seal_verifier_new(j->k->seal_key0, &sv) != 0)
        return false;
    buf_view(&b, j->p, j->n);
    if (buf_skip(&b, AUDIT_BUNDLE_MAGIC_LEN) != 0)
        goto out;
    for (;;) {
        uint8_t type;
        if (buf_get_u8(&b, &type) != 0)
            goto out;
        if (type == AUDIT_REC_ENTRY) {
            uint32_t len;
            const uint8_t *canon, *mac;
            if (buf_get_u32(&b, &len) != 0 || len > AUDIT_ENTRY_MAX || buf_get_ptr(&b, len, &canon) != 0 ||
                buf_get_ptr(&b, AUDIT_MAC_LEN, &mac) != 0 || seal_verifier_check(sv, pos, canon, len, mac) != 0)
                goto out;
            pos++;
        } else if (type == AUDIT_REC_CHECKPOINT) {
            struct audit_checkpoint c;
            uint8_t msg[AUDIT_CKPT_MSG_LEN], pn;
            uint64_t t;
            if (buf_get_u64(&b, &c.size) != 0 || buf_get_bytes(&b, c.root, AUDIT_ROOT_LEN) != 0 ||
                buf_get_u64(&b, &t) != 0 || buf_skip(&b, AUDIT_SIG_LEN) != 0 ||
                buf_get_bytes(&b, c.tag, AUDIT_MAC_LEN) != 0 || buf_get_u8(&b, &pn) != 0 ||
                buf_skip(&b, (size_t)pn * MERKLE_HASH_LEN) != 0)
                goto out;
            c.time_ns = (int64_t)t;
            /* a checkpoint sits right after its last entry: anything else is a
             * failure (and must not make the key chain run to an absurd epoch) */
            if (c.size != pos)
                goto out;
            audit_checkpoint_message(&c, msg);
            if (seal_verifier_check(sv, c.size, msg, sizeof(msg), c.tag) != 0)
                goto out;
        } else if (type == AUDIT_REC_END) {
            uint64_t count;
            uint8_t root[AUDIT_ROOT_LEN], has_tail, tag[AUDIT_MAC_LEN], msg[AUDIT_TAIL_MSG_LEN];
            if (buf_get_u64(&b, &count) != 0 || buf_get_bytes(&b, root, sizeof(root)) != 0 ||
                buf_get_u8(&b, &has_tail) != 0 || has_tail != 1 || buf_get_bytes(&b, tag, sizeof(tag)) != 0 ||
                count != pos)
                goto out;
            audit_tail_message(count, root, msg);
            ok = seal_verifier_check(sv, count, msg, sizeof(msg), tag) == 0;
            goto out;
        } else {
            goto out;
        }
    }
out:
    seal_verifier_free(sv);
    return ok;
}

static void *seal_thread(void *arg)
{
    struct seal_job *j = arg;
    j->ok = seal_pass(j);
    return NULL;
}

static int verify_sequential(const uint8_t *p, size_t n, const struct audit_vkeys *k,
                             struct audit_verify_result *res)
{
    struct audit_bverifier *v;
    struct buf b;
    int r;
    if ((r = audit_bverifier_new(k, &v)) != 0)
        return r;
    buf_view(&b, p, n);
    r = audit_bverifier_header(v, &b);
    if (r == 0)
        r = audit_bverifier_run(v, &b);
    audit_bverifier_result(v, res);
    audit_bverifier_free(v);
    return r;
}

/* Two threads: the seal chain (inherently sequential: one key per epoch) on
 * one, parsing, the tree and the checkpoints on the other. Both halves
 * passing means every check of the one-pass verifier passed; any failure is
 * re-run one-pass so the report is exactly the one-pass report. */
int audit_bundle_verify(const uint8_t *p, size_t n, const struct audit_vkeys *k, struct audit_verify_result *res)
{
    return audit_bundle_verify_progress(p, n, k, NULL, NULL, res);
}

int audit_bundle_verify_progress(const uint8_t *p, size_t n, const struct audit_vkeys *k, audit_progress_fn fn,
                                 void *ctx, struct audit_verify_result *res)
{
    struct seal_job job = {.p = p, .n = n, .k = k, .ok = false};
    struct audit_bverifier *v;
    struct buf b;
    pthread_t th;
    int r;
    if ((r = audit_bverifier_new(k, &v)) != 0)
        return r;
    v->no_seal = true;
    audit_bverifier_progress(v, fn, ctx);
    if (pthread_create(&th, NULL, seal_thread, &job) != 0) {
        audit_bverifier_free(v);
        return verify_sequential(p, n, k, res);
    }
    buf_view(&b, p, n);
    r = audit_bverifier_header(v, &b);
    if (r == 0)
        r = audit_bverifier_run(v, &b);
    pthread_join(th, NULL);
    if (r == 0 && job.ok) {
        audit_bverifier_result(v, res);
        audit_bverifier_free(v);
        return 0;
    }
    audit_bverifier_free(v);
    if (r != 0 && r != MAMORI_ERR_AUTH)
        return r;
    return verify_sequential(p, n, k, res);
}
