/*
 * mamori audit: verify, export, show and prove the terminal's tamper-evident
 * audit log, and export the verifier keys at provisioning (POL-7, POL-8).
 * Owns option parsing and printing only; the checks live in src/audit.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage, 3 verification failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "audit/bundle.h"
#include "audit/entry.h"
#include "audit/recon_day.h"
#include "audit/reconcile.h"
#include "audit/vkeys.h"
#include "cmd/cmd.h"
#include "common/hex.h"
#include "crypto/merkle.h"
#include "keys/keys.h"
#include "mamori/err.h"

static const char usage_text[] =
    "usage: mamori audit verify [--db FILE | --bundle FILE] --keys VERIFIERFILE [--progress] [--json]\n"
    "       mamori audit export [--db FILE] --out FILE\n"
    "       mamori audit show [--db FILE] [--since T] [--until T] [--actor ID] [--event E] [--limit N] [--json]\n"
    "       mamori audit prove SEQ [--db FILE] [--json]\n"
    "       mamori audit prove --from SIZE1 [--to SIZE2] [--db FILE] [--json]\n"
    "       mamori audit keys --export FILE [--db FILE]\n"
    "       mamori audit reconcile --day FILE [--record] [--db FILE]\n"
    "\n"
    "  --db FILE      the audit database (default $MAMORI_AUDIT_DB or ./audit.db);\n"
    "                 its seal state is FILE.seal, its signer key FILE.key\n"
    "  --keys FILE    the verifier export made at provisioning (seal key_0 + audit public key)\n"
    "  T              unix seconds or YYYY-MM-DDTHH:MM:SS (UTC)\n"
    "verify checks every entry, seal, checkpoint and the tail offline and names the first\n"
    "bad entry (exit 3). keys --export moves the verifier export off the terminal (or creates\n"
    "a new log and exports its keys directly). reconcile compares a day's journal, device\n"
    "logs and cassette counts (JSON, see src/audit/recon_day.h) and prints the discrepancies\n"
    "(exit 3 when there are any); --record also writes them to the audit log as cash.discrepancy.\n";

struct opts {
    const char *db, *bundle, *keys, *out, *actor, *event, *export, *day, *from, *to;
    int64_t since, until;
    int64_t limit;
    bool json, progress, record;
};

static int parse_time(const char *s, int64_t *ret_ns)
{
    char *end;
    struct tm tm;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == 0 && *end == '\0' && end != s) {
        *ret_ns = (int64_t)v * 1000000000;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL || *end != '\0')
        return MAMORI_ERR_INVAL;
    *ret_ns = (int64_t)timegm(&tm) * 1000000000;
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"db", required_argument, NULL, 'd'},     {"bundle", required_argument, NULL, 'b'},
        {"keys", required_argument, NULL, 'k'},   {"out", required_argument, NULL, 'o'},
        {"since", required_argument, NULL, 's'},  {"until", required_argument, NULL, 'u'},
        {"actor", required_argument, NULL, 'a'},  {"event", required_argument, NULL, 'e'},
        {"limit", required_argument, NULL, 'l'},  {"json", no_argument, NULL, 'j'},
        {"progress", no_argument, NULL, 'p'},     {"export", required_argument, NULL, 'x'},
        {"day", required_argument, NULL, 'D'},    {"record", no_argument, NULL, 'R'},
        {"from", required_argument, NULL, 'F'},   {"to", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    int c;
    memset(o, 0, sizeof(*o));
    o->db = getenv("MAMORI_AUDIT_DB") ? getenv("MAMORI_AUDIT_DB") : "audit.db";
    o->since = INT64_MIN;
    o->until = INT64_MAX;
    o->limit = -1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'd': o->db = optarg; break;
        case 'b': o->bundle = optarg; break;
        case 'k': o->keys = optarg; break;
        case 'o': o->out = optarg; break;
        case 'a': o->actor = optarg; break;
        case 'e': o->event = optarg; break;
        case 'x': o->export = optarg; break;
        case 'D': o->day = optarg; break;
        case 'R': o->record = true; break;
        case 'F': o->from = optarg; break;
        case 'T': o->to = optarg; break;
        case 'j': o->json = true; break;
        case 'p': o->progress = true; break;
        case 'l': o->limit = strtoll(optarg, NULL, 10); break;
        case 's':
            if (parse_time(optarg, &o->since) != 0)
                return EXIT_USAGE;
            break;
        case 'u':
            if (parse_time(optarg, &o->until) != 0)
                return EXIT_USAGE;
            break;
        default: return EXIT_USAGE;
        }
    }
    return 0;
}

static void progress(void *ctx, uint64_t n)
{
    (void)ctx;
    fprintf(stderr, "\rverified %" PRIu64 " entries", n);
}

/* Map a bundle file (read-only, size-limited). */
static int map_file(const char *path, uint8_t **ret, size_t *ret_n)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return MAMORI_ERR_IO;
    if (fstat(fd, &st) != 0 || st.st_size <= 0 || (uint64_t)st.st_size > AUDIT_BUNDLE_MAX_BYTES) {
        close(fd);
        return st.st_size <= 0 ? MAMORI_ERR_SHORT : MAMORI_ERR_TOOBIG;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return MAMORI_ERR_IO;
    *ret = p;
    *ret_n = (size_t)st.st_size;
    return 0;
}

