/* Plans: what `vpass attach|detach|xml` will do, as a list of steps with the exact XML, computed
 * from the model and the domain's XML without side effects. --dry-run prints a plan; apply
 * (src/apply) runs it. The only place that produces XML, from xml-templates/ with libxml2. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../check/check.h"
#include "../model/host.h"
#include "../source/netlink.h"
#include "../util/error.h"

/* Which definition a change affects, as virsh's --live/--config/--current. */
enum {
    VP_AFFECT_CURRENT = 0,
    VP_AFFECT_LIVE = 1 << 0,
    VP_AFFECT_CONFIG = 1 << 1,
};

typedef enum {
    VP_ROM_DEFAULT,  /* what the checks recommend (rom-* findings) */
    VP_ROM_BAR_ON,   /* <rom bar='on'/> */
    VP_ROM_BAR_OFF,  /* <rom bar='off'/> */
    VP_ROM_DISABLED, /* <rom enabled='no'/>: exclusive with bar and file */
} vp_rom_mode;

typedef enum {
    VP_MMIO_LEAVE, /* no --mmio64: leave the domain's window alone (check still warns) */
    VP_MMIO_AUTO,  /* size the 64-bit window from the BARs of everything the domain will hold */
    VP_MMIO_SIZE,  /* an explicit size */
    VP_MMIO_OFF,   /* remove a pcihole64 vpass set */
} vp_mmio_mode;

typedef enum {
    VP_FORMAT_LIBVIRT, /* device XML */
    VP_FORMAT_QEMU,    /* -device vfio-pci,host=...,rombar=...,multifunction=on */
    VP_FORMAT_PROXMOX, /* hostpciN: 0000:18:00,pcie=1,rombar=0 */
} vp_format;

/* What the user asked for, already resolved against the model by the CLI. */
typedef struct {
    const char *domain_name; /* NULL only for `vpass xml` without --domain */
    const char *domain_xml;  /* the definition the change applies to (inactive for --config,
                              * live otherwise), NULL when no domain */
    const char *config_xml;  /* the persistent definition when DOMAIN_XML is the live one
                              * (--live --config); NULL otherwise. REDEFINE edits it, else
                              * DOMAIN_XML */
    vp_check_target target;  /* the selected functions (endpoints) and group */
    bool all_functions;      /* --all-functions: every function of the selected slot(s) */
    bool managed;            /* managed='yes' (default) */
    vp_rom_mode rom;
    const char *rom_file; /* absolute path, checked to exist by the CLI; NULL when none */
    vp_mmio_mode mmio;
    uint64_t mmio_bytes;        /* VP_MMIO_SIZE */
    bool ovmf_mmio_commandline; /* --ovmf-mmio64-commandline: add X-PciMmio64Mb (taints) */
    unsigned affect;            /* VP_AFFECT_* */
    bool force;                 /* pass overridable blocks */
    const char *templates_dir;  /* where hostdev-pci.xml etc. are */
} vp_plan_request;

typedef enum {
    VP_STEP_ISOLATE,           /* bind a group sibling to vfio-pci, unassigned
                                * (virNodeDeviceDetachFlags "vfio"); undo: reattach */
    VP_STEP_REDEFINE,          /* define XML (whole persistent definition: pcihole64,
                                * maxphysaddr); undo: define OLD_XML */
    VP_STEP_ADD_CONTROLLER,    /* attach controller XML (a pcie-root-port for a multifunction
                                * card, config); undo: detach it */
    VP_STEP_ATTACH,            /* attach device XML (<hostdev> or <interface type='hostdev'>) */
    VP_STEP_SET_METADATA,      /* set vpass's <metadata> element to XML (NULL: remove); undo:
                                * OLD_XML. Both as virDomainSetMetadata takes them: without
                                * namespace (libvirt puts the element in VP_METADATA_NS under
                                * the key VP_METADATA_PREFIX; docs/metadata.md) */
    VP_STEP_DETACH,            /* detach device XML */
    VP_STEP_REMOVE_CONTROLLER, /* detach a controller vpass added */
    VP_STEP_REATTACH,          /* give a device back to its host driver */
    VP_STEP_SET_VF,            /* SR-IOV: set a VF's trust/spoofchk on its PF through netlink
                                * (libvirt has no XML for them; plan_sriov.c); undo: set the
                                * old values. Changes no domain */
} vp_step_kind;

