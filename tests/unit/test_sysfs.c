/* Unit tests for src/source/sysfs.c and pcilib.c: fixture trees, edge cases, scale, real /sys. */
#include "vp_test.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/host.h"
#include "source/pcilib.h"
#include "source/source.h"
#include "util/fs.h"
#include "util/str.h"

#define FIXTURE(name) VP_TEST_FIXTURES "/sysfs/" name
#define H100_CONFIG FIXTURE("gpu-guest/sys/devices/pci0000:00/0000:00:06.0/config")
#define H100_RESOURCE FIXTURE("gpu-guest/sys/devices/pci0000:00/0000:00:06.0/resource")
#define GIB (1024ULL * 1024 * 1024)
#define MIB (1024ULL * 1024)

/* ---- what a device must look like ---- */

typedef struct {
    const char *addr;
    bool ids_known;
    uint16_t vendor, product;
    uint32_t class_code;
    const char *vendor_name, *product_name; /* NULL: not in pci.ids */
    const char *driver;
    int group; /* -1: none */
    int numa;  /* -1: none */
    bool bridge, pcie;
    const char *cap_speed; /* link: present when pcie */
    unsigned cap_width;
    const char *sta_speed;
    unsigned sta_width;
    const char *parent; /* NULL: root bus */
    const char *physfn; /* NULL: not a VF */
    bool pf;
    unsigned vf_max;
    const char *vfs;     /* space-separated, in virtfnN order */
    const char *netdevs; /* space-separated, sorted */
} expect_dev;

static const char *
addr_str(const vp_pci_addr *a)
{
    static char buf[4][VP_PCI_ADDR_STRLEN];
    static unsigned i;

    return vp_pci_addr_format(a, buf[i++ % 4]);
}

static char *
join_addrs(const vp_pci_addr *a, size_t n)
{
    char **v = NULL;
    char *s;

    for (size_t i = 0; i < n; i++)
        vp_strv_push(&v, addr_str(&a[i]));
    s = vp_strv_join(v, " ", "");
    vp_strv_free(v);
    return s;
}

static void
check_device(const vp_host *h, const expect_dev *e)
{
    vp_pci_addr a;
    vp_device *d;
    vp_autofree char *vfs = NULL;
    vp_autofree char *nets = NULL;

    assert_int_equal(vp_pci_addr_parse(e->addr, &a, NULL), 0);
    d = vp_host_find_device(h, &a);
    if (!d)
        fail_msg("%s: not in the model", e->addr);
    print_message("    checking %s\n", e->addr);
    assert_int_equal(d->ids_known, e->ids_known);
    assert_int_equal(d->vendor_id, e->vendor);
    assert_int_equal(d->product_id, e->product);
    assert_int_equal(d->class_code, e->class_code);
    if (e->vendor_name)
        assert_string_equal(d->vendor_name, e->vendor_name);
    else
        assert_null(d->vendor_name);
    if (e->product_name)
        assert_string_equal(d->product_name, e->product_name);
    else
        assert_null(d->product_name);
    if (e->driver)
        assert_string_equal(d->driver, e->driver);
    else
        assert_null(d->driver);
    assert_int_equal(d->has_group, e->group >= 0);
    if (e->group >= 0)
        assert_int_equal(d->group, e->group);
    assert_int_equal(d->has_numa, e->numa >= 0);
    if (e->numa >= 0)
        assert_int_equal(d->numa_node, e->numa);
    assert_int_equal(d->is_bridge, e->bridge);
    assert_int_equal(d->is_pcie, e->pcie);
    assert_int_equal(d->link_cap.present, e->pcie);
    assert_int_equal(d->link_sta.present, e->pcie);
    if (e->cap_speed)
        assert_string_equal(d->link_cap.speed, e->cap_speed);
    else
        assert_null(d->link_cap.speed);
    assert_int_equal(d->link_cap.width, e->cap_width);
    if (e->sta_speed)
        assert_string_equal(d->link_sta.speed, e->sta_speed);
    else
        assert_null(d->link_sta.speed);
    assert_int_equal(d->link_sta.width, e->sta_width);
    assert_int_equal(d->has_parent, e->parent != NULL);
    if (e->parent)
        assert_string_equal(addr_str(&d->parent), e->parent);
    assert_int_equal(d->is_vf, e->physfn != NULL);
    if (e->physfn)
        assert_string_equal(addr_str(&d->physfn), e->physfn);
    assert_int_equal(d->is_pf, e->pf);
    assert_int_equal(d->vf_max, e->vf_max);
    vfs = join_addrs(d->vfs, d->n_vfs);
    assert_string_equal(vfs, e->vfs ? e->vfs : "");
    nets = vp_strv_join(d->netdevs, " ", "");
    assert_string_equal(nets, e->netdevs ? e->netdevs : "");
    /* Derived by the model for every source. */
    {
        vp_autofree char *nd = vp_pci_addr_nodedev_name(&a);
        assert_string_equal(d->nodedev_name, nd);
    }
}

static bool
has_problem(const vp_host *h, const char *what, const char *why)
{
    for (size_t i = 0; i < h->n_problems; i++)
        if (strstr(h->problems[i].what, what) && strstr(h->problems[i].why, why))
            return true;
    return false;
}

static void
dump_problems(const vp_host *h)
{
    for (size_t i = 0; i < h->n_problems; i++)
        print_message("    problem: %s: %s\n", h->problems[i].what, h->problems[i].why);
}

static vp_host *
load(const char *root)
{
    vp_host *h = vp_host_new();
    vp_error err = {0};

    if (vp_source_sysfs_load(h, root, &err) < 0)
        fail_msg("load %s: %s", root, err.msg);
    assert_string_equal(h->source, "sysfs");
    assert_string_equal(h->root, root);
    vp_host_finalize(h);
    dump_problems(h);
    return h;
}

/* ---- building trees in a temporary directory ---- */

