/* Sources: turn what libvirt or sysfs reports into the host model (src/model/host.h). */
#pragma once

#include <stdbool.h>

#include "../model/host.h"
#include "../util/error.h"

struct vp_virt;

/* Parse one PCI node-device XML document (libvirt's format) into D. -1 with ERR (VP_E_DATA)
 * when it is not a readable PCI device; D is then left cleared. Pure: no I/O. */
int vp_nodedev_parse_pci(const char *xml, vp_device *d, vp_error *err);

/* Parse one net node-device XML: its interface name and parent node-device name (allocated).
 * -1 with ERR (VP_E_DATA) when it is not a net device with a parent. */
int vp_nodedev_parse_net(const char *xml, char **ret_ifname, char **ret_parent, vp_error *err);

/* Add to H the PCI devices of every <hostdev> (mode='subsystem' type='pci') and
 * <interface type='hostdev'> in domain XML XML, owned by DOMAIN, as live and/or config
 * records. -1 with ERR (VP_E_DATA) when XML is not a domain document; entries without a
 * readable PCI address are recorded as problems of H, not errors. */
int vp_domxml_add_assignments(vp_host *h, const char *domain, const char *xml, bool live,
                              bool config, vp_error *err);

/* Fill D's definition fields (arch, machine, firmware, loader, the root controller's
 * <pcihole64>, <cpu><maxphysaddr>) from domain XML XML and set d->xml_read. -1 with ERR
 * (VP_E_DATA, naming D) for a document that is not a domain or a malformed value (pcihole64
 * garbage, unknown unit, overflow, bad bits); D is then left unchanged. Pure: no I/O. */
int vp_domxml_read_domain(vp_domain *d, const char *xml, vp_error *err);

/* Add to D->macs every <interface><mac address> of domain XML XML (lower case, kept sorted and
 * unique); called for each definition of a domain. -1 with ERR (VP_E_DATA) when XML is not a
 * domain document; D is then unchanged. Pure: no I/O. */
int vp_domxml_add_macs(vp_domain *d, const char *xml, vp_error *err);

/* Fill H's devices from the node-device API of V (one list call, one XML per device). */
int vp_source_libvirt_load(vp_host *h, struct vp_virt *v, vp_error *err);

/* Fill H's domains and ledger from V (one list call, one or two XML per domain). */
int vp_source_ledger_load(vp_host *h, struct vp_virt *v, vp_error *err);

/* Fill H's devices from ROOT/sys/bus/pci/devices and ROOT/sys/kernel/iommu_groups, with libpci
 * (sysfs.path = ROOT/sys/bus/pci) for names and capabilities. Missing ROOT/sys/bus/pci is an
 * error (VP_E_NOTFOUND); no iommu_groups is not (h->iommu_present stays false). */
int vp_source_sysfs_load(vp_host *h, const char *root, vp_error *err);

/* What vp_source_sysfs_load_opts reads. */
typedef struct {
    const vp_pci_addr *only; /* NULL: every device; else just these (any order, repeats
                              * allowed; one absent from the tree becomes a problem of H), and
                              * the reserved regions of their groups only */
    size_t n_only;
    bool no_names; /* leave vendor and product names NULL: loading pci.ids costs ~15 ms */
} vp_sysfs_opts;

/* vp_source_sysfs_load with options O (NULL: the defaults, as vp_source_sysfs_load). The hook
 * reads the few groups it isolates this way instead of every device of a large host. */
int vp_source_sysfs_load_opts(vp_host *h, const char *root, const vp_sysfs_opts *o, vp_error *err);

/* Fill H->facts with the host-wide facts under ROOT ("/" or a fixture tree; NULL means "/"):
 * /proc/cmdline, IOMMU units, interrupt remapping, VFIO modules, network interfaces with their
 * masters, routes and addresses, and the PCI functions under mounts and swap. Read-only. A
 * missing file leaves its fact unknown or empty; an unreadable or malformed one becomes a
 * problem of H. IPv4 addresses come from netlink, so only when ROOT is this machine's "/".
 * -1 with ERR only when ROOT itself cannot be resolved. Replaces earlier facts of H. */
int vp_source_host_facts_load(vp_host *h, const char *root, vp_error *err);

/* What vp_source_host_facts_load_opts reads. */
typedef struct {
    char *const *only_netdevs; /* NULL: every interface of /sys/class/net; else (a vp_strv)
                                * only these and the bridges or bonds above them get their
                                * master read (routes and addresses are read for all) */
} vp_host_facts_opts;

/* vp_source_host_facts_load with options O (NULL: the defaults). The hook asks for the
 * interfaces of the few functions it may take from the host, not the hundreds of a large
 * host's VFs. */
int vp_source_host_facts_load_opts(vp_host *h, const char *root, const vp_host_facts_opts *o,
                                   vp_error *err);