/* vpass's record in the domain's <metadata>: what attach added, so detach removes exactly that
 * and the hook knows its policy (docs/metadata.md). */
#define VP_METADATA_NS "urn:vpass:domain:1"
#define VP_METADATA_PREFIX "vpass"

typedef struct {
    vp_step_kind kind;
    vp_pci_addr addr; /* the function concerned (ISOLATE, ATTACH, DETACH, REATTACH) */
    char *xml;        /* device, controller, metadata or domain XML; NULL for ISOLATE and
                       * REATTACH, and for SET_METADATA that removes */
    char *old_xml;    /* REDEFINE and SET_METADATA: what undo restores (NULL: none) */
    char *driver;     /* ISOLATE: the host driver it had (undo gives it back);
                       * REATTACH: the driver it goes back to */
    unsigned affect;  /* VP_AFFECT_* for this step */
    char *summary;    /* one line: "attach 0000:18:00.0 to vm1 (config)" */
    /* VP_STEP_SET_VF (ADDR is the VF): the settings set on the PF, and what undo sets back
     * (VP_VF_OFF/ON; VP_VF_UNKNOWN leaves a setting alone). */
    struct {
        char pf[VP_IFNAME_MAX]; /* the PF's interface name */
        unsigned index;         /* the VF's number on the PF */
        int trust, spoofchk;
        int undo_trust, undo_spoofchk;
    } vf;
} vp_step;

typedef struct {
    char *domain;
    vp_step *steps;
    size_t n_steps;
    size_t alloc_steps;
    bool noop; /* nothing to do: the domain already has it (or has nothing to remove) */
    char *noop_reason;
    char *machine;        /* the domain's machine type from its XML, NULL when unknown */
    char **notes;         /* vp_strv: what the operator must know that is no step (an OVMF
                           * window vpass did not change, siblings left on vfio-pci), NULL */
    vp_findings findings; /* the pre-flight that ran first */
} vp_plan;

void vp_plan_clear(vp_plan *p);

/* Plan an attach: runs the checks on the whole selection (the group's endpoints and, with
 * all_functions, the slots' functions included; a block not passed by force -> -1,
 * VP_E_UNSAFE, naming the first blocking finding; the findings stay in RET for the CLI to
 * print, on every error after the checks ran; an OVMF mmio64-too-small block does not stop a
 * plan that raises X-PciMmio64Mb itself), isolates siblings, keeps a card's functions together
 * on one guest slot (q35: on a new pcie-root-port), fills the templates, sizes the MMIO
 * window. A domain that already holds everything -> noop. Steps: ISOLATE..., REDEFINE,
 * ADD_CONTROLLER..., ATTACH..., SET_METADATA. Errors: VP_E_USAGE (rom options, empty
 * selection), VP_E_UNSAFE, VP_E_UNSUPPORTED (a multifunction card live, no slot left),
 * VP_E_DATA (domain XML or vpass record unreadable), VP_E_SYSTEM (a template). */
int vp_plan_attach(const vp_host *h, const vp_plan_request *req, vp_plan *ret, vp_error *err);

/* Plan a detach of what the selection holds in the domain (and, with REATTACH, giving the
 * managed='no' devices and the siblings vpass isolated back to their drivers, from the vpass
 * metadata). Runs no checks. Steps: DETACH..., REMOVE_CONTROLLER..., SET_METADATA, REDEFINE
 * (settings back, the <metadata> vpass brought removed; the whole final definition),
 * REATTACH.... Nothing held -> noop. */
int vp_plan_detach(const vp_host *h, const vp_plan_request *req, bool reattach, vp_plan *ret,
                   vp_error *err);

/* The device XML (or QEMU/Proxmox equivalent) of an attach plan, for `vpass xml`. */
char *vp_plan_render(const vp_plan *p, vp_format format);

/* Parse a size: "64G", "65536M", "128GiB", "1T", bytes without unit; -1 VP_E_USAGE on garbage,
 * overflow, or zero. */
int vp_parse_size(const char *s, uint64_t *ret, vp_error *err);

/* ---- SR-IOV (plan_sriov.c, docs/sriov.md): the VFs of a PF, giving one to a domain (VF
 * settings libvirt has no XML for go through netlink: VP_STEP_SET_VF), creating VFs ---- */

