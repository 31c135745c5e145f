/* The host model: construction, finalize (sort, index, groups, owners, verdicts), lookups. */
#include "host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"

struct vp_pending_region {
    unsigned group;
    vp_region region;
};

struct vp_netdev_index {
    const char *ifname; /* borrowed from the device's netdevs */
    size_t device;
};

vp_host *
vp_host_new(void)
{
    vp_host *h = vp_malloc0(sizeof(*h));

    h->root = vp_strdup("/");
    return h;
}

void
vp_pci_facts_free(vp_pci_facts *f)
{
    if (!f)
        return;
    free(f->reset_method);
    free(f);
}

void
vp_host_facts_clear(vp_host_facts *f)
{
    free(f->cmdline);
    vp_strv_free(f->iommu_units);
    for (size_t i = 0; i < f->n_netifs; i++) {
        free(f->netifs[i].name);
        free(f->netifs[i].master);
        vp_strv_free(f->netifs[i].addresses);
        vp_strv_free(f->netifs[i].routes);
    }
    free(f->netifs);
    for (size_t i = 0; i < f->n_mounts; i++) {
        free(f->mounts[i].mountpoint);
        free(f->mounts[i].source);
    }
    free(f->mounts);
    memset(f, 0, sizeof(*f));
}

void
vp_domain_clear(vp_domain *d)
{
    free(d->name);
    free(d->uuid);
    free(d->arch);
    free(d->machine);
    free(d->loader);
    free(d->maxphysaddr_mode);
    vp_strv_free(d->macs);
    memset(d, 0, sizeof(*d));
}

bool
vp_machine_is_q35(const char *machine)
{
    return machine && (strcmp(machine, "q35") == 0 || vp_startswith(machine, "pc-q35"));
}

void
vp_device_clear(vp_device *d)
{
    if (!d)
        return;
    vp_pci_facts_free(d->facts);
    free(d->nodedev_name);
    free(d->vendor_name);
    free(d->product_name);
    free(d->driver);
    free(d->link_cap.speed);
    free(d->link_sta.speed);
    free(d->vfs);
    vp_strv_free(d->netdevs);
    vp_strv_free(d->owners);
    memset(d, 0, sizeof(*d));
}

void
vp_host_free(vp_host *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_devices; i++) {
        vp_device_clear(h->devices[i]);
        free(h->devices[i]);
    }
    free(h->devices);
    for (size_t i = 0; i < h->n_groups; i++) {
        free(h->groups[i].members);
        for (size_t j = 0; j < h->groups[i].n_regions; j++)
            free(h->groups[i].regions[j].type);
        free(h->groups[i].regions);
    }
    free(h->groups);
    for (size_t i = 0; i < h->n_domains; i++)
        vp_domain_clear(&h->domains[i]);
    free(h->domains);
    for (size_t i = 0; i < h->n_assignments; i++)
        free(h->assignments[i].domain);
    free(h->assignments);
    for (size_t i = 0; i < h->n_problems; i++) {
        free(h->problems[i].what);
        free(h->problems[i].why);
    }
    free(h->problems);
    for (size_t i = 0; i < h->n_pending_regions; i++)
        free(h->pending_regions[i].region.type);
    free(h->pending_regions);
    free(h->regions_read_groups);
    free(h->netdev_index);
    vp_host_facts_clear(&h->facts);
    free(h->source);
    free(h->uri);
    free(h->root);
    free(h);
}

vp_device *
vp_host_add_device(vp_host *h)
{
    vp_grow(&h->devices, &h->alloc_devices, h->n_devices + 1, sizeof(*h->devices));
    h->devices[h->n_devices] = vp_malloc0(sizeof(vp_device));
    return h->devices[h->n_devices++];
}

vp_domain *
vp_host_add_domain(vp_host *h, const char *name, const char *uuid, bool running, bool persistent)
{
    vp_domain *d;

    vp_grow(&h->domains, &h->alloc_domains, h->n_domains + 1, sizeof(*h->domains));
    d = &h->domains[h->n_domains++];
    d->name = vp_strdup(name);
    d->uuid = vp_strdup(uuid);
    d->running = running;
    d->persistent = persistent;
    return d;
}