static int do_verify(const struct opts *o)
{
    struct audit_vkeys k;
    struct audit_verify_result res;
    struct audit_export_info info = {0};
    uint8_t *data = NULL;
    size_t n = 0;
    char *mem = NULL;
    bool mapped = false;
    int r;
    if (o->keys == NULL) {
        fputs("mamori audit verify: --keys is required\n", stderr);
        return EXIT_USAGE;
    }
    if ((r = audit_vkeys_load(o->keys, &k)) != 0)
        return cmd_fail("audit", o->keys, r);
    if (o->bundle != NULL) {
        if ((r = map_file(o->bundle, &data, &n)) != 0) {
            sodium_memzero(&k, sizeof(k));
            return cmd_fail("audit", o->bundle, r);
        }
        mapped = true;
    } else {
        char seal[AUDIT_PATH_MAX];
        snprintf(seal, sizeof(seal), "%s.seal", o->db);
        FILE *f = open_memstream(&mem, &n);
        if (f == NULL || access(o->db, R_OK) != 0) {
            if (f)
                fclose(f);
            free(mem);
            sodium_memzero(&k, sizeof(k));
            return cmd_fail("audit", o->db, MAMORI_ERR_NOTFOUND);
        }
        r = audit_bundle_export(o->db, seal, f, &info);
        fclose(f);
        if (r != 0) {
            free(mem);
            sodium_memzero(&k, sizeof(k));
            return cmd_fail("audit", "export", r);
        }
        data = (uint8_t *)mem;
    }
    bool show = o->progress || isatty(STDERR_FILENO);
    r = audit_bundle_verify_progress(data, n, &k, show ? progress : NULL, NULL, &res);
    if (show)
        fputc('\n', stderr);
    if (r != 0 && r != MAMORI_ERR_AUTH)
        goto out;
    if (o->json) {
        printf("{\"ok\":%s,\"entries\":%" PRIu64 ",\"checkpoints\":%" PRIu64 ",\"last_checkpoint\":%" PRIu64
               ",\"tail_sealed\":%s",
               res.ok ? "true" : "false", res.entries, res.checkpoints, res.last_ckpt_size,
               res.tail_sealed ? "true" : "false");
        if (!res.ok)
            printf(",\"where\":\"%s\",\"seq\":%" PRIu64 ",\"reason\":\"%s\"", res.where, res.bad_seq, res.reason);
        printf("}\n");
    } else if (res.ok) {
        printf("audit log OK: %" PRIu64 " entries, %" PRIu64 " signed checkpoints (last covers %" PRIu64
               "), tail sealed at %" PRIu64 "\n",
               res.entries, res.checkpoints, res.last_ckpt_size, res.entries);
    } else {
        printf("audit log FAILED at %s: %s\n", res.where, res.reason);
        printf("  (verified before it: %" PRIu64 " entries, %" PRIu64 " checkpoints)\n", res.entries,
               res.checkpoints);
    }
    if (o->bundle == NULL && info.seal_state && info.seal_epoch > info.entries && !o->json)
        printf("  the terminal's seal key is at epoch %" PRIu64 " but the log has %" PRIu64
               " entries: entries %" PRIu64 "..%" PRIu64 " were removed\n",
               info.seal_epoch, info.entries, info.entries, info.seal_epoch - 1);
    r = res.ok ? 0 : MAMORI_ERR_AUTH;
out:
    sodium_memzero(&k, sizeof(k));
    if (mapped)
        munmap(data, n);
    else
        free(mem);
    if (r == MAMORI_ERR_AUTH)
        return EXIT_VERIFY;
    return r == 0 ? 0 : cmd_fail("audit", "verify", r);
}

