/* Domain checks: what the target domain already holds, its machine type and firmware, the
 * 64-bit MMIO window the selection needs, and what assignment costs it (migration). */
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "check_int.h"

/* QEMU's default pci-hole64-size (what the ACPI _CRS of the root bus declares above the
 * highest 64-bit BAR the firmware placed):
 *   q35:    Q35_PCI_HOST_HOLE64_SIZE_DEFAULT (1ULL << 35) = 32 GiB, hw/pci-host/q35.c
 *   i440fx: I440FX_PCI_HOST_HOLE64_SIZE_DEFAULT (1ULL << 31) = 2 GiB, hw/pci-host/i440fx.c
 *           ("Keep it 2G to comply with older win32 guests")
 * Machine types 2.10 and older set x-pci-hole64-fix=off (pc_compat_2_10, hw/i386/pc.c): the
 * size is then not added to the window at all. */
#define QEMU_Q35_HOLE64_DEFAULT (1ULL << 35)
#define QEMU_I440FX_HOLE64_DEFAULT (1ULL << 31)

/* OVMF's 64-bit PCI aperture: PcdPciMmio64Size = 0x800000000 (32 GiB) in OvmfPkg/OvmfPkgX64.dsc;
 * opt/ovmf/X-PciMmio64Mb (fw_cfg) overrides it (PlatformGetFirstNonAddress,
 * OvmfPkg/Library/PlatformInitLib/MemDetect.c). Since late 2022 (tianocore/edk2 PR #3381,
 * PlatformDynamicMmioWindow) OVMF grows it to 1/8 of the guest physical address space when
 * it trusts the CPU's phys-bits (>= 41, or 36/39 on Intel, 40 on AMD; capped to 46 bits): a
 * 42-bit guest gets 512 GiB. Older OVMF, or untrusted phys-bits, keep 32 GiB. OVMF does not
 * read QEMU's pci-hole64-size, so <pcihole64> does not widen it. */
#define OVMF_MMIO64_DEFAULT (1ULL << 35)
#define OVMF_PHYS_BITS_MIN_TRUSTED 41
#define OVMF_PHYS_BITS_MAX 46

/* i440fx machine types: "pc", "pc-i440fx-7.2" and the old "pc-0.15", "pc-1.2". */
static bool
machine_is_i440fx(const char *machine)
{
    return machine && (strcmp(machine, "pc") == 0 || vp_startswith(machine, "pc-i440fx") ||
                       (vp_startswith(machine, "pc-") && !vp_machine_is_q35(machine)));
}

static bool
arch_is_x86(const char *arch)
{
    return !arch || strcmp(arch, "x86_64") == 0 || strcmp(arch, "i686") == 0;
}

/* True when D is PCI Express (the source said so, or its capabilities do). */
static bool
device_is_pcie(const vp_device *d)
{
    if (vp_check_config_complete(d))
        return d->facts->pcie_type != VP_PCIE_NONE;
    return d->is_pcie;
}

void
vp_check_dom_config(const vp_check_ctx *c, vp_findings *out)
{
    if (c->dom->xml_read)
        return;
    vp_findings_add(
        out, "domain-config-unavailable", VP_SEV_INFO, VP_SUBJECT_DOMAIN, c->dom->name, false, NULL,
        "%s: definition not read: machine type, firmware and 64-bit MMIO window not checked",
        c->dom->name);
}

/* True when the target domain's definition holds every selected device. */
static bool
domain_holds_all(const vp_check_ctx *c)
{
    for (size_t i = 0; i < c->n_sel; i++)
        if (!vp_strv_contains(c->sel[i]->owners, c->dom->name))
            return false;
    return c->n_sel > 0;
}

void
vp_check_dom_owns(const vp_check_ctx *c, vp_findings *out)
{
    vp_autostrv char **addrs = NULL;
    vp_autofree char *list = NULL;

    if (!domain_holds_all(c))
        return;
    for (size_t i = 0; i < c->n_sel; i++)
        vp_strv_push(&addrs, c->sel[i]->addr_str);
    list = vp_strv_join(addrs, ", ", "");
    vp_findings_add(out, "domain-owns", VP_SEV_OK, VP_SUBJECT_DOMAIN, c->dom->name, false, NULL,
                    "%s: already holds %s: nothing to do", c->dom->name, list);
}

