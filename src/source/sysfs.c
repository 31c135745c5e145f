/* The local source: PCI devices from ROOT/sys (links and attributes) plus libpci data. */
#include "source.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/fs.h"
#include "../util/str.h"
#include "pcicaps.h"
#include "pcilib.h"

/* Registers read when sysfs has no attribute for them (PCIe Base 6.0, 7.5.3 and 9.3.3). */
#define CFG_HEADER_TYPE 0x0e
#define CFG_HEADER_TYPE_BRIDGE 1
#define CFG_EXP_LNKCAP 0x0c
#define CFG_EXP_LNKSTA 0x12
#define CFG_IOV_TOTALVF 0x0e

typedef struct {
    vp_pci_addr addr;
    char *name; /* the entry in sys/bus/pci/devices */
} entry;

typedef struct {
    vp_host *h;
    vp_pcilib *pl;
    const char *root;
    char *root_real;    /* realpath(root), to keep every device inside it */
    char *devices_real; /* realpath(ROOT/sys/bus/pci/devices) */
    char *parent;       /* the last directory holding a device, as folded (device_dir) */
    char *parent_real;  /* and its realpath() */
    unsigned *groups;   /* the groups ROOT/sys/kernel/iommu_groups lists, sorted */
    size_t n_groups;    /* none: no IOMMU */
    bool names;         /* look names up in pci.ids */
} scan;

/* One device being read: where its files are and whom to blame. */
typedef struct {
    scan *s;
    vp_device *d;
    char addr[VP_PCI_ADDR_STRLEN];
    const char *dir;   /* canonical path of the device directory */
    int dfd;           /* that directory, open: attributes are read relative to it */
    vp_pcilib_dev pci; /* what libpci read */
} dev_ctx;

typedef struct {
    unsigned n;
    vp_pci_addr addr;
} virtfn;

static void problem(dev_ctx *c, const char *fmt, ...) VP_PRINTF(2, 3);

static void
problem(dev_ctx *c, const char *fmt, ...)
{
    vp_autofree char *why = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&why, fmt, ap) < 0)
        why = NULL;
    va_end(ap);
    vp_host_add_problem(c->s->h, c->addr, "%s", why ? why : "unreadable");
}

/* The number in attribute ATTR (hex with 0x, else decimal). 1 when read, 0 when the file is
 * absent, -1 after recording a problem (unreadable, or not a number up to MAX). */
static int
attr_u64(dev_ctx *c, const char *attr, uint64_t max, uint64_t *ret)
{
    vp_autofree char *line = NULL;
    uint64_t v;
    int r;

    r = vp_read_line_at(c->dfd, attr, &line);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        problem(c, "%s: cannot read: %s", attr, strerror(-r));
        return -1;
    }
    if (vp_parse_u64(line, 0, &v) < 0 || v > max) {
        problem(c, "%s: malformed value '%.32s'", attr, line);
        return -1;
    }
    *ret = v;
    return 1;
}

/* The text of attribute ATTR: 1, 0 when absent, -1 after recording a problem. */
static int
attr_text(dev_ctx *c, const char *attr, char **ret)
{
    int r = vp_read_line_at(c->dfd, attr, ret);

    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        problem(c, "%s: cannot read: %s", attr, strerror(-r));
        return -1;
    }
    return 1;
}

/* The target of link NAME: 1, 0 when absent, -1 after recording a problem. With VERIFY, a
 * link whose target does not exist is recorded as a problem too, yet returned (1): its name is
 * still what the kernel reported. */
static int
attr_link(dev_ctx *c, const char *name, bool verify, char **ret)
{
    struct stat st;
    int r;

    r = vp_readlink_at(c->dfd, name, ret);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        problem(c, "%s: cannot read link: %s", name, strerror(-r));
        return -1;
    }
    if (verify && fstatat(c->dfd, name, &st, 0) < 0)
        problem(c, "%s: link to %s leads nowhere", name, *ret);
    return 1;
}

/* The PCI address a link such as physfn or virtfnN points at (its last component). */
static int
link_addr(dev_ctx *c, const char *name, vp_pci_addr *ret)
{
    vp_autofree char *target = NULL;
    int r;

    r = attr_link(c, name, true, &target);
    if (r <= 0)
        return r;
    if (vp_pci_addr_parse(vp_basename(target), ret, NULL) < 0) {
        problem(c, "%s: link to %s does not name a PCI device", name, target);
        return -1;
    }
    return 1;
}

