/* Device checks: ownership, host-critical use, interrupts, ACS upstream, reset, ROM, BARs.
 * Each reads vp_device.facts; a device without them gets one config-unavailable finding and
 * no guesses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "check_int.h"

/* A total of 64-bit prefetchable BARs from which a device counts as having "large" BARs: more
 * than QEMU's 32-bit PCI hole comfortably takes next to the guest's other devices. */
#define LARGE_BAR_TOTAL (256ULL << 20)

/* ACS bits the kernel requires upstream of a device for its own IOMMU group (REQ_ACS_FLAGS,
 * drivers/iommu/iommu.c): Source Validation, Request and Completion Redirect, Upstream
 * Forwarding. */
#define REQ_ACS (VP_ACS_SV | VP_ACS_RR | VP_ACS_CR | VP_ACS_UF)

static const vp_netif *
find_netif(const vp_host_facts *f, const char *name)
{
    for (size_t i = 0; i < f->n_netifs; i++)
        if (vp_streq(f->netifs[i].name, name))
            return &f->netifs[i];
    return NULL;
}

/* What makes IFNAME's host use visible: "carries the default route", "has address ...". */
static void
netif_uses(const vp_host_facts *f, const vp_netif *n, char ***uses)
{
    if (n->default_route)
        vp_strv_push(uses, "carries the default route");
    if (n->addresses) {
        vp_autofree char *a = vp_strv_join(n->addresses, ", ", "");

        vp_strv_push_take(uses, vp_asprintf("has address %s", a));
    }
    if (n->routes) {
        vp_autofree char *r = vp_strv_join(n->routes, ", ", "");

        vp_strv_push_take(uses, vp_asprintf("routes %s", r));
    }
    if (n->master) {
        const vp_netif *m = find_netif(f, n->master);
        vp_autostrv char **muses = NULL;

        if (m && !m->master)
            netif_uses(f, m, &muses);
        else if (m)
            vp_strv_push_take(&muses, vp_asprintf("is a port of %s", m->master));
        if (muses) {
            vp_autofree char *mu = vp_strv_join(muses, ", ", "");

            vp_strv_push_take(uses, vp_asprintf("is a port of %s (which %s)", n->master, mu));
        } else {
            vp_strv_push_take(uses, vp_asprintf("is a port of %s", n->master));
        }
    }
}

/* One entry per interface of D the host uses: "eno2 carries the default route, ...". */
static char **
netdev_reasons(const vp_check_ctx *c, const vp_device *d)
{
    char **reasons = NULL;

    if (!c->h->facts.read)
        return NULL;
    for (size_t i = 0; d->netdevs && d->netdevs[i]; i++) {
        const vp_netif *n = find_netif(&c->h->facts, d->netdevs[i]);
        vp_autostrv char **uses = NULL;
        vp_autofree char *u = NULL;

        if (!n)
            continue;
        netif_uses(&c->h->facts, n, &uses);
        if (!uses)
            continue;
        u = vp_strv_join(uses, ", ", "");
        vp_strv_push_take(&reasons, vp_asprintf("%s %s", n->name, u));
    }
    return reasons;
}

/* One entry per mount on a block device under D: "/ (/dev/nvme0n1p2)". */
static char **
storage_reasons(const vp_check_ctx *c, const vp_device *d)
{
    char **reasons = NULL;

    if (!c->h->facts.read)
        return NULL;
    for (size_t i = 0; i < c->h->facts.n_mounts; i++) {
        const vp_mount *m = &c->h->facts.mounts[i];

        if (m->has_device && vp_pci_addr_eq(&m->device, &d->addr))
            vp_strv_push_take(&reasons,
                              vp_asprintf("%s (%s)", m->mountpoint, m->source ? m->source : "?"));
    }
    return reasons;
}

static bool
is_boot_vga(const vp_device *d)
{
    return d->facts && d->facts->has_boot_vga && d->facts->boot_vga;
}

char *
vp_check_critical_reasons(const vp_check_ctx *c, const vp_device *d)
{
    vp_autostrv char **net = netdev_reasons(c, d);
    vp_autostrv char **disk = storage_reasons(c, d);
    vp_autostrv char **parts = NULL;

    for (size_t i = 0; net && net[i]; i++)
        vp_strv_push(&parts, net[i]);
    if (disk) {
        vp_autofree char *m = vp_strv_join(disk, ", ", "");

        vp_strv_push_take(&parts, vp_asprintf("holds %s", m));
    }
    if (is_boot_vga(d))
        vp_strv_push(&parts, "boot VGA");
    return parts ? vp_strv_join(parts, "; ", "") : NULL;
}

