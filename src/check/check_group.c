/* IOMMU group checks: every member's role, firmware-owned regions, group completeness. A group
 * goes to vfio as one unit: every endpoint must leave its host driver ("group N is not
 * viable"), bridges may stay (vfio-pci ignores them, drivers/vfio/vfio_main.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "check_int.h"

/* Where the driver of D leaves it: "leaves tg3 for vfio-pci", "already on vfio-pci", ... */
static const char *
driver_fate(const vp_device *d, char *buf, size_t size)
{
    if (!d->driver)
        return "no driver bound";
    if (strcmp(d->driver, "vfio-pci") == 0)
        return "already on vfio-pci";
    snprintf(buf, size, "must leave %s for vfio-pci", d->driver);
    return buf;
}

void
vp_check_group_members(const vp_check_ctx *c, const vp_group *g, vp_findings *out)
{
    for (size_t i = 0; i < g->n_members; i++) {
        const vp_device *d = c->h->devices[g->members[i]];
        vp_autofree char *label = vp_check_device_label(d);
        vp_autofree char *owners = vp_check_other_owners(c, d);
        char fate[128];

        if (d->is_bridge) {
            vp_findings_add(out, "group-member", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false,
                            NULL, "%s: bridge in group %u: stays with the host", label, g->number);
        } else if (vp_check_selected(c, d)) {
            vp_findings_add(out, "group-member", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false,
                            NULL, "%s: endpoint in group %u, selected: %s%s%s", label, g->number,
                            driver_fate(d, fate, sizeof(fate)), owners ? "; held by " : "",
                            owners ? owners : "");
        } else if (c->dom && vp_strv_contains(d->owners, c->dom->name)) {
            vp_findings_add(out, "group-member", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false,
                            NULL, "%s: endpoint in group %u, already held by %s", label, g->number,
                            c->dom->name);
        } else if (owners) {
            /* libvirt refuses to start a domain whose group has a member in use by another
             * (virHostdevPreparePCIDevices); a shut-off owner fails later instead. */
            vp_findings_add(
                out, "group-member-owned", VP_SEV_BLOCK, VP_SUBJECT_DEVICE, d->addr_str, false,
                "remove it from that domain first (virsh detach-device --config), or choose a device in another group",
                "%s: endpoint in group %u, not selected, held by %s: the group cannot be split between domains",
                label, g->number, owners);
        } else {
            vp_findings_add(out, "group-member", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false,
                            NULL, "%s: endpoint in group %u, not selected: %s", label, g->number,
                            driver_fate(d, fate, sizeof(fate)));
        }
    }
}

/* Join the ranges of G's reserved regions of TYPE ("0x...-0x..., ..."), NULL when none. */
static char *
regions_of_type(const vp_group *g, const char *type)
{
    vp_autostrv char **parts = NULL;

    for (size_t i = 0; i < g->n_regions; i++)
        if (vp_streq(g->regions[i].type, type))
            vp_strv_push_take(&parts,
                              vp_asprintf("%#llx-%#llx", (unsigned long long)g->regions[i].start,
                                          (unsigned long long)g->regions[i].end));
    return parts ? vp_strv_join(parts, ", ", "") : NULL;
}

