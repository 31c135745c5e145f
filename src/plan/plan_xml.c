/* The XML side of planning: loading xml-templates/, setting values through libxml2, walking a
 * domain's devices, and vpass's record in the domain's <metadata>. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/fs.h"
#include "plan_int.h"

/* A template is a few hundred bytes; anything near this is not one. */
#define TEMPLATE_MAX (64 * 1024)

static bool
node_in_ns(const xmlNode *node, const char *href)
{
    if (!href)
        return !node->ns;
    return node->ns && node->ns->href && strcmp((const char *)node->ns->href, href) == 0;
}

int
vp_plan_template_load(const char *dir, const char *file, const char *root_name, const char *root_ns,
                      xmlDoc **ret, vp_error *err)
{
    vp_autofree char *path = NULL;
    vp_autofree char *buf = NULL;
    vp_autoxmldoc doc = NULL;
    xmlNode *root;
    size_t len;
    int r;

    if (!dir || !*dir)
        return vp_error_set(err, VP_E_SYSTEM, "%s: no templates directory given", file);
    path = vp_path_join(dir, file);
    r = vp_read_file(path, TEMPLATE_MAX, &buf, &len);
    if (r < 0) {
        /* A missing template is an installation problem, not a user's missing device. */
        vp_error_errno(err, -r, "%s: cannot read template", path);
        err->code = VP_E_SYSTEM;
        return -1;
    }
    if (vp_xml_parse(buf, "template", &doc, err) < 0) {
        vp_error_prefix(err, "%s", path);
        err->code = VP_E_SYSTEM;
        return -1;
    }
    root = xmlDocGetRootElement(doc);
    if (!vp_xml_is(root, root_name) || !node_in_ns(root, root_ns))
        return vp_error_set(err, VP_E_SYSTEM, "%s: template root is <%s>, expected <%s>", path,
                            (const char *)root->name, root_name);
    *ret = VP_STEAL(&doc);
    return 0;
}

