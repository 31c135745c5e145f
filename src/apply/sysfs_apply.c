/* The sysfs applier: driver_override + unbind + drivers_probe, and the bounded wait for the
 * kernel to report the bind (Documentation/ABI/testing/sysfs-bus-pci). */
#include "sysfs_apply.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/fs.h"
#include "../util/str.h"

static int
real_write(void *ctx, const char *root, const char *rel, const char *value, size_t len)
{
    vp_autofree char *path = vp_path_join(root ? root : "/", rel);
    ssize_t n;
    int fd, e;

    (void)ctx;
    /* Never O_CREAT: a sysfs attribute exists or the kernel does not offer it. */
    fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    do
        n = write(fd, value, len);
    while (n < 0 && errno == EINTR);
    e = n < 0 ? errno : (size_t)n != len ? EIO : 0;
    /* sysfs reports some errors only at close (a store that failed after a partial write). */
    if (close(fd) < 0 && !e)
        e = errno;
    return -e;
}

const vp_sysfs_writer vp_sysfs_writer_real = {.write = real_write, .ctx = NULL};

static const char *
root_of(const vp_sysfs *s)
{
    return s->root ? s->root : "/";
}

static const vp_sysfs_writer *
writer_of(const vp_sysfs *s)
{
    return s->writer ? s->writer : &vp_sysfs_writer_real;
}

bool
vp_sysfs_driver_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > 64 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-") == n;
}

static char *
dev_rel(const vp_pci_addr *addr, const char *attr)
{
    char a[VP_PCI_ADDR_STRLEN];

    vp_pci_addr_format(addr, a);
    return attr ? vp_asprintf("sys/bus/pci/devices/%s/%s", a, attr)
                : vp_asprintf("sys/bus/pci/devices/%s", a);
}

/* An attribute of ADDR is absent: 0 when the device itself exists (the attribute is just not
 * there), -1 with ERR (VP_E_NOTFOUND) when the device does not. */
static int
device_present(const vp_sysfs *s, const vp_pci_addr *addr, vp_error *err)
{
    vp_autofree char *dev = dev_rel(addr, NULL);
    vp_autofree char *path = vp_path_join(root_of(s), dev);
    char a[VP_PCI_ADDR_STRLEN];
    struct stat st;

    if (stat(path, &st) < 0)
        return vp_error_set(err, VP_E_NOTFOUND, "%s: no such PCI device in %s",
                            vp_pci_addr_format(addr, a), root_of(s));
    return 0;
}

int
vp_sysfs_read_driver(const vp_sysfs *s, const vp_pci_addr *addr, char **ret, vp_error *err)
{
    vp_autofree char *rel = dev_rel(addr, "driver");
    vp_autofree char *target = NULL;
    char a[VP_PCI_ADDR_STRLEN];
    int r;

    vp_pci_addr_format(addr, a);
    r = vp_root_readlink(root_of(s), rel, &target);
    if (r == -ENOENT) {
        if (device_present(s, addr, err) < 0)
            return -1;
        *ret = NULL;
        return 0;
    }
    if (r < 0)
        return vp_error_errno(err, -r, "%s: cannot read its driver link", a);
    *ret = vp_strdup(vp_basename(target));
    return 0;
}

int
vp_sysfs_read_override(const vp_sysfs *s, const vp_pci_addr *addr, char **ret, vp_error *err)
{
    vp_autofree char *rel = dev_rel(addr, "driver_override");
    vp_autofree char *line = NULL;
    char a[VP_PCI_ADDR_STRLEN];
    int r;

    vp_pci_addr_format(addr, a);
    r = vp_root_read_line(root_of(s), rel, &line);
    if (r == -ENOENT) {
        if (device_present(s, addr, err) < 0)
            return -1;
        *ret = NULL; /* a kernel before 3.16 has no driver_override */
        return 0;
    }
    if (r < 0)
        return vp_error_errno(err, -r, "%s: cannot read driver_override", a);
    /* drivers/pci/pci-sysfs.c, driver_override_show: "%s\n" of the override, "(null)" when
     * unset (glibc's and the kernel's spelling of a NULL %s). */
    *ret = *line && strcmp(line, "(null)") != 0 ? VP_STEAL(&line) : NULL;
    return 0;
}

