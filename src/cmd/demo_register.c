/*
 * demo_register.c: owns the register part of the demo: building a terminal
 * state directory with the register (vendor CA, operators, item master, eight
 * enrolled simulated devices), starting the processes, driving a day through
 * the console (`mamori register --socket --script`) and the devices' control
 * sockets (the shopper's hands), and printing the decoded receipts and the Z
 * report. Every process it starts has --max-runtime and is stopped here.
 */
#include "cmd/demo_register.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd/demoproc.h"
#include "cmd/regclient.h"
#include "common/evloop.h"

#define DR_PATH_MAX 1024
#define DR_KINDS 8
#define DR_RUNTIME "240"

static const char *const dr_kinds[DR_KINDS] = {"scanner", "scale",       "drawer",      "changer",
                                                "printer", "linedisplay", "custdisplay", "keyboard"};

struct dr {
    struct demoproc p;
    char dir[DR_PATH_MAX];
    char term[DR_PATH_MAX];
    char sock[DR_PATH_MAX];
    pid_t tpid;
    pid_t dpid[DR_KINDS];
};

static int dctl(struct dr *r, const char *kind, const char *w1, const char *w2, const char *w3)
{
    char sock[DR_PATH_MAX];
    demoproc_pathf(sock, sizeof(sock), "%s/dev-%s/ctl.sock", r->dir, kind);
    const char *argv[] = {"mamori-devsim", "ctl", "--ctl", sock, w1, w2, w3, NULL};
    return demoproc_exec(&r->p, argv, NULL);
}

static bool all_devices(struct dr *r)
{
    json_t *j = NULL, *d;
    int status = 0;
    bool ok = true;
    if (regclient_call(r->sock, "GET", "/v1/state?devices=1", NULL, 3000, &status, &j) != 0)
        return false;
    d = json_object_get(j, "devices");
    for (int i = 0; i < DR_KINDS; i++)
        ok = ok && json_is_true(json_object_get(d, dr_kinds[i]));
    json_decref(j);
    return status == 200 && ok;
}

static int setup(struct dr *r, const char *datadir)
{
    static const char *const ops[][3] = {{"maint", "maintainer", "maint-pw-1"},
                                         {"boss", "manager", "boss-pw-1"},
                                         {"kenji", "cashier", "kenji-pw-1"},
                                         {"yumi", "checker", "yumi-pw-1"}};
    demoproc_step(&r->p, demoproc_terminal(&r->p, r->dir, r->term, ops, 4) == 0,
                  "terminal state: manufacturer CA trusted; maintainer, manager, cashier and "
                  "checker accounts (Argon2id)");
    demoproc_step(&r->p, demoproc_items(&r->p, datadir, r->term) == 0,
                  "item master imported into the terminal (data/items.csv)");
    demoproc_step(&r->p, demoproc_enrol(&r->p, r->dir, r->term, dr_kinds, DR_KINDS) == 0,
                  "8 register devices enrolled under dual control (scanner, scale, drawer, changer, "
                  "printer, line display, customer display, keyboard)");
    return r->p.failures;
}

static const char day_script[] =
    "# two-person register: checker yumi registers, cashier kenji takes payment\n"
    "signon2 yumi kenji\nyumi-pw-1\nkenji-pw-1\n"
    "open 30000\n"
    "4901234001077\n"
    "qty 2\nscan 4901234001145\n"
    "weigh 2000000000060\n"
    "scan 2112002515005\n"
    "!scan 4901234001078\n"
    "scan 4901234002968\n"
    "subtotal\n"
    "age\n"
    "gift 1000 G-0001\n"
    "coupon 291001701002612314\n"
    "points 9876543210123456\n"
    "cash\n"
    "# a second sale: redeem points, keyed cash\n"
    "scan 4901234001213\n"
    "points 9876543210123456\n"
    "redeem 20\n"
    "cash 1000\n"
    "# a return against receipt 1, approved by the manager\n"
    "!return 1\n"
    "return 1 @boss\nboss-pw-1\n"
    "!retline 1 5\n"
    "retline 1 1\n"
    "refund\n"
    "xreport\n"
    "# the cash counted in the drawer, by denomination (over/short on the Z)\n"
    "declare 10000=3 1000=1 100=3 10=2 5=1 1=2\n"
    "zreport\n";

/* The shopper: inserts a 5000-yen note once the change machine takes cash;
 * answers "yes" on the customer display when asked. */
static pid_t shopper(struct dr *r)
{
    pid_t pid;
    fflush(stdout);
    pid = fork();
    if (pid != 0)
        return pid;
    int64_t end = evloop_now_ms() + 60000;
    bool paid = false, answered = false;
    while (evloop_now_ms() < end && !(paid && answered)) {
        if (!answered && dctl(r, "custdisplay", "yes", NULL, NULL) == 0 &&
            strstr(r->p.out, "answered") != NULL)
            answered = true;
        if (!paid && dctl(r, "changer", "insert", "5000", NULL) == 0 &&
            strncmp(r->p.out, "deposit", 7) == 0)
            paid = true;
        demoproc_nap(200);
    }
    _exit(paid && answered ? 0 : 1);
}

