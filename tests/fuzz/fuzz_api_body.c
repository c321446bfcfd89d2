/* libFuzzer target: api_parse, the register API's request routing and body
 * validation (OPS-1..6 API, hostile local clients). Input: "METHOD PATH\n"
 * followed by the body bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "mamori/err.h"
#include "pos/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    char head[128], msg[160], *sp;
    const uint8_t *nl = memchr(data, '\n', size < sizeof(head) ? size : sizeof(head));
    struct api_req *r;
    size_t hl;
    int rc;
    if (!init) {
        if (secmem_init() != 0)
            abort();
        init = 1;
    }
    if (nl == NULL)
        return 0;
    hl = (size_t)(nl - data);
    memcpy(head, data, hl);
    head[hl] = '\0';
    if ((sp = strchr(head, ' ')) == NULL)
        return 0;
    *sp = '\0';
    r = api_req_new();
    if (r == NULL)
        return 0;
    memset(r, 0xA5, sizeof(*r));
    rc = api_parse(head, sp + 1, (const char *)nl + 1, size - hl - 1, r, msg, sizeof(msg));
    if (strnlen(msg, sizeof(msg)) == sizeof(msg))
        abort();
    if (rc == 0) {
        /* Invariants of an accepted request. */
        if (r->op <= API_OP_NONE || r->op >= API_OP_COUNT)
            abort();
        if (strnlen(r->code, sizeof(r->code)) == sizeof(r->code) ||
            strnlen(r->password, sizeof(r->password)) == sizeof(r->password) ||
            strnlen(r->member, sizeof(r->member)) == sizeof(r->member) ||
            strnlen(r->note, sizeof(r->note)) == sizeof(r->note))
            abort();
        if ((r->have & API_F_QTY) && (r->qty < 1 || r->qty > TXN_QTY_MAX))
            abort();
        if ((r->have & API_F_AMOUNT) && (r->amount < 1 || r->amount > TAX_AMOUNT_MAX))
            abort();
        if ((r->have & API_F_CODE) && strspn(r->code, "0123456789") != strlen(r->code))
            abort();
    } else if (rc != MAMORI_ERR_INVAL && rc != MAMORI_ERR_TOOBIG && rc != MAMORI_ERR_NOTFOUND &&
               rc != MAMORI_ERR_UNSUPPORTED && rc != MAMORI_ERR_NOMEM) {
        abort();
    } else if (msg[0] == '\0' && rc != MAMORI_ERR_NOMEM) {
        abort(); /* every refusal explains itself */
    }
    api_req_free(r);
    return 0;
}
