/*
 * mamori vendor: the manufacturer's side (stands for the device vendor's
 * factory): a manufacturer CA and device certificates (src/bus/cert.h).
 *
 *   mamori vendor init  --dir D                      CA key (D/ca.key, 0600) + D/ca.pub (hex)
 *   mamori vendor issue --dir D [--identity FILE] [--model M] [--serial S]
 *                       [--bus-pub HEX] [--log-pub HEX] [--fw HEX] [--issued UNIX] --out FILE
 *   mamori vendor show  FILE [--dir D]               print; with --dir also verify (exit 3 if bad)
 *
 * --identity reads the identity.json of `mamori-devsim init`; explicit options override it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bus/cert.h"
#include "cmd/cmd.h"
#include "common/hex.h"
#include "keys/keys.h"
#include "mamori/err.h"

#define VENDOR_PATH_MAX 1024

static const char usage_text[] =
    "usage: mamori vendor init  --dir D\n"
    "       mamori vendor issue --dir D [--identity FILE] [--model M] [--serial S]\n"
    "                           [--bus-pub HEX] [--log-pub HEX] [--fw HEX] [--issued UNIX] --out "
    "FILE\n"
    "       mamori vendor show  FILE [--dir D] [--json]\n"
    "exit: 0 ok, 1 failure, 2 usage, 3 certificate does not verify against D's CA\n";

static int vpath(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, VENDOR_PATH_MAX, "%s/%s", dir, name);
    return n < 0 || n >= VENDOR_PATH_MAX ? MAMORI_ERR_TOOBIG : 0;
}

static int read_ca_pub(const char *dir, uint8_t pub[32])
{
    char p[VENDOR_PATH_MAX];
    if (vpath(p, dir, "ca.pub") != 0)
        return MAMORI_ERR_IO;
    return hex_read_file(p, pub, 32);
}

static int write_file(const char *path, const void *p, size_t n, mode_t mode, bool excl)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (excl ? O_EXCL : O_TRUNC), mode);
    if (fd < 0)
        return errno == EEXIST ? MAMORI_ERR_EXISTS : MAMORI_ERR_IO;
    if (write(fd, p, n) != (ssize_t)n || fsync(fd) != 0) {
        close(fd);
        return MAMORI_ERR_IO;
    }
    close(fd);
    return 0;
}

static int vendor_init(const char *dir)
{
    char p[VENDOR_PATH_MAX], h[70];
    struct keys *k = NULL;
    uint8_t pub[32];
    int r;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cmd_fail("vendor", dir, MAMORI_ERR_IO);
    if ((r = vpath(p, dir, "ca.key")) || (r = keys_generate(&k)) || (r = keys_save(k, p))) {
        keys_free(k);
        return cmd_fail("vendor", "cannot create the CA key (exists already?)", r);
    }
    keys_sign_public(k, pub);
    keys_free(k);
    (void)hex_encode(h, sizeof(h), pub, 32);
    strcat(h, "\n");
    if ((r = vpath(p, dir, "ca.pub")) || (r = write_file(p, h, strlen(h), 0644, true)))
        return cmd_fail("vendor", "cannot write ca.pub", r);
    printf("%s", h);
    return 0;
}

static int hex32(const char *s, uint8_t out[32])
{
    size_t n;
    return s && hex_decode(out, 32, s, &n) == 0 && n == 32 ? 0 : MAMORI_ERR_INVAL;
}

static int vendor_issue(int argc, char **argv)
{
    static const struct option o[] = {
        {"dir", required_argument, NULL, 'd'},     {"identity", required_argument, NULL, 'i'},
        {"model", required_argument, NULL, 'm'},   {"serial", required_argument, NULL, 's'},
        {"bus-pub", required_argument, NULL, 'b'}, {"log-pub", required_argument, NULL, 'l'},
        {"fw", required_argument, NULL, 'f'},      {"issued", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},     {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *ident = NULL, *model = NULL, *serial = NULL, *busp = NULL,
               *logp = NULL, *fw = NULL, *out = NULL;
    long long issued = (long long)time(NULL);
    json_t *j = NULL;
    struct cert c;
    struct keys *ca = NULL;
    struct buf w;
    char p[VENDOR_PATH_MAX];
    int ch, r;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", o, NULL)) != -1) {
        switch (ch) {
        case 'd':
            dir = optarg;
            break;
        case 'i':
            ident = optarg;
            break;
        case 'm':
            model = optarg;
            break;
        case 's':
            serial = optarg;
            break;
        case 'b':
            busp = optarg;
            break;
        case 'l':
            logp = optarg;
            break;
        case 'f':
            fw = optarg;
            break;
        case 't':
            issued = strtoll(optarg, NULL, 10);
            break;
        case 'o':
            out = optarg;
            break;
        default:
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
    }
    if (dir == NULL || out == NULL || optind != argc || issued < 0) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (ident) {
        json_error_t je;
        j = json_load_file(ident, 0, &je);
        if (j == NULL) {
            fprintf(stderr, "mamori vendor: %s:%d: %s\n", ident, je.line, je.text);
            return 1;
        }
        model = model ? model : json_string_value(json_object_get(j, "model"));
        serial = serial ? serial : json_string_value(json_object_get(j, "serial"));
        busp = busp ? busp : json_string_value(json_object_get(j, "bus_pub"));
        logp = logp ? logp : json_string_value(json_object_get(j, "log_pub"));
        fw = fw ? fw : json_string_value(json_object_get(j, "fw"));
    }
    memset(&c, 0, sizeof(c));
    if (model == NULL || serial == NULL || strlen(model) > CERT_TEXT_MAX ||
        strlen(serial) > CERT_TEXT_MAX || hex32(busp, c.bus_pub) || hex32(logp, c.log_pub) ||
        hex32(fw, c.fw)) {
        fprintf(stderr, "mamori vendor issue: need --model, --serial and 32-byte hex --bus-pub, "
                        "--log-pub, --fw (or --identity)\n");
        json_decref(j);
        return EXIT_USAGE;
    }
    strcpy(c.model, model);
    strcpy(c.serial, serial);
    c.issued = (uint64_t)issued;
    json_decref(j);
    if ((r = vpath(p, dir, "ca.key")) || (r = keys_load(p, &ca)))
        return cmd_fail("vendor", "cannot load the CA key", r);
    buf_init(&w, CERT_MAX);
    r = cert_issue(&c, ca, &w);
    keys_free(ca);
    if (r == 0)
        r = write_file(out, buf_ptr(&w), buf_remaining(&w), 0644, false);
    buf_free(&w);
    if (r != 0)
        return cmd_fail("vendor", "cannot issue the certificate", r);
    return 0;
}

static int vendor_show(int argc, char **argv)
{
    const char *file = NULL, *dir = NULL;
    bool json = false;
    uint8_t raw[CERT_MAX], ca[32];
    size_t n;
    struct cert c;
    char bus[65], logk[65], fw[65], cah[65];
    int r;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (file == NULL && argv[i][0] != '-')
            file = argv[i];
        else {
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
    }
    if (file == NULL) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if ((r = cert_read_file(file, raw, sizeof(raw), &n)) || (r = cert_decode(raw, n, &c)))
        return cmd_fail("vendor", file, r);
    (void)hex_encode(bus, sizeof(bus), c.bus_pub, 32);
    (void)hex_encode(logk, sizeof(logk), c.log_pub, 32);
    (void)hex_encode(fw, sizeof(fw), c.fw, 32);
    (void)hex_encode(cah, sizeof(cah), c.ca, 32);
    if (json)
        printf("{\"model\":\"%s\",\"serial\":\"%s\",\"bus_pub\":\"%s\",\"log_pub\":\"%s\","
               "\"fw\":\"%s\",\"issued\":%llu,\"ca\":\"%s\"}\n",
               c.model, c.serial, bus, logk, fw, (unsigned long long)c.issued, cah);
    else
        printf("model    %s\nserial   %s\nbus_pub  %s\nlog_pub  %s\nfw       %s\nissued   %llu\n"
               "ca       %s\n",
               c.model, c.serial, bus, logk, fw, (unsigned long long)c.issued, cah);
    if (dir) {
        if ((r = read_ca_pub(dir, ca)) != 0)
            return cmd_fail("vendor", "cannot read ca.pub", r);
        if (cert_verify(&c, ca) != 0) {
            fprintf(stderr, "mamori vendor: %s: not signed by the CA in %s\n", file, dir);
            return EXIT_VERIFY;
        }
        if (!json)
            printf("verified against %s/ca.pub\n", dir);
    }
    return 0;
}

int cmd_vendor(int argc, char **argv)
{
    if (argc < 2 || cmd_wants_help(argc, argv, usage_text)) {
        if (argc < 2)
            fputs(usage_text, stderr);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "init") == 0) {
        if (argc != 4 || strcmp(argv[2], "--dir") != 0) {
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
        return vendor_init(argv[3]);
    }
    if (strcmp(argv[1], "issue") == 0)
        return vendor_issue(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return vendor_show(argc - 1, argv + 1);
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}
