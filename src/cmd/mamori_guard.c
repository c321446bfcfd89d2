/*
 * mamori-guard: the allowlist and integrity daemon (root; fanotify). Thin
 * main: options, then guard/guardd.c runs it. docs/guard.md has the policy,
 * the configuration and the recovery procedure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/secmem.h"
#include "guard/guardconf.h"
#include "cmd/guardd.h"
#include "mamori/err.h"

static const char usage_text[] =
    "usage: mamori-guard --config FILE [--mode enforce|detect] [--max-runtime SEC] [--stats]\n"
    "       mamori-guard --config FILE --audit-count EVENT\n"
    "\n"
    "Signals: SIGHUP reloads the mode and the manifest (a manifest that does not\n"
    "verify is refused and the old one stays), SIGUSR1 runs a full integrity\n"
    "check, SIGTERM stops (the kernel then allows whatever was waiting).\n"
    "--max-runtime stops the daemon by itself (tests); --stats prints decision\n"
    "timings on exit. --audit-count prints how many EVENTs the audit store holds.\n";

static int audit_count_main(const char *config, const char *ev)
{
    struct guardconf c;
    struct audit *a;
    int64_t n;
    int r = guardconf_load(config, &c);
    if (r) {
        fprintf(stderr, "mamori-guard: %s: %s\n", config, mamori_strerror(r));
        return 1;
    }
    /* read-only: a counter must not write to (or race) the daemon's log; it
     * still reports a log that was tampered with */
    r = audit_open_ro(c.audit, NULL, &a);
    if (r == 0) {
        r = audit_count(a, ev, &n);
        audit_close(a);
    } else if (r == MAMORI_ERR_NOTFOUND) {
        n = 0; /* no store yet: nothing recorded */
        r = 0;
    }
    guardconf_free(&c);
    if (r) {
        fprintf(stderr, "mamori-guard: audit: %s\n", mamori_strerror(r));
        return 1;
    }
    printf("%lld\n", (long long)n);
    return 0;
}

int main(int argc, char **argv)
{
    struct guardd_opts o = {0};
    const char *count_ev = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            o.config = argv[++i];
        } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            if (guard_mode_parse(argv[++i], &o.mode) != 0)
                return fputs(usage_text, stderr), 2;
            o.mode_override = true;
        } else if (strcmp(argv[i], "--max-runtime") == 0 && i + 1 < argc) {
            char *end;
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end != '\0' || v == 0 || v > 86400UL * 365)
                return fputs(usage_text, stderr), 2;
            o.max_runtime = (unsigned)v;
        } else if (strcmp(argv[i], "--stats") == 0) {
            o.stats = true;
        } else if (strcmp(argv[i], "--audit-count") == 0 && i + 1 < argc) {
            count_ev = argv[++i];
        } else {
            return fputs(usage_text, stderr), 2;
        }
    }
    if (o.config == NULL)
        return fputs(usage_text, stderr), 2;
    if (secmem_init() != 0)
        return 1;
    if (count_ev)
        return audit_count_main(o.config, count_ev);
    return guardd_run(&o);
}
