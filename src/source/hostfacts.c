/* Host-wide facts for the checks, read-only under a root: kernel command line, IOMMU units,
 * interrupt remapping, VFIO modules, network interfaces (ports, routes, addresses) and the PCI
 * functions under every mounted filesystem and active swap. */
#include "source.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>

#include "../util/fs.h"
#include "../util/str.h"

/* procfs files are read whole; a routing table larger than this is cut (and said so). */
#define READ_MAX (64u << 20)

/* Nesting of stacked block devices (dm on md on partitions...) followed at most. */
#define BLOCK_DEPTH_MAX 8

/* Route flags (include/uapi/linux/route.h, include/uapi/linux/ipv6_route.h). */
#define RTF_REJECT_ 0x0200u
#define RTF_CACHE_ 0x01000000u
#define RTF_LOCAL_ 0x80000000u

/* Intel VT-d Extended Capability register, bit 3: Interrupt Remapping support (VT-d spec
 * 11.4.3; the kernel's ecap_ir_support() in drivers/iommu/intel/iommu.h). */
#define VTD_ECAP_IR (1ull << 3)

/* An interface being gathered; moved into a vp_netif at the end. */
typedef struct {
    char *name;
    char *master;
    bool default_route;
    char **routes;
    size_t n_routes, alloc_routes;
    char **addrs;
    size_t n_addrs, alloc_addrs;
} nif;

/* A mounted filesystem on a block device, to place swap files. */
typedef struct {
    char *mountpoint;
    unsigned major, minor;
} fs_entry;

typedef struct {
    char *name; /* dm/name */
    char *dev;  /* dm-N */
} dm_entry;

typedef struct {
    vp_pci_addr *a;
    size_t n, alloc;
} addr_set;

typedef struct {
    vp_host *h;
    const char *root;
    char *root_real;
    bool live; /* ROOT is "/": this very machine, so netlink and stat(2) may be asked too */
    char *const *only_netdevs; /* NULL: every interface in /sys/class/net */
    nif *nifs;                 /* sorted by name */
    size_t n_nifs, alloc_nifs;
    size_t alloc_mounts;
    fs_entry *fs;
    size_t n_fs, alloc_fs;
    bool dm_listed;
    dm_entry *dm;
    size_t n_dm, alloc_dm;
} ctx;

static void problem(ctx *c, const char *what, const char *fmt, ...) VP_PRINTF(3, 4);

static void
problem(ctx *c, const char *what, const char *fmt, ...)
{
    vp_autofree char *why = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&why, fmt, ap) < 0)
        why = NULL;
    va_end(ap);
    vp_host_add_problem(c->h, what, "%s", why ? why : "unreadable");
}

/* ---- reading ---- */

/* The text of REL under the root: 1 read, 0 absent, -1 after recording a problem. A file
 * larger than READ_MAX is cut after its last whole line, and that is recorded too. */
static int
read_text(ctx *c, const char *rel, char **ret)
{
    char *buf = NULL;
    size_t len = 0;
    int r;

    r = vp_root_read_file(c->root, rel, READ_MAX, &buf, &len);
    if (r == -ENOENT || r == -ENOTDIR)
        return 0;
    if (r < 0) {
        problem(c, rel, "cannot read: %s", strerror(-r));
        return -1;
    }
    if (len >= READ_MAX) {
        char *nl = strrchr(buf, '\n');

        *(nl ? nl + 1 : buf) = '\0';
        problem(c, rel, "larger than %u MiB; the rest was not read", READ_MAX >> 20);
    }
    *ret = buf;
    return 1;
}

/* The first line of REL: 1, 0 when absent, -1 after recording a problem. */
static int
read_line(ctx *c, const char *rel, char **ret)
{
    int r = vp_root_read_line(c->root, rel, ret);

    if (r == -ENOENT || r == -ENOTDIR)
        return 0;
    if (r < 0) {
        problem(c, rel, "cannot read: %s", strerror(-r));
        return -1;
    }
    return 1;
}

static bool
exists(ctx *c, const char *rel)
{
    vp_autofree char *p = vp_path_join(c->root, rel);
    struct stat st;

    return stat(p, &st) == 0;
}

static bool
is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The next line of the buffer at *P (NUL-terminated in place), NULL at the end. */
static char *
next_line(char **p)
{
    char *line = *p;
    char *nl;

    if (!line || !*line)
        return NULL;
    nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = line + strlen(line);
    }
    return line;
}

/* Split S in place on blanks into at most MAX fields; returns how many there were in all. */
static size_t
split(char *s, char **f, size_t max)
{
    char *save = NULL;
    size_t n = 0;

    for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n < max)
            f[n] = t;
        n++;
    }
    return n;
}

