/* Unit tests for src/source/hostfacts.c: a snapshot of a real VM, hand-made server roots, this
 * machine's own / (read-only), bad input, escaping links, scale. */
#include "vp_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "model/host.h"
#include "source/source.h"
#include "util/fs.h"
#include "util/str.h"

#define FIXTURE(name) VP_TEST_FIXTURES "/hostfacts/" name

static vp_host *
load(const char *root)
{
    vp_host *h = vp_host_new();
    vp_error err = {0};

    if (vp_source_host_facts_load(h, root, &err) < 0)
        fail_msg("%s: %s", root, err.msg);
    for (size_t i = 0; i < h->n_problems; i++)
        print_message("    problem: %s: %s\n", h->problems[i].what, h->problems[i].why);
    return h;
}

static const vp_netif *
netif(const vp_host *h, const char *name)
{
    for (size_t i = 0; i < h->facts.n_netifs; i++)
        if (strcmp(h->facts.netifs[i].name, name) == 0)
            return &h->facts.netifs[i];
    fail_msg("interface %s: not in the facts", name);
    return NULL;
}

static bool
has_netif(const vp_host *h, const char *name)
{
    for (size_t i = 0; i < h->facts.n_netifs; i++)
        if (strcmp(h->facts.netifs[i].name, name) == 0)
            return true;
    return false;
}

/* V joined with spaces equals EXPECT ("" for an empty or NULL vector). */
static void
assert_strv(char *const *v, const char *expect)
{
    vp_autofree char *got = vp_strv_join(v, " ", "");

    assert_string_equal(got, expect);
    if (!expect[0])
        assert_null(v); /* empty is NULL, never an empty vector */
}

static void
assert_netif(const vp_host *h, const char *name, const char *master, bool default_route,
             const char *routes, const char *addresses)
{
    const vp_netif *n = netif(h, name);

    print_message("    checking %s\n", name);
    if (master)
        assert_string_equal(n->master, master);
    else
        assert_null(n->master);
    assert_int_equal(n->default_route, default_route);
    assert_strv(n->routes, routes);
    assert_strv(n->addresses, addresses);
}

static void
assert_netif_names(const vp_host *h, const char *expect)
{
    char **names = NULL;

    for (size_t i = 0; i < h->facts.n_netifs; i++)
        vp_strv_push(&names, h->facts.netifs[i].name);
    assert_strv(names, expect);
    vp_strv_free(names);
}

typedef struct {
    const char *mountpoint, *source;
    unsigned major, minor;
    const char *device; /* NULL: no PCI function found */
} expect_mount;

static void
assert_mounts(const vp_host *h, const expect_mount *e, size_t n)
{
    char buf[VP_PCI_ADDR_STRLEN];

    assert_int_equal(h->facts.n_mounts, n);
    for (size_t i = 0; i < n; i++) {
        const vp_mount *m = &h->facts.mounts[i];

        print_message("    checking mount %s on %s\n", e[i].mountpoint, e[i].source);
        assert_string_equal(m->mountpoint, e[i].mountpoint);
        assert_string_equal(m->source, e[i].source);
        assert_int_equal(m->major, e[i].major);
        assert_int_equal(m->minor, e[i].minor);
        assert_int_equal(m->has_device, e[i].device != NULL);
        if (e[i].device)
            assert_string_equal(vp_pci_addr_format(&m->device, buf), e[i].device);
    }
}

static bool
has_problem(const vp_host *h, const char *what, const char *why_part)
{
    for (size_t i = 0; i < h->n_problems; i++)
        if (strcmp(h->problems[i].what, what) == 0 && strstr(h->problems[i].why, why_part))
            return true;
    return false;
}

static void
assert_problem(const vp_host *h, const char *what, const char *why_part)
{
    if (!has_problem(h, what, why_part))
        fail_msg("no problem '%s' with '%s' among %zu", what, why_part, h->n_problems);
}

/* ---- temporary trees ---- */

