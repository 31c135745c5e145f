/* Internal to src/check: the run context every check reads, the check table's entry type,
 * and helpers shared between the check files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"

/* Everything a check needs, computed once by vp_check_run from the host and the target. */
typedef struct {
    const vp_host *h;
    const vp_check_target *t;
    const vp_domain *dom; /* t->domain, NULL when none */
    vp_device **sel;      /* the selection (devices + group endpoints), address order */
    size_t n_sel;
    unsigned *groups; /* IOMMU groups of the selection, ascending */
    size_t n_groups;
    vp_device **others; /* unselected endpoints of those groups that the target domain
                         * does not hold: they must be isolated for the group to go */
    size_t n_others;
    vp_device **all; /* sel + others, address order: the devices the device checks see */
    size_t n_all;
} vp_check_ctx;

typedef enum {
    VP_STAGE_HOST,
    VP_STAGE_GROUP,  /* run once per group of the selection */
    VP_STAGE_DEVICE, /* run once per device of ctx.all, in address order */
    VP_STAGE_DOMAIN, /* run only with a target domain */
} vp_check_stage;

/* One row of the check table (check.c). Exactly one of the run functions is set. */
typedef struct {
    const char *name; /* the check, for readers of the table; codes are in docs/findings.md */
    vp_check_stage stage;
    void (*run)(const vp_check_ctx *c, vp_findings *out);
    void (*run_group)(const vp_check_ctx *c, const vp_group *g, vp_findings *out);
    void (*run_device)(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
    bool others_too; /* device checks: also for c->others (host-critical, config) */
} vp_check;

/* Host checks (check_host.c). */
void vp_check_host_remote(const vp_check_ctx *c, vp_findings *out);
void vp_check_host_iommu(const vp_check_ctx *c, vp_findings *out);
void vp_check_host_irq_remap(const vp_check_ctx *c, vp_findings *out);
void vp_check_host_vfio(const vp_check_ctx *c, vp_findings *out);
void vp_check_host_acs_override(const vp_check_ctx *c, vp_findings *out);
void vp_check_host_unsafe_interrupts(const vp_check_ctx *c, vp_findings *out);
void vp_check_host_ok(const vp_check_ctx *c, vp_findings *out);

/* Group checks (check_group.c). */
void vp_check_group_members(const vp_check_ctx *c, const vp_group *g, vp_findings *out);
void vp_check_group_rmrr(const vp_check_ctx *c, const vp_group *g, vp_findings *out);
void vp_check_group_complete(const vp_check_ctx *c, const vp_group *g, vp_findings *out);

/* Device checks (check_device.c). */
void vp_check_dev_owned(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
void vp_check_dev_bridge(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
void vp_check_dev_config(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
void vp_check_dev_critical_netdev(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
void vp_check_dev_critical_storage(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
void vp_check_dev_critical_vga(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
void vp_check_dev_intx(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
void vp_check_dev_intx_shared(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
void vp_check_dev_conventional(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
void vp_check_dev_acs(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
void vp_check_dev_reset(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
void vp_check_dev_rom(const vp_check_ctx *c, const vp_device *d, vp_findings *out);
void vp_check_dev_large_bar(const vp_check_ctx *c, const vp_device *d, vp_findings *out);

/* Domain checks (check_domain.c). */
void vp_check_dom_config(const vp_check_ctx *c, vp_findings *out);
void vp_check_dom_owns(const vp_check_ctx *c, vp_findings *out);
void vp_check_dom_machine(const vp_check_ctx *c, vp_findings *out);
void vp_check_dom_firmware(const vp_check_ctx *c, vp_findings *out);
void vp_check_dom_mmio64(const vp_check_ctx *c, vp_findings *out);
void vp_check_dom_migration(const vp_check_ctx *c, vp_findings *out);

/* Build C for T on H (selection, groups, others); clear it with vp_check_ctx_clear. */
void vp_check_ctx_init(vp_check_ctx *c, const vp_host *h, const vp_check_target *t);
void vp_check_ctx_clear(vp_check_ctx *c);

/* Shared helpers (check.c, except vp_check_critical_reasons: check_device.c). */

/* True when D is in the selection of C. */
bool vp_check_selected(const vp_check_ctx *c, const vp_device *d);

/* True when the config space of D was read past the first 64 bytes (capabilities visible). */
bool vp_check_config_complete(const vp_device *d);

/* The domains other than C's target that hold D, ", "-joined with "(running)" or
 * "(defined, shut off)" after each (allocated), or NULL when none. */
char *vp_check_other_owners(const vp_check_ctx *c, const vp_device *d);

/* Why D must stay with the host (default route, addresses, mounts, boot VGA), "; "-joined
 * (allocated), or NULL when nothing local says so. */
char *vp_check_critical_reasons(const vp_check_ctx *c, const vp_device *d);

/* "128 GiB", "1.5 GiB", "16 KiB", "0 B" into BUF. */
#define VP_SIZE_STRLEN 32
const char *vp_check_size_str(uint64_t bytes, char buf[VP_SIZE_STRLEN]);

/* The smallest power of two >= N (N <= 2^63), 0 for 0; UINT64_MAX when it would overflow. */
uint64_t vp_check_pow2_up(uint64_t n);

/* "0000:18:00.0 (tg3, eno3)": the address with driver and interfaces (allocated). */
char *vp_check_device_label(const vp_device *d);

/* True when the whitespace-separated kernel command line CMDLINE has a parameter NAME
 * ("pcie_acs_override") with or without a value; *RET_VALUE (if not NULL) gets the value
 * ("downstream,multifunction") as an allocated string, NULL when the parameter has none. */
bool vp_check_cmdline_param(const char *cmdline, const char *name, char **ret_value);