static int do_export(const struct opts *o)
{
    char seal[AUDIT_PATH_MAX];
    struct audit_export_info info;
    int r, fd;
    if (o->out == NULL) {
        fputs("mamori audit export: --out is required\n", stderr);
        return EXIT_USAGE;
    }
    if (access(o->db, R_OK) != 0)
        return cmd_fail("audit", o->db, MAMORI_ERR_NOTFOUND);
    snprintf(seal, sizeof(seal), "%s.seal", o->db);
    fd = open(o->out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return cmd_fail("audit", o->out, errno == EEXIST ? MAMORI_ERR_EXISTS : MAMORI_ERR_IO);
    FILE *f = fdopen(fd, "wb");
    if (f == NULL) {
        close(fd);
        return cmd_fail("audit", o->out, MAMORI_ERR_IO);
    }
    r = audit_bundle_export(o->db, seal, f, &info);
    if (r == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        r = MAMORI_ERR_IO;
    fclose(f);
    if (r != 0) {
        unlink(o->out);
        return cmd_fail("audit", "export", r);
    }
    printf("exported %" PRIu64 " entries and %" PRIu64 " checkpoints to %s%s\n", info.entries, info.checkpoints,
           o->out, info.tail_sealed ? " (tail sealed)" : " (NO tail seal: seal state unreadable or ahead of the log)");
    return 0;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int do_show(const struct opts *o)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int r, step;
    int64_t shown = 0;
    if (sqlite3_open_v2(o->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return cmd_fail("audit", o->db, MAMORI_ERR_DB);
    }
    r = sqlite3_prepare_v2(db,
                           "SELECT seq, time_ns, operator, role, process, event, details FROM audit"
                           " WHERE time_ns >= ?1 AND time_ns <= ?2 AND (?3 IS NULL OR operator = ?3)"
                           " AND (?4 IS NULL OR event = ?4 OR event LIKE ?4 || '.%') ORDER BY seq LIMIT ?5",
                           -1, &st, NULL);
    if (r != SQLITE_OK) {
        sqlite3_close(db);
        return cmd_fail("audit", "show", MAMORI_ERR_DB);
    }
    sqlite3_bind_int64(st, 1, o->since);
    sqlite3_bind_int64(st, 2, o->until);
    if (o->actor)
        sqlite3_bind_text(st, 3, o->actor, -1, SQLITE_STATIC);
    if (o->event)
        sqlite3_bind_text(st, 4, o->event, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, o->limit);
    if (o->json)
        putchar('[');
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(st, 1);
        time_t secs = (time_t)(t / 1000000000);
        struct tm tm;
        char ts[40];
        gmtime_r(&secs, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        const char *op = (const char *)sqlite3_column_text(st, 2);
        const char *role = (const char *)sqlite3_column_text(st, 3);
        const char *proc = (const char *)sqlite3_column_text(st, 4);
        const char *ev = (const char *)sqlite3_column_text(st, 5);
        const char *det = (const char *)sqlite3_column_text(st, 6);
        if (o->json) {
            printf("%s{\"seq\":%lld,\"time_ns\":%lld,\"operator\":", shown ? "," : "",
                   (long long)sqlite3_column_int64(st, 0), (long long)t);
            op ? json_str(op) : (void)fputs("null", stdout);
            fputs(",\"role\":", stdout);
            role ? json_str(role) : (void)fputs("null", stdout);
            fputs(",\"process\":", stdout);
            proc ? json_str(proc) : (void)fputs("null", stdout);
            fputs(",\"event\":", stdout);
            json_str(ev);
            printf(",\"details\":%s}", det && *det ? det : "{}");
        } else {
            printf("%8lld %s.%03dZ %-24s %s/%s/%s %s\n", (long long)sqlite3_column_int64(st, 0), ts,
                   (int)(t % 1000000000 / 1000000), ev ? ev : "?", op ? op : "-", role ? role : "-",
                   proc ? proc : "-", det ? det : "");
        }
        shown++;
    }
    if (o->json)
        puts("]");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return step == SQLITE_DONE ? 0 : cmd_fail("audit", "show", MAMORI_ERR_DB);
}

static void print_hash(const char *label, const uint8_t *h)
{
    char hex[2 * MERKLE_HASH_LEN + 1];
    hex_encode(hex, sizeof(hex), h, MERKLE_HASH_LEN);
    printf("%s%s", label, hex);
}

static int parse_u64(const char *s, uint64_t *ret)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s || s[0] == '-')
        return MAMORI_ERR_INVAL;
    *ret = v;
    return 0;
}

static void print_proof_json(const uint8_t *proof, size_t pn)
{
    printf("[");
    for (size_t i = 0; i < pn; i++)
        print_hash(i ? ",\"" : "\"", proof + i * MERKLE_HASH_LEN), putchar('"');
    printf("]");
}

/* prove SEQ: inclusion in the latest signed checkpoint.
 * prove --from S1 [--to S2]: consistency between two tree sizes (S2 default:
 * the latest checkpoint), for a witness that holds an older checkpoint. */
static int do_prove(const char *seq_s, const struct opts *o)
{
    struct audit_checkpoint ck;
    uint8_t proof[MERKLE_MAX_PROOF * MERKLE_HASH_LEN], a[32], b[32];
    size_t pn;
    uint64_t seq, s1, s2;
    int r;
    if (access(o->db, R_OK) != 0)
        return cmd_fail("audit", o->db, MAMORI_ERR_NOTFOUND);
    if ((r = audit_db_latest_checkpoint(o->db, &ck)) != 0)
        return cmd_fail("audit", "no signed checkpoint", r);
    if (seq_s == NULL) {
        if (o->from == NULL || parse_u64(o->from, &s1) != 0 || (o->to && parse_u64(o->to, &s2) != 0))
            return EXIT_USAGE;
        if (o->to == NULL)
            s2 = ck.size;
        if ((r = audit_db_consistency(o->db, s1, s2, proof, &pn, a, b)) != 0)
            return cmd_fail("audit", "prove", r);
        if (merkle_verify_consistency(s1, s2, a, b, proof, pn) != 0)
            return cmd_fail("audit", "prove", MAMORI_ERR_INTERNAL);
        if (o->json) {
            printf("{\"size1\":%" PRIu64 ",\"size2\":%" PRIu64 ",", s1, s2);
            print_hash("\"root1\":\"", a);
            print_hash("\",\"root2\":\"", b);
            printf("\",\"proof\":");
            print_proof_json(proof, pn);
            printf("}\n");
        } else {
            printf("consistency proof from %" PRIu64 " to %" PRIu64 " entries (RFC 9162)\n", s1, s2);
            print_hash("root1  ", a);
            print_hash("\nroot2  ", b);
            printf("\nproof  %zu hashes, %zu bytes\n", pn, pn * MERKLE_HASH_LEN);
            for (size_t i = 0; i < pn; i++)
                print_hash("  ", proof + i * MERKLE_HASH_LEN), putchar('\n');
        }
        return 0;
    }
    if (parse_u64(seq_s, &seq) != 0)
        return EXIT_USAGE;
    if (seq >= ck.size) {
        fprintf(stderr, "mamori audit: entry %" PRIu64 " is not covered by the latest checkpoint (%" PRIu64
                        " entries) yet\n", seq, ck.size);
        return 1;
    }
    if ((r = audit_db_inclusion(o->db, seq, ck.size, proof, &pn, a, b)) != 0)
        return cmd_fail("audit", "prove", r);
    if (memcmp(b, ck.root, AUDIT_ROOT_LEN) != 0) {
        fprintf(stderr, "mamori audit: the entries do not match the signed checkpoint; run mamori audit verify\n");
        return EXIT_VERIFY;
    }
    if (merkle_verify_inclusion(seq, ck.size, a, proof, pn, b) != 0)
        return cmd_fail("audit", "prove", MAMORI_ERR_INTERNAL);
    if (o->json) {
        char sighex[2 * AUDIT_SIG_LEN + 1];
        hex_encode(sighex, sizeof(sighex), ck.sig, AUDIT_SIG_LEN);
        printf("{\"seq\":%" PRIu64 ",\"tree_size\":%" PRIu64 ",\"checkpoint_time_ns\":%lld,", seq, ck.size,
               (long long)ck.time_ns);
        print_hash("\"leaf_hash\":\"", a);
        print_hash("\",\"root\":\"", b);
        printf("\",\"signature\":\"%s\",\"proof\":", sighex);
        print_proof_json(proof, pn);
        printf("}\n");
    } else {
        printf("inclusion proof of entry %" PRIu64 " in the signed checkpoint of %" PRIu64 " entries (RFC 9162)\n",
               seq, ck.size);
        print_hash("leaf hash  ", a);
        print_hash("\nroot       ", b);
        printf("\nproof      %zu hashes, %zu bytes\n", pn, pn * MERKLE_HASH_LEN);
        for (size_t i = 0; i < pn; i++)
            print_hash("  ", proof + i * MERKLE_HASH_LEN), putchar('\n');
    }
    return 0;
}

/* Copy the pending verifier export to dst (new file, 0600), then wipe and
 * remove the pending copy so key_0 no longer lives on the terminal. */
static int move_export(const char *pending, const char *dst)
{
    struct audit_vkeys k;
    int r = audit_vkeys_load(pending, &k);
    if (r != 0)
        return r;
    r = audit_vkeys_save(dst, &k);
    sodium_memzero(&k, sizeof(k));
    if (r != 0)
        return r;
    int fd = open(pending, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_size > 0) {
            uint8_t zero[512] = {0};
            for (off_t off = 0; off < st.st_size; off += (off_t)sizeof(zero))
                if (pwrite(fd, zero, sizeof(zero), off) < 0)
                    break;
            (void)fsync(fd);
        }
        close(fd);
    }
    return unlink(pending) == 0 ? 0 : MAMORI_ERR_IO;
}