static int
hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* S is exactly 1..MAXDIG hex digits (no prefix): its value. */
static bool
parse_hex(const char *s, size_t maxdig, uint64_t *ret)
{
    uint64_t v = 0;
    size_t n = 0;

    for (; s[n]; n++) {
        int d = hex_digit(s[n]);

        if (d < 0 || n >= maxdig)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    if (n == 0)
        return false;
    *ret = v;
    return true;
}

/* S is exactly 2*N hex digits: the N bytes they spell, in order. */
static bool
parse_hex_bytes(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool
all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* Undo the octal escapes (\040 space, \011 tab, \012 newline, \134 backslash) that the kernel's
 * seq_file mangle_path() and seq_escape() put in mountinfo and swaps paths; in place. */
static char *
unescape_octal(char *s)
{
    char *o = s;

    for (const char *p = s; *p;) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return s;
}

/* "MAJ:MIN" */
static bool
parse_devnum(const char *s, unsigned *ret_major, unsigned *ret_minor)
{
    vp_autofree char *copy = vp_strdup(s);
    char *colon = strchr(copy, ':');

    if (!colon)
        return false;
    *colon = '\0';
    return all_digits(copy) && all_digits(colon + 1) && vp_parse_uint(copy, ret_major) == 0 &&
           vp_parse_uint(colon + 1, ret_minor) == 0;
}

/* realpath(ROOT/REL), refused (problem, NULL) when it leads out of the root: a fixture tree
 * must never make vpass read the real machine. NULL without a problem when REL is absent. */
static char *
resolve_inside(ctx *c, const char *rel, const char *what)
{
    vp_autofree char *path = vp_path_join(c->root, rel);
    char *real = realpath(path, NULL);

    if (!real) {
        if (errno != ENOENT && errno != ENOTDIR)
            problem(c, what, "cannot resolve %s: %s", rel, strerror(errno));
        return NULL;
    }
    if (!vp_path_inside(c->root_real, real)) {
        problem(c, what, "%s leads to %s, outside the root %s", rel, real, c->root_real);
        free(real);
        return NULL;
    }
    return real;
}

/* ---- kernel, IOMMU, interrupts, modules ---- */

static void
load_cmdline(ctx *c)
{
    char *line = NULL;

    if (read_line(c, "/proc/cmdline", &line) > 0)
        c->h->facts.cmdline = line;
}

static void
load_iommu_units(ctx *c)
{
    char **units = NULL;
    int r = vp_root_list_dir(c->root, "/sys/class/iommu", &units);

    if (r < 0 && r != -ENOENT && r != -ENOTDIR)
        problem(c, "/sys/class/iommu", "cannot list: %s", strerror(-r));
    if (r == 0)
        c->h->facts.iommu_units = units;
}

/* Interrupt remapping as /proc/interrupts shows it, through the name of each IRQ's chip.
 * With remapping, x86 chips carry an "IR-" prefix: "IR-IO-APIC" (ioapic_ir_chip,
 * arch/x86/kernel/apic/io_apic.c), "IR-PCI-MSI" (pci_msi_ir_controller,
 * arch/x86/kernel/apic/msi.c, before Linux 6.2), and since the per-device MSI domains
 * "IR-PCI-MSI-<bdf>" / "IR-PCI-MSIX-<bdf>": kernel/irq/msi.c msi_create_device_irq_domain()
 * puts the parent's msi_parent_ops prefix first, "IR-" in dmar_msi_parent_ops
 * (drivers/iommu/intel/irq_remapping.c) and amdvi_msi_parent_ops (drivers/iommu/amd/iommu.c).
 * Without remapping the same interrupts show "IO-APIC" and "PCI-MSI...". DMAR-MSI (the IOMMU's
 * own fault interrupt) is never remapped and says nothing. 1 on, 0 off, -1 inconclusive. */
static int
irq_remapping_from_interrupts(ctx *c)
{
    static const char what[] = "/proc/interrupts";
    vp_autofree char *buf = NULL;
    char *p, *line, *save = NULL;
    unsigned no = 1;
    size_t ncpu = 0;
    bool ir = false, plain = false;

    if (read_text(c, what, &buf) <= 0)
        return -1;
    p = buf;
    /* The header names one column per online CPU: "CPU0 CPU1 ...". */
    line = next_line(&p);
    for (char *t = line ? strtok_r(line, " \t", &save) : NULL; t;
         t = strtok_r(NULL, " \t", &save)) {
        if (!vp_startswith(t, "CPU") || !all_digits(t + 3)) {
            ncpu = 0;
            break;
        }
        ncpu++;
    }
    if (ncpu == 0) {
        problem(c, what, "line 1: not a header of CPU columns");
        return -1;
    }
    while ((line = next_line(&p))) {
        char *label, *chip;
        size_t len;
        bool ok = true;

        no++;
        label = strtok_r(line, " \t", &save);
        if (!label)
            continue;
        len = strlen(label);
        if (label[len - 1] != ':') {
            problem(c, what, "line %u: malformed label '%.32s'", no, label);
            continue;
        }
        label[len - 1] = '\0';
        /* Only numbered IRQs have a chip; NMI, LOC, ERR, MIS... are counters. */
        if (!all_digits(label))
            continue;
        for (size_t i = 0; i < ncpu && ok; i++) {
            const char *t = strtok_r(NULL, " \t", &save);

            ok = t && all_digits(t);
        }
        chip = ok ? strtok_r(NULL, " \t", &save) : NULL;
        if (!chip) {
            problem(c, what, "line %u: IRQ %s: expected %zu counts and a chip name", no, label,
                    ncpu);
            continue;
        }
        if (vp_startswith(chip, "IR-"))
            ir = true;
        else if (strcmp(chip, "IO-APIC") == 0 || vp_startswith(chip, "PCI-MSI"))
            plain = true;
    }
    return ir ? 1 : plain ? 0 : -1;
}

/* When /proc/interrupts is inconclusive: if every Intel IOMMU unit says (ecap bit 3) that the
 * hardware cannot remap interrupts, remapping is surely off (0). Hardware that can remap says
 * nothing about whether the kernel does (-1). */
static int
irq_remapping_from_ecap(ctx *c)
{
    size_t dmar = 0, incapable = 0;

    for (char **u = c->h->facts.iommu_units; u && *u; u++) {
        vp_autofree char *rel = NULL;
        vp_autofree char *line = NULL;
        uint64_t ecap;

        if (!vp_startswith(*u, "dmar"))
            continue;
        dmar++;
        rel = vp_asprintf("/sys/class/iommu/%s/intel-iommu/ecap", *u);
        if (read_line(c, rel, &line) <= 0)
            continue;
        if (!parse_hex(line, 16, &ecap)) {
            problem(c, rel, "malformed value '%.32s'", line);
            continue;
        }
        if (!(ecap & VTD_ECAP_IR))
            incapable++;
    }
    return dmar > 0 && incapable == dmar ? 0 : -1;
}

/* Kernel modules: a loaded module, and a built-in one with parameters or a version, has
 * /sys/module/NAME; only a loadable module has an initstate file (kernel/module/sysfs.c),
 * built-in ones are made by kernel/params.c (param_sysfs_builtin, version_sysfs_builtin).
 * A built-in module without either is only in lib/modules/RELEASE/modules.builtin. */
static void
load_modules(ctx *c)
{
    static const char *const names[] = {"vfio", "vfio_pci", "vfio_iommu_type1"};
    vp_host_facts *f = &c->h->facts;
    bool loaded[3] = {false}, builtin[3] = {false};
    vp_autofree char *release = NULL;
    vp_autofree char *line = NULL;

    for (size_t i = 0; i < VP_ARRAY_SIZE(names); i++) {
        vp_autofree char *dir = vp_asprintf("/sys/module/%s", names[i]);
        vp_autofree char *init = vp_asprintf("/sys/module/%s/initstate", names[i]);

        if (exists(c, dir)) {
            loaded[i] = true;
            builtin[i] = !exists(c, init);
        }
    }
    if (read_line(c, "/proc/sys/kernel/osrelease", &release) > 0 && release[0] &&
        !strchr(release, '/') && strcmp(release, "..") != 0) {
        vp_autofree char *rel = vp_asprintf("/lib/modules/%s/modules.builtin", release);
        vp_autofree char *buf = NULL;
        char *p, *l;

        if (read_text(c, rel, &buf) > 0) {
            p = buf;
            while ((l = next_line(&p))) {
                /* "kernel/drivers/vfio/pci/vfio-pci.ko": the module is vfio_pci. */
                vp_autofree char *mod = vp_strdup(vp_basename(vp_strstrip(l)));
                size_t n = strlen(mod);

                if (n > 3 && strcmp(mod + n - 3, ".ko") == 0)
                    mod[n - 3] = '\0';
                for (char *s = mod; *s; s++)
                    if (*s == '-')
                        *s = '_';
                for (size_t i = 0; i < VP_ARRAY_SIZE(names); i++)
                    if (strcmp(mod, names[i]) == 0)
                        loaded[i] = builtin[i] = true;
            }
        }
    }
    f->vfio_loaded = loaded[0];
    f->vfio_pci_loaded = loaded[1];
    f->vfio_pci_builtin = builtin[1];
    f->vfio_type1_loaded = loaded[2];
    f->dev_vfio = exists(c, "/dev/vfio/vfio");

    /* A bool module parameter reads "Y" or "N" (kernel/params.c param_get_bool). */
    if (read_line(c, "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", &line) >
        0) {
        if (strcmp(line, "Y") == 0 || strcmp(line, "1") == 0)
            f->unsafe_interrupts = true;
        else if (strcmp(line, "N") != 0 && strcmp(line, "0") != 0)
            problem(c, "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
                    "malformed value '%.32s'", line);
    }
}

/* ---- network interfaces ---- */

static int
nif_cmp_name(const void *key, const void *elem)
{
    return strcmp(key, ((const nif *)elem)->name);
}

/* The interface NAME, added (in name order) when new. */
static nif *
nif_get(ctx *c, const char *name)
{
    nif *n = c->n_nifs ? bsearch(name, c->nifs, c->n_nifs, sizeof(*c->nifs), nif_cmp_name) : NULL;
    size_t at = c->n_nifs;

    if (n)
        return n;
    /* Interfaces come sorted from the sysfs listing, so this is almost always the end. */
    while (at > 0 && strcmp(c->nifs[at - 1].name, name) > 0)
        at--;
    vp_grow(&c->nifs, &c->alloc_nifs, c->n_nifs + 1, sizeof(*c->nifs));
    memmove(&c->nifs[at + 1], &c->nifs[at], (c->n_nifs - at) * sizeof(*c->nifs));
    c->n_nifs++;
    memset(&c->nifs[at], 0, sizeof(*c->nifs));
    c->nifs[at].name = vp_strdup(name);
    return &c->nifs[at];
}

static void
push_take(char ***v, size_t *n, size_t *alloc, char *s)
{
    vp_grow(v, alloc, *n + 2, sizeof(**v));
    (*v)[(*n)++] = s;
    (*v)[*n] = NULL;
}

static int
strp_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort V and drop repeats; NULL when empty. Returns the vp_strv. */
static char **
sorted_unique(char **v, size_t n)
{
    size_t out = 0;

    if (n == 0) {
        free(v);
        return NULL;
    }
    qsort(v, n, sizeof(*v), strp_cmp);
    for (size_t i = 0; i < n; i++) {
        if (out > 0 && strcmp(v[out - 1], v[i]) == 0)
            free(v[i]);
        else
            v[out++] = v[i];
    }
    v[out] = NULL;
    return v;
}

/* Every entry of /sys/class/net (bonding_masters, a plain file, is not an interface), with
 * the bridge, bond or team it is a port of: the basename of its 'master' link. With
 * c->only_netdevs, just those and the masters above them (each resolved once: a realpath per
 * interface is most of the cost on a host with hundreds of VF netdevs). */
static void
load_sys_net(ctx *c)
{
    vp_autostrv char **names = NULL;
    int r = 0;

    if (c->only_netdevs)
        names = vp_strv_copy(c->only_netdevs);
    else
        r = vp_root_list_dir(c->root, "/sys/class/net", &names);
    if (r < 0) {
        if (r != -ENOENT && r != -ENOTDIR)
            problem(c, "/sys/class/net", "cannot list: %s", strerror(-r));
        return;
    }
    for (size_t i = 0; names && names[i]; i++) {
        vp_autofree char *rel = vp_asprintf("/sys/class/net/%s", names[i]);
        vp_autofree char *dir = resolve_inside(c, rel, rel);
        vp_autofree char *master_path = NULL;
        vp_autofree char *master = NULL;
        nif *n;

        if (!dir || !is_dir(dir))
            continue;
        n = nif_get(c, names[i]);
        master_path = vp_path_join(dir, "master");
        r = vp_readlink(master_path, &master);
        if (r == 0)
            n->master = vp_strdup(vp_basename(master));
        else if (r != -ENOENT)
            problem(c, rel, "master: cannot read link: %s", strerror(-r));
        /* names grows only here, and only with a master not seen (a chain ends: bounded by
         * the number of interfaces). */
        if (c->only_netdevs && n->master && !vp_strv_contains(names, n->master) &&
            !strchr(n->master, '/'))
            vp_strv_push(&names, n->master);
    }
}

/* Leading ones of a network-order netmask; -1 when they are not contiguous. */
static int
mask_prefix(const uint8_t *mask, size_t len)
{
    int bits = 0;
    bool zero = false;

    for (size_t i = 0; i < len; i++)
        for (int b = 7; b >= 0; b--) {
            if (mask[i] >> b & 1) {
                if (zero)
                    return -1;
                bits++;
            } else {
                zero = true;
            }
        }
    return bits;
}

/* Read the /proc table WHAT and check its header line starts with HEADER (DESC names the
 * table in the problem). True with *RET_BUF owned and *RET_P at the first row; false when the
 * file is absent, unreadable, malformed (a problem), or empty (a problem unless EMPTY_OK). */
static bool
read_table(ctx *c, const char *what, const char *header, const char *desc, bool empty_ok,
           char **ret_buf, char **ret_p)
{
    vp_autofree char *buf = NULL;
    char *p, *line;

    if (read_text(c, what, &buf) <= 0)
        return false;
    p = buf;
    line = next_line(&p);
    if (!line && empty_ok)
        return false;
    if (!line || !vp_startswith(line, header)) {
        problem(c, what, "line 1: not the header of %s", desc);
        return false;
    }
    *ret_p = p;
    *ret_buf = VP_STEAL(&buf);
    return true;
}

/* /proc/net/route (net/ipv4/fib_trie.c fib_route_seq_show): the main table, one route per
 * line after a header: Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT.
 * Destination and Mask are the __be32 printed with %08X, i.e. read as the host's integer: on a
 * little-endian host "000200C0" is 192.0.2.0. Storing the parsed integer back in host order
 * (memcpy) gives the network-order bytes on any host. */
static void
load_routes_v4(ctx *c)
{
    static const char what[] = "/proc/net/route";
    vp_autofree char *buf = NULL;
    char *p, *line;
    unsigned no = 1;

    /* A kernel without IPv4 routes at all (no table yet) prints nothing, not even the header:
     * no routes, not a malformed file (seen in the VFIO lab's guests). */
    if (!read_table(c, what, "Iface", "the routing table", true, &buf, &p))
        return;
    while ((line = next_line(&p))) {
        char *f[11];
        uint64_t dest, flags, mask;
        uint32_t d32, m32;
        uint8_t mbytes[4];
        int plen;
        size_t nf;

        no++;
        nf = split(line, f, VP_ARRAY_SIZE(f));
        if (nf == 0)
            continue;
        if (nf < 8 || !parse_hex(f[1], 8, &dest) || strlen(f[1]) != 8 ||
            !parse_hex(f[3], 8, &flags) || !parse_hex(f[7], 8, &mask) || strlen(f[7]) != 8) {
            problem(c, what, "line %u: malformed route", no);
            continue;
        }
        /* "*": a reject route through no interface; a rejecting route carries no traffic. */
        if (strcmp(f[0], "*") == 0 || (flags & RTF_REJECT_))
            continue;
        d32 = (uint32_t)dest;
        m32 = (uint32_t)mask;
        memcpy(mbytes, &m32, sizeof(mbytes));
        plen = mask_prefix(mbytes, sizeof(mbytes));
        if (plen < 0) {
            problem(c, what, "line %u: non-contiguous netmask %s", no, f[7]);
            continue;
        }
        if (d32 == 0 && plen == 0) {
            nif_get(c, f[0])->default_route = true;
        } else {
            char text[INET_ADDRSTRLEN];
            struct in_addr a;
            nif *n = nif_get(c, f[0]);

            memcpy(&a.s_addr, &d32, sizeof(a.s_addr));
            inet_ntop(AF_INET, &a, text, sizeof(text));
            push_take(&n->routes, &n->n_routes, &n->alloc_routes, vp_asprintf("%s/%d", text, plen));
        }
    }
}

/* /proc/net/ipv6_route (net/ipv6/route.c rt6_info_seq_show), every table: destination,
 * prefix length, source, source prefix length, next hop, metric, refcount, use, flags, device.
 * Left out as routes: reject routes (the "lo" null entries), local routes (the host's own
 * addresses, RTF_LOCAL), cached exceptions, multicast (ff00::/8) and link-local (fe80::/10)
 * destinations, which every IPv6 interface has whether anything uses it or not. */
static void
load_routes_v6(ctx *c)
{
    static const char what[] = "/proc/net/ipv6_route";
    vp_autofree char *buf = NULL;
    char *p, *line;
    unsigned no = 0;

    if (read_text(c, what, &buf) <= 0)
        return;
    p = buf;
    while ((line = next_line(&p))) {
        static const uint8_t zero[16];
        char *f[10];
        uint8_t dest[16];
        uint64_t plen, flags;
        size_t nf;

        no++;
        nf = split(line, f, VP_ARRAY_SIZE(f));
        if (nf == 0)
            continue;
        if (nf != 10 || !parse_hex_bytes(f[0], dest, sizeof(dest)) || strlen(f[1]) != 2 ||
            !parse_hex(f[1], 2, &plen) || plen > 128 || strlen(f[8]) != 8 ||
            !parse_hex(f[8], 8, &flags)) {
            problem(c, what, "line %u: malformed route", no);
            continue;
        }
        if (flags & (RTF_REJECT_ | RTF_LOCAL_ | RTF_CACHE_))
            continue;
        if (plen == 0 && memcmp(dest, zero, sizeof(dest)) == 0) {
            nif_get(c, f[9])->default_route = true;
        } else if (dest[0] != 0xff && !(dest[0] == 0xfe && (dest[1] & 0xc0) == 0x80)) {
            char text[INET6_ADDRSTRLEN];
            nif *n = nif_get(c, f[9]);

            inet_ntop(AF_INET6, dest, text, sizeof(text));
            push_take(&n->routes, &n->n_routes, &n->alloc_routes,
                      vp_asprintf("%s/%u", text, (unsigned)plen));
        }
    }
}

/* /proc/net/if_inet6 (net/ipv6/addrconf.c if6_seq_show): address, ifindex, prefix length,
 * scope, flags, device; every IPv6 address, readable under any root. */
static void
load_if_inet6(ctx *c)
{
    static const char what[] = "/proc/net/if_inet6";
    vp_autofree char *buf = NULL;
    char *p, *line;
    unsigned no = 0;

    if (read_text(c, what, &buf) <= 0)
        return;
    p = buf;
    while ((line = next_line(&p))) {
        char *f[6];
        uint8_t addr[16];
        uint64_t plen;
        char text[INET6_ADDRSTRLEN];
        nif *n;
        size_t nf;

        no++;
        nf = split(line, f, VP_ARRAY_SIZE(f));
        if (nf == 0)
            continue;
        if (nf != 6 || !parse_hex_bytes(f[0], addr, sizeof(addr)) || !parse_hex(f[2], 2, &plen) ||
            plen > 128) {
            problem(c, what, "line %u: malformed address", no);
            continue;
        }
        n = nif_get(c, f[5]);
        inet_ntop(AF_INET6, addr, text, sizeof(text));
        push_take(&n->addrs, &n->n_addrs, &n->alloc_addrs,
                  vp_asprintf("%s/%u", text, (unsigned)plen));
    }
}

/* IPv4 (and again IPv6) addresses from the kernel through rtnetlink (libnl-route-3's address
 * cache, RTM_GETADDR). Only for ROOT "/": a fixture tree has no netlink to ask, and its
 * /proc/net has no IPv4 address list, so there IPv4 addresses stay unknown. Netlink answers
 * for the network namespace vpass runs in, as /proc/net does. */
static void
load_netlink_addrs(ctx *c)
{
    struct nl_sock *sk = nl_socket_alloc();
    struct nl_cache *cache = NULL;
    int r;

    if (!sk) {
        problem(c, "netlink", "cannot allocate a socket");
        return;
    }
    r = nl_connect(sk, NETLINK_ROUTE);
    if (r == 0)
        r = rtnl_addr_alloc_cache(sk, &cache);
    if (r < 0) {
        problem(c, "netlink", "cannot list addresses: %s", nl_geterror(r));
        nl_socket_free(sk);
        return;
    }
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        struct nl_addr *local = rtnl_addr_get_local(a);
        int family = rtnl_addr_get_family(a);
        char name[IF_NAMESIZE], text[INET6_ADDRSTRLEN];
        nif *n;

        if (!local || (family != AF_INET && family != AF_INET6) ||
            nl_addr_get_len(local) != (family == AF_INET ? 4u : 16u))
            continue;
        /* An interface gone since the dump has no name any more: nothing to protect. */
        if (!if_indextoname((unsigned)rtnl_addr_get_ifindex(a), name))
            continue;
        inet_ntop(family, nl_addr_get_binary_addr(local), text, sizeof(text));
        n = nif_get(c, name);
        push_take(&n->addrs, &n->n_addrs, &n->alloc_addrs,
                  vp_asprintf("%s/%d", text, rtnl_addr_get_prefixlen(a)));
    }
    nl_cache_free(cache);
    nl_socket_free(sk);
}

static void
load_netifs(ctx *c)
{
    vp_host_facts *f = &c->h->facts;

    load_sys_net(c);
    load_routes_v4(c);
    load_routes_v6(c);
    load_if_inet6(c);
    if (c->live)
        load_netlink_addrs(c);

    f->netifs = c->n_nifs ? vp_malloc0(c->n_nifs * sizeof(*f->netifs)) : NULL;
    for (size_t i = 0; i < c->n_nifs; i++) {
        nif *n = &c->nifs[i];
        vp_netif *out = &f->netifs[i];

        out->name = VP_STEAL(&n->name);
        out->master = VP_STEAL(&n->master);
        out->default_route = n->default_route;
        out->routes = sorted_unique(VP_STEAL(&n->routes), n->n_routes);
        out->addresses = sorted_unique(VP_STEAL(&n->addrs), n->n_addrs);
    }
    f->n_netifs = c->n_nifs;
    c->n_nifs = 0;
}

/* ---- block devices under mounts and swap ---- */

/* "dddd:bb:ss.f" exactly, as sysfs names a PCI function's directory. */
static bool
is_pci_dir_name(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");

    if (n < 4 || n > 8 || s[n] != ':')
        return false;
    s += n + 1;
    if (strspn(s, "0123456789abcdef") != 2 || s[2] != ':')
        return false;
    s += 3;
    if (strspn(s, "0123456789abcdef") != 2 || s[2] != '.')
        return false;
    s += 3;
    return s[0] >= '0' && s[0] <= '7' && s[1] == '\0';
}

static void
addr_set_add(addr_set *set, const vp_pci_addr *a)
{
    for (size_t i = 0; i < set->n; i++)
        if (vp_pci_addr_eq(&set->a[i], a))
            return;
    vp_grow(&set->a, &set->alloc, set->n + 1, sizeof(*set->a));
    set->a[set->n++] = *a;
}

static void pci_above(ctx *c, const char *real, const char *what, unsigned depth, addr_set *out);

/* A native NVMe multipath namespace lives under /sys/devices/virtual/nvme-subsystem/
 * nvme-subsysN/, which links each of its controllers by name (drivers/nvme/host/core.c
 * nvme_init_subsystem: sysfs_create_link(subsys, ctrl, "nvmeM")): the PCI functions are above
 * those controllers. */
static void
nvme_subsystem_controllers(ctx *c, const char *subsys_real, const char *what, unsigned depth,
                           addr_set *out)
{
    vp_autostrv char **names = NULL;

    if (vp_list_dir(subsys_real, &names) < 0)
        return;
    for (size_t i = 0; names && names[i]; i++) {
        vp_autofree char *link = NULL;
        char *real;

        if (!vp_startswith(names[i], "nvme") || !all_digits(names[i] + 4))
            continue;
        link = vp_path_join(subsys_real, names[i]);
        real = realpath(link, NULL);
        if (!real)
            continue;
        if (vp_path_inside(c->root_real, real))
            pci_above(c, real, what, depth + 1, out);
        else
            problem(c, what, "%s leads to %s, outside the root %s", link, real, c->root_real);
        free(real);
    }
}

/* The nearest PCI function above the canonical sysfs path REAL (a disk, a partition below its
 * disk, a controller), if any: a virtio disk sits below its virtio-pci function, an NVMe
 * namespace below its controller's function, a SATA disk below the AHCI function. */
static void
pci_above(ctx *c, const char *real, const char *what, unsigned depth, addr_set *out)
{
    size_t skip = strcmp(c->root_real, "/") == 0 ? 0 : strlen(c->root_real);
    vp_autofree char *path = vp_strdup(real);
    char *inner = path + skip; /* only what lies inside the root may match */
    char *slash;

    if (depth > BLOCK_DEPTH_MAX) {
        problem(c, what, "%s: devices stacked deeper than %d levels", real, BLOCK_DEPTH_MAX);
        return;
    }
    while ((slash = strrchr(inner, '/'))) {
        const char *comp = slash + 1;

        if (is_pci_dir_name(comp)) {
            vp_pci_addr a;

            if (vp_pci_addr_parse(comp, &a, NULL) == 0)
                addr_set_add(out, &a);
            return;
        }
        if (vp_startswith(comp, "nvme-subsys") && all_digits(comp + 11) && slash - inner >= 15 &&
            strncmp(slash - 15, "/nvme-subsystem", 15) == 0) {
            nvme_subsystem_controllers(c, path, what, depth, out);
            return;
        }
        *slash = '\0';
    }
}

/* The PCI functions under the block device at REL (sys/dev/block/M:m, sys/class/block/NAME):
 * device-mapper, md and other stacked devices list what they sit on in slaves/, followed down
 * to the physical disks; a disk or partition has its function above it. */
static void
block_pci(ctx *c, const char *rel, const char *what, unsigned depth, addr_set *out)
{
    vp_autofree char *real = NULL;
    vp_autofree char *slaves_dir = NULL;
    vp_autostrv char **slaves = NULL;

    if (depth > BLOCK_DEPTH_MAX) {
        problem(c, what, "%s: devices stacked deeper than %d levels", rel, BLOCK_DEPTH_MAX);
        return;
    }
    real = resolve_inside(c, rel, what);
    if (!real)
        return;
    slaves_dir = vp_path_join(real, "slaves");
    if (vp_list_dir(slaves_dir, &slaves) == 0 && slaves) {
        for (size_t i = 0; slaves[i]; i++) {
            vp_autofree char *sub = NULL;

            if (strchr(slaves[i], '/') || strcmp(slaves[i], "..") == 0)
                continue;
            sub = vp_asprintf("/sys/class/block/%s", slaves[i]);
            block_pci(c, sub, what, depth + 1, out);
        }
        return;
    }
    pci_above(c, real, what, depth, out);
}

/* MAJ:MIN of block device NAME from /sys/class/block/NAME/dev. */
static bool
devnum_of_block(ctx *c, const char *name, unsigned *ret_major, unsigned *ret_minor)
{
    vp_autofree char *rel = NULL;
    vp_autofree char *line = NULL;

    if (!name[0] || strchr(name, '/') || strcmp(name, "..") == 0 || strcmp(name, ".") == 0)
        return false;
    rel = vp_asprintf("/sys/class/block/%s/dev", name);
    if (read_line(c, rel, &line) <= 0)
        return false;
    if (!parse_devnum(line, ret_major, ret_minor)) {
        problem(c, rel, "malformed value '%.32s'", line);
        return false;
    }
    return true;
}

/* The device-mapper device (dm-N) named NAME (its dm/name), listed once. */
static const char *
dm_by_name(ctx *c, const char *name)
{
    if (!c->dm_listed) {
        vp_autostrv char **blocks = NULL;

        c->dm_listed = true;
        if (vp_root_list_dir(c->root, "/sys/class/block", &blocks) == 0)
            for (size_t i = 0; blocks && blocks[i]; i++) {
                vp_autofree char *rel = NULL;
                char *dmname = NULL;

                if (!vp_startswith(blocks[i], "dm-"))
                    continue;
                rel = vp_asprintf("/sys/class/block/%s/dm/name", blocks[i]);
                if (read_line(c, rel, &dmname) <= 0)
                    continue;
                vp_grow(&c->dm, &c->alloc_dm, c->n_dm + 1, sizeof(*c->dm));
                c->dm[c->n_dm++] = (dm_entry){.name = dmname, .dev = vp_strdup(blocks[i])};
            }
    }
    for (size_t i = 0; i < c->n_dm; i++)
        if (strcmp(c->dm[i].name, name) == 0)
            return c->dm[i].dev;
    return NULL;
}

/* MAJ:MIN of the block device special file PATH ("/dev/nvme0n1p2", "/dev/mapper/vg0-root"):
 * stat(2) on this machine, else by name through /sys/class/block. */
static bool
devnum_of_path(ctx *c, const char *path, unsigned *ret_major, unsigned *ret_minor)
{
    const char *dm;

    /* Only device nodes: a source such as "server:/export" or a FUSE path is no block
     * device, and stat(2) on a network path could hang. */
    if (!vp_startswith(path, "/dev/"))
        return false;
    if (c->live) {
        struct stat st;

        if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
            *ret_major = major(st.st_rdev);
            *ret_minor = minor(st.st_rdev);
            return true;
        }
    }
    if (vp_startswith(path, "/dev/mapper/") && (dm = dm_by_name(c, path + 12)))
        return devnum_of_block(c, dm, ret_major, ret_minor);
    return devnum_of_block(c, vp_basename(path), ret_major, ret_minor);
}

