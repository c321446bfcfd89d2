/*
 * receipt: owns the layout of a printed receipt as ESC/POS bytes (which
 * elements a 適格簡易請求書 must carry, DOMAIN.md §2.4, and how they are laid
 * out in 48 columns). It does not own the numbers: tax comes from tax.c, the
 * lines, tenders and change from the register engine; it refuses data that
 * must not be printed (an unmasked member number, more than 4 card digits).
 */
#include "pos/receipt.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mamori/err.h"
#include "pos/barcode.h"
#include "pos/jtext.h"

#define ESC 0x1B
#define GS 0x1D
#define FS 0x1C
#define LINE_BYTES_MAX 512 /* one printed line in UTF-8 */

bool receipt_regno_valid(const char *s)
{
    if (s == NULL || strlen(s) != RECEIPT_REGNO_LEN || s[0] != 'T')
        return false;
    for (int i = 1; i < RECEIPT_REGNO_LEN; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int cmd(struct buf *o, const uint8_t *p, size_t n)
{
    return buf_put_bytes(o, p, n);
}

#define CMD(o, ...) cmd((o), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

/* Emit one text line (UTF-8) converted to CP932; double-byte text in Kanji mode. */
static int emit(struct buf *o, const char *s, size_t n)
{
    bool ascii = true;
    int r;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            ascii = false;
    if (ascii)
        return buf_put_bytes(o, s, n) || buf_put_u8(o, '\n') ? MAMORI_ERR_TOOBIG : 0;
    if ((r = CMD(o, FS, '&')) || (r = jtext_to_cp932(s, n, o)) || (r = CMD(o, FS, '.')) ||
        (r = buf_put_u8(o, '\n')))
        return r;
    return 0;
}

static int emit_str(struct buf *o, const char *s)
{
    return emit(o, s, strlen(s));
}

/* left text fitted, right text flush right, in cols columns. */
static int emit_lr(struct buf *o, const char *left, const char *right, size_t cols)
{
    struct buf l;
    size_t wr = 0;
    int r;
    buf_init(&l, LINE_BYTES_MAX);
    if ((r = jtext_width(right, &wr)))
        goto out;
    if (wr + 1 > cols) { /* an over-long right part is cut: amounts never are this long */
        if ((r = jtext_put_fit(&l, right, cols, false)) == 0)
            r = emit(o, (const char *)buf_ptr(&l), buf_remaining(&l));
        goto out;
    }
    if ((r = jtext_put_fit(&l, left, cols - wr - 1, true)) || (r = buf_put_u8(&l, ' ')) ||
        (r = buf_put_bytes(&l, right, strlen(right))))
        goto out;
    r = emit(o, (const char *)buf_ptr(&l), buf_remaining(&l));
out:
    buf_free(&l);
    return r;
}

static int emit_amount(struct buf *o, const char *left, int64_t amount)
{
    char y[48];
    int r = jtext_yen(amount, y, sizeof(y));
    return r ? r : emit_lr(o, left, y, RECEIPT_COLS);
}

static bool text_ok(const char *s, bool required)
{
    if (s == NULL)
        return !required;
    size_t n = strnlen(s, RECEIPT_TEXT_MAX + 1);
    if (n > RECEIPT_TEXT_MAX || (required && n == 0) || !jtext_utf8_valid(s, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return false;
    return true;
}

/* POL-1: a member number on paper shows at most its last 4 digits. */
static bool masked_ok(const char *s)
{
    size_t d = 0;
    for (const char *p = s; *p; p++)
        if (*p >= '0' && *p <= '9')
            d++;
    return d <= 4;
}

static bool last4_ok(const char *s)
{
    return s && strlen(s) == 4 && strspn(s, "0123456789") == 4;
}

static int validate(const struct receipt_model *m)
{
    if (m == NULL || m->tax == NULL || !text_ok(m->issuer_name, true) ||
        !receipt_regno_valid(m->registration_no) || !text_ok(m->issuer_address, false) ||
        !text_ok(m->issuer_phone, false) || !text_ok(m->operator_name, false) ||
        !text_ok(m->checker_name, false) || !text_ok(m->footer, false))
        return MAMORI_ERR_INVAL;
    if (m->kind != RECEIPT_SALE && m->kind != RECEIPT_RETURN && m->kind != RECEIPT_CANCEL)
        return MAMORI_ERR_INVAL;
    if (m->n_lines > RECEIPT_LINES_MAX || m->n_tenders > RECEIPT_TENDERS_MAX ||
        m->n_discounts > RECEIPT_DISCOUNTS_MAX)
        return MAMORI_ERR_TOOBIG;
    if ((m->n_lines && m->lines == NULL) || (m->n_tenders && m->tenders == NULL) ||
        (m->n_discounts && m->discounts == NULL))
        return MAMORI_ERR_INVAL;
    if (m->store > 9999 || m->terminal > 9999 || m->receipt_no > 999999999ULL ||
        m->original_receipt_no > 999999999ULL)
        return MAMORI_ERR_INVAL;
    for (size_t i = 0; i < m->n_lines; i++) {
        const struct receipt_line *l = &m->lines[i];
        if (!text_ok(l->name, true) || l->qty < 1 || l->amount < 0 || l->amount > TAX_AMOUNT_MAX ||
            l->discount < 0 || l->unit_price < 0 || l->unit_price > TAX_AMOUNT_MAX)
            return MAMORI_ERR_INVAL;
    }
    for (size_t i = 0; i < m->n_discounts; i++)
        if (!text_ok(m->discounts[i].label, true) || m->discounts[i].amount <= 0 ||
            m->discounts[i].amount > TAX_AMOUNT_MAX)
            return MAMORI_ERR_INVAL;
    for (size_t i = 0; i < m->n_tenders; i++) {
        const struct receipt_tender *t = &m->tenders[i];
        if (t->kind < RECEIPT_TENDER_CASH || t->kind > RECEIPT_TENDER_OTHER || t->amount < 0 ||
            t->amount > TAX_AMOUNT_MAX || !text_ok(t->label, false) || !text_ok(t->brand, false) ||
            !text_ok(t->approval, false) || !text_ok(t->method, false) || !text_ok(t->entry, false))
            return MAMORI_ERR_INVAL;
        if (t->card_last4 != NULL && !last4_ok(t->card_last4))
            return MAMORI_ERR_INVAL;
    }
    if (m->member_masked != NULL && (!text_ok(m->member_masked, true) || !masked_ok(m->member_masked)))
        return MAMORI_ERR_INVAL;
    if (m->change < 0 || m->change > TAX_AMOUNT_MAX)
        return MAMORI_ERR_INVAL;
    return 0;
}

static const char *tender_name(const struct receipt_tender *t, bool refund)
{
    if (t->label)
        return t->label;
    switch (t->kind) {
    case RECEIPT_TENDER_CASH: return refund ? "現金返金" : "お預り";
    case RECEIPT_TENDER_GIFT: return "商品券";
    case RECEIPT_TENDER_COUPON: return "クーポン";
    case RECEIPT_TENDER_POINTS: return "ポイント利用";
    case RECEIPT_TENDER_CARD: return "クレジット";
    case RECEIPT_TENDER_EMONEY: return "電子マネー";
    case RECEIPT_TENDER_OTHER: break;
    }
    return "その他";
}

static int banner(struct buf *o, const struct receipt_model *m)
{
    int r = 0;
    if (!m->training && !m->reprint)
        return 0;
    if ((r = CMD(o, ESC, 'a', 1)) || (r = CMD(o, GS, 'B', 1)) || (r = CMD(o, ESC, 'E', 1)))
        return r;
    if (m->training && (r = emit_str(o, "【トレーニング】")))
        return r;
    if (m->reprint && (r = emit_str(o, "【再発行】")))
        return r;
    if ((r = CMD(o, ESC, 'E', 0)) || (r = CMD(o, GS, 'B', 0)) || (r = CMD(o, ESC, 'a', 0)))
        return r;
    return 0;
}

static int render(const struct receipt_model *m, struct buf *o)
{
    char a[RECEIPT_TEXT_MAX + 64], b[RECEIPT_TEXT_MAX + 64], y[48]; /* room for any text field + label */
    int r;
    const int64_t sign = m->kind == RECEIPT_SALE ? 1 : -1;
    bool any_reduced = false;

    /* Header: init, Shift JIS kanji code system (DOMAIN.md §5.2). */
    if ((r = CMD(o, ESC, '@')) || (r = CMD(o, FS, 'C', 1)) || (r = banner(o, m)))
        return r;
    if ((r = CMD(o, ESC, 'a', 1)) || (r = CMD(o, ESC, 'E', 1)) || (r = CMD(o, GS, '!', 0x11)) ||
        (r = emit_str(o, m->issuer_name)) || (r = CMD(o, GS, '!', 0x00)) || (r = CMD(o, ESC, 'E', 0)))
        return r;
    if (m->issuer_address && (r = emit_str(o, m->issuer_address)))
        return r;
    if (m->issuer_phone) {
        snprintf(a, sizeof(a), "TEL %s", m->issuer_phone);
        if ((r = emit_str(o, a)))
            return r;
    }
    snprintf(a, sizeof(a), "登録番号 %s", m->registration_no);
    if ((r = emit_str(o, a)) || (r = CMD(o, ESC, 'a', 0)))
        return r;

    /* Date, time, store, terminal, receipt number, operator. */
    struct tm tm;
    time_t when = m->when + (time_t)m->utc_offset_min * 60;
    if (gmtime_r(&when, &tm) == NULL)
        return MAMORI_ERR_INVAL;
    snprintf(a, sizeof(a), "%04d年%02d月%02d日 %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min);
    snprintf(b, sizeof(b), "No.%09" PRIu64, m->receipt_no);
    if ((r = emit_lr(o, a, b, RECEIPT_COLS)))
        return r;
    snprintf(a, sizeof(a), "店%04" PRIu32 " レジ%04" PRIu32, m->store, m->terminal);
    snprintf(b, sizeof(b), "担当 %s(%04" PRIu32 ")", m->operator_name ? m->operator_name : "",
             m->operator_id);
    if ((r = emit_lr(o, a, b, RECEIPT_COLS)))
        return r;
    if (m->checker_name) {
        snprintf(b, sizeof(b), "チェッカー %s", m->checker_name);
        if ((r = emit_lr(o, "", b, RECEIPT_COLS)))
            return r;
    }
    if (m->training && (r = emit_str(o, "※トレーニング中のため売上になりません")))
        return r;

    const char *title = m->kind == RECEIPT_SALE ? "領収書" : m->kind == RECEIPT_RETURN ? "返品" : "取消";
    if ((r = CMD(o, ESC, 'a', 1)) || (r = CMD(o, ESC, 'E', 1)) || (r = CMD(o, GS, '!', 0x01)) ||
        (r = emit_str(o, title)) || (r = CMD(o, GS, '!', 0x00)) || (r = CMD(o, ESC, 'E', 0)) ||
        (r = CMD(o, ESC, 'a', 0)))
        return r;
    if (m->kind != RECEIPT_SALE) {
        snprintf(b, sizeof(b), "元レシート No.%09" PRIu64, m->original_receipt_no);
        if ((r = emit_str(o, b)))
            return r;
    }
    if (m->eat_in && (r = emit_str(o, "店内飲食 (10%)")))
        return r;

    /* Lines: name (※ for reduced rate), count, amount. */
    for (size_t i = 0; i < m->n_lines; i++) {
        const struct receipt_line *l = &m->lines[i];
        char name[RECEIPT_TEXT_MAX + 8];
        struct buf nb;
        buf_init(&nb, sizeof(name));
        /* The name is cut to leave room for the marker, which must never be cut. */
        r = jtext_put_fit(&nb, l->name, 26, false);
        if (r == 0 && l->reduced)
            r = buf_put_bytes(&nb, "※", strlen("※"));
        if (r == 0)
            r = buf_put_u8(&nb, '\0');
        if (r) {
            buf_free(&nb);
            return r;
        }
        snprintf(name, sizeof(name), "%s", (const char *)buf_ptr(&nb));
        buf_free(&nb);
        any_reduced |= l->reduced;
        if ((r = jtext_yen(sign * (l->amount + l->discount), y, sizeof(y))))
            return r;
        snprintf(b, sizeof(b), "%" PRId32 "点 %10s", l->qty, y);
        if ((r = emit_lr(o, name, b, RECEIPT_COLS)))
            return r;
        if (l->weight_g > 0 && l->unit_price > 0) {
            char u[48];
            if ((r = jtext_yen(l->unit_price, u, sizeof(u))))
                return r;
            snprintf(a, sizeof(a), "  %" PRIu32 "g @%s/100g", l->weight_g, u);
            if ((r = emit_str(o, a)))
                return r;
        } else if (l->qty > 1 && l->unit_price > 0) {
            char u[48];
            if ((r = jtext_yen(l->unit_price, u, sizeof(u))))
                return r;
            snprintf(a, sizeof(a), "  @%s x %" PRId32, u, l->qty);
            if ((r = emit_str(o, a)))
                return r;
        }
        if (l->discount > 0 && (r = emit_amount(o, "  値引", -sign * l->discount)))
            return r;
    }

    /* Subtotal and subtotal discounts. */
    snprintf(a, sizeof(a), "小計 %" PRIu32 "点", m->tax->g[TAX_G10].count + m->tax->g[TAX_G8].count);
    if ((r = emit_amount(o, a, sign * m->tax->subtotal)))
        return r;
    for (size_t i = 0; i < m->n_discounts; i++)
        if ((r = emit_amount(o, m->discounts[i].label, -sign * m->discounts[i].amount)))
            return r;

    /* 外税: the tax added on top of tax-exclusive prices, before the total. */
    int64_t added = m->tax->g[TAX_G10].tax_added + m->tax->g[TAX_G8].tax_added;
    if (added > 0 && (r = emit_amount(o, "外税", sign * added)))
        return r;

    /* Total (bold, double height). */
    if ((r = CMD(o, ESC, 'E', 1)) || (r = CMD(o, GS, '!', 0x01)) ||
        (r = emit_amount(o, "合計", sign * m->tax->total)) || (r = CMD(o, GS, '!', 0x00)) ||
        (r = CMD(o, ESC, 'E', 0)))
        return r;

    /* Per rate: the taxable total, the rate AND the tax (DOMAIN.md §2.4, §2.7). */
    for (int g = 0; g < TAX_GROUPS; g++) {
        const struct tax_group *tg = &m->tax->g[g];
        if (tg->taxable == 0 && tg->count == 0)
            continue;
        snprintf(a, sizeof(a), "%d%%対象%s %" PRIu32 "点", tg->rate_pct, g == TAX_G8 ? "※" : "",
                 tg->count);
        if ((r = emit_amount(o, a, sign * tg->taxable)))
            return r;
        snprintf(a, sizeof(a), "  (%s消費税等 %d%%)", tg->excl_part > 0 && tg->incl_part == 0 ? "外" : "内",
                 tg->rate_pct);
        if ((r = emit_amount(o, a, sign * tg->tax)))
            return r;
    }

    /* Tenders, change. */
    for (size_t i = 0; i < m->n_tenders; i++) {
        const struct receipt_tender *t = &m->tenders[i];
        if ((r = emit_amount(o, tender_name(t, m->kind != RECEIPT_SALE), t->amount)))
            return r;
        if (t->brand) {
            snprintf(a, sizeof(a), "  ブランド %s", t->brand);
            if ((r = emit_str(o, a)))
                return r;
        }
        if (t->card_last4) {
            snprintf(a, sizeof(a), "  カード番号 ************%s", t->card_last4);
            if ((r = emit_str(o, a)))
                return r;
        }
        if (t->approval) {
            snprintf(a, sizeof(a), "  承認番号 %s", t->approval);
            if ((r = emit_str(o, a)))
                return r;
        }
        if (t->method) {
            snprintf(a, sizeof(a), "  支払区分 %s", t->method);
            if ((r = emit_str(o, a)))
                return r;
        }
        if (t->entry) {
            snprintf(a, sizeof(a), "  読取方法 %s", t->entry);
            if ((r = emit_str(o, a)))
                return r;
        }
    }
    if (m->kind == RECEIPT_SALE && (r = emit_amount(o, "お釣", m->change)))
        return r;

    if (m->member_masked) {
        snprintf(a, sizeof(a), "ポイント会員 %s", m->member_masked);
        if ((r = emit_str(o, a)))
            return r;
        snprintf(a, sizeof(a), "%" PRId64 "pt", m->points_earned);
        if ((r = emit_lr(o, "今回ポイント", a, RECEIPT_COLS)))
            return r;
        snprintf(a, sizeof(a), "%" PRId64 "pt", m->points_balance);
        if ((r = emit_lr(o, "ポイント残高", a, RECEIPT_COLS)))
            return r;
    }
    /* The legend is printed whenever a ※ appears (DOMAIN.md §2.4 item 3). */
    if ((any_reduced || m->tax->g[TAX_G8].taxable > 0) && (r = emit_str(o, "※印は軽減税率対象商品")))
        return r;
    if (m->footer && (r = emit_str(o, m->footer)))
        return r;

    /* Receipt number barcode (CODE128, code set B), HRI below (DOMAIN.md §5.1). */
    char code[BARCODE_RECEIPT_LEN + 1];
    if ((r = barcode_receipt_encode(false, m->store, m->terminal, m->receipt_no, code)))
        return r;
    if ((r = CMD(o, ESC, 'a', 1)) || (r = CMD(o, GS, 'h', 60)) || (r = CMD(o, GS, 'w', 2)) ||
        (r = CMD(o, GS, 'H', 2)) || (r = CMD(o, GS, 'k', 73, 2 + BARCODE_RECEIPT_LEN, '{', 'B')) ||
        (r = buf_put_bytes(o, code, BARCODE_RECEIPT_LEN)) || (r = buf_put_u8(o, '\n')) ||
        (r = CMD(o, ESC, 'a', 0)))
        return r;
    if ((r = banner(o, m)))
        return r;
    return CMD(o, GS, 'V', 66, 3);
}

int receipt_render(const struct receipt_model *m, struct buf *out)
{
    int r;
    if (out == NULL)
        return MAMORI_ERR_INVAL;
    if ((r = validate(m)))
        return r;
    if ((r = render(m, out)))
        return r;
    return buf_remaining(out) > RECEIPT_BYTES_MAX ? MAMORI_ERR_TOOBIG : 0;
}

int receipt_put_line(struct buf *out, const char *text)
{
    return out == NULL || !text_ok(text, true) ? MAMORI_ERR_INVAL : emit_str(out, text);
}

int receipt_put_lr(struct buf *out, const char *left, const char *right)
{
    if (out == NULL || !text_ok(left, true) || !text_ok(right, true))
        return MAMORI_ERR_INVAL;
    return emit_lr(out, left, right, RECEIPT_COLS);
}

int receipt_put_amount(struct buf *out, const char *label, int64_t yen)
{
    if (out == NULL || !text_ok(label, true))
        return MAMORI_ERR_INVAL;
    return emit_amount(out, label, yen);
}