char *
vp_plan_xml_dump(const xmlNode *node)
{
    xmlBuffer *buf = xmlBufferCreate();
    char *s;

    if (!buf)
        abort(); /* out of memory: vp_malloc0's policy */
    /* Indented like libvirt's own output (two spaces); the node's namespace declarations
     * come along when they are on the node itself. */
    if (xmlNodeDump(buf, node->doc, (xmlNode *)node, 0, 1) < 0)
        abort();
    s = vp_asprintf("%s\n", (const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return s;
}

void
vp_plan_set_prop(xmlNode *node, const char *name, const char *value)
{
    /* xmlSetProp stores VALUE as data: it is escaped on output, never parsed. */
    if (!xmlSetProp(node, (const xmlChar *)name, (const xmlChar *)value))
        abort();
}

void
vp_plan_set_propf(xmlNode *node, const char *name, const char *fmt, ...)
{
    va_list ap;
    char *v = NULL;

    va_start(ap, fmt);
    if (vasprintf(&v, fmt, ap) < 0)
        v = NULL;
    va_end(ap);
    if (!v)
        abort();
    vp_plan_set_prop(node, name, v);
    free(v);
}

void
vp_plan_set_pci_address(xmlNode *node, const vp_pci_addr *a)
{
    vp_plan_set_propf(node, "domain", "0x%04x", (unsigned)a->domain);
    vp_plan_set_propf(node, "bus", "0x%02x", (unsigned)a->bus);
    vp_plan_set_propf(node, "slot", "0x%02x", (unsigned)a->slot);
    vp_plan_set_propf(node, "function", "0x%x", (unsigned)a->func);
}

void
vp_plan_set_text(xmlNode *node, const char *text)
{
    xmlNode *t;

    /* Drop the old content, then add TEXT as a text node: xmlNodeSetContent would parse
     * entity references in it. */
    while (node->children) {
        xmlNode *c = node->children;

        xmlUnlinkNode(c);
        xmlFreeNode(c);
    }
    t = xmlNewText((const xmlChar *)text);
    if (!t || !xmlAddChild(node, t))
        abort();
}

xmlNode *
vp_plan_new_child(xmlNode *parent, xmlNode *before, const char *name)
{
    xmlNode *n = xmlNewDocNode(parent->doc, NULL, (const xmlChar *)name, NULL);

    if (!n)
        abort();
    if (before ? !xmlAddPrevSibling(before, n) : !xmlAddChild(parent, n))
        abort();
    return n;
}

void
vp_plan_remove_node(xmlNode *node)
{
    xmlNode *prev = node->prev;

    if (prev && prev->type == XML_TEXT_NODE && xmlIsBlankNode(prev)) {
        xmlUnlinkNode(prev);
        xmlFreeNode(prev);
    }
    xmlUnlinkNode(node);
    xmlFreeNode(node);
}

size_t
vp_plan_find_held(xmlNode *domain_root, vp_held **ret)
{
    vp_held *held = NULL;
    size_t n = 0, alloc = 0;

    for (xmlNode *devs = vp_xml_child(domain_root, "devices"); devs;
         devs = vp_xml_next_sibling(devs, "devices")) {
        for (xmlNode *dev = vp_xml_next(devs->children, NULL); dev;
             dev = vp_xml_next(dev->next, NULL)) {
            vp_use_kind kind;
            xmlNode *addr;
            vp_pci_addr a;
            vp_autofree char *managed = NULL;

            if (vp_xml_is(dev, "hostdev") && vp_xml_is_pci_hostdev(dev))
                kind = VP_USE_HOSTDEV;
            else if (vp_xml_is(dev, "interface") && vp_xml_is_pci_hostdev_interface(dev))
                kind = VP_USE_INTERFACE;
            else
                continue;
            addr = vp_xml_child(vp_xml_child(dev, "source"), "address");
            if (!addr || vp_xml_pci_address(addr, &a, NULL) < 0)
                continue;
            managed = vp_xml_prop(dev, "managed");
            vp_grow(&held, &alloc, n + 1, sizeof(*held));
            held[n++] = (vp_held){
                .node = dev, .addr = a, .kind = kind, .managed = vp_streq(managed, "yes")};
        }
    }
    *ret = held;
    return n;
}

const vp_held *
vp_plan_held_find(const vp_held *held, size_t n, const vp_pci_addr *addr)
{
    for (size_t i = 0; i < n; i++)
        if (vp_pci_addr_eq(&held[i].addr, addr))
            return &held[i];
    return NULL;
}

xmlNode *
vp_plan_find_pci_controller(xmlNode *domain_root, unsigned index)
{
    for (xmlNode *devs = vp_xml_child(domain_root, "devices"); devs;
         devs = vp_xml_next_sibling(devs, "devices")) {
        for (xmlNode *c = vp_xml_child(devs, "controller"); c;
             c = vp_xml_next_sibling(c, "controller")) {
            vp_autofree char *type = vp_xml_prop(c, "type");
            vp_autofree char *idx = vp_xml_prop(c, "index");
            uint64_t v;

            if (vp_streq(type, "pci") && idx && vp_xml_parse_libvirt_uint(idx, &v) == 0 &&
                v == index)
                return c;
        }
    }
    return NULL;
}

xmlNode *
vp_plan_guest_address(xmlNode *dev, vp_pci_addr *ret_addr)
{
    for (xmlNode *a = vp_xml_child(dev, "address"); a; a = vp_xml_next_sibling(a, "address")) {
        vp_autofree char *type = vp_xml_prop(a, "type");

        if (!vp_streq(type, "pci"))
            continue;
        if (ret_addr && vp_xml_pci_address(a, ret_addr, NULL) < 0)
            continue;
        return a;
    }
    return NULL;
}

/* Metadata records. */

static const char *
kind_name(vp_use_kind k)
{
    switch (k) {
    case VP_USE_HOSTDEV:
        return "hostdev";
    case VP_USE_INTERFACE:
        return "interface";
    }
    return "hostdev";
}

void
vp_meta_add_device(vp_meta *m, const vp_pci_addr *addr, vp_use_kind kind, const char *driver)
{
    m->devices = vp_realloc_array(m->devices, m->n_devices + 1, sizeof(*m->devices));
    m->devices[m->n_devices++] =
        (vp_meta_dev){.addr = *addr, .kind = kind, .driver = vp_strdup(driver)};
}

void
vp_meta_add_isolated(vp_meta *m, const vp_pci_addr *addr, const char *driver)
{
    m->isolated = vp_realloc_array(m->isolated, m->n_isolated + 1, sizeof(*m->isolated));
    m->isolated[m->n_isolated++] =
        (vp_meta_dev){.addr = *addr, .kind = VP_USE_HOSTDEV, .driver = vp_strdup(driver)};
}

void
vp_meta_add_controller(vp_meta *m, unsigned index)
{
    m->controllers =
        vp_realloc_array(m->controllers, m->n_controllers + 1, sizeof(*m->controllers));
    m->controllers[m->n_controllers++] = index;
}

void
vp_meta_add_vf(vp_meta *m, const vp_pci_addr *addr, const char *pf, unsigned index, int old_trust,
               int old_spoofchk)
{
    m->vfs = vp_realloc_array(m->vfs, m->n_vfs + 1, sizeof(*m->vfs));
    m->vfs[m->n_vfs++] = (vp_meta_vf){.addr = *addr,
                                      .pf = vp_strdup(pf),
                                      .index = index,
                                      .old_trust = old_trust,
                                      .old_spoofchk = old_spoofchk};
}

void
vp_meta_clear(vp_meta *m)
{
    for (size_t i = 0; i < m->n_vfs; i++)
        free(m->vfs[i].pf);
    free(m->vfs);
    for (size_t i = 0; i < m->n_devices; i++)
        free(m->devices[i].driver);
    for (size_t i = 0; i < m->n_isolated; i++)
        free(m->isolated[i].driver);
    free(m->devices);
    free(m->isolated);
    free(m->controllers);
    free(m->hook_enable);
    free(m->hook_isolate);
    memset(m, 0, sizeof(*m));
}

bool
vp_meta_empty(const vp_meta *m)
{
    return m->n_devices == 0 && m->n_controllers == 0 && m->n_isolated == 0 && !m->pcihole64.has &&
           !m->maxphysaddr.has && !m->ovmf_mmio64.has && !m->metadata.has && !m->has_hook;
}

/* The vpass element among the children of <metadata>, NULL when none. */
static xmlNode *
find_meta_node(xmlNode *domain_root)
{
    xmlNode *md = vp_xml_child(domain_root, "metadata");

    for (xmlNode *c = md ? md->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && node_in_ns(c, VP_METADATA_NS))
            return c;
    return NULL;
}

static int
read_addr_attr(const xmlNode *rec, vp_pci_addr *ret, vp_error *err)
{
    vp_autofree char *v = vp_xml_prop(rec, "address");

    if (!v || vp_pci_addr_parse(v, ret, NULL) < 0)
        return vp_error_set(err, VP_E_DATA,
                            "vpass metadata: <%s> address '%s' is not a PCI "
                            "address",
                            (const char *)rec->name, v ? v : "");
    return 0;
}

static int
read_setting(const xmlNode *rec, vp_meta_setting *s, vp_error *err)
{
    vp_autofree char *old = vp_xml_prop(rec, "old");
    vp_autofree char *cpu = vp_xml_prop(rec, "cpu");

    s->has = true;
    s->cpu_created = vp_streq(cpu, "created");
    if (vp_streq(old, "none")) {
        s->old_none = true;
        return 0;
    }
    if (!old || vp_parse_u64(old, 10, &s->old) < 0)
        return vp_error_set(err, VP_E_DATA,
                            "vpass metadata: <%s old='%s'> is neither 'none' "
                            "nor a number",
                            (const char *)rec->name, old ? old : "");
    return 0;
}

/* "on"/"off" of an SR-IOV record's old-* attribute; absent: vpass did not change it. */
static int
read_onoff(const xmlNode *rec, const char *attr, int *ret, vp_error *err)
{
    vp_autofree char *v = vp_xml_prop(rec, attr);

    if (!v)
        *ret = VP_VF_UNKNOWN;
    else if (strcmp(v, "on") == 0)
        *ret = VP_VF_ON;
    else if (strcmp(v, "off") == 0)
        *ret = VP_VF_OFF;
    else
        return vp_error_set(err, VP_E_DATA, "vpass metadata: <vf %s='%s'> is neither on nor off",
                            attr, v);
    return 0;
}

/* <vf address pf index old-trust old-spoofchk/> (plan_sriov.c). */
/* The operator's <hook> policy: kept as written, refused when vpass-hook would refuse it. */
static int
read_hook(const xmlNode *rec, vp_meta *m, vp_error *err)
{
    static const char *const attrs[] = {"enable", "isolate"};
    char **slots[] = {&m->hook_enable, &m->hook_isolate};

    m->has_hook = true;
    for (size_t i = 0; i < VP_ARRAY_SIZE(attrs); i++) {
        vp_autofree char *v = vp_xml_prop(rec, attrs[i]);

        if (!v)
            continue;
        if (!vp_streq(v, "yes") && !vp_streq(v, "no"))
            return vp_error_set(err, VP_E_DATA,
                                "vpass metadata: <hook %s='%s'> is neither 'yes' nor 'no'",
                                attrs[i], v);
        free(*slots[i]);
        *slots[i] = VP_STEAL(&v);
    }
    return 0;
}

static int
read_vf(const xmlNode *rec, vp_meta *m, vp_error *err)
{
    vp_autofree char *pf = vp_xml_prop(rec, "pf");
    vp_autofree char *idx = vp_xml_prop(rec, "index");
    vp_pci_addr a;
    unsigned index;
    int trust, spoofchk;

    if (read_addr_attr(rec, &a, err) < 0)
        return -1;
    if (!pf || !*pf || strlen(pf) >= VP_IFNAME_MAX)
        return vp_error_set(err, VP_E_DATA,
                            "vpass metadata: <vf pf='%s'> is not an interface "
                            "name",
                            pf ? pf : "");
    if (!idx || vp_parse_uint(idx, &index) < 0)
        return vp_error_set(err, VP_E_DATA, "vpass metadata: <vf index='%s'> is not a number",
                            idx ? idx : "");
    if (read_onoff(rec, "old-trust", &trust, err) < 0 ||
        read_onoff(rec, "old-spoofchk", &spoofchk, err) < 0)
        return -1;
    vp_meta_add_vf(m, &a, pf, index, trust, spoofchk);
    return 0;
}

int
vp_meta_read(xmlNode *domain_root, vp_meta *m, xmlNode **ret_node, vp_error *err)
{
    xmlNode *node = find_meta_node(domain_root);

    memset(m, 0, sizeof(*m));
    if (ret_node)
        *ret_node = node;
    if (!node)
        return 0;
    m->present = true;
    for (xmlNode *rec = node->children; rec; rec = rec->next) {
        const char *name = (const char *)rec->name;

        if (rec->type != XML_ELEMENT_NODE || !node_in_ns(rec, VP_METADATA_NS))
            continue;
        if (strcmp(name, "device") == 0 || strcmp(name, "isolated") == 0) {
            vp_autofree char *kind = vp_xml_prop(rec, "kind");
            vp_autofree char *driver = vp_xml_prop(rec, "driver");
            vp_pci_addr a;

            if (read_addr_attr(rec, &a, err) < 0)
                goto fail;
            if (name[0] == 'd')
                vp_meta_add_device(m, &a,
                                   vp_streq(kind, "interface") ? VP_USE_INTERFACE : VP_USE_HOSTDEV,
                                   driver && *driver ? driver : NULL);
            else
                vp_meta_add_isolated(m, &a, driver && *driver ? driver : NULL);
        } else if (strcmp(name, "controller") == 0) {
            vp_autofree char *idx = vp_xml_prop(rec, "index");
            unsigned v;

            if (!idx || vp_parse_uint(idx, &v) < 0) {
                vp_error_set(err, VP_E_DATA,
                             "vpass metadata: <controller index='%s'> is not "
                             "a number",
                             idx ? idx : "");
                goto fail;
            }
            vp_meta_add_controller(m, v);
        } else if (strcmp(name, "pcihole64") == 0) {
            if (read_setting(rec, &m->pcihole64, err) < 0)
                goto fail;
        } else if (strcmp(name, "maxphysaddr") == 0) {
            if (read_setting(rec, &m->maxphysaddr, err) < 0)
                goto fail;
        } else if (strcmp(name, "ovmf-mmio64") == 0) {
            if (read_setting(rec, &m->ovmf_mmio64, err) < 0)
                goto fail;
        } else if (strcmp(name, "metadata") == 0) {
            if (read_setting(rec, &m->metadata, err) < 0)
                goto fail;
        } else if (strcmp(name, "vf") == 0) {
            if (read_vf(rec, m, err) < 0)
                goto fail;
        } else if (strcmp(name, "hook") == 0) {
            if (read_hook(rec, m, err) < 0)
                goto fail;
        }
        /* Records of a newer vpass are skipped: this one cannot undo them anyway. */
    }
    return 0;
fail:
    vp_meta_clear(m);
    return vp_error_prefix(err, "%s", "domain XML");
}

/* Unlink the prototype child LOCAL of ROOT and return it (owned by the caller). */
static xmlNode *
take_proto(xmlNode *root, const char *local)
{
    for (xmlNode *c = root->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, local) == 0 &&
            node_in_ns(c, VP_METADATA_NS)) {
            xmlUnlinkNode(c);
            return c;
        }
    return NULL;
}

/* A copy of PROTO appended to ROOT, in ROOT's namespace declaration (a detached copy would
 * carry its own xmlns:vpass otherwise). */
static xmlNode *
add_record(xmlNode *root, const xmlNode *proto)
{
    xmlNode *n = xmlDocCopyNode((xmlNode *)proto, root->doc, 1);

    if (!n || !xmlAddChild(root, n))
        abort();
    xmlSetNs(n, root->ns);
    if (n->nsDef) {
        xmlFreeNsList(n->nsDef);
        n->nsDef = NULL;
    }
    return n;
}

static void
set_setting(xmlNode *root, const xmlNode *proto, const vp_meta_setting *s)
{
    xmlNode *n;

    if (!s->has)
        return;
    n = add_record(root, proto);
    if (s->old_none)
        vp_plan_set_prop(n, "old", "none");
    else
        vp_plan_set_propf(n, "old", "%llu", (unsigned long long)s->old);
    if (s->cpu_created)
        vp_plan_set_prop(n, "cpu", "created");
}

int
vp_meta_build(const vp_meta *m, const char *templates_dir, xmlDoc **ret, vp_error *err)
{
    static const char *const names[] = {"device",    "controller",  "isolated",
                                        "pcihole64", "maxphysaddr", "ovmf-mmio64",
                                        "metadata",  "vf",          "hook"};
    xmlNode *proto[VP_ARRAY_SIZE(names)] = {NULL};
    vp_autoxmldoc doc = NULL;
    xmlNode *root;
    int rc = -1;

    if (vp_plan_template_load(templates_dir, VP_TPL_METADATA, "vpass", VP_METADATA_NS, &doc, err) <
        0)
        return -1;
    root = xmlDocGetRootElement(doc);
    for (size_t i = 0; i < VP_ARRAY_SIZE(names); i++) {
        proto[i] = take_proto(root, names[i]);
        if (!proto[i]) {
            vp_error_set(err, VP_E_SYSTEM, "%s/%s: template has no <vpass:%s> record",
                         templates_dir, VP_TPL_METADATA, names[i]);
            goto out;
        }
    }
    /* Whatever else the template holds (comments, blanks) is not a record. */
    while (root->children) {
        xmlNode *c = root->children;

        xmlUnlinkNode(c);
        xmlFreeNode(c);
    }
    if (m->has_hook) {
        /* The operator's policy first, as they wrote it. */
        xmlNode *n = add_record(root, proto[8]);

        if (m->hook_enable)
            vp_plan_set_prop(n, "enable", m->hook_enable);
        else
            xmlUnsetProp(n, (const xmlChar *)"enable");
        if (m->hook_isolate)
            vp_plan_set_prop(n, "isolate", m->hook_isolate);
        else
            xmlUnsetProp(n, (const xmlChar *)"isolate");
    }
    for (size_t i = 0; i < m->n_devices; i++) {
        char buf[VP_PCI_ADDR_STRLEN];
        xmlNode *n = add_record(root, proto[0]);

        vp_plan_set_prop(n, "address", vp_pci_addr_format(&m->devices[i].addr, buf));
        vp_plan_set_prop(n, "kind", kind_name(m->devices[i].kind));
        if (m->devices[i].driver)
            vp_plan_set_prop(n, "driver", m->devices[i].driver);
    }
    for (size_t i = 0; i < m->n_controllers; i++)
        vp_plan_set_propf(add_record(root, proto[1]), "index", "%u", m->controllers[i]);
    for (size_t i = 0; i < m->n_isolated; i++) {
        char buf[VP_PCI_ADDR_STRLEN];
        xmlNode *n = add_record(root, proto[2]);

        vp_plan_set_prop(n, "address", vp_pci_addr_format(&m->isolated[i].addr, buf));
        if (m->isolated[i].driver)
            vp_plan_set_prop(n, "driver", m->isolated[i].driver);
        else
            xmlUnsetProp(n, (const xmlChar *)"driver");
    }
    set_setting(root, proto[3], &m->pcihole64);
    set_setting(root, proto[4], &m->maxphysaddr);
    set_setting(root, proto[5], &m->ovmf_mmio64);
    set_setting(root, proto[6], &m->metadata);
    for (size_t i = 0; i < m->n_vfs; i++) {
        const vp_meta_vf *v = &m->vfs[i];
        char buf[VP_PCI_ADDR_STRLEN];
        bool held = false;
        xmlNode *n;

        /* A VF record stands beside its device record: without it, it is stale. */
        for (size_t j = 0; j < m->n_devices; j++)
            held |= vp_pci_addr_eq(&m->devices[j].addr, &v->addr);
        if (!held)
            continue;
        n = add_record(root, proto[7]);
        vp_plan_set_prop(n, "address", vp_pci_addr_format(&v->addr, buf));
        vp_plan_set_prop(n, "pf", v->pf);
        vp_plan_set_propf(n, "index", "%u", v->index);
        if (v->old_trust != VP_VF_UNKNOWN)
            vp_plan_set_prop(n, "old-trust", v->old_trust == VP_VF_ON ? "on" : "off");
        else
            xmlUnsetProp(n, (const xmlChar *)"old-trust");
        if (v->old_spoofchk != VP_VF_UNKNOWN)
            vp_plan_set_prop(n, "old-spoofchk", v->old_spoofchk == VP_VF_ON ? "on" : "off");
        else
            xmlUnsetProp(n, (const xmlChar *)"old-spoofchk");
    }
    *ret = VP_STEAL(&doc);
    rc = 0;
out:
    for (size_t i = 0; i < VP_ARRAY_SIZE(proto); i++)
        xmlFreeNode(proto[i]);
    return rc;
}

static void
strip_ns_refs(xmlNode *n)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        n->ns = NULL;
        for (xmlAttr *a = n->properties; a; a = a->next)
            a->ns = NULL;
        strip_ns_refs(n->children);
    }
}

