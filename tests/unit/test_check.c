/* Unit tests for src/check: every finding code produced and not produced, the order of
 * findings, severities with and without --force, remote hosts, group vs function selection,
 * the 64-bit MMIO estimate, and docs/findings.md covering every code. */
#include "vp_test.h"

#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "model/host.h"
#include "util/fs.h"
#include "util/str.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)
#define KiB (1ULL << 10)

/* Codes some test produced, and codes some test showed absent: the last test checks that
 * both cover vp_check_codes(). */
static char **seen_codes;
static char **refuted_codes;

/* ---- building hosts by hand ---- */

/* A local host whose host-wide facts are all fine. */
static vp_host *
local_host(void)
{
    vp_host *h = vp_host_new();

    h->facts.read = true;
    h->facts.cmdline = vp_strdup("BOOT_IMAGE=/vmlinuz root=/dev/nvme0n1p2 ro intel_iommu=on "
                                 "iommu=pt");
    vp_strv_push(&h->facts.iommu_units, "dmar0");
    vp_strv_push(&h->facts.iommu_units, "dmar1");
    h->facts.irq_remapping = 1;
    h->facts.vfio_loaded = h->facts.vfio_pci_loaded = h->facts.vfio_type1_loaded = true;
    h->facts.dev_vfio = true;
    return h;
}

/* Good config-space facts: PCIe endpoint, MSI and MSI-X, FLR, no ROM, no BARs. */
static vp_pci_facts *
good_facts(void)
{
    vp_pci_facts *f = vp_malloc0(sizeof(*f));

    f->config_len = 4096;
    f->interrupt_pin = 1;
    f->has_irq = true;
    f->irq = 0;
    f->has_msi = f->has_msix = true;
    f->msix_table_size = 16;
    f->pcie_type = VP_PCIE_ENDPOINT;
    f->flr = true;
    f->has_pm = true;
    return f;
}

/* An endpoint at ADDR in GROUP (-1: none) bound to DRIVER (NULL: none), with good facts. */
static vp_device *
add_dev(vp_host *h, const char *addr, int group, const char *driver, uint32_t class_code)
{
    vp_device *d = vp_host_add_device(h);

    assert_int_equal(vp_pci_addr_parse(addr, &d->addr, NULL), 0);
    if (group >= 0) {
        d->has_group = true;
        d->group = (unsigned)group;
    }
    d->driver = vp_strdup(driver);
    d->ids_known = true;
    d->vendor_id = 0x14e4;
    d->product_id = 0x165f;
    d->class_code = class_code;
    d->is_pcie = true;
    d->facts = good_facts();
    return d;
}

/* A PCIe port (bridge) with full ACS. */
static vp_device *
add_port(vp_host *h, const char *addr, int group, vp_pcie_type type)
{
    vp_device *d = add_dev(h, addr, group, "pcieport", 0x060400);

    d->is_bridge = true;
    d->facts->header_type = 1;
    d->facts->pcie_type = type;
    d->facts->has_acs = true;
    d->facts->acs_cap = VP_ACS_SV | VP_ACS_TB | VP_ACS_RR | VP_ACS_CR | VP_ACS_UF;
    d->facts->acs_ctrl = VP_ACS_SV | VP_ACS_RR | VP_ACS_CR | VP_ACS_UF;
    return d;
}

static void
set_parent(vp_device *d, const char *addr)
{
    d->has_parent = true;
    assert_int_equal(vp_pci_addr_parse(addr, &d->parent, NULL), 0);
}

static void
set_bar(vp_device *d, unsigned i, uint64_t size, bool is64, bool pref)
{
    d->facts->bars[i].present = true;
    d->facts->bars[i].size = size;
    d->facts->bars[i].is_64 = is64;
    d->facts->bars[i].prefetchable = pref;
}

static vp_netif *
add_netif(vp_host *h, const char *name, const char *master, const char *address, bool default_route)
{
    vp_netif *n;

    h->facts.netifs =
        vp_realloc_array(h->facts.netifs, h->facts.n_netifs + 1, sizeof(*h->facts.netifs));
    n = &h->facts.netifs[h->facts.n_netifs++];
    memset(n, 0, sizeof(*n));
    n->name = vp_strdup(name);
    n->master = vp_strdup(master);
    if (address)
        vp_strv_push(&n->addresses, address);
    n->default_route = default_route;
    return n;
}

static void
add_mount(vp_host *h, const char *mountpoint, const char *source, const char *device)
{
    vp_mount *m;

    h->facts.mounts =
        vp_realloc_array(h->facts.mounts, h->facts.n_mounts + 1, sizeof(*h->facts.mounts));
    m = &h->facts.mounts[h->facts.n_mounts++];
    memset(m, 0, sizeof(*m));
    m->mountpoint = vp_strdup(mountpoint);
    m->source = vp_strdup(source);
    m->has_device = true;
    assert_int_equal(vp_pci_addr_parse(device, &m->device, NULL), 0);
}

/* A domain whose definition was read. The pointer is valid until the next domain is added. */
static vp_domain *
add_domain(vp_host *h, const char *name, bool running, const char *machine, vp_firmware fw)
{
    vp_domain *d = vp_host_add_domain(h, name, NULL, running, true);

    d->xml_read = machine != NULL;
    d->arch = vp_strdup("x86_64");
    d->machine = vp_strdup(machine);
    d->firmware = fw;
    return d;
}

static void
assign(vp_host *h, const char *domain, const char *addr, bool running)
{
    vp_pci_addr a;

    assert_int_equal(vp_pci_addr_parse(addr, &a, NULL), 0);
    vp_host_add_assignment(h, domain, &a, VP_USE_HOSTDEV, true, running, true);
}

/* The standard host: root port 00:01.0 (group 1) above a two-port NIC 01:00.0/01:00.1
 * (tg3, eno1/eno2, group 26, multifunction with ACS RR/CR enabled). */
static vp_host *
std_host(void)
{
    vp_host *h = local_host();
    vp_device *d;

    add_port(h, "0000:00:01.0", 1, VP_PCIE_ROOT_PORT);
    d = add_dev(h, "0000:01:00.0", 26, "tg3", 0x020000);
    set_parent(d, "0000:00:01.0");
    vp_strv_push(&d->netdevs, "eno1");
    d->facts->multifunction = true;
    d->facts->has_acs = true;
    d->facts->acs_cap = d->facts->acs_ctrl = VP_ACS_RR | VP_ACS_CR;
    d = add_dev(h, "0000:01:00.1", 26, "tg3", 0x020000);
    set_parent(d, "0000:00:01.0");
    vp_strv_push(&d->netdevs, "eno2");
    d->facts->multifunction = true;
    d->facts->has_acs = true;
    d->facts->acs_cap = d->facts->acs_ctrl = VP_ACS_RR | VP_ACS_CR;
    return h;
}

static vp_device *
dev_at(const vp_host *h, const char *addr)
{
    vp_pci_addr a;
    vp_device *d;

    assert_int_equal(vp_pci_addr_parse(addr, &a, NULL), 0);
    d = vp_host_find_device(h, &a);
    assert_non_null(d);
    return d;
}

/* ---- running checks and asserting findings ---- */

#define SEL(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

static void
note_seen(const vp_findings *f)
{
    for (size_t i = 0; i < f->n; i++)
        if (!vp_strv_contains(seen_codes, f->items[i].code))
            vp_strv_push(&seen_codes, f->items[i].code);
}

/* Finalize H (once) and run the checks on ADDRS, GROUP (-1: none), DOMAIN (NULL: none). */
static void
run(vp_host *h, const char *const *addrs, int group, const char *domain, vp_findings *out)
{
    vp_device *sel[16];
    vp_check_target t = {0};
    size_t n = 0;

    if (!h->netdev_index)
        vp_host_finalize(h);
    for (; addrs[n]; n++) {
        assert_true(n < VP_ARRAY_SIZE(sel));
        sel[n] = dev_at(h, addrs[n]);
    }
    t.devices = sel;
    t.n_devices = n;
    if (group >= 0) {
        t.group = vp_host_find_group(h, (unsigned)group);
        assert_non_null(t.group);
    }
    if (domain) {
        t.domain = vp_host_find_domain(h, domain);
        assert_non_null(t.domain);
    }
    vp_findings_clear(out);
    vp_check_run(h, &t, out);
    note_seen(out);
}

static void
dump(const vp_findings *f)
{
    for (size_t i = 0; i < f->n; i++)
        print_message("  [%s] %s %s %s: %s | fix: %s\n", vp_severity_name(f->items[i].severity),
                      f->items[i].code, vp_subject_kind_name(f->items[i].kind), f->items[i].subject,
                      f->items[i].message, f->items[i].fix ? f->items[i].fix : "-");
}

/* The finding CODE for SUBJECT exists with SEV and KIND, is one line naming its object first,
 * and every word (NULL-terminated) appears in its message or fix. */
static const vp_finding *
expect_(const vp_findings *f, const char *code, const char *subject, vp_severity sev,
        vp_subject_kind kind, ...)
{
    const vp_finding *x = vp_findings_find(f, code, subject);
    vp_autofree char *prefix = NULL;
    va_list ap;
    const char *w;

    if (!x) {
        dump(f);
        fail_msg("no finding %s for %s", code, subject);
    }
    if (x->severity != sev || x->kind != kind) {
        dump(f);
        fail_msg("%s for %s: severity %s kind %s", code, subject, vp_severity_name(x->severity),
                 vp_subject_kind_name(x->kind));
    }
    assert_null(strchr(x->message, '\n'));
    assert_true(!x->fix || !strchr(x->fix, '\n'));
    prefix = kind == VP_SUBJECT_GROUP ? vp_asprintf("group %s:", subject) : vp_strdup(subject);
    if (!vp_startswith(x->message, prefix))
        fail_msg("%s: message does not start with '%s': %s", code, prefix, x->message);
    va_start(ap, kind);
    while ((w = va_arg(ap, const char *))) {
        if (!strstr(x->message, w) && !(x->fix && strstr(x->fix, w))) {
            dump(f);
            va_end(ap);
            fail_msg("%s for %s: '%s' in neither message nor fix", code, subject, w);
        }
    }
    va_end(ap);
    return x;
}
#define expect(f, code, subject, sev, kind, ...)                                                   \
    expect_((f), (code), (subject), (sev), (kind), __VA_ARGS__, (const char *)NULL)

