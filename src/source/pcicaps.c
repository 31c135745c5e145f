/* Config-space decoding: header, interrupts, reset and isolation capabilities, BARs. Pure. */
#include "pcicaps.h"

#include <string.h>

/* Sections are those of the PCI Express Base Specification 6.0 unless said otherwise. */

/* 7.5.1.1.9 Header Type (bits 6:0 layout, bit 7 Multi-Function Device). */
#define CFG_HEADER_TYPE 0x0e
#define CFG_HEADER_TYPE_LAYOUT 0x7f
#define CFG_HEADER_TYPE_MULTIFUNCTION 0x80
/* 7.5.1.1.13 Interrupt Pin: 0 none, 1..4 INTA#..INTD#. */
#define CFG_INTERRUPT_PIN 0x3d

/* 7.5.2.2 Power Management Control/Status Register (PMCSR), bit 3 No_Soft_Reset: set when a
 * D3hot->D0 transition keeps the function's state, so a PM reset resets nothing. */
#define PM_PMCSR 0x04
#define PM_PMCSR_NO_SOFT_RESET 0x0008

/* 7.5.3.2 PCI Express Capabilities Register, bits 7:4 Device/Port Type. */
#define EXP_FLAGS 0x02
#define EXP_FLAGS_TYPE_SHIFT 4
#define EXP_FLAGS_TYPE_MASK 0xf
/* 7.5.3.3 Device Capabilities Register, bit 28 Function Level Reset Capability. */
#define EXP_DEVCAP 0x04
#define EXP_DEVCAP_FLR (1u << 28)

/* 7.7.2.2 Message Control Register for MSI-X, bits 10:0 Table Size (encoded as N-1). */
#define MSIX_FLAGS 0x02
#define MSIX_FLAGS_QSIZE 0x07ff

/* 7.9.21.2 AF Capabilities Register (offset 03h): bit 0 TP (Transactions Pending), bit 1 FLR.
 * Linux uses AF FLR only with both (drivers/pci/pci.c, pci_af_flr), since without TP there is
 * no way to wait for outstanding transactions. */
#define AF_CAP 0x03
#define AF_CAP_TP 0x01
#define AF_CAP_FLR 0x02

/* 7.7.11.2 ACS Capability Register (offset 04h), 7.7.11.3 ACS Control Register (offset 06h). */
#define ACS_CAP 0x04
#define ACS_CTRL 0x06

/* The standard capabilities of one function (7.5.1.1.11 Capabilities Pointer and list). */
static void
decode_caps(const vp_pcilib_dev *pci, vp_pci_facts *f)
{
    const vp_pcilib_cap *c;
    bool devcap_flr = false;
    uint16_t v16;
    uint32_t v32;
    uint8_t v8;

    f->has_msi = vp_pcilib_dev_find_cap(pci, VP_PCI_CAP_ID_MSI, false) != NULL;

    c = vp_pcilib_dev_find_cap(pci, VP_PCI_CAP_ID_MSIX, false);
    if (c) {
        f->has_msix = true;
        if (vp_pcilib_dev_read16(pci, c->offset + MSIX_FLAGS, &v16))
            f->msix_table_size = (v16 & MSIX_FLAGS_QSIZE) + 1u;
    }

    c = vp_pcilib_dev_find_cap(pci, VP_PCI_CAP_ID_EXP, false);
    if (c) {
        /* Reserved encodings are kept as the device reports them; checks treat them as
         * "some PCIe function" (the enum names the defined ones). */
        if (vp_pcilib_dev_read16(pci, c->offset + EXP_FLAGS, &v16))
            f->pcie_type = (vp_pcie_type)((v16 >> EXP_FLAGS_TYPE_SHIFT) & EXP_FLAGS_TYPE_MASK);
        /* Linux reads the bit whatever the function type (pcie_has_flr); the spec has it
         * hardwired to 0 outside endpoints. */
        if (vp_pcilib_dev_read32(pci, c->offset + EXP_DEVCAP, &v32))
            devcap_flr = v32 & EXP_DEVCAP_FLR;
    }

    c = vp_pcilib_dev_find_cap(pci, VP_PCI_CAP_ID_AF, false);
    if (c && vp_pcilib_dev_read8(pci, c->offset + AF_CAP, &v8))
        f->af_flr = (v8 & AF_CAP_TP) && (v8 & AF_CAP_FLR);
    f->flr = devcap_flr || f->af_flr;

    c = vp_pcilib_dev_find_cap(pci, VP_PCI_CAP_ID_PM, false);
    if (c) {
        f->has_pm = true;
        if (vp_pcilib_dev_read16(pci, c->offset + PM_PMCSR, &v16))
            f->pm_no_soft_reset = v16 & PM_PMCSR_NO_SOFT_RESET;
    }
}