/* Record MOUNTPOINT on SOURCE (MAJ:MIN): one vp_mount per PCI function under it, or one
 * without a device when none is found (zram, loop, a device sysfs does not place). */
static void
add_mount(ctx *c, const char *mountpoint, const char *source, unsigned maj, unsigned min)
{
    vp_host_facts *f = &c->h->facts;
    vp_autofree char *rel = vp_asprintf("/sys/dev/block/%u:%u", maj, min);
    vp_autofree char *what = vp_asprintf("%s (%s)", mountpoint, source);
    addr_set set = {0};
    size_t n;

    block_pci(c, rel, what, 0, &set);
    n = set.n ? set.n : 1;
    vp_grow(&f->mounts, &c->alloc_mounts, f->n_mounts + n, sizeof(*f->mounts));
    for (size_t i = 0; i < n; i++) {
        vp_mount *m = &f->mounts[f->n_mounts++];

        *m = (vp_mount){.mountpoint = vp_strdup(mountpoint),
                        .source = vp_strdup(source),
                        .major = maj,
                        .minor = min};
        if (set.n) {
            m->has_device = true;
            m->device = set.a[i];
        }
    }
    free(set.a);
}

/* /proc/self/mountinfo (fs/proc_namespace.c show_mountinfo): mount id, parent id, MAJ:MIN,
 * root, mount point, options, optional fields, "-", fstype, source, super options. Mounts on a
 * block device are kept; major 0 is an anonymous device (tmpfs, proc, overlay, nfs), except
 * that btrfs subvolumes show one too: a "/dev/..." source is then looked up by name. */