/* Vendor, device and class from sysfs (the kernel's view, with quirks applied); from config
 * space only when an attribute is missing. A malformed attribute leaves the ids unknown. */
static void
read_ids(dev_ctx *c)
{
    static const struct {
        const char *attr;
        uint64_t max;
        size_t cfg_off; /* PCI Local Bus 3.0, 6.2.1 */
        size_t cfg_len;
    } ids[] = {
        {"vendor", 0xffff, 0x00, 2}, {"device", 0xffff, 0x02, 2}, {"class", 0xffffff, 0x09, 3}};
    uint64_t v[3] = {0};
    bool ok[3] = {false};

    for (size_t i = 0; i < VP_ARRAY_SIZE(ids); i++) {
        int r = attr_u64(c, ids[i].attr, ids[i].max, &v[i]);

        if (r > 0) {
            ok[i] = true;
        } else if (r == 0) {
            if (c->pci.config_len >= ids[i].cfg_off + ids[i].cfg_len) {
                for (size_t b = ids[i].cfg_len; b > 0; b--)
                    v[i] = v[i] << 8 | c->pci.config[ids[i].cfg_off + b - 1];
                ok[i] = true;
            } else {
                problem(c, "%s: missing, and no config space to read it from", ids[i].attr);
            }
        }
    }
    c->d->ids_known = ok[0] && ok[1];
    if (c->d->ids_known) {
        c->d->vendor_id = (uint16_t)v[0];
        c->d->product_id = (uint16_t)v[1];
        /* Loading pci.ids costs ~15 ms: a caller that never shows names skips it. */
        if (c->s->names) {
            c->d->vendor_name = vp_pcilib_vendor_name(c->s->pl, c->d->vendor_id);
            c->d->product_name =
                vp_pcilib_product_name(c->s->pl, c->d->vendor_id, c->d->product_id);
        }
    }
    if (ok[2])
        c->d->class_code = (uint32_t)v[2];
}

static int
uint_cmp(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

    return x < y ? -1 : x > y;
}

static void
read_driver_group_numa(dev_ctx *c)
{
    vp_autofree char *driver = NULL;
    vp_autofree char *group = NULL;
    vp_autofree char *numa = NULL;
    int node;

    /* A dangling driver link (driver unloaded mid-scan, broken tree) still names the driver
     * the kernel reported: keep it, so a read failure never makes a device look free. */
    if (attr_link(c, "driver", true, &driver) > 0)
        c->d->driver = vp_strdup(vp_basename(driver));

    /* Without ROOT/sys/kernel/iommu_groups there is no IOMMU, whatever a link says. The
     * group must be one listed there (one listing, not a stat per device). */
    if (c->s->n_groups && attr_link(c, "iommu_group", false, &group) > 0) {
        if (vp_parse_uint(vp_basename(group), &c->d->group) == 0) {
            c->d->has_group = true;
            if (!bsearch(&c->d->group, c->s->groups, c->s->n_groups, sizeof(*c->s->groups),
                         uint_cmp))
                problem(c, "iommu_group: link to %s leads nowhere", group);
        } else {
            problem(c, "iommu_group: link to %s does not name a group", group);
        }
    }

    if (attr_text(c, "numa_node", &numa) > 0) {
        if (vp_parse_int(numa, &node) < 0 || node < -1)
            problem(c, "numa_node: malformed value '%.32s'", numa);
        else if (node >= 0) {
            c->d->has_numa = true;
            c->d->numa_node = node;
        }
    }
}

/* "8.0 GT/s PCIe" -> "8", "2.5 GT/s" -> "2.5", "Unknown" -> NULL: libvirt's spelling. */
static char *
speed_from_text(const char *s)
{
    size_t n = strspn(s, "0123456789.");
    char *v;

    if (n == 0 || !isdigit((unsigned char)s[0]) || (s[n] != '\0' && s[n] != ' '))
        return NULL;
    v = vp_strndup(s, n);
    if (strchr(v, '.')) {
        while (n > 0 && v[n - 1] == '0')
            v[--n] = '\0';
        if (n > 0 && v[n - 1] == '.')
            v[--n] = '\0';
    }
    return v;
}

/* Link speed encoding of LnkCap/LnkSta (PCIe Base 6.0, 7.5.3.6 and 7.5.3.8). */
static char *
speed_from_code(unsigned code)
{
    static const char *const speeds[] = {NULL, "2.5", "5", "8", "16", "32", "64"};

    return code < VP_ARRAY_SIZE(speeds) ? vp_strdup(speeds[code]) : NULL;
}