void
vp_check_dev_owned(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    vp_autofree char *owners = vp_check_other_owners(c, d);

    if (!owners)
        return;
    /* Two domains holding one function: the second fails to start, or both fight over it. */
    vp_findings_add(
        out, "owned-by-other-domain", VP_SEV_BLOCK, VP_SUBJECT_DEVICE, d->addr_str, false,
        "remove it from that domain's definition first (virsh detach-device --config), or choose another device",
        "%s: held by %s", d->addr_str, owners);
}

void
vp_check_dev_bridge(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    (void)c;
    if (!d->is_bridge)
        return;
    vp_findings_add(
        out, "bridge-selected", VP_SEV_BLOCK, VP_SUBJECT_DEVICE, d->addr_str, false,
        "select the endpoint(s) behind it instead",
        "%s: is a PCI bridge: bridges stay with the host, only endpoints can be assigned",
        d->addr_str);
}

void
vp_check_dev_config(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    if (d->is_bridge && vp_check_selected(c, d))
        return;
    if (!d->facts) {
        if (!c->h->facts.read)
            vp_findings_add(out, "config-unavailable", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str,
                            false, "run vpass on the host itself for the device-level checks",
                            "%s: config space not read, device checks skipped (remote)",
                            d->addr_str);
        else {
            vp_autofree char *fix =
                vp_asprintf("check that /sys/bus/pci/devices/%s/config is readable", d->addr_str);

            vp_findings_add(out, "config-unavailable", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str,
                            false, fix, "%s: config space not read, device checks skipped",
                            d->addr_str);
        }
        return;
    }
    if (!vp_check_config_complete(d))
        vp_findings_add(
            out, "config-unavailable", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false,
            "run vpass as root (a non-root reader sees only 64 bytes)",
            "%s: only %u bytes of config space readable: capabilities unknown, their checks skipped",
            d->addr_str, d->facts->config_len);
}

void
vp_check_dev_critical_netdev(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    vp_autostrv char **reasons = netdev_reasons(c, d);
    vp_autofree char *list = NULL;
    vp_autofree char *names = NULL;
    vp_autofree char *fix = NULL;

    if (!reasons)
        return;
    list = vp_strv_join(reasons, "; ", "");
    names = vp_strv_join(d->netdevs, ", ", "");
    fix = vp_asprintf(
        "choose another function, or move the host's traffic off %s first (keep a console); --force overrides",
        names);
    vp_findings_add(out, "host-critical-netdev", VP_SEV_BLOCK, VP_SUBJECT_DEVICE, d->addr_str, true,
                    fix, "%s: %s", d->addr_str, list);
}

void
vp_check_dev_critical_storage(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    vp_autostrv char **reasons = storage_reasons(c, d);
    vp_autofree char *list = NULL;

    if (!reasons)
        return;
    list = vp_strv_join(reasons, ", ", "");
    vp_findings_add(out, "host-critical-storage", VP_SEV_BLOCK, VP_SUBJECT_DEVICE, d->addr_str,
                    true,
                    "unmount them (swapoff) first, or choose another device; --force overrides",
                    "%s: holds mounted filesystems or swap: %s", d->addr_str, list);
}

void
vp_check_dev_critical_vga(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    (void)c;
    if (!is_boot_vga(d))
        return;
    /* DESIGN.md: the boot VGA is host-critical (refused unless --force). Single-GPU
     * passthrough is the legitimate case; without it the host loses its console. */
    vp_findings_add(
        out, "host-critical-vga", VP_SEV_BLOCK, VP_SUBJECT_DEVICE, d->addr_str, true,
        "use another GPU, or pass --force for single-GPU passthrough (then keep efifb/simpledrm off it: video=efifb:off)",
        "%s: is the boot VGA device (boot_vga=1): the host's console runs on it", d->addr_str);
}

/* INTx only: an interrupt pin and neither MSI nor MSI-X (needs the capability list). */
static bool
intx_only(const vp_device *d)
{
    return vp_check_config_complete(d) && d->facts->interrupt_pin != 0 && !d->facts->has_msi &&
           !d->facts->has_msix;
}

void
vp_check_dev_intx(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    (void)c;
    if (d->is_bridge || !intx_only(d))
        return;
    vp_findings_add(
        out, "intx-only", VP_SEV_WARN, VP_SUBJECT_DEVICE, d->addr_str, false,
        "prefer a device with MSI/MSI-X; otherwise put it in a slot whose IRQ line no other device uses",
        "%s: INTx only (INT%c#, no MSI or MSI-X): every interrupt goes through the host's masking path and the line may be shared",
        d->addr_str, 'A' + (d->facts->interrupt_pin - 1) % 4);
}

