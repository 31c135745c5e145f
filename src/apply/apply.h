/* The apply engine: runs a plan's steps through the vp_virt change ops, in order; on the first
 * failure it undoes every completed step in reverse, so a change either happens whole or not at
 * all (docs/DESIGN.md, "Rules that keep it safe"). The caller holds the change lock (lock.h)
 * around planning and applying. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "../plan/plan.h"
#include "../source/netlink.h"
#include "../util/error.h"
#include "../virt/virt.h"

/* Called before step I (0-based) of N runs (UNDO false), and before it is undone (UNDO true),
 * so the CLI can print one line per step as it happens. */
typedef void (*vp_apply_progress_fn)(void *ctx, size_t i, size_t n, const vp_step *s, bool undo);

/* A step whose undo failed: what the rollback left behind and how to fix it by hand. */
typedef struct {
    size_t step;  /* 0-based index in the plan */
    char *what;   /* "0000:18:00.0 is still bound to vfio-pci" */
    char *reason; /* the undo's error message */
    char *fix;    /* a command or edit that repairs it: "virsh nodedev-reattach pci_0000_18_00_0" */
} vp_apply_leftover;

typedef struct {
    /* Inputs, set by the caller before vp_apply_plan (zero: no progress reports). */
    vp_apply_progress_fn progress;
    void *progress_ctx;
    /* The netlink seam for VP_STEP_SET_VF (SR-IOV); NULL: a plan with such a step is refused
     * (VP_E_UNSUPPORTED) before anything runs. */
    vp_netlink *netlink;

    /* Outputs, written by vp_apply_plan whether it succeeds or not. */
    size_t n_steps;       /* steps in the plan (0 for a noop) */
    size_t done;          /* steps that ran successfully (before any rollback) */
    size_t failed;        /* 1-based number of the step that failed, 0 when none did */
    size_t undone;        /* steps rolled back successfully */
    bool config_restored; /* after the rollback the persistent definition still differed from
                           * the one before the apply (libvirt's own additions, such as an
                           * auto-added pcie-root-port or an empty <metadata/>), so it was
                           * defined back from the copy taken before the first step */
    vp_apply_leftover *leftovers; /* undo steps that failed, in the order they were tried */
    size_t n_leftovers;
} vp_apply_report;

/* Free the outputs of R (the inputs stay); R may be reused. Accepts NULL. */
void vp_apply_report_clear(vp_apply_report *r);

/* Run PLAN on V. A noop plan (or one without steps) does nothing and succeeds.
 *
 * Before the first step: a plan that changes domain PLAN->domain reads its state; a step that
 * affects the persistent definition of a transient domain, or the live one of a shut-off
 * domain, fails the whole plan (VP_E_UNSUPPORTED) with nothing done. VP_AFFECT_CURRENT steps
 * are resolved to live or config once, so a step and its undo touch the same definition. A
 * copy of the persistent definition is taken when any step changes it.
 *
 * On the first failing step every completed step is undone in reverse; then, if the
 * persistent definition differs from the copy, the copy is defined back (REPORT->
 * config_restored). Returns -1 with ERR "vm1: step 3 of 5 (SUMMARY) failed: REASON; rolled
 * back 2 steps", keeping the failed step's error code; if an undo failed too, ERR is
 * VP_E_SYSTEM, says what was left behind, and its hint says how to fix it by hand (the full
 * list is in REPORT->leftovers). A plan with a step lacking the XML its kind needs is refused
 * (VP_E_DATA) before anything runs. REPORT may be NULL. */
int vp_apply_plan(vp_virt *v, const vp_plan *plan, vp_apply_report *report, vp_error *err);
