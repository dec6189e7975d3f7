/*
 * fileio.h: whole-file reads with a size cap, and crash-safe writes.
 *
 * All functions return 0 or -errno.  -EFBIG means a file exceeded the cap
 * the caller gave.
 */
#ifndef STAVILY_BASE_FILEIO_H
#define STAVILY_BASE_FILEIO_H

#include <stddef.h>
#include <sys/types.h>
#include "base/util.h"

/*
 * Read the whole of `path` into a fresh NUL-terminated buffer (the NUL is not
 * counted in *len).  Refuses files larger than `max` bytes before allocating
 * more than `max` + 1.  The caller frees *out.
 */
int file_read_all(const char *path, size_t max, char **out, size_t *len) WARN_UNUSED;

/*
 * Same, from an open descriptor (read until EOF).  The descriptor is not
 * closed.
 */
int fd_read_all(int fd, size_t max, char **out, size_t *len) WARN_UNUSED;

/*
 * Write `len` bytes to `path` atomically: a temporary file in the same
 * directory created with `mode` (O_EXCL, never following symlinks), write,
 * fsync, rename over `path`, fsync of the directory.  After a crash the file
 * holds either the old or the new contents, never a mix.
 */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode) WARN_UNUSED;

/* write(2) until done, retrying on EINTR and short writes. */
int fd_write_all(int fd, const void *data, size_t len) WARN_UNUSED;

/* fsync the directory that contains `path` (so a create/rename is durable). */
int fsync_parent_dir(const char *path) WARN_UNUSED;

/* mkdir -p with `mode` for each created component; existing dirs are kept. */
int mkdir_p(const char *path, mode_t mode) WARN_UNUSED;

#endif
