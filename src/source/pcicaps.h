/* Config-space facts for the checks: vp_pci_facts decoded from what libpci read (internal). */
#pragma once

#include "../model/facts.h"
#include "pcilib.h"

/* Fill *RET from PCI (config bytes, capability offsets, BARs): a pure function, no I/O, no
 * allocation. *RET is overwritten whole, so it must own nothing (reset_method stays NULL: the
 * sysfs fields are the caller's). Reads only the bytes PCI holds: with config_len below 256 the
 * capability fields stay false/VP_PCIE_NONE and mean "unknown" (config_len says so); extended
 * capabilities need 4096 bytes. BARs and rom_size are filled only when their sizes are known
 * (bars_known); a BAR is present when its size is not 0. */
void vp_pcicaps_decode(const vp_pcilib_dev *pci, vp_pci_facts *ret);
