/*
 * execlat: per-exec latency of fork + exec + wait of one program, N times,
 * for bench/bench_guard.sh (POL-5 overhead; docs/benchmarks.md).
 *
 *     bench_execlat N PROGRAM [ARGS...]
 *
 * Prints one line: "n=N p50_us=... p99_us=... mean_us=... fail=F" (a run that
 * did not exit 0 counts as a failure; the program's output goes to /dev/null).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXECLAT_MAX_RUNS 1000000

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_execlat N PROGRAM [ARGS...]\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    if (n <= 0 || n > EXECLAT_MAX_RUNS)
        return 2;
    uint64_t *t = calloc((size_t)n, sizeof(*t));
    if (t == NULL)
        return 1;
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    long fail = 0;
    uint64_t sum = 0;
    for (long i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        pid_t p = fork();
        if (p == 0) {
            dup2(devnull, 1);
            execv(argv[2], argv + 2);
            _exit(127);
        }
        int st = 0;
        if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fail++;
        t[i] = now_ns() - t0;
        sum += t[i];
    }
    qsort(t, (size_t)n, sizeof(*t), cmp_u64);
    printf("n=%ld p50_us=%.1f p99_us=%.1f mean_us=%.1f fail=%ld\n", n, (double)t[n / 2] / 1000.0,
           (double)t[(n * 99) / 100] / 1000.0, (double)sum / (double)n / 1000.0, fail);
    free(t);
    return fail ? 1 : 0;
}
