/* The sysfs applier: binds a PCI function to vfio-pci and gives it back to a host driver
 * through the kernel's driver_override, unbind and drivers_probe files under a root, behind a
 * writer seam (tests substitute a model of the kernel). No libvirt: the hook uses it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "../model/pci_addr.h"
#include "../util/error.h"

/* The seam every write goes through. WRITE writes LEN bytes of VALUE to REL (relative to ROOT,
 * e.g. "sys/bus/pci/drivers_probe") in one write(2), as sysfs wants a value whole; it
 * returns 0 or a negative errno and never creates a file. Reads are not part of the seam: the
 * kernel (or the model) keeps the tree's links and files up to date. */
typedef struct {
    int (*write)(void *ctx, const char *root, const char *rel, const char *value, size_t len);
    void *ctx;
} vp_sysfs_writer;

/* The real writer: open(2) O_WRONLY|O_NOFOLLOW|O_CLOEXEC (never O_CREAT), one write, close. */
extern const vp_sysfs_writer vp_sysfs_writer_real;

/* The driver vpass binds to. */
#define VP_SYSFS_VFIO "vfio-pci"

/* How long a bind may take before vpass gives up, by default (ms). Unbinding is synchronous
 * in the kernel; probing may be asynchronous (PROBE_PREFER_ASYNCHRONOUS drivers, e.g. nvme). */
#define VP_SYSFS_TIMEOUT_MS 10000

typedef struct {
    const char *root;              /* "/" or a fixture tree; NULL means "/" */
    const vp_sysfs_writer *writer; /* NULL: vp_sysfs_writer_real */
    unsigned timeout_ms;           /* bounded wait for a bind; 0: VP_SYSFS_TIMEOUT_MS */
} vp_sysfs;

/* True when NAME can be a driver's directory name: [A-Za-z0-9_.+-], not "." or "..", at most
 * 64 bytes. Every driver name that reaches a path is checked with this. */
bool vp_sysfs_driver_name_ok(const char *name);

/* The driver ADDR is bound to (*RET allocated; NULL when unbound). -1 with ERR: VP_E_NOTFOUND
 * when ADDR is not in ROOT/sys/bus/pci/devices, VP_E_SYSTEM when the link is unreadable. */
int vp_sysfs_read_driver(const vp_sysfs *s, const vp_pci_addr *addr, char **ret, vp_error *err);

/* ADDR's driver_override (*RET allocated; NULL when unset: "(null)", or no such file on an old
 * kernel). -1 with ERR as vp_sysfs_read_driver. */
int vp_sysfs_read_override(const vp_sysfs *s, const vp_pci_addr *addr, char **ret, vp_error *err);

/* True when ROOT/sys/bus/pci/drivers/DRIVER exists (the module is loaded). */
bool vp_sysfs_driver_loaded(const vp_sysfs *s, const char *driver);

/* Bind ADDR to vfio-pci: driver_override = vfio-pci, unbind from its current driver,
 * drivers_probe, then wait (bounded) until its driver link names vfio-pci. Already on
 * vfio-pci: nothing is written. Never writes new_id (which would claim every device with the
 * same ids). On failure ADDR may be half-way (override set, or unbound): vp_sysfs_restore
 * repairs every such state. Errors name ADDR first: VP_E_UNSUPPORTED when vfio-pci is not
 * loaded (nothing written), VP_E_SYSTEM for a failed write or a timeout. */
int vp_sysfs_bind_vfio(const vp_sysfs *s, const vp_pci_addr *addr, vp_error *err);

/* Give ADDR back to DRIVER with driver_override OVERRIDE (NULL: cleared, by writing "\n"), from
 * whatever state a bind left it in: on vfio-pci (unbind, drivers_probe), unbound
 * (drivers_probe), or still on DRIVER with the override set (the override only). Waits
 * (bounded) until the driver link names DRIVER (writing to DRIVER's bind file would not help:
 * the kernel matches it as a probe does). DRIVER NULL means "no driver": ADDR is only
 * unbound. Already
 * as asked: nothing is written. Bound to a third driver (neither DRIVER nor vfio-pci): -1 with
 * VP_E_UNSAFE and nothing written, since someone else took it. Other errors VP_E_SYSTEM. */
int vp_sysfs_restore(const vp_sysfs *s, const vp_pci_addr *addr, const char *driver,
                     const char *override, vp_error *err);