/* One link (maximum or negotiated) from register REG_OFF of the PCI Express capability at CAP,
 * where the kernel's attributes come from too (drivers/pci/pci-sysfs.c: LnkCap, LnkCap2 for
 * the speed, LnkSta) and libvirt reads it; from the sysfs attributes when CAP is 0 (not
 * visible: a non-root reader gets 64 bytes of config space) or the register is cut off. */
static void
read_link(dev_ctx *c, vp_link *l, const char *speed_attr, const char *width_attr, unsigned cap,
          size_t reg_off)
{
    vp_autofree char *speed = NULL;
    uint64_t width = 0;
    int rs, rw;
    uint32_t reg32;
    uint16_t reg16;

    if (cap && reg_off == CFG_EXP_LNKCAP && vp_pcilib_dev_read32(&c->pci, cap + reg_off, &reg32)) {
        l->present = true;
        l->speed = speed_from_code(reg32 & 0xf);
        l->width = (reg32 >> 4) & 0x3f;
        return;
    }
    if (cap && reg_off == CFG_EXP_LNKSTA && vp_pcilib_dev_read16(&c->pci, cap + reg_off, &reg16)) {
        l->present = true;
        l->speed = speed_from_code(reg16 & 0xf);
        l->width = (reg16 >> 4) & 0x3f;
        return;
    }
    rs = attr_text(c, speed_attr, &speed);
    rw = attr_u64(c, width_attr, 0xff, &width);
    if (rs != 0 || rw != 0) {
        l->present = true;
        l->speed = rs > 0 ? speed_from_text(speed) : NULL;
        l->width = rw > 0 ? (unsigned)width : 0;
    }
}

static void
read_bridge_pcie(dev_ctx *c)
{
    const vp_pcilib_cap *exp = vp_pcilib_dev_find_cap(&c->pci, VP_PCI_CAP_ID_EXP, false);
    unsigned base_sub = c->d->class_code >> 8;
    uint8_t hdr;
    struct stat st;

    if (vp_pcilib_dev_read8(&c->pci, CFG_HEADER_TYPE, &hdr) &&
        (hdr & 0x7f) == CFG_HEADER_TYPE_BRIDGE)
        c->d->is_bridge = true;
    if (base_sub == 0x0604 || base_sub == 0x0609) /* PCI-to-PCI, semi-transparent */
        c->d->is_bridge = true;

    /* The kernel shows the link attributes only for PCI Express devices
     * (drivers/pci/pci-sysfs.c, pcie_dev_attrs_are_visible), so they tell PCIe even when a
     * non-root reader cannot see the capability list beyond 64 bytes of config space. */
    c->d->is_pcie = exp || fstatat(c->dfd, "max_link_speed", &st, 0) == 0;
    if (!c->d->is_pcie)
        return;
    read_link(c, &c->d->link_cap, "max_link_speed", "max_link_width", exp ? exp->offset : 0,
              CFG_EXP_LNKCAP);
    read_link(c, &c->d->link_sta, "current_link_speed", "current_link_width", exp ? exp->offset : 0,
              CFG_EXP_LNKSTA);
}

/* The upstream device is the directory above the device's canonical path, when that is a PCI
 * function; "pci0000:00" (a host bridge's bus) means a root bus. */
static void
read_parent(dev_ctx *c)
{
    const char *slash = strrchr(c->dir, '/');
    vp_autofree char *up = NULL;

    if (!slash || slash == c->dir)
        return;
    up = vp_strndup(c->dir, (size_t)(slash - c->dir));
    if (vp_pci_addr_parse(vp_basename(up), &c->d->parent, NULL) == 0)
        c->d->has_parent = true;
}

static int
virtfn_cmp(const void *a, const void *b)
{
    const virtfn *va = a, *vb = b;

    return va->n < vb->n ? -1 : va->n > vb->n;
}