static int do_keys(const struct opts *o)
{
    char pending[AUDIT_PATH_MAX];
    int r;
    if (o->export == NULL) {
        fputs("mamori audit keys: --export FILE is required\n", stderr);
        return EXIT_USAGE;
    }
    snprintf(pending, sizeof(pending), "%s.verifier", o->db);
    if (access(o->db, F_OK) != 0) {
        /* provisioning: create the log and export straight to FILE */
        char keyp[AUDIT_PATH_MAX];
        struct keys *k;
        struct audit *a;
        struct audit_options opt = {.verifier_path = o->export, .process = "mamori-audit"};
        snprintf(keyp, sizeof(keyp), "%s.key", o->db);
        if ((r = keys_load_or_create(keyp, &k)) != 0)
            return cmd_fail("audit", keyp, r);
        r = audit_open_ex(o->db, &opt, k, &a);
        if (r == 0)
            audit_close(a);
        keys_free(k);
        if (r != 0)
            return cmd_fail("audit", o->db, r);
        printf("created %s and exported its verifier keys to %s\n", o->db, o->export);
        return 0;
    }
    if ((r = move_export(pending, o->export)) != 0) {
        if (r == MAMORI_ERR_NOTFOUND)
            fprintf(stderr, "mamori audit keys: %s holds no pending export (already exported: key_0 is no "
                            "longer on this terminal)\n", o->db);
        return cmd_fail("audit", pending, r);
    }
    printf("exported verifier keys to %s and removed them from the terminal\n", o->export);
    return 0;
}

