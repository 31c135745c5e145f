/* The change lock: flock(2) on <root>/run/vpass/lock, bounded wait, the holder's pid inside. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/str.h"

struct vp_lock {
    int fd;
    char *path;
};

/* How often a waiting vpass tries again. */
#define RETRY_MS 20

/* Create directory PATH 0755 (whatever the umask) unless it exists. */
static int
mkdir_if_missing(const char *path, vp_error *err)
{
    if (mkdir(path, 0755) < 0) {
        if (errno == EEXIST)
            return 0;
        return vp_error_errno(err, errno, "%s: cannot create the directory", path);
    }
    if (chmod(path, 0755) < 0)
        return vp_error_errno(err, errno, "%s: cannot set its mode", path);
    return 0;
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* The pid the holder wrote into FD, 0 when unreadable (it may be between open and write). */
static long
holder_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    int pid;

    if (n <= 0)
        return 0;
    buf[n] = '\0';
    vp_strstrip(buf);
    if (vp_parse_int(buf, &pid) < 0 || pid <= 0)
        return 0;
    return pid;
}

int
vp_lock_acquire_timeout(const char *root, unsigned timeout_ms, vp_lock **ret, vp_error *err)
{
    vp_autofree char *run = vp_path_join(root ? root : "/", "run");
    vp_autofree char *dir = vp_path_join(run, "vpass");
    vp_autofree char *path = vp_path_join(dir, "lock");
    long long deadline = now_ms() + timeout_ms;
    char pidbuf[32];
    vp_lock *l;
    int fd, n;

    if (mkdir_if_missing(run, err) < 0 || mkdir_if_missing(dir, err) < 0)
        return -1;
    /* O_NOFOLLOW: the file is ours, never a link planted to make root truncate another. */
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return vp_error_errno(err, errno, "%s: cannot open the lock", path);
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            vp_error_errno(err, errno, "%s: cannot lock", path);
            close(fd);
            return -1;
        }
        if (now_ms() >= deadline) {
            long pid = holder_pid(fd);

            close(fd);
            if (pid)
                vp_error_set(err, VP_E_SYSTEM, "another vpass holds %s (pid %ld)", path, pid);
            else
                vp_error_set(err, VP_E_SYSTEM, "another vpass holds %s", path);
            err->errnum = EWOULDBLOCK;
            return vp_error_hint(
                err, "wait for it to finish; a vpass that is gone releases the lock by itself");
        }
        sleep_ms(RETRY_MS);
    }
    n = snprintf(pidbuf, sizeof(pidbuf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pidbuf, (size_t)n, 0) != n) {
        vp_error_errno(err, errno, "%s: cannot write the holder's pid", path);
        close(fd);
        return -1;
    }
    l = vp_malloc0(sizeof(*l));
    l->fd = fd;
    l->path = VP_STEAL(&path);
    *ret = l;
    return 0;
}

int
vp_lock_acquire(const char *root, vp_lock **ret, vp_error *err)
{
    return vp_lock_acquire_timeout(root, VP_LOCK_TIMEOUT_MS, ret, err);
}

const char *
vp_lock_path(const vp_lock *l)
{
    return l->path;
}

void
vp_lock_release(vp_lock *l)
{
    if (!l)
        return;
    /* Clear the pid while still holding the lock, so no reader sees a stale one. */
    (void)!ftruncate(l->fd, 0);
    close(l->fd); /* releases the flock */
    free(l->path);
    free(l);
}
