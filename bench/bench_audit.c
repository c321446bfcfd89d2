/*
 * bench_audit: the audit log's performance figures (docs/benchmarks.md).
 *
 *   1. durable appends per second with per-entry seal + Merkle leaf, group
 *      commit (one transaction, WAL, synchronous=FULL per batch), against a
 *      plain SQLite baseline inserting the same rows the same way;
 *   2. offline verification of a 1,000,000-entry bundle (in memory);
 *   3. inclusion and consistency proof generation at 10,000,000 leaves
 *      (in-memory stored-node tree), with proof sizes.
 *
 * usage: bench_audit [ENTRIES (default 1000000)] [BATCH (default 10000)] [TREE (default 10000000)]
 * Runs in a temporary directory under $TMPDIR (disk-backed on the bench machine).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "audit/audit.h"
#include "audit/bundle.h"
#include "audit/vkeys.h"
#include "crypto/merkle.h"
#include "keys/keys.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int r)
{
    fprintf(stderr, "bench_audit: %s failed (%d)\n", what, r);
    exit(1);
}

static double bench_baseline(const char *dir, long n, long batch)
{
    char path[4200], details[128];
    sqlite3 *db;
    sqlite3_stmt *st;
    snprintf(path, sizeof(path), "%s/plain.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE audit(seq INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, operator TEXT,"
                     " role TEXT, process TEXT, event TEXT NOT NULL, details TEXT NOT NULL);",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO audit VALUES(?,?,?,?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
        die("baseline setup", -1);
    double t0 = now();
    for (long i = 0; i < n; i += batch) {
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (long j = i; j < i + batch && j < n; j++) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int len = snprintf(details, sizeof(details), "{\"total\":\"%ld\",\"txn\":\"%ld\"}", 100 + j % 900, j);
            sqlite3_bind_int64(st, 1, j);
            sqlite3_bind_int64(st, 2, (sqlite3_int64)ts.tv_sec * 1000000000 + ts.tv_nsec);
            sqlite3_bind_text(st, 3, "op-0042", -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, "cashier", -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 5, "pos", -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 6, "txn.complete", -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 7, details, len, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE)
                die("baseline insert", -1);
            sqlite3_reset(st);
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            die("baseline commit", -1);
    }
    double dt = now() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return (double)n / dt;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    long batch = argc > 2 ? atol(argv[2]) : 10000;
    long tree_n = argc > 3 ? atol(argv[3]) : 10000000;
    char tmpl[4096], path[4200], vk[4300], seal[4300];
    struct keys *signer;
    struct audit *a;
    int r;
    if (sodium_init() < 0 || n <= 0 || batch <= 0 || tree_n <= 1)
        die("arguments", -1);
    snprintf(tmpl, sizeof(tmpl), "%s/mamori-bench-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmpl) == NULL)
        die("mkdtemp", -1);
    snprintf(path, sizeof(path), "%s/audit.db", tmpl);
    snprintf(vk, sizeof(vk), "%s.verifier", path);
    snprintf(seal, sizeof(seal), "%s.seal", path);

    /* 1. appends */
    struct audit_options opt = {0};
    struct audit_actor who = {.operator_id = "op-0042", .role = "cashier", .process = "pos"};
    if ((r = keys_generate(&signer)) != 0 || (r = audit_open_ex(path, &opt, signer, &a)) != 0)
        die("open", r);
    double t0 = now();
    for (long i = 0; i < n; i += batch) {
        if ((r = audit_begin_batch(a)) != 0)
            die("begin", r);
        for (long j = i; j < i + batch && j < n; j++)
            if ((r = audit_event(a, &who, "txn.complete", F_AMOUNT("total", 100 + j % 900), F_INT("txn", j))) != 0)
                die("record", r);
        if ((r = audit_commit_batch(a)) != 0)
            die("commit", r);
    }
    double dt_app = now() - t0;
    double rate = (double)n / dt_app;
    audit_close(a);
    keys_free(signer);
    double base = bench_baseline(tmpl, n, batch);
    printf("appends: %ld entries, batch %ld, durable group commit: %.0f entries/s (%.2f s)\n", n, batch, rate, dt_app);
    printf("baseline plain SQLite inserts (same rows, same WAL/FULL batches): %.0f rows/s\n", base);
    printf("ratio audit/baseline: %.2f\n", rate / base);

    /* single durable appends (each its own commit + seal persist) */
    if ((r = keys_generate(&signer)) != 0)
        die("keys", r);
    {
        char p2[4300];
        snprintf(p2, sizeof(p2), "%s/single.db", tmpl);
        if ((r = audit_open_ex(p2, &opt, signer, &a)) != 0)
            die("open single", r);
        double t1 = now();
        for (int i = 0; i < 200; i++)
            if ((r = audit_event(a, &who, "signon.ok", F_INT("i", i))) != 0)
                die("single", r);
        double dt1 = now() - t1;
        printf("single durable appends (no batch): %.0f entries/s (%.2f ms each)\n", 200 / dt1, dt1 / 200 * 1e3);
        audit_close(a);
    }
    keys_free(signer);

    /* 2. verification */
    struct audit_vkeys keys;
    struct audit_verify_result res;
    char *mem = NULL;
    size_t len = 0;
    struct audit_export_info info;
    if ((r = audit_vkeys_load(vk, &keys)) != 0)
        die("vkeys", r);
    FILE *f = open_memstream(&mem, &len);
    double te = now();
    if (f == NULL || (r = audit_bundle_export(path, seal, f, &info)) != 0)
        die("export", r);
    fclose(f);
    double dt_exp = now() - te;
    double tv = now(), cv = cpu_now();
    if ((r = audit_bundle_verify((const uint8_t *)mem, len, &keys, &res)) != 0)
        die("verify", r);
    double dt_ver = now() - tv, cpu_ver = cpu_now() - cv;
    double lavg[1] = {0};
    if (getloadavg(lavg, 1) != 1)
        lavg[0] = -1;
    printf("export: %llu entries, %llu checkpoints, %zu bytes in %.2f s\n", (unsigned long long)info.entries,
           (unsigned long long)info.checkpoints, len, dt_exp);
    printf("verify (in memory, seals + tree + checkpoints + tail): %llu entries in %.3f s (%.0f entries/s)\n",
           (unsigned long long)res.entries, dt_ver, (double)res.entries / dt_ver);
    printf("verify CPU time (both threads): %.3f s; load average during the run: %.2f (2 vCPUs shared)\n", cpu_ver,
           lavg[0]);
    free(mem);
    sodium_memzero(&keys, sizeof(keys));

    /* 3. proofs at tree_n leaves (in-memory stored-node tree) */
    struct merkle_tree *t;
    merkle_hash leaf, proof[MERKLE_MAX_PROOF], root, r1;
    size_t pn;
    if ((r = merkle_tree_new(&t)) != 0)
        die("tree", r);
    double tb = now();
    for (long i = 0; i < tree_n; i++) {
        uint8_t d[16];
        memcpy(d, &i, sizeof(i));
        memset(d + 8, 0x5a, 8);
        merkle_leaf_hash(leaf, d, sizeof(d));
        if ((r = merkle_tree_append(t, leaf)) != 0)
            die("append", r);
    }
    double dt_build = now() - tb;
    merkle_tree_root(t, (uint64_t)tree_n, root);
    const int reps = 10000;
    size_t total_inc = 0, total_con = 0, max_inc = 0, max_con = 0;
    double ti = now();
    for (int k = 0; k < reps; k++) {
        uint64_t idx = randombytes_uniform((uint32_t)tree_n);
        if ((r = merkle_tree_inclusion(t, idx, (uint64_t)tree_n, proof, &pn)) != 0)
            die("inclusion", r);
        total_inc += pn;
        if (pn > max_inc)
            max_inc = pn;
    }
    double dt_inc = (now() - ti) / reps;
    double tc = now();
    for (int k = 0; k < reps; k++) {
        uint64_t s1 = 1 + randombytes_uniform((uint32_t)(tree_n - 1));
        if ((r = merkle_tree_consistency(t, s1, (uint64_t)tree_n, proof, &pn)) != 0)
            die("consistency", r);
        total_con += pn;
        if (pn > max_con)
            max_con = pn;
    }
    double dt_con = (now() - tc) / reps;
    /* check one of each */
    uint64_t probe = (uint64_t)tree_n / 2 + 1;
    merkle_tree_inclusion(t, probe, (uint64_t)tree_n, proof, &pn);
    merkle_tree_leaf(t, probe, leaf);
    if (merkle_verify_inclusion(probe, (uint64_t)tree_n, leaf, proof[0], pn, root) != 0)
        die("inclusion verify", -1);
    uint64_t s1c = (uint64_t)tree_n * 3 / 4 + 1;
    merkle_tree_root(t, s1c, r1);
    merkle_tree_consistency(t, s1c, (uint64_t)tree_n, proof, &pn);
    if (merkle_verify_consistency(s1c, (uint64_t)tree_n, r1, root, proof[0], pn) != 0)
        die("consistency verify", -1);
    printf("tree of %ld leaves built in %.2f s (in memory, %.0f MiB of node hashes)\n", tree_n, dt_build,
           (double)tree_n * 2 * 32 / 1048576.0);
    printf("inclusion proof at %ld: %.2f us each, avg %.1f hashes, max %zu hashes = %zu bytes\n", tree_n,
           dt_inc * 1e6, (double)total_inc / reps, max_inc, max_inc * 32);
    printf("consistency proof to %ld: %.2f us each, avg %.1f hashes, max %zu hashes = %zu bytes\n", tree_n,
           dt_con * 1e6, (double)total_con / reps, max_con, max_con * 32);
    merkle_tree_free(t);
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_audit: could not remove %s\n", tmpl);
    return 0;
}
