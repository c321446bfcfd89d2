/*
 * mamori devlog: verify an exported device log with only the device's public
 * key (POL-8(1)); the same check the store server runs. Owns option parsing
 * and printing; the verification is src/audit/devlog.c.
 *
 * Exit codes: 0 verified, 1 failure, 2 usage, 3 verification failed.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/devlog.h"
#include "cmd/cmd.h"
#include "common/hex.h"
#include "mamori/err.h"

static const char usage_text[] =
    "usage: mamori devlog verify FILE --pub HEX [--json]\n"
    "  FILE  an exported device log (u32-length-framed signed entries)\n"
    "  HEX   the device's Ed25519 log public key (64 hex digits, from its manufacturer certificate)\n"
    "Checks every signature, the hash chain and the sequence (gaps, replays, rewrites); exit 3 names\n"
    "the first bad entry.\n";

/* Files larger than this are refused (DEVLOG_FILE_MAX_ENTRIES worst case is larger;
 * a device log of 64 MiB is ~1,000,000 cash events). */
#define DEVLOG_CLI_MAX_BYTES (64u << 20)

int cmd_devlog(int argc, char **argv)
{
    const char *file = NULL, *pubhex = NULL;
    bool json = false;
    uint8_t pub[32];
    size_t n = 0;
    struct devlog_file_result res;
    if (cmd_wants_help(argc, argv, usage_text))
        return 0;
    if (argc < 3 || strcmp(argv[1], "verify") != 0) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--pub") == 0 && i + 1 < argc)
            pubhex = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (file == NULL && argv[i][0] != '-')
            file = argv[i];
        else {
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
    }
    if (file == NULL || pubhex == NULL || strlen(pubhex) != 64 || hex_decode(pub, sizeof(pub), pubhex, &n) != 0 ||
        n != 32) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return cmd_fail("devlog", file, MAMORI_ERR_IO);
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > DEVLOG_CLI_MAX_BYTES) {
        close(fd);
        return cmd_fail("devlog", file, MAMORI_ERR_TOOBIG);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *data = malloc(len ? len : 1);
    if (data == NULL) {
        close(fd);
        return cmd_fail("devlog", file, MAMORI_ERR_NOMEM);
    }
    size_t got = 0;
    while (got < len) {
        ssize_t k = read(fd, data + got, len - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    if (got != len) {
        free(data);
        return cmd_fail("devlog", file, MAMORI_ERR_IO);
    }
    int r = devlog_verify_file(data, len, pub, &res);
    free(data);
    if (r != 0 && r != MAMORI_ERR_AUTH)
        return cmd_fail("devlog", "verify", r);
    if (json) {
        printf("{\"ok\":%s,\"entries\":%" PRIu64 ",\"verified\":%" PRIu64 ",\"verdict\":\"%s\"",
               r == 0 ? "true" : "false", res.entries, res.ok, devlog_verdict_name(res.verdict));
        if (r != 0)
            printf(",\"first_bad\":%" PRIu64, res.first_bad);
        printf("}\n");
    }
    else if (r == 0)
        printf("device log OK: %" PRIu64 " entries, signatures, chain and sequence verified\n", res.entries);
    else
        printf("device log FAILED at entry %" PRIu64 " (%s): %s\n", res.first_bad, devlog_verdict_name(res.verdict),
               res.reason);
    return r == 0 ? 0 : EXIT_VERIFY;
}