static int do_reconcile(const struct opts *o)
{
    struct recon_day *day = NULL;
    struct recon_report *rep = NULL;
    struct audit *a = NULL;
    struct buf text;
    char *data = NULL;
    size_t n = 0;
    int r;
    if (o->day == NULL) {
        fputs("mamori audit reconcile: --day FILE is required\n", stderr);
        return EXIT_USAGE;
    }
    FILE *f = fopen(o->day, "rb");
    if (f == NULL)
        return cmd_fail("audit", o->day, MAMORI_ERR_IO);
    data = malloc(RECON_DAY_MAX_BYTES + 1);
    if (data != NULL)
        n = fread(data, 1, RECON_DAY_MAX_BYTES + 1, f);
    fclose(f);
    buf_init(&text, 1 << 20);
    if (data == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    if ((r = recon_day_parse(data, n, &day)) != 0)
        goto out;
    if ((rep = malloc(sizeof(*rep))) == NULL) {
        r = MAMORI_ERR_NOMEM;
        goto out;
    }
    if (o->record && (r = audit_open(o->db, &a)) != 0)
        goto out;
    if ((r = recon_run(recon_day_input(day), a, rep)) != 0 || (r = recon_report_text(rep, &text)) != 0)
        goto out;
    fwrite(buf_ptr(&text), 1, buf_remaining(&text), stdout);
out:
    audit_close(a);
    buf_free(&text);
    recon_day_free(day);
    free(data);
    if (r != 0) {
        free(rep);
        return cmd_fail("audit", "reconcile", r);
    }
    r = rep->n > 0 ? EXIT_VERIFY : 0;
    free(rep);
    return r;
}

int cmd_audit(int argc, char **argv)
{
    struct opts o;
    int r;
    if (cmd_wants_help(argc, argv, usage_text))
        return 0;
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    const char *seq = NULL;
    argc--;
    argv++;
    if (strcmp(sub, "prove") == 0 && argc >= 2 && argv[1][0] != '-') {
        seq = argv[1];
        argc--;
        argv++;
    }
    if ((r = parse_opts(argc, argv, &o)) != 0 || optind != argc) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(sub, "verify") == 0)
        return do_verify(&o);
    if (strcmp(sub, "export") == 0)
        return do_export(&o);
    if (strcmp(sub, "show") == 0)
        return do_show(&o);
    if (strcmp(sub, "prove") == 0) {
        r = do_prove(seq, &o);
        return r == EXIT_USAGE ? (fputs(usage_text, stderr), EXIT_USAGE) : r;
    }
    if (strcmp(sub, "keys") == 0)
        return do_keys(&o);
    if (strcmp(sub, "reconcile") == 0)
        return do_reconcile(&o);
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}
