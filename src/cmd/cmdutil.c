/*
 * cmdutil.c: owns helpers several CLI verbs share beyond cmd_fail /
 * cmd_wants_help: reading a password line from a file descriptor into
 * guarded memory.
 */
#include <errno.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "common/secmem.h"
#include "mamori/err.h"
#include "pos/operator.h"

int cmd_read_password(int fd, char **ret)
{
    char *pw = secmem_new(OPERATOR_PASSWORD_MAX + 2);
    size_t n = 0;
    if (pw == NULL)
        return MAMORI_ERR_NOMEM;
    for (;;) {
        char c;
        ssize_t k = read(fd, &c, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            secmem_free(pw);
            return MAMORI_ERR_IO;
        }
        if (k == 0 || c == '\n')
            break;
        if (n > OPERATOR_PASSWORD_MAX) {
            secmem_free(pw);
            return MAMORI_ERR_TOOBIG;
        }
        pw[n++] = c;
    }
    if (n > 0 && pw[n - 1] == '\r')
        pw[--n] = '\0';
    *ret = pw;
    return 0;
}