/* No finding CODE (for SUBJECT, or for anything when SUBJECT is NULL). */
static void
refute(const vp_findings *f, const char *code, const char *subject)
{
    if (vp_findings_find(f, code, subject)) {
        dump(f);
        fail_msg("unexpected %s for %s", code, subject ? subject : "any subject");
    }
    if (!vp_strv_contains(refuted_codes, code))
        vp_strv_push(&refuted_codes, code);
}

static size_t
count(const vp_findings *f, const char *code)
{
    size_t n = 0;

    for (size_t i = 0; i < f->n; i++)
        n += strcmp(f->items[i].code, code) == 0;
    return n;
}

/* ---- findings container ---- */

static void
test_findings_worst(void **state)
{
    vp_findings f = {0};

    (void)state;
    assert_int_equal(vp_findings_worst(&f, false), VP_SEV_OK);
    vp_findings_add(&f, "x-info", VP_SEV_INFO, VP_SUBJECT_HOST, "host", true, NULL, "host: %d", 1);
    assert_int_equal(vp_findings_worst(&f, false), VP_SEV_INFO);
    /* overridable is meaningful only on a block. */
    assert_false(f.items[0].overridable);
    vp_findings_add(&f, "x-block", VP_SEV_BLOCK, VP_SUBJECT_DEVICE, "0000:01:00.0", true, "fix",
                    "0000:01:00.0: %s", "overridable");
    assert_true(f.items[1].overridable);
    assert_int_equal(vp_findings_worst(&f, false), VP_SEV_BLOCK);
    assert_int_equal(vp_findings_worst(&f, true), VP_SEV_WARN);
    vp_findings_add(&f, "x-hard", VP_SEV_BLOCK, VP_SUBJECT_DOMAIN, "vm1", false, NULL,
                    "vm1: not overridable");
    assert_int_equal(vp_findings_worst(&f, true), VP_SEV_BLOCK);
    assert_string_equal(f.items[1].message, "0000:01:00.0: overridable");
    assert_string_equal(f.items[1].fix, "fix");
    assert_null(f.items[2].fix);
    assert_ptr_equal(vp_findings_find(&f, "x-block", "0000:01:00.0"), &f.items[1]);
    assert_null(vp_findings_find(&f, "x-block", "0000:01:00.1"));
    assert_string_equal(vp_severity_name(VP_SEV_WARN), "warn");
    assert_string_equal(vp_subject_kind_name(VP_SUBJECT_GROUP), "group");
    vp_findings_clear(&f);
    assert_int_equal(f.n, 0);
    assert_null(f.items);
}

/* ---- host ---- */

static void
test_host_ok(void **state)
{
    vp_autoptr(vp_host) h = std_host();
    vp_findings f = {0};

    (void)state;
    run(h, NONE, -1, NULL, &f);
    /* Host readiness only: exactly one summary. */
    assert_int_equal(f.n, 1);
    expect(&f, "iommu-ok", "host", VP_SEV_OK, VP_SUBJECT_HOST, "dmar0, dmar1", "2 groups",
           "interrupt remapping on");
    refute(&f, "iommu-off", NULL);
    refute(&f, "irq-remap-off", NULL);
    refute(&f, "vfio-not-loaded", NULL);
    refute(&f, "acs-override", NULL);
    refute(&f, "unsafe-interrupts", NULL);
    refute(&f, "host-remote", NULL);
    assert_int_equal(vp_findings_worst(&f, false), VP_SEV_OK);
    vp_findings_clear(&f);
}

static void
test_host_iommu_off(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        /* Intel, IOMMU switched off on the command line: no groups, no units. */
        vp_autoptr(vp_host) h = local_host();

        free(h->facts.cmdline);
        h->facts.cmdline = vp_strdup("ro intel_iommu=off");
        vp_strv_free(h->facts.iommu_units);
        h->facts.iommu_units = NULL;
        add_dev(h, "0000:01:00.0", -1, "tg3", 0x020000);
        run(h, NONE, -1, NULL, &f);
        expect(&f, "iommu-off", "host", VP_SEV_BLOCK, VP_SUBJECT_HOST, "no IOMMU groups",
               "no IOMMU units", "intel_iommu=on", "VT-d", "reboot");
        assert_false(f.items[0].overridable);
        assert_null(strstr(f.items[0].fix, "amd_iommu"));
        refute(&f, "iommu-ok", NULL);
        /* Interrupt remapping is moot without an IOMMU. */
        refute(&f, "irq-remap-off", NULL);
        assert_int_equal(vp_findings_worst(&f, true), VP_SEV_BLOCK);
    }
    {
        /* AMD units present but no groups. */
        vp_autoptr(vp_host) h = local_host();

        free(h->facts.cmdline);
        h->facts.cmdline = vp_strdup("ro quiet");
        vp_strv_free(h->facts.iommu_units);
        h->facts.iommu_units = NULL;
        vp_strv_push(&h->facts.iommu_units, "ivhd0");
        add_dev(h, "0000:01:00.0", -1, "tg3", 0x020000);
        run(h, NONE, -1, NULL, &f);
        expect(&f, "iommu-off", "host", VP_SEV_BLOCK, VP_SUBJECT_HOST, "ivhd0", "amd_iommu=on",
               "AMD-Vi");
        assert_null(strstr(f.items[0].fix, "intel_iommu"));
    }
    {
        /* Vendor unknown: both options named. */
        vp_autoptr(vp_host) h = local_host();

        free(h->facts.cmdline);
        h->facts.cmdline = NULL;
        vp_strv_free(h->facts.iommu_units);
        h->facts.iommu_units = NULL;
        run(h, NONE, -1, NULL, &f);
        expect(&f, "iommu-off", "host", VP_SEV_BLOCK, VP_SUBJECT_HOST, "intel_iommu=on",
               "amd_iommu=on");
    }
    {
        /* Asked for on the command line, none came up (the VFIO lab's no-IOMMU guest): the fix
         * points at the firmware, not at the command line. */
        vp_autoptr(vp_host) h = local_host();

        free(h->facts.cmdline);
        h->facts.cmdline = vp_strdup("console=ttyS0 intel_iommu=on panic=-1");
        vp_strv_free(h->facts.iommu_units);
        h->facts.iommu_units = NULL;
        run(h, NONE, -1, NULL, &f);
        expect(&f, "iommu-off", "host", VP_SEV_BLOCK, VP_SUBJECT_HOST, "no IOMMU groups",
               "already asks for the IOMMU", "firmware");
        assert_null(strstr(f.items[0].fix, "add intel_iommu=on"));
    }
    vp_findings_clear(&f);
}

static void
test_host_irq_remap(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        vp_autoptr(vp_host) h = std_host();

        h->facts.irq_remapping = 0;
        run(h, NONE, -1, NULL, &f);
        expect(&f, "irq-remap-off", "host", VP_SEV_BLOCK, VP_SUBJECT_HOST, "interrupt remapping",
               "allow_unsafe_interrupts");
        assert_false(vp_findings_find(&f, "irq-remap-off", "host")->overridable);
        refute(&f, "unsafe-interrupts", NULL);
        refute(&f, "iommu-ok", NULL);
    }
    {
        /* Off, but vfio told to accept it: a warning, plus the unsafe option itself. */
        vp_autoptr(vp_host) h = std_host();

        h->facts.irq_remapping = 0;
        h->facts.unsafe_interrupts = true;
        run(h, NONE, -1, NULL, &f);
        expect(&f, "irq-remap-off", "host", VP_SEV_WARN, VP_SUBJECT_HOST,
               "allow_unsafe_interrupts=Y");
        expect(&f, "unsafe-interrupts", "host", VP_SEV_WARN, VP_SUBJECT_HOST, "inject",
               "allow_unsafe_interrupts");
        refute(&f, "iommu-ok", NULL);
    }
    {
        vp_autoptr(vp_host) h = std_host();

        h->facts.irq_remapping = -1;
        run(h, NONE, -1, NULL, &f);
        expect(&f, "irq-remap-off", "host", VP_SEV_INFO, VP_SUBJECT_HOST, "unknown", "dmesg");
        refute(&f, "iommu-ok", NULL);
    }
    vp_findings_clear(&f);
}