void
vp_check_dev_intx_shared(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    vp_autostrv char **selected = NULL;
    vp_autostrv char **host = NULL;
    vp_autofree char *s = NULL;
    vp_autofree char *hs = NULL;

    if (d->is_bridge || !intx_only(d) || !d->facts->has_irq || d->facts->irq == 0)
        return;
    for (size_t i = 0; i < c->h->n_devices; i++) {
        const vp_device *o = c->h->devices[i];

        if (o == d || !intx_only(o) || !o->facts->has_irq || o->facts->irq != d->facts->irq)
            continue;
        if (vp_check_selected(c, o))
            vp_strv_push(&selected, o->addr_str);
        else if (o->driver && strcmp(o->driver, "vfio-pci") != 0)
            vp_strv_push_take(&host, vp_asprintf("%s (%s)", o->addr_str, o->driver));
    }
    s = vp_strv_join(selected, ", ", "");
    hs = vp_strv_join(host, ", ", "");
    /* Two vfio devices on one line need both to support INTx masking (PCI 2.3 DisINTx);
     * otherwise the second request fails: "genirq: Flags mismatch irq 16", then QEMU's
     * "VFIO_DEVICE_SET_IRQS failure: Device or resource busy". */
    if (selected)
        vp_findings_add(
            out, "intx-shared", VP_SEV_BLOCK, VP_SUBJECT_DEVICE, d->addr_str, true,
            "assign only one of them, or move one to a slot on another IRQ line",
            "%s: shares INTx IRQ %u with selected INTx-only %s%s%s: the second device fails to start (genirq: Flags mismatch)",
            d->addr_str, d->facts->irq, s, host ? " and host device " : "", host ? hs : "");
    else if (host)
        vp_findings_add(
            out, "intx-shared", VP_SEV_WARN, VP_SUBJECT_DEVICE, d->addr_str, false,
            "move it to a slot on another IRQ line, or unbind the host device",
            "%s: shares INTx IRQ %u with host device %s: interrupts are masked for both while the guest handles one",
            d->addr_str, d->facts->irq, hs);
}

void
vp_check_dev_conventional(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    const vp_device *p;

    if (d->is_bridge || !vp_check_config_complete(d) || d->facts->pcie_type != VP_PCIE_NONE ||
        !d->has_parent)
        return;
    p = vp_host_find_device(c->h, &d->parent);
    /* Behind a PCIe-to-PCI bridge every transaction carries the bridge's requester ID, so the
     * kernel puts the bridge and every device on that bus into one group. */
    vp_findings_add(
        out, "conventional-pci", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false, NULL,
        "%s: conventional PCI behind %s %s: it shares its IOMMU group with the bridge and every device on that bus",
        d->addr_str,
        p && vp_check_config_complete(p) && p->facts->pcie_type == VP_PCIE_PCIE_TO_PCI
            ? "PCIe-to-PCI bridge"
            : "bridge",
        p ? p->addr_str : "(not in the inventory)");
}

/* "SV RR" for BITS. */
static char *
acs_bits_str(unsigned bits)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{VP_ACS_SV, "SV"}, {VP_ACS_RR, "RR"}, {VP_ACS_CR, "CR"}, {VP_ACS_UF, "UF"}};
    vp_autostrv char **v = NULL;

    for (size_t i = 0; i < VP_ARRAY_SIZE(names); i++)
        if (bits & names[i].bit)
            vp_strv_push(&v, names[i].name);
    return vp_strv_join(v, " ", "");
}

/* The required ACS bits P does not enforce, as the kernel judges them (pci_acs_flags_enabled,
 * drivers/pci/pci.c): without an ACS capability all of them; with one, those the capability
 * advertises but control leaves off (a bit not advertised counts as hard-wired). */
static unsigned
acs_missing(const vp_pci_facts *f)
{
    if (!f->has_acs)
        return REQ_ACS;
    return REQ_ACS & f->acs_cap & ~f->acs_ctrl;
}

/* Append P's verdict to MISSING or UNKNOWN; ROLE names it ("root port"). */
static void
acs_judge(const vp_device *p, const char *role, char ***missing, char ***unknown)
{
    unsigned bits;
    vp_autofree char *names = NULL;

    /* The ACS capability is an extended one (offset >= 0x100): 256 bytes do not show it. */
    if (!p->facts || p->facts->config_len < 4096) {
        vp_strv_push_take(unknown, vp_asprintf("%s (%s)", p->addr_str, role));
        return;
    }
    bits = acs_missing(p->facts);
    if (!bits)
        return;
    names = acs_bits_str(bits);
    vp_strv_push_take(missing, vp_asprintf("%s (%s) lacks %s%s", p->addr_str, role, names,
                                           p->facts->has_acs ? "" : ": no ACS capability"));
}

