/*
 * cborsafe: simple-value checks that never reach libcbor's asserting
 * accessors with a float (see cborsafe.h).
 */
#include "common/cborsafe.h"

#include "mamori/err.h"

bool cborsafe_simple_is(const cbor_item_t *it, uint8_t v)
{
    return it != NULL && cbor_isa_float_ctrl(it) && cbor_float_get_width(it) == CBOR_FLOAT_0 &&
           cbor_ctrl_value(it) == v;
}

bool cborsafe_is_bool(const cbor_item_t *it)
{
    return cborsafe_simple_is(it, CBOR_CTRL_FALSE) || cborsafe_simple_is(it, CBOR_CTRL_TRUE);
}

bool cborsafe_is_null(const cbor_item_t *it)
{
    return cborsafe_simple_is(it, CBOR_CTRL_NULL);
}

int cborsafe_get_bool(const cbor_item_t *it, bool *ret)
{
    if (cborsafe_simple_is(it, CBOR_CTRL_TRUE)) {
        *ret = true;
        return 0;
    }
    if (cborsafe_simple_is(it, CBOR_CTRL_FALSE)) {
        *ret = false;
        return 0;
    }
    return MAMORI_ERR_INVAL;
}