bool
vp_sysfs_driver_loaded(const vp_sysfs *s, const char *driver)
{
    vp_autofree char *rel = NULL;
    vp_autofree char *path = NULL;
    struct stat st;

    if (!vp_sysfs_driver_name_ok(driver))
        return false;
    rel = vp_asprintf("sys/bus/pci/drivers/%s", driver);
    path = vp_path_join(root_of(s), rel);
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Write VALUE to REL; -1 with ERR naming ADDR and what the write meant. */
static int
put(const vp_sysfs *s, const char *a, const char *rel, const char *value, const char *what,
    vp_error *err)
{
    int r = writer_of(s)->write(writer_of(s)->ctx, root_of(s), rel, value, strlen(value));

    if (r < 0)
        return vp_error_errno(err, -r, "%s: %s (writing /%s)", a, what, rel);
    return 0;
}

static int
put_override(const vp_sysfs *s, const vp_pci_addr *addr, const char *override, vp_error *err)
{
    vp_autofree char *rel = dev_rel(addr, "driver_override");
    char a[VP_PCI_ADDR_STRLEN];

    vp_pci_addr_format(addr, a);
    /* A lone "\n" clears the override (driver_set_override, drivers/base/driver.c). */
    if (!override)
        return put(s, a, rel, "\n", "cannot clear driver_override", err);
    return put(s, a, rel, override, "cannot set driver_override", err);
}

static int
put_unbind(const vp_sysfs *s, const vp_pci_addr *addr, const char *driver, vp_error *err)
{
    vp_autofree char *rel = NULL;
    vp_autofree char *what = NULL;
    char a[VP_PCI_ADDR_STRLEN];

    vp_pci_addr_format(addr, a);
    if (!vp_sysfs_driver_name_ok(driver))
        return vp_error_set(err, VP_E_DATA,
                            "%s: bound to a driver named '%s', which vpass will not write to", a,
                            driver);
    rel = vp_asprintf("sys/bus/pci/drivers/%s/unbind", driver);
    what = vp_asprintf("cannot unbind it from %s", driver);
    return put(s, a, rel, a, what, err);
}

static int
put_probe(const vp_sysfs *s, const vp_pci_addr *addr, vp_error *err)
{
    char a[VP_PCI_ADDR_STRLEN];

    vp_pci_addr_format(addr, a);
    return put(s, a, "sys/bus/pci/drivers_probe", a, "drivers_probe failed", err);
}

static long long
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
sleep_us(long long us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Poll ADDR's driver link until it names a driver (WANT, or any when ANY) or TIMEOUT_MS pass.
 * *RET_DRIVER gets the last driver seen (NULL: none). Starts at 100 us and doubles up to 10 ms:
 * a synchronous probe is seen at once, a slow one costs at most 10 ms more than it took. */
static int
wait_driver(const vp_sysfs *s, const vp_pci_addr *addr, const char *want, unsigned timeout_ms,
            char **ret_driver, vp_error *err)
{
    long long deadline = now_us() + (long long)timeout_ms * 1000;
    long long step = 100;

    for (;;) {
        vp_autofree char *cur = NULL;

        if (vp_sysfs_read_driver(s, addr, &cur, err) < 0)
            return -1;
        if (cur && (!want || strcmp(cur, want) == 0)) {
            *ret_driver = VP_STEAL(&cur);
            return 0;
        }
        if (cur || now_us() >= deadline) {
            /* Bound to another driver: waiting longer will not change it. */
            *ret_driver = VP_STEAL(&cur);
            return 0;
        }
        sleep_us(step);
        if (step < 10000)
            step *= 2;
    }
}

static unsigned
timeout_of(const vp_sysfs *s)
{
    return s->timeout_ms ? s->timeout_ms : VP_SYSFS_TIMEOUT_MS;
}

int
vp_sysfs_bind_vfio(const vp_sysfs *s, const vp_pci_addr *addr, vp_error *err)
{
    vp_autofree char *cur = NULL;
    vp_autofree char *now = NULL;
    char a[VP_PCI_ADDR_STRLEN];

    vp_pci_addr_format(addr, a);
    if (vp_sysfs_read_driver(s, addr, &cur, err) < 0)
        return -1;
    if (vp_streq(cur, VP_SYSFS_VFIO))
        return 0;
    if (!vp_sysfs_driver_loaded(s, VP_SYSFS_VFIO)) {
        vp_error_set(err, VP_E_UNSUPPORTED,
                     "%s: cannot bind it to vfio-pci: the vfio-pci driver is not loaded", a);
        return vp_error_hint(err, "modprobe vfio-pci");
    }
    /* driver_override first, so that the probe after the unbind can only pick vfio-pci (and
     * new_id, which would claim every device with these ids, is never needed). */
    if (put_override(s, addr, VP_SYSFS_VFIO, err) < 0)
        return -1;
    if (cur && put_unbind(s, addr, cur, err) < 0)
        return -1;
    if (put_probe(s, addr, err) < 0)
        return -1;
    if (wait_driver(s, addr, VP_SYSFS_VFIO, timeout_of(s), &now, err) < 0)
        return -1;
    if (!vp_streq(now, VP_SYSFS_VFIO))
        return vp_error_set(err, VP_E_SYSTEM, "%s: not bound to vfio-pci within %u ms (driver: %s)",
                            a, timeout_of(s), now ? now : "none");
    return 0;
}

int
vp_sysfs_restore(const vp_sysfs *s, const vp_pci_addr *addr, const char *driver,
                 const char *override, vp_error *err)
{
    vp_autofree char *cur = NULL;
    vp_autofree char *ov = NULL;
    vp_autofree char *now = NULL;
    char a[VP_PCI_ADDR_STRLEN];

    vp_pci_addr_format(addr, a);
    if (driver && !vp_sysfs_driver_name_ok(driver))
        return vp_error_set(err, VP_E_DATA, "%s: recorded driver '%s' is not a driver name", a,
                            driver);
    if (vp_sysfs_read_driver(s, addr, &cur, err) < 0 ||
        vp_sysfs_read_override(s, addr, &ov, err) < 0)
        return -1;
    if (cur && !vp_streq(cur, driver) && !vp_streq(cur, VP_SYSFS_VFIO))
        return vp_error_set(err, VP_E_UNSAFE,
                            "%s: now bound to %s, neither %s nor vfio-pci: left as it is", a, cur,
                            driver ? driver : "none");
    /* The override goes back first: with vfio-pci's still set, the probe would rebind it. */
    if (!vp_streq(ov, override) && put_override(s, addr, override, err) < 0)
        return -1;
    if (vp_streq(cur, driver))
        return 0;
    if (cur && put_unbind(s, addr, cur, err) < 0)
        return -1;
    if (!driver)
        return 0;
    if (put_probe(s, addr, err) < 0)
        return -1;
    if (wait_driver(s, addr, driver, timeout_of(s), &now, err) < 0)
        return -1;
    if (!vp_streq(now, driver))
        return vp_error_set(err, VP_E_SYSTEM, "%s: not bound back to %s within %u ms (driver: %s)",
                            a, driver, timeout_of(s), now ? now : "none");
    return 0;
}