void
vp_check_dev_acs(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    vp_autostrv char **missing = NULL;
    vp_autostrv char **unknown = NULL;
    vp_autofree char *m = NULL;
    vp_autofree char *u = NULL;
    const vp_device *p = d;

    if (d->is_bridge || !vp_check_config_complete(d))
        return; /* config-unavailable said so */
    /* PCIe 3.0 6.12.1.2: a multifunction device (not a VF) needs ACS among its functions. */
    if (d->facts->multifunction && !d->is_vf)
        acs_judge(d, "multifunction", &missing, &unknown);
    /* Walk to the root; a loop in a broken model ends after 256 hops. */
    for (unsigned hops = 0; p->has_parent && hops < 256; hops++) {
        const vp_device *q = vp_host_find_device(c->h, &p->parent);

        if (!q) {
            char buf[VP_PCI_ADDR_STRLEN];

            vp_strv_push_take(&unknown, vp_asprintf("%s (not in the inventory)",
                                                    vp_pci_addr_format(&p->parent, buf)));
            break;
        }
        p = q;
        if (!vp_check_config_complete(p))
            vp_strv_push_take(&unknown, vp_asprintf("%s (port type unknown)", p->addr_str));
        else if (p->facts->pcie_type == VP_PCIE_ROOT_PORT)
            acs_judge(p, "root port", &missing, &unknown);
        else if (p->facts->pcie_type == VP_PCIE_DOWNSTREAM)
            acs_judge(p, "downstream port", &missing, &unknown);
    }
    if (!missing && !unknown)
        return;
    m = vp_strv_join(missing, "; ", "");
    u = vp_strv_join(unknown, ", ", "");
    if (missing)
        vp_findings_add(
            out, "acs-missing-upstream", VP_SEV_WARN, VP_SUBJECT_DEVICE, d->addr_str, false,
            "the IOMMU group shows what the kernel decided (a kernel ACS quirk may cover a port without the capability); never hide this with pcie_acs_override",
            "%s: no full ACS isolation upstream: %s%s%s: peer-to-peer traffic can bypass the IOMMU",
            d->addr_str, m, unknown ? "; ACS not read for " : "", unknown ? u : "");
    else
        vp_findings_add(out, "acs-missing-upstream", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str,
                        false, "run vpass as root to read the extended config space",
                        "%s: ACS upstream unknown: not read for %s", d->addr_str, u);
}

/* True when D is alone on its bus, or every other device there is selected too: then a
 * secondary bus reset of the parent bridge affects only what the guest holds (QEMU's vfio
 * hot reset requires every affected device to be owned by it). */
static bool
bus_reset_possible(const vp_check_ctx *c, const vp_device *d)
{
    const vp_device *p;

    if (!d->has_parent)
        return false; /* on a root bus: no bridge to reset it */
    p = vp_host_find_device(c->h, &d->parent);
    if (!p || !p->is_bridge)
        return false;
    for (size_t i = 0; i < c->h->n_devices; i++) {
        const vp_device *o = c->h->devices[i];

        if (o != d && o->has_parent && vp_pci_addr_eq(&o->parent, &d->parent) &&
            !vp_check_selected(c, o))
            return false;
    }
    return true;
}

