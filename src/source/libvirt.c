/* The libvirt source: node devices and domains listed through the vp_virt ops -> the model. */
#include "source.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "../virt/virt.h"

/* One entry of the node-device name index used to attach net devices to their parent. */
typedef struct {
    const char *name; /* borrowed from the device */
    vp_device *device;
} name_entry;

static int
name_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const name_entry *)a)->name, ((const name_entry *)b)->name);
}

/* The reason of a parse error without the object name it starts with (the problem's `what`
 * already names it): "pci_0000_01_00_0: invalid <bus>" -> "invalid <bus>". */
static const char *
reason(const vp_error *e, const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n && strncmp(e->msg, name, n) == 0 && e->msg[n] == ':' && e->msg[n + 1] == ' ')
        return e->msg + n + 2;
    return e->msg;
}

static int
check_ops(const vp_virt *v, const char *what, bool present, vp_error *err)
{
    if (!v || !v->ops)
        return vp_error_set(err, VP_E_UNSUPPORTED, "libvirt source: no connection");
    if (!present)
        return vp_error_set(err, VP_E_UNSUPPORTED, "%s: this connection cannot list %s",
                            v->uri ? v->uri : "libvirt", what);
    return 0;
}

/* Attach every host interface of NETS (N_NETS net node devices) to its parent PCI device
 * among DEVS (N of them). Net devices with a non-PCI parent (computer, a USB device) carry no
 * PCI function and are skipped. */
static void
attach_netdev_list(vp_host *h, const vp_virt_xml *nets, size_t n_nets, vp_device **devs, size_t n)
{
    vp_autofree name_entry *index = NULL;

    /* Sorted by node-device name, so each lookup is a binary search: O((n + nets) log n). */
    index = vp_realloc_array(NULL, n ? n : 1, sizeof(*index));
    for (size_t i = 0; i < n; i++) {
        index[i].name = devs[i]->nodedev_name;
        index[i].device = devs[i];
    }
    if (n)
        qsort(index, n, sizeof(*index), name_entry_cmp);

    for (size_t i = 0; i < n_nets; i++) {
        const char *what = nets[i].name ? nets[i].name : "net device";
        vp_autofree char *ifname = NULL;
        vp_autofree char *parent = NULL;
        vp_error e = {0};
        name_entry key, *hit;

        if (!nets[i].xml) {
            vp_host_add_problem(h, what, "%s",
                                nets[i].error ? nets[i].error : "libvirt returned no XML");
            continue;
        }
        if (vp_nodedev_parse_net(nets[i].xml, &ifname, &parent, &e) < 0) {
            vp_host_add_problem(h, what, "%s", reason(&e, nets[i].name));
            continue;
        }
        key.name = parent;
        hit = n ? bsearch(&key, index, n, sizeof(*index), name_entry_cmp) : NULL;
        if (!hit)
            continue;
        if (!vp_strv_contains(hit->device->netdevs, ifname))
            vp_strv_push_take(&hit->device->netdevs, VP_STEAL(&ifname));
    }
    for (size_t i = 0; i < n; i++)
        vp_strv_sort(devs[i]->netdevs);
}

/* Fetch the net devices F keeps and attach them to DEVS (N of them). */
static int
attach_netdevs(vp_host *h, vp_virt *v, const vp_virt_filter *f, vp_device **devs, size_t n,
               vp_error *err)
{
    vp_virt_xml *nets = NULL;
    size_t n_nets = 0;

    if (v->ops->list_net_devices(v, f, &nets, &n_nets, err) < 0) {
        vp_virt_xml_list_free(nets, n_nets);
        return -1;
    }
    attach_netdev_list(h, nets, n_nets, devs, n);
    vp_virt_xml_list_free(nets, n_nets);
    return 0;
}

/* Parse one listed PCI node device into H (a broken one becomes a problem of H); with
 * RET_MEMBERS, also its IOMMU group's members as it lists them. */
