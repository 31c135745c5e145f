/* Findings, the check table and the runner: builds the run context and calls every check. */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "check_int.h"

void
vp_findings_add(vp_findings *f, const char *code, vp_severity sev, vp_subject_kind kind,
                const char *subject, bool overridable, const char *fix, const char *fmt, ...)
{
    vp_finding *x;
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (!msg)
        abort(); /* out of memory: vp_malloc0's policy */
    vp_grow(&f->items, &f->alloc, f->n + 1, sizeof(*f->items));
    x = &f->items[f->n++];
    x->code = code;
    x->severity = sev;
    x->kind = kind;
    x->subject = vp_strdup(subject);
    x->message = msg;
    x->fix = vp_strdup(fix);
    /* Only a block can be overridden; keep the flag meaningful for renderers. */
    x->overridable = sev == VP_SEV_BLOCK && overridable;
}

void
vp_findings_clear(vp_findings *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->items[i].subject);
        free(f->items[i].message);
        free(f->items[i].fix);
    }
    free(f->items);
    memset(f, 0, sizeof(*f));
}

vp_severity
vp_findings_worst(const vp_findings *f, bool force)
{
    vp_severity worst = VP_SEV_OK;

    for (size_t i = 0; i < f->n; i++) {
        vp_severity s = f->items[i].severity;

        if (s == VP_SEV_BLOCK && force && f->items[i].overridable)
            s = VP_SEV_WARN;
        if (s > worst)
            worst = s;
    }
    return worst;
}

const vp_finding *
vp_findings_find(const vp_findings *f, const char *code, const char *subject)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->items[i].code, code) == 0 &&
            (!subject || vp_streq(f->items[i].subject, subject)))
            return &f->items[i];
    return NULL;
}

const char *
vp_severity_name(vp_severity s)
{
    switch (s) {
    case VP_SEV_OK:
        return "ok";
    case VP_SEV_INFO:
        return "info";
    case VP_SEV_WARN:
        return "warn";
    case VP_SEV_BLOCK:
        return "block";
    }
    return "unknown";
}

const char *
vp_subject_kind_name(vp_subject_kind k)
{
    switch (k) {
    case VP_SUBJECT_HOST:
        return "host";
    case VP_SUBJECT_GROUP:
        return "group";
    case VP_SUBJECT_DEVICE:
        return "device";
    case VP_SUBJECT_DOMAIN:
        return "domain";
    }
    return "unknown";
}

/* The one table: stage order is output order; within a stage, table order. */
static const vp_check checks[] = {
    {.name = "remote host", .stage = VP_STAGE_HOST, .run = vp_check_host_remote},
    {.name = "IOMMU", .stage = VP_STAGE_HOST, .run = vp_check_host_iommu},
    {.name = "interrupt remapping", .stage = VP_STAGE_HOST, .run = vp_check_host_irq_remap},
    {.name = "vfio modules", .stage = VP_STAGE_HOST, .run = vp_check_host_vfio},
    {.name = "ACS override", .stage = VP_STAGE_HOST, .run = vp_check_host_acs_override},
    {.name = "unsafe interrupts", .stage = VP_STAGE_HOST, .run = vp_check_host_unsafe_interrupts},
    {.name = "host summary", .stage = VP_STAGE_HOST, .run = vp_check_host_ok},

    {.name = "group members", .stage = VP_STAGE_GROUP, .run_group = vp_check_group_members},
    {.name = "reserved regions", .stage = VP_STAGE_GROUP, .run_group = vp_check_group_rmrr},
    {.name = "group completeness", .stage = VP_STAGE_GROUP, .run_group = vp_check_group_complete},

    {.name = "other owner", .stage = VP_STAGE_DEVICE, .run_device = vp_check_dev_owned},
    {.name = "bridge", .stage = VP_STAGE_DEVICE, .run_device = vp_check_dev_bridge},
    {.name = "config space",
     .stage = VP_STAGE_DEVICE,
     .run_device = vp_check_dev_config,
     .others_too = true},
    {.name = "host network",
     .stage = VP_STAGE_DEVICE,
     .run_device = vp_check_dev_critical_netdev,
     .others_too = true},
    {.name = "host storage",
     .stage = VP_STAGE_DEVICE,
     .run_device = vp_check_dev_critical_storage,
     .others_too = true},
    {.name = "boot VGA",
     .stage = VP_STAGE_DEVICE,
     .run_device = vp_check_dev_critical_vga,
     .others_too = true},
    {.name = "INTx only", .stage = VP_STAGE_DEVICE, .run_device = vp_check_dev_intx},
    {.name = "INTx sharing", .stage = VP_STAGE_DEVICE, .run_device = vp_check_dev_intx_shared},
    {.name = "conventional PCI", .stage = VP_STAGE_DEVICE, .run_device = vp_check_dev_conventional},
    {.name = "ACS upstream", .stage = VP_STAGE_DEVICE, .run_device = vp_check_dev_acs},
    {.name = "reset", .stage = VP_STAGE_DEVICE, .run_device = vp_check_dev_reset},
    {.name = "expansion ROM", .stage = VP_STAGE_DEVICE, .run_device = vp_check_dev_rom},
    {.name = "large BARs", .stage = VP_STAGE_DEVICE, .run_device = vp_check_dev_large_bar},

    {.name = "domain definition", .stage = VP_STAGE_DOMAIN, .run = vp_check_dom_config},
    {.name = "already held", .stage = VP_STAGE_DOMAIN, .run = vp_check_dom_owns},
    {.name = "machine type", .stage = VP_STAGE_DOMAIN, .run = vp_check_dom_machine},
    {.name = "firmware", .stage = VP_STAGE_DOMAIN, .run = vp_check_dom_firmware},
    {.name = "64-bit MMIO", .stage = VP_STAGE_DOMAIN, .run = vp_check_dom_mmio64},
    {.name = "migration", .stage = VP_STAGE_DOMAIN, .run = vp_check_dom_migration},
};