/* A new temporary directory; in /dev/shm when possible (the scale test makes 20,000 files). */
static char *
tree_new(void)
{
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    char *dir = vp_asprintf("%s/vp_test_sysfs_XXXXXX", tmp ? tmp : "/tmp");

    assert_non_null(mkdtemp(dir));
    return dir;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
tree_free(char *root)
{
    assert_int_equal(nftw(root, remove_one, 64, FTW_DEPTH | FTW_PHYS), 0);
    free(root);
}

static void
mkdir_p(const char *path)
{
    vp_autofree char *p = vp_strdup(path);

    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            fail_msg("mkdir %s: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", p, strerror(errno));
}

/* Create the parent directories of PATH (only called when they are missing). */
static void
mkdir_parent(const char *path)
{
    vp_autofree char *dir = vp_strdup(path);

    *strrchr(dir, '/') = '\0';
    mkdir_p(dir);
}

static void
put(const char *root, const char *rel, const void *data, size_t len)
{
    vp_autofree char *path = vp_path_join(root, rel);
    FILE *f = fopen(path, "wb");

    if (!f && errno == ENOENT) {
        mkdir_parent(path);
        f = fopen(path, "wb");
    }
    if (!f)
        fail_msg("open %s: %s", path, strerror(errno));
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void
put_str(const char *root, const char *rel, const char *s)
{
    put(root, rel, s, strlen(s));
}

static void
put_link(const char *root, const char *rel, const char *target)
{
    vp_autofree char *path = vp_path_join(root, rel);
    int r = symlink(target, path);

    if (r < 0 && errno == ENOENT) {
        mkdir_parent(path);
        r = symlink(target, path);
    }
    if (r < 0)
        fail_msg("symlink %s: %s", path, strerror(errno));
}

/* ROOT/sys/devices/PARENT/BDF (returned, relative) with its sys/bus/pci/devices link and the
 * ids given (NULL: no such file). */
static char *
add_dev(const char *root, const char *parent, const char *bdf, const char *vendor,
        const char *device, const char *klass)
{
    char *rel = vp_asprintf("sys/devices/%s/%s", parent, bdf);
    vp_autofree char *abs = vp_path_join(root, rel);
    vp_autofree char *bus = vp_asprintf("sys/bus/pci/devices/%s", bdf);
    vp_autofree char *target = vp_asprintf("../../../devices/%s/%s", parent, bdf);
    const char *attrs[][2] = {{"vendor", vendor}, {"device", device}, {"class", klass}};

    if (mkdir(abs, 0755) < 0)
        mkdir_p(abs);
    put_link(root, bus, target);
    for (size_t i = 0; i < VP_ARRAY_SIZE(attrs); i++)
        if (attrs[i][1]) {
            vp_autofree char *f = vp_asprintf("%s/%s", rel, attrs[i][0]);
            vp_autofree char *v = vp_asprintf("%s\n", attrs[i][1]);
            put_str(root, f, v);
        }
    return rel;
}

static void
put_at(const char *root, const char *dev_rel, const char *name, const char *value)
{
    vp_autofree char *rel = vp_asprintf("%s/%s", dev_rel, name);

    put_str(root, rel, value);
}

static void
link_at(const char *root, const char *dev_rel, const char *name, const char *target)
{
    vp_autofree char *rel = vp_asprintf("%s/%s", dev_rel, name);

    put_link(root, rel, target);
}

static void
copy_at(const char *root, const char *dev_rel, const char *name, const char *src, size_t max)
{
    vp_autofree char *rel = vp_asprintf("%s/%s", dev_rel, name);
    vp_autofree char *buf = NULL;
    size_t len;

    assert_int_equal(vp_read_file(src, max, &buf, &len), 0);
    put(root, rel, buf, len);
}

static void
le16(uint8_t *p, uint16_t v)
{
    p[0] = v & 0xff;
    p[1] = v >> 8;
}

static void
le32(uint8_t *p, uint32_t v)
{
    le16(p, v & 0xffff);
    le16(p + 2, v >> 16);
}

/* ---- the real snapshots ---- */

static void
test_gpu_guest(void **state)
{
    static const expect_dev expect[] = {
        {.addr = "0000:00:00.0",
         .ids_known = true,
         .vendor = 0x8086,
         .product = 0x0d57,
         .class_code = 0x060000,
         .vendor_name = "Intel Corporation",
         .group = -1,
         .numa = -1},
        {.addr = "0000:00:01.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1042,
         .class_code = 0x018000,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 block device",
         .driver = "virtio-pci",
         .group = -1,
         .numa = -1},
        {.addr = "0000:00:02.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1042,
         .class_code = 0x018000,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 block device",
         .driver = "virtio-pci",
         .group = -1,
         .numa = -1},
        {.addr = "0000:00:03.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1041,
         .class_code = 0x020000,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 network device",
         .driver = "virtio-pci",
         .group = -1,
         .numa = -1},
        {.addr = "0000:00:04.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1053,
         .class_code = 0xffff00,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 socket",
         .driver = "virtio-pci",
         .group = -1,
         .numa = -1},
        {.addr = "0000:00:05.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1044,
         .class_code = 0xffff00,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 RNG",
         .driver = "virtio-pci",
         .group = -1,
         .numa = -1},
        {.addr = "0000:00:06.0",
         .ids_known = true,
         .vendor = 0x10de,
         .product = 0x2330,
         .class_code = 0x030200,
         .vendor_name = "NVIDIA Corporation",
         .product_name = "GH100[H100 SXM5 80GB]",
         .driver = "nvidia",
         .group = -1,
         .numa = -1,
         .pcie = true,
         .cap_speed = "32",
         .cap_width = 16,
         .sta_speed = "32",
         .sta_width = 16},
    };
    vp_autoptr(vp_host) h = load(FIXTURE("gpu-guest"));
    const vp_pci_facts *f;

    (void)state;
    assert_int_equal(h->n_devices, VP_ARRAY_SIZE(expect));
    for (size_t i = 0; i < VP_ARRAY_SIZE(expect); i++)
        check_device(h, &expect[i]);
    assert_int_equal(h->n_problems, 0);
    assert_false(h->iommu_present);
    assert_int_equal(h->n_groups, 0);

    /* Facts for every device: irq from sysfs, reset_method only where the snapshot has it
     * (the H100), no boot_vga (no VGA-class device). */
    for (size_t i = 0; i < h->n_devices; i++) {
        f = h->devices[i]->facts;
        assert_non_null(f);
        assert_true(f->has_irq);
        assert_false(f->has_boot_vga);
        if (h->devices[i]->addr.slot == 6) {
            assert_int_equal(f->irq, 41);
            assert_string_equal(f->reset_method, "flr");
            assert_int_equal(f->config_len, 4096);
            assert_int_equal(f->pcie_type, VP_PCIE_ENDPOINT);
        } else {
            assert_int_equal(f->irq, 0);
            assert_null(f->reset_method);
            /* The host bridge has extended config space, the virtio devices do not. */
            assert_int_equal(f->config_len, h->devices[i]->addr.slot == 0 ? 4096 : 256);
        }
    }
    f = vp_host_find_device(h, &(vp_pci_addr){0, 0, 6, 0})->facts;
    assert_int_equal(f->bars[2].size, 128 * GIB);
    assert_true(f->bars[2].is_64);
    assert_true(f->bars[2].prefetchable);
}

static void
test_virtio_guest(void **state)
{
    static const expect_dev expect[] = {
        {.addr = "0000:00:00.0",
         .ids_known = true,
         .vendor = 0x8086,
         .product = 0x0d57,
         .class_code = 0x060000,
         .vendor_name = "Intel Corporation",
         .group = -1,
         .numa = -1},
        {.addr = "0000:00:01.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1045,
         .class_code = 0xffff00,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 memory balloon",
         .driver = "virtio-pci",
         .group = -1,
         .numa = -1},
        {.addr = "0000:00:02.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1042,
         .class_code = 0x018000,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 block device",
         .driver = "virtio-pci",
         .group = -1,
         .numa = -1},
        /* The snapshot did not record virtio2/net/, so no interface here (see the README). */
        {.addr = "0000:00:03.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1041,
         .class_code = 0x020000,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 network device",
         .driver = "virtio-pci",
         .group = -1,
         .numa = -1},
        {.addr = "0000:00:04.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1053,
         .class_code = 0xffff00,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 socket",
         .driver = "virtio-pci",
         .group = -1,
         .numa = -1},
        {.addr = "0000:00:05.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1044,
         .class_code = 0xffff00,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 RNG",
         .driver = "virtio-pci",
         .group = -1,
         .numa = -1},
    };
    vp_autoptr(vp_host) h = load(FIXTURE("virtio-guest"));

    (void)state;
    assert_int_equal(h->n_devices, VP_ARRAY_SIZE(expect));
    for (size_t i = 0; i < VP_ARRAY_SIZE(expect); i++)
        check_device(h, &expect[i]);
    assert_int_equal(h->n_problems, 0);
    assert_false(h->iommu_present);
}

static void
test_sriov_host(void **state)
{
    static const expect_dev expect[] = {
        {.addr = "0000:00:00.0",
         .ids_known = true,
         .vendor = 0x8086,
         .product = 0x0d57,
         .class_code = 0x060000,
         .vendor_name = "Intel Corporation",
         .group = 0,
         .numa = -1},
        {.addr = "0000:00:01.0",
         .ids_known = true,
         .vendor = 0x8086,
         .product = 0x0d57,
         .class_code = 0x060400,
         .vendor_name = "Intel Corporation",
         .driver = "pcieport",
         .group = 1,
         .numa = -1,
         .bridge = true,
         .pcie = true,
         .cap_speed = "16",
         .cap_width = 16,
         .sta_speed = NULL,
         .sta_width = 0},
        {.addr = "0000:00:03.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1041,
         .class_code = 0x020000,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 network device",
         .driver = "virtio-pci",
         .group = 5,
         .numa = -1,
         .netdevs = "eth0"},
        /* Dangling driver link: the name is kept (and a problem recorded). */
        {.addr = "0000:00:04.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1053,
         .class_code = 0xffff00,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 socket",
         .driver = "gone",
         .group = 6,
         .numa = -1},
        /* Garbage vendor: ids unknown, the rest still read. */
        {.addr = "0000:00:05.0",
         .ids_known = false,
         .class_code = 0xffff00,
         .driver = "virtio-pci",
         .group = 7,
         .numa = -1},
        /* No link attributes: the link comes from the PCIe capability registers. */
        {.addr = "0000:00:06.0",
         .ids_known = true,
         .vendor = 0x10de,
         .product = 0x2330,
         .class_code = 0x030200,
         .vendor_name = "NVIDIA Corporation",
         .product_name = "GH100[H100 SXM5 80GB]",
         .driver = "vfio-pci",
         .group = 8,
         .numa = -1,
         .pcie = true,
         .cap_speed = "32",
         .cap_width = 16,
         .sta_speed = "32",
         .sta_width = 16},
        {.addr = "0000:01:00.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1041,
         .class_code = 0x020000,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 network device",
         .driver = "virtio-pci",
         .group = 2,
         .numa = 0,
         .pcie = true,
         .cap_speed = "8",
         .cap_width = 8,
         .sta_speed = "2.5",
         .sta_width = 4,
         .parent = "0000:00:01.0",
         .pf = true,
         .vf_max = 8,
         .vfs = "0000:01:10.0 0000:01:10.1",
         .netdevs = "ens1f0"},
        {.addr = "0000:01:00.1",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1041,
         .class_code = 0x020000,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 network device",
         .driver = "virtio-pci",
         .group = 2,
         .numa = 0,
         .pcie = true,
         .cap_speed = "8",
         .cap_width = 8,
         .sta_speed = "2.5",
         .sta_width = 4,
         .parent = "0000:00:01.0",
         .netdevs = "ens1f1"},
        {.addr = "0000:01:10.0",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1041,
         .class_code = 0x020000,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 network device",
         .driver = "vfio-pci",
         .group = 3,
         .numa = 0,
         .parent = "0000:00:01.0",
         .physfn = "0000:01:00.0"},
        {.addr = "0000:01:10.1",
         .ids_known = true,
         .vendor = 0x1af4,
         .product = 0x1041,
         .class_code = 0x020000,
         .vendor_name = "Red Hat, Inc.",
         .product_name = "Virtio 1.0 network device",
         .driver = NULL,
         .group = 4,
         .numa = 0,
         .parent = "0000:00:01.0",
         .physfn = "0000:01:00.0"},
    };
    vp_autoptr(vp_host) h = load(FIXTURE("sriov-host"));
    const vp_group *g;
    vp_device *d;

    (void)state;
    assert_int_equal(h->n_devices, VP_ARRAY_SIZE(expect));
    for (size_t i = 0; i < VP_ARRAY_SIZE(expect); i++)
        check_device(h, &expect[i]);
    assert_true(h->iommu_present);
    assert_int_equal(h->n_groups, 9);

    /* The two ports of one card share group 2. */
    g = vp_host_find_group(h, 2);
    assert_non_null(g);
    assert_int_equal(g->n_members, 2);
    assert_string_equal(h->devices[g->members[0]]->addr_str, "0000:01:00.0");
    assert_string_equal(h->devices[g->members[1]]->addr_str, "0000:01:00.1");

    d = vp_host_find_netdev(h, "eth0");
    assert_non_null(d);
    assert_string_equal(d->addr_str, "0000:00:03.0");

    assert_int_equal(h->n_problems, 2);
    assert_true(has_problem(h, "0000:00:04.0",
                            "driver: link to ../../../bus/pci/drivers/gone "
                            "leads nowhere"));
    assert_true(has_problem(h, "0000:00:05.0", "vendor: malformed value 'garbage'"));

    /* Reserved regions: group 6 holds an RMRR ("direct") besides the interrupt range. */
    g = vp_host_find_group(h, 6);
    assert_non_null(g);
    assert_true(g->regions_read);
    assert_int_equal(g->n_regions, 2);
    assert_int_equal(g->regions[0].start, 0x7b800000);
    assert_int_equal(g->regions[0].end, 0x7f7fffff);
    assert_string_equal(g->regions[0].type, "direct");
    assert_int_equal(g->regions[1].start, 0xfee00000);
    assert_int_equal(g->regions[1].end, 0xfeefffff);
    assert_string_equal(g->regions[1].type, "msi");
    g = vp_host_find_group(h, 2);
    assert_true(g->regions_read);
    assert_int_equal(g->n_regions, 1);
    assert_string_equal(g->regions[0].type, "msi");
    /* Group 7 has no file (Linux < 4.11): unknown, not "none". */
    g = vp_host_find_group(h, 7);
    assert_false(g->regions_read);
    assert_int_equal(g->n_regions, 0);

    /* Facts for every device, the VFs and the device with a broken vendor included. */
    for (size_t i = 0; i < h->n_devices; i++)
        assert_non_null(h->devices[i]->facts);
    d = vp_host_find_device(h, &(vp_pci_addr){0, 0, 6, 0});
    assert_string_equal(d->facts->reset_method, "flr");
    assert_int_equal(d->facts->irq, 41);
    assert_true(d->facts->flr);
}

/* ---- libpci facts ---- */

static void
test_pcilib_h100(void **state)
{
    vp_autoptr(vp_pcilib) pl = NULL;
    vp_pcilib_dev f;
    vp_pci_addr a;
    vp_error err = {0};
    const vp_pcilib_cap *exp;
    uint16_t v;
    char *name;

    (void)state;
    assert_int_equal(vp_pcilib_open(FIXTURE("gpu-guest"), &pl, &err), 0);
    assert_int_equal(vp_pci_addr_parse("0000:00:06.0", &a, NULL), 0);
    assert_int_equal(vp_pcilib_read(pl, &a, &f, &err), 0);

    assert_int_equal(f.config_len, 4096);
    assert_true(f.config_complete);
    assert_true(vp_pcilib_dev_read16(&f, 0, &v));
    assert_int_equal(v, 0x10de);
    assert_false(vp_pcilib_dev_read16(&f, 4095, &v));

    /* Capabilities as lspci lists them for this device. */
    exp = vp_pcilib_dev_find_cap(&f, VP_PCI_CAP_ID_EXP, false);
    assert_non_null(exp);
    assert_int_equal(exp->offset, 0x60);
    assert_non_null(vp_pcilib_dev_find_cap(&f, VP_PCI_CAP_ID_MSIX, false));
    assert_int_equal(vp_pcilib_dev_find_cap(&f, VP_PCI_CAP_ID_MSI, false)->offset, 0x48);
    assert_int_equal(vp_pcilib_dev_find_cap(&f, 0x01 /* AER */, true)->offset, 0x1b8);
    assert_null(vp_pcilib_dev_find_cap(&f, VP_PCI_EXT_CAP_ID_SRIOV, true));
    assert_int_equal(f.n_caps, 13);

    /* NVIDIA's "BAR1" is the second BAR pair: resource line (register) 2. 128 GiB, 64-bit,
     * prefetchable: the large-BAR case. */
    assert_true(f.bars_known);
    assert_int_equal(f.bars[2].size, 128 * GIB);
    assert_int_equal(f.bars[2].base, 0x100000000000ULL);
    assert_true(f.bars[2].mem64);
    assert_true(f.bars[2].prefetch);
    assert_false(f.bars[2].io);
    assert_int_equal(f.bars[0].size, 16 * MIB);
    assert_int_equal(f.bars[0].base, 0x102002000000ULL);
    assert_true(f.bars[0].mem64);
    assert_int_equal(f.bars[4].size, 32 * MIB);
    assert_int_equal(f.bars[1].size, 0); /* upper half of BAR0 */
    assert_int_equal(f.bars[3].size, 0);
    assert_int_equal(f.bars[5].size, 0);
    assert_int_equal(f.rom_size, 0);
    vp_pcilib_dev_clear(&f);

    /* A virtio device: 256 bytes (conventional config space), a non-prefetchable BAR. */
    assert_int_equal(vp_pci_addr_parse("0000:00:03.0", &a, NULL), 0);
    assert_int_equal(vp_pcilib_read(pl, &a, &f, &err), 0);
    assert_int_equal(f.config_len, 256);
    assert_true(f.config_complete);
    assert_null(vp_pcilib_dev_find_cap(&f, VP_PCI_CAP_ID_EXP, false));
    assert_int_equal(vp_pcilib_dev_find_cap(&f, VP_PCI_CAP_ID_MSIX, false)->offset, 0x98);
    assert_int_equal(f.bars[0].size, 512 * 1024);
    assert_true(f.bars[0].mem64);
    assert_false(f.bars[0].prefetch);
    vp_pcilib_dev_clear(&f);

    name = vp_pcilib_product_name(pl, 0x10de, 0x2330);
    assert_string_equal(name, "GH100[H100 SXM5 80GB]");
    free(name);
    name = vp_pcilib_vendor_name(pl, 0x1af4);
    assert_string_equal(name, "Red Hat, Inc.");
    free(name);
    assert_null(vp_pcilib_product_name(pl, 0x8086, 0x0d57));
    assert_null(vp_pcilib_vendor_name(pl, 0xfff0)); /* not assigned */
}

/* ---- hand-made edge cases, built in a temporary directory ---- */

/* A config space made here, carrying one register each: header, PCIe link, SR-IOV. */
static void
make_config(uint8_t *cfg, uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t hdr)
{
    memset(cfg, 0, 4096);
    le16(cfg + 0x00, vendor);
    le16(cfg + 0x02, device);
    cfg[0x09] = class_code & 0xff;
    cfg[0x0a] = (class_code >> 8) & 0xff;
    cfg[0x0b] = class_code >> 16;
    cfg[0x0e] = hdr;
}

/* PCI Express capability at 0x40 (the only one) and an SR-IOV extended capability at 0x100. */
static void
add_pcie_sriov(uint8_t *cfg, uint32_t lnkcap, uint16_t lnksta, uint16_t total_vfs)
{
    le16(cfg + 0x06, 0x0010); /* Status: Capabilities List */
    cfg[0x34] = 0x40;
    cfg[0x40] = 0x10; /* PCI Express, next 0 */
    le16(cfg + 0x42, 0x0002);
    le32(cfg + 0x40 + 0x0c, lnkcap);
    le16(cfg + 0x40 + 0x12, lnksta);
    le32(cfg + 0x100, 0x00010010); /* SR-IOV, version 1, next 0 */
    le16(cfg + 0x100 + 0x0e, total_vfs);
}

static void
test_edge_cases(void **state)
{
    char *root = tree_new();
    char *elsewhere = tree_new();
    uint8_t cfg[4096];
    vp_autofree char *vfs = NULL;
    vp_autoptr(vp_pcilib) pl = NULL;
    vp_host *h;
    vp_pcilib_dev f;
    vp_pci_addr a;
    vp_error err = {0};
    char **vf_names = NULL;

    (void)state;
    /* Bridge by header type alone (0x81: multi-function, type 1); the class says otherwise. */
    {
        vp_autofree char *d =
            add_dev(root, "pci0000:00", "0000:00:02.0", "0x8086", "0x0d57", "0x088000");
        vp_autofree char *rel = vp_asprintf("%s/config", d);

        make_config(cfg, 0x8086, 0x0d57, 0x088000, 0x81);
        put(root, rel, cfg, 64);
    }
    /* No vendor/device/class files: the ids come from config space (the H100's, real). */
    {
        vp_autofree char *d = add_dev(root, "pci0000:00", "0000:00:03.0", NULL, NULL, NULL);

        copy_at(root, d, "config", H100_CONFIG, 4096);
        copy_at(root, d, "resource", H100_RESOURCE, 4096);
        /* Groups are ignored while iommu_groups is empty (no IOMMU). */
        link_at(root, d, "iommu_group", "../../../kernel/iommu_groups/3");
    }
    /* What a non-root reader gets: 64 bytes of config; PCIe known from the link files. */
    {
        vp_autofree char *d =
            add_dev(root, "pci0000:00", "0000:00:04.0", "0x10de", "0x2330", "0x030200");

        copy_at(root, d, "config", H100_CONFIG, 64);
        put_at(root, d, "max_link_speed", "16.0 GT/s PCIe\n");
        put_at(root, d, "max_link_width", "16\n");
        put_at(root, d, "current_link_speed", "2.5 GT/s\n");
        put_at(root, d, "current_link_width", "1\n");
        put_at(root, d, "numa_node", "zero\n");
    }
    /* SR-IOV from the capability (no sriov_totalvfs), link from registers, eleven VFs whose
     * names sort virtfn0, virtfn1, virtfn10, virtfn2... */
    {
        vp_autofree char *d =
            add_dev(root, "pci0000:00", "0000:00:05.0", "0x8086", "0x1572", "0x020000");
        vp_autofree char *rel = vp_asprintf("%s/config", d);

        /* LnkCap: 8 GT/s (3) x8; LnkSta: 2.5 GT/s (1) x4. */
        make_config(cfg, 0x8086, 0x1572, 0x020000, 0x80);
        add_pcie_sriov(cfg, 0x00000083, 0x0041, 64);
        put(root, rel, cfg, sizeof(cfg));
        put_at(root, d, "numa_node", "1\n");
        for (unsigned i = 0; i < 11; i++) {
            vp_autofree char *bdf = vp_asprintf("0000:01:%02x.%u", i / 8, i % 8);
            vp_autofree char *vf = add_dev(root, "pci0000:00", bdf, "0x8086", "0x154c", "0x020000");
            vp_autofree char *name = vp_asprintf("virtfn%u", i);
            vp_autofree char *target = vp_asprintf("../%s", bdf);

            link_at(root, d, name, target);
            link_at(root, vf, "physfn", "../0000:00:05.0");
            vp_strv_push(&vf_names, bdf);
        }
    }
    /* Entries that are not devices of this tree. */
    put_link(root, "sys/bus/pci/devices/0000:00:06.0", "/");
    put_link(root, "sys/bus/pci/devices/0000:00:07.0", "../../../devices/pci0000:00/nothing");
    put_str(root, "sys/bus/pci/devices/garbage", "");
    put_link(root, "sys/bus/pci/devices/0:0:8.0", "../../../devices/pci0000:00/0000:00:02.0");
    /* Relative links that leave the tree: by ".." beyond the root, and through a directory
     * that is a link to another tree (the device itself is a plain directory there). */
    put_link(root, "sys/bus/pci/devices/0000:00:08.0",
             "../../../../../../../../../../../../../../../../../../../../..");
    {
        vp_autofree char *dev = vp_path_join(elsewhere, "0000:00:09.0");
        vp_autofree char *bus = vp_path_join(root, "sys/devices/pci0000:09");

        mkdir_p(dev);
        assert_int_equal(symlink(elsewhere, bus), 0);
        put_link(root, "sys/bus/pci/devices/0000:00:09.0",
                 "../../../devices/pci0000:09/0000:00:09.0");
    }
    {
        vp_autofree char *groups = vp_path_join(root, "sys/kernel/iommu_groups");

        mkdir_p(groups);
    }

    h = load(root);
    {
        const expect_dev expect[] = {
            {.addr = "0000:00:02.0",
             .ids_known = true,
             .vendor = 0x8086,
             .product = 0x0d57,
             .class_code = 0x088000,
             .vendor_name = "Intel Corporation",
             .group = -1,
             .numa = -1,
             .bridge = true},
            {.addr = "0000:00:03.0",
             .ids_known = true,
             .vendor = 0x10de,
             .product = 0x2330,
             .class_code = 0x030200,
             .vendor_name = "NVIDIA Corporation",
             .product_name = "GH100[H100 SXM5 80GB]",
             .group = -1,
             .numa = -1,
             .pcie = true,
             .cap_speed = "32",
             .cap_width = 16,
             .sta_speed = "32",
             .sta_width = 16},
            {.addr = "0000:00:04.0",
             .ids_known = true,
             .vendor = 0x10de,
             .product = 0x2330,
             .class_code = 0x030200,
             .vendor_name = "NVIDIA Corporation",
             .product_name = "GH100[H100 SXM5 80GB]",
             .group = -1,
             .numa = -1,
             .pcie = true,
             .cap_speed = "16",
             .cap_width = 16,
             .sta_speed = "2.5",
             .sta_width = 1},
            {.addr = "0000:00:05.0",
             .ids_known = true,
             .vendor = 0x8086,
             .product = 0x1572,
             .class_code = 0x020000,
             .vendor_name = "Intel Corporation",
             .product_name = "Ethernet Controller X710 for 10GbE SFP+",
             .group = -1,
             .numa = 1,
             .pcie = true,
             .cap_speed = "8",
             .cap_width = 8,
             .sta_speed = "2.5",
             .sta_width = 4,
             .pf = true,
             .vf_max = 64,
             .vfs = vfs = vp_strv_join(vf_names, " ", "")},
            {.addr = "0000:01:01.2",
             .ids_known = true,
             .vendor = 0x8086,
             .product = 0x154c,
             .class_code = 0x020000,
             .vendor_name = "Intel Corporation",
             .product_name = "Ethernet Virtual Function 700 Series",
             .group = -1,
             .numa = -1,
             .physfn = "0000:00:05.0"},
        };

        assert_int_equal(h->n_devices, 4 + 11);
        for (size_t i = 0; i < VP_ARRAY_SIZE(expect); i++)
            check_device(h, &expect[i]);
    }
    assert_false(h->iommu_present);
    assert_int_equal(h->n_problems, 7);
    assert_true(has_problem(h, "0000:00:04.0", "numa_node: malformed value 'zero'"));
    assert_true(has_problem(h, "0000:00:06.0",
                            "/sys/bus/pci/devices/0000:00:06.0 leads to /, "
                            "outside"));
    assert_true(has_problem(h, "0000:00:08.0", "leads to /, outside"));
    assert_true(has_problem(h, "0000:00:09.0", "outside"));
    assert_false(vp_host_find_device(h, &(vp_pci_addr){0, 0, 9, 0}));
    assert_true(has_problem(h, "0000:00:07.0", "cannot resolve"));
    assert_true(has_problem(h, "/sys/bus/pci/devices/garbage", "not a PCI address"));
    assert_true(has_problem(h, "/sys/bus/pci/devices/0:0:8.0", "not a PCI address"));
    vp_host_free(h);

    /* The same devices through pcilib: what a non-root reader would miss. */
    assert_int_equal(vp_pcilib_open(root, &pl, &err), 0);
    assert_int_equal(vp_pci_addr_parse("0000:00:04.0", &a, NULL), 0);
    assert_int_equal(vp_pcilib_read(pl, &a, &f, &err), 0);
    assert_int_equal(f.config_len, 64);
    assert_false(f.config_complete);
    assert_int_equal(f.n_caps, 0); /* the capability pointer leads past byte 63 */
    assert_false(f.bars_known);    /* no 'resource' file */
    vp_pcilib_dev_clear(&f);
    assert_int_equal(vp_pci_addr_parse("0000:00:03.0", &a, NULL), 0);
    assert_int_equal(vp_pcilib_read(pl, &a, &f, &err), 0);
    assert_true(f.config_complete);
    assert_int_equal(f.bars[2].size, 128 * GIB);
    vp_pcilib_dev_clear(&f);
    assert_int_equal(vp_pci_addr_parse("0000:00:07.0", &a, NULL), 0);
    assert_int_equal(vp_pcilib_read(pl, &a, &f, &err), 0); /* absent: nothing known */
    assert_int_equal(f.config_len, 0);
    assert_false(f.bars_known);
    vp_pcilib_dev_clear(&f);

    vp_strv_free(vf_names);
    tree_free(root);
    tree_free(elsewhere);
}

/* sysfs-only facts (irq, reset_method, boot_vga) and reserved regions, in a tree made here. */
static void
test_facts_and_regions(void **state)
{
    char *root = tree_new();
    vp_host *h;
    vp_device *d;
    const vp_group *g;
    uint8_t cfg[4096];

    (void)state;
    /* The boot VGA device: every sysfs fact, but no config file (facts still set). */
    {
        vp_autofree char *dev =
            add_dev(root, "pci0000:00", "0000:00:02.0", "0x8086", "0x3e92", "0x030000");

        put_at(root, dev, "boot_vga", "1\n");
        put_at(root, dev, "irq", "16\n");
        put_at(root, dev, "reset_method", "flr bus\n");
        link_at(root, dev, "iommu_group", "../../../kernel/iommu_groups/1");
    }
    /* A second VGA device, not the boot one; 64 bytes of config (a non-root reader). */
    {
        vp_autofree char *dev =
            add_dev(root, "pci0000:00", "0000:00:03.0", "0x10de", "0x0a65", "0x030000");
        vp_autofree char *rel = vp_asprintf("%s/config", dev);

        make_config(cfg, 0x10de, 0x0a65, 0x030000, 0x80);
        cfg[0x3d] = 1;
        put(root, rel, cfg, 64);
        put_at(root, dev, "boot_vga", "0\n");
        put_at(root, dev, "irq", "0\n");
        link_at(root, dev, "iommu_group", "../../../kernel/iommu_groups/2");
    }
    /* Malformed attributes: problems, the facts still set. */
    {
        vp_autofree char *dev =
            add_dev(root, "pci0000:00", "0000:00:04.0", "0x1234", "0x1111", "0x030000");

        put_at(root, dev, "irq", "sixteen\n");
        put_at(root, dev, "boot_vga", "2\n");
        link_at(root, dev, "iommu_group", "../../../kernel/iommu_groups/3");
    }
    /* boot_vga on a NIC: the kernel never shows it there, so vpass does not look. Its
     * iommu_group link names a group that iommu_groups does not list. */
    {
        vp_autofree char *dev =
            add_dev(root, "pci0000:00", "0000:00:05.0", "0x8086", "0x1533", "0x020000");

        put_at(root, dev, "boot_vga", "1\n");
        link_at(root, dev, "iommu_group", "../../../kernel/iommu_groups/7");
    }
    /* Group 1: a malformed line among good ones; group 2: empty (no region); group 3: a type
     * this vpass does not know; group 9: no device (dropped); "x": not a group. */
    put_str(root, "sys/kernel/iommu_groups/1/reserved_regions",
            "0x000000007b800000 0x000000007f7fffff direct\n"
            "0xfee00000 feefffff msi\n"
            "\n"
            "0x00000000fee00000 0x00000000feefffff msi\n");
    put_str(root, "sys/kernel/iommu_groups/2/reserved_regions", "");
    put_str(root, "sys/kernel/iommu_groups/3/reserved_regions",
            "0x0000000000000000 0x0000000000ffffff direct-relaxable\n"
            "0x00000000fee00000 0x00000000feefffff future-kind\n");
    put_str(root, "sys/kernel/iommu_groups/9/reserved_regions",
            "0x00000000fee00000 0x00000000feefffff msi\n");
    put_str(root, "sys/kernel/iommu_groups/x/reserved_regions", "garbage\n");

    h = load(root);
    assert_int_equal(h->n_devices, 4);

    d = vp_host_find_device(h, &(vp_pci_addr){0, 0, 2, 0});
    assert_non_null(d->facts);
    assert_true(d->facts->has_boot_vga);
    assert_true(d->facts->boot_vga);
    assert_true(d->facts->has_irq);
    assert_int_equal(d->facts->irq, 16);
    assert_string_equal(d->facts->reset_method, "flr bus");
    assert_int_equal(d->facts->config_len, 0);
    assert_int_equal(d->facts->pcie_type, VP_PCIE_NONE);

    d = vp_host_find_device(h, &(vp_pci_addr){0, 0, 3, 0});
    assert_true(d->facts->has_boot_vga);
    assert_false(d->facts->boot_vga);
    assert_true(d->facts->has_irq);
    assert_int_equal(d->facts->irq, 0);
    assert_null(d->facts->reset_method);
    assert_int_equal(d->facts->config_len, 64);
    assert_true(d->facts->multifunction);
    assert_int_equal(d->facts->interrupt_pin, 1);
    assert_false(d->facts->bars[0].present); /* no 'resource': sizes unknown */

    d = vp_host_find_device(h, &(vp_pci_addr){0, 0, 4, 0});
    assert_non_null(d->facts);
    assert_false(d->facts->has_irq);
    assert_false(d->facts->has_boot_vga);
    d = vp_host_find_device(h, &(vp_pci_addr){0, 0, 5, 0});
    assert_non_null(d->facts);
    assert_false(d->facts->has_boot_vga);

    g = vp_host_find_group(h, 1);
    assert_false(g->regions_read); /* a line could not be read: the list may be incomplete */
    assert_int_equal(g->n_regions, 2);
    assert_string_equal(g->regions[0].type, "direct");
    assert_string_equal(g->regions[1].type, "msi");
    g = vp_host_find_group(h, 2);
    assert_true(g->regions_read);
    assert_int_equal(g->n_regions, 0);
    g = vp_host_find_group(h, 3);
    assert_true(g->regions_read);
    assert_int_equal(g->n_regions, 2);
    assert_string_equal(g->regions[0].type, "direct-relaxable");
    assert_int_equal(g->regions[0].start, 0);
    assert_int_equal(g->regions[0].end, 0xffffff);
    assert_string_equal(g->regions[1].type, "future-kind");
    assert_null(vp_host_find_group(h, 9));

    assert_int_equal(h->n_problems, 4);
    assert_true(has_problem(h, "0000:00:05.0",
                            "iommu_group: link to ../../../kernel/iommu_groups/7 leads nowhere"));
    assert_true(has_problem(h, "0000:00:04.0", "irq: malformed value 'sixteen'"));
    assert_true(has_problem(h, "0000:00:04.0", "boot_vga: malformed value '2'"));
    assert_true(has_problem(h, "/sys/kernel/iommu_groups/1/reserved_regions",
                            "line 2: malformed region '0xfee00000 feefffff msi' (expected "
                            "'START END TYPE')"));
    vp_host_free(h);

    /* Malformed lines of every kind; none crashes, each is one problem. */
    {
        static const char *const bad[] = {
            "0x1000",                          /* too few fields */
            "0x1000 0x1fff msi extra",         /* too many */
            "4096 0x1fff msi",                 /* not hex */
            "0x2000 0x1fff msi",               /* start after end */
            "0x1000 0x1fff MSI",               /* not a kernel type name */
            "0x1000 0x1fffffffffffffffff msi", /* out of range */
            "0x 0x1fff msi",
        };
        vp_autofree char *text = NULL;
        char **lines = NULL;

        for (size_t i = 0; i < VP_ARRAY_SIZE(bad); i++)
            vp_strv_push(&lines, bad[i]);
        text = vp_strv_join(lines, "\n", "");
        vp_strv_free(lines);
        put_str(root, "sys/kernel/iommu_groups/2/reserved_regions", text);
        h = load(root);
        assert_int_equal(h->n_problems, 4 + VP_ARRAY_SIZE(bad));
        g = vp_host_find_group(h, 2);
        assert_false(g->regions_read);
        assert_int_equal(g->n_regions, 0);
        vp_host_free(h);
    }
    tree_free(root);
}

/* A root deeper than libpci's 1024-byte path buffer makes libpci call error() ("File name too
 * long") for each device: without the guard the process would exit. Every device is still
 * listed, with a problem each, and the BARs unknown. */
static void
test_libpci_error_contained(void **state)
{
    char *base = tree_new();
    vp_autofree char *deep = vp_strdup(base);
    vp_autofree char *root = NULL;
    vp_autofree char *fixture = realpath(FIXTURE("gpu-guest"), NULL);
    char seg[201];
    vp_host *h;
    vp_autoptr(vp_pcilib) pl = NULL;
    vp_pcilib_dev f;
    vp_pci_addr a;
    vp_error err = {0};

    (void)state;
    assert_non_null(fixture);
    memset(seg, 'd', sizeof(seg) - 1);
    seg[sizeof(seg) - 1] = '\0';
    for (int i = 0; i < 5; i++) {
        char *next = vp_path_join(deep, seg);

        free(deep);
        deep = next;
    }
    mkdir_p(deep);
    root = vp_path_join(deep, "root");
    assert_int_equal(symlink(fixture, root), 0);
    assert_true(strlen(root) > 1024);

    h = load(root);
    assert_int_equal(h->n_devices, 7);
    assert_int_equal(h->n_problems, 7);
    assert_true(has_problem(h, "0000:00:06.0", "libpci: File name too long"));
    assert_string_equal(h->problems[6].why, "libpci: File name too long");
    assert_non_null(vp_host_find_device(h, &(vp_pci_addr){0, 0, 6, 0}));
    assert_string_equal(vp_host_find_device(h, &(vp_pci_addr){0, 0, 6, 0})->product_name,
                        "GH100[H100 SXM5 80GB]");
    vp_host_free(h);

    assert_int_equal(vp_pcilib_open(root, &pl, &err), 0);
    assert_int_equal(vp_pci_addr_parse("0000:00:06.0", &a, NULL), 0);
    assert_int_equal(vp_pcilib_read(pl, &a, &f, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_string_equal(err.msg, "0000:00:06.0: libpci: File name too long");
    assert_int_equal(f.config_len, 4096); /* read before libpci failed */
    assert_false(f.bars_known);
    vp_pcilib_dev_clear(&f);
    tree_free(base);
}

static void
test_missing_root(void **state)
{
    vp_autoptr(vp_host) h = vp_host_new();
    char *root = tree_new();
    vp_error err = {0};

    (void)state;
    assert_int_equal(vp_source_sysfs_load(h, "/nonexistent/vpass-root", &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_string_equal(err.msg, "/nonexistent/vpass-root/sys/bus/pci/devices: cannot list PCI "
                                 "devices: No such file or directory");
    assert_int_equal(h->n_devices, 0);
    assert_null(h->source);

    /* A root with a sys/ but no PCI bus. */
    vp_error_clear(&err);
    {
        vp_autofree char *sys = vp_path_join(root, "sys/kernel");

        mkdir_p(sys);
    }
    assert_int_equal(vp_source_sysfs_load(h, root, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "/sys/bus/pci/devices: cannot list PCI devices"));
    tree_free(root);
}

/* 5,000 functions: 1,000 PFs with 4 VFs each, each card in its own group. Checks that every
 * relation survives at that size (one pass; nothing is timed). */
static void
test_scale(void **state)
{
    char *root = tree_new();
    vp_host *h;
    size_t pfs = 0;

    (void)state;
    for (unsigned i = 0; i < 1000; i++) {
        unsigned bus = 1 + i / 32, slot = i % 32;
        vp_autofree char *gdir = vp_asprintf("%s/sys/kernel/iommu_groups/%u", root, i);

        mkdir_p(gdir);
        for (unsigned fn = 0; fn < 5; fn++) {
            vp_autofree char *bdf = vp_asprintf("0000:%02x:%02x.%u", bus, slot, fn);
            vp_autofree char *d =
                add_dev(root, "pci0000:00", bdf, "0x8086", fn ? "0x154c" : "0x1572", "0x020000");
            vp_autofree char *grp = vp_asprintf("../../../kernel/iommu_groups/%u", i);

            link_at(root, d, "iommu_group", grp);
            if (fn == 0) {
                put_at(root, d, "sriov_totalvfs", "4\n");
                for (unsigned v = 0; v < 4; v++) {
                    vp_autofree char *name = vp_asprintf("virtfn%u", v);
                    vp_autofree char *target =
                        vp_asprintf("../0000:%02x:%02x.%u", bus, slot, v + 1);

                    link_at(root, d, name, target);
                }
            } else {
                vp_autofree char *target = vp_asprintf("../0000:%02x:%02x.0", bus, slot);

                link_at(root, d, "physfn", target);
            }
        }
    }

    h = load(root);
    assert_int_equal(h->n_devices, 5000);
    assert_int_equal(h->n_problems, 0);
    assert_int_equal(h->n_groups, 1000);
    for (size_t i = 0; i < h->n_devices; i++) {
        const vp_device *d = h->devices[i];

        assert_true(d->has_group);
        assert_int_equal(d->group, i / 5);
        if (d->addr.func == 0) {
            pfs++;
            assert_true(d->is_pf);
            assert_int_equal(d->vf_max, 4);
            assert_int_equal(d->n_vfs, 4);
            for (unsigned v = 0; v < 4; v++) {
                assert_true(vp_pci_addr_same_slot(&d->vfs[v], &d->addr));
                assert_int_equal(d->vfs[v].func, v + 1);
            }
        } else {
            assert_true(d->is_vf);
            assert_true(vp_pci_addr_same_slot(&d->physfn, &d->addr));
            assert_int_equal(d->physfn.func, 0);
        }
    }
    assert_int_equal(pfs, 1000);
    for (size_t i = 0; i < h->n_groups; i++)
        assert_int_equal(h->groups[i].n_members, 5);
    vp_host_free(h);
    tree_free(root);
}

/* ---- this machine's real /sys, read-only ---- */

/* The default route's interface from /proc/net/route, or NULL. */
static char *
default_route_ifname(void)
{
    vp_autofree char *buf = NULL;
    char *save = NULL;

    if (vp_read_file("/proc/net/route", 1 << 20, &buf, NULL) < 0)
        return NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char ifname[64], dest[16], gw[16], mask[16];
        unsigned flags, refcnt, use, metric;

        if (sscanf(line, "%63s %15s %15s %x %u %u %u %15s", ifname, dest, gw, &flags, &refcnt, &use,
                   &metric, mask) == 8 &&
            strcmp(dest, "00000000") == 0 && strcmp(mask, "00000000") == 0)
            return vp_strdup(ifname);
    }
    return NULL;
}

/* The PCI function above /sys/class/net/IFNAME, found independently of vpass: the last
 * component of its canonical path that is a PCI address. */
static bool
pci_above_netdev(const char *ifname, vp_pci_addr *ret)
{
    vp_autofree char *link = vp_asprintf("/sys/class/net/%s", ifname);
    vp_autofree char *path = realpath(link, NULL);
    bool found = false;
    char *save = NULL;

    if (!path)
        return false;
    for (char *c = strtok_r(path, "/", &save); c; c = strtok_r(NULL, "/", &save))
        if (vp_pci_addr_looks_like(c) && strchr(c, '.') && vp_pci_addr_parse(c, ret, NULL) == 0)
            found = true;
    return found;
}

static void
test_real_sys(void **state)
{
    vp_autoptr(vp_host) h = load("/");
    char **names = NULL;
    bool any_virtio = false, groups = false;
    DIR *dir;
    struct dirent *de;

    (void)state;
    /* Every function the kernel lists is in the model, with the vendor the kernel says. */
    assert_int_equal(vp_list_dir("/sys/bus/pci/devices", &names), 0);
    assert_int_equal(h->n_devices, vp_strv_len(names));
    for (size_t i = 0; names && names[i]; i++) {
        vp_autofree char *path = vp_asprintf("/sys/bus/pci/devices/%s/vendor", names[i]);
        vp_autofree char *line = NULL;
        unsigned vendor;
        vp_pci_addr a;
        const vp_device *d;

        assert_int_equal(vp_pci_addr_parse(names[i], &a, NULL), 0);
        d = vp_host_find_device(h, &a);
        assert_non_null(d);
        assert_int_equal(vp_read_line(path, &line), 0);
        assert_int_equal(vp_parse_uint(line, &vendor), 0);
        assert_true(d->ids_known);
        assert_int_equal(d->vendor_id, vendor);
        any_virtio |= vendor == 0x1af4;
    }
    vp_strv_free(names);
    assert_int_equal(h->n_problems, 0);

    /* IOMMU: as /sys/kernel/iommu_groups says (this VM has none, so false here). */
    dir = opendir("/sys/kernel/iommu_groups");
    while (dir && (de = readdir(dir)))
        groups |= de->d_name[0] != '.';
    if (dir)
        closedir(dir);
    assert_int_equal(h->iommu_present, groups);

    /* This test machine is a virtio guest: its virtio devices must be there. */
    if (!any_virtio)
        skip();
    {
        bool found = false;

        for (size_t i = 0; i < h->n_devices; i++)
            found |= h->devices[i]->vendor_id == 0x1af4 &&
                     vp_streq(h->devices[i]->vendor_name, "Red Hat, Inc.");
        assert_true(found);
    }
}

static void
test_real_sys_default_route(void **state)
{
    vp_autoptr(vp_host) h = load("/");
    vp_autofree char *ifname = default_route_ifname();
    vp_pci_addr expect;
    vp_device *d;

    (void)state;
    if (!ifname || !pci_above_netdev(ifname, &expect))
        skip(); /* no default route, or not through a PCI NIC (container, veth) */
    print_message("    default route via %s on %s\n", ifname, addr_str(&expect));
    d = vp_host_find_netdev(h, ifname);
    assert_non_null(d);
    assert_string_equal(d->addr_str, addr_str(&expect));
    assert_true(vp_strv_contains(d->netdevs, ifname));
    assert_int_equal(d->class_code >> 16, 0x02); /* a network controller */
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_gpu_guest),
    cmocka_unit_test(test_virtio_guest),
    cmocka_unit_test(test_sriov_host),
    cmocka_unit_test(test_pcilib_h100),
    cmocka_unit_test(test_edge_cases),
    cmocka_unit_test(test_facts_and_regions),
    cmocka_unit_test(test_libpci_error_contained),
    cmocka_unit_test(test_missing_root),
    cmocka_unit_test(test_scale),
    cmocka_unit_test(test_real_sys),
    cmocka_unit_test(test_real_sys_default_route),
};

int
main(void)
{
    return cmocka_run_group_tests(tests, NULL, NULL);
}