static char *
tree_new(void)
{
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    char *dir = vp_asprintf("%s/vp_test_hostfacts_XXXXXX", tmp ? tmp : "/tmp");

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

static void
mkdir_parent(const char *path)
{
    vp_autofree char *dir = vp_strdup(path);

    *strrchr(dir, '/') = '\0';
    mkdir_p(dir);
}

static void
put(const char *root, const char *rel, const char *s)
{
    vp_autofree char *path = vp_path_join(root, rel);
    FILE *f;

    mkdir_parent(path);
    f = fopen(path, "wb");
    if (!f)
        fail_msg("open %s: %s", path, strerror(errno));
    assert_int_equal(fwrite(s, 1, strlen(s), f), strlen(s));
    assert_int_equal(fclose(f), 0);
}

static void
put_link(const char *root, const char *rel, const char *target)
{
    vp_autofree char *path = vp_path_join(root, rel);

    mkdir_parent(path);
    if (symlink(target, path) < 0)
        fail_msg("symlink %s: %s", path, strerror(errno));
}

static void
put_dir(const char *root, const char *rel)
{
    vp_autofree char *path = vp_path_join(root, rel);

    mkdir_p(path);
}

/* ---- the snapshot of a real VM (snapshot.py) ---- */

static void
test_vm_snapshot(void **state)
{
    vp_autoptr(vp_host) h = load(FIXTURE("vm"));
    static const expect_mount mounts[] = {
        {"/", "/dev/vda", 254, 0, "0000:00:02.0"},
    };
    vp_autofree char *blk_device = NULL;
    vp_autofree char *net_device = NULL;
    const vp_host_facts *f = &h->facts;

    (void)state;
    assert_true(f->read);
    assert_non_null(f->cmdline);
    assert_true(vp_startswith(f->cmdline, "mitigations=auto,no_guest_host,no_guest_guest "));
    assert_non_null(strstr(f->cmdline, " console=ttyS0 quiet "));
    assert_null(f->iommu_units);
    /* PCI-MSIX-0000:00:01.0 and IO-APIC chips, none with IR-: a guest without remapping. */
    assert_int_equal(f->irq_remapping, 0);
    assert_false(f->vfio_loaded);
    assert_false(f->vfio_pci_loaded);
    assert_false(f->vfio_pci_builtin);
    assert_false(f->vfio_type1_loaded);
    assert_false(f->dev_vfio);
    assert_false(f->unsafe_interrupts);

    assert_netif_names(h, "eth0 ifb0 ifb1 lo");
    /* Default routes: IPv4 via 192.0.2.1 (010200C0), IPv6 via fd00::1, both on eth0. The IPv6
     * "lo" null entry (flags 00200200, reject) must not make lo a default-route carrier. */
    assert_netif(h, "eth0", NULL, true, "192.0.2.0/24 fd00::/64",
                 "fd00::2/64 fe80::fc:ff:fe00:1/64");
    assert_netif(h, "lo", NULL, false, "", "::1/128");
    assert_netif(h, "ifb0", NULL, false, "", "");
    assert_netif(h, "ifb1", NULL, false, "", "");

    /* / is ext4 on /dev/vda (254:0), below the virtio-blk function 0000:00:02.0 (1af4:1042);
     * eth0 is below 0000:00:03.0 (1af4:1041). proc, sysfs, tmpfs, cgroup... are major 0. */
    assert_mounts(h, mounts, VP_ARRAY_SIZE(mounts));
    assert_int_equal(
        vp_read_line(FIXTURE("vm/sys/devices/pci0000:00/0000:00:02.0/device"), &blk_device), 0);
    assert_string_equal(blk_device, "0x1042");
    assert_int_equal(
        vp_read_line(FIXTURE("vm/sys/devices/pci0000:00/0000:00:03.0/device"), &net_device), 0);
    assert_string_equal(net_device, "0x1041");
    assert_int_equal(h->n_problems, 0);
}

/* ---- hand-made servers (make_servers.py) ---- */

static void
test_server(void **state)
{
    vp_autoptr(vp_host) h = load(FIXTURE("server"));
    static const expect_mount mounts[] = {
        {"/", "/dev/nvme0n1p2", 259, 2, "0000:3d:00.0"},
        {"/boot/efi", "/dev/nvme0n1p1", 259, 1, "0000:3d:00.0"},
        /* md0 (RAID1): nvme2n1 through nvme-subsys2's controller nvme2, then nvme3n1. */
        {"/var/lib/libvirt/images", "/dev/md0", 9, 0, "0000:5e:00.0"},
        {"/var/lib/libvirt/images", "/dev/md0", 9, 0, "0000:5f:00.0"},
        /* btrfs shows an anonymous 0:45; its source names the partition. */
        {"/home", "/dev/nvme0n1p4", 259, 4, "0000:3d:00.0"},
        {"/mnt/backup disk", "/dev/sdb1", 8, 17, "0000:00:14.0"},
        {"/snap/core20/2105", "/dev/loop0", 7, 0, NULL},
        {"[swap]", "/dev/nvme0n1p3", 259, 3, "0000:3d:00.0"},
        /* A swap file sits on the filesystem holding it: / on nvme0n1p2. */
        {"[swap]", "/swap file", 259, 2, "0000:3d:00.0"},
    };
    const vp_host_facts *f = &h->facts;

    (void)state;
    assert_true(f->read);
    assert_non_null(strstr(f->cmdline, " intel_iommu=on iommu=pt "));
    assert_strv(f->iommu_units, "dmar0 dmar1");
    assert_int_equal(f->irq_remapping, 1);
    assert_true(f->vfio_loaded);
    assert_true(f->vfio_pci_loaded);
    assert_false(f->vfio_pci_builtin);
    assert_true(f->vfio_type1_loaded);
    assert_true(f->dev_vfio);
    assert_false(f->unsafe_interrupts);

    /* bonding_masters is a file of /sys/class/net, "*" a reject route: no interfaces. */
    assert_netif_names(h, "bond0 br0 eno1 eno2 ens1f0 ens1f1 lo virbr0 vnet0");
    assert_netif(h, "br0", NULL, true, "10.0.0.0/24 2001:db8:1::/64",
                 "2001:db8:1::10/64 fe80::b8a5:c1ff:fe2e:4a10/64");
    assert_netif(h, "eno1", "br0", false, "", "");
    assert_netif(h, "bond0", NULL, false, "10.20.0.0/16", "fe80::b8a5:c1ff:fe2e:4a11/64");
    assert_netif(h, "eno2", "bond0", false, "", "");
    assert_netif(h, "ens1f0", "bond0", false, "", "");
    assert_netif(h, "ens1f1", NULL, false, "", "");
    assert_netif(h, "virbr0", NULL, false, "192.168.122.0/24", "");
    assert_netif(h, "vnet0", "virbr0", false, "", "");
    assert_netif(h, "lo", NULL, false, "", "::1/128");

    assert_mounts(h, mounts, VP_ARRAY_SIZE(mounts));
    assert_int_equal(h->n_problems, 0);
}

static void
test_server_amd(void **state)
{
    vp_autoptr(vp_host) h = load(FIXTURE("server-amd"));
    static const expect_mount mounts[] = {
        {"/", "/dev/mapper/vg0-root", 253, 0, "0000:02:00.0"},
        {"/boot", "/dev/nvme1n1p2", 259, 3, "0000:02:00.0"},
        /* One linear volume over two NVMe drives: one record per PCI function. */
        {"/data", "/dev/mapper/vg1-data", 253, 1, "0000:01:00.0"},
        {"/data", "/dev/mapper/vg1-data", 253, 1, "0000:02:00.0"},
        /* btrfs (anonymous 0:52) on a dm device known only by its dm/name. */
        {"/srv", "/dev/mapper/luks-srv", 253, 3, "0000:01:00.0"},
        {"[swap]", "/dev/dm-2", 253, 2, "0000:02:00.0"},
    };
    const vp_host_facts *f = &h->facts;

    (void)state;
    assert_non_null(strstr(f->cmdline, " pcie_acs_override=downstream,multifunction "));
    assert_non_null(strstr(f->cmdline, " amd_iommu=on iommu=pt "));
    assert_strv(f->iommu_units, "ivhd0");
    assert_int_equal(f->irq_remapping, 0);
    /* Built in: /sys/module/NAME without initstate. */
    assert_true(f->vfio_loaded);
    assert_true(f->vfio_pci_loaded);
    assert_true(f->vfio_pci_builtin);
    assert_true(f->vfio_type1_loaded);
    assert_true(f->dev_vfio);
    assert_true(f->unsafe_interrupts);

    assert_netif_names(h, "enp5s0 enp6s0 lo");
    assert_netif(h, "enp5s0", NULL, true, "192.168.1.0/24", "");
    /* An IPv6 default route alone makes its interface a default-route carrier. */
    assert_netif(h, "enp6s0", NULL, true, "2001:db8:2::/64", "2001:db8:2::20/64");
    assert_netif(h, "lo", NULL, false, "", "::1/128");

    assert_mounts(h, mounts, VP_ARRAY_SIZE(mounts));
    assert_int_equal(h->n_problems, 0);
}

/* ---- this machine's own /, read-only, against independent reads ---- */

/* The interface of the IPv4 default route in /proc/net/route, read here without vpass. */
static char *
default_route_ifname(void)
{
    FILE *f = fopen("/proc/net/route", "r");
    char line[512], ifname[64];
    unsigned dest, gw, flags, mask;
    char *found = NULL;

    if (!f)
        return NULL;
    while (!found && fgets(line, sizeof(line), f))
        if (sscanf(line, "%63s %x %x %x %*d %*u %*d %x", ifname, &dest, &gw, &flags, &mask) == 5 &&
            dest == 0 && mask == 0 && !(flags & 0x0200) && strcmp(ifname, "*") != 0)
            found = vp_strdup(ifname);
    fclose(f);
    return found;
}

/* What /proc/interrupts says about remapping, read here: 1, 0 or -1. */
static int
interrupts_remapping(void)
{
    FILE *f = fopen("/proc/interrupts", "r");
    char line[4096];
    bool ir = false, plain = false;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        char *save = NULL;

        for (char *t = strtok_r(line, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
            ir |= strncmp(t, "IR-", 3) == 0;
            plain |= strcmp(t, "IO-APIC") == 0 || strncmp(t, "PCI-MSI", 7) == 0;
        }
    }
    fclose(f);
    return ir ? 1 : plain ? 0 : -1;
}

static int
netmask_bits(const struct sockaddr *sa)
{
    const uint8_t *b;
    size_t n;
    int bits = 0;

    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET) {
        b = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        n = 4;
    } else {
        b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        n = 16;
    }
    for (size_t i = 0; i < n; i++)
        bits += __builtin_popcount(b[i]);
    return bits;
}

