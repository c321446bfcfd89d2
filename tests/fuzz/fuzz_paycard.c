/* libFuzzer target: the register's parsing of the payment host's answer and
 * of card tender references, and the masked-PAN constructor (src/pos/paycard.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pos/paycard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct paycard_payment pay;
    struct paycard_masked m;
    char ref[TENDER_REF_MAX], reason[48], h[24], a[8], l4[5], meth[16];
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    memset(&pay, 0, sizeof(pay));
    (void)paycard_parse_answer((const char *)data, size, &pay, ref, reason, sizeof(reason));
    (void)paycard_masked_from(s, &m);
    (void)paycard_ref_parse(s, h, a, l4, meth);
    (void)paycard_has_pan_run(s);
    free(s);
    return 0;
}
