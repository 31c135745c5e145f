/* The host model: devices, IOMMU groups, domains and the ledger of who owns what. Pure data,
 * built once per run by a source (src/source), then indexed by address, group and netdev. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"
#include "facts.h"
#include "pci_addr.h"

/* PCIe link as reported by the source: speed in GT/s as text ("2.5", "8", "16"), width lanes. */
typedef struct {
    bool present;
    char *speed;    /* NULL if unknown */
    unsigned width; /* 0 if unknown */
} vp_link;

typedef struct vp_device {
    vp_pci_addr addr;
    char addr_str[VP_PCI_ADDR_STRLEN]; /* "0000:18:00.0", set by vp_host_finalize */
    char *nodedev_name;                /* "pci_0000_18_00_0" (libvirt), derived for sysfs */

    bool ids_known;
    uint16_t vendor_id;
    uint16_t product_id;
    uint32_t class_code; /* 24-bit class, e.g. 0x020000 */
    char *vendor_name;   /* NULL if unknown */
    char *product_name;  /* NULL if unknown */

    char *driver; /* bound host driver, NULL when none */

    bool has_group;
    unsigned group;

    bool has_numa;
    int numa_node;

    bool is_bridge; /* PCI-to-PCI bridge (header type 1) or libvirt 'pci-bridge' capability */
    bool is_pcie;
    vp_link link_cap; /* maximum */
    vp_link link_sta; /* negotiated */

    bool has_parent; /* upstream PCI device (bridge or port); false on a root bus */
    vp_pci_addr parent;

    bool is_vf;
    vp_pci_addr physfn;

    bool is_pf;       /* SR-IOV capable */
    unsigned vf_max;  /* sriov_totalvfs / maxCount */
    vp_pci_addr *vfs; /* current VFs */
    size_t n_vfs;

    char **netdevs; /* vp_strv of host interface names, NULL if none */

    /* Config space and sysfs facts for the checks; NULL when not read (remote source). */
    vp_pci_facts *facts;

    /* Filled by vp_host_finalize from the ledger. */
    char **owners; /* vp_strv of domain names whose definition holds this device */
    bool conflict; /* in more than one domain's definition */
    bool owned_by_running;
} vp_device;

typedef enum {
    VP_VERDICT_READY,    /* every endpoint on vfio-pci or without a driver */
    VP_VERDICT_HOST,     /* every endpoint on a host driver */
    VP_VERDICT_MIXED,    /* some of each */
    VP_VERDICT_IN_USE,   /* a member is owned by a running domain */
    VP_VERDICT_CONFLICT, /* a member is in more than one domain's definition */
} vp_verdict;

typedef struct {
    unsigned number;
    size_t *members; /* indexes into vp_host.devices, address order */
    size_t n_members;
    vp_verdict verdict;
    vp_region *regions; /* reserved regions, NULL when not read */
    size_t n_regions;
    bool regions_read;
} vp_group;

typedef enum {
    VP_USE_HOSTDEV,   /* <hostdev mode='subsystem' type='pci'> */
    VP_USE_INTERFACE, /* <interface type='hostdev'> */
} vp_use_kind;

typedef enum {
    VP_FIRMWARE_UNKNOWN,
    VP_FIRMWARE_BIOS, /* SeaBIOS: no <loader>, or firmware='bios' */
    VP_FIRMWARE_EFI,  /* OVMF: firmware='efi' or a pflash <loader> */
} vp_firmware;

typedef struct {
    char *name;
    char *uuid; /* NULL if unknown */
    bool running;
    bool persistent;
    /* From the persistent definition (else the live one); NULL/false when not given. */
    bool xml_read;
    char *arch;    /* "x86_64" */
    char *machine; /* "pc-q35-7.2", "pc-i440fx-7.2", "q35" */
    vp_firmware firmware;
    char *loader; /* <loader> path */
    bool has_pcihole64;
    uint64_t pcihole64_kib; /* on the root controller (pcie-root or pci-root) */
    char *maxphysaddr_mode; /* <cpu><maxphysaddr mode=...>, NULL when absent */
    bool has_maxphysaddr_bits;
    unsigned maxphysaddr_bits;
    /* Every <interface><mac address> of the live and persistent definitions, lower case,
     * sorted, unique (vp_strv; NULL when none): SR-IOV refuses a MAC another domain uses. */
    char **macs;
} vp_domain;

/* One PCI device referenced by one domain (merged over its live and persistent XML). */
typedef struct {
    char *domain;
    vp_pci_addr addr;
    vp_use_kind kind;
    bool managed;
    bool live;   /* in the running definition */
    bool config; /* in the persistent definition */
} vp_assignment;

