/*
 * luhn: owns the Luhn mod-10 computation. It does not own what the digits
 * are (PAN, member number): it never logs or copies them.
 */
#include "pos/luhn.h"

#include "mamori/err.h"

/* Sum with doubling starting at the digit `double_first` positions from the right. */
static int luhn_sum(const char *d, size_t n, bool double_rightmost, int *ret)
{
    if (d == NULL || n == 0 || n > LUHN_MAX_DIGITS)
        return MAMORI_ERR_INVAL;
    int sum = 0;
    bool dbl = double_rightmost;
    for (size_t i = n; i-- > 0;) {
        if (d[i] < '0' || d[i] > '9')
            return MAMORI_ERR_INVAL;
        int v = d[i] - '0';
        if (dbl) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
        dbl = !dbl;
    }
    *ret = sum % 10;
    return 0;
}

int luhn_checksum(const char *digits, size_t n, int *ret_sum)
{
    int s, r = luhn_sum(digits, n, false, &s);
    if (r)
        return r;
    *ret_sum = s;
    return 0;
}

int luhn_check_digit(const char *body, size_t n, int *ret_cd)
{
    int s, r;
    if (n >= LUHN_MAX_DIGITS)
        return MAMORI_ERR_INVAL;
    r = luhn_sum(body, n, true, &s);
    if (r)
        return r;
    *ret_cd = (10 - s) % 10;
    return 0;
}

bool luhn_valid(const char *digits, size_t n)
{
    int s;
    return n >= 2 && luhn_checksum(digits, n, &s) == 0 && s == 0;
}