/* The addresses of IFNAME by getifaddrs(3), "addr/plen", sorted and unique. */
static char **
getifaddrs_of(const char *ifname)
{
    struct ifaddrs *ifa = NULL;
    char **out = NULL;
    size_t n, w = 0;

    assert_int_equal(getifaddrs(&ifa), 0);
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        char text[INET6_ADDRSTRLEN];
        const void *bin;

        if (!i->ifa_addr || strcmp(i->ifa_name, ifname) != 0)
            continue;
        if (i->ifa_addr->sa_family == AF_INET)
            bin = &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
        else if (i->ifa_addr->sa_family == AF_INET6)
            bin = &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr;
        else
            continue;
        assert_non_null(inet_ntop(i->ifa_addr->sa_family, bin, text, sizeof(text)));
        vp_strv_push_take(&out, vp_asprintf("%s/%d", text, netmask_bits(i->ifa_netmask)));
    }
    freeifaddrs(ifa);
    vp_strv_sort(out);
    n = vp_strv_len(out);
    for (size_t r = 0; r < n; r++) {
        if (w > 0 && strcmp(out[w - 1], out[r]) == 0)
            free(out[r]);
        else
            out[w++] = out[r];
    }
    if (out)
        out[w] = NULL;
    return out;
}

/* The PCI function in the canonical sysfs path of the block device holding "/", found here
 * by a plain walk (no stacked devices): false when there is none. */