/* Something a source could not read; the rest of the inventory still stands. */
typedef struct {
    char *what; /* the node device, sysfs entry or domain */
    char *why;
} vp_problem;

typedef struct vp_host {
    vp_host_facts facts; /* host-wide facts; facts.read is false for a remote host */
    char *source;        /* "libvirt" or "sysfs" */
    char *uri;           /* connection URI, NULL when none */
    char *root;          /* filesystem root for sysfs reads, "/" by default */
    bool iommu_present;  /* IOMMU groups exist on this host */

    vp_device **devices; /* sorted by address after finalize */
    size_t n_devices;
    size_t alloc_devices;

    vp_group *groups; /* sorted by number */
    size_t n_groups;

    vp_domain *domains;
    size_t n_domains;
    size_t alloc_domains;

    vp_assignment *assignments;
    size_t n_assignments;
    size_t alloc_assignments;

    vp_problem *problems;
    size_t n_problems;
    size_t alloc_problems;

    /* Reserved regions by group, recorded by a source, attached to groups by finalize. */
    struct vp_pending_region *pending_regions;
    size_t n_pending_regions;
    size_t alloc_pending_regions;
    unsigned *regions_read_groups; /* groups whose reserved_regions file was read */
    size_t n_regions_read_groups;
    size_t alloc_regions_read_groups;

    /* Sorted (ifname, device index) pairs, built by finalize. */
    struct vp_netdev_index *netdev_index;
    size_t n_netdev_index;
} vp_host;

/* A new empty host (aborts on OOM). */
vp_host *vp_host_new(void);
void vp_host_free(vp_host *h); /* accepts NULL */
VP_DEFINE_AUTOPTR(vp_host, vp_host_free)

/* A new zeroed device owned by H. */
vp_device *vp_host_add_device(vp_host *h);
void vp_device_clear(vp_device *d);
void vp_pci_facts_free(vp_pci_facts *f); /* accepts NULL */
void vp_host_facts_clear(vp_host_facts *f);
void vp_domain_clear(vp_domain *d);

/* True when MACHINE is a q35 machine type ("q35", "pc-q35-7.2"). */
bool vp_machine_is_q35(const char *machine);

/* Record a domain; returns it (owned by H). */
vp_domain *vp_host_add_domain(vp_host *h, const char *name, const char *uuid, bool running,
                              bool persistent);

/* Record that DOMAIN references ADDR in its live (LIVE) and/or persistent (CONFIG) XML; merges
 * with an existing record for the same domain and address. */
void vp_host_add_assignment(vp_host *h, const char *domain, const vp_pci_addr *addr,
                            vp_use_kind kind, bool managed, bool live, bool config);

/* Record that GROUP's reserved_regions were read (even if empty), and one region of it. */
void vp_host_mark_group_regions_read(vp_host *h, unsigned group);
void vp_host_add_group_region(vp_host *h, unsigned group, uint64_t start, uint64_t end,
                              const char *type);

/* Record something unreadable (printf-style reason). */
void vp_host_add_problem(vp_host *h, const char *what, const char *fmt, ...) VP_PRINTF(3, 4);

/* Sort and index everything, build groups, owners and verdicts. Duplicate addresses from a
 * source are reported as problems (the first wins). Call once, after the sources. */
void vp_host_finalize(vp_host *h);

/* Lookups (after finalize); NULL when absent. */
vp_device *vp_host_find_device(const vp_host *h, const vp_pci_addr *addr);
const vp_group *vp_host_find_group(const vp_host *h, unsigned number);
vp_device *vp_host_find_netdev(const vp_host *h, const char *ifname);
const vp_domain *vp_host_find_domain(const vp_host *h, const char *name);

/* Resolve a user's device selector: an address form, a node-device name or a host interface
 * name. -1 with ERR: VP_E_USAGE for malformed input, VP_E_NOTFOUND for an absent device. */
int vp_host_resolve_device(const vp_host *h, const char *input, vp_device **ret, vp_error *err);

/* Resolve a group number given as text ("26"). */
int vp_host_resolve_group(const vp_host *h, const char *input, const vp_group **ret, vp_error *err);

/* The group's verdict name: "ready", "host", "mixed", "in-use", "conflict". */
const char *vp_verdict_name(vp_verdict v);

/* True when DRIVER means "free for a VM" (NULL or vfio-pci). */
bool vp_driver_is_vfio_or_none(const char *driver);

/* Class helpers: "net", "storage", "display", "multimedia", "bridge", "serial", ... */
const char *vp_class_short_name(uint32_t class_code);
