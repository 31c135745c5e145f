/* Applying `vpass sriov`: writing a PF's sriov_numvfs under a root, with the kernel's refusals
 * turned into messages, and the udev rule of --persist. Every write goes through a writer seam,
 * so tests run against a model of the kernel on a copy of a fixture tree. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "../plan/plan.h"
#include "../util/error.h"

/* The seam: write VALUE (LEN bytes, in one write(2), as sysfs wants) to REL under ROOT; 0 or a
 * negative errno (the kernel's answer). Same shape as the hook's vp_sysfs_writer. */
typedef struct {
    int (*write)(void *ctx, const char *root, const char *rel, const char *value, size_t len);
    void *ctx;
} vp_sriov_writer;

/* The real writer: open(2) O_WRONLY|O_NOFOLLOW|O_CLOEXEC (never O_CREAT), one write, close. */
extern const vp_sriov_writer vp_sriov_writer_real;

typedef struct {
    size_t written; /* values written successfully */
    bool restored;  /* a failed change was undone: the PF has its old count again */
} vp_sriov_numvfs_report;

/* Write P's values to ROOT/P->attr_path in order through W (NULL: the real writer). When a
 * value fails after 0 was written, the old count is written back (REPORT->restored). Errors
 * name the PF: ENOMEM is the kernel's "not enough MMIO resources for SR-IOV" (VP_E_SYSTEM with
 * a hint on firmware and pci=realloc), ENOENT "no driver / driver cannot" (VP_E_UNSUPPORTED),
 * EBUSY VFs still enabled, ERANGE beyond TotalVFs. REPORT may be NULL. */
int vp_sriov_apply_numvfs(const char *root, const vp_sriov_numvfs_plan *p, const vp_sriov_writer *w,
                          vp_sriov_numvfs_report *report, vp_error *err);

/* --persist: write P->rule to ROOT/P->rule_path (directories created 0755, the file 0644,
 * replaced atomically), or remove it when P->rule is NULL. *RET_CHANGED (may be NULL) says
 * whether the file changed (an identical rule is left alone). */
int vp_sriov_apply_rule(const char *root, const vp_sriov_numvfs_plan *p, bool *ret_changed,
                        vp_error *err);
