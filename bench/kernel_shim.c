/* The PCI core's answer to driver_override, unbind and drivers_probe under a generated sysfs
 * tree, for the hook benchmark: LD_PRELOAD'ed into vpass-hook, it makes a write to those files
 * under $VPASS_BENCH_ROOT change the device's driver link at once, as the kernel's synchronous
 * vfio-pci probe does (drivers/pci/pci-sysfs.c, drivers/base/bus.c), so that a prepare that
 * isolates a sibling and its release run as on a host. The driver a device had is kept in
 * ROOT/.bench-kernel/ADDR (its id-table match, for a probe without override). Any other file
 * is left to libc. Not a test double: tests/unit/kernel_model.c is the tested model.
 *
 *     cc -O2 -shared -fPIC -o kernel_shim.so bench/kernel_shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FD 1024

static char *paths[MAX_FD]; /* fds opened for writing under the root */

static int (*real_open)(const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_close)(int);

static void
init(void)
{
    if (!real_open) {
        real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
        real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
        real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
    }
}

static const char *
root(void)
{
    const char *r = getenv("VPASS_BENCH_ROOT");

    return r && *r ? r : NULL;
}

/* VALUE without its trailing newline, at most SIZE - 1 bytes, into BUF. */
static void
value_of(const void *value, size_t n, char *buf, size_t size)
{
    if (n >= size)
        n = size - 1;
    memcpy(buf, value, n);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
}

static void
put_file(const char *path, const char *text)
{
    int fd = real_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        return;
    if (real_write(fd, text, strlen(text)) < 0)
        perror(path);
    real_close(fd);
}

static int
get_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    int ok = f && fgets(buf, (int)size, f);

    if (f)
        fclose(f);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* unbind: the device loses its driver link; the driver it had is remembered. */
static void
unbind(const char *r, const char *addr)
{
    char link[PATH_MAX], target[PATH_MAX], keep[PATH_MAX];
    ssize_t n;

    snprintf(link, sizeof(link), "%s/sys/bus/pci/devices/%s/driver", r, addr);
    n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return;
    target[n] = '\0';
    snprintf(keep, sizeof(keep), "%s/.bench-kernel", r);
    mkdir(keep, 0755);
    snprintf(keep, sizeof(keep), "%s/.bench-kernel/%s", r, addr);
    if (access(keep, F_OK) != 0)
        put_file(keep, strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
    unlink(link);
}

/* drivers_probe: an unbound device binds to its driver_override, else to the driver it had. */
static void
probe(const char *r, const char *addr)
{
    char path[PATH_MAX], drv[256], dev[PATH_MAX], sys[PATH_MAX], target[PATH_MAX];
    char link[PATH_MAX + 16];
    size_t len = 0;
    const char *rel;

    snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/driver", r, addr);
    if (access(path, F_OK) == 0)
        return;
    snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/driver_override", r, addr);
    if (get_line(path, drv, sizeof(drv)) < 0 || !*drv || strcmp(drv, "(null)") == 0) {
        snprintf(path, sizeof(path), "%s/.bench-kernel/%s", r, addr);
        if (get_line(path, drv, sizeof(drv)) < 0)
            return;
    }
    snprintf(path, sizeof(path), "%s/sys/bus/pci/drivers/%s", r, drv);
    if (access(path, F_OK) != 0)
        return;
    /* The link is relative to the device's own directory, as the kernel's sysfs shows it. */
    snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s", r, addr);
    snprintf(sys, sizeof(sys), "%s/sys", r);
    if (!realpath(path, dev) || !realpath(sys, path))
        return;
    rel = dev + strlen(path);
    for (const char *p = rel; *p; p++)
        if (*p == '/')
            len += 3;
    if (len + strlen(drv) + 20 >= sizeof(target))
        return;
    target[0] = '\0';
    for (size_t i = 0; i < len; i += 3)
        strcat(target, "../");
    strcat(target, "bus/pci/drivers/");
    strcat(target, drv);
    snprintf(link, sizeof(link), "%s/driver", dev);
    if (symlink(target, link) < 0)
        perror(link);
}

/* What the kernel does for a write of VALUE to PATH; 1 when it was one of the PCI core's. */
static int
emulate(const char *path, const void *value, size_t n)
{
    const char *r = root();
    size_t rl = r ? strlen(r) : 0;
    char v[256];
    const char *rel;

    if (!r || strncmp(path, r, rl) != 0)
        return 0;
    rel = path + rl;
    value_of(value, n, v, sizeof(v));
    if (strncmp(rel, "/sys/bus/pci/devices/", 21) == 0 && strstr(rel, "/driver_override") &&
        strcmp(strstr(rel, "/driver_override"), "/driver_override") == 0) {
        char text[300];

        snprintf(text, sizeof(text), "%s\n", *v ? v : "(null)");
        put_file(path, text);
        return 1;
    }
    if (strncmp(rel, "/sys/bus/pci/drivers/", 21) == 0 && strlen(rel) > 7 &&
        strcmp(rel + strlen(rel) - 7, "/unbind") == 0) {
        unbind(r, v);
        return 1;
    }
    if (strcmp(rel, "/sys/bus/pci/drivers_probe") == 0) {
        probe(r, v);
        return 1;
    }
    return 0;
}

int
open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    int fd;

    init();
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;

        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    fd = real_open(path, flags, mode);
    if (fd >= 0 && fd < MAX_FD && (flags & O_ACCMODE) == O_WRONLY && root() &&
        strncmp(path, root(), strlen(root())) == 0) {
        free(paths[fd]);
        paths[fd] = strdup(path);
    }
    return fd;
}

ssize_t
write(int fd, const void *buf, size_t n)
{
    init();
    if (fd >= 0 && fd < MAX_FD && paths[fd] && emulate(paths[fd], buf, n))
        return (ssize_t)n;
    return real_write(fd, buf, n);
}

int
close(int fd)
{
    init();
    if (fd >= 0 && fd < MAX_FD) {
        free(paths[fd]);
        paths[fd] = NULL;
    }
    return real_close(fd);
}
