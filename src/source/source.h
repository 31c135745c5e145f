/* Sources: turn what libvirt or sysfs reports into the host model (src/model/host.h). */
#pragma once

#include <stdbool.h>

#include "../model/host.h"
#include "../util/error.h"

struct vp_virt;

/* Parse one PCI node-device XML document (libvirt's format) into D. -1 with ERR (VP_E_DATA)
 * when it is not a readable PCI device; D is then left cleared. Pure: no I/O. */
int vp_nodedev_parse_pci(const char *xml, vp_device *d, vp_error *err);

/* vp_nodedev_parse_pci, and the members of the device's IOMMU group as its <iommuGroup> lists
 * them (itself included; allocated, NULL with 0 when it lists none) in *RET_MEMBERS: what
 * loading a part of a host needs to complete the group. Nothing is returned on error. */
int vp_nodedev_parse_pci_group(const char *xml, vp_device *d, vp_pci_addr **ret_members,
                               size_t *ret_n_members, vp_error *err);

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

/* A part of a host to load from libvirt (vp_source_libvirt_load_part). */
typedef struct {
    char *const *select;     /* vp_strv of the selection: addresses, node-device names, host
                              * interface names (NULL: none) */
    const vp_pci_addr *also; /* more devices by address: a group's members, a domain's */
    size_t n_also;
    bool all_functions; /* every function on the slot of a selected device */
    bool vfs;           /* every VF of a selected PF */
    const char *root;   /* a sysfs tree that describes the connection's host (this machine's
                         * "/", or --root): interfaces come from there, not from every net
                         * device; NULL when none does */
} vp_libvirt_part;

/* Fill H's devices from V as vp_source_libvirt_load does, but only the part P names and what
 * the checks and plans read around it: those devices, every member of their IOMMU groups
 * (each device's <iommuGroup> lists them), with P's options the functions of their slots and
 * the VFs of selected PFs; and the host interfaces of them all. Those come from P->root's
 * sysfs when given; else from libvirt, whose net devices name their parent only in their XML:
 * every net device is fetched, unless no loaded device is on a host driver (an interface is a
 * driver's) and the connection reports drivers. Each round is one listing call plus one call
 * per device it names; a name that is no device is not an error here (the command says so
 * when it resolves its selection). */
int vp_source_libvirt_load_part(vp_host *h, struct vp_virt *v, const vp_libvirt_part *p,
                                vp_error *err);

/* vp_source_ledger_load in two halves, so that the domains' round trips overlap with reading
 * the devices (libvirt's connection takes calls from several threads): _start begins fetching
 * every domain's XML on a thread of its own (-1 with ERR when V cannot list domains);
 * _finish waits for it and fills H's domains and ledger, or, with a NULL H, only waits and
 * frees. Every started fetch must be finished, also on an error path. */
typedef struct vp_ledger_fetch vp_ledger_fetch;
int vp_source_ledger_fetch_start(struct vp_virt *v, vp_ledger_fetch **ret, vp_error *err);
int vp_source_ledger_fetch_finish(vp_host *h, vp_ledger_fetch *f, vp_error *err);

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

/* The functions of IOMMU group GROUP as ROOT/sys/kernel/iommu_groups/GROUP/devices lists them
 * (allocated, in the directory's order; none when the group does not exist). -1 with ERR only
 * when the directory exists and cannot be read. */
int vp_sysfs_group_members(const char *root, unsigned group, vp_pci_addr **ret, size_t *ret_n,
                           vp_error *err);

/* Facts from sysfs under ROOT for a host whose devices came from libvirt on this machine: the
 * config-space facts of each device of H, moved across by address. With COMPLETE (H holds a
 * part of the host), the devices H lacks come across whole, facts and interfaces included:
 * the checks look at a selection's neighbours on the host itself (INTx lines, bus resets, ACS
 * upstream, the number of groups). An unreadable tree adds nothing. Call before finalize. */
void vp_source_sysfs_enrich(vp_host *h, const char *root, bool complete);

/* The host interfaces of function ADDR under ROOT, as vp_source_sysfs_load reads them
 * (ROOT/sys/bus/pci/devices/ADDR/net/, virtioN/net/): a sorted vp_strv, NULL when none or
 * unreadable. */
char **vp_sysfs_netdevs_of(const char *root, const vp_pci_addr *addr);

/* The PCI function behind host interface IFNAME under ROOT (ROOT/sys/class/net/IFNAME/device,
 * a virtio device's function for virtio-net): 0, or -1 when there is none (no such interface,
 * not on PCI). */
int vp_sysfs_netdev_function(const char *root, const char *ifname, vp_pci_addr *ret);

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
