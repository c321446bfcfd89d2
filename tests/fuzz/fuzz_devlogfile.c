/*
 * fuzz_devlogfile: a device's own log file (src/audit/devlogfile.c) as an
 * insider with the device's storage could leave it: open (rebuild the chain
 * position, cut a torn tail), read from a seq chosen by the first input byte
 * (what log_fetch answers), and append one entry after it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/devlogfile.h"
#include "keys/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *ctx, uint64_t seq, const uint8_t *entry, size_t n)
{
    (void)seq;
    if (entry == NULL || n == 0 || n > DEVLOG_ENTRY_MAX)
        abort();
    (*(size_t *)ctx)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct keys *k;
    char path[] = "/tmp/fuzz-devlogfile-XXXXXX";
    struct devlog_file *f = NULL;
    size_t n = 0;
    uint64_t next = 0;
    int fd;
    if (size < 1)
        return 0;
    if (k == NULL && keys_generate(&k) != 0)
        abort();
    fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    if (devlog_file_open(path, "DRW-0001", k, &f) == 0) {
        if (devlog_file_read(f, data[0], 4, 40000, count, &n, &next) == 0 && n > 4)
            abort();
        (void)devlog_file_append(f, "fuzz.event", NULL, 0, 1);
        devlog_file_close(f);
    }
    unlink(path);
    return 0;
}