static vp_device *
add_pci_device(vp_host *h, const vp_virt_xml *item, vp_pci_addr **ret_members, size_t *ret_n)
{
    const char *what = item->name ? item->name : "node device";
    vp_device dev;
    vp_device *d;
    vp_error e = {0};

    if (!item->xml) {
        vp_host_add_problem(h, what, "%s", item->error ? item->error : "libvirt returned no XML");
        return NULL;
    }
    if (vp_nodedev_parse_pci_group(item->xml, &dev, ret_members, ret_n, &e) < 0) {
        vp_host_add_problem(h, what, "%s", reason(&e, item->name));
        return NULL;
    }
    d = vp_host_add_device(h);
    *d = dev;
    return d;
}

static void
set_source(vp_host *h, const vp_virt *v)
{
    free(h->source);
    h->source = vp_strdup("libvirt");
    free(h->uri);
    h->uri = vp_strdup(v->uri);
}

int
vp_source_libvirt_load(vp_host *h, struct vp_virt *v, vp_error *err)
{
    vp_virt_xml *list = NULL;
    size_t n_list = 0, first = h->n_devices;

    if (check_ops(v, "node devices", v && v->ops && v->ops->list_pci_devices, err) < 0)
        return -1;
    if (v->ops->list_pci_devices(v, NULL, &list, &n_list, err) < 0) {
        vp_virt_xml_list_free(list, n_list);
        return -1;
    }
    for (size_t i = 0; i < n_list; i++)
        add_pci_device(h, &list[i], NULL, NULL);
    vp_virt_xml_list_free(list, n_list);
    set_source(h, v);

    if (!v->ops->list_net_devices)
        return 0;
    /* Only this call's devices: a host filled by several sources keeps the others' netdevs. */
    return attach_netdevs(h, v, NULL, h->devices + first, h->n_devices - first, err);
}

/* ---------------------------------------------------------------- a part of the host */

static int
addr_cmp(const void *a, const void *b)
{
    return vp_pci_addr_cmp(a, b);
}

/* A set of addresses: appended freely, sorted and deduplicated by addr_set_seal. */
typedef struct {
    vp_pci_addr *v;
    size_t n, alloc;
} addr_set;

static void
addr_set_add(addr_set *s, const vp_pci_addr *a)
{
    vp_grow(&s->v, &s->alloc, s->n + 1, sizeof(*s->v));
    s->v[s->n++] = *a;
}

static void
addr_set_seal(addr_set *s)
{
    size_t out = 0;

    if (s->n > 1)
        qsort(s->v, s->n, sizeof(*s->v), addr_cmp);
    for (size_t i = 0; i < s->n; i++)
        if (out == 0 || !vp_pci_addr_eq(&s->v[out - 1], &s->v[i]))
            s->v[out++] = s->v[i];
    s->n = out;
}

/* After addr_set_seal. */
static bool
addr_set_has(const addr_set *s, const vp_pci_addr *a)
{
    return s->n && bsearch(a, s->v, s->n, sizeof(*s->v), addr_cmp);
}

static void
addr_set_clear(addr_set *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}
#define addr_set_auto __attribute__((cleanup(addr_set_clear))) addr_set

/* The state of a partial load: which devices to fetch in the next round, which were asked
 * for already (found or not), and the slots whose every function is wanted. */
typedef struct {
    addr_set want;      /* the next round, sealed before the listing */
    addr_set asked;     /* every address asked for so far, sealed */
    addr_set slots;     /* one address per wanted slot (function 0), sealed */
    bool slots_pending; /* the next listing brings every function of SLOTS */
} part_state;

static void
part_state_clear(part_state *st)
{
    addr_set_clear(&st->want);
    addr_set_clear(&st->asked);
    addr_set_clear(&st->slots);
}

/* A list returned by a list op, freed when it leaves scope. */
typedef struct {
    vp_virt_xml *items;
    size_t n;
} xml_list;

