/* demoproc.c: child processes for the demo steps (see demoproc.h). */
#include "cmd/demoproc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/evloop.h"

void demoproc_nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

pid_t demoproc_start(const char *bindir, const char *const *argv, const char *input, int *ret_fd)
{
    int in[2], out[2];
    char exe[1024];
    pid_t pid;
    int n = snprintf(exe, sizeof(exe), "%s/%s", bindir, argv[0]);
    if (n < 0 || n >= (int)sizeof(exe) || pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(in[0], 0);
        dup2(ret_fd ? out[1] : devnull, 1);
        dup2(devnull, 2);
        execv(exe, (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (pid > 0 && input && write(in[1], input, strlen(input)) < 0)
        (void)0; /* the child exited early: its status tells */
    close(in[1]);
    if (ret_fd && pid > 0)
        *ret_fd = out[0];
    else
        close(out[0]);
    return pid;
}

int demoproc_run(const char *bindir, const char *const *argv, const char *input, char *out, size_t cap,
                 int timeout_ms)
{
    int fd = -1, st;
    size_t n = 0;
    int64_t end = evloop_now_ms() + timeout_ms;
    pid_t pid = demoproc_start(bindir, argv, input, &fd);
    if (pid < 0 || cap == 0)
        return -1;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(end - evloop_now_ms());
        ssize_t k;
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        if ((k = read(fd, out + n, cap - 1 - n)) <= 0)
            break;
        n += (size_t)k;
    }
    out[n] = '\0';
    close(fd);
    if (evloop_now_ms() >= end)
        kill(pid, SIGKILL);
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
