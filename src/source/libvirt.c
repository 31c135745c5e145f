/* The libvirt source: node devices and domains listed through the vp_virt ops -> the model. */
#include "source.h"

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

/* Attach every host interface to its parent PCI device among DEVS (N of them). Net devices
 * with a non-PCI parent (computer, a USB device) carry no PCI function and are skipped. */
static int
attach_netdevs(vp_host *h, vp_virt *v, vp_device **devs, size_t n, vp_error *err)
{
    vp_virt_xml *nets = NULL;
    size_t n_nets = 0;
    vp_autofree name_entry *index = NULL;

    if (v->ops->list_net_devices(v, &nets, &n_nets, err) < 0) {
        vp_virt_xml_list_free(nets, n_nets);
        return -1;
    }

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
    vp_virt_xml_list_free(nets, n_nets);
    return 0;
}

int
vp_source_libvirt_load(vp_host *h, struct vp_virt *v, vp_error *err)
{
    vp_virt_xml *list = NULL;
    size_t n_list = 0, first = h->n_devices;

    if (check_ops(v, "node devices", v && v->ops && v->ops->list_pci_devices, err) < 0)
        return -1;
    if (v->ops->list_pci_devices(v, &list, &n_list, err) < 0) {
        vp_virt_xml_list_free(list, n_list);
        return -1;
    }

    for (size_t i = 0; i < n_list; i++) {
        const char *what = list[i].name ? list[i].name : "node device";
        vp_device dev;
        vp_error e = {0};

        if (!list[i].xml) {
            vp_host_add_problem(h, what, "%s",
                                list[i].error ? list[i].error : "libvirt returned no XML");
            continue;
        }
        if (vp_nodedev_parse_pci(list[i].xml, &dev, &e) < 0) {
            vp_host_add_problem(h, what, "%s", reason(&e, list[i].name));
            continue;
        }
        *vp_host_add_device(h) = dev;
    }
    vp_virt_xml_list_free(list, n_list);

    free(h->source);
    h->source = vp_strdup("libvirt");
    free(h->uri);
    h->uri = vp_strdup(v->uri);

    if (!v->ops->list_net_devices)
        return 0;
    /* Only this call's devices: a host filled by several sources keeps the others' netdevs. */
    return attach_netdevs(h, v, h->devices + first, h->n_devices - first, err);
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

int
vp_source_ledger_load(vp_host *h, struct vp_virt *v, vp_error *err)
{
    vp_virt_domain *list = NULL;
    size_t n_list = 0;
    vp_error ignored = {0};

    if (check_ops(v, "domains", v && v->ops && v->ops->list_domains, err) < 0)
        return -1;
    if (v->ops->list_domains(v, &list, &n_list, err) < 0) {
        vp_virt_domain_list_free(list, n_list);
        return -1;
    }

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
    vp_virt_domain_list_free(list, n_list);
    return 0;
}
