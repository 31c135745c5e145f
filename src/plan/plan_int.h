/* Internal to src/plan: templates, the domain XML walks and vpass's metadata record shared by
 * the attach, detach and render code. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../source/netlink.h"
#include "../source/xmlread.h"
#include "plan.h"

/* libvirt's QEMU namespace for <qemu:commandline> (docs/drvqemu "Pass-through of arbitrary
 * qemu commands"). */
#define VP_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* OVMF's fw_cfg knob for its 64-bit PCI aperture, in MiB (OvmfPkg PlatformInitLib). */
#define VP_OVMF_MMIO64_FWCFG "opt/ovmf/X-PciMmio64Mb"

/* The template files in req->templates_dir. */
#define VP_TPL_HOSTDEV "hostdev-pci.xml"
#define VP_TPL_INTERFACE "interface-hostdev.xml"
#define VP_TPL_ROOT_PORT "controller-pcie-root-port.xml"
#define VP_TPL_METADATA "metadata.xml"

/* Load template FILE from DIR into *RET (freed with xmlFreeDoc); its root must be ROOT_NAME
 * (in namespace ROOT_NS when not NULL). -1 with ERR (VP_E_SYSTEM, naming the file) when it is
 * missing, unreadable, malformed or not the expected element. */
int vp_plan_template_load(const char *dir, const char *file, const char *root_name,
                          const char *root_ns, xmlDoc **ret, vp_error *err);

/* NODE serialized as indented XML with a trailing newline (allocated). */
char *vp_plan_xml_dump(const xmlNode *node);

/* Set attribute NAME of NODE to VALUE (copied and escaped by libxml2, never interpreted). */
void vp_plan_set_prop(xmlNode *node, const char *name, const char *value);
void vp_plan_set_propf(xmlNode *node, const char *name, const char *fmt, ...) VP_PRINTF(3, 4);

/* Set NODE's domain, bus, slot and function attributes to A, as libvirt writes them. */
void vp_plan_set_pci_address(xmlNode *node, const vp_pci_addr *a);

/* Replace the content of NODE by the text TEXT (a text node: never parsed as markup). */
void vp_plan_set_text(xmlNode *node, const char *text);

/* A new element NAME, the last child of PARENT (or before BEFORE when it is not NULL). */
xmlNode *vp_plan_new_child(xmlNode *parent, xmlNode *before, const char *name);

/* Unlink and free NODE together with the whitespace text just before it (none after
 * NOBLANKS parsing; kept for documents that have it). */
void vp_plan_remove_node(xmlNode *node);

/* A PCI function a domain holds: <hostdev mode='subsystem' type='pci'> or
 * <interface type='hostdev'> with a PCI source address. */
typedef struct {
    xmlNode *node;
    vp_pci_addr addr; /* host address */
    vp_use_kind kind;
    bool managed;
} vp_held;

/* Every PCI function DOMAIN_ROOT's <devices> hold, in document order (*RET allocated, NULL
 * when none). Entries without a readable source address are skipped: domxml.c reports them. */
size_t vp_plan_find_held(xmlNode *domain_root, vp_held **ret);

/* The entry of HELD (N entries) for ADDR, NULL when none. */
const vp_held *vp_plan_held_find(const vp_held *held, size_t n, const vp_pci_addr *addr);

/* The <controller type='pci' index='INDEX'> of DOMAIN_ROOT, NULL when none. */
xmlNode *vp_plan_find_pci_controller(xmlNode *domain_root, unsigned index);

/* The guest PCI <address type='pci'> child of a device element (not the <source> one), NULL
 * when none; with RET_ADDR (may be NULL) its parsed value. */
xmlNode *vp_plan_guest_address(xmlNode *dev, vp_pci_addr *ret_addr);

/* One vpass record kind, as documented in docs/metadata.md. */
typedef struct {
    vp_pci_addr addr;
    vp_use_kind kind;
    char *driver; /* device: host driver vpass unbound for managed='no'; isolated: the
                   * sibling's host driver; NULL when none */
} vp_meta_dev;

/* A setting vpass changed, with what it was: HAS false when vpass did not change it. */
typedef struct {
    bool has;
    bool old_none;    /* the domain had none */
    uint64_t old;     /* pcihole64: KiB; ovmf-mmio64: MiB */
    bool cpu_created; /* maxphysaddr: vpass also created <cpu> */
} vp_meta_setting;

/* A VF whose settings vpass changed on its PF through netlink (trust, spoofchk: libvirt has no
 * XML for them), with what they were, so detach puts them back (plan_sriov.c). Written only
 * beside the VF's device record. */
