/*
 * mamori-devsim: one simulated peripheral (src/bus/devrun.h runs it).
 *
 *   mamori-devsim --kind K --state DIR --connect SPEC [--ctl PATH] [--hb-ms N] [--max-runtime S]
 *   mamori-devsim init --kind K --state DIR [--serial S]   keys + identity.json (printed)
 *   mamori-devsim ctl --ctl PATH WORDS...                   one control command
 *
 * SPEC: unix:PATH | tcp:127.0.0.1:PORT | serial:/dev/pts/N
 */
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bus/ctl.h"
#include "bus/devrun.h"
#include "common/sandbox.h"
#include "common/secmem.h"
#include "mamori/err.h"

static const char usage[] =
    "usage: mamori-devsim --kind K --state DIR --connect SPEC [--ctl PATH] [--hb-ms N]\n"
    "                     [--max-runtime S] [--no-sandbox]\n"
    "       mamori-devsim init --kind K --state DIR [--serial S]\n"
    "       mamori-devsim ctl --ctl PATH WORDS...\n"
    "SPEC: unix:PATH | tcp:127.0.0.1:PORT | serial:/dev/pts/N\n"
    "kinds: scanner msr pinpad icreader scale drawer changer printer linedisplay\n"
    "       custdisplay keyboard sigpad touchpanel keylock\n"
    "control (ctl) examples: touchpanel: touch X Y | press BUTTON | layout;\n"
    "       keylock: turn 1..6|lock|reg|x|z|set|train; every kind: status\n";

static int do_ctl(int argc, char **argv)
{
    char line[CTL_LINE_MAX + 1] = "";
    const char *path = NULL;
    struct buf out;
    size_t n = 0;
    int i = 1, r;
    if (argc >= 3 && strcmp(argv[1], "--ctl") == 0) {
        path = argv[2];
        i = 3;
    }
    if (path == NULL || i >= argc) {
        fputs(usage, stderr);
        return 2;
    }
    for (; i < argc; i++) {
        /* quote words with spaces or quotes; escape " and \ inside */
        bool quote = strpbrk(argv[i], " \t\"\\") != NULL || argv[i][0] == '\0';
        if (n + 2 * strlen(argv[i]) + 4 >= sizeof(line)) {
            fprintf(stderr, "mamori-devsim ctl: command too long\n");
            return 2;
        }
        if (n)
            line[n++] = ' ';
        if (quote)
            line[n++] = '"';
        for (const char *c = argv[i]; *c; c++) {
            if (quote && (*c == '"' || *c == '\\'))
                line[n++] = '\\';
            line[n++] = *c;
        }
        if (quote)
            line[n++] = '"';
        line[n] = '\0';
    }
    buf_init(&out, CTL_ANSWER_MAX);
    r = ctl_call(path, line, &out, 10000);
    if (r != 0) {
        fprintf(stderr, "mamori-devsim ctl: %s: %s\n", path, mamori_strerror(r));
        buf_free(&out);
        return 1;
    }
    fwrite(buf_ptr(&out), 1, buf_remaining(&out), stdout);
    r = buf_remaining(&out) >= 6 && memcmp(buf_ptr(&out), "error:", 6) == 0;
    buf_free(&out);
    return r ? 1 : 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"kind", required_argument, NULL, 'k'},    {"state", required_argument, NULL, 's'},
        {"connect", required_argument, NULL, 'c'}, {"ctl", required_argument, NULL, 'C'},
        {"hb-ms", required_argument, NULL, 'b'},   {"max-runtime", required_argument, NULL, 'm'},
        {"serial", required_argument, NULL, 'S'},  {"help", no_argument, NULL, 'h'},
        {"no-sandbox", no_argument, NULL, 'N'},    {NULL, 0, NULL, 0},
    };
    struct devrun_opts o = {0};
    const char *serial = NULL;
    long max_runtime = 0;
    bool init = false, sandboxed = true;
    struct evloop *l = NULL;
    struct devrun *d = NULL;
    char err[512];
    int c, sfd, r;
    if (argc >= 2 && strcmp(argv[1], "ctl") == 0)
        return do_ctl(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "init") == 0) {
        init = true;
        argc--;
        argv++;
    }
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            o.kind = optarg;
            break;
        case 's':
            o.state_dir = optarg;
            break;
        case 'c':
            o.connect = optarg;
            break;
        case 'C':
            o.ctl_path = optarg;
            break;
        case 'b':
            o.hb_ms = strtol(optarg, NULL, 10);
            break;
        case 'm':
            max_runtime = strtol(optarg, NULL, 10);
            break;
        case 'S':
            serial = optarg;
            break;
        case 'N':
            sandboxed = false;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (o.kind == NULL || o.state_dir == NULL || optind != argc || (!init && o.connect == NULL)) {
        fputs(usage, stderr);
        return 2;
    }
    if (secmem_init() != 0)
        return 1;
    if (init) {
        r = devrun_init(o.kind, o.state_dir, serial, 1);
        if (r != 0)
            fprintf(stderr, "mamori-devsim init: %s\n", mamori_strerror(r));
        return r ? 1 : 0;
    }
    if (evloop_new(&l) != 0)
        return 1;
    if (evloop_stop_on_signals(l, &sfd) != 0)
        return 1;
    if ((r = devrun_open(&o, l, &d, err, sizeof(err))) != 0) {
        fprintf(stderr, "mamori-devsim: %s%s%s\n", err, err[0] ? ": " : "", mamori_strerror(r));
        evloop_free(l);
        return 1;
    }
    {
        /* From here on the simulator reaches only its own state directory,
         * its line and the system's read-only files (a compromised device
         * cannot read another device's keys). Sockets are already open. */
        static const char *const ro[] = {"/usr", "/lib", "/lib64", "/etc"};
        const char *rw[3];
        size_t nrw = 0;
        char ctldir[512];
        struct rlimit nocore = {0, 0};
        (void)setrlimit(RLIMIT_CORE, &nocore);
        (void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        rw[nrw++] = o.state_dir;
        if (strncmp(o.connect, "serial:", 7) == 0)
            rw[nrw++] = o.connect + 7;
        if (o.ctl_path) {
            snprintf(ctldir, sizeof(ctldir), "%s", o.ctl_path);
            rw[nrw++] = dirname(ctldir);
        }
        r = sandboxed ? sandbox_restrict(rw, nrw, ro, sizeof(ro) / sizeof(ro[0])) : 0;
        if (r != 0 && r != MAMORI_ERR_UNSUPPORTED) {
            fprintf(stderr, "mamori-devsim: cannot restrict itself: %s\n", mamori_strerror(r));
            devrun_close(d);
            return 1;
        }
    }
    evloop_stop_after(l, max_runtime);
    printf("ready\n");
    fflush(stdout);
    r = evloop_run(l);
    devrun_close(d);
    evloop_signals_close(l, sfd);
    evloop_free(l);
    return r == 0 ? 0 : 1;
}
