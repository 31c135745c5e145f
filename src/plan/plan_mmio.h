/* Internal to src/plan: editing the 64-bit MMIO window settings of a domain definition. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "plan_int.h"

/* "64 GiB", "1536 MiB": exact, in the largest unit that divides BYTES. */
#define VP_PLAN_SIZE_STRLEN 32
const char *vp_plan_size_str(uint64_t bytes, char buf[VP_PLAN_SIZE_STRLEN]);

/* The root controller (<controller type='pci' model='pcie-root|pci-root'>), NULL if none. */
xmlNode *vp_plan_root_controller(xmlNode *domain_root);

/* Set <pcihole64 unit='KiB'>KIB</pcihole64> on the root controller, creating the controller
 * (pcie-root when Q35, else pci-root) and the element as needed. */
void vp_plan_set_pcihole64(xmlNode *domain_root, bool q35, uint64_t kib);

/* Set (or add, with <qemu:commandline> and its namespace) -fw_cfg
 * name=opt/ovmf/X-PciMmio64Mb,string=MIB. */
void vp_plan_set_ovmf_mmio64(xmlNode *domain_root, uint64_t mib);

/* Add <cpu><maxphysaddr mode='passthrough'/></cpu>; true when <cpu> had to be created. */
bool vp_plan_add_maxphysaddr(xmlNode *domain_root);

/* Address bits the guest needs for a WINDOW-byte 64-bit window placed above MEMORY bytes of
 * RAM (above 4 GiB), naturally aligned; 0 for no window. */
unsigned vp_plan_window_bits(uint64_t memory, uint64_t window);

/* True when that window ends beyond QEMU's default 40 physical address bits. */
bool vp_plan_needs_maxphysaddr(uint64_t memory, uint64_t window);

/* Put back every setting M records (pcihole64, maxphysaddr, OVMF's X-PciMmio64Mb) in
 * DOMAIN_ROOT and drop those records from M; one phrase per change is pushed on *PARTS. */
void vp_plan_restore_settings(xmlNode *domain_root, vp_meta *m, char ***parts);
