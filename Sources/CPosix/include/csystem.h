#ifndef CSYSTEM_H
#define CSYSTEM_H

/// Atomically swaps two paths in one directory tree (Linux renameat2 RENAME_EXCHANGE).
/// Returns 0, or -1 with errno set (ENOSYS/EINVAL where the kernel or file system lacks it).
int csys_rename_exchange(const char *a, const char *b);

/// rename(2) that fails with EEXIST instead of replacing an existing target (RENAME_NOREPLACE).
int csys_rename_noreplace(const char *from, const char *to);

#endif
