/* PCI addresses: parsing every input form vpass accepts, formatting, ordering. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "../util/error.h"

typedef struct {
    uint32_t domain; /* 16 bits in practice; libvirt allows up to 0xffffffff */
    uint8_t bus;
    uint8_t slot; /* 0..31 */
    uint8_t func; /* 0..7 */
} vp_pci_addr;

/* "dddd:bb:ss.f" plus NUL; a domain above 0xffff takes more digits. */
#define VP_PCI_ADDR_STRLEN 24

/* Parse "0000:18:00.0", "18:00.0" (domain 0) or "pci_0000_18_00_0" (libvirt node-device name).
 * Returns 0, or -1 with ERR (VP_E_USAGE) naming the input and the expected forms. */
int vp_pci_addr_parse(const char *s, vp_pci_addr *ret, vp_error *err);

/* True when S has one of the address forms above (no error reported). */
bool vp_pci_addr_looks_like(const char *s);

/* Format as "dddd:bb:ss.f" into BUF; returns BUF. */
char *vp_pci_addr_format(const vp_pci_addr *a, char buf[VP_PCI_ADDR_STRLEN]);

/* Format as libvirt's node-device name "pci_dddd_bb_ss_f" (allocated). */
char *vp_pci_addr_nodedev_name(const vp_pci_addr *a);

int vp_pci_addr_cmp(const vp_pci_addr *a, const vp_pci_addr *b);
bool vp_pci_addr_eq(const vp_pci_addr *a, const vp_pci_addr *b);
/* Same bus and slot: functions of one card. */
bool vp_pci_addr_same_slot(const vp_pci_addr *a, const vp_pci_addr *b);
