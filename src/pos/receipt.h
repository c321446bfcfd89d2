/*
 * receipt: render a receipt model as ESC/POS bytes with Japanese text.
 *
 * The receipt is a 適格簡易請求書 (simplified qualified invoice, DOMAIN.md §2.4):
 * issuer name and registration number (T + 13 digits), date and time, lines
 * with the reduced-rate marker "※" and its legend "※印は軽減税率対象商品",
 * per-rate totals with the rate AND the tax (§2.7 "print both"), tenders,
 * change, receipt number, terminal and operator, and a CODE128 barcode of
 * the receipt number (barcode.h RECEIPT format) for returns. Training and
 * reprint receipts carry a banner (【トレーニング】 / 【再発行】) at top and bottom.
 *
 * Text is UTF-8 in the model and converted to CP932 with iconv; double-byte
 * text is sent in Kanji mode (FS C 1, FS &, FS ., DOMAIN.md §5.1/§5.2); the yen
 * sign is printed as full-width ￥ (0x81 0x8F) to avoid the 0x5C trap (§5.2).
 * Layout: 48 half-width columns (80 mm, Font A), a kanji takes 2.
 *
 * Card tenders print brand, last 4 digits, approval code and payment method
 * only; point cards print the member number already masked by the caller
 * (POL-1: receipt_render refuses a member string with more than 4 visible
 * digits).
 */
#ifndef MAMORI_POS_RECEIPT_H
#define MAMORI_POS_RECEIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "pos/tax.h"

#define RECEIPT_COLS 48
#define RECEIPT_LINES_MAX 1000
#define RECEIPT_TENDERS_MAX 32
#define RECEIPT_DISCOUNTS_MAX 100
#define RECEIPT_TEXT_MAX 200      /* bytes of UTF-8 in any one text field */
#define RECEIPT_BYTES_MAX (1u << 20)
#define RECEIPT_REGNO_LEN 14      /* "T" + 13 digits */

enum receipt_kind {
    RECEIPT_SALE = 0,   /* 領収書 */
    RECEIPT_RETURN = 1, /* 返品 (amounts printed negative) */
    RECEIPT_CANCEL = 2, /* 取消 */
};

struct receipt_line {
    const char *name;      /* UTF-8 */
    int64_t unit_price;    /* yen as registered (0 hides the @ line) */
    int32_t qty;           /* >= 1 */
    uint32_t weight_g;     /* weighed items: grams (0 = not weighed) */
    int64_t amount;        /* line amount after line discount */
    int64_t discount;      /* line discount in yen (0 = none), printed under the line */
    bool reduced;          /* taxed at 8 %: prints ※ */
    bool inclusive;        /* 内税 price (prints 内 / 外 in the per-rate block only) */
};

struct receipt_discount {
    const char *label;     /* e.g. "小計値引" or "小計 10%引" */
    int64_t amount;        /* yen, > 0 */
};

enum receipt_tender_kind {
    RECEIPT_TENDER_CASH = 1, /* 現金 / お預り */
    RECEIPT_TENDER_GIFT,     /* 商品券 */
    RECEIPT_TENDER_COUPON,   /* クーポン */
    RECEIPT_TENDER_POINTS,   /* ポイント利用 */
    RECEIPT_TENDER_CARD,     /* クレジット */
    RECEIPT_TENDER_EMONEY,   /* 電子マネー */
    RECEIPT_TENDER_OTHER,
};

struct receipt_tender {
    enum receipt_tender_kind kind;
    const char *label;       /* optional override of the kind's name */
    int64_t amount;
    /* CARD / EMONEY only (NULL = not printed) */
    const char *brand;       /* "VISA" */
    const char *card_last4;  /* exactly 4 digits: printed as ************1234 */
    const char *approval;    /* 承認番号 */
    const char *method;      /* 支払区分: "一括" */
    const char *entry;       /* 読取方法: "IC" (chip) / "磁気" (stripe) */
};

struct receipt_model {
    enum receipt_kind kind;
    const char *issuer_name;     /* required */
    const char *issuer_address;  /* optional */
    const char *issuer_phone;    /* optional */
    const char *registration_no; /* required: "T" + 13 digits */
    time_t when;                 /* transaction time (UTC seconds) */
    int utc_offset_min;          /* printed local time = when + offset (JST = 540) */
    uint32_t store;              /* 0..9999 */
    uint32_t terminal;           /* 0..9999 */
    uint64_t receipt_no;         /* 0..999,999,999 */
    const char *operator_name;   /* 担当 (cashier) */
    uint32_t operator_id;
    const char *checker_name;    /* two-person register (NULL = none) */
    const struct receipt_line *lines;
    size_t n_lines;
    const struct receipt_discount *discounts;
    size_t n_discounts;
    const struct tax_result *tax; /* required: the per-rate block comes from it */
    bool eat_in;                 /* prints 店内飲食 */
    const struct receipt_tender *tenders;
    size_t n_tenders;
    int64_t change;              /* お釣 */
    const char *member_masked;   /* point card, masked (e.g. "************1234"), NULL = none */
    int64_t points_earned;
    int64_t points_balance;
    uint64_t original_receipt_no; /* RETURN/CANCEL: the receipt referred to */
    bool training;               /* 【トレーニング】 banner, 'not valid' line */
    bool reprint;                /* 【再発行】 banner */
    const char *footer;          /* optional message */
};

/* Render m as ESC/POS into out (appended; out limited by its own max).
 * 0; MAMORI_ERR_INVAL for a missing or malformed required element (issuer,
 * registration number, tax), a text that is not UTF-8 or not representable in
 * CP932, an unmasked member number, a bad last4; MAMORI_ERR_TOOBIG past the
 * limits. On failure out may hold a partial receipt: the caller resets it. */
int receipt_render(const struct receipt_model *m, struct buf *out)
    __attribute__((warn_unused_result));

/* Building blocks for other printed documents (the X/Z report, repprint.h),
 * laid out like a receipt: one text line (UTF-8 to CP932, Kanji mode as
 * needed, at most RECEIPT_TEXT_MAX bytes and no control characters); a line
 * with the right part flush right in RECEIPT_COLS; a label with a yen amount. */
int receipt_put_line(struct buf *out, const char *text) __attribute__((warn_unused_result));
int receipt_put_lr(struct buf *out, const char *left, const char *right)
    __attribute__((warn_unused_result));
int receipt_put_amount(struct buf *out, const char *label, int64_t yen)
    __attribute__((warn_unused_result));

/* Check a registration number: "T" followed by exactly 13 digits. */
bool receipt_regno_valid(const char *s) __attribute__((warn_unused_result));

#endif
