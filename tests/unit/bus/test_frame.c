/* Unit tests for src/bus/frame.c: CRC-32C, COBS, incremental decoding, hostile input. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "bus/frame.h"
#include "mamori/err.h"

static void test_crc32c_known_value(void **state)
{
    /* RFC 3720 B.4 check value */
    assert_int_equal(frame_crc32c((const uint8_t *)"123456789", 9), 0xE3069283u);
    uint8_t z[32] = {0};
    assert_int_equal(frame_crc32c(z, 32), 0x8A9136AAu);
}

static void test_cobs_roundtrip_and_bad(void **state)
{
    uint8_t in[600], enc[700], dec[700];
    size_t n, dn;
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i % 7 == 0 ? 0 : i);
    n = frame_cobs_encode(in, sizeof(in), enc);
    assert_null(memchr(enc, 0, n));
    assert_int_equal(frame_cobs_decode(enc, n, dec, &dn), 0);
    assert_int_equal(dn, sizeof(in));
    assert_memory_equal(dec, in, dn);
    /* a code that runs past the end */
    const uint8_t bad1[] = {0x05, 1, 2};
    assert_int_equal(frame_cobs_decode(bad1, sizeof(bad1), dec, &dn), MAMORI_ERR_INVAL);
    const uint8_t bad2[] = {0x03, 1, 0};
    assert_int_equal(frame_cobs_decode(bad2, sizeof(bad2), dec, &dn), MAMORI_ERR_INVAL);
}

static void test_stream_incremental(void **state)
{
    struct buf w;
    struct frame_dec d;
    const uint8_t *f;
    size_t n;
    buf_init(&w, 0);
    assert_int_equal(frame_encode(FRAME_STREAM, (const uint8_t *)"hello", 5, &w), 0);
    assert_int_equal(frame_encode(FRAME_STREAM, (const uint8_t *)"w", 1, &w), 0);
    assert_int_equal(frame_encode(FRAME_STREAM, (const uint8_t *)"", 0, &w), MAMORI_ERR_TOOBIG);
    frame_dec_init(&d, FRAME_STREAM);
    for (size_t i = 0; i < w.len; i++) { /* one byte at a time */
        assert_int_equal(frame_dec_feed(&d, w.d + i, 1), 0);
        if (i < 6)
            assert_int_equal(frame_dec_next(&d, &f, &n), MAMORI_ERR_AGAIN);
        if (i == 6) {
            assert_int_equal(frame_dec_next(&d, &f, &n), 0);
            assert_int_equal(n, 5);
            assert_memory_equal(f, "hello", 5);
        }
    }
    assert_int_equal(frame_dec_next(&d, &f, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(frame_dec_next(&d, &f, &n), MAMORI_ERR_AGAIN);
    /* a zero length breaks the stream for good */
    const uint8_t zero[] = {0, 0, 1};
    assert_int_equal(frame_dec_feed(&d, zero, 3), 0);
    assert_int_equal(frame_dec_next(&d, &f, &n), MAMORI_ERR_PROTO);
    assert_int_equal(frame_dec_next(&d, &f, &n), MAMORI_ERR_PROTO);
    frame_dec_free(&d);
    buf_free(&w);
}

static void test_stream_feed_limit(void **state)
{
    struct frame_dec d;
    uint8_t *big = calloc(1, FRAME_WIRE_MAX + FRAME_READ_CHUNK + 1);
    frame_dec_init(&d, FRAME_STREAM);
    assert_int_equal(frame_dec_feed(&d, big, FRAME_WIRE_MAX + FRAME_READ_CHUNK + 1),
                     MAMORI_ERR_TOOBIG);
    frame_dec_free(&d);
    free(big);
}

static void test_serial_corruption_dropped_and_resync(void **state)
{
    struct buf w;
    struct frame_dec d;
    const uint8_t *f;
    size_t n;
    uint8_t payload[300];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)i;
    buf_init(&w, 0);
    assert_int_equal(frame_encode(FRAME_SERIAL, payload, sizeof(payload), &w), 0);
    size_t one = w.len;
    assert_int_equal(w.d[one - 1], 0);
    assert_int_equal(frame_encode(FRAME_SERIAL, payload, sizeof(payload), &w), 0);
    assert_int_equal(frame_encode(FRAME_SERIAL, payload, sizeof(payload), &w), 0);
    w.d[10] ^= 0x40;                                           /* flip a bit in frame 1 */
    memmove(w.d + one + 20, w.d + one + 21, w.len - one - 21); /* lose a byte in frame 2 */
    w.len--;
    frame_dec_init(&d, FRAME_SERIAL);
    assert_int_equal(frame_dec_feed(&d, w.d, w.len), 0);
    assert_int_equal(frame_dec_next(&d, &f, &n), 0); /* only frame 3 survives */
    assert_int_equal(n, sizeof(payload));
    assert_memory_equal(f, payload, n);
    assert_int_equal(frame_dec_next(&d, &f, &n), MAMORI_ERR_AGAIN);
    assert_int_equal(d.st.dropped, 2);
    assert_int_equal(d.st.frames, 1);
    /* tiny frames (shorter than the CRC) are dropped */
    const uint8_t tiny[] = {0x02, 0x01, 0x00};
    assert_int_equal(frame_dec_feed(&d, tiny, 3), 0);
    assert_int_equal(frame_dec_next(&d, &f, &n), MAMORI_ERR_AGAIN);
    assert_int_equal(d.st.dropped, 3);
    frame_dec_free(&d);
    buf_free(&w);
}

static void test_serial_overlong_resyncs(void **state)
{
    struct frame_dec d;
    struct buf w;
    const uint8_t *f;
    size_t n;
    uint8_t *junk = malloc(FRAME_READ_CHUNK);
    memset(junk, 0x41, FRAME_READ_CHUNK);
    frame_dec_init(&d, FRAME_SERIAL);
    for (int i = 0; i < 6; i++) { /* > FRAME_COBS_MAX bytes without a delimiter */
        assert_int_equal(frame_dec_feed(&d, junk, FRAME_READ_CHUNK), 0);
        assert_int_equal(frame_dec_next(&d, &f, &n), MAMORI_ERR_AGAIN);
    }
    assert_int_equal(d.st.overflow, 1);
    buf_init(&w, 0);
    assert_int_equal(buf_put_u8(&w, 0), 0); /* end of the junk */
    assert_int_equal(frame_encode(FRAME_SERIAL, (const uint8_t *)"ok", 2, &w), 0);
    assert_int_equal(frame_dec_feed(&d, w.d, w.len), 0);
    assert_int_equal(frame_dec_next(&d, &f, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(f, "ok", 2);
    frame_dec_free(&d);
    buf_free(&w);
    free(junk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_known_value),
        cmocka_unit_test(test_cobs_roundtrip_and_bad),
        cmocka_unit_test(test_stream_incremental),
        cmocka_unit_test(test_stream_feed_limit),
        cmocka_unit_test(test_serial_corruption_dropped_and_resync),
        cmocka_unit_test(test_serial_overlong_resyncs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