static void
xml_list_clear(xml_list *l)
{
    vp_virt_xml_list_free(l->items, l->n);
    memset(l, 0, sizeof(*l));
}

/* The listing filter: a PCI node device named pci_dddd_bb_ss_f whose address is wanted, or on
 * a wanted slot and not fetched yet. */
static bool
keep_pci(void *ctx, const char *name)
{
    const part_state *st = ctx;
    vp_pci_addr a, slot;

    if (!vp_startswith(name, "pci_") || vp_pci_addr_parse(name, &a, NULL) < 0)
        return false;
    if (addr_set_has(&st->want, &a))
        return true;
    slot = a;
    slot.func = 0;
    return st->slots_pending && addr_set_has(&st->slots, &slot) && !addr_set_has(&st->asked, &a);
}

/* Ask for A in a later round unless it was asked for already. */
static void
part_want(part_state *st, const vp_pci_addr *a)
{
    if (!addr_set_has(&st->asked, a))
        addr_set_add(&st->want, a);
}

/* The interface names among the selectors (vp_strv, NULL when none): what is not an address. */
static char **
ifname_selectors(char *const *select)
{
    char **out = NULL;

    for (size_t i = 0; select && select[i]; i++)
        if (*select[i] && !vp_pci_addr_looks_like(select[i]) && !strchr(select[i], ':') &&
            !vp_startswith(select[i], "pci_"))
            vp_strv_push(&out, select[i]);
    return out;
}

/* True when D may have host interfaces: a driver is bound and it is not a VFIO stub, which
 * creates none (an interface is a host driver's); or V does not say which driver is. */
static bool
may_have_netdevs(const vp_virt *v, const vp_device *d)
{
    if (!v->reports_drivers)
        return true;
    return d->driver && strcmp(d->driver, "vfio-pci") != 0 && strcmp(d->driver, "pci-stub") != 0;
}

/* The parent PCI device of every net device in NETS whose interface is one of IFNAMES. */
static void
ifname_parents(const vp_virt_xml *nets, size_t n_nets, char *const *ifnames, addr_set *out)
{
    for (size_t i = 0; i < n_nets; i++) {
        vp_autofree char *ifname = NULL;
        vp_autofree char *parent = NULL;
        vp_error e = {0};
        vp_pci_addr a;

        if (!nets[i].xml || vp_nodedev_parse_net(nets[i].xml, &ifname, &parent, &e) < 0)
            continue; /* reported when the interfaces are attached */
        if (vp_strv_contains(ifnames, ifname) && vp_startswith(parent, "pci_") &&
            vp_pci_addr_parse(parent, &a, NULL) == 0)
            addr_set_add(out, &a);
    }
}

/* One round: fetch what ST wants (one listing call, one call per device), add the devices to
 * H, and ask for what they name: their groups' members, the VFs of a PF in SELECTED with VFS. */
static int
load_round(vp_host *h, vp_virt *v, part_state *st, const addr_set *selected, bool vfs,
           vp_error *err)
{
    __attribute__((cleanup(xml_list_clear))) xml_list list = {0};
    vp_virt_filter f = {.keep = keep_pci, .ctx = st};

    if (v->ops->list_pci_devices(v, &f, &list.items, &list.n, err) < 0)
        return -1;
    for (size_t i = 0; i < st->want.n; i++)
        addr_set_add(&st->asked, &st->want.v[i]);
    st->want.n = 0;
    st->slots_pending = false;
    addr_set_seal(&st->asked);
    for (size_t i = 0; i < list.n; i++) {
        vp_autofree vp_pci_addr *members = NULL;
        size_t n_members = 0;
        vp_device *d = add_pci_device(h, &list.items[i], &members, &n_members);

        if (!d)
            continue;
        addr_set_add(&st->asked, &d->addr); /* a function of a wanted slot */
        addr_set_seal(&st->asked);
        for (size_t k = 0; k < n_members; k++)
            part_want(st, &members[k]);
        if (vfs && addr_set_has(selected, &d->addr))
            for (size_t k = 0; k < d->n_vfs; k++)
                part_want(st, &d->vfs[k]);
    }
    return 0;
}