static void
load_mountinfo(ctx *c)
{
    static const char what[] = "/proc/self/mountinfo";
    vp_autofree char *buf = NULL;
    char *p, *line;
    unsigned no = 0;

    if (read_text(c, what, &buf) <= 0)
        return;
    p = buf;
    while ((line = next_line(&p))) {
        char *f[64];
        size_t nf, sep = 0;
        unsigned maj, min;
        char *mountpoint, *source;

        no++;
        nf = split(line, f, VP_ARRAY_SIZE(f));
        if (nf == 0)
            continue;
        for (size_t i = 6; i < nf && i < VP_ARRAY_SIZE(f); i++)
            if (strcmp(f[i], "-") == 0) {
                sep = i;
                break;
            }
        if (nf < 10 || nf > VP_ARRAY_SIZE(f) || sep == 0 || sep + 2 >= nf ||
            !parse_devnum(f[2], &maj, &min) || f[4][0] != '/') {
            problem(c, what, "line %u: malformed mount", no);
            continue;
        }
        mountpoint = unescape_octal(f[4]);
        source = unescape_octal(f[sep + 2]);
        if (maj == 0 && !devnum_of_path(c, source, &maj, &min))
            continue;
        vp_grow(&c->fs, &c->alloc_fs, c->n_fs + 1, sizeof(*c->fs));
        c->fs[c->n_fs++] =
            (fs_entry){.mountpoint = vp_strdup(mountpoint), .major = maj, .minor = min};
        add_mount(c, mountpoint, source, maj, min);
    }
}

