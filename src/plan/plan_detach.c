/* Detach planning: what the selection holds in the domain, the controllers and settings vpass
 * added for it (from its metadata record), and giving devices back to their host drivers. */
#include <stdlib.h>
#include <string.h>

#include "plan_int.h"
#include "plan_mmio.h"

typedef struct {
    const vp_host *h;
    const vp_plan_request *req;
    vp_plan *p;
    const char *dom;
    bool config; /* the change reaches the persistent definition */
    xmlDoc *doc;
    xmlNode *root;
    vp_held *held;
    size_t n_held;
    vp_meta meta;
    xmlNode *meta_node;
    vp_device **sel;
    size_t n_sel;
    const vp_held **gone; /* held entries to detach, address order */
    size_t n_gone;
    unsigned *removed_ctl; /* controller indexes to remove */
    size_t n_removed_ctl;
    vp_meta_dev *unbound; /* managed='no' functions leaving, with the driver vpass recorded */
    size_t n_unbound;
    vp_meta_dev *siblings; /* isolated siblings to give back (--reattach) */
    size_t n_siblings;
} detach_ctx;

static void
detach_ctx_clear(detach_ctx *c)
{
    xmlFreeDoc(c->doc);
    free(c->held);
    vp_meta_clear(&c->meta);
    free(c->sel);
    free(c->gone);
    free(c->removed_ctl);
    for (size_t i = 0; i < c->n_unbound; i++)
        free(c->unbound[i].driver);
    free(c->unbound);
    for (size_t i = 0; i < c->n_siblings; i++)
        free(c->siblings[i].driver);
    free(c->siblings);
}

static bool
is_gone(const detach_ctx *c, const xmlNode *node)
{
    for (size_t i = 0; i < c->n_gone; i++)
        if (c->gone[i]->node == node)
            return true;
    return false;
}

/* True when a device of the definition other than the detached ones (and other than the
 * controller itself) sits on PCI bus INDEX. */
static bool
bus_in_use(const detach_ctx *c, unsigned index, const xmlNode *controller)
{
    for (xmlNode *devs = vp_xml_child(c->root, "devices"); devs;
         devs = vp_xml_next_sibling(devs, "devices")) {
        for (xmlNode *dev = vp_xml_next(devs->children, NULL); dev;
             dev = vp_xml_next(dev->next, NULL)) {
            vp_pci_addr a;

            if (dev == controller || is_gone(c, dev))
                continue;
            if (vp_plan_guest_address(dev, &a) && a.domain == 0 && a.bus == index)
                return true;
        }
    }
    return false;
}

/* The group of ADDR in the model, false when the model does not know it. */
static bool
group_of(const vp_host *h, const vp_pci_addr *addr, unsigned *ret)
{
    const vp_device *d = vp_host_find_device(h, addr);

    if (!d || !d->has_group)
        return false;
    *ret = d->group;
    return true;
}

/* True when a function of GROUP stays in the domain after the detach. */
static bool
group_stays(const detach_ctx *c, unsigned group)
{
    for (size_t i = 0; i < c->n_held; i++) {
        unsigned g;

        if (!is_gone(c, c->held[i].node) && group_of(c->h, &c->held[i].addr, &g) && g == group)
            return true;
    }
    return false;
}

/* True when the model says D is back on a host driver (nothing to reattach). */
static bool
on_host_driver(const vp_host *h, const vp_pci_addr *addr)
{
    const vp_device *d = vp_host_find_device(h, addr);

    return d && !vp_driver_is_vfio_or_none(d->driver);
}

static void
add_reattach(detach_ctx *c, const vp_pci_addr *addr, const char *driver, const char *why)
{
    vp_step *s = vp_plan_add_step(c->p, VP_STEP_REATTACH);
    char buf[VP_PCI_ADDR_STRLEN];

    s->addr = *addr;
    s->driver = vp_strdup(driver);
    vp_pci_addr_format(addr, buf);
    s->summary = driver ? vp_asprintf("reattach %s to %s (%s)", buf, driver, why)
                        : vp_asprintf("reattach %s to its host driver (%s)", buf, why);
}

/* Remove the records of the detached functions from the metadata. */
static void
drop_device_records(detach_ctx *c)
{
    size_t k = 0;

    for (size_t i = 0; i < c->meta.n_devices; i++) {
        bool gone = false;

        for (size_t j = 0; j < c->n_gone; j++)
            gone |= vp_pci_addr_eq(&c->gone[j]->addr, &c->meta.devices[i].addr);
        /* A record whose function is no longer in the definition is stale: drop it too. */
        if (!gone && !vp_plan_held_find(c->held, c->n_held, &c->meta.devices[i].addr))
            gone = true;
        if (gone) {
            free(c->meta.devices[i].driver);
            continue;
        }
        c->meta.devices[k++] = c->meta.devices[i];
    }
    c->meta.n_devices = k;
}

