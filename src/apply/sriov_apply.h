/* Applying `vpass sriov`: writing a PF's sriov_numvfs under a root, with the kernel's refusals
 * turned into messages, and the udev rule of --persist. Every write goes through a writer seam,
 * so tests run against a model of the kernel on a copy of a fixture tree. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "../plan/plan.h"
#include "sysfs_apply.h"
#include "../util/error.h"

/* Every write goes through the sysfs applier's writer seam (sysfs_apply.h), shared with the
 * hook: tests substitute a model of the kernel. */

typedef struct {
    size_t written; /* values written successfully */
    bool restored;  /* a failed change was undone: the PF has its old count again */
} vp_sriov_numvfs_report;

/* Write P's values to ROOT/P->attr_path in order through W (NULL: the real writer). When a
 * value fails after 0 was written, the old count is written back (REPORT->restored). Errors
 * name the PF: ENOMEM is the kernel's "not enough MMIO resources for SR-IOV" (VP_E_SYSTEM with
 * a hint on firmware and pci=realloc), ENOENT "no driver / driver cannot" (VP_E_UNSUPPORTED),
 * EBUSY VFs still enabled, ERANGE beyond TotalVFs. REPORT may be NULL. */
int vp_sriov_apply_numvfs(const char *root, const vp_sriov_numvfs_plan *p, const vp_sysfs_writer *w,
                          vp_sriov_numvfs_report *report, vp_error *err);

/* --persist: write P->rule to ROOT/P->rule_path (directories created 0755, the file 0644,
 * replaced atomically), or remove it when P->rule is NULL. *RET_CHANGED (may be NULL) says
 * whether the file changed (an identical rule is left alone). */
int vp_sriov_apply_rule(const char *root, const vp_sriov_numvfs_plan *p, bool *ret_changed,
                        vp_error *err);