/* The filesystem holding PATH: the longest mount point above it (the later mount on a tie,
 * as it hides the earlier). */
static const fs_entry *
fs_holding(ctx *c, const char *path)
{
    const fs_entry *best = NULL;
    size_t best_len = 0;

    for (size_t i = 0; i < c->n_fs; i++) {
        const char *mp = c->fs[i].mountpoint;
        size_t n = strlen(mp);
        bool above = strcmp(mp, "/") == 0 ||
                     (strncmp(path, mp, n) == 0 && (path[n] == '/' || path[n] == '\0'));

        if (above && (!best || n >= best_len)) {
            best = &c->fs[i];
            best_len = n;
        }
    }
    return best;
}

/* /proc/swaps (mm/swapfile.c swap_show): Filename Type Size Used Priority. A partition is
 * found by name; a swap file sits on the filesystem that holds it. */
static void
load_swaps(ctx *c)
{
    static const char what[] = "/proc/swaps";
    vp_autofree char *buf = NULL;
    char *p, *line;
    unsigned no = 1;

    if (!read_table(c, what, "Filename", "the swap list", false, &buf, &p))
        return;
    while ((line = next_line(&p))) {
        char *f[5];
        size_t nf;
        unsigned maj, min;
        const char *path;

        no++;
        nf = split(line, f, VP_ARRAY_SIZE(f));
        if (nf == 0)
            continue;
        if (nf != 5 || f[0][0] != '/') {
            problem(c, what, "line %u: malformed swap", no);
            continue;
        }
        path = unescape_octal(f[0]);
        if (strcmp(f[1], "file") == 0) {
            const fs_entry *fs = fs_holding(c, path);

            if (fs) {
                add_mount(c, "[swap]", path, fs->major, fs->minor);
                continue;
            }
        } else if (devnum_of_path(c, path, &maj, &min)) {
            add_mount(c, "[swap]", path, maj, min);
            continue;
        }
        problem(c, what, "line %u: %s: cannot find its block device", no, path);
    }
}

