/*
 * barcode: parse a scanned or keyed code into what the register must do with it.
 *
 * Kinds (docs/barcodes.md has every layout):
 *   JAN / EAN-13, EAN-8, UPC-A (12 digits), UPC-E (8 digits, number system 0/1)
 *     -> checked with the GS1 mod-10 check digit (DOMAIN.md §3.1) and
 *        normalised to a GTIN-13 lookup key.
 *   In-store codes, prefix 02 and 20-29 (DOMAIN.md §3.2): per-prefix layouts
 *     (struct barcode_layout, as registers configure them):
 *       INSTORE_ITEM  PLU type, price looked up: the whole code is the key;
 *       INSTORE_PRICE NON-PLU type, price embedded: validated JAN CD, then the
 *                     price check digit if the layout has one (GS1 GenSpecs
 *                     §7.9.2-7.9.4 via DOMAIN.md §3.2), then the lookup key is
 *                     the code with the price (and price CD) digits zeroed and
 *                     the JAN CD recomputed (DOMAIN.md §3.2 "validation order").
 *   COUPON   18 digits "29" T IIII VVVV YYMMDD CD (in-store coupon, our format;
 *            DOMAIN.md §3.2 found no national coupon standard).
 *   RECEIPT  20 digits "91" SSSS TTTT NNNNNNNNN CD (receipt number, for returns);
 *   SLIP     20 digits "92" ... same layout (suspended-transaction slip).
 *
 * Input is outside bytes (scanner, keyboard): read through struct buf, at most
 * BARCODE_INPUT_MAX bytes, digits only (a trailing CR/LF is tolerated).
 */
#ifndef MAMORI_POS_BARCODE_H
#define MAMORI_POS_BARCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BARCODE_INPUT_MAX 32     /* longest accepted scan, bytes */
#define BARCODE_GTIN13_LEN 13
#define BARCODE_CODE_MAX 20      /* longest normalised code (receipt/slip) */
#define BARCODE_COUPON_LEN 18
#define BARCODE_RECEIPT_LEN 20
#define BARCODE_LAYOUTS_MAX 11   /* 02, 20..29 */
#define BARCODE_PRICE_MAX_DIGITS 6

enum barcode_kind {
    BARCODE_NONE = 0,
    BARCODE_JAN13,         /* EAN-13 / JAN (any non-in-store prefix) */
    BARCODE_EAN8,          /* EAN-8 / JAN short */
    BARCODE_UPCA,          /* UPC-A 12 digits */
    BARCODE_UPCE,          /* UPC-E 8 digits, expanded to UPC-A */
    BARCODE_INSTORE_ITEM,  /* in-store PLU type (02/20-29 without embedded price; also 8-digit 2x) */
    BARCODE_INSTORE_PRICE, /* in-store NON-PLU type with embedded price */
    BARCODE_COUPON,        /* in-store coupon */
    BARCODE_RECEIPT,       /* receipt number (returns, reprints) */
    BARCODE_SLIP,          /* suspended-transaction slip */
};

enum barcode_coupon_type {
    BARCODE_COUPON_YEN = 1,     /* value = yen off */
    BARCODE_COUPON_PERCENT = 2, /* value = percent off, 1..100 */
};

/* Layout of one in-store prefix (DOMAIN.md §3.2: "make the layout a per-prefix
 * configuration (flag, item length, price length, PCD yes/no)"). */
struct barcode_layout {
    uint8_t flag;      /* two-digit prefix value: 2, 20..29 */
    bool price_embedded; /* false: PLU type (INSTORE_ITEM) */
    uint8_t item_len;  /* item digits after the flag */
    uint8_t price_len; /* price digits (4, 5 or 6) */
    bool price_cd;     /* a price check digit precedes the price (4/5-digit price only) */
    /* Layout: flag(2) item(item_len) [unused] [price CD] price(price_len) JAN-CD;
     * item_len + price_cd + price_len <= 10, unused digits zeroed in the key. */
};

struct barcode_config {
    struct barcode_layout layouts[BARCODE_LAYOUTS_MAX];
    size_t n_layouts;
};

