/* Pre-flight checks: pure functions of the host model that yield findings. No I/O here: the
 * sources gathered every fact (src/model/facts.h) before a check runs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

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
    char *message;    /* names the object first; one sentence */
    char *fix;        /* the concrete fix, NULL when none */
    bool overridable; /* a block that --force may pass (never: owned by another domain) */
} vp_finding;

typedef struct {
    vp_finding *items;
    size_t n;
    size_t alloc;
} vp_findings;

/* What is being checked: a selection of devices (may be empty: host readiness only) for an
 * optional domain. */
typedef struct {
    vp_device **devices; /* the functions to be assigned (endpoints), address order */
    size_t n_devices;
    const vp_group *group; /* set when the user selected a whole group */
    const vp_domain *domain; /* NULL when no --domain */
} vp_check_target;

/* Add a finding (printf-style message; FIX may be NULL). */
void vp_findings_add(vp_findings *f, const char *code, vp_severity sev, vp_subject_kind kind,
                     const char *subject, bool overridable, const char *fix, const char *fmt,
                     ...) VP_PRINTF(8, 9);
void vp_findings_clear(vp_findings *f);

/* The worst severity among F (VP_SEV_OK when empty). With FORCE, overridable blocks count as
 * warnings. */
vp_severity vp_findings_worst(const vp_findings *f, bool force);

const char *vp_severity_name(vp_severity s); /* "ok", "info", "warn", "block" */

/* Run every check that applies to T on H, appending to OUT in a stable order: host, then the
 * group(s), then each device, then the domain. */
void vp_check_run(const vp_host *h, const vp_check_target *t, vp_findings *out);
