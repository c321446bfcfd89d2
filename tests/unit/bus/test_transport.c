/* Unit tests for src/bus/transport.c: address parsing (hostile), unix and tcp
 * loopback, serial line over a pty pair (termios raw: bytes pass unchanged). */
#include "testutil.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "bus/transport.h"
#include "mamori/err.h"

static void test_parse(void **state)
{
    struct transport_addr a;
    assert_int_equal(transport_parse("unix:/tmp/x.sock", &a), 0);
    assert_int_equal(a.kind, TRANSPORT_UNIX);
    assert_string_equal(a.path, "/tmp/x.sock");
    assert_int_equal(transport_parse("tcp:127.0.0.1:4100", &a), 0);
    assert_int_equal(a.port, 4100);
    assert_int_equal(transport_parse("serial:/dev/pts/3", &a), 0);
    assert_int_equal(transport_framing(a.kind), FRAME_SERIAL);
    assert_string_equal(transport_kind_name(a.kind), "serial");
    assert_int_equal(transport_parse("tcp:localhost:1", &a), MAMORI_ERR_INVAL);
    assert_int_equal(transport_parse("tcp:127.0.0.1:70000", &a), MAMORI_ERR_INVAL);
    assert_int_equal(transport_parse("tcp:127.0.0.1:", &a), MAMORI_ERR_INVAL);
    assert_int_equal(transport_parse("unix:", &a), MAMORI_ERR_INVAL);
    assert_int_equal(transport_parse("ftp:x", &a), MAMORI_ERR_INVAL);
    char longp[300];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = 0;
    memcpy(longp, "unix:", 5);
    assert_int_equal(transport_parse(longp, &a), MAMORI_ERR_INVAL);
}

static void roundtrip(const char *spec)
{
    struct transport_addr a;
    int l, c, s = -1;
    char b[8] = {0};
    assert_int_equal(transport_parse(spec, &a), 0);
    assert_int_equal(transport_listen(&a, &l), 0);
    assert_int_equal(transport_accept(l, &s), MAMORI_ERR_AGAIN);
    assert_int_equal(transport_connect(&a, &c), 0);
    struct pollfd p = {.fd = l, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_int_equal(transport_accept(l, &s), 0);
    assert_int_equal(write(c, "ping", 4), 4);
    p.fd = s;
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_int_equal(read(s, b, sizeof(b)), 4);
    assert_string_equal(b, "ping");
    close(c);
    close(s);
    close(l);
}

static void test_unix_and_tcp(void **state)
{
    char *dir = testutil_tmpdir(), spec[512];
    snprintf(spec, sizeof(spec), "unix:%s/bus.sock", dir);
    roundtrip(spec);
    roundtrip(spec); /* a stale socket file is replaced */
    /* never replaces a regular file */
    {
        struct transport_addr a;
        int l;
        char f[400];
        snprintf(f, sizeof(f), "%.300s/file", dir);
        close(open(f, O_CREAT | O_WRONLY, 0600));
        snprintf(spec, sizeof(spec), "unix:%s", f);
        assert_int_equal(transport_parse(spec, &a), 0);
        assert_int_equal(transport_listen(&a, &l), MAMORI_ERR_EXISTS);
    }
    roundtrip("tcp:127.0.0.1:47391");
    testutil_rmtree(dir);
    free(dir);
}

static void test_serial_pty_raw(void **state)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY), s;
    struct termios t;
    uint8_t all[256], got[256];
    size_t n = 0;
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    assert_int_equal(transport_serial_open(ptsname(m), &s), 0);
    assert_int_equal(tcgetattr(s, &t), 0);
    assert_int_equal(cfgetospeed(&t), B115200);
    assert_int_equal(t.c_lflag & (ECHO | ICANON | ISIG), 0);
    assert_int_equal(t.c_cflag & CSIZE, CS8);
    /* every byte value passes unchanged (no CR/NL mapping, no XON/XOFF) */
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    assert_int_equal(write(m, all, sizeof(all)), (ssize_t)sizeof(all));
    while (n < sizeof(got)) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        ssize_t k;
        assert_int_equal(poll(&p, 1, 2000), 1);
        k = read(s, got + n, sizeof(got) - n);
        assert_true(k > 0);
        n += (size_t)k;
    }
    assert_memory_equal(got, all, sizeof(all));
    close(s);
    close(m);
    assert_int_equal(transport_serial_open("/dev/null", &s), MAMORI_ERR_IO); /* not a tty */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_unix_and_tcp),
        cmocka_unit_test(test_serial_pty_raw),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
