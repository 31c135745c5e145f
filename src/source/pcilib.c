/* libpci access, the only includer of <pci/pci.h>: error containment, device data, names. */
#include "pcilib.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pci/pci.h>

#include "../util/fs.h"
#include "../util/str.h"

/* Debian and Arch ship pci.ids in /usr/share/misc, Fedora and SUSE in /usr/share/hwdata. */
static const char *const ids_paths[] = {"/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"};

#define CONFIG_MAX 4096 /* PCIe extended configuration space */

struct vp_pcilib {
    struct pci_access *acc;
    char *sysfs_path;           /* ROOT/sys/bus/pci; NULL for a dump */
    char *dump_path;            /* the dump file; NULL for sysfs */
    jmp_buf jmp;                /* where pcilib_error() returns to, see guarded() */
    char msg[VP_ERROR_MSG_MAX]; /* libpci's last error message */
};

/*
 * libpci reports failures by calling acc->error, which must not return: pciutils 3.9 declares
 * it noreturn and its default handler calls exit(), which a library must never do. So every
 * libpci call that can fail runs inside guarded(): pcilib_error() records the message and
 * longjmps back there, and the caller turns it into a vp_error. libpci keeps no locks; what an
 * aborted call had allocated (at worst a FILE * in its 'resource' parser) is leaked, and the
 * pci_dev it worked on is freed without further use. The handler has no context argument, so
 * the active guard is found through a thread-local pointer; outside a guard it aborts, since
 * reaching it there is a vpass bug and exit() would hide it.
 */
static _Thread_local vp_pcilib *guard_owner;

