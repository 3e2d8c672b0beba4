#define _GNU_SOURCE
#include "csystem.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int rename2(const char *a, const char *b, unsigned flags) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int csys_rename_exchange(const char *a, const char *b) { return rename2(a, b, RENAME_EXCHANGE); }

int csys_rename_noreplace(const char *from, const char *to) { return rename2(from, to, RENAME_NOREPLACE); }