static void
test_host_vfio(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        /* Nothing loaded yet: normal, libvirt loads it. */
        vp_autoptr(vp_host) h = std_host();

        h->facts.vfio_loaded = h->facts.vfio_pci_loaded = h->facts.vfio_type1_loaded = false;
        h->facts.dev_vfio = false;
        run(h, NONE, -1, NULL, &f);
        expect(&f, "vfio-not-loaded", "host", VP_SEV_INFO, VP_SUBJECT_HOST,
               "vfio, vfio_pci, vfio_iommu_type1, /dev/vfio/vfio", "modprobe vfio-pci",
               "libvirt loads it");
        /* Still ready otherwise. */
        expect(&f, "iommu-ok", "host", VP_SEV_OK, VP_SUBJECT_HOST, "IOMMU on");
    }
    {
        /* vfio-pci built in, type1 missing: partial, a warning. */
        vp_autoptr(vp_host) h = std_host();

        h->facts.vfio_pci_loaded = false;
        h->facts.vfio_pci_builtin = true;
        h->facts.vfio_type1_loaded = false;
        run(h, NONE, -1, NULL, &f);
        expect(&f, "vfio-not-loaded", "host", VP_SEV_WARN, VP_SUBJECT_HOST, "vfio_iommu_type1",
               "blacklisted");
        assert_null(strstr(vp_findings_find(&f, "vfio-not-loaded", NULL)->message, "vfio_pci,"));
    }
    {
        /* Only the IOMMU backend loaded: partial too. */
        vp_autoptr(vp_host) h = std_host();

        h->facts.vfio_loaded = h->facts.vfio_pci_loaded = false;
        run(h, NONE, -1, NULL, &f);
        expect(&f, "vfio-not-loaded", "host", VP_SEV_WARN, VP_SUBJECT_HOST, "vfio, vfio_pci");
    }
    {
        vp_autoptr(vp_host) h = std_host();

        h->facts.vfio_pci_loaded = false;
        h->facts.vfio_pci_builtin = true;
        run(h, NONE, -1, NULL, &f);
        refute(&f, "vfio-not-loaded", NULL);
    }
    vp_findings_clear(&f);
}

static void
test_host_acs_override(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        vp_autoptr(vp_host) h = std_host();

        free(h->facts.cmdline);
        h->facts.cmdline = vp_strdup("ro quiet pcie_acs_override=downstream,multifunction");
        run(h, NONE, -1, NULL, &f);
        expect(&f, "acs-override", "host", VP_SEV_WARN, VP_SUBJECT_HOST,
               "pcie_acs_override=downstream,multifunction", "peer-to-peer");
        refute(&f, "iommu-ok", NULL);
    }
    {
        /* A longer parameter name is not the option. */
        vp_autoptr(vp_host) h = std_host();

        free(h->facts.cmdline);
        h->facts.cmdline = vp_strdup("xpcie_acs_override=downstream pcie_acs_override_x=1");
        run(h, NONE, -1, NULL, &f);
        refute(&f, "acs-override", NULL);
        refute(&f, "unsafe-interrupts", NULL);
    }
    vp_findings_clear(&f);
}

/* A remote host: no host facts, no device facts: one host-remote, one config-unavailable per
 * device, and no guess. */
static void
test_host_remote(void **state)
{
    vp_autoptr(vp_host) h = vp_host_new();
    vp_findings f = {0};
    vp_device *d;

    (void)state;
    h->uri = vp_strdup("qemu+ssh://root@far/system");
    add_port(h, "0000:00:01.0", 1, VP_PCIE_ROOT_PORT);
    d = add_dev(h, "0000:01:00.0", 26, "tg3", 0x020000);
    set_parent(d, "0000:00:01.0");
    vp_strv_push(&d->netdevs, "eno1");
    d = add_dev(h, "0000:01:00.1", 26, "tg3", 0x020000);
    set_parent(d, "0000:00:01.0");
    for (size_t i = 0; i < h->n_devices; i++) {
        vp_pci_facts_free(h->devices[i]->facts);
        h->devices[i]->facts = NULL;
    }
    run(h, SEL("0000:01:00.1"), -1, NULL, &f);
    expect(&f, "host-remote", "host", VP_SEV_INFO, VP_SUBJECT_HOST, "qemu+ssh://root@far/system",
           "not checked");
    assert_int_equal(count(&f, "host-remote"), 1);
    expect(&f, "config-unavailable", "0000:01:00.1", VP_SEV_INFO, VP_SUBJECT_DEVICE,
           "skipped (remote)");
    /* The unselected group member too (it would be isolated). */
    expect(&f, "config-unavailable", "0000:01:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
           "skipped (remote)");
    assert_int_equal(count(&f, "config-unavailable"), 2);
    refute(&f, "iommu-ok", NULL);
    refute(&f, "iommu-off", NULL); /* the node devices report groups */
    refute(&f, "reset-ok", NULL);
    refute(&f, "no-reset", NULL);
    refute(&f, "intx-only", NULL);
    refute(&f, "rom-absent", NULL);
    refute(&f, "rom-present", NULL);
    refute(&f, "acs-missing-upstream", NULL);
    refute(&f, "host-critical-netdev", NULL);
    refute(&f, "host-critical-vga", NULL);
    /* Group completeness still works from the inventory alone. */
    expect(&f, "group-isolate", "0000:01:00.0", VP_SEV_WARN, VP_SUBJECT_DEVICE, "tg3, eno1");
    assert_int_equal(vp_findings_worst(&f, false), VP_SEV_WARN);
    vp_findings_clear(&f);

    {
        /* A remote host whose devices report no group: the IOMMU is off there. */
        vp_autoptr(vp_host) r = vp_host_new();

        d = add_dev(r, "0000:01:00.0", -1, "tg3", 0x020000);
        vp_pci_facts_free(d->facts);
        d->facts = NULL;
        run(r, NONE, -1, NULL, &f);
        expect(&f, "iommu-off", "host", VP_SEV_BLOCK, VP_SUBJECT_HOST, "no PCI device reports");
        expect(&f, "host-remote", "host", VP_SEV_INFO, VP_SUBJECT_HOST, "remote connection");
        refute(&f, "vfio-not-loaded", NULL);
    }
    vp_findings_clear(&f);
}

/* ---- groups ---- */

static void
test_group_whole(void **state)
{
    vp_autoptr(vp_host) h = std_host();
    vp_findings f = {0};

    (void)state;
    run(h, NONE, 26, NULL, &f);
    expect(&f, "group-member", "0000:01:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
           "0000:01:00.0 (tg3, eno1)", "group 26, selected", "must leave tg3 for vfio-pci");
    expect(&f, "group-member", "0000:01:00.1", VP_SEV_INFO, VP_SUBJECT_DEVICE, "selected");
    expect(&f, "group-complete", "26", VP_SEV_OK, VP_SUBJECT_GROUP, "every endpoint (2)");
    refute(&f, "group-incomplete", NULL);
    refute(&f, "group-isolate", NULL);
    refute(&f, "group-member-owned", NULL);
    /* Each selected function gets its device checks. */
    expect(&f, "reset-ok", "0000:01:00.0", VP_SEV_OK, VP_SUBJECT_DEVICE, "flr");
    expect(&f, "reset-ok", "0000:01:00.1", VP_SEV_OK, VP_SUBJECT_DEVICE, "flr");
    /* The selection as functions gives the same findings as the group. */
    {
        vp_findings g = {0};

        run(h, SEL("0000:01:00.1", "0000:01:00.0", "0000:01:00.1"), -1, NULL, &g);
        assert_int_equal(g.n, f.n);
        for (size_t i = 0; i < f.n; i++) {
            assert_string_equal(g.items[i].code, f.items[i].code);
            assert_string_equal(g.items[i].message, f.items[i].message);
        }
        vp_findings_clear(&g);
    }
    /* Member roles and ROM notes are information: nothing to accept. */
    assert_int_equal(vp_findings_worst(&f, false), VP_SEV_INFO);
    vp_findings_clear(&f);
}

/* One function of the NIC: the other one is isolated (bound to vfio-pci, unassigned). */
static void
test_group_one_function(void **state)
{
    vp_autoptr(vp_host) h = std_host();
    vp_findings f = {0};

    (void)state;
    add_netif(h, "eno1", NULL, NULL, false); /* down, no address: not host-critical */
    run(h, SEL("0000:01:00.1"), -1, NULL, &f);
    expect(&f, "group-member", "0000:01:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE, "not selected",
           "must leave tg3");
    expect(&f, "group-isolate", "0000:01:00.0", VP_SEV_WARN, VP_SUBJECT_DEVICE,
           "0000:01:00.0 (tg3, eno1): not selected, in group 26: will be bound to vfio-pci and "
           "kept unassigned");
    refute(&f, "group-isolate", "0000:01:00.1");
    refute(&f, "group-complete", NULL);
    refute(&f, "group-incomplete", NULL);
    /* The isolated function is not checked as an assignment. */
    refute(&f, "reset-ok", "0000:01:00.0");
    expect(&f, "reset-ok", "0000:01:00.1", VP_SEV_OK, VP_SUBJECT_DEVICE, "flr");
    assert_int_equal(vp_findings_worst(&f, false), VP_SEV_WARN);
    vp_findings_clear(&f);

    {
        /* Already on vfio-pci, or no driver: isolation costs nothing (info). */
        vp_autoptr(vp_host) v = std_host();

        free(v->devices[1]->driver);
        v->devices[1]->driver = vp_strdup("vfio-pci");
        run(v, SEL("0000:01:00.1"), -1, NULL, &f);
        expect(&f, "group-isolate", "0000:01:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
               "already on vfio-pci");
        expect(&f, "group-member", "0000:01:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
               "already on vfio-pci");
    }
    {
        vp_autoptr(vp_host) v = std_host();

        free(v->devices[1]->driver);
        v->devices[1]->driver = NULL;
        run(v, SEL("0000:01:00.1"), -1, NULL, &f);
        expect(&f, "group-isolate", "0000:01:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE, "no driver",
               "will be bound to vfio-pci");
    }
    vp_findings_clear(&f);
}