/* A set of host CPUs, as libvirt and sysfs write them ("0-5,12-17", libvirt's "^3" too). */
typedef struct {
    uint64_t *bits;
    size_t n_words;
} vp_cpuset;

/* Parse S into *RET (cleared first): 0, or -1 when malformed (RET then empty). */
int vp_cpuset_parse(const char *s, vp_cpuset *ret);
void vp_cpuset_clear(vp_cpuset *c);
bool vp_cpuset_empty(const vp_cpuset *c);
bool vp_cpuset_subset(const vp_cpuset *a, const vp_cpuset *b); /* every CPU of A is in B */
void vp_cpuset_union(vp_cpuset *a, const vp_cpuset *b);
char *vp_cpuset_format(const vp_cpuset *c); /* "0-5,12-17" (allocated; "" when empty) */

typedef enum {
    VP_VF_FREE,     /* in no domain's definition, not used by the host */
    VP_VF_ASSIGNED, /* in a domain's definition (running or not) */
    VP_VF_HOST,     /* on a host driver whose interface (or disk) the host uses */
} vp_vf_state;

const char *vp_vf_state_name(vp_vf_state s); /* "free", "assigned", "host" */

/* STATE of VF D in H; *RET_WHY (may be NULL) gets why (allocated) for ASSIGNED and HOST. A
 * remote host (no host facts) counts a VF on a host driver with an interface as HOST. */
vp_vf_state vp_sriov_vf_state(const vp_host *h, const vp_device *d, char **ret_why);

typedef struct {
    unsigned index; /* virtfnN */
    vp_pci_addr addr;
    const vp_device *dev; /* NULL when the model lacks it */
    vp_vf_state state;
    char *why;       /* see vp_sriov_vf_state */
    bool info_known; /* the PF's netlink report has this VF */
    vp_vf_info info;
} vp_sriov_vf;

typedef struct {
    const vp_device *pf;
    const char *ifname; /* the PF's interface (borrowed), NULL when it has none */
    unsigned total;     /* sriov_totalvfs (libvirt maxCount) */
    unsigned current;   /* VFs enabled now */
    bool info_known;    /* netlink reported the VFs' MAC, VLAN, trust... */
    char *info_why;     /* why not, NULL when known */
    vp_sriov_vf *vfs;
    size_t n_vfs;
} vp_sriov_pf;

/* Resolve SEL (interface name, address or node-device name) to an SR-IOV PF of H (borrowed).
 * -1 with ERR: VP_E_NOTFOUND, or VP_E_USAGE when SEL is a device but not a PF (a VF: the hint
 * names its PF). */
int vp_sriov_find_pf(const vp_host *h, const char *sel, const vp_device **ret, vp_error *err);

/* The VFs of PF with their state and, when INFO_KNOWN, what INFO (N entries, from the PF's
 * netlink report) says of each; else WHY says why not. RET is cleared with vp_sriov_pf_clear. */
void vp_sriov_pf_build(const vp_host *h, const vp_device *pf, const vp_vf_info *info, size_t n,
                       bool info_known, const char *why, vp_sriov_pf *ret);
void vp_sriov_pf_clear(vp_sriov_pf *p);

typedef enum {
    VP_VF_AS_INTERFACE, /* <interface type='hostdev'>: libvirt sets MAC and VLAN on the PF */
    VP_VF_AS_HOSTDEV,   /* <hostdev>: a VF that is no NIC (NVMe), or no network setup */
} vp_vf_as;

/* What `vpass attach|detach --pf` asked for, with what the CLI read from the host. */
typedef struct {
    const char *pf;      /* PF selector */
    bool has_vf;         /* --vf given (detach without it: every VF of PF the domain holds) */
    bool vf_auto;        /* --vf auto */
    unsigned vf;         /* --vf N */
    bool mac_auto;       /* --mac auto */
    const char *mac;     /* --mac ADDR, NULL when none (libvirt then makes one up) */
    unsigned vlan;       /* --vlan N, 0 when none */
    int trust, spoofchk; /* VP_VF_OFF/ON, VP_VF_UNKNOWN when not asked */
    vp_vf_as as;
    const vp_vf_info *info; /* the PF's netlink report (current settings), when INFO_KNOWN */
    size_t n_info;
    bool info_known;
    bool netlink;                /* SET_VF steps can run (this machine, root "/") */
    const vp_cpuset *local_cpus; /* CPUs local to the PF (sysfs local_cpulist), NULL unknown */
} vp_sriov_request;