static void stop_all(struct dr *r)
{
    demoproc_stop(r->tpid);
    for (int i = 0; i < DR_KINDS; i++)
        demoproc_stop(r->dpid[i]);
}

int demo_register(const char *bindir, const char *dir, const char *datadir)
{
    struct dr r;
    char script[DR_PATH_MAX], roll[DR_PATH_MAX];
    int rc, st;
    pid_t sh;
    memset(&r, 0, sizeof(r));
    r.p.bindir = bindir;
    if ((r.p.out = malloc(DEMOPROC_OUT_MAX)) == NULL)
        return 1;
    demoproc_pathf(r.dir, sizeof(r.dir), "%s/register", dir);
    demoproc_pathf(r.term, sizeof(r.term), "%s/term", r.dir);
    demoproc_pathf(r.sock, sizeof(r.sock), "%s/pos.sock", r.term);
    printf("---- the register (issue 3) in mamori-terminald, devices on the secure bus ----\n");
    if (mkdir(r.dir, 0700) != 0 || mkdir(r.term, 0700) != 0 || setup(&r, datadir) != 0)
        goto out;
    {
        const char *a[] = {"mamori-terminald", "--state", r.term, "--max-runtime", DR_RUNTIME, NULL};
        r.tpid = demoproc_start_ready(&r.p, a, NULL, 0);
    }
    if (r.tpid > 0)
        demoproc_devices(&r.p, r.dir, r.term, dr_kinds, DR_KINDS, DR_RUNTIME, r.dpid);
    {
        int64_t end = evloop_now_ms() + DEMOPROC_WAIT_MS;
        bool ok = false;
        while (r.tpid > 0 && !(ok = all_devices(&r)) && evloop_now_ms() < end)
            demoproc_nap(100);
        demoproc_step(&r.p, ok, "mamori-terminald runs the register; its devices attached (Noise KK sessions); "
                     "API on a unix socket");
        if (!ok)
            goto out;
    }
    demoproc_step(&r.p, dctl(&r, "scale", "weight", "352", "stable") == 0,
         "scale: 352 g of mikan, stable (an unstable reading is refused)");
    demoproc_pathf(script, sizeof(script), "%s/day.txt", r.dir);
    {
        FILE *f = fopen(script, "we");
        if (f == NULL || fputs(day_script, f) < 0 || fclose(f) != 0) {
            demoproc_step(&r.p, 0, "write the console script");
            goto out;
        }
    }
    sh = shopper(&r);
    {
        const char *a[] = {"mamori", "register", "--socket", r.sock, "--script", script, NULL};
        printf("  the console script (mamori register --socket %s --script day.txt;\n"
               "  passwords in scripts are for demos only):\n", r.sock);
        rc = demoproc_exec(&r.p, a, NULL);
        fputs(r.p.out, stdout);
        demoproc_step(&r.p, rc == 0, "two-person sale: JAN, quantity, weighed, price-embedded, age confirmed on "
                          "the customer display, gift + coupon + points + cash through the change "
                          "machine; points redeemed; return with the manager's approval; X and Z");
    }
    if (sh > 0) {
        st = 0;
        waitpid(sh, &st, 0);
        demoproc_step(&r.p, WIFEXITED(st) && WEXITSTATUS(st) == 0,
             "the shopper answered on the customer display and paid into the change machine");
    }
    dctl(&r, "linedisplay", "show", NULL, NULL);
    printf("  line display now: %s", r.p.out);
    demoproc_pathf(roll, sizeof(roll), "%s/dev-printer/fw/printer.out", r.dir);
    {
        const char *a[] = {"mamori", "receipt", "decode", roll, NULL};
        rc = demoproc_exec(&r.p, a, NULL);
        printf("---- receipts and reports as printed (decoded from the printer device's ESC/POS "
               "bytes) ----\n%s", r.p.out);
        demoproc_step(&r.p, rc == 0 && strstr(r.p.out, "登録番号") != NULL && strstr(r.p.out, "お釣") != NULL,
             "receipts decoded from what the printer device received");
        demoproc_step(&r.p, rc == 0 && strstr(r.p.out, "【点検 X】") != NULL && strstr(r.p.out, "【精算 Z】") != NULL &&
                     strstr(r.p.out, "Z No.000001") != NULL && strstr(r.p.out, "現金照合") != NULL,
             "X and Z reports printed on the printer device (Z No.1 with totals by tender and "
             "rate, cash expected, the cash reconciliation)");
    }
out:
    stop_all(&r);
    free(r.p.out);
    return r.p.failures;
}