/* Every code, in the order of the table above (docs/findings.md documents each). */
static const char *const codes[] = {
    "host-remote",
    "iommu-off",
    "irq-remap-off",
    "vfio-not-loaded",
    "acs-override",
    "unsafe-interrupts",
    "iommu-ok",
    "group-member",
    "group-member-owned",
    "rmrr-direct",
    "rmrr-relaxable",
    "group-complete",
    "group-isolate",
    "group-incomplete",
    "owned-by-other-domain",
    "bridge-selected",
    "config-unavailable",
    "host-critical-netdev",
    "host-critical-storage",
    "host-critical-vga",
    "intx-only",
    "intx-shared",
    "conventional-pci",
    "acs-missing-upstream",
    "no-reset",
    "reset-ok",
    "rom-present",
    "rom-absent",
    "large-bar",
    "domain-config-unavailable",
    "domain-owns",
    "machine-q35",
    "machine-i440fx",
    "firmware-efi",
    "firmware-bios",
    "mmio64-ok",
    "mmio64-too-small",
    "mmio64-unknown",
    "no-migration",
    NULL,
};

const char *const *
vp_check_codes(void)
{
    return codes;
}

static int
device_ptr_cmp(const void *a, const void *b)
{
    const vp_device *da = *(vp_device *const *)a;
    const vp_device *db = *(vp_device *const *)b;

    return vp_pci_addr_cmp(&da->addr, &db->addr);
}

static int
uint_cmp(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

    return x < y ? -1 : x > y;
}

/* Sort V (N device pointers) by address and drop repeats; returns the new count. */
static size_t
sort_unique(vp_device **v, size_t n)
{
    size_t out = 0;

    if (n > 1)
        qsort(v, n, sizeof(*v), device_ptr_cmp);
    for (size_t i = 0; i < n; i++)
        if (out == 0 || v[out - 1] != v[i])
            v[out++] = v[i];
    return out;
}

/* True when D's definition is in the target domain's definition (live or persistent). */
static bool
held_by_target(const vp_check_ctx *c, const vp_device *d)
{
    return c->dom && vp_strv_contains(d->owners, c->dom->name);
}

void
vp_check_ctx_init(vp_check_ctx *c, const vp_host *h, const vp_check_target *t)
{
    size_t n_max;

    memset(c, 0, sizeof(*c));
    c->h = h;
    c->t = t;
    c->dom = t->domain;

    n_max = t->n_devices + (t->group ? t->group->n_members : 0);
    c->sel = vp_malloc0((n_max ? n_max : 1) * sizeof(*c->sel));
    for (size_t i = 0; i < t->n_devices; i++)
        c->sel[c->n_sel++] = t->devices[i];
    for (size_t i = 0; t->group && i < t->group->n_members; i++) {
        vp_device *d = h->devices[t->group->members[i]];

        if (!d->is_bridge)
            c->sel[c->n_sel++] = d;
    }
    c->n_sel = sort_unique(c->sel, c->n_sel);

    c->groups = vp_malloc0((c->n_sel ? c->n_sel : 1) * sizeof(*c->groups));
    for (size_t i = 0; i < c->n_sel; i++) {
        bool seen = false;

        if (!c->sel[i]->has_group)
            continue;
        for (size_t j = 0; j < c->n_groups; j++)
            seen |= c->groups[j] == c->sel[i]->group;
        if (!seen)
            c->groups[c->n_groups++] = c->sel[i]->group;
    }
    if (c->n_groups > 1)
        qsort(c->groups, c->n_groups, sizeof(*c->groups), uint_cmp);

    for (size_t i = 0; i < c->n_groups; i++) {
        const vp_group *g = vp_host_find_group(h, c->groups[i]);

        for (size_t j = 0; g && j < g->n_members; j++) {
            vp_device *d = h->devices[g->members[j]];

            if (d->is_bridge || vp_check_selected(c, d) || held_by_target(c, d))
                continue;
            c->others = vp_realloc_array(c->others, c->n_others + 1, sizeof(*c->others));
            c->others[c->n_others++] = d;
        }
    }
    c->n_others = sort_unique(c->others, c->n_others);

    c->all = vp_malloc0((c->n_sel + c->n_others + 1) * sizeof(*c->all));
    memcpy(c->all, c->sel, c->n_sel * sizeof(*c->all));
    if (c->n_others)
        memcpy(c->all + c->n_sel, c->others, c->n_others * sizeof(*c->all));
    c->n_all = sort_unique(c->all, c->n_sel + c->n_others);
}