typedef struct {
    vp_pci_addr addr;
    char *pf;         /* the PF's interface name */
    unsigned index;   /* the VF's number on the PF */
    int old_trust;    /* VP_VF_OFF or VP_VF_ON; VP_VF_UNKNOWN: vpass did not change it */
    int old_spoofchk; /* likewise */
} vp_meta_vf;

/* vpass's <metadata> record of a domain. */
typedef struct {
    bool present; /* the domain has a vpass element */
    vp_meta_dev *devices;
    size_t n_devices;
    unsigned *controllers;
    size_t n_controllers;
    vp_meta_dev *isolated;
    size_t n_isolated;
    vp_meta_setting pcihole64;
    vp_meta_setting maxphysaddr;
    vp_meta_setting ovmf_mmio64;
    vp_meta_setting metadata; /* the domain had no <metadata> before vpass */
    vp_meta_vf *vfs;          /* SR-IOV settings vpass changed (plan_sriov.c) */
    size_t n_vfs;
    /* The operator's <hook enable isolate> policy (docs/hook.md): vpass never writes it, and
     * keeps it as it found it ("yes"/"no", NULL when the attribute is absent). */
    bool has_hook;
    char *hook_enable;
    char *hook_isolate;
} vp_meta;

/* Read vpass's element (namespace VP_METADATA_NS, any prefix) from DOMAIN_ROOT's <metadata>
 * into M (zeroed first); *RET_NODE (may be NULL) gets the element, NULL when absent. -1 with
 * ERR (VP_E_DATA) for a record vpass cannot read: it would lose what it must undo. */
int vp_meta_read(xmlNode *domain_root, vp_meta *m, xmlNode **ret_node, vp_error *err);

/* True when M records nothing. */
bool vp_meta_empty(const vp_meta *m);

/* M as a vpass element built from the metadata template in TEMPLATES_DIR: a document whose
 * root is the element (*RET, freed with xmlFreeDoc). */
int vp_meta_build(const vp_meta *m, const char *templates_dir, xmlDoc **ret, vp_error *err);

/* NODE (vpass's element) as virDomainSetMetadata takes it and virDomainGetMetadata gives it:
 * without namespace; libvirt puts it and its children in VP_METADATA_NS under the key's
 * prefix (allocated). */
char *vp_meta_api_xml(const xmlNode *node);

void vp_meta_add_device(vp_meta *m, const vp_pci_addr *addr, vp_use_kind kind, const char *driver);
void vp_meta_add_isolated(vp_meta *m, const vp_pci_addr *addr, const char *driver);
void vp_meta_add_controller(vp_meta *m, unsigned index);
void vp_meta_add_vf(vp_meta *m, const vp_pci_addr *addr, const char *pf, unsigned index,
                    int old_trust, int old_spoofchk);
void vp_meta_clear(vp_meta *m);

/* Add a zeroed step of KIND to P and return it. */
/* The end of planning: with RC 0, *RET takes P; else P is cleared but for its findings, which
 * *RET keeps for the CLI to print (a block names one, the rest explain it), and -1. */
int vp_plan_finish(vp_plan *p, int rc, vp_plan *ret);

vp_step *vp_plan_add_step(vp_plan *p, vp_step_kind kind);

/* The selection of REQ as the plan sees it: the target's devices, its group's endpoints and,
 * with all_functions, every function of their slots; bridges dropped; address order; no
 * repeats (*RET allocated, borrowed devices). */
size_t vp_plan_selection(const vp_host *h, const vp_plan_request *req, vp_device ***ret);

/* "config", "live", "live, config" for AFFECT as it resolves for DOMAIN (CURRENT: live when
 * running, config otherwise; "current" when DOMAIN is unknown). */
const char *vp_plan_affect_name(unsigned affect, const vp_domain *domain);

/* True when AFFECT touches the running domain (CURRENT on a running DOMAIN included). */
bool vp_plan_affects_live(unsigned affect, const vp_domain *domain);

/* True when AFFECT touches the persistent definition (CURRENT on a shut-off or unknown
 * DOMAIN included). */
bool vp_plan_affects_config(unsigned affect, const vp_domain *domain);

/* "vm1", or "the domain" when the request names none. */
const char *vp_plan_domain_label(const vp_plan_request *req);

/* ", "-joined addresses of DEVS (allocated). */
char *vp_plan_addr_list(const vp_pci_addr *addrs, size_t n);

/* The domain's memory in bytes (<maxMemory>, else <memory>; libvirt units, KiB by default),
 * 0 when absent or unreadable. */
uint64_t vp_plan_domain_memory(xmlNode *domain_root);

/* The value N of an existing -fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=N argument in
 * DOMAIN_ROOT's <qemu:commandline>, with its <qemu:arg> node; false when none. */
bool vp_plan_ovmf_mmio64_arg(xmlNode *domain_root, uint64_t *ret_mib, xmlNode **ret_arg);