void
vp_check_group_rmrr(const vp_check_ctx *c, const vp_group *g, vp_findings *out)
{
    vp_autofree char *direct = NULL;
    vp_autofree char *relaxable = NULL;
    char subject[16];

    (void)c;
    if (!g->regions_read)
        return;
    snprintf(subject, sizeof(subject), "%u", g->number);
    direct = regions_of_type(g, "direct");
    relaxable = regions_of_type(g, "direct-relaxable");
    /* Intel RMRRs show up as IOMMU_RESV_DIRECT; since Linux 3.17 (intel-iommu
     * device_rmrr_is_relaxable, iommu_group_get_resv_regions) a device with a non-relaxable
     * RMRR is "ineligible for IOMMU domain attach due to platform RMRR requirement". */
    if (direct)
        vp_findings_add(
            out, "rmrr-direct", VP_SEV_BLOCK, VP_SUBJECT_GROUP, subject, false,
            "choose a device without firmware-owned memory, or ask the vendor for firmware that drops the RMRR (no kernel option lifts this)",
            "group %u: firmware-owned memory (Intel RMRR, 'direct' reserved region %s): the kernel refuses to give this group to vfio",
            g->number, direct);
    if (relaxable)
        vp_findings_add(
            out, "rmrr-relaxable", VP_SEV_INFO, VP_SUBJECT_GROUP, subject, false, NULL,
            "group %u: relaxable firmware-owned memory ('direct-relaxable' region %s, a USB or graphics RMRR): vfio accepts it, the firmware stops using it once the host driver is gone",
            g->number, relaxable);
}

void
vp_check_group_complete(const vp_check_ctx *c, const vp_group *g, vp_findings *out)
{
    vp_autostrv char **blockers = NULL;
    bool owned = false;
    size_t n_others = 0, n_endpoints = 0;
    char subject[16];

    snprintf(subject, sizeof(subject), "%u", g->number);
    for (size_t i = 0; i < g->n_members; i++)
        n_endpoints += !c->h->devices[g->members[i]]->is_bridge;
    for (size_t i = 0; i < c->n_others; i++) {
        const vp_device *d = c->others[i];
        vp_autofree char *owners = NULL;
        vp_autofree char *critical = NULL;

        if (d->group != g->number)
            continue;
        n_others++;
        owners = vp_check_other_owners(c, d);
        critical = vp_check_critical_reasons(c, d);
        if (owners) {
            owned = true;
            vp_strv_push_take(&blockers, vp_asprintf("%s (held by %s)", d->addr_str, owners));
        } else if (critical) {
            vp_strv_push_take(&blockers, vp_asprintf("%s (%s)", d->addr_str, critical));
        }
    }
    if (n_others == 0) {
        vp_findings_add(out, "group-complete", VP_SEV_OK, VP_SUBJECT_GROUP, subject, false, NULL,
                        "group %u: complete: %s every endpoint (%zu)", g->number,
                        c->dom ? "the domain will hold" : "the selection covers", n_endpoints);
        return;
    }
    if (blockers) {
        vp_autofree char *list = vp_strv_join(blockers, "; ", "");

        vp_findings_add(
            out, "group-incomplete", VP_SEV_BLOCK, VP_SUBJECT_GROUP, subject, !owned,
            owned
                ? "free the functions held by other domains first, or choose a device in another group"
                : "move the host's use off those functions first, or pass --force to isolate them anyway",
            "group %u: incomplete: %zu endpoint(s) not selected and not isolatable: %s", g->number,
            n_others, list);
        return;
    }
    for (size_t i = 0; i < c->n_others; i++) {
        const vp_device *d = c->others[i];
        vp_autofree char *label = NULL;

        if (d->group != g->number)
            continue;
        label = vp_check_device_label(d);
        if (vp_streq(d->driver, "vfio-pci"))
            vp_findings_add(out, "group-isolate", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str,
                            false, NULL,
                            "%s: not selected, in group %u: already on vfio-pci, stays unassigned",
                            label, g->number);
        else if (!d->driver)
            vp_findings_add(
                out, "group-isolate", VP_SEV_INFO, VP_SUBJECT_DEVICE, d->addr_str, false, NULL,
                "%s: not selected, in group %u: will be bound to vfio-pci and kept unassigned",
                label, g->number);
        else
            vp_findings_add(
                out, "group-isolate", VP_SEV_WARN, VP_SUBJECT_DEVICE, d->addr_str, false,
                "select it too (--group) to give the guest the whole group",
                "%s: not selected, in group %u: will be bound to vfio-pci and kept unassigned (the host loses it)",
                label, g->number);
    }
}
