/* libpci behind a small interface: config space, capabilities, BARs, pci.ids names (internal). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../model/pci_addr.h"
#include "../util/error.h"
#include "../util/macro.h"

/* Capability IDs used by vpass (PCI Local Bus 3.0 appendix H; PCIe Base 6.0 section 7.6). */
#define VP_PCI_CAP_ID_PM 0x01
#define VP_PCI_CAP_ID_MSI 0x05
#define VP_PCI_CAP_ID_EXP 0x10 /* PCI Express */
#define VP_PCI_CAP_ID_MSIX 0x11
#define VP_PCI_CAP_ID_AF 0x13 /* Conventional PCI Advanced Features */
#define VP_PCI_EXT_CAP_ID_ACS 0x0d
#define VP_PCI_EXT_CAP_ID_ARI 0x0e
#define VP_PCI_EXT_CAP_ID_SRIOV 0x10
#define VP_PCI_EXT_CAP_ID_REBAR 0x15

/* A non-root reader gets only 64 bytes of config space (the kernel hides the rest). Shorter
 * than this, capabilities cannot be seen: checks must read their absence as "unknown". */
#define VP_PCI_CONFIG_COMPLETE 256
/* PCI Express extended configuration space: extended capabilities need all of it. */
#define VP_PCI_CONFIG_EXTENDED 4096

typedef struct {
    uint16_t id;
    bool extended; /* PCIe extended capability (offset >= 0x100) */
    uint16_t offset;
} vp_pcilib_cap;

typedef struct {
    uint64_t base; /* bus address without flag bits; 0 when unassigned */
    uint64_t size; /* 0 when the BAR is unused (or the upper half of a 64-bit BAR) */
    bool io;       /* I/O space */
    bool mem64;    /* 64-bit memory BAR */
    bool prefetch; /* prefetchable memory */
} vp_pcilib_bar;

/* What libpci tells about one device. Plain data: it outlives the vp_pcilib it came from. */
typedef struct {
    uint8_t *config;      /* raw config space as read, NULL when none */
    size_t config_len;    /* 64 for a non-root reader, 256 or 4096 for root */
    bool config_complete; /* config_len >= VP_PCI_CONFIG_COMPLETE */

    vp_pcilib_cap *caps; /* in config-space order; only what config_len let libpci see */
    size_t n_caps;

    bool bars_known;       /* sizes known: from sysfs 'resource' through libpci (PCI_FILL_SIZES) */
    bool bases_known;      /* bases and types known: with bars_known, or from the BAR registers
                            * of a dump (then every size is 0: a dump holds no sizes) */
    vp_pcilib_bar bars[6]; /* indexed by resource line (BAR register), as lspci's "Region N" */
    uint64_t rom_base;     /* expansion ROM address (without the enable bit), 0 when none */
    uint64_t rom_size;
} vp_pcilib_dev;

typedef struct vp_pcilib vp_pcilib;

/* Open libpci on ROOT/sys/bus/pci (linux-sysfs method, never writeable) with names from the
 * host's pci.ids only (/usr/share/misc/pci.ids, else /usr/share/hwdata/pci.ids; no udev hwdb,
 * no DNS, no ~/.pciids-cache), so names do not depend on the caller's environment. Fails
 * (VP_E_SYSTEM) only if libpci refuses to initialise; a missing tree shows up per device. */
int vp_pcilib_open(const char *root, vp_pcilib **ret, vp_error *err);

/* Open libpci on FILE, an `lspci -x` / `-xxx` / `-xxxx` dump, through libpci's own dump
 * backend (PCI_ACCESS_DUMP, "dump.name"): vp_pcilib_read then walks capabilities exactly as
 * for sysfs. config_len is the dump's length (64, 256 or 4096); BAR bases come from the
 * registers (bases_known) but never sizes (bars_known stays false). Names as for
 * vp_pcilib_open. Fails naming FILE: VP_E_NOTFOUND or VP_E_SYSTEM when it cannot be read,
 * VP_E_DATA when libpci cannot parse it (libpci reads the whole file here). */
int vp_pcilib_open_dump(const char *file, vp_pcilib **ret, vp_error *err);

/* Release PL (accepts NULL). */
void vp_pcilib_close(vp_pcilib *pl);
VP_DEFINE_AUTOPTR(vp_pcilib, vp_pcilib_close)

/* Names from pci.ids as new strings, or NULL when the id is not listed (or pci.ids is missing). */
char *vp_pcilib_vendor_name(vp_pcilib *pl, uint16_t vendor);
char *vp_pcilib_product_name(vp_pcilib *pl, uint16_t vendor, uint16_t device);

/* Read ADDR's config space, capabilities and BARs into *RET (cleared first). Always fills what
 * it could; returns -1 with ERR (VP_E_DATA, naming the device) when libpci reported an error,
 * e.g. a malformed 'resource' (then bars_known is false). A missing 'config' or 'resource' (or
 * a device not in a dump) is not an error: config_len is 0 or bars_known false. Clear *RET
 * with vp_pcilib_dev_clear. */
int vp_pcilib_read(vp_pcilib *pl, const vp_pci_addr *addr, vp_pcilib_dev *ret, vp_error *err);

/* Free what F owns and zero it (accepts NULL). */
void vp_pcilib_dev_clear(vp_pcilib_dev *f);

/* The capability ID (first of its kind), or NULL when absent or not visible. */
const vp_pcilib_cap *vp_pcilib_dev_find_cap(const vp_pcilib_dev *f, unsigned id, bool extended);

/* Little-endian config reads; false when OFF..OFF+size is beyond what was read. */
bool vp_pcilib_dev_read8(const vp_pcilib_dev *f, size_t off, uint8_t *ret);
bool vp_pcilib_dev_read16(const vp_pcilib_dev *f, size_t off, uint16_t *ret);
bool vp_pcilib_dev_read32(const vp_pcilib_dev *f, size_t off, uint32_t *ret);