/* physfn, virtfnN (named in NAMES, the device directory's entries), sriov_totalvfs. */
static void
read_sriov(dev_ctx *c, char **names)
{
    const vp_pcilib_cap *iov;
    virtfn *vfs = NULL;
    size_t n_vfs = 0, alloc = 0;
    uint64_t total;
    int r;

    if (link_addr(c, "physfn", &c->d->physfn) > 0)
        c->d->is_vf = true;

    for (size_t i = 0; names && names[i]; i++) {
        virtfn vf;

        if (!vp_startswith(names[i], "virtfn") || vp_parse_uint(names[i] + 6, &vf.n) < 0)
            continue;
        if (link_addr(c, names[i], &vf.addr) <= 0)
            continue;
        vp_grow(&vfs, &alloc, n_vfs + 1, sizeof(*vfs));
        vfs[n_vfs++] = vf;
    }
    if (n_vfs) {
        qsort(vfs, n_vfs, sizeof(*vfs), virtfn_cmp);
        c->d->vfs = vp_realloc_array(NULL, n_vfs, sizeof(*c->d->vfs));
        for (size_t i = 0; i < n_vfs; i++)
            c->d->vfs[i] = vfs[i].addr;
        c->d->n_vfs = n_vfs;
        c->d->is_pf = true;
    }
    free(vfs);

    /* The kernel has sriov_totalvfs only for a function with the SR-IOV capability (it may
     * show less than TotalVFs, a driver's limit), which a VF never has: for a VF, or with no
     * VFs, the whole extended config space read and no such capability, there is no file to
     * look for. */
    iov = vp_pcilib_dev_find_cap(&c->pci, VP_PCI_EXT_CAP_ID_SRIOV, true);
    if (!iov && !n_vfs && (c->d->is_vf || c->pci.config_len >= 4096))
        return;
    r = attr_u64(c, "sriov_totalvfs", 0xffff, &total);
    if (r > 0) {
        c->d->is_pf = true;
        c->d->vf_max = (unsigned)total;
    } else if (r == 0) {
        uint16_t t;

        if (iov && vp_pcilib_dev_read16(&c->pci, iov->offset + CFG_IOV_TOTALVF, &t)) {
            c->d->is_pf = true;
            c->d->vf_max = t;
        }
    }
}

/* Interfaces in DIR/net/, and in DIR/virtioN/net/ (virtio-net puts its netdev under the
 * virtio device, one level below the PCI function), NAMES being DIR's entries; appended to
 * *OUT, sorted. An unreadable one is reported through C unless C is NULL. */
static void
collect_netdevs(dev_ctx *c, const char *dir, char **names, char ***out)
{
    for (size_t i = 0; names && names[i]; i++) {
        vp_autofree char *rel = NULL;
        char **ifs = NULL;
        int r;

        if (strcmp(names[i], "net") == 0)
            rel = vp_strdup("net");
        else if (vp_startswith(names[i], "virtio"))
            rel = vp_asprintf("%s/net", names[i]);
        else
            continue;
        r = vp_root_list_dir(dir, rel, &ifs);
        if (r < 0) {
            if (c && r != -ENOENT && r != -ENOTDIR)
                problem(c, "%s: cannot list: %s", rel, strerror(-r));
            continue;
        }
        for (size_t j = 0; ifs && ifs[j]; j++)
            vp_strv_push(out, ifs[j]);
        vp_strv_free(ifs);
    }
    vp_strv_sort(*out);
}

static void
read_netdevs(dev_ctx *c, char **names)
{
    collect_netdevs(c, c->dir, names, &c->d->netdevs);
}

/* The config-space facts, plus what only sysfs tells: irq, reset_method and boot_vga
 * (drivers/pci/pci-sysfs.c). Set for every device read, also with short or no config space. */
static void
read_facts(dev_ctx *c)
{
    vp_pci_facts *f = vp_malloc0(sizeof(*f));
    uint64_t v;

    vp_pcicaps_decode(&c->pci, f);
    /* The kernel's IRQ for the device: its INTx line, or the first vector while MSI (not
     * MSI-X) is on (drivers/pci/pci-sysfs.c, irq_show); 0 when none was assigned. */
    if (attr_u64(c, "irq", UINT_MAX, &v) > 0) {
        f->has_irq = true;
        f->irq = (unsigned)v;
    }
    /* Linux >= 5.15 lists the reset methods it would use, in order ("flr bus"), and hides
     * the file when there is none; older kernels have no file at all. */
    attr_text(c, "reset_method", &f->reset_method);
    /* Only VGA-class devices have boot_vga: 1 for the one firmware used as the console
     * (pci_dev_attrs_are_visible); a device of another known class has no file to open. */
    if ((!c->d->class_code || c->d->class_code >> 16 == 0x03) &&
        attr_u64(c, "boot_vga", 1, &v) > 0) {
        f->has_boot_vga = true;
        f->boot_vga = v == 1;
    }
    c->d->facts = f;
}

