/* Pre-flight checks: pure functions of the host model that yield findings. No I/O here: the
 * sources gathered every fact (src/model/facts.h) before a check runs. Every code is
 * documented in docs/findings.md. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../model/host.h"

typedef enum {
    VP_SEV_OK,    /* checked and fine (shown so a survey reads complete) */
    VP_SEV_INFO,  /* worth knowing, changes nothing */
    VP_SEV_WARN,  /* works, with a risk or a cost the operator should accept knowingly */
    VP_SEV_BLOCK, /* vpass refuses to change anything (unless overridable and --force) */
} vp_severity;

typedef enum {
    VP_SUBJECT_HOST,
    VP_SUBJECT_GROUP,
    VP_SUBJECT_DEVICE,
    VP_SUBJECT_DOMAIN,
} vp_subject_kind;

typedef struct {
    const char *code; /* stable identifier documented in docs/findings.md, static string */
    vp_severity severity;
    vp_subject_kind kind;
    char *subject;    /* "host", "26" (group), "0000:18:00.1", "vm1" */
    char *message;    /* names the object first; one line */
    char *fix;        /* the concrete fix, NULL when none */
    bool overridable; /* a block that --force may pass (never: owned by another domain) */
} vp_finding;

typedef struct {
    vp_finding *items;
    size_t n;
    size_t alloc;
} vp_findings;

/* What is being checked: a selection of devices (may be empty: host readiness only) for an
 * optional domain. The checks work on the union of DEVICES and, when GROUP is set, every
 * endpoint (non-bridge member) of GROUP, deduplicated and in address order; a bridge in
 * DEVICES is reported (bridge-selected), not dropped. */
typedef struct {
    vp_device **devices; /* the functions to be assigned, any order, may repeat */
    size_t n_devices;
    const vp_group *group;   /* set when the user selected a whole group */
    const vp_domain *domain; /* NULL when no --domain */
} vp_check_target;

/* Add a finding (printf-style message; FIX may be NULL). */
void vp_findings_add(vp_findings *f, const char *code, vp_severity sev, vp_subject_kind kind,
                     const char *subject, bool overridable, const char *fix, const char *fmt, ...)
    VP_PRINTF(8, 9);
void vp_findings_clear(vp_findings *f); /* frees every finding; F may be reused */

/* The worst severity among F (VP_SEV_OK when empty). With FORCE, overridable blocks count as
 * warnings. */
vp_severity vp_findings_worst(const vp_findings *f, bool force);

/* The first finding with CODE (and subject SUBJECT unless NULL), NULL when none. */
const vp_finding *vp_findings_find(const vp_findings *f, const char *code, const char *subject);

const char *vp_severity_name(vp_severity s);         /* "ok", "info", "warn", "block" */
const char *vp_subject_kind_name(vp_subject_kind k); /* "host", "group", "device", "domain" */

/* Every code a check can emit, in table order, NULL-terminated (for docs and tests). */
const char *const *vp_check_codes(void);

/* Run every check that applies to T on H, appending to OUT in a stable order: host, then the
 * group(s) in number order, then each device in address order, then the domain. */
void vp_check_run(const vp_host *h, const vp_check_target *t, vp_findings *out);

/* What the guest's firmware must fit into its 64-bit PCI MMIO window: the 64-bit prefetchable
 * BARs of everything DOMAIN holds plus the selection, each naturally aligned, the total rounded
 * up to a power of two. Also the window vpass can rely on for DOMAIN (see docs/findings.md,
 * mmio64-*). Pure; for the plan's --mmio64 auto as well as the mmio64 check. */
typedef struct {
    uint64_t need;           /* bytes, a power of two (0: no 64-bit prefetchable BAR) */
    size_t n_unknown;        /* devices whose BARs were not read: NEED is then a lower bound */
    char *unknown;           /* their addresses, ", "-joined, NULL when none */
    bool window_known;       /* false: definition not read, firmware or machine unknown, not x86 */
    uint64_t window;         /* bytes every firmware version gives (0: <pcihole64> disabled) */
    const char *window_from; /* static text: where WINDOW comes from, or why it is unknown */
    bool efi;                /* OVMF: the firmware sizes the window itself */
    uint64_t dyn_window;     /* OVMF >= late 2022: its window for the guest's known phys-bits
                              * (<maxphysaddr mode='emulate' bits='N'/>), 0 when not known */
    bool dyn_host;           /* <maxphysaddr mode='passthrough'/>: the host's bits decide */
} vp_mmio64;

/* Compute the estimate for T->domain (which must be set) on H; clear it with
 * vp_mmio64_clear. */
void vp_mmio64_estimate(const vp_host *h, const vp_check_target *t, vp_mmio64 *ret);
void vp_mmio64_clear(vp_mmio64 *m);