/* The other function carries the default route: it cannot be isolated. */
static void
test_group_incomplete(void **state)
{
    vp_autoptr(vp_host) h = std_host();
    vp_findings f = {0};

    (void)state;
    add_netif(h, "eno1", NULL, "192.0.2.10/24", true);
    run(h, SEL("0000:01:00.1"), -1, NULL, &f);
    expect(&f, "group-incomplete", "26", VP_SEV_BLOCK, VP_SUBJECT_GROUP, "0000:01:00.0",
           "eno1 carries the default route", "--force");
    assert_true(vp_findings_find(&f, "group-incomplete", "26")->overridable);
    expect(&f, "host-critical-netdev", "0000:01:00.0", VP_SEV_BLOCK, VP_SUBJECT_DEVICE,
           "0000:01:00.0: eno1 carries the default route, has address 192.0.2.10/24");
    refute(&f, "group-isolate", NULL);
    refute(&f, "group-complete", NULL);
    refute(&f, "host-critical-netdev", "0000:01:00.1");
    assert_int_equal(vp_findings_worst(&f, false), VP_SEV_BLOCK);
    assert_int_equal(vp_findings_worst(&f, true), VP_SEV_WARN);
    vp_findings_clear(&f);
}

/* The other function belongs to another domain: not even --force. */
static void
test_group_member_owned(void **state)
{
    vp_autoptr(vp_host) h = std_host();
    vp_findings f = {0};

    (void)state;
    add_domain(h, "vm2", true, "pc-q35-7.2", VP_FIRMWARE_EFI);
    add_domain(h, "vm1", false, "pc-q35-7.2", VP_FIRMWARE_EFI);
    assign(h, "vm2", "0000:01:00.0", true);
    run(h, SEL("0000:01:00.1"), -1, "vm1", &f);
    expect(&f, "group-member-owned", "0000:01:00.0", VP_SEV_BLOCK, VP_SUBJECT_DEVICE,
           "held by vm2 (running)", "cannot be split");
    assert_false(vp_findings_find(&f, "group-member-owned", NULL)->overridable);
    expect(&f, "group-incomplete", "26", VP_SEV_BLOCK, VP_SUBJECT_GROUP,
           "0000:01:00.0 (held by vm2 (running))", "other domains");
    assert_false(vp_findings_find(&f, "group-incomplete", "26")->overridable);
    refute(&f, "group-member", "0000:01:00.0");
    /* A member of another domain's group is not this selection's device: no owned-by. */
    refute(&f, "owned-by-other-domain", NULL);
    assert_int_equal(vp_findings_worst(&f, true), VP_SEV_BLOCK);
    vp_findings_clear(&f);

    {
        /* Held by the target domain itself: covered, the group is complete. */
        vp_autoptr(vp_host) v = std_host();

        add_domain(v, "vm1", false, "pc-q35-7.2", VP_FIRMWARE_EFI);
        assign(v, "vm1", "0000:01:00.0", false);
        run(v, SEL("0000:01:00.1"), -1, "vm1", &f);
        expect(&f, "group-member", "0000:01:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
               "already held by vm1");
        expect(&f, "group-complete", "26", VP_SEV_OK, VP_SUBJECT_GROUP,
               "the domain will hold every endpoint (2)");
        refute(&f, "group-member-owned", NULL);
        refute(&f, "group-isolate", NULL);
    }
    vp_findings_clear(&f);
}

static void
test_group_rmrr(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        vp_autoptr(vp_host) h = std_host();

        vp_host_mark_group_regions_read(h, 26);
        vp_host_add_group_region(h, 26, 0x7b800000, 0x7b9fffff, "direct");
        vp_host_add_group_region(h, 26, 0xfee00000, 0xfeefffff, "msi");
        run(h, NONE, 26, NULL, &f);
        expect(&f, "rmrr-direct", "26", VP_SEV_BLOCK, VP_SUBJECT_GROUP, "0x7b800000-0x7b9fffff",
               "RMRR", "refuses");
        assert_false(vp_findings_find(&f, "rmrr-direct", "26")->overridable);
        assert_null(strstr(vp_findings_find(&f, "rmrr-direct", "26")->message, "0xfee00000"));
        refute(&f, "rmrr-relaxable", NULL);
        assert_int_equal(vp_findings_worst(&f, true), VP_SEV_BLOCK);
    }
    {
        vp_autoptr(vp_host) h = std_host();

        vp_host_mark_group_regions_read(h, 26);
        vp_host_add_group_region(h, 26, 0x3e2e0000, 0x3e2fffff, "direct-relaxable");
        run(h, NONE, 26, NULL, &f);
        expect(&f, "rmrr-relaxable", "26", VP_SEV_INFO, VP_SUBJECT_GROUP, "0x3e2e0000-0x3e2fffff",
               "direct-relaxable");
        refute(&f, "rmrr-direct", NULL);
    }
    {
        /* Regions recorded but not marked read (a source that never got to read them). */
        vp_autoptr(vp_host) h = std_host();

        vp_host_add_group_region(h, 26, 0x7b800000, 0x7b9fffff, "direct");
        run(h, NONE, 26, NULL, &f);
        refute(&f, "rmrr-direct", NULL);
    }
    vp_findings_clear(&f);
}

/* ---- devices ---- */

static void
test_device_owned_and_bridge(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        vp_autoptr(vp_host) h = std_host();

        add_domain(h, "vm2", false, "q35", VP_FIRMWARE_BIOS);
        assign(h, "vm2", "0000:01:00.1", false);
        run(h, SEL("0000:01:00.1"), -1, NULL, &f);
        expect(&f, "owned-by-other-domain", "0000:01:00.1", VP_SEV_BLOCK, VP_SUBJECT_DEVICE,
               "0000:01:00.1: held by vm2 (defined, shut off)", "detach-device");
        assert_false(vp_findings_find(&f, "owned-by-other-domain", NULL)->overridable);
        assert_int_equal(vp_findings_worst(&f, true), VP_SEV_BLOCK);
        refute(&f, "bridge-selected", NULL);
    }
    {
        /* Held by the target: not "another" domain. */
        vp_autoptr(vp_host) h = std_host();

        add_domain(h, "vm2", true, "q35", VP_FIRMWARE_BIOS);
        assign(h, "vm2", "0000:01:00.1", true);
        run(h, SEL("0000:01:00.1"), -1, "vm2", &f);
        refute(&f, "owned-by-other-domain", NULL);
        run(h, SEL("0000:01:00.1"), -1, NULL, &f);
        expect(&f, "owned-by-other-domain", "0000:01:00.1", VP_SEV_BLOCK, VP_SUBJECT_DEVICE,
               "vm2 (running)");
    }
    {
        vp_autoptr(vp_host) h = std_host();

        run(h, SEL("0000:00:01.0"), -1, NULL, &f);
        expect(&f, "bridge-selected", "0000:00:01.0", VP_SEV_BLOCK, VP_SUBJECT_DEVICE,
               "is a PCI bridge", "endpoint");
        assert_false(vp_findings_find(&f, "bridge-selected", NULL)->overridable);
        /* No device checks on a bridge. */
        refute(&f, "reset-ok", NULL);
        refute(&f, "rom-absent", NULL);
        refute(&f, "config-unavailable", NULL);
        expect(&f, "group-member", "0000:00:01.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
               "bridge in group 1: stays with the host");
    }
    vp_findings_clear(&f);
}

static void
test_device_config_unavailable(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        /* Local, but facts missing. */
        vp_autoptr(vp_host) h = std_host();

        vp_pci_facts_free(h->devices[2]->facts);
        h->devices[2]->facts = NULL;
        run(h, SEL("0000:01:00.1"), -1, NULL, &f);
        expect(&f, "config-unavailable", "0000:01:00.1", VP_SEV_INFO, VP_SUBJECT_DEVICE,
               "config space not read", "/sys/bus/pci/devices/0000:01:00.1/config");
        assert_null(strstr(vp_findings_find(&f, "config-unavailable", NULL)->message, "remote"));
        refute(&f, "reset-ok", "0000:01:00.1");
        refute(&f, "no-reset", "0000:01:00.1");
        refute(&f, "rom-absent", "0000:01:00.1");
    }
    {
        /* Not root: 64 bytes; capability checks skipped, sysfs-based ones still run. */
        vp_autoptr(vp_host) h = std_host();
        vp_device *d = h->devices[2];

        d->facts->config_len = 64;
        d->facts->has_msi = d->facts->has_msix = false; /* invisible, not absent */
        d->facts->flr = false;
        d->facts->rom_size = 64 * KiB;
        run(h, SEL("0000:01:00.1"), -1, NULL, &f);
        expect(&f, "config-unavailable", "0000:01:00.1", VP_SEV_INFO, VP_SUBJECT_DEVICE,
               "only 64 bytes", "capabilities unknown", "run vpass as root");
        refute(&f, "intx-only", NULL);
        refute(&f, "no-reset", NULL);
        refute(&f, "reset-ok", NULL);
        refute(&f, "acs-missing-upstream", "0000:01:00.1");
        expect(&f, "rom-present", "0000:01:00.1", VP_SEV_INFO, VP_SUBJECT_DEVICE, "64 KiB");
    }
    {
        vp_autoptr(vp_host) h = std_host();

        run(h, SEL("0000:01:00.1"), -1, NULL, &f);
        refute(&f, "config-unavailable", NULL);
    }
    vp_findings_clear(&f);
}

