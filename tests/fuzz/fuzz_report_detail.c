/* libFuzzer target: report_detail_parse, a stored cash declaration
 * ("drawer|machine|counted" piece counts, OPS-5 by denomination) read back
 * from the journal. Input: 8 bytes of declared amount (little endian), then
 * the detail text. Property: whatever is accepted re-formats to a detail
 * that parses to the same declaration (a fixed point); counts stay in
 * range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pos/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct report_totals *a, *b;
    char text[REPORT_DETAIL_MAX + 1], again[REPORT_DETAIL_MAX];
    uint64_t amount = 0;
    if (size < 8 || size - 8 > REPORT_DETAIL_MAX)
        return 0;
    for (int i = 0; i < 8; i++)
        amount |= (uint64_t)data[i] << (8 * i);
    memcpy(text, data + 8, size - 8);
    text[size - 8] = '\0';
    a = calloc(1, sizeof(*a));
    b = calloc(1, sizeof(*b));
    if (a == NULL || b == NULL)
        abort();
    a->declared_amount = (int64_t)(amount >> 1);
    report_detail_parse(text, a);
    for (int i = 0; i < REPORT_DENOMS; i++)
        if (a->counts[i] < 0 || a->counts[i] > REPORT_COUNT_MAX ||
            a->changer_expected[i] < 0 || a->changer_expected[i] > REPORT_COUNT_MAX ||
            a->changer_counts[i] < 0 || a->changer_counts[i] > REPORT_COUNT_MAX)
            abort();
    if (a->changer_declared && !a->changer_known)
        abort();
    if (report_detail_format(a, again) != 0)
        abort();
    b->declared_amount = a->declared_amount;
    report_detail_parse(again, b);
    if (memcmp(a->counts, b->counts, sizeof(a->counts)) != 0 ||
        a->changer_known != b->changer_known || a->changer_declared != b->changer_declared ||
        memcmp(a->denom_diff, b->denom_diff, sizeof(a->denom_diff)) != 0 ||
        a->changer_over_short != b->changer_over_short)
        abort();
    free(a);
    free(b);
    return 0;
}