static void
strip_ns_defs(xmlNode *n)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (n->nsDef) {
            xmlFreeNsList(n->nsDef);
            n->nsDef = NULL;
        }
        strip_ns_defs(n->children);
    }
}

char *
vp_meta_api_xml(const xmlNode *node)
{
    xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *copy;
    char *s;

    if (!doc)
        abort();
    copy = xmlDocCopyNode((xmlNode *)node, doc, 1);
    if (!copy)
        abort();
    xmlDocSetRootElement(doc, copy);
    /* References first, then the declarations they pointed to. */
    strip_ns_refs(copy);
    strip_ns_defs(copy);
    s = vp_plan_xml_dump(copy);
    xmlFreeDoc(doc);
    return s;
}

/* Scale VALUE by a libvirt memory unit (virScaleInteger: none = KiB here, "b"/"bytes",
 * k/KiB = 1024, KB = 1000, and so on up to E). 0 on an unknown unit or overflow. */
static uint64_t
scale_memory(uint64_t value, const char *unit)
{
    static const char prefixes[] = "kmgtpe";
    uint64_t scale = 1, base;
    const char *p;

    if (!unit || !*unit) {
        scale = 1024;
    } else if (strcasecmp(unit, "b") == 0 || strcasecmp(unit, "bytes") == 0) {
        scale = 1;
    } else {
        p = strchr(prefixes, tolower((unsigned char)unit[0]));
        if (!p)
            return 0;
        if (!unit[1] || strcasecmp(unit + 1, "iB") == 0)
            base = 1024;
        else if ((unit[1] == 'B' || unit[1] == 'b') && !unit[2])
            base = 1000;
        else
            return 0;
        for (ptrdiff_t i = 0; i <= p - prefixes; i++)
            scale *= base;
    }
    if (value > UINT64_MAX / scale)
        return 0;
    return value * scale;
}

