/* vpass as libvirt's QEMU hook (/etc/libvirt/hooks/qemu.d/vpass): at "prepare begin" it makes
 * the IOMMU groups of a domain's PCI devices complete by binding their other endpoints to
 * vfio-pci, at "release end" it gives them back. Through sysfs only: a hook must never call
 * the libvirt API (libvirtd waits for the hook: deadlock), and this module cannot, since it does
 * not link libvirt (docs/hook.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "../apply/sysfs_apply.h"
#include "../util/error.h"

/* What an invocation asks for. */
typedef enum {
    VP_HOOK_ACT_NONE,    /* any other operation: nothing to do, exit 0 at once */
    VP_HOOK_ACT_PREPARE, /* "prepare begin" */
    VP_HOOK_ACT_RELEASE, /* "release end" */
} vp_hook_action;

/* The action for libvirt's OP and SUBOP (NULL allowed: NONE). */
vp_hook_action vp_hook_action_of(const char *op, const char *subop);

/* Where and how the hook works. Zero fields take the defaults. */
typedef struct {
    const char *root;              /* "/" or a test tree; NULL means "/" */
    const vp_sysfs_writer *writer; /* NULL: the real sysfs writer */
    unsigned bind_timeout_ms;      /* per bind; 0: VP_SYSFS_TIMEOUT_MS */
    unsigned lock_timeout_ms;      /* 0: VP_LOCK_TIMEOUT_MS */
} vp_hook_env;

/* What a run did, for the CLI and the tests (the hook binary prints none of it). */
typedef struct {
    bool enabled;       /* the policy enabled the hook for the domain (prepare) */
    const char *policy; /* static text: where that came from */
    size_t isolated;    /* devices bound to vfio-pci by this run */
    size_t released;    /* devices given back to their drivers by this run */
    size_t repaired;    /* entries left by a run that died, completed by this one */
    char **notes;       /* vp_strv: what happened that is worth a line, NULL when none */
} vp_hook_report;

void vp_hook_report_clear(vp_hook_report *r);

/* Run the hook for DOMAIN and action ACT with the domain XML libvirt gave on stdin (XML; NULL
 * or malformed is handled: see docs/hook.md). NONE returns 0 without reading anything.
 * Takes the change lock (<root>/run/vpass/lock) for everything it changes. -1 with ERR, a
 * message that fits one line and names the domain first: VP_E_UNSAFE when the start must be
 * refused (a sibling is host-critical, held by another running domain, protected, or policy
 * forbids isolation), VP_E_DATA for malformed input (domain XML, hook.conf, state),
 * VP_E_UNSUPPORTED when vfio-pci is not loaded, VP_E_SYSTEM for a failed change (every change
 * of the run is undone first). REPORT may be NULL. */
int vp_hook_run(const vp_hook_env *env, const char *domain, vp_hook_action act, const char *xml,
                vp_hook_report *report, vp_error *err);

/* The exit status for an error of vp_hook_run (docs/hook.md, "Exit status"); 0 for none. */
int vp_hook_exit_code(const vp_error *err);