/* The extended capabilities (7.6.3, from offset 100h). */
static void
decode_ext_caps(const vp_pcilib_dev *pci, vp_pci_facts *f)
{
    const vp_pcilib_cap *c;
    uint16_t v16;

    c = vp_pcilib_dev_find_cap(pci, VP_PCI_EXT_CAP_ID_ACS, true);
    if (c) {
        f->has_acs = true;
        if (vp_pcilib_dev_read16(pci, c->offset + ACS_CAP, &v16))
            f->acs_cap = v16;
        if (vp_pcilib_dev_read16(pci, c->offset + ACS_CTRL, &v16))
            f->acs_ctrl = v16;
    }
    /* 9.3.3 SR-IOV Extended Capability; 7.8.8 ARI Extended Capability. */
    f->has_sriov = vp_pcilib_dev_find_cap(pci, VP_PCI_EXT_CAP_ID_SRIOV, true) != NULL;
    f->has_ari = vp_pcilib_dev_find_cap(pci, VP_PCI_EXT_CAP_ID_ARI, true) != NULL;
}

/* BARs (7.5.1.2.1) and the expansion ROM (7.5.1.2.4), when libpci knew their sizes. */
static void
decode_bars(const vp_pcilib_dev *pci, vp_pci_facts *f)
{
    if (!pci->bars_known)
        return;
    for (size_t i = 0; i < VP_ARRAY_SIZE(f->bars); i++) {
        const vp_pcilib_bar *in = &pci->bars[i];
        vp_bar *out = &f->bars[i];

        /* Size 0: unimplemented, or the upper half of the 64-bit BAR before it. */
        if (!in->size)
            continue;
        out->present = true;
        out->is_io = in->io;
        out->is_64 = in->mem64;
        out->prefetchable = in->prefetch;
        out->base = in->base;
        out->size = in->size;
    }
    f->rom_size = pci->rom_size;
}

void
vp_pcicaps_decode(const vp_pcilib_dev *pci, vp_pci_facts *ret)
{
    uint8_t v8;

    memset(ret, 0, sizeof(*ret));
    ret->pcie_type = VP_PCIE_NONE;
    ret->config_len = (unsigned)pci->config_len;

    if (vp_pcilib_dev_read8(pci, CFG_HEADER_TYPE, &v8)) {
        ret->header_type = v8 & CFG_HEADER_TYPE_LAYOUT;
        ret->multifunction = v8 & CFG_HEADER_TYPE_MULTIFUNCTION;
    }
    if (vp_pcilib_dev_read8(pci, CFG_INTERRUPT_PIN, &v8))
        ret->interrupt_pin = v8;

    /* Below 256 bytes (a non-root reader's 64) the capability list is cut off: whatever
     * libpci saw of it is no basis for "absent", so nothing is claimed either way. */
    if (pci->config_len >= VP_PCI_CONFIG_COMPLETE)
        decode_caps(pci, ret);
    if (pci->config_len >= VP_PCI_CONFIG_EXTENDED)
        decode_ext_caps(pci, ret);
    decode_bars(pci, ret);
}