void
vp_check_dom_machine(const vp_check_ctx *c, vp_findings *out)
{
    const char *m = c->dom->machine;
    vp_autostrv char **pcie = NULL;
    vp_autofree char *list = NULL;

    if (!c->dom->xml_read || !m)
        return;
    if (vp_machine_is_q35(m)) {
        vp_findings_add(out, "machine-q35", VP_SEV_OK, VP_SUBJECT_DOMAIN, c->dom->name, false, NULL,
                        "%s: q35 machine (%s): devices get a PCIe topology", c->dom->name, m);
        return;
    }
    if (!machine_is_i440fx(m))
        return;
    for (size_t i = 0; i < c->n_sel; i++)
        if (!c->sel[i]->is_bridge && device_is_pcie(c->sel[i]))
            vp_strv_push(&pcie, c->sel[i]->addr_str);
    if (!pcie) {
        vp_findings_add(out, "machine-i440fx", VP_SEV_INFO, VP_SUBJECT_DOMAIN, c->dom->name, false,
                        NULL, "%s: i440fx machine (%s): no PCI Express device selected",
                        c->dom->name, m);
        return;
    }
    list = vp_strv_join(pcie, ", ", "");
    vp_findings_add(
        out, "machine-i440fx", VP_SEV_WARN, VP_SUBJECT_DOMAIN, c->dom->name, false,
        "use a q35 machine for PCIe devices (for a new domain; changing an installed guest's machine type changes its hardware)",
        "%s: i440fx machine (%s) has no PCIe topology: %s appear as conventional PCI (no extended config space, no link, some drivers refuse)",
        c->dom->name, m, list);
}

void
vp_check_dom_firmware(const vp_check_ctx *c, vp_findings *out)
{
    const vp_domain *d = c->dom;

    if (!d->xml_read)
        return;
    switch (d->firmware) {
    case VP_FIRMWARE_EFI:
        vp_findings_add(
            out, "firmware-efi", VP_SEV_INFO, VP_SUBJECT_DOMAIN, d->name, false, NULL,
            "%s: UEFI firmware (OVMF%s%s): OVMF sizes the 64-bit MMIO window itself (X-PciMmio64Mb, phys-bits)",
            d->name, d->loader ? ", " : "", d->loader ? d->loader : "");
        break;
    case VP_FIRMWARE_BIOS:
        vp_findings_add(
            out, "firmware-bios", VP_SEV_INFO, VP_SUBJECT_DOMAIN, d->name, false, NULL,
            "%s: BIOS firmware (SeaBIOS): SeaBIOS places 64-bit BARs, QEMU declares the window (<pcihole64>)",
            d->name);
        break;
    case VP_FIRMWARE_UNKNOWN:
        break;
    }
}

static int
u64_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x > y ? -1 : x < y;
}

/* Add D's 64-bit prefetchable BAR sizes to *SIZES, or its address to *UNKNOWN. */
static void
collect_bars(const vp_device *d, uint64_t **sizes, size_t *n, char ***unknown)
{
    if (!d->facts) {
        vp_strv_push(unknown, d->addr_str);
        return;
    }
    for (unsigned i = 0; i < VP_ARRAY_SIZE(d->facts->bars); i++) {
        const vp_bar *b = &d->facts->bars[i];

        if (!b->present || b->is_io || !b->is_64 || !b->prefetchable || !b->size)
            continue;
        *sizes = vp_realloc_array(*sizes, *n + 1, sizeof(**sizes));
        (*sizes)[(*n)++] = b->size;
    }
}

/* The window for D as vpass can rely on it; see the constants above. */
static void
domain_window(const vp_domain *d, vp_mmio64 *m)
{
    if (!d->xml_read) {
        m->window_from = "definition not read";
        return;
    }
    if (!arch_is_x86(d->arch)) {
        m->window_from = "not an x86 guest";
        return;
    }
    if (d->firmware == VP_FIRMWARE_EFI) {
        m->efi = true;
        m->window_known = true;
        m->window = OVMF_MMIO64_DEFAULT;
        m->window_from = "OVMF's default 64-bit aperture";
        if (vp_streq(d->maxphysaddr_mode, "passthrough")) {
            m->dyn_host = true;
        } else if (vp_streq(d->maxphysaddr_mode, "emulate") && d->has_maxphysaddr_bits &&
                   d->maxphysaddr_bits >= OVMF_PHYS_BITS_MIN_TRUSTED) {
            unsigned bits =
                d->maxphysaddr_bits > OVMF_PHYS_BITS_MAX ? OVMF_PHYS_BITS_MAX : d->maxphysaddr_bits;

            m->dyn_window = 1ULL << (bits - 3);
        }
        return;
    }
    if (d->firmware != VP_FIRMWARE_BIOS) {
        m->window_from = "firmware unknown";
        return;
    }
    if (d->has_pcihole64) {
        m->window_known = true;
        m->window = d->pcihole64_kib > UINT64_MAX / 1024 ? UINT64_MAX : d->pcihole64_kib * 1024;
        m->window_from = "<pcihole64>";
    } else if (vp_machine_is_q35(d->machine)) {
        m->window_known = true;
        m->window = QEMU_Q35_HOLE64_DEFAULT;
        m->window_from = "QEMU's q35 default pci-hole64-size";
    } else if (machine_is_i440fx(d->machine)) {
        m->window_known = true;
        m->window = QEMU_I440FX_HOLE64_DEFAULT;
        m->window_from = "QEMU's i440fx default pci-hole64-size";
    } else {
        m->window_from = "machine type unknown";
    }
}