/* BASE (canonical) with the relative path REL applied component by component, ".." folded. */
static char *
fold_path(const char *base, const char *rel)
{
    size_t len = strlen(base), alloc = len + strlen(rel) + 2;
    char *out = vp_malloc0(alloc);
    const char *p = rel;

    memcpy(out, base, len + 1);
    while (*p) {
        size_t n = strcspn(p, "/");

        if (n == 2 && p[0] == '.' && p[1] == '.') {
            char *slash = strrchr(out, '/');

            len = slash && slash != out ? (size_t)(slash - out) : 1;
            out[len] = '\0';
        } else if (n && !(n == 1 && p[0] == '.')) {
            if (len > 1)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
            out[len] = '\0';
        }
        p += n;
        p += *p == '/';
    }
    return out;
}

/* The canonical directory of the device LINK (ROOT/sys/bus/pci/devices/NAME) leads to: what
 * realpath() gives, without its readlink() on each of a dozen components (system calls are
 * most of a scan's time). The kernel's link is relative (../../../devices/pci0000:00/
 * 0000:00:01.0/0000:01:00.0): folded onto the canonical devices directory, the directory
 * holding the device is resolved once for all the functions it holds (a PF's VFs share it),
 * and the device itself must be a directory, not a link. Anything else goes to realpath().
 * NULL with errno set when it cannot be resolved. */
static char *
device_dir(scan *s, const char *link)
{
    vp_autofree char *target = NULL;
    vp_autofree char *folded = NULL;
    char *slash, *out;
    const char *leaf;
    struct stat st;

    if (!s->devices_real || vp_readlink(link, &target) < 0 || target[0] == '/')
        return realpath(link, NULL);
    folded = fold_path(s->devices_real, target);
    slash = strrchr(folded, '/');
    leaf = slash ? slash + 1 : "";
    if (!*leaf || slash == folded)
        return realpath(link, NULL);
    *slash = '\0';
    if (!s->parent || strcmp(s->parent, folded) != 0) {
        free(s->parent);
        free(s->parent_real);
        s->parent = vp_strdup(folded);
        s->parent_real = realpath(folded, NULL);
    }
    if (!s->parent_real)
        return realpath(link, NULL);
    out = vp_path_join(s->parent_real, leaf);
    if (lstat(out, &st) < 0 || !S_ISDIR(st.st_mode)) {
        free(out);
        return realpath(link, NULL);
    }
    return out;
}

/* Read one device; an unreadable one becomes a problem of the host, never an error. */
static void
load_device(scan *s, const entry *e)
{
    dev_ctx c = {.s = s, .dfd = -1};
    vp_autofree char *link = NULL;
    vp_autofree char *dir = NULL;
    char **names = NULL;
    DIR *dir_stream;
    vp_error err = {0};
    int r;

    vp_pci_addr_format(&e->addr, c.addr);
    link = vp_asprintf("%s/sys/bus/pci/devices/%s", s->root, e->name);
    dir = device_dir(s, link);
    if (!dir) {
        problem(&c, "cannot resolve %s: %s", link, strerror(errno));
        return;
    }
    /* A link leading out of the root (an absolute link in a fixture tree) would read another
     * machine's devices, the real host's: refuse it. */
    if (!vp_path_inside(s->root_real, dir)) {
        problem(&c, "%s leads to %s, outside %s", link, dir, s->root_real);
        return;
    }
    c.dir = dir;
    dir_stream = opendir(dir);
    r = dir_stream ? vp_read_dir(dir_stream, &names) : -errno;
    if (r < 0) {
        problem(&c, "cannot list %s: %s", dir, strerror(-r));
        if (dir_stream)
            closedir(dir_stream);
        return;
    }
    c.dfd = dirfd(dir_stream);

    c.d = vp_host_add_device(s->h);
    c.d->addr = e->addr;
    if (vp_pcilib_read(s->pl, &e->addr, &c.pci, &err) < 0) {
        const char *why = err.msg;

        /* The message names the device first; here the problem already does. */
        if (vp_startswith(why, c.addr) && vp_startswith(why + strlen(c.addr), ": "))
            why += strlen(c.addr) + 2;
        problem(&c, "%s", why);
    }
    read_ids(&c);
    read_driver_group_numa(&c);
    read_bridge_pcie(&c);
    read_parent(&c);
    read_sriov(&c, names);
    read_netdevs(&c, names);
    read_facts(&c);

    vp_pcilib_dev_clear(&c.pci);
    vp_strv_free(names);
    closedir(dir_stream);
}

static int
entry_cmp(const void *a, const void *b)
{
    return vp_pci_addr_cmp(&((const entry *)a)->addr, &((const entry *)b)->addr);
}