void
vp_host_add_assignment(vp_host *h, const char *domain, const vp_pci_addr *addr, vp_use_kind kind,
                       bool managed, bool live, bool config)
{
    vp_assignment *a;

    /* A source adds one domain's live and persistent records together: look back over that
     * domain's run only, so the ledger is built in linear time. */
    for (size_t i = h->n_assignments; i > 0; i--) {
        a = &h->assignments[i - 1];
        if (strcmp(a->domain, domain) != 0)
            break;
        if (vp_pci_addr_eq(&a->addr, addr)) {
            a->live |= live;
            a->config |= config;
            return;
        }
    }
    vp_grow(&h->assignments, &h->alloc_assignments, h->n_assignments + 1, sizeof(*h->assignments));
    a = &h->assignments[h->n_assignments++];
    a->domain = vp_strdup(domain);
    a->addr = *addr;
    a->kind = kind;
    a->managed = managed;
    a->live = live;
    a->config = config;
}

void
vp_host_mark_group_regions_read(vp_host *h, unsigned group)
{
    vp_grow(&h->regions_read_groups, &h->alloc_regions_read_groups, h->n_regions_read_groups + 1,
            sizeof(unsigned));
    h->regions_read_groups[h->n_regions_read_groups++] = group;
}

void
vp_host_add_group_region(vp_host *h, unsigned group, uint64_t start, uint64_t end, const char *type)
{
    struct vp_pending_region *p;

    vp_grow(&h->pending_regions, &h->alloc_pending_regions, h->n_pending_regions + 1,
            sizeof(*h->pending_regions));
    p = &h->pending_regions[h->n_pending_regions++];
    p->group = group;
    p->region.start = start;
    p->region.end = end;
    p->region.type = vp_strdup(type);
}

void
vp_host_add_problem(vp_host *h, const char *what, const char *fmt, ...)
{
    vp_problem *p;
    va_list ap;
    char *why = NULL;

    va_start(ap, fmt);
    if (vasprintf(&why, fmt, ap) < 0)
        why = NULL;
    va_end(ap);
    vp_grow(&h->problems, &h->alloc_problems, h->n_problems + 1, sizeof(*h->problems));
    p = &h->problems[h->n_problems++];
    p->what = vp_strdup(what);
    p->why = why ? why : vp_strdup("unreadable");
}

static int
device_cmp(const void *a, const void *b)
{
    const vp_device *da = *(vp_device *const *)a;
    const vp_device *db = *(vp_device *const *)b;

    return vp_pci_addr_cmp(&da->addr, &db->addr);
}

static int
group_cmp(const void *a, const void *b)
{
    const vp_group *ga = a, *gb = b;

    return ga->number < gb->number ? -1 : ga->number > gb->number;
}

static int
netdev_cmp(const void *a, const void *b)
{
    const struct vp_netdev_index *na = a, *nb = b;

    return strcmp(na->ifname, nb->ifname);
}

static int
domain_cmp(const void *a, const void *b)
{
    return strcmp(((const vp_domain *)a)->name, ((const vp_domain *)b)->name);
}

static const vp_domain *
find_domain(const vp_host *h, const char *name)
{
    vp_domain key = {.name = (char *)name};

    if (!h->n_domains)
        return NULL;
    return bsearch(&key, h->domains, h->n_domains, sizeof(*h->domains), domain_cmp);
}

bool
vp_driver_is_vfio_or_none(const char *driver)
{
    return !driver || strcmp(driver, "vfio-pci") == 0;
}

static vp_verdict
compute_verdict(const vp_host *h, const vp_group *g)
{
    bool any_free = false, any_host = false, in_use = false;

    for (size_t i = 0; i < g->n_members; i++) {
        const vp_device *d = h->devices[g->members[i]];

        if (d->conflict)
            return VP_VERDICT_CONFLICT;
        if (d->owned_by_running)
            in_use = true;
        /* Bridges stay with the host; they never spoil a group (vfio-pci ignores them). */
        if (d->is_bridge)
            continue;
        if (vp_driver_is_vfio_or_none(d->driver))
            any_free = true;
        else
            any_host = true;
    }
    if (in_use)
        return VP_VERDICT_IN_USE;
    if (any_host && any_free)
        return VP_VERDICT_MIXED;
    return any_host ? VP_VERDICT_HOST : VP_VERDICT_READY;
}

typedef struct {
    unsigned group;
    size_t device;
} group_key;

static int
group_key_cmp(const void *a, const void *b)
{
    const group_key *ka = a, *kb = b;

    if (ka->group != kb->group)
        return ka->group < kb->group ? -1 : 1;
    return ka->device < kb->device ? -1 : ka->device > kb->device;
}