static bool
root_fs_pci(char ret[VP_PCI_ADDR_STRLEN], unsigned *ret_major, unsigned *ret_minor)
{
    struct stat st;
    char link[64];
    vp_autofree char *real = NULL;
    char *save = NULL;
    bool found = false;

    if (stat("/", &st) < 0)
        return false;
    *ret_major = major(st.st_dev);
    *ret_minor = minor(st.st_dev);
    snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", *ret_major, *ret_minor);
    real = realpath(link, NULL);
    if (!real)
        return false;
    for (char *c = strtok_r(real, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        vp_pci_addr a;

        if (strlen(c) == 12 && c[4] == ':' && c[7] == ':' && c[10] == '.' &&
            vp_pci_addr_parse(c, &a, NULL) == 0) {
            vp_pci_addr_format(&a, ret);
            found = true;
        }
    }
    return found;
}

static void
test_real_root(void **state)
{
    vp_autoptr(vp_host) h = load("/");
    vp_autofree char *cmdline = NULL;
    vp_autofree char *ifname = default_route_ifname();
    char expect_dev[VP_PCI_ADDR_STRLEN], buf[VP_PCI_ADDR_STRLEN];
    unsigned maj, min;
    const vp_mount *root_mount = NULL;
    const vp_host_facts *f = &h->facts;
    struct stat st;

    (void)state;
    assert_true(f->read);
    assert_int_equal(h->n_problems, 0);
    assert_int_equal(vp_read_line("/proc/cmdline", &cmdline), 0);
    assert_string_equal(f->cmdline, cmdline);
    assert_int_equal(f->vfio_loaded, stat("/sys/module/vfio", &st) == 0);
    assert_int_equal(f->vfio_pci_loaded || f->vfio_pci_builtin,
                     stat("/sys/module/vfio_pci", &st) == 0 || f->vfio_pci_builtin);
    assert_int_equal(f->dev_vfio, stat("/dev/vfio/vfio", &st) == 0);
    {
        int expect = interrupts_remapping();

        print_message("    /proc/interrupts says remapping %d\n", expect);
        if (expect >= 0)
            assert_int_equal(f->irq_remapping, expect);
        else
            assert_true(f->irq_remapping <= 0); /* ecap may still prove it off */
    }

    /* Every /sys/class/net entry that is a directory is an interface of the facts. */
    {
        vp_autostrv char **names = NULL;

        assert_int_equal(vp_list_dir("/sys/class/net", &names), 0);
        for (size_t i = 0; names && names[i]; i++) {
            vp_autofree char *p = vp_asprintf("/sys/class/net/%s", names[i]);

            if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
                assert_true(has_netif(h, names[i]));
        }
    }

    /* The default route's interface, and its addresses through netlink = getifaddrs. */
    if (ifname) {
        const vp_netif *n = netif(h, ifname);
        char **expect = getifaddrs_of(ifname);
        vp_autofree char *want = vp_strv_join(expect, " ", "");

        print_message("    default route via %s: %s\n", ifname, want);
        assert_true(n->default_route);
        assert_non_null(n->addresses);
        assert_strv(n->addresses, want);
        /* At least one IPv4 address: what only netlink (not /proc) can give. */
        {
            bool v4 = false;

            for (char **a = n->addresses; *a; a++)
                v4 |= strchr(*a, ':') == NULL;
            assert_true(v4);
        }
        vp_strv_free(expect);
    } else {
        print_message("    no IPv4 default route on this machine\n");
    }

    /* The mount of "/" and the PCI function under it. */
    for (size_t i = 0; i < f->n_mounts; i++)
        if (strcmp(f->mounts[i].mountpoint, "/") == 0)
            root_mount = &f->mounts[i];
    if (!root_fs_pci(expect_dev, &maj, &min)) {
        print_message("    / is not on a PCI block device here (overlay, container?): skipped\n");
        skip();
    }
    print_message("    / on %u:%u below %s\n", maj, min, expect_dev);
    assert_non_null(root_mount);
    assert_int_equal(root_mount->major, maj);
    assert_int_equal(root_mount->minor, min);
    assert_true(root_mount->has_device);
    assert_string_equal(vp_pci_addr_format(&root_mount->device, buf), expect_dev);
}

/* ---- missing, malformed, escaping ---- */

static void
test_missing(void **state)
{
    char *root = tree_new();
    vp_autoptr(vp_host) h = load(root);
    vp_autoptr(vp_host) h2 = vp_host_new();
    vp_error err = {0};

    (void)state;
    /* Nothing there: every fact unknown or empty, and no problem. */
    assert_true(h->facts.read);
    assert_null(h->facts.cmdline);
    assert_null(h->facts.iommu_units);
    assert_int_equal(h->facts.irq_remapping, -1);
    assert_false(h->facts.vfio_loaded || h->facts.vfio_pci_loaded || h->facts.vfio_type1_loaded ||
                 h->facts.vfio_pci_builtin || h->facts.dev_vfio || h->facts.unsafe_interrupts);
    assert_int_equal(h->facts.n_netifs, 0);
    assert_null(h->facts.netifs);
    assert_int_equal(h->facts.n_mounts, 0);
    assert_int_equal(h->n_problems, 0);

    /* An empty /proc/net/route (a kernel with no IPv4 table yet prints not even the header):
     * no routes, and no problem. */
    {
        vp_autoptr(vp_host) h3 = vp_host_new();

        put(root, "proc/net/route", "");
        assert_int_equal(vp_source_host_facts_load(h3, root, &err), 0);
        assert_int_equal(h3->n_problems, 0);
        assert_int_equal(h3->facts.n_netifs, 0);
    }

    /* Reloading replaces the facts (no duplicates, nothing leaked). */
    put(root, "proc/cmdline", "quiet\n");
    put(root, "proc/net/route",
        "Iface\tDestination\tGateway \tFlags\n"
        "eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
    assert_int_equal(vp_source_host_facts_load(h, root, &err), 0);
    assert_int_equal(vp_source_host_facts_load(h, root, &err), 0);
    assert_string_equal(h->facts.cmdline, "quiet");
    assert_int_equal(h->facts.n_netifs, 1);
    assert_true(h->facts.netifs[0].default_route);

    /* A root that does not exist is the one error. */
    assert_int_equal(vp_source_host_facts_load(h2, "/nonexistent/vpass-root", &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/vpass-root"));
    assert_false(h2->facts.read);
    tree_free(root);
}

static void
test_malformed(void **state)
{
    char *root = tree_new();
    vp_autoptr(vp_host) h = NULL;

    (void)state;
    put(root, "proc/net/route",
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        "eth0\tZZ000000\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"   /* 2: bad hex */
        "eth0\t000200C0\n"                                               /* 3: short */
        "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FF00FF\t0\t0\t0\n"   /* 4: holes in mask */
        "eth1\t0000A8C0\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"); /* 5: good */
    put(root, "proc/net/ipv6_route",
        "2001db8 40 00000000000000000000000000000000 00 00000000000000000000000000000000 "
        "00000100 00000001 00000000 00000001     eth1\n"
        "20010db8000000000000000000000000 40 00000000000000000000000000000000 00 "
        "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth1\n");
    put(root, "proc/net/if_inet6",
        "fe80 02 40 20 80 eth1\n"
        "20010db8000000000000000000000001 02 90 00 80     eth1\n" /* prefix 0x90 > 128 */
        "20010db8000000000000000000000001 02 40 00 80     eth1\n");
    put(root, "proc/interrupts",
        "           CPU0       CPU1       \n"
        "  0:         35          x  IO-APIC   2-edge      timer\n" /* 2: count not a number */
        "  1          35          0  IO-APIC   1-edge      i8042\n" /* 3: no colon */
        "  4:         35\n"                                         /* 4: missing count, chip */
        " 26:          0        212 IR-PCI-MSI-0000:00:17.0   0-edge      ahci\n"
        "NMI:          0          0   Non-maskable interrupts\n");
    put(root, "proc/self/mountinfo",
        "28 1 259:2 / / rw,relatime shared:1 ext4 /dev/nvme0n1p2 rw\n" /* 1: no separator */
        "29 1 259:x / /boot rw,relatime - ext4 /dev/nvme0n1p1 rw\n"    /* 2: bad devnum */
        "30 1 8:1 / /srv rw,relatime - ext4 /dev/sda1 rw\n");          /* 3: good */
    put(root, "proc/swaps",
        "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
        "/dev/sdz9 partition\n" /* 2: short */
        "/dev/sdz9                               partition\t1\t\t0\t\t-2\n"
        "/dev/sda1                               partition\t1\t\t0\t\t-3\n");
    put(root, "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "maybe\n");
    put(root, "sys/class/block/sda1/dev", "8:one\n");

    h = load(root);
    assert_problem(h, "/proc/net/route", "line 2: malformed route");
    assert_problem(h, "/proc/net/route", "line 3: malformed route");
    assert_problem(h, "/proc/net/route", "line 4: non-contiguous netmask 00FF00FF");
    assert_netif(h, "eth1", NULL, false, "192.168.0.0/16 2001:db8::/64", "2001:db8::1/64");
    assert_false(has_netif(h, "eth0")); /* every eth0 line was malformed */
    assert_problem(h, "/proc/net/ipv6_route", "line 1: malformed route");
    assert_problem(h, "/proc/net/if_inet6", "line 1: malformed address");
    assert_problem(h, "/proc/net/if_inet6", "line 2: malformed address");
    assert_problem(h, "/proc/interrupts", "line 2: IRQ 0: expected 2 counts and a chip name");
    assert_problem(h, "/proc/interrupts", "line 3: malformed label '1'");
    assert_problem(h, "/proc/interrupts", "line 4: IRQ 4: expected 2 counts and a chip name");
    assert_int_equal(h->facts.irq_remapping, 1); /* the good line still counts */
    assert_problem(h, "/proc/self/mountinfo", "line 1: malformed mount");
    assert_problem(h, "/proc/self/mountinfo", "line 2: malformed mount");
    assert_int_equal(h->facts.n_mounts, 1);
    assert_string_equal(h->facts.mounts[0].mountpoint, "/srv");
    assert_false(h->facts.mounts[0].has_device); /* no sys/dev/block/8:1: unknown */
    assert_problem(h, "/proc/swaps", "line 2: malformed swap");
    assert_problem(h, "/proc/swaps", "line 3: /dev/sdz9: cannot find its block device");
    assert_problem(h, "/sys/class/block/sda1/dev", "malformed value '8:one'");
    assert_problem(h, "/proc/swaps", "line 4: /dev/sda1: cannot find its block device");
    assert_false(h->facts.unsafe_interrupts);
    assert_problem(h, "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
                   "malformed value 'maybe'");
    assert_int_equal(h->n_problems, 16);
    tree_free(root);
}

/* Interrupts that say nothing (an arm64 GIC) leave the VT-d ecap to decide: all units without
 * IR means off; one with IR means "can", not "does". Headers that are not headers. */
static void
test_irq_inconclusive(void **state)
{
    char *root = tree_new();
    vp_autoptr(vp_host) h = NULL;
    vp_autoptr(vp_host) h2 = NULL;
    vp_autoptr(vp_host) h3 = NULL;

    (void)state;
    put(root, "proc/interrupts",
        "           CPU0       CPU1       \n"
        " 11:      21385      20471     GICv3  27 Level     arch_timer\n"
        " 13:          0          0     GICv3  33 Level     uart-pl011\n");
    put_link(root, "sys/class/iommu/dmar0", "../../devices/virtual/iommu/dmar0");
    put_link(root, "sys/class/iommu/dmar1", "../../devices/virtual/iommu/dmar1");
    put(root, "sys/devices/virtual/iommu/dmar0/intel-iommu/ecap", "f050d2\n"); /* bit 3 clear */
    put(root, "sys/devices/virtual/iommu/dmar1/intel-iommu/ecap", "16\n");     /* clear */
    h = load(root);
    assert_int_equal(h->facts.irq_remapping, 0);
    assert_int_equal(h->n_problems, 0);

    put(root, "sys/devices/virtual/iommu/dmar1/intel-iommu/ecap", "f050da\n"); /* bit 3 set */
    h2 = load(root);
    assert_int_equal(h2->facts.irq_remapping, -1);

    put(root, "sys/devices/virtual/iommu/dmar1/intel-iommu/ecap", "zz\n");
    put(root, "proc/interrupts", "garbage\n 0: 1 IO-APIC 2-edge timer\n");
    h3 = load(root);
    assert_int_equal(h3->facts.irq_remapping, -1);
    assert_problem(h3, "/proc/interrupts", "line 1: not a header of CPU columns");
    assert_problem(h3, "/sys/class/iommu/dmar1/intel-iommu/ecap", "malformed value 'zz'");
    tree_free(root);
}

/* Built-in modules without parameters have no /sys/module entry: modules.builtin names them. */
static void
test_modules_builtin(void **state)
{
    char *root = tree_new();
    vp_autoptr(vp_host) h = NULL;

    (void)state;
    put(root, "proc/sys/kernel/osrelease", "6.1.0-test\n");
    put(root, "lib/modules/6.1.0-test/modules.builtin",
        "kernel/drivers/vfio/vfio.ko\n"
        "kernel/drivers/vfio/pci/vfio-pci-core.ko\n"
        "kernel/drivers/vfio/pci/vfio-pci.ko\n");
    h = load(root);
    assert_true(h->facts.vfio_loaded);
    assert_true(h->facts.vfio_pci_loaded);
    assert_true(h->facts.vfio_pci_builtin);
    assert_false(h->facts.vfio_type1_loaded); /* vfio-pci-core is not vfio_iommu_type1 */
    assert_int_equal(h->n_problems, 0);
    tree_free(root);
}

/* Links leading out of the root are refused: a fixture must never read the real machine. */
static void
test_escape(void **state)
{
    char *outside = tree_new();
    char *root = tree_new();
    vp_autoptr(vp_host) h = NULL;
    vp_autofree char *up = NULL;
    vp_autofree char *rel_out = NULL;
    vp_autofree char *abs_out = NULL;

    (void)state;
    /* Outside the root, a disk below a PCI function and an interface with a master. */
    put(outside, "sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/dev",
        "8:0\n");
    put_dir(outside, "sys/devices/pci0000:00/0000:00:19.0/net/evil");
    put_link(outside, "sys/devices/pci0000:00/0000:00:19.0/net/evil/master",
             "../../../../virtual/net/br0");
    put_dir(outside, "sys/devices/virtual/net/br0");

    /* From ROOT/sys/dev/block (3 levels) up to the parent of both temporary directories. */
    up = vp_asprintf("../../../../%s", vp_basename(outside));
    rel_out = vp_asprintf("%s/sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/"
                          "0:0:0:0/block/sda",
                          up);
    abs_out = vp_asprintf("%s/sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/"
                          "0:0:0:0/block/sda",
                          outside);
    put_link(root, "sys/dev/block/8:0", rel_out);
    put_link(root, "sys/dev/block/8:16", abs_out);
    /* dm-0 inside the root, its slave through class/block leading out. */
    put(root, "sys/devices/virtual/block/dm-0/dev", "253:0\n");
    put_link(root, "sys/dev/block/253:0", "../../devices/virtual/block/dm-0");
    put_link(root, "sys/devices/virtual/block/dm-0/slaves/sda",
             "../../../../../sys/class/block/sda");
    put_link(root, "sys/class/block/sda", rel_out);
    {
        vp_autofree char *net = vp_asprintf("%s/sys/devices/pci0000:00/0000:00:19.0/net/evil", up);

        put_link(root, "sys/class/net/evil", net);
    }
    put(root, "proc/self/mountinfo",
        "28 1 8:0 / / rw - ext4 /dev/sda rw\n"
        "29 28 8:16 / /abs rw - ext4 /dev/sdb rw\n"
        "30 28 253:0 / /dm rw - ext4 /dev/dm-0 rw\n");
    h = load(root);
    assert_int_equal(h->facts.n_mounts, 3);
    for (size_t i = 0; i < 3; i++)
        assert_false(h->facts.mounts[i].has_device);
    assert_problem(h, "/ (/dev/sda)", "/sys/dev/block/8:0 leads to ");
    assert_problem(h, "/ (/dev/sda)", ", outside the root ");
    assert_problem(h, "/abs (/dev/sdb)", "/sys/dev/block/8:16 leads to ");
    assert_problem(h, "/dm (/dev/dm-0)", "/sys/class/block/sda leads to ");
    assert_false(has_netif(h, "evil"));
    assert_problem(h, "/sys/class/net/evil", "/sys/class/net/evil leads to ");
    assert_int_equal(h->n_problems, 4);
    tree_free(root);
    tree_free(outside);
}

/* Large inputs stay linear: 4,000 interfaces, 200,000 routes, 3,000 mounts. */
static void
test_scale(void **state)
{
    enum { NIFS = 4000, ROUTES = 200000, MOUNTS = 3000 };
    char *root = tree_new();
    vp_autoptr(vp_host) h = NULL;
    FILE *f;
    vp_autofree char *path = NULL;
    struct timespec t0, t1;
    double secs;

    (void)state;
    for (unsigned i = 0; i < NIFS; i++) {
        vp_autofree char *l = vp_asprintf("sys/class/net/veth%u", i);
        vp_autofree char *t = vp_asprintf("../../devices/virtual/net/veth%u", i);
        vp_autofree char *d = vp_asprintf("sys/devices/virtual/net/veth%u", i);

        put_dir(root, d);
        put_link(root, l, t);
    }
    path = vp_path_join(root, "proc/net/route");
    mkdir_parent(path);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(
        f, "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n");
    for (unsigned i = 0; i < ROUTES; i++)
        fprintf(f, "veth%u\t%08X\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0\n", i % 7,
                i << 8 | 10u);
    assert_int_equal(fclose(f), 0);
    free(path);
    path = vp_path_join(root, "proc/self/mountinfo");
    mkdir_parent(path);
    f = fopen(path, "w");
    assert_non_null(f);
    put(root, "sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda/dev", "254:0\n");
    put_link(root, "sys/dev/block/254:0",
             "../../devices/pci0000:00/0000:00:02.0/virtio1/block/vda");
    for (unsigned i = 0; i < MOUNTS; i++)
        fprintf(f, "%u 1 254:0 /d%u /m%u rw - ext4 /dev/vda rw\n", 100 + i, i, i);
    assert_int_equal(fclose(f), 0);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    h = load(root);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("    loaded in %.2f s\n", secs);
    assert_int_equal(h->facts.n_netifs, NIFS);
    assert_int_equal(h->facts.n_mounts, MOUNTS);
    assert_true(h->facts.mounts[MOUNTS - 1].has_device);
    /* 200,000 host routes (10.x.y.z/32) over 7 interfaces: veth0 has every seventh. */
    assert_int_equal(vp_strv_len(netif(h, "veth0")->routes), (ROUTES + 6) / 7);
    assert_int_equal(h->n_problems, 0);
    assert_true(secs < 20.0);
    tree_free(root);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_vm_snapshot),      cmocka_unit_test(test_server),
    cmocka_unit_test(test_server_amd),       cmocka_unit_test(test_real_root),
    cmocka_unit_test(test_missing),          cmocka_unit_test(test_malformed),
    cmocka_unit_test(test_irq_inconclusive), cmocka_unit_test(test_modules_builtin),
    cmocka_unit_test(test_escape),           cmocka_unit_test(test_scale),
};

int
main(void)
{
    return cmocka_run_group_tests(tests, NULL, NULL);
}