static void
test_device_host_critical(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        /* eno2 is a port of br0, which holds the address and the default route. */
        vp_autoptr(vp_host) h = std_host();
        vp_netif *br;

        add_netif(h, "eno2", "br0", NULL, false);
        br = add_netif(h, "br0", NULL, "192.0.2.5/24", true);
        vp_strv_push(&br->routes, "10.0.0.0/8");
        run(h, NONE, 26, NULL, &f);
        expect(&f, "host-critical-netdev", "0000:01:00.1", VP_SEV_BLOCK, VP_SUBJECT_DEVICE,
               "0000:01:00.1: eno2 is a port of br0 (which carries the default route, has "
               "address 192.0.2.5/24, routes 10.0.0.0/8)",
               "move the host's traffic off eno2", "--force");
        assert_true(vp_findings_find(&f, "host-critical-netdev", NULL)->overridable);
        refute(&f, "host-critical-netdev", "0000:01:00.0");
        refute(&f, "host-critical-storage", NULL);
        refute(&f, "host-critical-vga", NULL);
        assert_int_equal(vp_findings_worst(&f, true), VP_SEV_WARN);
    }
    {
        vp_autoptr(vp_host) h = local_host();
        vp_device *nvme = add_dev(h, "0000:3b:00.0", 40, "nvme", 0x010802);

        (void)nvme;
        add_mount(h, "/", "/dev/nvme0n1p2", "0000:3b:00.0");
        add_mount(h, "[swap]", "/dev/nvme0n1p3", "0000:3b:00.0");
        add_mount(h, "/data", "/dev/sda1", "0000:00:17.0");
        run(h, SEL("0000:3b:00.0"), -1, NULL, &f);
        expect(&f, "host-critical-storage", "0000:3b:00.0", VP_SEV_BLOCK, VP_SUBJECT_DEVICE,
               "/ (/dev/nvme0n1p2), [swap] (/dev/nvme0n1p3)", "unmount", "--force");
        assert_null(strstr(vp_findings_find(&f, "host-critical-storage", NULL)->message, "/data"));
        assert_true(vp_findings_find(&f, "host-critical-storage", NULL)->overridable);
        refute(&f, "host-critical-netdev", NULL);
    }
    {
        vp_autoptr(vp_host) h = local_host();
        vp_device *gpu = add_dev(h, "0000:00:02.0", 2, "i915", 0x030000);

        gpu->facts->has_boot_vga = gpu->facts->boot_vga = true;
        gpu->facts->rom_size = 64 * KiB;
        run(h, SEL("0000:00:02.0"), -1, NULL, &f);
        expect(&f, "host-critical-vga", "0000:00:02.0", VP_SEV_BLOCK, VP_SUBJECT_DEVICE, "boot VGA",
               "console", "--force");
        assert_true(vp_findings_find(&f, "host-critical-vga", NULL)->overridable);
        assert_int_equal(vp_findings_worst(&f, true), VP_SEV_WARN);
    }
    {
        vp_autoptr(vp_host) h = local_host();
        vp_device *gpu = add_dev(h, "0000:41:00.0", 50, "nvidia", 0x030000);

        gpu->facts->has_boot_vga = true; /* boot_vga = 0 */
        run(h, SEL("0000:41:00.0"), -1, NULL, &f);
        refute(&f, "host-critical-vga", NULL);
    }
    vp_findings_clear(&f);
}

/* Two conventional INTx-only cards behind a PCIe-to-PCI bridge (the seeds' irq 16 clash). */
static vp_host *
intx_host(void)
{
    vp_host *h = local_host();
    vp_device *b, *d;

    add_port(h, "0000:00:1c.0", 10, VP_PCIE_ROOT_PORT);
    b = add_port(h, "0000:04:00.0", 11, VP_PCIE_PCIE_TO_PCI);
    set_parent(b, "0000:00:1c.0");
    d = add_dev(h, "0000:05:01.0", 11, "e100", 0x020000);
    set_parent(d, "0000:04:00.0");
    d->is_pcie = false;
    d->facts->config_len = 256;
    d->facts->pcie_type = VP_PCIE_NONE;
    d->facts->has_msi = d->facts->has_msix = false;
    d->facts->flr = false;
    d->facts->irq = 16;
    d = add_dev(h, "0000:05:02.0", 11, "snd_ens1371", 0x040100);
    set_parent(d, "0000:04:00.0");
    d->is_pcie = false;
    d->facts->config_len = 256;
    d->facts->pcie_type = VP_PCIE_NONE;
    d->facts->has_msi = d->facts->has_msix = false;
    d->facts->interrupt_pin = 2;
    d->facts->irq = 16;
    /* A host device on the same line, INTx only. */
    d = add_dev(h, "0000:00:14.0", 3, "xhci_hcd", 0x0c0330);
    d->facts->has_msi = d->facts->has_msix = false;
    d->facts->irq = 16;
    /* A host device on the same line that has MSI (its driver does not use the line). */
    d = add_dev(h, "0000:00:16.0", 4, "mei_me", 0x078000);
    d->facts->irq = 16;
    return h;
}

static void
test_device_intx(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        vp_autoptr(vp_host) h = intx_host();

        run(h, NONE, 11, NULL, &f);
        expect(&f, "intx-only", "0000:05:01.0", VP_SEV_WARN, VP_SUBJECT_DEVICE, "INTA#",
               "no MSI or MSI-X");
        expect(&f, "intx-only", "0000:05:02.0", VP_SEV_WARN, VP_SUBJECT_DEVICE, "INTB#");
        expect(&f, "intx-shared", "0000:05:01.0", VP_SEV_BLOCK, VP_SUBJECT_DEVICE,
               "IRQ 16 with selected INTx-only 0000:05:02.0", "host device 0000:00:14.0 (xhci_hcd)",
               "Flags mismatch");
        expect(&f, "intx-shared", "0000:05:02.0", VP_SEV_BLOCK, VP_SUBJECT_DEVICE,
               "selected INTx-only 0000:05:01.0");
        assert_null(strstr(vp_findings_find(&f, "intx-shared", NULL)->message, "0000:00:16.0"));
        /* Conventional PCI behind the PCIe-to-PCI bridge, which stays with the host. */
        expect(&f, "conventional-pci", "0000:05:01.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
               "behind PCIe-to-PCI bridge 0000:04:00.0", "shares its IOMMU group");
        expect(&f, "group-member", "0000:04:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
               "bridge in group 11");
        expect(&f, "group-complete", "11", VP_SEV_OK, VP_SUBJECT_GROUP, "every endpoint (2)");
        /* No FLR, but PM reset, and a bus reset: every device on the bus is selected. */
        expect(&f, "reset-ok", "0000:05:01.0", VP_SEV_OK, VP_SUBJECT_DEVICE, "(pm bus, from");
    }
    {
        /* One of them, the other on another line: only the host device shares. */
        vp_autoptr(vp_host) h = intx_host();

        h->devices[3]->facts->irq = 17;
        run(h, SEL("0000:05:01.0"), -1, NULL, &f);
        expect(&f, "intx-shared", "0000:05:01.0", VP_SEV_WARN, VP_SUBJECT_DEVICE,
               "with host device 0000:00:14.0 (xhci_hcd)");
        assert_null(strstr(vp_findings_find(&f, "intx-shared", NULL)->message, "selected"));
    }
    {
        /* Alone on its line. */
        vp_autoptr(vp_host) h = intx_host();

        h->devices[3]->facts->irq = 17;
        h->devices[4]->facts->irq = 18;
        run(h, SEL("0000:05:01.0"), -1, NULL, &f);
        expect(&f, "intx-only", "0000:05:01.0", VP_SEV_WARN, VP_SUBJECT_DEVICE, "INTA#");
        refute(&f, "intx-shared", NULL);
    }
    {
        /* MSI-capable PCIe devices: none of this. */
        vp_autoptr(vp_host) h = std_host();

        run(h, NONE, 26, NULL, &f);
        refute(&f, "intx-only", NULL);
        refute(&f, "intx-shared", NULL);
        refute(&f, "conventional-pci", NULL);
    }
    vp_findings_clear(&f);
}

static void
test_device_acs(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        /* Root port without ACS, switch downstream port with ACS partly enabled. */
        vp_autoptr(vp_host) h = local_host();
        vp_device *rp = add_port(h, "0000:40:01.1", 60, VP_PCIE_ROOT_PORT);
        vp_device *up = add_port(h, "0000:41:00.0", 61, VP_PCIE_UPSTREAM);
        vp_device *dp = add_port(h, "0000:42:08.0", 62, VP_PCIE_DOWNSTREAM);
        vp_device *gpu = add_dev(h, "0000:43:00.0", 63, "nvidia", 0x030000);

        rp->facts->has_acs = false;
        up->facts->has_acs = false; /* upstream ports have none; not required there */
        set_parent(up, "0000:40:01.1");
        dp->facts->acs_ctrl = VP_ACS_SV;
        set_parent(dp, "0000:41:00.0");
        set_parent(gpu, "0000:42:08.0");
        run(h, SEL("0000:43:00.0"), -1, NULL, &f);
        expect(&f, "acs-missing-upstream", "0000:43:00.0", VP_SEV_WARN, VP_SUBJECT_DEVICE,
               "0000:42:08.0 (downstream port) lacks RR CR UF",
               "0000:40:01.1 (root port) lacks SV RR CR UF: no ACS capability", "peer-to-peer",
               "pcie_acs_override");
        assert_null(
            strstr(vp_findings_find(&f, "acs-missing-upstream", NULL)->message, "0000:41:00.0"));
    }
    {
        /* Bits not advertised by the capability count as hard-wired (the kernel's rule). */
        vp_autoptr(vp_host) h = local_host();
        vp_device *rp = add_port(h, "0000:40:01.1", 60, VP_PCIE_ROOT_PORT);
        vp_device *gpu = add_dev(h, "0000:41:00.0", 63, "nvidia", 0x030000);

        rp->facts->acs_cap = VP_ACS_SV | VP_ACS_RR;
        rp->facts->acs_ctrl = VP_ACS_SV | VP_ACS_RR;
        set_parent(gpu, "0000:40:01.1");
        run(h, SEL("0000:41:00.0"), -1, NULL, &f);
        refute(&f, "acs-missing-upstream", NULL);
    }
    {
        /* A multifunction device without ACS among its functions. */
        vp_autoptr(vp_host) h = std_host();

        h->devices[1]->facts->acs_ctrl = VP_ACS_RR;
        run(h, SEL("0000:01:00.0"), -1, NULL, &f);
        expect(&f, "acs-missing-upstream", "0000:01:00.0", VP_SEV_WARN, VP_SUBJECT_DEVICE,
               "0000:01:00.0 (multifunction) lacks CR");
    }
    {
        /* A port whose extended config space was not read: unknown, said as such. */
        vp_autoptr(vp_host) h = std_host();

        h->devices[0]->facts->config_len = 256;
        run(h, SEL("0000:01:00.0"), -1, NULL, &f);
        expect(&f, "acs-missing-upstream", "0000:01:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
               "ACS upstream unknown", "0000:00:01.0 (root port)", "run vpass as root");
    }
    {
        vp_autoptr(vp_host) h = std_host();

        run(h, NONE, 26, NULL, &f);
        refute(&f, "acs-missing-upstream", NULL);
    }
    vp_findings_clear(&f);
}