/* Every name in ROOT/sys/bus/pci/devices that is an address in the kernel's spelling; others
 * are problems. Linear: a host may have thousands of functions. */
static int
list_devices(vp_host *h, const char *path, entry **ret, size_t *ret_n, vp_error *err)
{
    entry *list = NULL;
    size_t n = 0, alloc = 0;
    struct dirent *de;
    DIR *dir;

    dir = opendir(path);
    if (!dir) {
        vp_error_errno(err, errno, "%s: cannot list PCI devices", path);
        return vp_error_hint(err, "the root must hold a Linux sysfs tree (ROOT/sys)");
    }
    while ((de = readdir(dir))) {
        vp_pci_addr a;
        char canon[VP_PCI_ADDR_STRLEN];

        if (de->d_name[0] == '.')
            continue;
        /* libpci finds a device by this spelling only (lib/sysfs.c, sysfs_obj_name). */
        if (vp_pci_addr_parse(de->d_name, &a, NULL) < 0 ||
            strcmp(vp_pci_addr_format(&a, canon), de->d_name) != 0) {
            vp_autofree char *what = vp_path_join(path, de->d_name);

            vp_host_add_problem(h, what, "not a PCI address (dddd:bb:ss.f); ignored");
            continue;
        }
        vp_grow(&list, &alloc, n + 1, sizeof(*list));
        list[n].addr = a;
        list[n++].name = vp_strdup(de->d_name);
    }
    closedir(dir);
    if (n)
        qsort(list, n, sizeof(*list), entry_cmp);
    *ret = list;
    *ret_n = n;
    return 0;
}

/* The groups (numbers) DIR lists, sorted; none when it is absent or empty (no IOMMU). */
static size_t
list_groups(const char *path, unsigned **ret)
{
    unsigned *nums = NULL;
    size_t n = 0, alloc = 0;
    struct dirent *de;
    DIR *dir = opendir(path);

    *ret = NULL;
    if (!dir)
        return 0;
    while ((de = readdir(dir))) {
        unsigned g;

        if (vp_parse_uint(de->d_name, &g) < 0)
            continue;
        vp_grow(&nums, &alloc, n + 1, sizeof(*nums));
        nums[n++] = g;
    }
    closedir(dir);
    if (n > 1)
        qsort(nums, n, sizeof(*nums), uint_cmp);
    *ret = nums;
    return n;
}

/* Parse one reserved_regions line, "0x00000000fee00000 0x00000000feefffff msi"
 * (drivers/iommu/iommu.c, iommu_group_show_resv_regions): 0, or -1 when malformed. */
static int
parse_region(char *line, uint64_t *ret_start, uint64_t *ret_end, const char **ret_type)
{
    char *save = NULL;
    char *f[4];
    size_t n = 0;

    for (char *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == VP_ARRAY_SIZE(f))
            return -1;
        f[n++] = t;
    }
    if (n != 3 || !vp_startswith(f[0], "0x") || !vp_startswith(f[1], "0x") ||
        vp_parse_u64(f[0], 0, ret_start) < 0 || vp_parse_u64(f[1], 0, ret_end) < 0 ||
        *ret_start > *ret_end)
        return -1;
    /* The kernel's names: direct, direct-relaxable, reserved, msi. A name added by a later
     * kernel is kept as it is; the checks act on those they know. */
    if (strspn(f[2], "abcdefghijklmnopqrstuvwxyz-") != strlen(f[2]))
        return -1;
    *ret_type = f[2];
    return 0;
}

/* GROUP's reserved_regions (Linux >= 4.11; absent before: regions then stay unknown). A
 * malformed line is a problem and leaves the group's regions unknown (not marked read), but
 * the lines that did parse are kept: each is a real region. */
static void
read_group_regions(vp_host *h, const char *groups, const char *group, unsigned number)
{
    vp_autofree char *rel = vp_asprintf("%s/reserved_regions", group);
    vp_autofree char *path = vp_path_join(groups, rel);
    vp_autofree char *buf = NULL;
    bool ok = true;
    unsigned lineno = 0;
    char *next;
    int r;

    r = vp_read_file(path, 1 << 20, &buf, NULL);
    if (r == -ENOENT)
        return;
    if (r < 0) {
        vp_host_add_problem(h, path, "cannot read: %s", strerror(-r));
        return;
    }
    for (char *line = buf; line && *line; line = next) {
        vp_autofree char *text = NULL;
        uint64_t start, end;
        const char *type;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (!*vp_strstrip(line))
            continue;
        text = vp_strdup(line);
        if (parse_region(line, &start, &end, &type) < 0) {
            vp_host_add_problem(h, path,
                                "line %u: malformed region '%.64s' (expected 'START END TYPE')",
                                lineno, text);
            ok = false;
            continue;
        }
        vp_host_add_group_region(h, number, start, end, type);
    }
    if (ok)
        vp_host_mark_group_regions_read(h, number);
}