struct barcode {
    enum barcode_kind kind;
    /* Item kinds: the GTIN-13 lookup key (price digits zeroed for INSTORE_PRICE).
     * COUPON/RECEIPT/SLIP: the full digit string. NUL-terminated. */
    char code[BARCODE_CODE_MAX + 1];
    int64_t price;     /* INSTORE_PRICE: embedded price in yen; otherwise -1 */
    /* COUPON */
    enum barcode_coupon_type coupon_type;
    uint32_t coupon_id;     /* 0..9999 */
    uint32_t coupon_value;  /* yen (1..9999) or percent (1..100) */
    uint32_t coupon_expiry; /* YYYYMMDD (20YY) */
    /* RECEIPT / SLIP */
    uint32_t store;    /* 0..9999 */
    uint32_t terminal; /* 0..9999 */
    uint64_t serial;   /* 0..999,999,999 */
};

/* The default in-store layouts (documented in docs/barcodes.md):
 *   02 NON-PLU: item 5, price CD, price 4   (DOMAIN.md §3.2 worked example 0212345703984)
 *   20 PLU (10 item digits)
 *   21 NON-PLU: item 6, price 4, no PCD     (DOMAIN.md §3.2 example 2112002515005)
 *   22 NON-PLU: item 4, price CD, price 5   (GS1 Japan variant 2)
 *   23 NON-PLU: item 5, price 5, no PCD     (GS1 Japan variant 3)
 *   24, 25, 26 PLU
 *   27 NON-PLU: item 3, 1 unused, price 6  (DOMAIN.md §3.2 CASIO example)
 *   28 PLU
 *   29 PLU for 13 digits; 18 digits = COUPON (our format) */
void barcode_config_default(struct barcode_config *ret);

/* Parse n bytes of a scanned or keyed code. cfg NULL = defaults.
 * Returns 0 and fills *ret; MAMORI_ERR_CHECKSUM for a wrong JAN/EAN/UPC or
 * price check digit; MAMORI_ERR_INVAL for non-digits, a wrong length or a
 * field out of range (bad coupon date, 0 % coupon); MAMORI_ERR_TOOBIG past
 * BARCODE_INPUT_MAX. *ret is untouched on failure. */
int barcode_parse(const struct barcode_config *cfg, const void *in, size_t n,
                  struct barcode *ret) __attribute__((warn_unused_result));

/* GS1 mod-10 (weights 3/1 from the right) check digit of n ASCII digits
 * (the body without its check digit). 0 and *ret_cd in 0..9, or MAMORI_ERR_INVAL. */
int barcode_gs1_check_digit(const char *body, size_t n, int *ret_cd);
/* True when the n digits (body + check digit, n >= 2) carry a correct GS1 check digit. */
bool barcode_gs1_valid(const char *digits, size_t n) __attribute__((warn_unused_result));

/* Price check digits (GS1 GenSpecs §7.9.3/§7.9.4 via DOMAIN.md §3.2):
 * p = 4 or 5 ASCII digits. 0 and *ret_cd, or MAMORI_ERR_INVAL. */
int barcode_price_cd4(const char p[static 4], int *ret_cd);
int barcode_price_cd5(const char p[static 5], int *ret_cd);

/* UPC-E (8 digits incl. number system and check digit) -> UPC-A (12 digits + NUL). */
int barcode_upce_expand(const char upce[static 8], char ret_upca[static 13]);

/* Build an in-store price code for a layout (label printers, tests, demo):
 * item = item digits (layout->item_len), price in yen. ret = 13 digits + NUL. */
int barcode_instore_price_encode(const struct barcode_layout *l, const char *item,
                                 int64_t price, char ret[static BARCODE_GTIN13_LEN + 1]);
/* Build a coupon code. ret = 18 digits + NUL. */
int barcode_coupon_encode(enum barcode_coupon_type type, uint32_t id, uint32_t value,
                          uint32_t expiry_yyyymmdd, char ret[static BARCODE_COUPON_LEN + 1]);
/* Build a receipt (slip=false) or slip (slip=true) number code. ret = 20 digits + NUL. */
int barcode_receipt_encode(bool slip, uint32_t store, uint32_t terminal, uint64_t serial,
                           char ret[static BARCODE_RECEIPT_LEN + 1]);

/* "JAN", "EAN-8", ... for messages. */
const char *barcode_kind_name(enum barcode_kind k);

#endif