int
vp_source_libvirt_load_part(vp_host *h, struct vp_virt *v, const vp_libvirt_part *p, vp_error *err)
{
    __attribute__((cleanup(part_state_clear))) part_state st = {0};
    __attribute__((cleanup(xml_list_clear))) xml_list nets = {0};
    addr_set_auto selected = {0};
    vp_autostrv char **ifnames = ifname_selectors(p->select);
    size_t first = h->n_devices;
    bool nets_needed = false;

    if (check_ops(v, "node devices", v && v->ops && v->ops->list_pci_devices, err) < 0)
        return -1;
    /* An interface in sysfs names its function; one libvirt does not know stays unresolved
     * (the selection then fails to resolve, as on the whole host). */
    for (size_t i = 0; p->root && ifnames && ifnames[i]; i++) {
        vp_pci_addr a;

        if (vp_sysfs_netdev_function(p->root, ifnames[i], &a) == 0)
            addr_set_add(&selected, &a);
    }
    /* From libvirt, an interface exists only while a host driver holds its function, so a
     * selection by interface needs every net device anyway: to find it, then to show the
     * interfaces. */
    if (!p->root && ifnames && v->ops->list_net_devices) {
        if (v->ops->list_net_devices(v, NULL, &nets.items, &nets.n, err) < 0)
            return -1;
        ifname_parents(nets.items, nets.n, ifnames, &selected);
        nets_needed = true;
    }
    for (size_t i = 0; p->select && p->select[i]; i++) {
        vp_pci_addr a;

        if (vp_pci_addr_looks_like(p->select[i]) && vp_pci_addr_parse(p->select[i], &a, NULL) == 0)
            addr_set_add(&selected, &a);
    }
    addr_set_seal(&selected);
    for (size_t i = 0; i < selected.n; i++) {
        vp_pci_addr slot = selected.v[i];

        addr_set_add(&st.want, &selected.v[i]);
        slot.func = 0;
        if (p->all_functions)
            addr_set_add(&st.slots, &slot);
    }
    for (size_t i = 0; i < p->n_also; i++)
        addr_set_add(&st.want, &p->also[i]);
    addr_set_seal(&st.slots);
    st.slots_pending = st.slots.n > 0;

    /* Rounds: each fetches what the previous one named (a device's group members; a selected
     * PF's VFs); a group is complete after the round that fetched any of its members. */
    for (;;) {
        addr_set_seal(&st.want);
        if (st.want.n == 0 && !st.slots_pending)
            break;
        if (load_round(h, v, &st, &selected, p->vfs, err) < 0)
            return -1;
    }
    set_source(h, v);

    if (p->root) {
        for (size_t i = first; i < h->n_devices; i++) {
            vp_device *d = h->devices[i];

            vp_strv_free(d->netdevs);
            d->netdevs = vp_sysfs_netdevs_of(p->root, &d->addr);
        }
        return 0;
    }
    for (size_t i = first; i < h->n_devices && !nets_needed; i++)
        nets_needed = may_have_netdevs(v, h->devices[i]);
    if (!nets_needed || !v->ops->list_net_devices)
        return 0;
    if (!nets.items && v->ops->list_net_devices(v, NULL, &nets.items, &nets.n, err) < 0)
        return -1;
    attach_netdev_list(h, nets.items, nets.n, h->devices + first, h->n_devices - first);
    return 0;
}

/* Add one XML document of domain D to the ledger; a broken one becomes a problem of H. */
static void
add_definition(vp_host *h, const vp_virt_domain *d, const char *xml, bool live, bool config)
{
    vp_error e = {0};

    if (!xml) {
        vp_host_add_problem(h, d->name, "%s definition: %s", live ? "live" : "persistent",
                            d->error ? d->error : "libvirt returned no XML");
        return;
    }
    if (vp_domxml_add_assignments(h, d->name, xml, live, config, &e) < 0)
        vp_host_add_problem(h, d->name, "%s", reason(&e, d->name));
}

