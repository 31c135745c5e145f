/* The kernel model: what Linux does to a PCI device's sysfs links when vpass writes
 * driver_override, unbind, bind or drivers_probe, replayed on a fixture tree. */
#include "kernel_model.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/str.h"

void
vp_kmodel_init(vp_kmodel *m, const char *root)
{
    memset(m, 0, sizeof(*m));
    m->root = vp_strdup(root);
    m->fail_errno = EIO;
}

void
vp_kmodel_clear(vp_kmodel *m)
{
    free(m->root);
    vp_strv_free(m->log);
    memset(m, 0, sizeof(*m));
}

/* The canonical directory of device BDF, NULL when there is none. */
static char *
device_dir(const char *root, const char *bdf)
{
    vp_autofree char *rel = vp_asprintf("sys/bus/pci/devices/%s", bdf);
    vp_autofree char *path = vp_path_join(root, rel);

    return realpath(path, NULL);
}

static char *
driver_dir(const char *root, const char *drv)
{
    vp_autofree char *rel = vp_asprintf("sys/bus/pci/drivers/%s", drv);
    vp_autofree char *path = vp_path_join(root, rel);
    struct stat st;

    if (strchr(drv, '/') || stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return realpath(path, NULL);
}

/* TO relative to directory FROM (both canonical), as the kernel writes its links. */
static char *
relative(const char *from, const char *to)
{
    size_t common = 0, i;
    char *out;
    size_t ups = 0;

    for (i = 0; from[i] && from[i] == to[i]; i++)
        if (from[i] == '/')
            common = i;
    if (!from[i] && (to[i] == '/' || !to[i]))
        common = i;
    for (const char *p = from + common; *p; p++)
        ups += *p == '/';
    out = vp_strdup("");
    for (size_t k = 0; k < ups; k++) {
        char *n = vp_asprintf("%s../", out);

        free(out);
        out = n;
    }
    {
        char *n = vp_asprintf("%s%s", out, to[common] == '/' ? to + common + 1 : to + common);

        free(out);
        out = n;
    }
    return out;
}

/* The driver DEV (a canonical device directory) is bound to, NULL when none. */
static char *
bound_driver(const char *dev)
{
    vp_autofree char *link = vp_path_join(dev, "driver");
    vp_autofree char *target = NULL;

    if (vp_readlink(link, &target) < 0)
        return NULL;
    return vp_strdup(vp_basename(target));
}

static char *
read_attr(const char *dev, const char *name)
{
    vp_autofree char *path = vp_path_join(dev, name);
    char *line = NULL;

    if (vp_read_line(path, &line) < 0)
        return NULL;
    if (!*line || strcmp(line, "(null)") == 0) {
        free(line);
        return NULL;
    }
    return line;
}

static bool
exists(const char *dir, const char *name)
{
    vp_autofree char *path = vp_path_join(dir, name);
    struct stat st;

    return lstat(path, &st) == 0;
}

/* really_probe(): the links the driver core makes (driver_sysfs_add). */
static int
bind_links(const char *root, const char *dev, const char *bdf, const char *drv)
{
    vp_autofree char *ddir = driver_dir(root, drv);
    vp_autofree char *to_drv = NULL;
    vp_autofree char *to_dev = NULL;
    vp_autofree char *link = NULL;
    vp_autofree char *back = NULL;

    if (!ddir)
        return -ENODEV;
    if (exists(dev, VP_KMODEL_PROBE_FAILS))
        return -EINVAL;
    to_drv = relative(dev, ddir);
    to_dev = relative(ddir, dev);
    link = vp_path_join(dev, "driver");
    back = vp_path_join(ddir, bdf);
    if (symlink(to_drv, link) < 0 || symlink(to_dev, back) < 0)
        abort();
    return 0;
}

static void
unbind_links(const char *root, const char *dev, const char *bdf, const char *drv)
{
    vp_autofree char *ddir = driver_dir(root, drv);
    vp_autofree char *link = vp_path_join(dev, "driver");
    vp_autofree char *back = ddir ? vp_path_join(ddir, bdf) : NULL;

    if (unlink(link) < 0 || (back && unlink(back) < 0))
        abort();
}

/* pci_bus_match(): with an override only that driver matches (pci_match_device); else the
 * device's id-table driver, in the model its VP_KMODEL_DEFAULT_DRIVER. */
static bool
matches(const char *dev, const char *drv)
{
    vp_autofree char *ov = read_attr(dev, "driver_override");
    vp_autofree char *def = NULL;

    if (ov)
        return strcmp(ov, drv) == 0;
    def = read_attr(dev, VP_KMODEL_DEFAULT_DRIVER);
    return def && strcmp(def, drv) == 0;
}

static char *
strip_value(const char *value, size_t len)
{
    char *v = vp_strndup(value, len);
    size_t n = strlen(v);

    if (n && v[n - 1] == '\n')
        v[n - 1] = '\0';
    return v;
}

static int
model_write(void *ctx, const char *root, const char *rel, const char *value, size_t len)
{
    vp_kmodel *m = ctx;
    vp_autofree char *v = strip_value(value, len);
    vp_autofree char *dev = NULL;
    vp_autofree char *cur = NULL;
    char bdf[64], drv[128], attr[64];
    int n = 0;

    m->writes++;
    vp_strv_push_take(&m->log, vp_asprintf("%s <- %s", rel, v));
    if (m->delay_us)
        usleep(m->delay_us);
    if (m->fail_at && (m->writes == m->fail_at || (m->fail_all_after && m->writes > m->fail_at)))
        return -m->fail_errno;
    if (strcmp(root, m->root) != 0)
        return -EXDEV; /* the applier must use the root it was given */

    if (sscanf(rel, "sys/bus/pci/devices/%63[^/]/%63s%n", bdf, attr, &n) == 2 &&
        (size_t)n == strlen(rel)) {
        vp_autofree char *path = NULL;
        FILE *f;

        if (strcmp(attr, "driver_override") != 0)
            return -EPERM;
        dev = device_dir(root, bdf);
        if (!dev)
            return -ENOENT;
        if (strlen(v) >= 4096)
            return -EINVAL;
        path = vp_path_join(dev, "driver_override");
        f = fopen(path, "w");
        if (!f)
            return -errno;
        fprintf(f, "%s\n", *v ? v : "(null)");
        fclose(f);
        return 0;
    }
    if (strcmp(rel, "sys/bus/pci/drivers_probe") == 0) {
        vp_autofree char *ov = NULL;
        vp_autofree char *def = NULL;

        dev = device_dir(root, v);
        if (!dev)
            return -ENODEV;
        cur = bound_driver(dev);
        if (cur)
            return 0; /* bus_rescan_devices_helper: only unbound devices are probed */
        ov = read_attr(dev, "driver_override");
        def = read_attr(dev, VP_KMODEL_DEFAULT_DRIVER);
        /* A failed probe is not an error of the write (device_attach ignores it). */
        if (ov)
            (void)bind_links(root, dev, v, ov);
        else if (def)
            (void)bind_links(root, dev, v, def);
        return 0;
    }
    if (sscanf(rel, "sys/bus/pci/drivers/%127[^/]/%63s%n", drv, attr, &n) == 2 &&
        (size_t)n == strlen(rel)) {
        vp_autofree char *ddir = driver_dir(root, drv);

        if (!ddir)
            return -ENOENT;
        if (strcmp(attr, "new_id") == 0 || strcmp(attr, "remove_id") == 0) {
            m->new_id_writes++;
            return 0;
        }
        dev = device_dir(root, v);
        if (!dev)
            return -ENODEV;
        cur = bound_driver(dev);
        if (strcmp(attr, "unbind") == 0) {
            if (!cur || strcmp(cur, drv) != 0)
                return -ENODEV; /* unbind_store: dev->driver != drv */
            unbind_links(root, dev, v, drv);
            return 0;
        }
        if (strcmp(attr, "bind") == 0) {
            if (cur)
                return -EBUSY;
            if (!matches(dev, drv))
                return -ENODEV;
            return bind_links(root, dev, v, drv);
        }
    }
    return -EPERM;
}

vp_sysfs_writer
vp_kmodel_writer(vp_kmodel *m)
{
    return (vp_sysfs_writer){.write = model_write, .ctx = m};
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

void
vp_kmodel_seed(const char *root)
{
    vp_autofree char *devices = vp_path_join(root, "sys/bus/pci/devices");
    vp_autostrv char **names = NULL;

    if (vp_list_dir(devices, &names) < 0)
        abort();
    for (size_t i = 0; names && names[i]; i++) {
        vp_autofree char *dev = device_dir(root, names[i]);
        vp_autofree char *drv = dev ? bound_driver(dev) : NULL;
        vp_autofree char *ov_path = dev ? vp_path_join(dev, "driver_override") : NULL;
        vp_autofree char *ov = NULL;

        if (!dev)
            continue;
        if (drv && !exists(dev, VP_KMODEL_DEFAULT_DRIVER)) {
            vp_autofree char *p = vp_path_join(dev, VP_KMODEL_DEFAULT_DRIVER);
            vp_autofree char *t = vp_asprintf("%s\n", drv);

            /* A device on vfio-pci (a VM's) goes back to no driver in the model. */
            if (strcmp(drv, "vfio-pci") != 0)
                write_file(p, t);
        }
        if (vp_read_line(ov_path, &ov) < 0 || !*ov)
            write_file(ov_path, "(null)\n");
    }
}

char *
vp_kmodel_snapshot(const char *root)
{
    vp_autofree char *devices = vp_path_join(root, "sys/bus/pci/devices");
    vp_autofree char *drivers = vp_path_join(root, "sys/bus/pci/drivers");
    vp_autostrv char **names = NULL;
    vp_autostrv char **drvs = NULL;
    vp_autostrv char **lines = NULL;

    if (vp_list_dir(devices, &names) < 0 || vp_list_dir(drivers, &drvs) < 0)
        abort();
    for (size_t i = 0; names && names[i]; i++) {
        vp_autofree char *dev = device_dir(root, names[i]);
        vp_autofree char *link = dev ? vp_path_join(dev, "driver") : NULL;
        vp_autofree char *ov_path = dev ? vp_path_join(dev, "driver_override") : NULL;
        vp_autofree char *target = NULL;
        vp_autofree char *ov = NULL;

        if (!dev)
            continue;
        if (vp_readlink(link, &target) < 0)
            target = vp_strdup("-");
        if (vp_read_line(ov_path, &ov) < 0)
            ov = vp_strdup("-");
        vp_strv_push_take(&lines, vp_asprintf("%s driver=%s override=%s", names[i], target, ov));
    }
    for (size_t i = 0; drvs && drvs[i]; i++) {
        vp_autofree char *dir = vp_path_join(drivers, drvs[i]);
        vp_autostrv char **entries = NULL;
        vp_autostrv char **links = NULL;
        vp_autofree char *joined = NULL;

        if (vp_list_dir(dir, &entries) < 0)
            continue;
        for (size_t j = 0; entries && entries[j]; j++) {
            vp_autofree char *p = vp_path_join(dir, entries[j]);
            vp_autofree char *t = NULL;

            if (vp_readlink(p, &t) == 0)
                vp_strv_push_take(&links, vp_asprintf("%s->%s", entries[j], t));
        }
        joined = vp_strv_join(links, " ", "");
        vp_strv_push_take(&lines, vp_asprintf("drivers/%s: %s", drvs[i], joined));
    }
    return vp_strv_join(lines, "\n", "");
}

void
vp_kmodel_copy_tree(const char *src, const char *dst)
{
    pid_t pid = fork();
    int status;

    if (pid < 0)
        abort();
    if (pid == 0) {
        execlp("cp", "cp", "-a", "--", src, dst, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        abort();
}

const char *
vp_kmodel_tmpdir(void)
{
    const char *tmp = getenv("TMPDIR");

    if (tmp && *tmp)
        return tmp;
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void
vp_kmodel_remove_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
vp_kmodel_fixture_start(const char *src, const char *name, char **dir, char **root, vp_kmodel *km,
                        vp_sysfs_writer *w)
{
    *dir = vp_asprintf("%s/%s.XXXXXX", vp_kmodel_tmpdir(), name);
    if (!mkdtemp(*dir))
        return -1;
    *root = vp_path_join(*dir, "root");
    vp_kmodel_copy_tree(src, *root);
    vp_kmodel_seed(*root);
    vp_kmodel_init(km, *root);
    *w = vp_kmodel_writer(km);
    return 0;
}

void
vp_kmodel_fixture_stop(char *dir, char *root, vp_kmodel *km)
{
    vp_kmodel_clear(km);
    vp_kmodel_remove_tree(dir);
    free(root);
    free(dir);
}