static void
test_device_reset(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        /* sysfs reset_method is authoritative, both ways. */
        vp_autoptr(vp_host) h = std_host();

        h->devices[1]->facts->reset_method = vp_strdup("");
        h->devices[2]->facts->flr = false;
        h->devices[2]->facts->reset_method = vp_strdup("pm bus\n");
        run(h, NONE, 26, NULL, &f);
        expect(&f, "no-reset", "0000:01:00.0", VP_SEV_WARN, VP_SUBJECT_DEVICE,
               "reset_method is empty", "FLR");
        refute(&f, "reset-ok", "0000:01:00.0");
        expect(&f, "reset-ok", "0000:01:00.1", VP_SEV_OK, VP_SUBJECT_DEVICE, "(pm bus, from sysfs");
        refute(&f, "no-reset", "0000:01:00.1");
    }
    {
        /* No reset_method: from the capabilities. No FLR, NoSoftRst=1, a sibling on the bus. */
        vp_autoptr(vp_host) h = std_host();

        for (size_t i = 1; i <= 2; i++) {
            h->devices[i]->facts->flr = false;
            h->devices[i]->facts->pm_no_soft_reset = true;
        }
        run(h, SEL("0000:01:00.1"), -1, NULL, &f);
        expect(&f, "no-reset", "0000:01:00.1", VP_SEV_WARN, VP_SUBJECT_DEVICE, "no FLR",
               "NoSoftRst=1", "other devices share its bus");
        /* Both functions selected: the bus can be reset. */
        run(h, NONE, 26, NULL, &f);
        expect(&f, "reset-ok", "0000:01:00.1", VP_SEV_OK, VP_SUBJECT_DEVICE, "(bus, from the");
        refute(&f, "no-reset", NULL);
    }
    {
        vp_autoptr(vp_host) h = std_host();

        h->devices[2]->facts->flr = false;
        run(h, SEL("0000:01:00.1"), -1, NULL, &f);
        expect(&f, "reset-ok", "0000:01:00.1", VP_SEV_OK, VP_SUBJECT_DEVICE, "(pm, from the");
    }
    {
        /* On a root bus, no PM: nothing at all. */
        vp_autoptr(vp_host) h = local_host();
        vp_device *d = add_dev(h, "0000:00:1f.3", 14, "snd_hda_intel", 0x040300);

        d->facts->flr = false;
        d->facts->has_pm = false;
        run(h, SEL("0000:00:1f.3"), -1, NULL, &f);
        expect(&f, "no-reset", "0000:00:1f.3", VP_SEV_WARN, VP_SUBJECT_DEVICE,
               "no power management", "on a root bus");
    }
    {
        /* A parent missing from the inventory: no bus reset vpass can vouch for. */
        vp_autoptr(vp_host) h = local_host();
        vp_device *d = add_dev(h, "0000:07:00.0", 14, "xhci_hcd", 0x0c0330);

        set_parent(d, "0000:00:1c.4");
        d->facts->flr = false;
        d->facts->pm_no_soft_reset = true;
        run(h, SEL("0000:07:00.0"), -1, NULL, &f);
        expect(&f, "no-reset", "0000:07:00.0", VP_SEV_WARN, VP_SUBJECT_DEVICE, "no FLR");
        refute(&f, "reset-ok", NULL);
    }
    vp_findings_clear(&f);
}

static void
test_device_rom(void **state)
{
    vp_findings f = {0};
    vp_autoptr(vp_host) h = local_host();
    vp_device *gpu = add_dev(h, "0000:41:00.0", 50, "nvidia", 0x030000);
    vp_device *nic = add_dev(h, "0000:18:00.0", 26, "ixgbe", 0x020000);
    vp_device *vf = add_dev(h, "0000:18:10.0", 70, "ixgbevf", 0x020000);
    vp_device *gpu2 = add_dev(h, "0000:42:00.0", 51, "amdgpu", 0x030000);
    vp_device *hba = add_dev(h, "0000:5e:00.0", 52, "mpt3sas", 0x010700);

    (void)state;
    gpu->facts->rom_size = 128 * KiB;
    nic->facts->rom_size = 512 * KiB;
    vf->is_vf = true;
    vf->facts->rom_size = 512 * KiB; /* nonsense from a broken source: a VF has none */
    hba->facts->rom_size = 1 * MiB;
    gpu2->facts->rom_size = 0; /* a GPU without a ROM BAR */
    run(h, SEL("0000:41:00.0", "0000:18:00.0", "0000:18:10.0", "0000:42:00.0", "0000:5e:00.0"), -1,
        NULL, &f);
    expect(&f, "rom-present", "0000:41:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
           "GPU expansion ROM of 128 KiB", "rom bar='on'");
    expect(&f, "rom-present", "0000:18:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
           "NIC expansion ROM of 512 KiB", "rom bar='off'", "PXE");
    expect(&f, "rom-absent", "0000:18:10.0", VP_SEV_INFO, VP_SUBJECT_DEVICE, "a VF has none");
    refute(&f, "rom-present", "0000:18:10.0");
    expect(&f, "rom-absent", "0000:42:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
           "GPU without an expansion ROM", "rom file=");
    expect(&f, "rom-present", "0000:5e:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE, "1 MiB",
           "rom bar='off'");
    refute(&f, "rom-absent", "0000:41:00.0");
    vp_findings_clear(&f);
}

static void
test_device_large_bar(void **state)
{
    vp_findings f = {0};
    vp_autoptr(vp_host) h = local_host();
    vp_device *gpu = add_dev(h, "0000:41:00.0", 50, "nvidia", 0x030000);
    vp_device *nic = add_dev(h, "0000:18:00.0", 26, "ixgbe", 0x020000);

    (void)state;
    set_bar(gpu, 0, 16 * MiB, false, false);
    set_bar(gpu, 1, 16 * GiB, true, true);
    set_bar(gpu, 3, 32 * MiB, true, true);
    set_bar(nic, 0, 128 * MiB, true, true);  /* 64-bit prefetchable, under the threshold */
    set_bar(nic, 2, 512 * MiB, true, false); /* 64-bit non-prefetchable: not counted */
    run(h, SEL("0000:41:00.0", "0000:18:00.0"), -1, NULL, &f);
    expect(&f, "large-bar", "0000:41:00.0", VP_SEV_INFO, VP_SUBJECT_DEVICE,
           "64-bit prefetchable BARs total 16.0 GiB", "BAR1 16 GiB, BAR3 32 MiB", "--domain");
    assert_null(strstr(vp_findings_find(&f, "large-bar", NULL)->message, "BAR0"));
    refute(&f, "large-bar", "0000:18:00.0");
    vp_findings_clear(&f);
}

/* ---- domains ---- */

/* A host with a GPU (16 GiB + 32 MiB 64-bit BARs) in group 50 and the NIC of std_host. */
static vp_host *
gpu_host(void)
{
    vp_host *h = std_host();
    vp_device *gpu = add_dev(h, "0000:41:00.0", 50, "nvidia", 0x030000);
    vp_device *audio = add_dev(h, "0000:41:00.1", 50, "snd_hda_intel", 0x040300);

    set_bar(gpu, 0, 16 * MiB, false, false);
    set_bar(gpu, 1, 16 * GiB, true, true);
    set_bar(gpu, 3, 32 * MiB, true, true);
    gpu->facts->rom_size = 128 * KiB;
    set_bar(audio, 0, 16 * KiB, false, false);
    return h;
}

