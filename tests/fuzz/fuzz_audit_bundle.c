/*
 * fuzz_audit_bundle: the audit bundle parser/verifier (src/audit/bundle.c) and
 * the canonical entry decoder (src/audit/entry.c) on arbitrary bytes, with
 * fixed verifier keys. Must never crash, leak or read out of bounds; and a
 * bundle the verifier accepts must carry a valid tail seal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/bundle.h"
#include "audit/entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct audit_vkeys k;
    struct audit_verify_result res;
    struct audit_entry e;
    if (size < 64)
        return 0;
    memcpy(k.seal_key0, data, 32);
    memcpy(k.audit_pub, data + 32, 32);
    if (audit_bundle_verify(data + 64, size - 64, &k, &res) == 0 && !res.tail_sealed)
        abort();
    (void)audit_entry_decode(data, size, &e);
    return 0;
}
