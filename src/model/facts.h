/* Facts beyond the inventory, gathered by sources for the checks (src/check): what the config
 * space, sysfs and procfs of a local host say. Pure data; NULL/unknown when not read (remote). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pci_addr.h"

/* PCI Express device/port type (PCIe Base Spec, Express Capabilities register bits 7:4). */
typedef enum {
    VP_PCIE_NONE = -1, /* conventional PCI: no PCI Express capability */
    VP_PCIE_ENDPOINT = 0x0,
    VP_PCIE_LEGACY_ENDPOINT = 0x1,
    VP_PCIE_RC_INTEGRATED = 0x9,
    VP_PCIE_RC_EVENT_COLLECTOR = 0xa,
    VP_PCIE_ROOT_PORT = 0x4,
    VP_PCIE_UPSTREAM = 0x5,
    VP_PCIE_DOWNSTREAM = 0x6,
    VP_PCIE_PCIE_TO_PCI = 0x7,
    VP_PCIE_PCI_TO_PCIE = 0x8,
} vp_pcie_type;

/* ACS capability and control bits (PCIe Base Spec 6.0, 7.7.11; same bit positions in both). */
enum {
    VP_ACS_SV = 0x0001, /* Source Validation */
    VP_ACS_TB = 0x0002, /* Translation Blocking */
    VP_ACS_RR = 0x0004, /* P2P Request Redirect */
    VP_ACS_CR = 0x0008, /* P2P Completion Redirect */
    VP_ACS_UF = 0x0010, /* Upstream Forwarding */
    VP_ACS_EC = 0x0020, /* P2P Egress Control */
    VP_ACS_DT = 0x0040, /* Direct Translated P2P */
};

typedef struct {
    bool present;
    bool is_io;
    bool is_64;
    bool prefetchable;
    uint64_t base;
    uint64_t size;
} vp_bar;

/* What the config space and the device's sysfs directory say; read-only, never probed. */
typedef struct {
    unsigned config_len;   /* bytes readable: 64 (non-root), 256, or 4096 */
    uint8_t header_type;   /* 0 endpoint, 1 PCI-to-PCI bridge, 2 CardBus (bit 7 cleared) */
    bool multifunction;    /* header type bit 7 */
    uint8_t interrupt_pin; /* 0 none, 1..4 INTA#..INTD# */
    bool has_irq;
    unsigned irq; /* sysfs irq */
    bool has_msi;
    bool has_msix;
    unsigned msix_table_size;
    vp_pcie_type pcie_type;
    bool flr;    /* PCIe DevCap bit 28 or Advanced Features FLR */
    bool af_flr; /* from the AF capability */
    bool has_pm;
    bool pm_no_soft_reset; /* PMCSR NoSoftRst: D3hot->D0 keeps state, so no PM reset */
    char *reset_method;    /* sysfs reset_method contents ("flr bus"), NULL when absent */
    bool has_acs;
    uint16_t acs_cap;
    uint16_t acs_ctrl;
    bool has_sriov;
    bool has_ari;
    vp_bar bars[6];
    uint64_t rom_size; /* expansion ROM, 0 when none */
    bool has_boot_vga;
    bool boot_vga;
} vp_pci_facts;

/* An IOMMU reserved region (sysfs iommu_groups/N/reserved_regions). */
typedef struct {
    uint64_t start;
    uint64_t end;
    char *type; /* "direct", "direct-relaxable", "msi", "reserved" */
} vp_region;

/* A host network interface and what makes it critical. */
typedef struct {
    char *name;
    char *master;       /* bridge/bond/team it is a port of, NULL when none */
    char **addresses;   /* vp_strv of "192.0.2.10/24", "2001:db8::1/64" */
    bool default_route; /* a default route (v4 or v6) leaves through it */
    char **routes;      /* vp_strv of other routes through it ("10.0.0.0/8") */
} vp_netif;

/* A mounted filesystem or active swap on a block device. */
typedef struct {
    char *mountpoint; /* "/", "/boot/efi", "[swap]" */
    char *source;     /* "/dev/nvme0n1p2" */
    unsigned major, minor;
    bool has_device; /* the PCI device under it was found */
    vp_pci_addr device;
} vp_mount;

/* Host-wide facts (local only). */
typedef struct {
    bool read;          /* false for a remote host: checks say "skipped (remote)" */
    char *cmdline;      /* /proc/cmdline */
    char **iommu_units; /* /sys/class/iommu entries (dmar0, ivhd0) */
    int irq_remapping;  /* 1 on, 0 off, -1 unknown (from /proc/interrupts IR- chips or dmesg) */
    bool vfio_loaded, vfio_pci_loaded, vfio_type1_loaded, dev_vfio;
    bool vfio_pci_builtin;  /* /sys/module/vfio_pci without a module file, or builtin list */
    bool unsafe_interrupts; /* vfio_iommu_type1 allow_unsafe_interrupts=Y */
    vp_netif *netifs;
    size_t n_netifs;
    vp_mount *mounts;
    size_t n_mounts;
} vp_host_facts;