/* Reserved regions of every group under GROUPS (ROOT/sys/kernel/iommu_groups). */
static void
read_regions(vp_host *h, const char *groups, const unsigned *nums, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char name[16];

        snprintf(name, sizeof(name), "%u", nums[i]);
        read_group_regions(h, groups, name, nums[i]);
    }
}

/* The entries for ONLY (N addresses, any order, repeats allowed): sorted, unique, spelled as
 * the kernel names them; ROOT/sys/bus/pci/devices must exist. An address without an entry is
 * found missing by load_device, which records the problem. */
static int
list_only(const char *path, const vp_pci_addr *only, size_t n, entry **ret, size_t *ret_n,
          vp_error *err)
{
    entry *list = NULL;
    size_t out = 0;
    struct stat st;
    int e = 0;

    if (stat(path, &st) < 0)
        e = errno;
    else if (!S_ISDIR(st.st_mode))
        e = ENOTDIR;
    if (e) {
        vp_error_errno(err, e, "%s: cannot list PCI devices", path);
        return vp_error_hint(err, "the root must hold a Linux sysfs tree (ROOT/sys)");
    }
    if (n) {
        list = vp_realloc_array(NULL, n, sizeof(*list));
        for (size_t i = 0; i < n; i++)
            list[i].addr = only[i];
        qsort(list, n, sizeof(*list), entry_cmp);
        for (size_t i = 0; i < n; i++) {
            char name[VP_PCI_ADDR_STRLEN];

            if (out && vp_pci_addr_eq(&list[out - 1].addr, &list[i].addr))
                continue;
            list[out].addr = list[i].addr;
            list[out++].name = vp_strdup(vp_pci_addr_format(&list[i].addr, name));
        }
    }
    *ret = list;
    *ret_n = out;
    return 0;
}

/* Reserved regions of the groups of H's devices from index FIRST on (each group once). */
static void
read_regions_of(vp_host *h, const char *groups, size_t first)
{
    unsigned *nums = vp_malloc0((h->n_devices - first + 1) * sizeof(*nums));
    size_t n = 0;

    for (size_t i = first; i < h->n_devices; i++)
        if (h->devices[i]->has_group)
            nums[n++] = h->devices[i]->group;
    if (n > 1)
        qsort(nums, n, sizeof(*nums), uint_cmp);
    for (size_t i = 0; i < n; i++) {
        char name[16];

        if (i && nums[i] == nums[i - 1])
            continue;
        snprintf(name, sizeof(name), "%u", nums[i]);
        read_group_regions(h, groups, name, nums[i]);
    }
    free(nums);
}

int
vp_source_sysfs_load_opts(vp_host *h, const char *root, const vp_sysfs_opts *o, vp_error *err)
{
    vp_autoptr(vp_pcilib) pl = NULL;
    vp_autofree char *devices = vp_path_join(root, "sys/bus/pci/devices");
    vp_autofree char *groups = vp_path_join(root, "sys/kernel/iommu_groups");
    vp_autofree char *root_real = NULL;
    entry *list = NULL;
    size_t n = 0, first = h->n_devices, n_groups;
    unsigned *group_nums = NULL;
    int r;
    scan s;

    if (o && o->only)
        r = list_only(devices, o->only, o->n_only, &list, &n, err);
    else
        r = list_devices(h, devices, &list, &n, err);
    if (r < 0)
        return -1;
    root_real = realpath(root, NULL);
    if (!root_real || vp_pcilib_open(root, &pl, err) < 0) {
        if (!root_real)
            vp_error_errno(err, errno, "%s: cannot resolve the root", root);
        for (size_t i = 0; i < n; i++)
            free(list[i].name);
        free(list);
        return -1;
    }

    free(h->source);
    h->source = vp_strdup("sysfs");
    free(h->root);
    h->root = vp_strdup(root);
    n_groups = list_groups(groups, &group_nums);
    s = (scan){.h = h,
               .pl = pl,
               .root = root,
               .root_real = root_real,
               .devices_real = realpath(devices, NULL),
               .groups = group_nums,
               .n_groups = n_groups,
               .names = !(o && o->no_names)};
    if (s.n_groups)
        h->iommu_present = true;
    for (size_t i = 0; i < n; i++) {
        load_device(&s, &list[i]);
        free(list[i].name);
    }
    free(list);
    free(s.devices_real);
    free(s.parent);
    free(s.parent_real);
    if (n_groups) {
        if (o && o->only)
            read_regions_of(h, groups, first);
        else
            read_regions(h, groups, group_nums, n_groups);
    }
    free(group_nums);
    return 0;
}