void
vp_check_ctx_clear(vp_check_ctx *c)
{
    free(c->sel);
    free(c->groups);
    free(c->others);
    free(c->all);
    memset(c, 0, sizeof(*c));
}

void
vp_check_run(const vp_host *h, const vp_check_target *t, vp_findings *out)
{
    vp_check_ctx c;

    vp_check_ctx_init(&c, h, t);
    for (size_t i = 0; i < VP_ARRAY_SIZE(checks); i++)
        if (checks[i].stage == VP_STAGE_HOST)
            checks[i].run(&c, out);
    for (size_t g = 0; g < c.n_groups; g++) {
        const vp_group *group = vp_host_find_group(h, c.groups[g]);

        for (size_t i = 0; group && i < VP_ARRAY_SIZE(checks); i++)
            if (checks[i].stage == VP_STAGE_GROUP)
                checks[i].run_group(&c, group, out);
    }
    for (size_t d = 0; d < c.n_all; d++) {
        bool selected = vp_check_selected(&c, c.all[d]);

        for (size_t i = 0; i < VP_ARRAY_SIZE(checks); i++)
            if (checks[i].stage == VP_STAGE_DEVICE && (selected || checks[i].others_too))
                checks[i].run_device(&c, c.all[d], out);
    }
    for (size_t i = 0; c.dom && i < VP_ARRAY_SIZE(checks); i++)
        if (checks[i].stage == VP_STAGE_DOMAIN)
            checks[i].run(&c, out);
    vp_check_ctx_clear(&c);
}

bool
vp_check_selected(const vp_check_ctx *c, const vp_device *d)
{
    size_t lo = 0, hi = c->n_sel;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = vp_pci_addr_cmp(&c->sel[mid]->addr, &d->addr);

        if (r == 0)
            return true;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool
vp_check_config_complete(const vp_device *d)
{
    /* A non-root reader sees 64 bytes; capabilities start at 0x40 (PCI 3.0, 6.7). */
    return d->facts && d->facts->config_len >= 256;
}

char *
vp_check_other_owners(const vp_check_ctx *c, const vp_device *d)
{
    vp_autostrv char **parts = NULL;

    for (size_t i = 0; d->owners && d->owners[i]; i++) {
        const vp_domain *o;

        if (c->dom && strcmp(d->owners[i], c->dom->name) == 0)
            continue;
        o = vp_host_find_domain(c->h, d->owners[i]);
        vp_strv_push_take(&parts, vp_asprintf("%s (%s)", d->owners[i],
                                              o && o->running ? "running" : "defined, shut off"));
    }
    return parts ? vp_strv_join(parts, ", ", "") : NULL;
}

const char *
vp_check_size_str(uint64_t bytes, char buf[VP_SIZE_STRLEN])
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    unsigned u = 0;

    while (u + 1 < VP_ARRAY_SIZE(units) && bytes >> (10 * (u + 1)))
        u++;
    if (u == 0 || (bytes & ((1ULL << (10 * u)) - 1)) == 0)
        snprintf(buf, VP_SIZE_STRLEN, "%llu %s", (unsigned long long)(bytes >> (10 * u)), units[u]);
    else
        snprintf(buf, VP_SIZE_STRLEN, "%.1f %s", (double)bytes / (double)(1ULL << (10 * u)),
                 units[u]);
    return buf;
}

uint64_t
vp_check_pow2_up(uint64_t n)
{
    uint64_t p = 1;

    if (n == 0)
        return 0;
    while (p < n) {
        if (p >> 63)
            return UINT64_MAX;
        p <<= 1;
    }
    return p;
}

char *
vp_check_device_label(const vp_device *d)
{
    vp_autostrv char **parts = NULL;
    vp_autofree char *inner = NULL;

    vp_strv_push(&parts, d->driver ? d->driver : "no driver");
    for (size_t i = 0; d->netdevs && d->netdevs[i]; i++)
        vp_strv_push(&parts, d->netdevs[i]);
    inner = vp_strv_join(parts, ", ", "");
    return vp_asprintf("%s (%s)", d->addr_str, inner);
}

bool
vp_check_cmdline_param(const char *cmdline, const char *name, char **ret_value)
{
    size_t len = strlen(name);
    const char *p = cmdline;

    while (p && *p) {
        const char *end;

        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        end = p;
        while (*end && *end != ' ' && *end != '\t' && *end != '\n')
            end++;
        if ((size_t)(end - p) >= len && strncmp(p, name, len) == 0 &&
            (p + len == end || p[len] == '=')) {
            if (ret_value)
                *ret_value =
                    p + len == end ? NULL : vp_strndup(p + len + 1, (size_t)(end - p - len - 1));
            return true;
        }
        p = end;
    }
    return false;
}
