/* Host readiness: IOMMU, interrupt remapping, vfio modules, unsafe kernel options. */
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "check_int.h"

typedef enum { VENDOR_UNKNOWN, VENDOR_INTEL, VENDOR_AMD } cpu_vendor;

/* The IOMMU vendor as far as the host says: unit names (Intel DMAR units are dmarN, AMD IVHD
 * units ivhdN, drivers/iommu/{intel,amd}) or an explicit option on the command line. */
static cpu_vendor
iommu_vendor(const vp_host_facts *f)
{
    for (size_t i = 0; f->iommu_units && f->iommu_units[i]; i++) {
        if (vp_startswith(f->iommu_units[i], "dmar"))
            return VENDOR_INTEL;
        if (vp_startswith(f->iommu_units[i], "ivhd"))
            return VENDOR_AMD;
    }
    if (vp_check_cmdline_param(f->cmdline, "intel_iommu", NULL))
        return VENDOR_INTEL;
    if (vp_check_cmdline_param(f->cmdline, "amd_iommu", NULL))
        return VENDOR_AMD;
    return VENDOR_UNKNOWN;
}

void
vp_check_host_remote(const vp_check_ctx *c, vp_findings *out)
{
    if (c->h->facts.read)
        return;
    vp_findings_add(
        out, "host-remote", VP_SEV_INFO, VP_SUBJECT_HOST, "host", false,
        "run vpass on the host itself (or with --source sysfs there) for these checks",
        "host: remote connection%s%s%s: kernel command line, IOMMU units, interrupt remapping, vfio modules, host interfaces and mounts not checked",
        c->h->uri ? " (" : "", c->h->uri ? c->h->uri : "", c->h->uri ? ")" : "");
}