uint64_t
vp_plan_domain_memory(xmlNode *domain_root)
{
    xmlNode *mem = vp_xml_child(domain_root, "maxMemory");

    if (!mem)
        mem = vp_xml_child(domain_root, "memory");
    if (mem) {
        vp_autofree char *text = vp_xml_text(mem);
        vp_autofree char *unit = vp_xml_prop(mem, "unit");
        uint64_t v;

        if (vp_parse_u64(text, 10, &v) == 0)
            return scale_memory(v, unit);
    }
    return 0;
}

bool
vp_plan_ovmf_mmio64_arg(xmlNode *domain_root, uint64_t *ret_mib, xmlNode **ret_arg)
{
    static const char prefix[] = "name=" VP_OVMF_MMIO64_FWCFG ",string=";

    for (xmlNode *cl = domain_root->children; cl; cl = cl->next) {
        if (cl->type != XML_ELEMENT_NODE || strcmp((const char *)cl->name, "commandline") != 0 ||
            !node_in_ns(cl, VP_QEMU_NS))
            continue;
        for (xmlNode *arg = cl->children; arg; arg = arg->next) {
            vp_autofree char *v = NULL;
            uint64_t mib;

            if (arg->type != XML_ELEMENT_NODE || strcmp((const char *)arg->name, "arg") != 0)
                continue;
            v = vp_xml_prop(arg, "value");
            if (!v || !vp_startswith(v, prefix) || vp_parse_u64(v + strlen(prefix), 10, &mib) < 0)
                continue;
            *ret_mib = mib;
            if (ret_arg)
                *ret_arg = arg;
            return true;
        }
    }
    return false;
}
