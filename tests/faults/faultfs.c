/* faultfs: an LD_PRELOAD shim that makes the disk misbehave for fault-injection tests.
 * It wraps read/readv/pread64 of regular files whose path (from /proc/self/fd) contains a
 * pattern given in the environment; every other descriptor (pipes, sockets, other files) is
 * passed through untouched.
 *   FAULTFS_EIO=<substring>   reads that start in the bad region [FAULTFS_EIO_AFTER,
 *                             FAULTFS_EIO_UNTIL) fail with EIO (a read that straddles its start
 *                             is shortened to end there), as a bad sector does; UNTIL defaults
 *                             to the end of the file
 *   FAULTFS_SLOW=<substring>  each read first sleeps FAULTFS_SLOW_MS milliseconds (default 1000)
 * Built by tests/it/faults.rs with `cc -shared -fPIC`; not part of the server. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int matches(int fd, const char *var) {
    const char *pat = getenv(var);
    if (pat == NULL || *pat == 0 || fd < 0)
        return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = 0;
    return strstr(path, pat) != NULL;
}

static long env_long(const char *var, long fallback) {
    const char *s = getenv(var);
    return s ? atol(s) : fallback;
}

/* Applies the faults for a read of *count bytes at pos; -1 with errno = EIO to fail it. */
static int fault(int fd, off_t pos, size_t *count) {
    if (matches(fd, "FAULTFS_SLOW")) {
        long ms = env_long("FAULTFS_SLOW_MS", 1000);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (matches(fd, "FAULTFS_EIO")) {
        off_t after = (off_t)env_long("FAULTFS_EIO_AFTER", 0);
        off_t until = (off_t)env_long("FAULTFS_EIO_UNTIL", -1);
        if (pos >= after && (until < 0 || pos < until)) {
            errno = EIO;
            return -1;
        }
        if (pos < after && pos + (off_t)*count > after)
            *count = (size_t)(after - pos);
    }
    return 0;
}

/* The file offset of fd, or -1 (errno kept) for pipes and sockets. */
static off_t position(int fd) {
    int saved = errno;
    off_t pos = lseek(fd, 0, SEEK_CUR);
    errno = saved;
    return pos;
}

static ssize_t real_read(int fd, void *buf, size_t count) {
    static ssize_t (*real)(int, void *, size_t);
    if (real == NULL)
        real = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    return real(fd, buf, count);
}

ssize_t read(int fd, void *buf, size_t count) {
    off_t pos = position(fd);
    if (pos >= 0 && fault(fd, pos, &count) < 0)
        return -1;
    return real_read(fd, buf, count);
}

ssize_t pread64(int fd, void *buf, size_t count, off_t pos) {
    static ssize_t (*real)(int, void *, size_t, off_t);
    if (real == NULL)
        real = (ssize_t(*)(int, void *, size_t, off_t))dlsym(RTLD_NEXT, "pread64");
    if (fault(fd, pos, &count) < 0)
        return -1;
    return real(fd, buf, count, pos);
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt) {
    static ssize_t (*real)(int, const struct iovec *, int);
    if (real == NULL)
        real = (ssize_t(*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "readv");
    off_t pos = position(fd);
    if (pos >= 0 && iovcnt > 0) {
        /* Read into the first buffer only, with the faults applied: a short read is legal. */
        size_t count = iov[0].iov_len;
        if (fault(fd, pos, &count) < 0)
            return -1;
        return real_read(fd, iov[0].iov_base, count);
    }
    return real(fd, iov, iovcnt);
}
