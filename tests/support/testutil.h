/*
 * testutil: helpers shared by the cmocka suites.
 *
 * Tests use cmocka; hostile-input cases are required in every file.
 * Vector tests load ../shared/testvectors/NAME.json (env MAMORI_TESTVECTORS)
 * with testutil_load_json() and never edit the files.
 */
#ifndef MAMORI_TESTUTIL_H
#define MAMORI_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

/* Parsed JSON of a test-vector file (fails the test if missing). Caller decrefs. */
json_t *testutil_load_json(const char *name);
/* Decode a hex string into a fresh malloc'd buffer; *ret_n = length. Fails the test on bad hex. */
uint8_t *testutil_unhex(const char *hex, size_t *ret_n);
/* A fresh empty temporary directory (mkdtemp under $TMPDIR); caller frees the string. */
char *testutil_tmpdir(void);
/* rm -rf of a directory made by testutil_tmpdir. */
void testutil_rmtree(const char *dir);

#endif