/* Controllers vpass added that nothing uses once the functions are gone. */
static void
plan_controllers(detach_ctx *c)
{
    size_t k = 0;

    for (size_t i = 0; i < c->meta.n_controllers; i++) {
        unsigned idx = c->meta.controllers[i];
        xmlNode *ctl = vp_plan_find_pci_controller(c->root, idx);
        vp_step *s;

        if (!ctl)
            continue; /* removed by someone else: forget it */
        if (!c->config || bus_in_use(c, idx, ctl)) {
            c->meta.controllers[k++] = idx;
            continue;
        }
        s = vp_plan_add_step(c->p, VP_STEP_REMOVE_CONTROLLER);
        s->xml = vp_plan_xml_dump(ctl);
        s->affect = VP_AFFECT_CONFIG;
        s->summary = vp_asprintf("remove pcie-root-port index %u from %s (config)", idx, c->dom);
        c->removed_ctl =
            vp_realloc_array(c->removed_ctl, c->n_removed_ctl + 1, sizeof(*c->removed_ctl));
        c->removed_ctl[c->n_removed_ctl++] = idx;
    }
    c->meta.n_controllers = k;
}

/* Siblings vpass isolated whose group leaves the domain: reattach them or say they stay. */
static void
plan_isolated(detach_ctx *c, bool reattach)
{
    size_t k = 0;

    for (size_t i = 0; i < c->meta.n_isolated; i++) {
        vp_meta_dev *r = &c->meta.isolated[i];
        unsigned g;
        bool leaves;
        char buf[VP_PCI_ADDR_STRLEN];

        if (group_of(c->h, &r->addr, &g))
            leaves = !group_stays(c, g);
        else
            leaves = c->meta.n_devices == 0; /* unknown to the model: when vpass leaves */
        if (!leaves) {
            c->meta.isolated[k++] = *r;
            continue;
        }
        if (reattach && !on_host_driver(c->h, &r->addr)) {
            /* Reattach steps come after the domain's: keep the record for then. */
            c->siblings = vp_realloc_array(c->siblings, c->n_siblings + 1, sizeof(*c->siblings));
            c->siblings[c->n_siblings++] = *r;
            continue;
        }
        if (!reattach) {
            vp_pci_addr_format(&r->addr, buf);
            vp_strv_push_take(
                &c->p->notes,
                vp_asprintf(
                    "%s stays on vfio-pci (vpass isolated it from %s): detach with --reattach, or virsh nodedev-reattach pci_%04x_%02x_%02x_%x",
                    buf, r->driver ? r->driver : "its driver", (unsigned)r->addr.domain,
                    (unsigned)r->addr.bus, (unsigned)r->addr.slot, (unsigned)r->addr.func));
        }
        free(r->driver);
    }
    c->meta.n_isolated = k;
}

/* The persistent definition after the detach, defined as a whole when settings go back
 * (RESTORE) or the empty <metadata/> libvirt leaves behind must go (DROP_MD): the devices and
 * controllers of the steps before removed, the settings restored (their records dropped from
 * C->meta), vpass's element replaced by MD (NULL: removed). */
static char *
build_redefine(detach_ctx *c, xmlDoc *rdoc, bool restore, bool drop_md, char ***parts)
{
    xmlNode *rroot = xmlDocGetRootElement(rdoc), *md;
    vp_held *rheld = NULL;
    size_t n_rheld = vp_plan_find_held(rroot, &rheld);

    for (size_t i = 0; i < n_rheld; i++)
        for (size_t j = 0; j < c->n_gone; j++)
            if (vp_pci_addr_eq(&rheld[i].addr, &c->gone[j]->addr)) {
                vp_plan_remove_node(rheld[i].node);
                break;
            }
    free(rheld);
    for (size_t i = 0; i < c->n_removed_ctl; i++) {
        xmlNode *ctl = vp_plan_find_pci_controller(rroot, c->removed_ctl[i]);

        if (ctl)
            vp_plan_remove_node(ctl);
    }
    if (restore)
        vp_plan_restore_settings(rroot, &c->meta, parts);
    md = vp_xml_child(rroot, "metadata");
    if (md && drop_md) {
        /* Only vpass's element is in it (DROP_MD says the record is empty and vpass brought
         * the element); anything else keeps it. */
        for (xmlNode *n = md->children; n;) {
            xmlNode *next = n->next;

            if (n->type == XML_ELEMENT_NODE && n->ns &&
                vp_streq((const char *)n->ns->href, VP_METADATA_NS))
                vp_plan_remove_node(n);
            n = next;
        }
        if (!vp_xml_next(md->children, NULL)) {
            vp_plan_remove_node(md);
            vp_strv_push(parts, "remove the <metadata> element vpass brought");
        }
    }
    return vp_plan_xml_dump(rroot);
}

