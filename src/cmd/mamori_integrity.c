/*
 * mamori integrity: verify the install against the signed manifest (LC-6).
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "guard/integrity.h"
#include "guard/manifest.h"
#include "mamori/err.h"

static const char usage_text[] =
    "usage: mamori integrity check --manifest FILE --pub HEX|FILE [--json] [ROOT...]\n"
    "\n"
    "Verify the manifest's signature, then every listed file under the ROOTs (all\n"
    "listed files when no ROOT is given): missing and changed files, and files\n"
    "present under a ROOT that are not listed (extra). Exit 0 when everything\n"
    "matches, 3 on any difference or a bad signature.\n";

struct report {
    bool json;
    size_t n;
};

static int report_cb(void *ctx, enum integrity_kind kind, const char *path)
{
    struct report *rp = ctx;
    if (rp->json) {
        printf("%s{\"kind\":\"%s\",\"path\":\"", rp->n ? "," : "", integrity_kind_name(kind));
        for (const char *s = path; *s; s++)
            if (*s == '"' || *s == '\\')
                printf("\\%c", *s);
            else if ((unsigned char)*s < 0x20)
                printf("\\u%04x", (unsigned char)*s);
            else
                putchar(*s);
        printf("\"}");
    } else {
        printf("%-10s %s\n", integrity_kind_name(kind), path);
    }
    rp->n++;
    return 0;
}

int cmd_integrity(int argc, char **argv)
{
    const char *mpath = NULL, *pubarg = NULL;
    const char *roots[INTEGRITY_MAX_ROOTS];
    size_t nroots = 0, bad = 0;
    struct report rp = {0};
    uint8_t pub[MANIFEST_PK_LEN];
    struct manifest *m;
    int r;
    if (cmd_wants_help(argc, argv, usage_text))
        return 0;
    if (argc < 2 || strcmp(argv[1], "check") != 0)
        return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--manifest") == 0 && i + 1 < argc)
            mpath = argv[++i];
        else if (strcmp(argv[i], "--pub") == 0 && i + 1 < argc)
            pubarg = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            rp.json = true;
        else if (argv[i][0] != '-' && nroots < INTEGRITY_MAX_ROOTS)
            roots[nroots++] = argv[i];
        else
            return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    }
    if (mpath == NULL || pubarg == NULL)
        return fprintf(stderr, "%s", usage_text), EXIT_USAGE;
    if ((r = manifest_parse_pub(pubarg, pub)))
        return cmd_fail("integrity", "--pub", r);
    r = manifest_load(mpath, pub, &m);
    if (r == MAMORI_ERR_AUTH || r == MAMORI_ERR_INVAL) {
        fprintf(stderr, "mamori integrity: %s: manifest signature does not verify\n", mpath);
        return EXIT_VERIFY;
    }
    if (r)
        return cmd_fail("integrity", mpath, r);
    if (rp.json)
        printf("{\"differences\":[");
    r = integrity_check(m, roots, nroots, report_cb, &rp, &bad);
    manifest_free(m);
    if (rp.json)
        printf("],\"count\":%zu}\n", rp.n);
    if (r)
        return cmd_fail("integrity", "check", r);
    if (!rp.json)
        fprintf(stderr, "mamori integrity: %zu difference(s)\n", bad);
    return bad ? EXIT_VERIFY : 0;
}