/* True when CMDLINE holds the whole word WORD ("intel_iommu=on"). */
static bool
cmdline_has(const char *cmdline, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = cmdline; p && (p = strstr(p, word)); p += n)
        if ((p == cmdline || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
            return true;
    return false;
}

void
vp_check_host_iommu(const vp_check_ctx *c, vp_findings *out)
{
    const vp_host_facts *f = &c->h->facts;
    vp_autofree char *units = NULL;
    const char *fix;

    if (c->h->iommu_present)
        return;
    /* Remotely, only the node devices' <iommuGroup> can tell: judge only when some were read. */
    if (!f->read && c->h->n_devices == 0)
        return;
    switch (iommu_vendor(f)) {
    case VENDOR_INTEL:
        fix =
            "enable VT-d in the firmware setup, add intel_iommu=on (and iommu=pt) to the kernel command line, remove any intel_iommu=off or iommu=off, and reboot";
        break;
    case VENDOR_AMD:
        fix =
            "enable the IOMMU (AMD-Vi) in the firmware setup, add amd_iommu=on (and iommu=pt) to the kernel command line, remove any amd_iommu=off or iommu=off, and reboot";
        break;
    case VENDOR_UNKNOWN:
    default:
        fix =
            "enable VT-d (Intel) or AMD-Vi (AMD) in the firmware setup, add intel_iommu=on or amd_iommu=on (and iommu=pt) to the kernel command line, and reboot";
        break;
    }
    /* Asked for on the command line, yet absent: the firmware (or the machine) is the cause. */
    if (cmdline_has(f->cmdline, "intel_iommu=on") || cmdline_has(f->cmdline, "amd_iommu=on"))
        fix =
            "the kernel command line already asks for the IOMMU: enable VT-d (Intel) or AMD-Vi (AMD) in the firmware setup, or the machine has none; see 'dmesg | grep -e DMAR -e IOMMU'";
    units = vp_strv_join(f->iommu_units, ", ", "");
    if (!f->read)
        vp_findings_add(
            out, "iommu-off", VP_SEV_BLOCK, VP_SUBJECT_HOST, "host", false, fix,
            "host: no PCI device reports an IOMMU group (IOMMU off or not enabled in the firmware)");
    else if (f->iommu_units)
        vp_findings_add(
            out, "iommu-off", VP_SEV_BLOCK, VP_SUBJECT_HOST, "host", false, fix,
            "host: no IOMMU groups although IOMMU units exist (%s): the IOMMU is not in translation mode",
            units);
    else
        vp_findings_add(
            out, "iommu-off", VP_SEV_BLOCK, VP_SUBJECT_HOST, "host", false, fix,
            "host: no IOMMU groups and no IOMMU units in /sys/class/iommu (IOMMU off or not enabled in the firmware)");
}

void
vp_check_host_irq_remap(const vp_check_ctx *c, vp_findings *out)
{
    const vp_host_facts *f = &c->h->facts;

    if (!f->read || !c->h->iommu_present || f->irq_remapping == 1)
        return;
    if (f->irq_remapping < 0) {
        vp_findings_add(out, "irq-remap-off", VP_SEV_INFO, VP_SUBJECT_HOST, "host", false,
                        "check 'dmesg | grep -i remapping' for \"Enabled IRQ remapping\"",
                        "host: interrupt remapping state unknown (no IR- interrupt chip seen)");
        return;
    }
    /* drivers/vfio/vfio_iommu_type1.c refuses to attach a group without IRQ remapping unless
     * allow_unsafe_interrupts is set: a device could then inject arbitrary interrupts. */
    if (f->unsafe_interrupts)
        vp_findings_add(
            out, "irq-remap-off", VP_SEV_WARN, VP_SUBJECT_HOST, "host", false,
            "enable interrupt remapping (x2APIC / IR in the firmware setup) and drop allow_unsafe_interrupts",
            "host: interrupt remapping is off; vfio accepts devices only because allow_unsafe_interrupts=Y");
    else
        vp_findings_add(
            out, "irq-remap-off", VP_SEV_BLOCK, VP_SUBJECT_HOST, "host", false,
            "enable interrupt remapping in the firmware setup (VT-d/AMD-Vi with interrupt remapping, x2APIC) and reboot",
            "host: interrupt remapping is off: vfio_iommu_type1 refuses to attach devices (allow_unsafe_interrupts is not set)");
}

void
vp_check_host_vfio(const vp_check_ctx *c, vp_findings *out)
{
    const vp_host_facts *f = &c->h->facts;
    bool pci = f->vfio_pci_loaded || f->vfio_pci_builtin;
    vp_autostrv char **missing = NULL;
    vp_autofree char *list = NULL;

    if (!f->read)
        return;
    if (!f->vfio_loaded)
        vp_strv_push(&missing, "vfio");
    if (!pci)
        vp_strv_push(&missing, "vfio_pci");
    if (!f->vfio_type1_loaded)
        vp_strv_push(&missing, "vfio_iommu_type1");
    if (!f->dev_vfio)
        vp_strv_push(&missing, "/dev/vfio/vfio");
    if (!missing)
        return;
    list = vp_strv_join(missing, ", ", "");
    /* Nothing loaded is the normal state before the first assignment: libvirt loads vfio-pci
     * for managed devices. Part of it loaded means something is off (a module blacklisted). */
    if (!f->vfio_loaded && !pci && !f->vfio_type1_loaded)
        vp_findings_add(out, "vfio-not-loaded", VP_SEV_INFO, VP_SUBJECT_HOST, "host", false,
                        "modprobe vfio-pci (libvirt loads it itself for managed='yes' devices)",
                        "host: vfio is not loaded (missing: %s)", list);
    else
        vp_findings_add(
            out, "vfio-not-loaded", VP_SEV_WARN, VP_SUBJECT_HOST, "host", false,
            "modprobe vfio-pci vfio_iommu_type1, and check that none of them is blacklisted in /etc/modprobe.d",
            "host: vfio is only partly available (missing: %s)", list);
}

void
vp_check_host_acs_override(const vp_check_ctx *c, vp_findings *out)
{
    vp_autofree char *value = NULL;

    if (!c->h->facts.read ||
        !vp_check_cmdline_param(c->h->facts.cmdline, "pcie_acs_override", &value))
        return;
    vp_findings_add(
        out, "acs-override", VP_SEV_WARN, VP_SUBJECT_HOST, "host", false,
        "remove pcie_acs_override from the kernel command line and accept the real groups, or move the device to a slot behind a port with ACS",
        "host: pcie_acs_override=%s is on the kernel command line: IOMMU groups are split without hardware isolation, so a device can reach its neighbours peer-to-peer",
        value ? value : "");
}

void
vp_check_host_unsafe_interrupts(const vp_check_ctx *c, vp_findings *out)
{
    if (!c->h->facts.read || !c->h->facts.unsafe_interrupts)
        return;
    vp_findings_add(
        out, "unsafe-interrupts", VP_SEV_WARN, VP_SUBJECT_HOST, "host", false,
        "remove vfio_iommu_type1.allow_unsafe_interrupts=1 (kernel command line or /etc/modprobe.d) once interrupt remapping works",
        "host: vfio_iommu_type1 allow_unsafe_interrupts=Y: a guest can inject interrupts into the host (MSI attacks)");
}

void
vp_check_host_ok(const vp_check_ctx *c, vp_findings *out)
{
    const vp_host_facts *f = &c->h->facts;
    vp_autofree char *units = NULL;

    if (!f->read || !c->h->iommu_present || f->irq_remapping != 1 || f->unsafe_interrupts ||
        vp_check_cmdline_param(f->cmdline, "pcie_acs_override", NULL))
        return;
    units = vp_strv_join(f->iommu_units, ", ", "none listed");
    vp_findings_add(out, "iommu-ok", VP_SEV_OK, VP_SUBJECT_HOST, "host", false, NULL,
                    "host: IOMMU on (units: %s, %zu groups), interrupt remapping on", units,
                    c->h->n_groups);
}