static void pcilib_error(char *msg, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void
pcilib_error(char *msg, ...)
{
    vp_pcilib *pl = guard_owner;
    va_list ap;

    if (!pl)
        abort();
    va_start(ap, msg);
    vsnprintf(pl->msg, sizeof(pl->msg), msg, ap);
    va_end(ap);
    vp_strstrip(pl->msg);
    longjmp(pl->jmp, 1);
}

/* libpci's warnings (e.g. "Cannot open .../config") and debug output: vpass reports the
 * consequences itself (config_len, bars_known), and nothing below src/cli may print. */
static void pcilib_silent(char *msg, ...) __attribute__((format(printf, 1, 2)));
static void
pcilib_silent(char *msg, ...)
{
    (void)msg;
}

typedef void (*pcilib_call)(vp_pcilib *pl, void *arg);

/* Run CALL under the error guard: 0, or -1 with pl->msg set. */
static int
guarded(vp_pcilib *pl, pcilib_call call, void *arg)
{
    guard_owner = pl;
    if (setjmp(pl->jmp) != 0) {
        guard_owner = NULL;
        return -1;
    }
    call(pl, arg);
    guard_owner = NULL;
    return 0;
}

static void
call_init(vp_pcilib *pl, void *arg)
{
    (void)arg;
    pci_init(pl->acc);
}

/* libpci takes char * for strings it never modifies. */
static void
set_param(struct pci_access *acc, const char *name, const char *value)
{
    pci_set_param(acc, (char *)name, (char *)value);
}

/* A pci_access with vpass's error handlers and names from the local pci.ids only (no DNS,
 * no ~/.pciids-cache, no udev hwdb), for METHOD; never writeable. */
static vp_pcilib *
pcilib_new(int method)
{
    vp_pcilib *pl = vp_malloc0(sizeof(*pl));

    pl->acc = pci_alloc();
    pl->acc->error = pcilib_error;
    pl->acc->warning = pcilib_silent;
    pl->acc->debug = pcilib_silent;
    pl->acc->method = method;
    pl->acc->writeable = 0;
    pl->acc->id_lookup_mode = 0;
    set_param(pl->acc, "hwdb.disable", "1");
    for (size_t i = 0; i < VP_ARRAY_SIZE(ids_paths); i++)
        if (access(ids_paths[i], R_OK) == 0) {
            pci_set_name_list_path(pl->acc, (char *)ids_paths[i], 0);
            break;
        }
    return pl;
}

int
vp_pcilib_open(const char *root, vp_pcilib **ret, vp_error *err)
{
    vp_pcilib *pl = pcilib_new(PCI_ACCESS_SYS_BUS_PCI);

    pl->sysfs_path = vp_path_join(root, "sys/bus/pci");
    set_param(pl->acc, "sysfs.path", pl->sysfs_path);
    if (guarded(pl, call_init, NULL) < 0) {
        vp_error_set(err, VP_E_SYSTEM, "libpci: cannot use %s: %s", pl->sysfs_path, pl->msg);
        vp_pcilib_close(pl);
        return -1;
    }
    *ret = pl;
    return 0;
}

int
vp_pcilib_open_dump(const char *file, vp_pcilib **ret, vp_error *err)
{
    vp_pcilib *pl;

    /* libpci would say only "Cannot open": tell a missing file apart first. */
    if (access(file, R_OK) < 0)
        return vp_error_errno(err, errno, "%s: cannot read the dump", file);
    pl = pcilib_new(PCI_ACCESS_DUMP);
    pl->dump_path = vp_strdup(file);
    set_param(pl->acc, "dump.name", pl->dump_path);
    /* The dump backend parses the whole file in pci_init (lib/dump.c, dump_init). */
    if (guarded(pl, call_init, NULL) < 0) {
        vp_error_set(err, VP_E_DATA, "%s: libpci: %s", file, pl->msg);
        vp_pcilib_close(pl);
        return -1;
    }
    *ret = pl;
    return 0;
}

void
vp_pcilib_close(vp_pcilib *pl)
{
    if (!pl)
        return;
    if (pl->acc)
        pci_cleanup(pl->acc);
    free(pl->sysfs_path);
    free(pl->dump_path);
    free(pl);
}

struct lookup {
    int flags;
    int id1, id2;
    char buf[1024];
    char *name;
};

static void
call_lookup(vp_pcilib *pl, void *arg)
{
    struct lookup *l = arg;

    l->name = pci_lookup_name(pl->acc, l->buf, sizeof(l->buf), l->flags, l->id1, l->id2);
}

static char *
lookup_name(vp_pcilib *pl, int what, uint16_t id1, uint16_t id2)
{
    struct lookup l = {
        .flags = what | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, .id1 = id1, .id2 = id2};

    /* A pci.ids that does not parse makes libpci call error(): then there is no name. */
    if (guarded(pl, call_lookup, &l) < 0 || !l.name || !*l.name)
        return NULL;
    return vp_strdup(l.name);
}

char *
vp_pcilib_vendor_name(vp_pcilib *pl, uint16_t vendor)
{
    return lookup_name(pl, PCI_LOOKUP_VENDOR, vendor, 0);
}

char *
vp_pcilib_product_name(vp_pcilib *pl, uint16_t vendor, uint16_t device)
{
    return lookup_name(pl, PCI_LOOKUP_DEVICE, vendor, device);
}

struct get_dev {
    const vp_pci_addr *addr;
    struct pci_dev *dev;
};

static void
call_get_dev(vp_pcilib *pl, void *arg)
{
    struct get_dev *g = arg;

    g->dev = pci_get_dev(pl->acc, (int)g->addr->domain, g->addr->bus, g->addr->slot, g->addr->func);
}

struct fill {
    struct pci_dev *dev;
    int flags;
};

static void
call_fill(vp_pcilib *pl, void *arg)
{
    struct fill *f = arg;

    (void)pl;
    pci_fill_info(f->dev, f->flags);
}

static void
copy_caps(struct pci_dev *d, vp_pcilib_dev *f)
{
    size_t n = 0;

    for (struct pci_cap *c = d->first_cap; c; c = c->next)
        n++;
    if (!n)
        return;
    f->caps = vp_realloc_array(NULL, n, sizeof(*f->caps));
    for (struct pci_cap *c = d->first_cap; c; c = c->next) {
        vp_pcilib_cap *out = &f->caps[f->n_caps++];

        out->id = c->id;
        out->extended = c->type == PCI_CAP_EXTENDED;
        out->offset = (uint16_t)c->addr;
    }
}

/* Bases and types from D; sizes too when libpci knew them (SIZES: sysfs 'resource'). */
static void
copy_bars(struct pci_dev *d, vp_pcilib_dev *f)
{
    bool have_flags = d->known_fields & PCI_FILL_IO_FLAGS;
    bool have_sizes = d->known_fields & PCI_FILL_SIZES;

    for (size_t i = 0; i < 6; i++) {
        vp_pcilib_bar *b = &f->bars[i];
        pciaddr_t low = d->base_addr[i] & PCI_ADDR_FLAG_MASK;

        /* The kernel's IORESOURCE_* flags when libpci has them; else the BAR register's own
         * low bits, which libpci keeps in base_addr (PCIe Base 6.0, 7.5.1.2.1). */
        if (have_flags) {
            b->io = d->flags[i] & PCI_IORESOURCE_IO;
            b->mem64 = d->flags[i] & PCI_IORESOURCE_MEM_64;
            b->prefetch = d->flags[i] & PCI_IORESOURCE_PREFETCH;
        } else {
            b->io = (low & PCI_BASE_ADDRESS_SPACE) == PCI_BASE_ADDRESS_SPACE_IO;
            b->mem64 =
                !b->io && (low & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
            b->prefetch = !b->io && (low & PCI_BASE_ADDRESS_MEM_PREFETCH);
        }
        b->base = d->base_addr[i] & (b->io ? PCI_ADDR_IO_MASK : PCI_ADDR_MEM_MASK);
        b->size = have_sizes ? d->size[i] : 0;
    }
    /* The ROM BAR's bit 0 is its enable bit (PCIe Base 6.0, 7.5.1.2.4); the address is 2 KiB
     * aligned. */
    if (d->known_fields & PCI_FILL_ROM_BASE)
        f->rom_base = (uint64_t)d->rom_base_addr & ~(uint64_t)0x7ff;
    f->rom_size = have_sizes ? d->rom_size : 0;
    f->bases_known = true;
    f->bars_known = have_sizes;
}

/* Config space as the dump backend holds it: its length is what the dump had (lib/dump.c
 * fails a read past it), so read it 16 bytes (one dump line) at a time. */
struct dump_config {
    struct pci_dev *dev;
    uint8_t *buf;
    size_t len;
};

static void
call_dump_config(vp_pcilib *pl, void *arg)
{
    struct dump_config *c = arg;

    (void)pl;
    while (c->len < CONFIG_MAX && pci_read_block(c->dev, (int)c->len, c->buf + c->len, 16))
        c->len += 16;
}

/* Read DIR/config (sysfs) into RET: root sees 256 or 4096 bytes, anyone else 64
 * (drivers/pci/pci-sysfs.c, pci_read_config), and libpci would silently read 0xff for the rest,
 * so vpass reads it itself to learn its length. */
static void
read_sysfs_config(const char *dir, vp_pcilib_dev *ret)
{
    vp_autofree char *path = vp_path_join(dir, "config");
    char *buf = NULL;
    size_t len = 0;

    if (vp_read_file(path, CONFIG_MAX, &buf, &len) == 0 && len > 0) {
        ret->config = (uint8_t *)buf;
        ret->config_len = len;
        ret->config_complete = len >= VP_PCI_CONFIG_COMPLETE;
    } else {
        free(buf);
    }
}

int
vp_pcilib_read(vp_pcilib *pl, const vp_pci_addr *addr, vp_pcilib_dev *ret, vp_error *err)
{
    char name[VP_PCI_ADDR_STRLEN];
    vp_autofree char *dir = NULL;
    vp_autofree char *path = NULL;
    struct get_dev g = {.addr = addr};
    struct fill fill;
    int r = 0;

    memset(ret, 0, sizeof(*ret));
    vp_pci_addr_format(addr, name);
    if (pl->sysfs_path) {
        dir = vp_asprintf("%s/devices/%s", pl->sysfs_path, name);
        read_sysfs_config(dir, ret);
    }

    if (addr->domain > INT_MAX)
        return vp_error_set(err, VP_E_DATA, "%s: PCI domain too large for libpci", name);
    if (guarded(pl, call_get_dev, &g) < 0)
        return vp_error_set(err, VP_E_DATA, "%s: libpci: %s", name, pl->msg);
    if (pl->dump_path) {
        struct dump_config c = {.dev = g.dev, .buf = vp_malloc0(CONFIG_MAX)};

        if (guarded(pl, call_dump_config, &c) < 0 || c.len == 0) {
            free(c.buf);
        } else {
            ret->config = c.buf;
            ret->config_len = c.len;
            ret->config_complete = c.len >= VP_PCI_CONFIG_COMPLETE;
        }
    }
    /* Handing the bytes to libpci as its cache also saves a pread per register. */
    if (ret->config)
        pci_setup_cache(g.dev, ret->config, (int)ret->config_len);

    /* The standard header is 64 bytes; with less there is no capability pointer to follow. */
    fill = (struct fill){g.dev, PCI_FILL_CAPS | PCI_FILL_EXT_CAPS};
    if (ret->config_len >= 64) {
        if (guarded(pl, call_fill, &fill) < 0)
            r = vp_error_set(err, VP_E_DATA, "%s: libpci: %s", name, pl->msg);
        else if (g.dev->known_fields & PCI_FILL_CAPS)
            copy_caps(g.dev, ret);
    }

    /* sysfs: libpci treats a missing 'resource' as fatal; for vpass it only means "sizes
     * unknown". A dump: libpci decodes the BAR registers of the header it holds. */
    fill.flags = PCI_FILL_BASES | PCI_FILL_ROM_BASE | PCI_FILL_SIZES | PCI_FILL_IO_FLAGS;
    if (pl->sysfs_path)
        path = vp_path_join(dir, "resource");
    if (path ? access(path, F_OK) == 0 : ret->config_len >= 64) {
        if (guarded(pl, call_fill, &fill) < 0) {
            if (r == 0)
                r = vp_error_set(err, VP_E_DATA, "%s: libpci: %s", name, pl->msg);
        } else if (g.dev->known_fields & (pl->sysfs_path ? PCI_FILL_SIZES : PCI_FILL_BASES)) {
            copy_bars(g.dev, ret);
        }
    }

    pci_free_dev(g.dev);
    return r;
}

void
vp_pcilib_dev_clear(vp_pcilib_dev *f)
{
    if (!f)
        return;
    free(f->config);
    free(f->caps);
    memset(f, 0, sizeof(*f));
}

const vp_pcilib_cap *
vp_pcilib_dev_find_cap(const vp_pcilib_dev *f, unsigned id, bool extended)
{
    for (size_t i = 0; i < f->n_caps; i++)
        if (f->caps[i].id == id && f->caps[i].extended == extended)
            return &f->caps[i];
    return NULL;
}

bool
vp_pcilib_dev_read8(const vp_pcilib_dev *f, size_t off, uint8_t *ret)
{
    if (off >= f->config_len)
        return false;
    *ret = f->config[off];
    return true;
}

bool
vp_pcilib_dev_read16(const vp_pcilib_dev *f, size_t off, uint16_t *ret)
{
    if (off + 2 > f->config_len)
        return false;
    *ret = (uint16_t)(f->config[off] | f->config[off + 1] << 8);
    return true;
}

bool
vp_pcilib_dev_read32(const vp_pcilib_dev *f, size_t off, uint32_t *ret)
{
    if (off + 4 > f->config_len)
        return false;
    *ret = (uint32_t)f->config[off] | (uint32_t)f->config[off + 1] << 8 |
           (uint32_t)f->config[off + 2] << 16 | (uint32_t)f->config[off + 3] << 24;
    return true;
}