/* Add the domains of LIST (N of them) to H's ledger. */
static void
add_domains(vp_host *h, const vp_virt_domain *list, size_t n_list)
{
    vp_error ignored = {0};

    for (size_t i = 0; i < n_list; i++) {
        const vp_virt_domain *d = &list[i];
        const char *facts_xml;
        vp_domain *dom;

        if (!d->name || !*d->name) {
            vp_host_add_problem(h, d->uuid ? d->uuid : "domain",
                                "libvirt listed a domain without a name");
            continue;
        }
        dom = vp_host_add_domain(h, d->name, d->uuid, d->running, d->persistent);
        /* Machine, firmware and MMIO window from the definition the next start uses (the
         * persistent one), else the running one. A malformed one was reported just below. */
        facts_xml = d->config_xml ? d->config_xml : d->live_xml;
        if (facts_xml && vp_domxml_read_domain(dom, facts_xml, &ignored) < 0)
            vp_error_clear(&ignored);
        /* MACs from both definitions: a NIC hot-plugged live only is still taken. */
        if (d->live_xml && vp_domxml_add_macs(dom, d->live_xml, &ignored) < 0)
            vp_error_clear(&ignored);
        if (d->config_xml && vp_domxml_add_macs(dom, d->config_xml, &ignored) < 0)
            vp_error_clear(&ignored);
        if (d->running) {
            /* The running definition, then the one the next start will use. */
            add_definition(h, d, d->live_xml, true, false);
            if (d->persistent)
                add_definition(h, d, d->config_xml, false, true);
        } else {
            /* A shut-off domain is persistent by definition: its XML is the next start's. */
            add_definition(h, d, d->live_xml, false, true);
        }
    }
}

int
vp_source_ledger_load(vp_host *h, struct vp_virt *v, vp_error *err)
{
    vp_virt_domain *list = NULL;
    size_t n_list = 0;

    if (check_ops(v, "domains", v && v->ops && v->ops->list_domains, err) < 0)
        return -1;
    if (v->ops->list_domains(v, &list, &n_list, err) < 0) {
        vp_virt_domain_list_free(list, n_list);
        return -1;
    }
    add_domains(h, list, n_list);
    vp_virt_domain_list_free(list, n_list);
    return 0;
}

/* The domains' fetch, on a thread of its own while the devices are read. */
struct vp_ledger_fetch {
    vp_virt *v;
    pthread_t tid;
    bool threaded;
    vp_virt_domain *list;
    size_t n;
    vp_error err;
    int rc;
};

static void *
fetch_domains(void *arg)
{
    vp_ledger_fetch *f = arg;

    f->rc = f->v->ops->list_domains(f->v, &f->list, &f->n, &f->err);
    return NULL;
}

int
vp_source_ledger_fetch_start(struct vp_virt *v, vp_ledger_fetch **ret, vp_error *err)
{
    vp_ledger_fetch *f;

    if (check_ops(v, "domains", v && v->ops && v->ops->list_domains, err) < 0)
        return -1;
    f = vp_malloc0(sizeof(*f));
    f->v = v;
    /* Without a thread, the fetch happens in vp_source_ledger_fetch_finish. */
    f->threaded = pthread_create(&f->tid, NULL, fetch_domains, f) == 0;
    *ret = f;
    return 0;
}

int
vp_source_ledger_fetch_finish(vp_host *h, vp_ledger_fetch *f, vp_error *err)
{
    int rc = 0;

    if (!f)
        return 0;
    if (f->threaded)
        pthread_join(f->tid, NULL);
    else
        fetch_domains(f);
    if (h && f->rc < 0) {
        *err = f->err;
        rc = -1;
    } else if (h) {
        add_domains(h, f->list, f->n);
    }
    vp_virt_domain_list_free(f->list, f->n);
    free(f);
    return rc;
}