static void
test_domain_basics(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        vp_autoptr(vp_host) h = gpu_host();

        add_domain(h, "vm1", false, "pc-q35-7.2", VP_FIRMWARE_BIOS);
        run(h, NONE, 50, "vm1", &f);
        expect(&f, "machine-q35", "vm1", VP_SEV_OK, VP_SUBJECT_DOMAIN, "pc-q35-7.2", "PCIe");
        expect(&f, "firmware-bios", "vm1", VP_SEV_INFO, VP_SUBJECT_DOMAIN, "SeaBIOS",
               "<pcihole64>");
        expect(&f, "no-migration", "vm1", VP_SEV_WARN, VP_SUBJECT_DOMAIN, "live-migrated",
               "managed-saved", "ON_SHUTDOWN=shutdown");
        refute(&f, "machine-i440fx", NULL);
        refute(&f, "firmware-efi", NULL);
        refute(&f, "domain-owns", NULL);
        refute(&f, "domain-config-unavailable", NULL);
    }
    {
        /* Already holds both functions: nothing to do, so no migration news either. */
        vp_autoptr(vp_host) h = gpu_host();

        add_domain(h, "vm1", true, "pc-q35-7.2", VP_FIRMWARE_EFI);
        assign(h, "vm1", "0000:41:00.0", true);
        assign(h, "vm1", "0000:41:00.1", true);
        run(h, NONE, 50, "vm1", &f);
        expect(&f, "domain-owns", "vm1", VP_SEV_OK, VP_SUBJECT_DOMAIN,
               "already holds 0000:41:00.0, 0000:41:00.1: nothing to do");
        expect(&f, "firmware-efi", "vm1", VP_SEV_INFO, VP_SUBJECT_DOMAIN, "OVMF", "X-PciMmio64Mb");
        refute(&f, "no-migration", NULL);
        refute(&f, "owned-by-other-domain", NULL);
        refute(&f, "firmware-bios", NULL);
        /* No domain given: the same device is now another domain's. */
        run(h, NONE, 50, NULL, &f);
        refute(&f, "domain-owns", NULL);
        expect(&f, "owned-by-other-domain", "0000:41:00.0", VP_SEV_BLOCK, VP_SUBJECT_DEVICE,
               "vm1 (running)");
    }
    {
        /* i440fx with a PCIe device; and with conventional PCI only. */
        vp_autoptr(vp_host) h = gpu_host();

        add_domain(h, "old", false, "pc-i440fx-7.2", VP_FIRMWARE_BIOS);
        run(h, SEL("0000:41:00.0"), -1, "old", &f);
        expect(&f, "machine-i440fx", "old", VP_SEV_WARN, VP_SUBJECT_DOMAIN, "pc-i440fx-7.2",
               "no PCIe topology", "0000:41:00.0", "q35");
        refute(&f, "machine-q35", NULL);
    }
    {
        vp_autoptr(vp_host) h = intx_host();

        add_domain(h, "old", false, "pc-1.2", VP_FIRMWARE_BIOS);
        run(h, SEL("0000:05:01.0"), -1, "old", &f);
        expect(&f, "machine-i440fx", "old", VP_SEV_INFO, VP_SUBJECT_DOMAIN,
               "no PCI Express device selected");
    }
    {
        /* Definition not read: say so once, judge nothing that needs it. */
        vp_autoptr(vp_host) h = gpu_host();

        add_domain(h, "vm3", false, NULL, VP_FIRMWARE_UNKNOWN);
        run(h, NONE, 50, "vm3", &f);
        expect(&f, "domain-config-unavailable", "vm3", VP_SEV_INFO, VP_SUBJECT_DOMAIN,
               "definition not read", "64-bit MMIO");
        refute(&f, "machine-q35", NULL);
        refute(&f, "machine-i440fx", NULL);
        refute(&f, "firmware-bios", NULL);
        refute(&f, "mmio64-ok", NULL);
        refute(&f, "mmio64-unknown", NULL);
        refute(&f, "mmio64-too-small", NULL);
        expect(&f, "no-migration", "vm3", VP_SEV_WARN, VP_SUBJECT_DOMAIN, "live-migrated");
    }
    vp_findings_clear(&f);
}

/* The estimate itself: aligned sum of 64-bit prefetchable BARs, rounded to a power of two. */
static void
test_mmio64_estimate(void **state)
{
    vp_autoptr(vp_host) h = gpu_host();
    vp_device *other;
    vp_domain *d;
    vp_check_target t = {0};
    vp_device *sel[1];
    vp_mmio64 m;

    (void)state;
    /* The domain already holds another GPU with an 8 GiB BAR and a card not on this host. */
    other = add_dev(h, "0000:81:00.0", 80, "vfio-pci", 0x030000);
    set_bar(other, 1, 8 * GiB, true, true);
    set_bar(other, 3, 8 * GiB, true, false); /* not prefetchable: not counted */
    d = add_domain(h, "vm1", false, "pc-q35-7.2", VP_FIRMWARE_EFI);
    d->maxphysaddr_mode = vp_strdup("emulate");
    d->has_maxphysaddr_bits = true;
    d->maxphysaddr_bits = 42;
    assign(h, "vm1", "0000:81:00.0", false);
    assign(h, "vm1", "0000:c1:00.0", false);
    vp_host_finalize(h);
    sel[0] = dev_at(h, "0000:41:00.0");
    t.devices = sel;
    t.n_devices = 1;
    t.domain = vp_host_find_domain(h, "vm1");
    vp_mmio64_estimate(h, &t, &m);
    /* 16 GiB + 8 GiB + 32 MiB = 24 GiB 32 MiB -> 32 GiB. */
    assert_int_equal(m.need, 32 * GiB);
    assert_int_equal(m.n_unknown, 1);
    assert_string_equal(m.unknown, "0000:c1:00.0");
    assert_true(m.window_known);
    assert_true(m.efi);
    assert_int_equal(m.window, 32 * GiB);
    assert_int_equal(m.dyn_window, 512 * GiB); /* 2^(42-3) */
    assert_false(m.dyn_host);
    vp_mmio64_clear(&m);
    assert_null(m.unknown);

    /* Natural alignment: a 1 GiB BAR after a 4 MiB one still starts on 1 GiB. Largest first
     * packs them: 4 GiB + 1 GiB + 4 MiB = 5 GiB 4 MiB -> 8 GiB. */
    {
        vp_autoptr(vp_host) g = local_host();
        vp_device *a = add_dev(g, "0000:01:00.0", 1, "x", 0x120000);
        vp_device *b = add_dev(g, "0000:02:00.0", 2, "x", 0x120000);

        set_bar(a, 0, 4 * MiB, true, true);
        set_bar(a, 2, 1 * GiB, true, true);
        set_bar(b, 0, 4 * GiB, true, true);
        add_domain(g, "vm", false, "q35", VP_FIRMWARE_BIOS);
        vp_host_finalize(g);
        sel[0] = dev_at(g, "0000:01:00.0");
        t.domain = vp_host_find_domain(g, "vm");
        t.devices = sel;
        t.n_devices = 1;
        vp_mmio64_estimate(g, &t, &m);
        assert_int_equal(m.need, 2 * GiB); /* 1 GiB + 4 MiB -> 2 GiB */
        assert_string_equal(m.window_from, "QEMU's q35 default pci-hole64-size");
        assert_int_equal(m.window, 32 * GiB);
        assert_false(m.efi);
        vp_mmio64_clear(&m);
        t.group = NULL;
        {
            vp_device *two[2] = {dev_at(g, "0000:01:00.0"), dev_at(g, "0000:02:00.0")};

            t.devices = two;
            t.n_devices = 2;
            vp_mmio64_estimate(g, &t, &m);
            assert_int_equal(m.need, 8 * GiB);
            assert_int_equal(m.n_unknown, 0);
            assert_null(m.unknown);
            vp_mmio64_clear(&m);
        }
    }
}