/* Replace vpass's element in the definition RDOC by a copy of NEW_ROOT (NULL: remove it). */
static void
put_metadata(xmlDoc *rdoc, const xmlNode *new_root)
{
    xmlNode *rroot = xmlDocGetRootElement(rdoc);
    xmlNode *md = vp_xml_child(rroot, "metadata"), *copy;

    for (xmlNode *n = md ? md->children : NULL; n;) {
        xmlNode *next = n->next;

        if (n->type == XML_ELEMENT_NODE && n->ns &&
            vp_streq((const char *)n->ns->href, VP_METADATA_NS))
            vp_plan_remove_node(n);
        n = next;
    }
    if (!new_root)
        return;
    if (!md)
        md = vp_plan_new_child(rroot, vp_xml_child(rroot, "memory"), "metadata");
    copy = xmlDocCopyNode((xmlNode *)new_root, rdoc, 1);
    if (!copy || !xmlAddChild(md, copy))
        abort();
}

/* A card's functions share a guest slot: libvirt cannot hot-unplug one of them. */
static int
refuse_live_multifunction(const detach_ctx *c, vp_error *err)
{
    if (!vp_plan_affects_live(c->req->affect, c->req->target.domain))
        return 0;
    for (size_t i = 0; i < c->n_gone; i++) {
        vp_pci_addr g;
        xmlNode *an = vp_plan_guest_address(c->gone[i]->node, &g);
        vp_autofree char *mf = an ? vp_xml_prop(an, "multifunction") : NULL;

        if (an && (g.func != 0 || vp_streq(mf, "on")))
            return vp_error_set(
                err, VP_E_UNSUPPORTED,
                "libvirt cannot hot-unplug a multifunction card; use --config and restart the domain");
    }
    return 0;
}

