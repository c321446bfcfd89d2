/*
 * repprint.c: owns the layout of the X and Z reports on paper and sending
 * them to the printer exactly once (repprint.h). It does not own the totals
 * (report.c), the reconciliation (zrecon.c) or the character conversion and
 * line building (receipt.c, jtext.c).
 */
#include "pos/repprint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mamori/err.h"
#include "pos/receipt.h"

#define ESC 0x1B
#define GS 0x1D
#define FS 0x1C
#define RP_TEXT_MAX 64 /* bytes of one outside text (a ref, an operator) on paper */

static int cmd(struct buf *o, const uint8_t *p, size_t n)
{
    return buf_put_bytes(o, p, n);
}

#define CMD(o, ...) cmd((o), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static const char *tender_ja(const char *kind)
{
    static const char *const map[][2] = {{"cash", "現金"},        {"gift", "商品券"},
                                         {"coupon", "クーポン"},  {"points", "ポイント"},
                                         {"card", "クレジット"},  {"emoney", "電子マネー"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(kind, map[i][0]) == 0)
            return map[i][1];
    return kind;
}

static const char *finding_ja(const char *kind)
{
    static const char *const map[][2] = {{"device-not-in-journal", "記録にない機器の入出金"},
                                         {"journal-not-in-device", "機器にない記録の入出金"},
                                         {"amount-mismatch", "金額不一致"},
                                         {"count-mismatch", "カセット枚数不一致"},
                                         {"drawer-uncommanded", "指示のないドロア開放"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (kind != NULL && strcmp(kind, map[i][0]) == 0)
            return map[i][1];
    return "不一致";
}

/* Outside text (refs, operator ids from logs) as printable ASCII, cut. */
static void clean(char out[static RP_TEXT_MAX + 1], const char *s)
{
    size_t k = 0;
    for (; s != NULL && *s != '\0' && k < RP_TEXT_MAX; s++)
        out[k++] = (*s >= 0x20 && *s < 0x7F) ? *s : '?';
    out[k] = '\0';
}

static int banner(struct buf *o, const char *text)
{
    int r;
    if ((r = CMD(o, ESC, 'a', 1)) || (r = CMD(o, GS, 'B', 1)) || (r = CMD(o, ESC, 'E', 1)) ||
        (r = receipt_put_line(o, text)) || (r = CMD(o, ESC, 'E', 0)) || (r = CMD(o, GS, 'B', 0)) ||
        (r = CMD(o, ESC, 'a', 0)))
        return r;
    return 0;
}

static int rule(struct buf *o, const char *title)
{
    char a[96];
    snprintf(a, sizeof(a), "---- %s ----", title);
    return receipt_put_line(o, a);
}

static int count_line(struct buf *o, const char *label, int64_t n, const char *unit)
{
    char b[48];
    snprintf(b, sizeof(b), "%" PRId64 "%s", n, unit);
    return receipt_put_lr(o, label, b);
}

static int local_time(time_t t, char *out, size_t n, bool date)
{
    struct tm tm;
    time_t jst = t + 9 * 3600; /* printed in JST, as the receipts are */
    if (gmtime_r(&jst, &tm) == NULL)
        return MAMORI_ERR_INVAL;
    if (date)
        snprintf(out, n, "%04d年%02d月%02d日 %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min);
    else
        snprintf(out, n, "%02d/%02d %02d:%02d", tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
    return 0;
}

static int header(struct buf *o, const struct txn_config *cfg, const struct report_totals *r,
                  const struct repprint_info *in)
{
    char a[160], b[96], from[48], to[48];
    int rc;
    if ((rc = CMD(o, ESC, '@')) || (rc = CMD(o, FS, 'C', 1)) ||
        (in->reprint && (rc = banner(o, "【再発行】"))))
        return rc;
    if ((rc = CMD(o, ESC, 'a', 1)) || (rc = CMD(o, ESC, 'E', 1)) ||
        (rc = receipt_put_line(o, cfg->issuer_name)) || (rc = CMD(o, ESC, 'E', 0)))
        return rc;
    snprintf(a, sizeof(a), "登録番号 %s", cfg->regno);
    if ((rc = receipt_put_line(o, a)) || (rc = CMD(o, GS, '!', 0x11)) ||
        (rc = receipt_put_line(o, in->z ? "【精算 Z】" : "【点検 X】")) ||
        (rc = CMD(o, GS, '!', 0x00)) || (rc = CMD(o, ESC, 'a', 0)))
        return rc;
    snprintf(a, sizeof(a), "店%04" PRIu32 " レジ%04" PRIu32 " (%.16s)", cfg->store_no, cfg->terminal_no,
             cfg->terminal);
    snprintf(b, sizeof(b), "%s No.%06" PRId64, in->z ? "Z" : "次回Z", r->z_no);
    if ((rc = receipt_put_lr(o, a, b)) || (rc = local_time(in->when, a, sizeof(a), true)))
        return rc;
    snprintf(b, sizeof(b), "担当 %s", in->operator_id && in->operator_id[0] ? in->operator_id : "-");
    if ((rc = receipt_put_lr(o, a, b)))
        return rc;
    if (r->from_time > 0 && (rc = local_time((time_t)r->from_time, from, sizeof(from), false)))
        return rc;
    if (r->to_time > 0 && (rc = local_time((time_t)r->to_time, to, sizeof(to), false)))
        return rc;
    snprintf(a, sizeof(a), "期間 %s 〜 %s", r->from_time > 0 ? from : "開始", r->to_time > 0 ? to : "現在");
    if ((rc = receipt_put_line(o, a)))
        return rc;
    return receipt_put_line(o, "※トレーニング取引は含みません");
}

static int body(struct buf *o, const struct report_totals *r)
{
    static const int groups[] = {TAX_G10, TAX_G8};
    static const char *const glabel[] = {"10%対象", "8%対象※"};
    char a[96];
    int rc;
    if ((rc = rule(o, "件数")) || (rc = count_line(o, "売上", r->sales, "件")) ||
        (rc = count_line(o, "返品", r->returns, "件")) ||
        (rc = count_line(o, "明細取消 (訂正)", r->voids, "件")) ||
        (rc = count_line(o, "取引中止", r->cancels, "件")))
        return rc;
    if ((rc = rule(o, "売上")) || (rc = receipt_put_amount(o, "売上合計", r->sales_amount)) ||
        (rc = receipt_put_amount(o, "返品合計", r->returns_amount)) ||
        (rc = receipt_put_amount(o, "純売上", r->sales_amount + r->returns_amount)) ||
        (rc = receipt_put_amount(o, "値引", r->discounts)))
        return rc;
    if ((rc = rule(o, "税率別")))
        return rc;
    for (size_t i = 0; i < 2; i++) {
        if ((rc = receipt_put_amount(o, glabel[i], r->base[groups[i]])))
            return rc;
        snprintf(a, sizeof(a), "  (内消費税等 %d%%)", groups[i] == TAX_G8 ? 8 : 10);
        if ((rc = receipt_put_amount(o, a, r->tax[groups[i]])))
            return rc;
    }
    if ((rc = rule(o, "支払別")))
        return rc;
    for (size_t i = 0; i < r->n_tenders; i++) {
        char kind[RP_TEXT_MAX + 1];
        clean(kind, r->tenders[i].kind);
        snprintf(a, sizeof(a), "%s %" PRId64 "件", tender_ja(kind), r->tenders[i].count);
        if ((rc = receipt_put_amount(o, a, r->tenders[i].amount)))
            return rc;
    }
    if (r->n_depts > 0 && (rc = rule(o, "部門別")))
        return rc;
    for (size_t i = 0; i < r->n_depts; i++) {
        snprintf(a, sizeof(a), "部門%04d %" PRId64 "点", r->depts[i].dept, r->depts[i].qty);
        if ((rc = receipt_put_amount(o, a, r->depts[i].amount)))
            return rc;
    }
    if ((rc = rule(o, "現金")) || (rc = receipt_put_amount(o, "釣銭準備金", r->change_fund)) ||
        (rc = receipt_put_amount(o, "お釣", r->change_given)) ||
        (rc = receipt_put_amount(o, "入金", r->paid_in)) ||
        (rc = receipt_put_amount(o, "出金", r->paid_out)) ||
        (rc = receipt_put_amount(o, "中間回収", r->pickups)) ||
        (rc = receipt_put_amount(o, "現金在高 (理論)", r->cash_expected)))
        return rc;
    if (!r->declared)
        return receipt_put_line(o, "現金申告 なし");
    if ((rc = receipt_put_amount(o, "現金申告", r->declared_amount)) ||
        (rc = receipt_put_amount(o, r->over_short < 0   ? "過不足 (不足)"
                                    : r->over_short > 0 ? "過不足 (過剰)"
                                                        : "過不足",
                                 r->over_short)))
        return rc;
    /* 金種別: the drawer by declared pieces (its cash is not tracked by
     * denomination: total only), the change machine counted against its own
     * cassette counts with the difference (過不足) per denomination. */
    if ((rc = rule(o, "金種別 ドロア (申告)")))
        return rc;
    for (int i = 0; i < REPORT_DENOMS; i++) {
        char y[48];
        if (r->counts[i] == 0)
            continue;
        snprintf(y, sizeof(y), "  %" PRId64 "円 x %" PRId64 "枚", report_denoms[i], r->counts[i]);
        if ((rc = receipt_put_amount(o, y, r->counts[i] * report_denoms[i])))
            return rc;
    }
    if (!r->changer_known)
        return 0;
    if ((rc = rule(o, "金種別 釣銭機 (計数/機械/差)")))
        return rc;
    for (int i = 0; i < REPORT_DENOMS; i++) {
        char y[48], b[96];
        if (r->changer_expected[i] == 0 && r->changer_counts[i] == 0)
            continue;
        snprintf(y, sizeof(y), "  %" PRId64 "円", report_denoms[i]);
        if (r->denom_known)
            snprintf(b, sizeof(b), "%" PRId64 "/%" PRId64 "枚 差 %+" PRId64, r->changer_counts[i],
                     r->changer_expected[i], r->denom_diff[i]);
        else
            snprintf(b, sizeof(b), "-/%" PRId64 "枚", r->changer_expected[i]);
        if ((rc = receipt_put_lr(o, y, b)))
            return rc;
    }
    if (!r->denom_known)
        return receipt_put_line(o, "釣銭機 計数なし");
    return receipt_put_amount(o, r->changer_over_short < 0   ? "釣銭機過不足 (不足)"
                                 : r->changer_over_short > 0 ? "釣銭機過不足 (過剰)"
                                                             : "釣銭機過不足",
                              r->changer_over_short);
}

static int recon_part(struct buf *o, const json_t *rec)
{
    const json_t *arr = json_object_get(rec, "discrepancies"), *f;
    char a[256], t1[48], t2[48], txt[RP_TEXT_MAX + 1];
    size_t i;
    int rc;
    if ((rc = rule(o, "現金照合 (ジャーナル/釣銭機/機器ログ)")))
        return rc;
    if (rec == NULL || json_object_get(rec, "error") != NULL || !json_is_array(arr)) {
        clean(txt, json_string_value(json_object_get(rec, "error")));
        snprintf(a, sizeof(a), "照合できません%s%s", txt[0] ? ": " : "", txt);
        return receipt_put_line(o, rec == NULL ? "照合結果なし" : a);
    }
    if ((rc = count_line(o, "照合済の入出金", json_integer_value(json_object_get(rec, "matched")), "件")) ||
        (rc = receipt_put_lr(o, "カセット枚数照合",
                             json_is_true(json_object_get(rec, "counts_checked")) ? "あり" : "なし (前回Zなし)")) ||
        (rc = count_line(o, "不一致", (int64_t)json_array_size(arr), "件")))
        return rc;
    json_array_foreach(arr, i, f) {
        const json_t *ops = json_object_get(f, "operators"), *op;
        size_t k;
        char who[RP_TEXT_MAX * 2 + 8] = "";
        if (i == REPPRINT_FINDINGS_MAX) {
            snprintf(a, sizeof(a), "  ほか %zu 件", json_array_size(arr) - i);
            return receipt_put_line(o, a);
        }
        if ((rc = receipt_put_amount(o, finding_ja(json_string_value(json_object_get(f, "kind"))),
                                     json_integer_value(json_object_get(f, "amount")))))
            return rc;
        if ((rc = local_time((time_t)(json_integer_value(json_object_get(f, "from_ns")) / 1000000000),
                             t1, sizeof(t1), false)) ||
            (rc = local_time((time_t)(json_integer_value(json_object_get(f, "to_ns")) / 1000000000),
                             t2, sizeof(t2), false)))
            return rc;
        json_array_foreach(ops, k, op) {
            if (k == 2)
                break;
            clean(txt, json_string_value(op));
            snprintf(who + strlen(who), sizeof(who) - strlen(who), "%s%s", k ? "," : "", txt);
        }
        snprintf(a, sizeof(a), "  %s〜%s 担当 %s", t1, t2, who[0] ? who : "なし");
        if ((rc = receipt_put_line(o, a)))
            return rc;
        clean(txt, json_string_value(json_object_get(f, "ref")));
        if (txt[0]) {
            snprintf(a, sizeof(a), "  ref %s", txt);
            if ((rc = receipt_put_line(o, a)))
                return rc;
        }
    }
    return 0;
}

int repprint_render(const struct txn_config *cfg, const struct report_totals *r,
                    const struct repprint_info *info, const json_t *recon, struct buf *out)
{
    int rc;
    if (cfg == NULL || r == NULL || info == NULL || out == NULL)
        return MAMORI_ERR_INVAL;
    if ((rc = header(out, cfg, r, info)) || (rc = body(out, r)) ||
        (info->z && (rc = recon_part(out, recon))))
        return rc;
    if ((rc = receipt_put_line(out, info->z ? "以上 精算を終了しました" : "以上 (点検: 集計はリセットされません)")) ||
        (info->reprint && (rc = banner(out, "【再発行】"))))
        return rc;
    return CMD(out, GS, 'V', 66, 3);
}

/* Send with one key, retrying while the outcome is unknown. */
static int send_once(struct txn *t, const char *idem, const struct buf *b)
{
    const struct pos_devices *d = txn_devices(t);
    int rc = MAMORI_ERR_OFFLINE;
    if (d->print_once == NULL)
        return MAMORI_ERR_OFFLINE;
    for (int i = 0; i < REPPRINT_RETRIES; i++) {
        rc = d->print_once(d->ctx, idem, buf_ptr(b), buf_remaining(b));
        if (rc != MAMORI_ERR_TIMEOUT && rc != MAMORI_ERR_AGAIN)
            break;
    }
    return rc;
}

static int print_doc(struct txn *t, const struct report_totals *r, const struct repprint_info *in,
                     const json_t *recon, const char *idem)
{
    struct buf b;
    int rc;
    buf_init(&b, POSDEV_PRINT_MAX);
    rc = repprint_render(txn_config(t), r, in, recon, &b);
    if (rc == 0)
        rc = send_once(t, idem, &b);
    buf_free(&b);
    return rc;
}

static void fresh_key(struct txn *t, const char *what, int64_t n, char out[static POSDEV_IDEM_MAX])
{
    uint8_t nonce[6];
    char hex[2 * sizeof(nonce) + 1];
    randombytes_buf(nonce, sizeof(nonce));
    sodium_bin2hex(hex, sizeof(hex), nonce, sizeof(nonce));
    snprintf(out, POSDEV_IDEM_MAX, "%.16s-%s%" PRId64 "-%s", txn_config(t)->terminal, what, n, hex);
}

int repprint_report(struct txn *t, const struct report_totals *r, bool z, const json_t *recon)
{
    struct repprint_info in = {.z = z, .when = time(NULL), .operator_id = txn_operator(t)};
    char idem[POSDEV_IDEM_MAX];
    if (z) {
        /* Stored for the reprint without the console text (the findings
         * carry it all); the Z stands whether or not this succeeds. */
        json_t *c = recon != NULL ? json_copy((json_t *)recon) : NULL;
        char *s = NULL;
        if (c != NULL) {
            (void)json_object_del(c, "text"); /* absent is fine */
            s = json_dumps(c, JSON_COMPACT);
        }
        if (s != NULL)
            (void)report_z_note_set(t, r->z_no, s);
        free(s);
        json_decref(c);
        /* One key per Z (its number and time: a new journal's Z 1 is another key). */
        snprintf(idem, sizeof(idem), "%.16s-z%" PRId64 "-%" PRId64, txn_config(t)->terminal,
                 r->z_no, r->to_time);
    } else {
        fresh_key(t, "x", r->z_no, idem);
    }
    return print_doc(t, r, &in, recon, idem);
}

int repprint_z_reprint(struct txn *t, int64_t z_no)
{
    struct report_totals *r = malloc(sizeof(*r));
    struct repprint_info in = {.z = true, .reprint = true, .when = time(NULL),
                               .operator_id = txn_operator(t)};
    json_t *recon = NULL;
    char idem[POSDEV_IDEM_MAX], *note = NULL;
    int rc;
    if (r == NULL)
        return MAMORI_ERR_NOMEM;
    if ((rc = report_z_get(t, z_no, r)) == 0 && (rc = report_z_note_get(t, z_no, &note)) == 0) {
        if (note != NULL)
            recon = json_loads(note, 0, NULL);
        fresh_key(t, "z", z_no, idem);
        rc = print_doc(t, r, &in, recon, idem);
    }
    json_decref(recon);
    free(note);
    free(r);
    return rc;
}
