/* Applying `vpass sriov`: sriov_numvfs writes and the udev rule, under a root. */
#include "sriov_apply.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/fs.h"
#include "../util/str.h"

/* The kernel's answer R to writing N VFs on PF NAME (drivers/pci/iov.c, sriov_numvfs_store and
 * sriov_enable), as an error. */
static int
numvfs_error(const vp_sriov_numvfs_plan *p, const char *name, unsigned n, int r, vp_error *err)
{
    switch (-r) {
    case ENOMEM:
        /* sriov_enable: "not enough MMIO resources for SR-IOV" when the VF BARs do not fit
         * the bridge window the firmware assigned. */
        vp_error_errno(err, -r,
                       "%s: the kernel could not enable %u VFs: not enough MMIO "
                       "resources for SR-IOV",
                       name, n);
        return vp_error_hint(err, "the firmware left no room for the VF BARs: enable SR-IOV "
                                  "(and above-4G decoding) in the firmware setup, or boot with "
                                  "pci=realloc; dmesg names the PF");
    case EBUSY:
        vp_error_errno(err, -r, "%s: the kernel refused %u VFs: VFs are still enabled", name, n);
        return vp_error_hint(err, "write 0 first; vpass does, unless another program changed "
                                  "the count meanwhile");
    case ERANGE:
        return vp_error_errno(err, -r, "%s: %u VFs is beyond the PF's sriov_totalvfs (%u)", name, n,
                              p->total);
    case ENOENT:
    case ENOSYS:
    case EOPNOTSUPP:
        vp_error_errno(err, -r, "%s: the PF's driver (%s) cannot create VFs through sysfs", name,
                       p->pf->driver ? p->pf->driver : "none");
        err->code = VP_E_UNSUPPORTED;
        return vp_error_hint(err, "some drivers take a module option instead (max_vfs=)");
    default:
        return vp_error_errno(err, -r, "%s: cannot write %u to sriov_numvfs", name, n);
    }
}

int
vp_sriov_apply_numvfs(const char *root, const vp_sriov_numvfs_plan *p, const vp_sysfs_writer *w,
                      vp_sriov_numvfs_report *report, vp_error *err)
{
    vp_sriov_numvfs_report local = {0};
    vp_sriov_numvfs_report *rep = report ? report : &local;
    const char *name = p->ifname ? p->ifname : p->pf->addr_str;

    if (!w)
        w = &vp_sysfs_writer_real;
    memset(rep, 0, sizeof(*rep));
    for (size_t i = 0; i < p->n_writes; i++) {
        char value[16];
        int len = snprintf(value, sizeof(value), "%u\n", p->writes[i]);
        int r = w->write(w->ctx, root, p->attr_path, value, (size_t)len);

        if (r == 0) {
            rep->written++;
            continue;
        }
        numvfs_error(p, name, p->writes[i], r, err);
        /* 0 went through, N did not: give the PF its VFs back rather than leave it at none. */
        if (rep->written > 0 && p->from > 0) {
            int back = snprintf(value, sizeof(value), "%u\n", p->from);

            if (w->write(w->ctx, root, p->attr_path, value, (size_t)back) == 0) {
                rep->restored = true;
                vp_error_prefix(err, "%s: back to %u VFs", name, p->from);
            } else {
                vp_error_prefix(err, "%s: left with 0 VFs (writing %u back failed too)", name,
                                p->from);
            }
        }
        return -1;
    }
    return 0;
}

/* mkdir -p DIR (0755), the parent first. */
static int
mkdirs(const char *dir)
{
    vp_autofree char *copy = vp_strdup(dir);

    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(copy, 0755) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int
vp_sriov_apply_rule(const char *root, const vp_sriov_numvfs_plan *p, bool *ret_changed,
                    vp_error *err)
{
    vp_autofree char *path = vp_path_join(root ? root : "/", p->rule_path);
    vp_autofree char *dir = NULL;
    vp_autofree char *tmp = NULL;
    vp_autofree char *old = NULL;
    size_t len;
    FILE *f;
    int r, fd;

    if (ret_changed)
        *ret_changed = false;
    if (!p->rule_path)
        return 0;
    r = vp_read_file(path, 64 * 1024, &old, NULL);
    if (!p->rule) {
        if (r == -ENOENT)
            return 0;
        if (unlink(path) < 0)
            return vp_error_errno(err, errno, "%s: cannot remove the udev rule", path);
        if (ret_changed)
            *ret_changed = true;
        return 0;
    }
    if (r == 0 && strcmp(old, p->rule) == 0)
        return 0;
    dir = vp_strndup(path, (size_t)(strrchr(path, '/') - path));
    r = mkdirs(dir);
    if (r < 0)
        return vp_error_errno(err, -r, "%s: cannot create the directory", dir);
    /* Write beside it and rename: udev never reads half a rule. */
    tmp = vp_asprintf("%s.vpass-XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0)
        return vp_error_errno(err, errno, "%s: cannot create a temporary file", dir);
    f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        return vp_error_errno(err, errno, "%s: cannot write", tmp);
    }
    len = strlen(p->rule);
    if (fwrite(p->rule, 1, len, f) != len || fchmod(fd, 0644) < 0 || fflush(f) != 0 ||
        fsync(fd) < 0) {
        int e = errno;

        fclose(f);
        unlink(tmp);
        return vp_error_errno(err, e, "%s: cannot write", tmp);
    }
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        int e = errno;

        unlink(tmp);
        return vp_error_errno(err, e, "%s: cannot write the udev rule", path);
    }
    if (ret_changed)
        *ret_changed = true;
    return 0;
}