int
vp_plan_detach(const vp_host *h, const vp_plan_request *req, bool reattach, vp_plan *ret,
               vp_error *err)
{
    vp_plan p = {0};
    detach_ctx c = {.h = h, .req = req, .p = &p, .dom = vp_plan_domain_label(req)};
    const char *affect = vp_plan_affect_name(req->affect, req->target.domain);
    vp_autofree char *redefine = NULL;
    vp_autofree vp_pci_addr *addrs = NULL;
    vp_autofree char *list = NULL;
    vp_autoxmldoc rdoc = NULL;
    vp_autoxmldoc md = NULL;
    vp_autostrv char **parts = NULL;
    bool had_meta = false, any_setting, restore, empty_after, drop_md;
    int rc = -1;

    memset(ret, 0, sizeof(*ret));
    c.config = vp_plan_affects_config(req->affect, req->target.domain);
    c.n_sel = vp_plan_selection(h, req, &c.sel);
    if (c.n_sel == 0) {
        vp_error_set(err, VP_E_USAGE, "nothing to detach: the selection has no PCI endpoint");
        goto out;
    }
    if (!req->domain_xml) {
        vp_error_set(err, VP_E_USAGE, "detach needs the domain's definition");
        goto out;
    }
    p.domain = vp_strdup(req->domain_name);
    if (vp_xml_parse(req->domain_xml, "domain XML", &c.doc, err) < 0) {
        vp_error_prefix(err, "%s", c.dom);
        goto out;
    }
    c.root = xmlDocGetRootElement(c.doc);
    if (!vp_xml_is(c.root, "domain")) {
        vp_error_set(err, VP_E_DATA, "%s: root element <%s>, expected <domain>", c.dom,
                     (const char *)c.root->name);
        goto out;
    }
    {
        xmlNode *type = vp_xml_child(vp_xml_child(c.root, "os"), "type");

        p.machine = type ? vp_xml_prop(type, "machine") : NULL;
    }
    c.n_held = vp_plan_find_held(c.root, &c.held);
    if (vp_meta_read(c.root, &c.meta, &c.meta_node, err) < 0) {
        vp_error_prefix(err, "%s", c.dom);
        goto out;
    }
    had_meta = c.meta.present;

    c.gone = vp_malloc0((c.n_sel + 1) * sizeof(*c.gone));
    addrs = vp_malloc0((c.n_sel + 1) * sizeof(*addrs));
    for (size_t i = 0; i < c.n_sel; i++) {
        const vp_held *hd = vp_plan_held_find(c.held, c.n_held, &c.sel[i]->addr);

        addrs[i] = c.sel[i]->addr;
        if (hd)
            c.gone[c.n_gone++] = hd;
    }
    if (c.n_gone == 0) {
        list = vp_plan_addr_list(addrs, c.n_sel);
        p.noop = true;
        p.noop_reason = vp_asprintf("%s holds none of %s", c.dom, list);
        rc = 0;
        goto out;
    }
    if (refuse_live_multifunction(&c, err) < 0)
        goto out;

    for (size_t i = 0; i < c.n_gone; i++) {
        vp_step *s = vp_plan_add_step(&p, VP_STEP_DETACH);
        char buf[VP_PCI_ADDR_STRLEN];

        s->addr = c.gone[i]->addr;
        s->xml = vp_plan_xml_dump(c.gone[i]->node);
        s->affect = req->affect;
        s->summary =
            vp_asprintf("detach %s from %s (%s)", vp_pci_addr_format(&s->addr, buf), c.dom, affect);
    }
    /* managed='no': libvirt does not give these back; vpass does, with --reattach. */
    for (size_t i = 0; i < c.n_gone; i++) {
        const char *driver = NULL;

        if (c.gone[i]->managed)
            continue;
        for (size_t j = 0; j < c.meta.n_devices; j++)
            if (vp_pci_addr_eq(&c.meta.devices[j].addr, &c.gone[i]->addr))
                driver = c.meta.devices[j].driver;
        c.unbound = vp_realloc_array(c.unbound, c.n_unbound + 1, sizeof(*c.unbound));
        c.unbound[c.n_unbound++] =
            (vp_meta_dev){.addr = c.gone[i]->addr, .driver = vp_strdup(driver)};
    }
    /* Which records go: the devices first, since the rest depends on what remains. */
    drop_device_records(&c);
    plan_controllers(&c);
    plan_isolated(&c, reattach);
    any_setting = c.meta.pcihole64.has || c.meta.maxphysaddr.has || c.meta.ovmf_mmio64.has;
    restore = c.config && c.meta.n_devices == 0 && any_setting;
    /* The operator's hook policy outlives vpass's devices: it keeps the element. */
    empty_after = c.meta.n_devices == 0 && c.meta.n_controllers == 0 && c.meta.n_isolated == 0 &&
                  (!any_setting || restore) && !c.meta.has_hook;
    drop_md = c.config && empty_after && c.meta.metadata.has && c.meta.metadata.old_none;
    if (empty_after)
        c.meta.metadata.has = false;
    if (restore || drop_md) {
        const char *def = req->config_xml ? req->config_xml : req->domain_xml;

        if (vp_xml_parse(def, "domain XML", &rdoc, err) < 0) {
            vp_error_prefix(err, "%s", c.dom);
            goto out;
        }
        redefine = build_redefine(&c, rdoc, restore, drop_md, &parts);
    }
    if (!vp_meta_empty(&c.meta) && vp_meta_build(&c.meta, req->templates_dir, &md, err) < 0)
        goto out;
    if (rdoc && !drop_md) {
        /* The definition keeps vpass's element: the updated one. */
        free(redefine);
        put_metadata(rdoc, md ? xmlDocGetRootElement(md) : NULL);
        redefine = vp_plan_xml_dump(xmlDocGetRootElement(rdoc));
    }
    if (had_meta) {
        vp_step *s = vp_plan_add_step(&p, VP_STEP_SET_METADATA);

        s->old_xml = vp_meta_api_xml(c.meta_node);
        s->affect = req->affect;
        if (md) {
            s->xml = vp_meta_api_xml(xmlDocGetRootElement(md));
            s->summary = vp_asprintf("update %s's vpass metadata (%s): %zu device%s left", c.dom,
                                     affect, c.meta.n_devices, c.meta.n_devices == 1 ? "" : "s");
        } else {
            s->summary = vp_asprintf("remove vpass metadata from %s (%s)", c.dom, affect);
        }
    }
    if (redefine) {
        vp_step *s = vp_plan_add_step(&p, VP_STEP_REDEFINE);
        vp_autofree char *joined = vp_strv_join(parts, "; ", "");

        s->xml = VP_STEAL(&redefine);
        s->old_xml = vp_strdup(req->config_xml ? req->config_xml : req->domain_xml);
        s->affect = VP_AFFECT_CONFIG;
        s->summary = vp_asprintf("redefine %s (config): %s", c.dom,
                                 *joined ? joined : "vpass's metadata updated");
    }
    for (size_t i = 0; i < c.n_siblings; i++)
        add_reattach(&c, &c.siblings[i].addr, c.siblings[i].driver, "vpass isolated it");
    for (size_t i = 0; i < c.n_unbound; i++)
        if (reattach && !on_host_driver(h, &c.unbound[i].addr))
            add_reattach(&c, &c.unbound[i].addr, c.unbound[i].driver, "managed='no'");
    rc = 0;
out:
    detach_ctx_clear(&c);
    if (rc < 0) {
        vp_plan_clear(&p);
        return -1;
    }
    *ret = p;
    return 0;
}