/* Groups from the devices' group numbers: sort (group, device) pairs, then one linear pass. */
static void
build_groups(vp_host *h)
{
    vp_autofree group_key *keys = NULL;
    size_t n = 0, alloc = 0;

    keys = vp_realloc_array(NULL, h->n_devices ? h->n_devices : 1, sizeof(*keys));
    for (size_t i = 0; i < h->n_devices; i++)
        if (h->devices[i]->has_group) {
            keys[n].group = h->devices[i]->group;
            keys[n++].device = i;
        }
    if (n)
        qsort(keys, n, sizeof(*keys), group_key_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        vp_group *g;

        while (j < n && keys[j].group == keys[i].group)
            j++;
        vp_grow(&h->groups, &alloc, h->n_groups + 1, sizeof(*h->groups));
        g = &h->groups[h->n_groups++];
        g->number = keys[i].group;
        g->n_members = j - i;
        g->members = vp_realloc_array(NULL, g->n_members, sizeof(size_t));
        for (size_t k = i; k < j; k++)
            g->members[k - i] = keys[k].device;
        i = j;
    }
}

void
vp_host_finalize(vp_host *h)
{
    size_t n_net = 0, out = 0;

    if (h->n_devices)
        qsort(h->devices, h->n_devices, sizeof(*h->devices), device_cmp);
    /* Drop duplicate addresses (a broken source); keep the first. */
    for (size_t i = 0; i < h->n_devices; i++) {
        vp_device *d = h->devices[i];

        vp_pci_addr_format(&d->addr, d->addr_str);
        if (out > 0 && vp_pci_addr_eq(&h->devices[out - 1]->addr, &d->addr)) {
            vp_host_add_problem(h, d->addr_str, "reported twice by the source; second ignored");
            vp_device_clear(d);
            free(d);
            continue;
        }
        if (!d->nodedev_name)
            d->nodedev_name = vp_pci_addr_nodedev_name(&d->addr);
        h->devices[out++] = d;
    }
    h->n_devices = out;
    if (h->n_domains)
        qsort(h->domains, h->n_domains, sizeof(*h->domains), domain_cmp);

    /* Owners, conflicts, running use: one pass over the ledger, O(assignments log devices). */
    for (size_t i = 0; i < h->n_assignments; i++) {
        const vp_assignment *a = &h->assignments[i];
        vp_device *d = vp_host_find_device(h, &a->addr);
        const vp_domain *dom = find_domain(h, a->domain);

        if (!d)
            continue;
        if (!vp_strv_contains(d->owners, a->domain))
            vp_strv_push(&d->owners, a->domain);
        if (dom && dom->running && a->live)
            d->owned_by_running = true;
    }
    for (size_t i = 0; i < h->n_devices; i++) {
        vp_device *d = h->devices[i];

        vp_strv_sort(d->owners);
        d->conflict = vp_strv_len(d->owners) > 1;
        n_net += vp_strv_len(d->netdevs);
        if (d->has_group)
            h->iommu_present = true;
    }

    build_groups(h);
    /* Hand the recorded reserved regions to their groups (regions of unknown groups drop). */
    for (size_t i = 0; i < h->n_pending_regions; i++) {
        struct vp_pending_region *p = &h->pending_regions[i];
        vp_group *g = (vp_group *)vp_host_find_group(h, p->group);

        if (!g) {
            free(p->region.type);
            continue;
        }
        g->regions = vp_realloc_array(g->regions, g->n_regions + 1, sizeof(*g->regions));
        g->regions[g->n_regions++] = p->region;
    }
    h->n_pending_regions = 0;
    for (size_t i = 0; i < h->n_regions_read_groups; i++) {
        vp_group *g = (vp_group *)vp_host_find_group(h, h->regions_read_groups[i]);

        if (g)
            g->regions_read = true;
    }
    for (size_t i = 0; i < h->n_groups; i++)
        h->groups[i].verdict = compute_verdict(h, &h->groups[i]);

    h->netdev_index = vp_realloc_array(NULL, n_net ? n_net : 1, sizeof(*h->netdev_index));
    h->n_netdev_index = 0;
    for (size_t i = 0; i < h->n_devices; i++)
        for (size_t j = 0; h->devices[i]->netdevs && h->devices[i]->netdevs[j]; j++) {
            h->netdev_index[h->n_netdev_index].ifname = h->devices[i]->netdevs[j];
            h->netdev_index[h->n_netdev_index++].device = i;
        }
    if (h->n_netdev_index)
        qsort(h->netdev_index, h->n_netdev_index, sizeof(*h->netdev_index), netdev_cmp);
}

