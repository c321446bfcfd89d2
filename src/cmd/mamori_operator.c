/*
 * mamori operator: manage operator accounts (src/pos/operator.h).
 *
 *   mamori operator add    --db FILE --id ID --name NAME --role ROLE [--password-fd N]
 *   mamori operator list   --db FILE [--json]
 *   mamori operator unlock --db FILE --id ID --by MANAGER [--password-fd N]
 *   (all: [--audit FILE], default audit.db next to --db)
 *
 * Passwords are read as one line from stdin or --password-fd, never from the
 * command line (it is visible in ps), into guarded memory that is wiped.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/audit.h"
#include "cmd/cmd.h"
#include "common/secmem.h"
#include "mamori/err.h"
#include "pos/operator.h"

#define OPERATOR_PATH_MAX 4096

static const char usage_text[] =
    "usage: mamori operator add    --db FILE --id ID --name NAME --role ROLE [--password-fd N]\n"
    "       mamori operator list   --db FILE [--json]\n"
    "       mamori operator unlock --db FILE --id ID --by MANAGER [--password-fd N]\n"
    "options for all: --audit FILE (default: audit.db in the directory of --db)\n"
    "roles: checker, cashier, manager, maintainer\n"
    "add reads the new operator's password, unlock the manager's password, as one\n"
    "line from stdin (or from file descriptor N). Passwords: at least 6 characters.\n"
    "exit: 0 ok, 1 failure, 2 usage, 4 refused (wrong password, locked, not a manager)\n";

struct opts {
    const char *db, *audit, *id, *name, *role, *by;
    int password_fd;
    bool json;
};

static int open_all(const struct opts *o, struct audit **ret_a, struct operators **ret_ops)
{
    char apath[OPERATOR_PATH_MAX], copy[OPERATOR_PATH_MAX];
    int r;
    if (o->audit != NULL) {
        if (strlen(o->audit) >= sizeof(apath))
            return MAMORI_ERR_TOOBIG;
        strcpy(apath, o->audit);
    } else {
        if (strlen(o->db) >= sizeof(copy))
            return MAMORI_ERR_TOOBIG;
        strcpy(copy, o->db);
        if (snprintf(apath, sizeof(apath), "%s/audit.db", dirname(copy)) >= (int)sizeof(apath))
            return MAMORI_ERR_TOOBIG;
    }
    if ((r = audit_open(apath, ret_a)))
        return r;
    if ((r = operators_open(o->db, *ret_a, ret_ops))) {
        audit_close(*ret_a);
        return r;
    }
    return 0;
}

static int exit_for(int err)
{
    switch (err) {
    case 0:
        return 0;
    case MAMORI_ERR_AUTH:
    case MAMORI_ERR_LOCKED:
    case MAMORI_ERR_PERM:
    case MAMORI_ERR_NOTFOUND:
        return EXIT_REFUSED;
    default:
        return 1;
    }
}

static int do_add(const struct opts *o, struct operators *ops)
{
    enum operator_role role;
    char *pw = NULL;
    int r;
    if (o->id == NULL || o->name == NULL || o->role == NULL) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (operator_role_parse(o->role, &role) != 0) {
        fprintf(stderr, "mamori operator: unknown role '%s'\n", o->role);
        return EXIT_USAGE;
    }
    if ((r = cmd_read_password(o->password_fd, &pw)))
        return cmd_fail("operator", "reading the password", r);
    r = operators_add(ops, o->id, o->name, role, pw);
    secmem_free(pw);
    if (r == MAMORI_ERR_INVAL) {
        fprintf(stderr, "mamori operator: refused: id must be [A-Za-z0-9_-]{1,%d}, name UTF-8 up to "
                        "%d bytes, password %d to %d characters\n",
                OPERATOR_ID_MAX, OPERATOR_NAME_MAX, OPERATOR_PASSWORD_MIN, OPERATOR_PASSWORD_MAX);
        return 1;
    }
    if (r != 0)
        return cmd_fail("operator", "add", r);
    printf("added %s (%s)\n", o->id, operator_role_name(role));
    return 0;
}

static int do_list(const struct opts *o, struct operators *ops)
{
    struct operator_info *v;
    size_t n;
    int r = operators_list(ops, &v, &n);
    if (r != 0)
        return cmd_fail("operator", "list", r);
    if (o->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, s:b, s:I}", "id", v[i].id,
                                                 "name", v[i].name, "role",
                                                 operator_role_name(v[i].role), "failures",
                                                 v[i].failures, "locked", v[i].locked, "created",
                                                 (json_int_t)v[i].created));
        char *s = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        if (s == NULL) {
            free(v);
            return cmd_fail("operator", "list", MAMORI_ERR_NOMEM);
        }
        puts(s);
        free(s);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%-32s %-10s %s%s\n", v[i].id, operator_role_name(v[i].role), v[i].name,
                   v[i].locked ? "  [locked]" : "");
    }
    free(v);
    return 0;
}

static int do_unlock(const struct opts *o, struct operators *ops)
{
    struct operator_info mgr;
    char *pw = NULL;
    int r;
    if (o->id == NULL || o->by == NULL) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if ((r = cmd_read_password(o->password_fd, &pw)))
        return cmd_fail("operator", "reading the password", r);
    /* The manager proves who they are first; the unlock re-checks the role. */
    r = operators_authenticate(ops, o->by, pw, &mgr);
    secmem_free(pw);
    if (r == 0)
        r = operators_unlock(ops, o->id, o->by);
    if (r != 0) {
        cmd_fail("operator", "unlock", r);
        return exit_for(r);
    }
    printf("unlocked %s (by %s)\n", o->id, o->by);
    return 0;
}

int cmd_operator(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},   {"audit", required_argument, NULL, 'a'},
        {"id", required_argument, NULL, 'i'},   {"name", required_argument, NULL, 'n'},
        {"role", required_argument, NULL, 'r'}, {"by", required_argument, NULL, 'b'},
        {"password-fd", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},       {NULL, 0, NULL, 0},
    };
    struct opts o = {.password_fd = 0};
    struct audit *audit = NULL;
    struct operators *ops = NULL;
    int c, r;
    if (cmd_wants_help(argc, argv, usage_text))
        return 0;
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o.db = optarg; break;
        case 'a': o.audit = optarg; break;
        case 'i': o.id = optarg; break;
        case 'n': o.name = optarg; break;
        case 'r': o.role = optarg; break;
        case 'b': o.by = optarg; break;
        case 'j': o.json = true; break;
        case 'p': {
            char *end;
            long fd = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || fd < 0 || fd > 1024) {
                fprintf(stderr, "mamori operator: bad --password-fd '%s'\n", optarg);
                return EXIT_USAGE;
            }
            o.password_fd = (int)fd;
            break;
        }
        default:
            fputs(usage_text, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || o.db == NULL ||
        (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "unlock") != 0)) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if ((r = open_all(&o, &audit, &ops)))
        return cmd_fail("operator", o.db, r);
    if (strcmp(sub, "add") == 0)
        r = do_add(&o, ops);
    else if (strcmp(sub, "list") == 0)
        r = do_list(&o, ops);
    else
        r = do_unlock(&o, ops);
    operators_free(ops);
    audit_close(audit);
    return r;
}
