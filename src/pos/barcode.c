/*
 * barcode: owns the recognition of scanned and keyed codes (docs/barcodes.md):
 * check digits (GS1 mod 10, price check digits), GTIN-13 normalisation,
 * in-store layouts, and mamori's own coupon and receipt/slip formats.
 * It does not own what an item or a coupon is worth (items, posengine).
 */
#include "pos/barcode.h"

#include <string.h>

#include "common/buf.h"
#include "mamori/err.h"

/* GS1 GenSpecs §7.9.3 weighting tables, via DOMAIN.md §3.2: digit -> product. */
static const uint8_t W2MINUS[10] = {0, 2, 4, 6, 8, 9, 1, 3, 5, 7};
static const uint8_t W3[10] = {0, 3, 6, 9, 2, 5, 8, 1, 4, 7};
static const uint8_t W5PLUS[10] = {0, 5, 1, 6, 2, 7, 3, 8, 4, 9};
static const uint8_t W5MINUS[10] = {0, 5, 9, 4, 8, 3, 7, 2, 6, 1};

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static uint64_t digits_value(const char *s, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    return v;
}

static void put_digits(char *out, uint64_t v, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

int barcode_gs1_check_digit(const char *body, size_t n, int *ret_cd)
{
    if (body == NULL || n == 0 || n > BARCODE_INPUT_MAX || !all_digits(body, n))
        return MAMORI_ERR_INVAL;
    int sum = 0;
    /* Positions from the right, starting at 1: odd x3, even x1. */
    for (size_t k = 1; k <= n; k++)
        sum += (body[n - k] - '0') * ((k & 1) ? 3 : 1);
    *ret_cd = (10 - sum % 10) % 10;
    return 0;
}

bool barcode_gs1_valid(const char *digits, size_t n)
{
    int cd;
    if (digits == NULL || n < 2 || n > BARCODE_INPUT_MAX || !all_digits(digits, n))
        return false;
    if (barcode_gs1_check_digit(digits, n - 1, &cd))
        return false;
    return cd == digits[n - 1] - '0';
}

int barcode_price_cd4(const char p[static 4], int *ret_cd)
{
    if (!all_digits(p, 4))
        return MAMORI_ERR_INVAL;
    int sum = W2MINUS[p[0] - '0'] + W2MINUS[p[1] - '0'] + W3[p[2] - '0'] + W5MINUS[p[3] - '0'];
    *ret_cd = (sum * 3) % 10;
    return 0;
}

int barcode_price_cd5(const char p[static 5], int *ret_cd)
{
    if (!all_digits(p, 5))
        return MAMORI_ERR_INVAL;
    int sum = W5PLUS[p[0] - '0'] + W2MINUS[p[1] - '0'] + W5MINUS[p[2] - '0'] +
              W5PLUS[p[3] - '0'] + W2MINUS[p[4] - '0'];
    int r = (10 - sum % 10) % 10;
    for (int d = 0; d < 10; d++)
        if (W5MINUS[d] == r) {
            *ret_cd = d;
            return 0;
        }
    return MAMORI_ERR_INTERNAL; /* W5MINUS is a permutation: unreachable */
}

int barcode_upce_expand(const char upce[static 8], char ret_upca[static 13])
{
    char a[13];
    if (!all_digits(upce, 8) || (upce[0] != '0' && upce[0] != '1'))
        return MAMORI_ERR_INVAL;
    const char *x = upce + 1; /* six data digits x[0..5] */
    a[0] = upce[0];
    switch (x[5]) {
    case '0': case '1': case '2':
        memcpy(a + 1, (char[]){x[0], x[1], x[5], '0', '0', '0', '0', x[2], x[3], x[4]}, 10);
        break;
    case '3':
        memcpy(a + 1, (char[]){x[0], x[1], x[2], '0', '0', '0', '0', '0', x[3], x[4]}, 10);
        break;
    case '4':
        memcpy(a + 1, (char[]){x[0], x[1], x[2], x[3], '0', '0', '0', '0', '0', x[4]}, 10);
        break;
    default:
        memcpy(a + 1, (char[]){x[0], x[1], x[2], x[3], x[4], '0', '0', '0', '0', x[5]}, 10);
        break;
    }
    a[11] = upce[7];
    a[12] = '\0';
    if (!barcode_gs1_valid(a, 12))
        return MAMORI_ERR_CHECKSUM;
    memcpy(ret_upca, a, 13);
    return 0;
}

void barcode_config_default(struct barcode_config *ret)
{
    static const struct barcode_layout def[] = {
        {2, true, 5, 4, true},    /* DOMAIN.md §3.2 worked example 0212345703984 */
        {20, false, 10, 0, false},
        {21, true, 6, 4, false},  /* DOMAIN.md §3.2 example 2112002515005 */
        {22, true, 4, 5, true},   /* GS1 Japan variant "5-digit price with price CD" */
        {23, true, 5, 5, false},  /* GS1 Japan variant "5-digit price, no price CD" */
        {24, false, 10, 0, false},
        {25, false, 10, 0, false},
        {26, false, 10, 0, false},
        {27, true, 3, 6, false},  /* DOMAIN.md §3.2 CASIO V-R100 example 2734567890122
                                   * (digit 6 between item and price unused) */
        {28, false, 10, 0, false},
        {29, false, 10, 0, false},
    };
    memset(ret, 0, sizeof(*ret));
    memcpy(ret->layouts, def, sizeof(def));
    ret->n_layouts = sizeof(def) / sizeof(def[0]);
}

static bool layout_ok(const struct barcode_layout *l)
{
    if (!(l->flag == 2 || (l->flag >= 20 && l->flag <= 29)))
        return false;
    if (!l->price_embedded)
        return l->item_len == 10 && l->price_len == 0 && !l->price_cd;
    if (l->price_len < 4 || l->price_len > BARCODE_PRICE_MAX_DIGITS)
        return false;
    if (l->price_cd && l->price_len > 5)
        return false;
    /* Digits between the item and the (price CD +) price are unused (zeroed in
     * the lookup key), as in the CASIO example of DOMAIN.md §3.2. */
    return l->item_len >= 1 && (size_t)l->item_len + l->price_len + (l->price_cd ? 1 : 0) <= 10;
}

static const struct barcode_layout *find_layout(const struct barcode_config *cfg, int flag)
{
    for (size_t i = 0; i < cfg->n_layouts && i < BARCODE_LAYOUTS_MAX; i++)
        if (cfg->layouts[i].flag == flag)
            return &cfg->layouts[i];
    return NULL;
}

/* An in-store 13-digit code g (valid JAN CD) through its layout. */
static int parse_instore(const struct barcode_layout *l, const char g[13], struct barcode *b)
{
    if (!layout_ok(l))
        return MAMORI_ERR_CONFIG;
    memcpy(b->code, g, 13);
    b->code[13] = '\0';
    if (!l->price_embedded) {
        b->kind = BARCODE_INSTORE_ITEM;
        return 0;
    }
    size_t poff = 12 - (size_t)l->price_len; /* the price ends before the JAN CD */
    const char *price = g + poff;
    if (l->price_cd) {
        int cd, r = l->price_len == 4 ? barcode_price_cd4(price, &cd)
                                      : barcode_price_cd5(price, &cd);
        if (r)
            return r;
        if (cd != g[poff - 1] - '0')
            return MAMORI_ERR_CHECKSUM;
    }
    b->kind = BARCODE_INSTORE_PRICE;
    b->price = (int64_t)digits_value(price, l->price_len);
    /* Lookup key: the price (and its CD) zeroed, JAN CD recomputed (§3.2). */
    memset(b->code + 2 + l->item_len, '0', 10 - l->item_len);
    int cd;
    if (barcode_gs1_check_digit(b->code, 12, &cd))
        return MAMORI_ERR_INTERNAL;
    b->code[12] = (char)('0' + cd);
    return 0;
}

static bool valid_date(uint32_t y, uint32_t m, uint32_t d)
{
    static const uint8_t mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return false;
    uint32_t lim = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        lim = 29;
    return d <= lim;
}

static int parse_coupon(const char *s, struct barcode *b)
{
    uint32_t type = (uint32_t)(s[2] - '0');
    uint32_t id = (uint32_t)digits_value(s + 3, 4);
    uint32_t value = (uint32_t)digits_value(s + 7, 4);
    uint32_t yy = (uint32_t)digits_value(s + 11, 2);
    uint32_t mm = (uint32_t)digits_value(s + 13, 2);
    uint32_t dd = (uint32_t)digits_value(s + 15, 2);
    if (type != BARCODE_COUPON_YEN && type != BARCODE_COUPON_PERCENT)
        return MAMORI_ERR_INVAL;
    if (value == 0 || (type == BARCODE_COUPON_PERCENT && value > 100))
        return MAMORI_ERR_INVAL;
    if (!valid_date(2000 + yy, mm, dd))
        return MAMORI_ERR_INVAL;
    b->kind = BARCODE_COUPON;
    memcpy(b->code, s, BARCODE_COUPON_LEN);
    b->code[BARCODE_COUPON_LEN] = '\0';
    b->coupon_type = (enum barcode_coupon_type)type;
    b->coupon_id = id;
    b->coupon_value = value;
    b->coupon_expiry = (2000 + yy) * 10000 + mm * 100 + dd;
    return 0;
}

static int parse_receipt(const char *s, struct barcode *b)
{
    b->kind = s[1] == '1' ? BARCODE_RECEIPT : BARCODE_SLIP;
    memcpy(b->code, s, BARCODE_RECEIPT_LEN);
    b->code[BARCODE_RECEIPT_LEN] = '\0';
    b->store = (uint32_t)digits_value(s + 2, 4);
    b->terminal = (uint32_t)digits_value(s + 6, 4);
    b->serial = digits_value(s + 10, 9);
    return 0;
}

/* Classify a GTIN-13 g (check digit already valid). */
static int parse_gtin13(const struct barcode_config *cfg, const char g[13], enum barcode_kind plain,
                        struct barcode *b)
{
    int flag = (g[0] - '0') * 10 + (g[1] - '0');
    if (flag == 2 || (flag >= 20 && flag <= 29)) {
        const struct barcode_layout *l = find_layout(cfg, flag);
        if (l != NULL)
            return parse_instore(l, g, b);
        b->kind = BARCODE_INSTORE_ITEM; /* unconfigured in-store prefix: PLU type */
    } else {
        b->kind = plain;
    }
    memcpy(b->code, g, 13);
    b->code[13] = '\0';
    return 0;
}

int barcode_parse(const struct barcode_config *cfg, const void *in, size_t n, struct barcode *ret)
{
    struct barcode_config defcfg;
    struct buf b;
    struct barcode out;
    char s[BARCODE_INPUT_MAX + 1];
    char g[14];
    size_t len;
    int r;

    if (in == NULL || ret == NULL)
        return MAMORI_ERR_INVAL;
    if (n > BARCODE_INPUT_MAX)
        return MAMORI_ERR_TOOBIG;
    if (cfg == NULL) {
        barcode_config_default(&defcfg);
        cfg = &defcfg;
    }
    buf_view(&b, in, n);
    /* A scanner suffix (CR, LF, CRLF) is tolerated; nothing else. */
    len = n;
    while (len > 0 && (((const uint8_t *)in)[len - 1] == '\n' || ((const uint8_t *)in)[len - 1] == '\r'))
        len--;
    if ((r = buf_get_bytes(&b, s, len)) || (r = buf_skip(&b, n - len)) || (r = buf_end(&b)))
        return r;
    s[len] = '\0';
    if (len == 0 || !all_digits(s, len))
        return MAMORI_ERR_INVAL;

    memset(&out, 0, sizeof(out));
    out.price = -1;
    switch (len) {
    case 8:
        if (barcode_gs1_valid(s, 8)) {
            memcpy(g, "00000", 5);
            memcpy(g + 5, s, 8);
            g[13] = '\0';
            memcpy(out.code, g, 14);
            out.kind = (s[0] == '2' || (s[0] == '0' && s[1] == '2')) ? BARCODE_INSTORE_ITEM
                                                                      : BARCODE_EAN8;
            break;
        }
        /* Not a valid EAN-8: maybe UPC-E (number system 0/1). */
        if (s[0] == '0' || s[0] == '1') {
            char a[13];
            if (barcode_upce_expand(s, a) == 0) {
                g[0] = '0';
                memcpy(g + 1, a, 12);
                g[13] = '\0';
                memcpy(out.code, g, 14);
                out.kind = BARCODE_UPCE;
                break;
            }
        }
        return MAMORI_ERR_CHECKSUM;
    case 12:
        if (!barcode_gs1_valid(s, 12))
            return MAMORI_ERR_CHECKSUM;
        g[0] = '0';
        memcpy(g + 1, s, 12);
        if ((r = parse_gtin13(cfg, g, BARCODE_UPCA, &out)))
            return r;
        break;
    case 13:
        if (!barcode_gs1_valid(s, 13))
            return MAMORI_ERR_CHECKSUM;
        if ((r = parse_gtin13(cfg, s, BARCODE_JAN13, &out)))
            return r;
        break;
    case 14:
        if (!barcode_gs1_valid(s, 14))
            return MAMORI_ERR_CHECKSUM;
        if (s[0] != '0')
            return MAMORI_ERR_UNSUPPORTED; /* GTIN-14 case codes are not sold at the register */
        if ((r = parse_gtin13(cfg, s + 1, BARCODE_JAN13, &out)))
            return r;
        break;
    case BARCODE_COUPON_LEN:
        if (s[0] != '2' || s[1] != '9')
            return MAMORI_ERR_INVAL;
        if (!barcode_gs1_valid(s, len))
            return MAMORI_ERR_CHECKSUM;
        if ((r = parse_coupon(s, &out)))
            return r;
        break;
    case BARCODE_RECEIPT_LEN:
        if (s[0] != '9' || (s[1] != '1' && s[1] != '2'))
            return MAMORI_ERR_INVAL;
        if (!barcode_gs1_valid(s, len))
            return MAMORI_ERR_CHECKSUM;
        if ((r = parse_receipt(s, &out)))
            return r;
        break;
    default:
        return MAMORI_ERR_INVAL;
    }
    *ret = out;
    return 0;
}

int barcode_instore_price_encode(const struct barcode_layout *l, const char *item, int64_t price,
                                 char ret[static BARCODE_GTIN13_LEN + 1])
{
    char c[14];
    int cd;
    if (l == NULL || item == NULL || !layout_ok(l) || !l->price_embedded)
        return MAMORI_ERR_INVAL;
    if (strlen(item) != l->item_len || !all_digits(item, l->item_len))
        return MAMORI_ERR_INVAL;
    int64_t lim = 1;
    for (int i = 0; i < l->price_len; i++)
        lim *= 10;
    if (price < 0 || price >= lim)
        return MAMORI_ERR_INVAL;
    memset(c, '0', sizeof(c));
    c[0] = (char)('0' + l->flag / 10);
    c[1] = (char)('0' + l->flag % 10);
    memcpy(c + 2, item, l->item_len);
    size_t poff = 12 - (size_t)l->price_len;
    put_digits(c + poff, (uint64_t)price, l->price_len);
    if (l->price_cd) {
        int r = l->price_len == 4 ? barcode_price_cd4(c + poff, &cd) : barcode_price_cd5(c + poff, &cd);
        if (r)
            return r;
        c[poff - 1] = (char)('0' + cd);
    }
    if (barcode_gs1_check_digit(c, 12, &cd))
        return MAMORI_ERR_INTERNAL;
    c[12] = (char)('0' + cd);
    c[13] = '\0';
    memcpy(ret, c, 14);
    return 0;
}

int barcode_coupon_encode(enum barcode_coupon_type type, uint32_t id, uint32_t value,
                          uint32_t expiry, char ret[static BARCODE_COUPON_LEN + 1])
{
    char c[BARCODE_COUPON_LEN + 1];
    int cd;
    uint32_t y = expiry / 10000, m = expiry / 100 % 100, d = expiry % 100;
    if (type != BARCODE_COUPON_YEN && type != BARCODE_COUPON_PERCENT)
        return MAMORI_ERR_INVAL;
    if (id > 9999 || value == 0 || value > 9999 || (type == BARCODE_COUPON_PERCENT && value > 100))
        return MAMORI_ERR_INVAL;
    if (y < 2000 || y > 2099 || !valid_date(y, m, d))
        return MAMORI_ERR_INVAL;
    c[0] = '2';
    c[1] = '9';
    c[2] = (char)('0' + type);
    put_digits(c + 3, id, 4);
    put_digits(c + 7, value, 4);
    put_digits(c + 11, y - 2000, 2);
    put_digits(c + 13, m, 2);
    put_digits(c + 15, d, 2);
    if (barcode_gs1_check_digit(c, 17, &cd))
        return MAMORI_ERR_INTERNAL;
    c[17] = (char)('0' + cd);
    c[18] = '\0';
    memcpy(ret, c, sizeof(c));
    return 0;
}

int barcode_receipt_encode(bool slip, uint32_t store, uint32_t terminal, uint64_t serial,
                           char ret[static BARCODE_RECEIPT_LEN + 1])
{
    char c[BARCODE_RECEIPT_LEN + 1];
    int cd;
    if (store > 9999 || terminal > 9999 || serial > 999999999ULL)
        return MAMORI_ERR_INVAL;
    c[0] = '9';
    c[1] = slip ? '2' : '1';
    put_digits(c + 2, store, 4);
    put_digits(c + 6, terminal, 4);
    put_digits(c + 10, serial, 9);
    if (barcode_gs1_check_digit(c, 19, &cd))
        return MAMORI_ERR_INTERNAL;
    c[19] = (char)('0' + cd);
    c[20] = '\0';
    memcpy(ret, c, sizeof(c));
    return 0;
}

const char *barcode_kind_name(enum barcode_kind k)
{
    switch (k) {
    case BARCODE_JAN13: return "JAN";
    case BARCODE_EAN8: return "EAN-8";
    case BARCODE_UPCA: return "UPC-A";
    case BARCODE_UPCE: return "UPC-E";
    case BARCODE_INSTORE_ITEM: return "in-store item";
    case BARCODE_INSTORE_PRICE: return "in-store price";
    case BARCODE_COUPON: return "coupon";
    case BARCODE_RECEIPT: return "receipt";
    case BARCODE_SLIP: return "slip";
    case BARCODE_NONE: break;
    }
    return "none";
}