/* ---- entry point ---- */

static void
ctx_clear(ctx *c)
{
    for (size_t i = 0; i < c->n_nifs; i++) {
        free(c->nifs[i].name);
        free(c->nifs[i].master);
        vp_strv_free(c->nifs[i].routes);
        vp_strv_free(c->nifs[i].addrs);
    }
    free(c->nifs);
    for (size_t i = 0; i < c->n_fs; i++)
        free(c->fs[i].mountpoint);
    free(c->fs);
    for (size_t i = 0; i < c->n_dm; i++) {
        free(c->dm[i].name);
        free(c->dm[i].dev);
    }
    free(c->dm);
    free(c->root_real);
}

int
vp_source_host_facts_load(vp_host *h, const char *root, vp_error *err)
{
    return vp_source_host_facts_load_opts(h, root, NULL, err);
}

int
vp_source_host_facts_load_opts(vp_host *h, const char *root, const vp_host_facts_opts *o,
                               vp_error *err)
{
    ctx c = {.h = h, .root = root ? root : "/", .only_netdevs = o ? o->only_netdevs : NULL};

    c.root_real = realpath(c.root, NULL);
    if (!c.root_real)
        return vp_error_errno(err, errno, "%s: cannot resolve the root", c.root);
    c.live = strcmp(c.root_real, "/") == 0;

    vp_host_facts_clear(&h->facts);
    h->facts.read = true;
    h->facts.irq_remapping = -1;

    load_cmdline(&c);
    load_iommu_units(&c);
    h->facts.irq_remapping = irq_remapping_from_interrupts(&c);
    if (h->facts.irq_remapping < 0)
        h->facts.irq_remapping = irq_remapping_from_ecap(&c);
    load_modules(&c);
    load_netifs(&c);
    load_mountinfo(&c);
    load_swaps(&c);

    ctx_clear(&c);
    return 0;
}