void
vp_check_dev_reset(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    const vp_pci_facts *f = d->facts;
    vp_autostrv char **methods = NULL;
    vp_autofree char *list = NULL;

    if (d->is_bridge || !f)
        return;
    /* sysfs reset_method (Linux 5.15+) lists what the kernel will do: authoritative. */
    if (f->reset_method) {
        vp_autofree char *rm = vp_strdup(f->reset_method);

        vp_strstrip(rm);
        if (*rm)
            vp_findings_add(out, "reset-ok", VP_SEV_OK, VP_SUBJECT_DEVICE, d->addr_str, false, NULL,
                            "%s: can be reset (%s, from sysfs reset_method)", d->addr_str, rm);
        else
            vp_findings_add(
                out, "no-reset", VP_SEV_WARN, VP_SUBJECT_DEVICE, d->addr_str, false,
                "expect stale device state between guests and hangs on guest reboot; prefer a device with FLR",
                "%s: no reset method (sysfs reset_method is empty)", d->addr_str);
        return;
    }
    if (!vp_check_config_complete(d))
        return; /* config-unavailable said so */
    if (f->flr)
        vp_strv_push(&methods, f->af_flr ? "flr (AF)" : "flr");
    /* PM reset: D3hot->D0 resets only when NoSoftRst is 0 (PCI PM 1.2, PMCSR bit 3). */
    if (f->has_pm && !f->pm_no_soft_reset)
        vp_strv_push(&methods, "pm");
    if (bus_reset_possible(c, d))
        vp_strv_push(&methods, "bus");
    if (methods) {
        list = vp_strv_join(methods, " ", "");
        vp_findings_add(out, "reset-ok", VP_SEV_OK, VP_SUBJECT_DEVICE, d->addr_str, false, NULL,
                        "%s: can be reset (%s, from the capabilities)", d->addr_str, list);
        return;
    }
    vp_findings_add(
        out, "no-reset", VP_SEV_WARN, VP_SUBJECT_DEVICE, d->addr_str, false,
        "expect stale device state between guests and hangs on guest reboot; select every function on its bus together (bus reset) or prefer a device with FLR",
        "%s: no reset method: no FLR, %s, no secondary bus reset (%s)", d->addr_str,
        !f->has_pm ? "no power management" : "NoSoftRst=1 (no PM reset)",
        d->has_parent ? "other devices share its bus" : "on a root bus");
}

void
vp_check_dev_rom(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    unsigned base = (d->class_code >> 16) & 0xff;
    char size[VP_SIZE_STRLEN];

    (void)c;
    if (d->is_bridge || !d->facts)
        return;
    /* SR-IOV 1.1, 3.3.14: a VF has no Expansion ROM BAR. */
    if (d->is_vf) {
        vp_findings_add(out, "rom-absent", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false, NULL,
                        "%s: no expansion ROM (a VF has none)", d->addr_str);
        return;
    }
    if (d->facts->rom_size == 0) {
        if (base == 0x03)
            vp_findings_add(
                out, "rom-absent", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false,
                "give the guest a ROM image dumped from this card model: <rom file='/usr/share/vgabios/...'/>",
                "%s: GPU without an expansion ROM: the guest firmware may not initialise it",
                d->addr_str);
        else
            vp_findings_add(out, "rom-absent", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false,
                            NULL, "%s: no expansion ROM", d->addr_str);
        return;
    }
    vp_check_size_str(d->facts->rom_size, size);
    if (base == 0x03)
        vp_findings_add(
            out, "rom-present", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false,
            "keep the ROM BAR visible (<rom bar='on'/>, the default); if the host firmware already ran it, a clean dump via <rom file=.../> avoids a shadowed copy",
            "%s: GPU expansion ROM of %s: the guest firmware runs it to initialise the card",
            d->addr_str, size);
    else if (base == 0x02)
        vp_findings_add(
            out, "rom-present", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false,
            "if the guest hangs or boots slowly in the NIC's boot ROM (PXE), hide it: <rom bar='off'/>",
            "%s: NIC expansion ROM of %s (network boot)", d->addr_str, size);
    else
        vp_findings_add(out, "rom-present", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false,
                        "if the guest firmware misbehaves in it, hide it: <rom bar='off'/>",
                        "%s: expansion ROM of %s", d->addr_str, size);
}

void
vp_check_dev_large_bar(const vp_check_ctx *c, const vp_device *d, vp_findings *out)
{
    vp_autostrv char **bars = NULL;
    vp_autofree char *list = NULL;
    uint64_t total = 0;
    char size[VP_SIZE_STRLEN];

    (void)c;
    if (d->is_bridge || !d->facts)
        return;
    for (unsigned i = 0; i < VP_ARRAY_SIZE(d->facts->bars); i++) {
        const vp_bar *b = &d->facts->bars[i];

        if (!b->present || b->is_io || !b->is_64 || !b->prefetchable || !b->size)
            continue;
        total = total + b->size < total ? UINT64_MAX : total + b->size;
        vp_strv_push_take(&bars, vp_asprintf("BAR%u %s", i, vp_check_size_str(b->size, size)));
    }
    if (total < LARGE_BAR_TOTAL)
        return;
    list = vp_strv_join(bars, ", ", "");
    vp_findings_add(out, "large-bar", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false,
                    "the guest needs a 64-bit MMIO window for it: check with --domain (mmio64-*)",
                    "%s: 64-bit prefetchable BARs total %s (%s)", d->addr_str,
                    vp_check_size_str(total, size), list);
}
