/*
 * mamori: the one CLI. A thin main dispatching a verb table (verbs.def);
 * each verb lives in its own file.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "common/secmem.h"
#include "mamori/err.h"

struct verb {
    const char *name;
    const char *summary;
    int (*fn)(int, char **);
};

static const struct verb verbs[] = {
#define VERB(n, s) {#n, s, cmd_##n},
#include "cmd/verbs.def"
#undef VERB
};

static void usage(FILE *f)
{
    fprintf(f, "usage: mamori VERB [options]   (mamori VERB --help for each)\n\nverbs:\n");
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        fprintf(f, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
}

int cmd_fail(const char *verb, const char *what, int err)
{
    fprintf(stderr, "mamori %s: %s: %s\n", verb, what, mamori_strerror(err));
    return 1;
}

bool cmd_wants_help(int argc, char **argv, const char *usage_text)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return true;
        }
    return false;
}

int cmd_version(int argc, char **argv)
{
    if (cmd_wants_help(argc, argv, "usage: mamori version\n"))
        return 0;
    printf("mamori %s\n", MAMORI_VERSION);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (secmem_init() != 0) {
        fprintf(stderr, "mamori: libsodium failed to initialise\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strcmp(argv[1], verbs[i].name) == 0)
            return verbs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "mamori: unknown verb '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