vp_device *
vp_host_find_device(const vp_host *h, const vp_pci_addr *addr)
{
    size_t lo = 0, hi = h->n_devices;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = vp_pci_addr_cmp(&h->devices[mid]->addr, addr);

        if (c == 0)
            return h->devices[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const vp_group *
vp_host_find_group(const vp_host *h, unsigned number)
{
    vp_group key = {.number = number};

    if (!h->n_groups)
        return NULL;
    return bsearch(&key, h->groups, h->n_groups, sizeof(*h->groups), group_cmp);
}

vp_device *
vp_host_find_netdev(const vp_host *h, const char *ifname)
{
    struct vp_netdev_index key = {.ifname = ifname};
    struct vp_netdev_index *hit;

    if (!h->n_netdev_index)
        return NULL;
    hit = bsearch(&key, h->netdev_index, h->n_netdev_index, sizeof(key), netdev_cmp);
    return hit ? h->devices[hit->device] : NULL;
}

const vp_domain *
vp_host_find_domain(const vp_host *h, const char *name)
{
    return find_domain(h, name);
}

int
vp_host_resolve_device(const vp_host *h, const char *input, vp_device **ret, vp_error *err)
{
    vp_pci_addr addr;
    vp_device *d;
    char buf[VP_PCI_ADDR_STRLEN];

    if (!input || !*input)
        return vp_error_set(
            err, VP_E_USAGE,
            "empty device selector (expected a PCI address such as 0000:18:00.0 or an interface name)");
    if (vp_pci_addr_looks_like(input)) {
        vp_pci_addr_parse(input, &addr, NULL);
        d = vp_host_find_device(h, &addr);
        if (!d)
            return vp_error_set(err, VP_E_NOTFOUND, "%s: no such PCI device on this host",
                                vp_pci_addr_format(&addr, buf));
        *ret = d;
        return 0;
    }
    d = vp_host_find_netdev(h, input);
    if (d) {
        *ret = d;
        return 0;
    }
    /* Looks like an address but is out of range, or an unknown interface name. */
    if (strchr(input, ':') || vp_startswith(input, "pci_"))
        return vp_pci_addr_parse(input, &addr, err);
    return vp_error_set(
        err, VP_E_NOTFOUND,
        "'%s': no PCI device has this interface name (expected a PCI address such as 0000:18:00.0, a node device pci_0000_18_00_0, or a host interface name backed by a PCI device)",
        input);
}

int
vp_host_resolve_group(const vp_host *h, const char *input, const vp_group **ret, vp_error *err)
{
    const vp_group *g;
    unsigned n;

    if (vp_parse_uint(input, &n) < 0)
        return vp_error_set(err, VP_E_USAGE,
                            "'%s': not an IOMMU group number (expected a number such as 26)",
                            input ? input : "");
    g = vp_host_find_group(h, n);
    if (!g) {
        if (!h->iommu_present)
            return vp_error_set(err, VP_E_NOTFOUND,
                                "group %u: this host has no IOMMU groups (is the IOMMU enabled?)",
                                n);
        return vp_error_set(err, VP_E_NOTFOUND, "group %u: no such IOMMU group on this host", n);
    }
    *ret = g;
    return 0;
}

const char *
vp_verdict_name(vp_verdict v)
{
    switch (v) {
    case VP_VERDICT_READY:
        return "ready";
    case VP_VERDICT_HOST:
        return "host";
    case VP_VERDICT_MIXED:
        return "mixed";
    case VP_VERDICT_IN_USE:
        return "in-use";
    case VP_VERDICT_CONFLICT:
        return "conflict";
    }
    return "unknown";
}

const char *
vp_class_short_name(uint32_t class_code)
{
    /* PCI Code and ID Assignment Specification, base classes. */
    static const char *const names[] = {
        [0x00] = "unclassified", [0x01] = "storage",         [0x02] = "net",
        [0x03] = "display",      [0x04] = "multimedia",      [0x05] = "memory",
        [0x06] = "bridge",       [0x07] = "communication",   [0x08] = "system",
        [0x09] = "input",        [0x0a] = "docking",         [0x0b] = "processor",
        [0x0c] = "serial",       [0x0d] = "wireless",        [0x0e] = "intelligent",
        [0x0f] = "satellite",    [0x10] = "encryption",      [0x11] = "signal",
        [0x12] = "accelerator",  [0x13] = "instrumentation",
    };
    unsigned base = (class_code >> 16) & 0xff;

    if (base < VP_ARRAY_SIZE(names) && names[base])
        return names[base];
    return "other";
}
