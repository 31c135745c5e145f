/* What the hook reads besides sysfs: the domain XML libvirt gives on stdin, vpass's policy
 * (<root>/etc/vpass/hook.conf and the domain's vpass metadata), and libvirt's status files of
 * the running domains (<root>/run/libvirt/qemu/NAME.xml). Never the libvirt API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "../model/host.h"
#include "../util/error.h"

/* A PCI function the domain itself holds. */
typedef struct {
    vp_pci_addr addr;
    vp_use_kind kind;
    bool managed;
} vp_hook_dev;

typedef struct {
    char *name;
    vp_hook_dev *devs; /* its <hostdev>s and <interface type='hostdev'>s, document order */
    size_t n_devs;
    int meta_enable;  /* <vpass:hook enable=...>: 1 yes, 0 no, -1 not said */
    int meta_isolate; /* <vpass:hook isolate=...>: likewise */
} vp_hook_domain;

/* Parse the domain XML libvirt passed (NAME is argv's domain; the document's <name> must be
 * the same). -1 with ERR (VP_E_DATA) for a document that is not a readable <domain>, a name
 * that differs, or a vpass hook element with a value other than yes/no. *RET is cleared first;
 * clear it with vp_hook_domain_clear. */
int vp_hook_domain_parse(const char *xml, const char *name, vp_hook_domain *ret, vp_error *err);
void vp_hook_domain_clear(vp_hook_domain *d);

/* The domain's own entry for ADDR, NULL when it does not hold it. */
const vp_hook_dev *vp_hook_domain_find(const vp_hook_domain *d, const vp_pci_addr *addr);

/* The policy file (docs/hook.md, "Policy"). */
typedef struct {
    bool found;           /* the file exists */
    bool enable_all;      /* enable = all */
    char **enable;        /* vp_strv of domain names, NULL when none */
    bool isolate;         /* isolate = yes (the default) */
    vp_pci_addr *protect; /* functions the hook never takes from the host */
    size_t n_protect;
} vp_hook_conf;

#define VP_HOOK_CONF "etc/vpass/hook.conf"

/* vpass's metadata namespace, VP_METADATA_NS of src/plan/plan.h (test_hook checks that they
 * agree): the hook does not include the planner's header, which brings netlink along. */
#define VP_HOOK_METADATA_NS "urn:vpass:domain:1"

/* Read <ROOT>/etc/vpass/hook.conf into *RET (defaults when absent: nothing enabled, isolate
 * on). -1 with ERR (VP_E_DATA naming the file and line) for anything it does not understand:
 * a typo must not silently turn isolation off. */
int vp_hook_conf_load(const char *root, vp_hook_conf *ret, vp_error *err);

/* Parse TEXT (the file at PATH, for messages) into *RET; pure. */
int vp_hook_conf_parse(const char *path, char *text, vp_hook_conf *ret, vp_error *err);
void vp_hook_conf_clear(vp_hook_conf *c);

typedef struct {
    bool enabled;
    bool isolate;
    const char *why; /* static text: where ENABLED came from */
} vp_hook_policy;

/* The policy for domain NAME: the domain's metadata wins over hook.conf, which is off by
 * default. META_ENABLE and META_ISOLATE as in vp_hook_domain (-1: not said). */
void vp_hook_policy_resolve(const vp_hook_conf *c, const char *name, int meta_enable,
                            int meta_isolate, vp_hook_policy *ret);

/* Add to H every domain that libvirt's QEMU driver runs, from its status files
 * <ROOT>/run/libvirt/qemu/NAME.xml (<domstatus> with the live <domain>; libvirt writes one
 * while a domain starts, runs or is paused, and removes it when the domain stops), with the
 * PCI functions each holds (live), except domain SELF. Only a domain that may hold one of ONLY
 * (N_ONLY addresses; NULL: any) is read: a file without the word "hostdev", or without
 * "bus='0xBB'" for the bus of one of them as libvirt writes a PCI address
 * (virPCIDeviceAddressFormat), holds none of them and is not parsed. *RET_KNOWN is false when
 * the directory does not exist (libvirt keeps its state elsewhere, or no QEMU domain ever
 * ran): then nothing is known about running domains. -1 with ERR (VP_E_DATA) for a status file
 * that cannot be read as one. */
int vp_hook_running_load(const char *root, const char *self, const vp_pci_addr *only, size_t n_only,
                         vp_host *h, bool *ret_known, vp_error *err);