/* The VF an SR-IOV attach plan chose. */
typedef struct {
    vp_pci_addr addr;
    unsigned index;
    bool has_mac;
    char mac[18];
} vp_sriov_choice;

/* Plan giving a VF of SR->pf to REQ's domain (REQ's target is ignored: the VF is the target):
 * pick it (--vf auto: in no definition, not used by the host, local to the domain's pinned
 * CPUs; the lowest index of those not on a host driver first), give it a MAC (--mac auto:
 * vp_sriov_auto_mac) no other domain uses, then plan as vp_plan_attach does, the device being
 * an <interface type='hostdev'> with <mac> and <vlan> (or a <hostdev>), followed by a SET_VF
 * step for --trust/--spoofchk that differ from the VF's settings (recorded in the metadata so
 * detach sets them back). --vf auto when the domain holds a VF of the PF already -> noop.
 * Errors: VP_E_USAGE (options), VP_E_NOTFOUND (PF, VF, no free VF), VP_E_UNSAFE (MAC taken,
 * VF elsewhere, NUMA), VP_E_UNSUPPORTED (trust/spoofchk without netlink), as vp_plan_attach. */
int vp_plan_sriov_attach(const vp_host *h, const vp_plan_request *req, const vp_sriov_request *sr,
                         vp_plan *ret, vp_sriov_choice *ret_choice, vp_error *err);

/* The VF vp_plan_sriov_attach would give REQ's domain (REQ may have no domain: then no
 * pinning counts and --mac auto is refused), without planning: *RET; with --vf auto the VF the
 * domain holds already when it does. Notes for the operator (a named VF off the domain's NUMA
 * node, one held already) are pushed to *NOTES. Errors as vp_plan_sriov_attach's choice. */
int vp_plan_sriov_choose(const vp_host *h, const vp_plan_request *req, const vp_sriov_request *sr,
                         vp_sriov_choice *ret, char ***notes, vp_error *err);

/* Plan taking back the VF SR->vf of SR->pf (every VF of it the domain holds without
 * SR->has_vf), as vp_plan_detach does, with SET_VF steps that put back the trust/spoofchk
 * vpass recorded (a note instead when SR->netlink is false). */
int vp_plan_sriov_detach(const vp_host *h, const vp_plan_request *req, const vp_sriov_request *sr,
                         bool reattach, vp_plan *ret, vp_error *err);

/* The MAC --mac auto gives VF INDEX of the PF at PF_ADDR in the domain with UUID: 02 (locally
 * administered, unicast), then the first five bytes of FNV-1a-64 over "vpass-mac-1", UUID (lower
 * case), the PF's address and INDEX, each NUL-terminated. Same inputs, same MAC. */
void vp_sriov_auto_mac(const char *uuid, const vp_pci_addr *pf_addr, unsigned index,
                       uint8_t ret[6]);

/* `vpass sriov --numvfs`: what changing a PF's VF count takes. */
typedef struct {
    const vp_device *pf;
    const char *ifname; /* borrowed, NULL when none */
    unsigned from, to, total;
    bool noop;
    unsigned *writes; /* values to write to sriov_numvfs, in order (0 first to change a
                       * non-zero count: the kernel refuses otherwise) */
    size_t n_writes;
    char *attr_path; /* relative to the root: sys/bus/pci/devices/PF/sriov_numvfs */
    bool persist;
    char *rule_path; /* --persist: relative to the root, etc/udev/rules.d/... */
    char *rule;      /* the rule file's content; NULL: remove it (--numvfs 0) */
    char **notes;    /* vp_strv */
} vp_sriov_numvfs_plan;

/* Plan setting PF_SEL's VF count to N (bounded by sriov_totalvfs) and, with PERSIST, the udev
 * rule that sets it at boot. Refused (VP_E_UNSAFE) while a VF that would go away is assigned to
 * a domain or used by the host; VP_E_UNSUPPORTED for a PF without a driver or a host not read
 * from sysfs; VP_E_USAGE for N beyond the total. */
int vp_plan_sriov_numvfs(const vp_host *h, const char *pf_sel, unsigned n, bool persist,
                         vp_sriov_numvfs_plan *ret, vp_error *err);
void vp_sriov_numvfs_plan_clear(vp_sriov_numvfs_plan *p);
