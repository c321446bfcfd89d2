/*
 * sandbox.c: Landlock filesystem restriction. Owns the choice of handled
 * rights per Landlock ABI version; must not own which paths a program needs
 * (the caller lists them).
 */
#include "common/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mamori/err.h"

#define FS_FILE_RIGHTS                                                                             \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE)
#define FS_DIR_RIGHTS                                                                              \
    (LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |                                 \
     LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
     LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |   \
     LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM)
#define FS_RO_RIGHTS                                                                               \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)

/* Rights added by later ABI versions (defined here if the headers are older). */
#define SB_REFER     (1ULL << 13) /* ABI 2 */
#define SB_TRUNCATE  (1ULL << 14) /* ABI 3 */
#define SB_IOCTL_DEV (1ULL << 15) /* ABI 5 */

static int add_rule(int rs, const char *path, uint64_t handled, uint64_t want)
{
    struct landlock_path_beneath_attr pb;
    struct stat st;
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : MAMORI_ERR_SYS;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return MAMORI_ERR_SYS;
    }
    pb.parent_fd = fd;
    pb.allowed_access = want & handled;
    if (!S_ISDIR(st.st_mode)) /* files take only file rights */
        pb.allowed_access &= FS_FILE_RIGHTS | SB_TRUNCATE | SB_IOCTL_DEV;
    if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0) {
        close(fd);
        return MAMORI_ERR_SYS;
    }
    close(fd);
    return 0;
}

int sandbox_restrict(const char *const *rw, size_t nrw, const char *const *ro, size_t nro)
{
    struct landlock_ruleset_attr ra = {0};
    long abi;
    uint64_t handled = FS_FILE_RIGHTS | FS_DIR_RIGHTS;
    int rs, r = 0;
    if (nrw + nro > SANDBOX_MAX_PATHS)
        return MAMORI_ERR_INVAL;
    abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1)
        return MAMORI_ERR_UNSUPPORTED;
    if (abi >= 2)
        handled |= SB_REFER;
    if (abi >= 3)
        handled |= SB_TRUNCATE;
    if (abi >= 5)
        handled |= SB_IOCTL_DEV;
    ra.handled_access_fs = handled;
    rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
    if (rs < 0)
        return MAMORI_ERR_SYS;
    for (size_t i = 0; r == 0 && i < nrw; i++)
        r = add_rule(rs, rw[i], handled, handled);
    for (size_t i = 0; r == 0 && i < nro; i++)
        r = add_rule(rs, ro[i], handled, FS_RO_RIGHTS);
    /* Landlock requires no_new_privs (or CAP_SYS_ADMIN) before restricting. */
    if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        r = MAMORI_ERR_SYS;
    if (r == 0 && syscall(SYS_landlock_restrict_self, rs, 0) != 0)
        r = MAMORI_ERR_SYS;
    close(rs);
    return r;
}