void
vp_mmio64_estimate(const vp_host *h, const vp_check_target *t, vp_mmio64 *ret)
{
    vp_check_ctx c;
    vp_autostrv char **unknown = NULL;
    vp_autofree uint64_t *sizes = NULL;
    vp_autofree const vp_device **held = NULL;
    size_t n_sizes = 0, n_held = 0;
    uint64_t off = 0;

    memset(ret, 0, sizeof(*ret));
    if (!t->domain)
        return;
    vp_check_ctx_init(&c, h, t);
    /* Everything the domain holds after the change: its definitions plus the selection. */
    held = vp_malloc0((c.n_sel + h->n_assignments + 1) * sizeof(*held));
    for (size_t i = 0; i < c.n_sel; i++)
        if (!c.sel[i]->is_bridge)
            held[n_held++] = c.sel[i];
    for (size_t i = 0; i < h->n_assignments; i++) {
        const vp_assignment *a = &h->assignments[i];
        const vp_device *d;
        bool dup = false;

        if (strcmp(a->domain, t->domain->name) != 0)
            continue;
        d = vp_host_find_device(h, &a->addr);
        if (!d) {
            char buf[VP_PCI_ADDR_STRLEN];

            vp_pci_addr_format(&a->addr, buf);
            if (!vp_strv_contains(unknown, buf))
                vp_strv_push(&unknown, buf);
            continue;
        }
        for (size_t j = 0; j < n_held; j++)
            dup |= held[j] == d;
        if (!dup)
            held[n_held++] = d;
    }
    for (size_t i = 0; i < n_held; i++)
        collect_bars(held[i], &sizes, &n_sizes, &unknown);
    /* Firmware places BARs naturally aligned; largest first packs them without gaps, so the
     * total is the aligned sum (PCI 3.0 6.2.5.1: a BAR's size is a power of two). */
    if (n_sizes > 1)
        qsort(sizes, n_sizes, sizeof(*sizes), u64_desc);
    for (size_t i = 0; i < n_sizes; i++) {
        uint64_t s = sizes[i], aligned = (s && off % s) ? off + (s - off % s) : off;

        off = aligned < off || aligned + s < aligned ? UINT64_MAX : aligned + s;
    }
    ret->need = vp_check_pow2_up(off);
    ret->n_unknown = vp_strv_len(unknown);
    ret->unknown = unknown ? vp_strv_join(unknown, ", ", "") : NULL;
    domain_window(t->domain, ret);
    vp_check_ctx_clear(&c);
}

void
vp_mmio64_clear(vp_mmio64 *m)
{
    free(m->unknown);
    memset(m, 0, sizeof(*m));
}

