/* Plans: what `vpass attach|detach|xml` will do, as a list of steps with the exact XML, computed
 * from the model and the domain's XML without side effects. --dry-run prints a plan; apply
 * (src/apply) runs it. The only place that produces XML, from xml-templates/ with libxml2. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../check/check.h"
#include "../model/host.h"
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
    const char *domain_name;   /* NULL only for `vpass xml` without --domain */
    const char *domain_xml;    /* the definition the change applies to (inactive for --config,
                                * live otherwise), NULL when no domain */
    const char *config_xml;    /* the persistent definition when DOMAIN_XML is the live one
                                * (--live --config); NULL otherwise. REDEFINE edits it, else
                                * DOMAIN_XML */
    vp_check_target target;    /* the selected functions (endpoints) and group */
    bool all_functions;        /* --all-functions: every function of the selected slot(s) */
    bool managed;              /* managed='yes' (default) */
    vp_rom_mode rom;
    const char *rom_file;      /* absolute path, checked to exist by the CLI; NULL when none */
    vp_mmio_mode mmio;
    uint64_t mmio_bytes;       /* VP_MMIO_SIZE */
    bool ovmf_mmio_commandline; /* --ovmf-mmio64-commandline: add X-PciMmio64Mb (taints) */
    unsigned affect;           /* VP_AFFECT_* */
    bool force;                /* pass overridable blocks */
    const char *templates_dir; /* where hostdev-pci.xml etc. are */
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
} vp_step_kind;

/* vpass's record in the domain's <metadata>: what attach added, so detach removes exactly that
 * and the hook knows its policy (docs/metadata.md). */
#define VP_METADATA_NS "urn:vpass:domain:1"
#define VP_METADATA_PREFIX "vpass"

typedef struct {
    vp_step_kind kind;
    vp_pci_addr addr;   /* the function concerned (ISOLATE, ATTACH, DETACH, REATTACH) */
    char *xml;          /* device, controller, metadata or domain XML; NULL for ISOLATE and
                         * REATTACH, and for SET_METADATA that removes */
    char *old_xml;      /* REDEFINE and SET_METADATA: what undo restores (NULL: none) */
    char *driver;       /* ISOLATE: the host driver it had (undo gives it back);
                         * REATTACH: the driver it goes back to */
    unsigned affect;    /* VP_AFFECT_* for this step */
    char *summary;      /* one line: "attach 0000:18:00.0 to vm1 (config)" */
} vp_step;

typedef struct {
    char *domain;
    vp_step *steps;
    size_t n_steps;
    size_t alloc_steps;
    bool noop;           /* nothing to do: the domain already has it (or has nothing to remove) */
    char *noop_reason;
    char *machine;       /* the domain's machine type from its XML, NULL when unknown */
    char **notes;        /* vp_strv: what the operator must know that is no step (an OVMF
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