int
vp_source_sysfs_load(vp_host *h, const char *root, vp_error *err)
{
    return vp_source_sysfs_load_opts(h, root, NULL, err);
}

int
vp_sysfs_group_members(const char *root, unsigned group, vp_pci_addr **ret, size_t *ret_n,
                       vp_error *err)
{
    vp_autostrv char **names = NULL;
    vp_pci_addr *out = NULL;
    size_t n = 0;
    char rel[64];
    int r;

    snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%u/devices", group);
    r = vp_root_list_dir(root, rel, &names);
    if (r == -ENOENT) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    if (r < 0)
        return vp_error_errno(err, -r, "group %u: cannot list %s under %s", group, rel, root);
    out = vp_malloc0((vp_strv_len(names) + 1) * sizeof(*out));
    for (size_t i = 0; names && names[i]; i++)
        if (vp_pci_addr_parse(names[i], &out[n], NULL) == 0)
            n++;
    *ret = out;
    *ret_n = n;
    return 0;
}

char **
vp_sysfs_netdevs_of(const char *root, const vp_pci_addr *addr)
{
    char buf[VP_PCI_ADDR_STRLEN], rel[64];
    vp_autofree char *dir = NULL;
    vp_autostrv char **names = NULL;
    char **out = NULL;

    snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", vp_pci_addr_format(addr, buf));
    dir = vp_path_join(root, rel);
    if (vp_list_dir(dir, &names) < 0)
        return NULL;
    collect_netdevs(NULL, dir, names, &out);
    return out;
}

int
vp_sysfs_netdev_function(const char *root, const char *ifname, vp_pci_addr *ret)
{
    vp_autofree char *rel = NULL;
    vp_autofree char *path = NULL;
    vp_autofree char *real = NULL;
    char *slash;

    if (!*ifname || strchr(ifname, '/') || strcmp(ifname, ".") == 0 || strcmp(ifname, "..") == 0)
        return -1;
    rel = vp_asprintf("sys/class/net/%s/device", ifname);
    path = vp_path_join(root, rel);
    real = realpath(path, NULL);
    /* .../0000:18:00.0, or .../0000:00:03.0/virtio0 for virtio-net: the nearest function. */
    while (real && (slash = strrchr(real, '/'))) {
        if (vp_pci_addr_looks_like(slash + 1) && vp_pci_addr_parse(slash + 1, ret, NULL) == 0)
            return 0;
        *slash = '\0';
    }
    return -1;
}

static int
addr_cmp(const void *a, const void *b)
{
    return vp_pci_addr_cmp(a, b);
}

void
vp_source_sysfs_enrich(vp_host *h, const char *root, bool complete)
{
    vp_autoptr(vp_host) local = vp_host_new();
    vp_autofree vp_pci_addr *have = NULL;
    size_t n_have = h->n_devices;
    vp_error ignored = {0};

    if (vp_source_sysfs_load(local, root, &ignored) < 0)
        return;
    vp_host_finalize(local);
    have = vp_malloc0((n_have + 1) * sizeof(*have));
    for (size_t i = 0; i < n_have; i++) {
        vp_device *d = h->devices[i];
        vp_device *l = vp_host_find_device(local, &d->addr);

        have[i] = d->addr;
        if (l && !d->facts)
            d->facts = VP_STEAL(&l->facts);
    }
    if (!complete)
        return;
    if (n_have > 1)
        qsort(have, n_have, sizeof(*have), addr_cmp);
    for (size_t i = 0; i < local->n_devices; i++) {
        vp_device *l = local->devices[i];

        if (n_have && bsearch(&l->addr, have, n_have, sizeof(*have), addr_cmp))
            continue;
        *vp_host_add_device(h) = *l;
        memset(l, 0, sizeof(*l)); /* moved: LOCAL frees an empty device */
    }
    if (local->iommu_present)
        h->iommu_present = true;
}