/* Report estimate M for C's domain (see docs/findings.md, "The 64-bit MMIO window"). */
static void
mmio64_report(const vp_check_ctx *c, const vp_mmio64 *m, vp_findings *out)
{
    const char *name = c->dom->name;
    char need[VP_SIZE_STRLEN], win[VP_SIZE_STRLEN], dyn[VP_SIZE_STRLEN];
    vp_autofree char *fix = NULL;

    vp_check_size_str(m->need, need);
    vp_check_size_str(m->window, win);
    vp_check_size_str(m->dyn_window, dyn);
    if (m->need == 0 && m->n_unknown == 0)
        return; /* no 64-bit prefetchable BAR: nothing to fit */
    if (!m->window_known) {
        vp_findings_add(out, "mmio64-unknown", VP_SEV_INFO, VP_SUBJECT_DOMAIN, name, false, NULL,
                        "%s: needs %s%s of 64-bit MMIO; window not modelled (%s)", name,
                        m->n_unknown ? "at least " : "", need, m->window_from);
        return;
    }
    if (m->need <= m->window) {
        if (m->n_unknown)
            vp_findings_add(out, "mmio64-unknown", VP_SEV_INFO, VP_SUBJECT_DOMAIN, name, false,
                            NULL,
                            "%s: needs at least %s of 64-bit MMIO (%s: %s); BARs of %s not read",
                            name, need, m->window_from, win, m->unknown);
        else
            vp_findings_add(out, "mmio64-ok", VP_SEV_OK, VP_SUBJECT_DOMAIN, name, false, NULL,
                            "%s: needs %s of 64-bit MMIO; the window is %s (%s)", name, need, win,
                            m->window_from);
        return;
    }
    if (!m->efi) {
        fix = vp_asprintf(
            "<controller type='pci' index='0' model='%s'><pcihole64 unit='KiB'>%llu</pcihole64></controller> (vpass: --mmio64 auto)",
            vp_machine_is_q35(c->dom->machine) ? "pcie-root" : "pci-root",
            (unsigned long long)(m->need >> 10));
        /* SeaBIOS places 64-bit BARs above RAM itself and QEMU (x-pci-hole64-fix, machine
         * types 2.11+) widens the declared window over them: cold boot works, hot-plug and
         * the guest OS re-assigning BARs are confined to the declared window. */
        vp_findings_add(
            out, "mmio64-too-small", VP_SEV_WARN, VP_SUBJECT_DOMAIN, name, false, fix,
            "%s: needs %s of 64-bit MMIO, more than the %s window (%s): hot-plug and BAR re-assignment in the guest fail",
            name, need, win, m->window_from);
        return;
    }
    fix = vp_asprintf(
        "raise OVMF's aperture to at least %llu MiB: <qemu:commandline> -fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=%llu (vpass: --mmio64 auto), or <cpu><maxphysaddr mode='passthrough'/></cpu> with an OVMF from late 2022 on",
        (unsigned long long)(m->need >> 20), (unsigned long long)(m->need >> 20));
    if (m->dyn_window && m->need > m->dyn_window)
        /* Too big for every OVMF version: the device's BARs stay unassigned. */
        vp_findings_add(
            out, "mmio64-too-small", VP_SEV_BLOCK, VP_SUBJECT_DOMAIN, name, true, fix,
            "%s: needs %s of 64-bit MMIO, more than OVMF gives with any version (%s classic, %s dynamic for %u phys-bits)",
            name, need, win, dyn, c->dom->maxphysaddr_bits);
    else if (m->dyn_window)
        vp_findings_add(
            out, "mmio64-too-small", VP_SEV_WARN, VP_SUBJECT_DOMAIN, name, false, fix,
            "%s: needs %s of 64-bit MMIO, more than OVMF's classic %s aperture: fits only in the dynamic window of OVMF from late 2022 on (%s for %u phys-bits)",
            name, need, win, dyn, c->dom->maxphysaddr_bits);
    else
        vp_findings_add(
            out, "mmio64-too-small", VP_SEV_WARN, VP_SUBJECT_DOMAIN, name, false, fix,
            "%s: needs %s of 64-bit MMIO, more than OVMF's classic %s aperture: fits only if the OVMF version sizes its window from phys-bits (late 2022 on) and %s",
            name, need, win,
            m->dyn_host
                ? "the host's address width is large enough"
                : "the guest's phys-bits default is trusted (depends on QEMU, CPU model and vendor)");
}

void
vp_check_dom_mmio64(const vp_check_ctx *c, vp_findings *out)
{
    vp_mmio64 m;

    if (!c->dom->xml_read)
        return; /* domain-config-unavailable said so */
    vp_mmio64_estimate(c->h, c->t, &m);
    mmio64_report(c, &m, out);
    vp_mmio64_clear(&m);
}

void
vp_check_dom_migration(const vp_check_ctx *c, vp_findings *out)
{
    if (c->n_sel == 0 || domain_holds_all(c))
        return;
    vp_findings_add(
        out, "no-migration", VP_SEV_WARN, VP_SUBJECT_DOMAIN, c->dom->name, false,
        "set ON_SHUTDOWN=shutdown for libvirt-guests (/etc/sysconfig/libvirt-guests or /etc/default/libvirt-guests) so host shutdown stops it instead of suspending it",
        "%s: with a host PCI device it cannot be live-migrated, saved or managed-saved",
        c->dom->name);
}