static void
test_domain_mmio64(void **state)
{
    vp_findings f = {0};

    (void)state;
    {
        /* SeaBIOS on q35: 32 GiB default window, the GPU needs 32 GiB (16 GiB + 32 MiB). */
        vp_autoptr(vp_host) h = gpu_host();

        add_domain(h, "vm1", false, "pc-q35-7.2", VP_FIRMWARE_BIOS);
        run(h, NONE, 50, "vm1", &f);
        expect(&f, "mmio64-ok", "vm1", VP_SEV_OK, VP_SUBJECT_DOMAIN, "needs 32 GiB",
               "the window is 32 GiB", "q35 default");
        refute(&f, "mmio64-too-small", NULL);
        refute(&f, "mmio64-unknown", NULL);
    }
    {
        /* SeaBIOS on i440fx: 2 GiB default: a warning with the pcihole64 fix. */
        vp_autoptr(vp_host) h = gpu_host();

        add_domain(h, "vm1", false, "pc-i440fx-7.2", VP_FIRMWARE_BIOS);
        run(h, NONE, 50, "vm1", &f);
        expect(&f, "mmio64-too-small", "vm1", VP_SEV_WARN, VP_SUBJECT_DOMAIN, "needs 32 GiB",
               "2 GiB window", "i440fx default", "hot-plug",
               "model='pci-root'><pcihole64 unit='KiB'>33554432</pcihole64>", "--mmio64 auto");
        refute(&f, "mmio64-ok", NULL);
    }
    {
        /* An explicit <pcihole64> of 0 disables the hole. */
        vp_autoptr(vp_host) h = gpu_host();
        vp_domain *d = add_domain(h, "vm1", false, "q35", VP_FIRMWARE_BIOS);

        d->has_pcihole64 = true;
        d->pcihole64_kib = 0;
        run(h, NONE, 50, "vm1", &f);
        expect(&f, "mmio64-too-small", "vm1", VP_SEV_WARN, VP_SUBJECT_DOMAIN, "0 B window",
               "<pcihole64>", "model='pcie-root'");
    }
    {
        /* OVMF without phys-bits: 32 GiB classic suffices for 32 GiB. */
        vp_autoptr(vp_host) h = gpu_host();

        add_domain(h, "vm1", false, "q35", VP_FIRMWARE_EFI);
        run(h, NONE, 50, "vm1", &f);
        expect(&f, "mmio64-ok", "vm1", VP_SEV_OK, VP_SUBJECT_DOMAIN, "OVMF's default");
    }
    {
        /* OVMF, 64 GiB needed, nothing known about phys-bits: depends on the OVMF version. */
        vp_autoptr(vp_host) h = gpu_host();

        set_bar(h->devices[h->n_devices - 2], 1, 64 * GiB, true, true);
        add_domain(h, "vm1", false, "q35", VP_FIRMWARE_EFI);
        run(h, NONE, 50, "vm1", &f);
        expect(&f, "mmio64-too-small", "vm1", VP_SEV_WARN, VP_SUBJECT_DOMAIN, "needs 128 GiB",
               "classic 32 GiB", "late 2022", "X-PciMmio64Mb,string=131072",
               "maxphysaddr mode='passthrough'");
        assert_false(vp_findings_find(&f, "mmio64-too-small", NULL)->overridable);
    }
    {
        /* OVMF, 42 phys-bits: the dynamic window (512 GiB) fits 128 GiB but not 1 TiB. */
        vp_autoptr(vp_host) h = gpu_host();
        vp_domain *d;

        set_bar(h->devices[h->n_devices - 2], 1, 64 * GiB, true, true);
        d = add_domain(h, "vm1", false, "q35", VP_FIRMWARE_EFI);
        d->maxphysaddr_mode = vp_strdup("emulate");
        d->has_maxphysaddr_bits = true;
        d->maxphysaddr_bits = 42;
        run(h, NONE, 50, "vm1", &f);
        expect(&f, "mmio64-too-small", "vm1", VP_SEV_WARN, VP_SUBJECT_DOMAIN,
               "fits only in the dynamic window", "512 GiB for 42 phys-bits");
    }
    {
        vp_autoptr(vp_host) h = gpu_host();
        vp_domain *d;

        set_bar(h->devices[h->n_devices - 2], 1, 1ULL << 40, true, true);
        d = add_domain(h, "vm1", false, "q35", VP_FIRMWARE_EFI);
        d->maxphysaddr_mode = vp_strdup("emulate");
        d->has_maxphysaddr_bits = true;
        d->maxphysaddr_bits = 42;
        run(h, NONE, 50, "vm1", &f);
        expect(&f, "mmio64-too-small", "vm1", VP_SEV_BLOCK, VP_SUBJECT_DOMAIN, "needs 2 TiB",
               "any version", "512 GiB dynamic", "string=2097152");
        assert_true(vp_findings_find(&f, "mmio64-too-small", NULL)->overridable);
        assert_int_equal(vp_findings_worst(&f, false), VP_SEV_BLOCK);
        assert_int_equal(vp_findings_worst(&f, true), VP_SEV_WARN);
    }
    {
        /* Passthrough phys-bits: the host decides. */
        vp_autoptr(vp_host) h = gpu_host();
        vp_domain *d;

        set_bar(h->devices[h->n_devices - 2], 1, 64 * GiB, true, true);
        d = add_domain(h, "vm1", false, "q35", VP_FIRMWARE_EFI);
        d->maxphysaddr_mode = vp_strdup("passthrough");
        run(h, NONE, 50, "vm1", &f);
        expect(&f, "mmio64-too-small", "vm1", VP_SEV_WARN, VP_SUBJECT_DOMAIN,
               "host's address width");
    }
    {
        /* Unknowns: BARs not read, and a guest that is not x86. */
        vp_autoptr(vp_host) h = gpu_host();

        vp_pci_facts_free(h->devices[h->n_devices - 2]->facts);
        h->devices[h->n_devices - 2]->facts = NULL;
        add_domain(h, "vm1", false, "q35", VP_FIRMWARE_EFI);
        run(h, NONE, 50, "vm1", &f);
        expect(&f, "mmio64-unknown", "vm1", VP_SEV_INFO, VP_SUBJECT_DOMAIN, "at least",
               "0000:41:00.0 not read");
        refute(&f, "mmio64-ok", NULL);
    }
    {
        vp_autoptr(vp_host) h = gpu_host();
        vp_domain *d = add_domain(h, "arm", false, "virt", VP_FIRMWARE_EFI);

        free(d->arch);
        d->arch = vp_strdup("aarch64");
        run(h, NONE, 50, "arm", &f);
        expect(&f, "mmio64-unknown", "arm", VP_SEV_INFO, VP_SUBJECT_DOMAIN, "not an x86 guest");
        refute(&f, "machine-q35", NULL);
        refute(&f, "machine-i440fx", NULL);
    }
    {
        /* Nothing 64-bit: nothing to say. */
        vp_autoptr(vp_host) h = std_host();

        add_domain(h, "vm1", false, "q35", VP_FIRMWARE_EFI);
        run(h, NONE, 26, "vm1", &f);
        refute(&f, "mmio64-ok", NULL);
        refute(&f, "mmio64-too-small", NULL);
        refute(&f, "mmio64-unknown", NULL);
    }
    vp_findings_clear(&f);
}

/* ---- order ---- */

/* Host, then groups in number order, then devices in address order, then the domain; the
 * selection given in any order. */
static void
test_order(void **state)
{
    static const char *const want[][2] = {
        {"iommu-ok", "host"},
        {"group-member", "0000:01:00.0"},
        {"group-member", "0000:01:00.1"},
        {"group-isolate", "0000:01:00.0"},
        {"group-member", "0000:41:00.0"},
        {"group-member", "0000:41:00.1"},
        {"group-complete", "50"},
        {"reset-ok", "0000:01:00.1"},
        {"rom-absent", "0000:01:00.1"},
        {"reset-ok", "0000:41:00.0"},
        {"rom-present", "0000:41:00.0"},
        {"large-bar", "0000:41:00.0"},
        {"reset-ok", "0000:41:00.1"},
        {"rom-absent", "0000:41:00.1"},
        {"machine-q35", "vm1"},
        {"firmware-efi", "vm1"},
        {"mmio64-ok", "vm1"},
        {"no-migration", "vm1"},
    };
    vp_autoptr(vp_host) h = gpu_host();
    vp_findings f = {0};

    (void)state;
    add_domain(h, "vm1", false, "pc-q35-7.2", VP_FIRMWARE_EFI);
    run(h, SEL("0000:41:00.1", "0000:01:00.1", "0000:41:00.0"), -1, "vm1", &f);
    if (f.n != VP_ARRAY_SIZE(want))
        dump(&f);
    assert_int_equal(f.n, VP_ARRAY_SIZE(want));
    for (size_t i = 0; i < f.n; i++) {
        if (strcmp(f.items[i].code, want[i][0]) != 0 ||
            strcmp(f.items[i].subject, want[i][1]) != 0) {
            dump(&f);
            fail_msg("finding %zu is %s %s, expected %s %s", i, f.items[i].code, f.items[i].subject,
                     want[i][0], want[i][1]);
        }
    }
    assert_int_equal(vp_findings_worst(&f, false), VP_SEV_WARN);
    vp_findings_clear(&f);
}

/* ---- docs and coverage ---- */

static void
test_codes_documented(void **state)
{
    vp_autofree char *path = vp_path_join(VP_TEST_SOURCE_DIR, "docs/findings.md");
    vp_autofree char *doc = NULL;
    const char *const *codes = vp_check_codes();
    size_t n = 0;

    (void)state;
    assert_int_equal(vp_read_file(path, 1 << 20, &doc, NULL), 0);
    for (; codes[n]; n++) {
        vp_autofree char *heading = vp_asprintf("### `%s`", codes[n]);

        if (!strstr(doc, heading))
            fail_msg("docs/findings.md has no section %s", heading);
        for (size_t j = 0; j < n; j++)
            assert_string_not_equal(codes[j], codes[n]);
    }
    assert_true(n >= 38);
}

/* Runs last: every code was produced by some test, and shown absent by some test. */
static void
test_every_code_covered(void **state)
{
    const char *const *codes = vp_check_codes();

    (void)state;
    for (size_t i = 0; codes[i]; i++) {
        if (!vp_strv_contains(seen_codes, codes[i]))
            fail_msg("no test produces %s", codes[i]);
        if (!vp_strv_contains(refuted_codes, codes[i]))
            fail_msg("no test shows %s absent", codes[i]);
    }
    /* And no check emits a code missing from the table. */
    for (size_t i = 0; seen_codes && seen_codes[i]; i++) {
        bool known = false;

        for (size_t j = 0; codes[j]; j++)
            known |= strcmp(codes[j], seen_codes[i]) == 0;
        if (!known)
            fail_msg("%s is emitted but not in vp_check_codes()", seen_codes[i]);
    }
    vp_strv_free(seen_codes);
    vp_strv_free(refuted_codes);
    seen_codes = refuted_codes = NULL;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_findings_worst),
        cmocka_unit_test(test_host_ok),
        cmocka_unit_test(test_host_iommu_off),
        cmocka_unit_test(test_host_irq_remap),
        cmocka_unit_test(test_host_vfio),
        cmocka_unit_test(test_host_acs_override),
        cmocka_unit_test(test_host_remote),
        cmocka_unit_test(test_group_whole),
        cmocka_unit_test(test_group_one_function),
        cmocka_unit_test(test_group_incomplete),
        cmocka_unit_test(test_group_member_owned),
        cmocka_unit_test(test_group_rmrr),
        cmocka_unit_test(test_device_owned_and_bridge),
        cmocka_unit_test(test_device_config_unavailable),
        cmocka_unit_test(test_device_host_critical),
        cmocka_unit_test(test_device_intx),
        cmocka_unit_test(test_device_acs),
        cmocka_unit_test(test_device_reset),
        cmocka_unit_test(test_device_rom),
        cmocka_unit_test(test_device_large_bar),
        cmocka_unit_test(test_domain_basics),
        cmocka_unit_test(test_mmio64_estimate),
        cmocka_unit_test(test_domain_mmio64),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_codes_documented),
        cmocka_unit_test(test_every_code_covered),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
