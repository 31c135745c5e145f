/* libvirt node-device XML (virNodeDeviceGetXMLDesc) -> vp_device, and net devices -> parents. */
#include "source.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmlread.h"

/* Bounds that no real device reaches; anything beyond is a broken source, not a device. */
#define VP_NUMA_NODE_MAX 65535 /* the kernel allows 1 << CONFIG_NODES_SHIFT (<= 1024) */
#define VP_GROUP_MAX INT32_MAX /* iommu_group ids come from an ida: non-negative ints */
#define VP_VF_MAX 65535        /* SR-IOV TotalVFs is a 16-bit register (PCIe 9.3.3.6) */
#define VP_LINK_WIDTH_MAX 32   /* PCIe links are x1..x32 (0: libvirt's "unknown"/down) */

/* The name to put first in messages: the node device's own name once read. */
static const char *
label(const char *name)
{
    return name && *name ? name : "node device";
}

/* Parse the text of element ELEM under CAP as a number <= MAX: decimal as libvirt prints it,
 * or 0x.. hex. Required: absence is an error too. */
static int
elem_number(const xmlNode *cap, const char *elem, uint64_t max, const char *range, const char *name,
            uint64_t *ret, vp_error *err)
{
    vp_autofree char *text = vp_xml_text(vp_xml_child(cap, elem));
    uint64_t v;
    int r;

    if (!text || !*text)
        return vp_error_set(err, VP_E_DATA, "%s: PCI capability has no <%s>", label(name), elem);
    r = vp_parse_u64(text, 0, &v);
    if (r == 0 && v > max)
        r = -ERANGE;
    if (r < 0)
        return vp_error_set(err, VP_E_DATA, "%s: invalid <%s> '%s' (expected %s)", label(name),
                            elem, text, range);
    *ret = v;
    return 0;
}

/* Parse an attribute holding a hex id (libvirt reads vendor/product/class with base 16). */
static int
hex_value(const char *text, uint64_t max, uint64_t *ret)
{
    uint64_t v;

    if (vp_parse_u64(text, 16, &v) < 0 || v > max)
        return -1;
    *ret = v;
    return 0;
}

/* <vendor id='0x8086'>Intel Corporation</vendor>: the id is required, the name may be empty. */
static int
parse_id(const xmlNode *cap, const char *elem, const char *name, uint16_t *ret_id, char **ret_name,
         vp_error *err)
{
    xmlNode *node = vp_xml_child(cap, elem);
    vp_autofree char *id = NULL;
    vp_autofree char *text = NULL;
    uint64_t v;

    if (!node)
        return vp_error_set(err, VP_E_DATA, "%s: PCI capability has no <%s>", label(name), elem);
    id = vp_xml_prop(node, "id");
    if (!id)
        return vp_error_set(err, VP_E_DATA, "%s: <%s> has no id", label(name), elem);
    if (hex_value(id, 0xffff, &v) < 0)
        return vp_error_set(err, VP_E_DATA, "%s: invalid %s id '%s' (expected 0x0000-0xffff)",
                            label(name), elem, id);
    text = vp_xml_text(node);
    *ret_id = (uint16_t)v;
    *ret_name = text && *text ? VP_STEAL(&text) : NULL;
    return 0;
}

/* An <address> inside the element WHERE, for messages ("<iommuGroup>"). */
static int
parse_address(const xmlNode *node, const char *where, const char *name, vp_pci_addr *ret,
              vp_error *err)
{
    if (vp_xml_pci_address(node, ret, err) < 0)
        return vp_error_prefix(err, "%s: %s", label(name), where);
    return 0;
}

/* One <link validity='cap|sta' port speed width/> of <pci-express>. */
static int
parse_link(const xmlNode *node, const char *validity, const char *name, vp_link *link,
           vp_error *err)
{
    vp_autofree char *width = vp_xml_prop(node, "width");
    vp_autofree char *speed = vp_xml_prop(node, "speed");
    uint64_t w = 0;

    /* libvirt always writes width (0 when the link is down or unknown) and omits speed then. */
    if (width && (vp_xml_parse_libvirt_uint(width, &w) < 0 || w > VP_LINK_WIDTH_MAX))
        return vp_error_set(err, VP_E_DATA, "%s: invalid PCIe %s link width '%s' (expected 0-%d)",
                            label(name), validity, width, VP_LINK_WIDTH_MAX);
    if (speed) {
        /* GT/s as libvirt's virPCIELinkSpeed prints it: "2.5", "5", "8", "16", "32", "64". */
        size_t n = strspn(speed, "0123456789.");

        if (n == 0 || speed[n] != '\0' || n > 8 || speed[0] == '.' || speed[n - 1] == '.' ||
            strchr(speed, '.') != strrchr(speed, '.'))
            return vp_error_set(err, VP_E_DATA,
                                "%s: invalid PCIe %s link speed '%s' (expected GT/s such as 8)",
                                label(name), validity, speed);
    }
    link->present = true;
    link->width = (unsigned)w;
    free(link->speed);
    link->speed = speed && *speed ? VP_STEAL(&speed) : NULL;
    return 0;
}

static int
parse_pci_express(const xmlNode *pcie, const char *name, vp_device *d, vp_error *err)
{
    d->is_pcie = true;
    for (xmlNode *l = vp_xml_child(pcie, "link"); l; l = vp_xml_next_sibling(l, "link")) {
        vp_autofree char *validity = vp_xml_prop(l, "validity");

        /* Like libvirt, the first link of each validity counts; others are ignored. */
        if (vp_streq(validity, "cap") && !d->link_cap.present) {
            if (parse_link(l, "cap", name, &d->link_cap, err) < 0)
                return -1;
        } else if (vp_streq(validity, "sta") && !d->link_sta.present) {
            if (parse_link(l, "sta", name, &d->link_sta, err) < 0)
                return -1;
        }
    }
    return 0;
}

/* <capability type='virt_functions' maxCount='N'> with the current VFs as <address>es. */
static int
parse_virt_functions(const xmlNode *cap, const char *name, vp_device *d, vp_error *err)
{
    vp_autofree char *max = vp_xml_prop(cap, "maxCount");
    size_t n = 0, alloc = 0;

    if (max) {
        uint64_t v;

        /* libvirt reads maxCount in base 10. */
        if (vp_parse_u64(max, 10, &v) < 0 || v > VP_VF_MAX)
            return vp_error_set(err, VP_E_DATA,
                                "%s: invalid virt_functions maxCount '%s' (expected 0-%d)",
                                label(name), max, VP_VF_MAX);
        d->vf_max = (unsigned)v;
    }
    /* Presence alone marks an SR-IOV PF, as libvirt's own parser does. */
    d->is_pf = true;
    for (xmlNode *a = vp_xml_child(cap, "address"); a; a = vp_xml_next_sibling(a, "address")) {
        vp_grow(&d->vfs, &alloc, n + 1, sizeof(*d->vfs));
        if (parse_address(a, "virtual function <address>", name, &d->vfs[n], err) < 0)
            return -1;
        d->n_vfs = ++n;
    }
    return 0;
}

/* The nested <capability type=...> elements of the pci capability. */
static int
parse_sub_capability(const xmlNode *cap, const char *name, vp_device *d, vp_error *err)
{
    vp_autofree char *type = vp_xml_prop(cap, "type");

    if (vp_streq(type, "phys_function")) {
        xmlNode *a = vp_xml_child(cap, "address");

        if (!a)
            return vp_error_set(err, VP_E_DATA, "%s: phys_function capability has no <address>",
                                label(name));
        if (parse_address(a, "phys_function <address>", name, &d->physfn, err) < 0)
            return -1;
        d->is_vf = true;
    } else if (vp_streq(type, "virt_functions")) {
        return parse_virt_functions(cap, name, d, err);
    } else if (vp_streq(type, "pci-bridge") || vp_streq(type, "cardbus-bridge")) {
        /* libvirt's header type (virPCIHeaderType); 'endpoint' is never printed. */
        d->is_bridge = true;
    }
    /* mdev_types, vpd and anything newer: not needed here. */
    return 0;
}

/* The members of the device's IOMMU group as its <iommuGroup> lists them (itself included). */
typedef struct {
    vp_pci_addr *addrs;
    size_t n;
    size_t alloc;
} group_members;

static int
parse_iommu_group(const xmlNode *node, const char *name, vp_device *d, group_members *members,
                  vp_error *err)
{
    vp_autofree char *number = vp_xml_prop(node, "number");
    uint64_t v;

    /* libvirt reads the number in base 10. */
    if (!number)
        return vp_error_set(err, VP_E_DATA, "%s: <iommuGroup> has no number", label(name));
    if (vp_parse_u64(number, 10, &v) < 0 || v > VP_GROUP_MAX)
        return vp_error_set(err, VP_E_DATA, "%s: invalid iommuGroup number '%s'", label(name),
                            number);
    /* The members are derived by the model from every device's group; only check them here. */
    for (xmlNode *a = vp_xml_child(node, "address"); a; a = vp_xml_next_sibling(a, "address")) {
        vp_pci_addr member;

        if (parse_address(a, "<iommuGroup> member <address>", name, &member, err) < 0)
            return -1;
        if (members) {
            vp_grow(&members->addrs, &members->alloc, members->n + 1, sizeof(*members->addrs));
            members->addrs[members->n++] = member;
        }
    }
    d->has_group = true;
    d->group = (unsigned)v;
    return 0;
}

static int
parse_numa(const xmlNode *node, const char *name, vp_device *d, vp_error *err)
{
    vp_autofree char *text = vp_xml_prop(node, "node");
    int v;

    if (!text)
        return 0;
    if (vp_parse_int(text, &v) < 0 || v < -1 || v > VP_NUMA_NODE_MAX)
        return vp_error_set(err, VP_E_DATA, "%s: invalid NUMA node '%s'", label(name), text);
    /* -1 is "no NUMA affinity" (libvirt omits the element then; sysfs says -1). */
    d->has_numa = v >= 0;
    d->numa_node = v >= 0 ? v : 0;
    return 0;
}

/* Everything inside <capability type='pci'>; the group's members go to MEMBERS unless NULL. */
static int
parse_pci_capability(const xmlNode *cap, const char *name, vp_device *d, group_members *members,
                     vp_error *err)
{
    vp_autofree char *klass = vp_xml_text(vp_xml_child(cap, "class"));
    uint64_t dom, bus, slot, func, v;
    xmlNode *node;

    if (elem_number(cap, "domain", UINT32_MAX, "0-0xffffffff", name, &dom, err) < 0 ||
        elem_number(cap, "bus", 0xff, "0-255", name, &bus, err) < 0 ||
        elem_number(cap, "slot", 0x1f, "0-31", name, &slot, err) < 0 ||
        elem_number(cap, "function", 7, "0-7", name, &func, err) < 0)
        return -1;
    d->addr.domain = (uint32_t)dom;
    d->addr.bus = (uint8_t)bus;
    d->addr.slot = (uint8_t)slot;
    d->addr.func = (uint8_t)func;

    /* libvirt before 4.0 has no <class>: the ids stand, the class stays 0. */
    if (klass) {
        if (hex_value(klass, 0xffffff, &v) < 0)
            return vp_error_set(err, VP_E_DATA,
                                "%s: invalid <class> '%s' (expected 0x000000-0xffffff)",
                                label(name), klass);
        d->class_code = (uint32_t)v;
    }
    if (parse_id(cap, "vendor", name, &d->vendor_id, &d->vendor_name, err) < 0 ||
        parse_id(cap, "product", name, &d->product_id, &d->product_name, err) < 0)
        return -1;
    d->ids_known = true;

    for (node = vp_xml_next(cap->children, NULL); node; node = vp_xml_next(node->next, NULL)) {
        int r = 0;

        if (vp_xml_is(node, "capability"))
            r = parse_sub_capability(node, name, d, err);
        else if (vp_xml_is(node, "iommuGroup") && !d->has_group)
            r = parse_iommu_group(node, name, d, members, err);
        else if (vp_xml_is(node, "numa"))
            r = parse_numa(node, name, d, err);
        else if (vp_xml_is(node, "pci-express") && !d->is_pcie)
            r = parse_pci_express(node, name, d, err);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* The type attributes of ROOT's capabilities, for "not a PCI device (net)" messages. */
static void
capability_types(const xmlNode *root, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (xmlNode *c = vp_xml_child(root, "capability"); c;
         c = vp_xml_next_sibling(c, "capability")) {
        vp_autofree char *type = vp_xml_prop(c, "type");
        int n = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", type ? type : "?");

        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
    if (!len)
        snprintf(buf, size, "none");
}

/* Parse XML and check it is a <device> with a <name>; sets *RET_ROOT and *RET_NAME. */
static int
open_device(const char *xml, xmlDoc **ret_doc, xmlNode **ret_root, char **ret_name, vp_error *err)
{
    vp_autoxmldoc doc = NULL;
    vp_autofree char *name = NULL;
    xmlNode *root;

    if (vp_xml_parse(xml, "node device XML", &doc, err) < 0) {
        /* Name the device if a lenient re-read can find it (truncated XML keeps its head). */
        if (xml && *xml) {
            vp_autoxmldoc partial = xmlReadMemory(xml, (int)strnlen(xml, INT_MAX), NULL, NULL,
                                                  VP_XML_PARSE_OPTIONS | XML_PARSE_RECOVER);
            xmlNode *r = partial ? xmlDocGetRootElement(partial) : NULL;
            vp_autofree char *n = vp_xml_is(r, "device") && !partial->intSubset
                                      ? vp_xml_text(vp_xml_child(r, "name"))
                                      : NULL;
            vp_autofree char *whole = n ? vp_asprintf("<name>%s</name>", n) : NULL;

            /* Recovery also returns a name cut short ("pci_00"): only a complete one counts. */
            if (n && *n && strstr(xml, whole))
                return vp_error_prefix(err, "%s", n);
        }
        return -1;
    }
    root = xmlDocGetRootElement(doc);
    if (!vp_xml_is(root, "device"))
        return vp_error_set(err, VP_E_DATA,
                            "node device XML has root element <%s>, expected <device>",
                            (const char *)root->name);
    name = vp_xml_text(vp_xml_child(root, "name"));
    if (!name || !*name)
        return vp_error_set(err, VP_E_DATA, "node device XML has no <name>");
    *ret_root = root;
    *ret_doc = VP_STEAL(&doc);
    *ret_name = VP_STEAL(&name);
    return 0;
}

int
vp_nodedev_parse_pci(const char *xml, vp_device *d, vp_error *err)
{
    return vp_nodedev_parse_pci_group(xml, d, NULL, NULL, err);
}

int
vp_nodedev_parse_pci_group(const char *xml, vp_device *d, vp_pci_addr **ret_members,
                           size_t *ret_n_members, vp_error *err)
{
    vp_autoxmldoc doc = NULL;
    vp_autofree char *name = NULL;
    vp_autofree char *parent = NULL;
    vp_device dev = {0};
    group_members members = {0};
    xmlNode *root = NULL, *cap, *driver;

    memset(d, 0, sizeof(*d));
    if (open_device(xml, &doc, &root, &name, err) < 0)
        return -1;
    for (cap = vp_xml_child(root, "capability"); cap;
         cap = vp_xml_next_sibling(cap, "capability")) {
        vp_autofree char *type = vp_xml_prop(cap, "type");

        if (vp_streq(type, "pci"))
            break;
    }
    if (!cap) {
        char types[128];

        capability_types(root, types, sizeof(types));
        return vp_error_set(err, VP_E_DATA, "%s: not a PCI device (capability: %s)", name, types);
    }

    if (parse_pci_capability(cap, name, &dev, ret_members ? &members : NULL, err) < 0) {
        vp_device_clear(&dev);
        free(members.addrs);
        return -1;
    }

    /* <parent>: another PCI device (bridge or root port) or 'computer' on a root bus. Older
     * libvirt (HAL) named devices pci_<vendor>_<product>: such a parent is not an address. */
    parent = vp_xml_text(vp_xml_child(root, "parent"));
    if (parent && vp_startswith(parent, "pci_") &&
        vp_pci_addr_parse(parent, &dev.parent, NULL) == 0)
        dev.has_parent = true;

    driver = vp_xml_child(vp_xml_child(root, "driver"), "name");
    dev.driver = vp_xml_text(driver);
    if (dev.driver && !*dev.driver) {
        free(dev.driver);
        dev.driver = NULL;
    }
    dev.nodedev_name = VP_STEAL(&name);
    *d = dev;
    if (ret_members) {
        *ret_members = members.addrs;
        *ret_n_members = members.n;
    }
    return 0;
}

int
vp_nodedev_parse_net(const char *xml, char **ret_ifname, char **ret_parent, vp_error *err)
{
    vp_autoxmldoc doc = NULL;
    vp_autofree char *name = NULL;
    vp_autofree char *parent = NULL;
    vp_autofree char *ifname = NULL;
    xmlNode *root = NULL, *cap;

    if (open_device(xml, &doc, &root, &name, err) < 0)
        return -1;
    for (cap = vp_xml_child(root, "capability"); cap;
         cap = vp_xml_next_sibling(cap, "capability")) {
        vp_autofree char *type = vp_xml_prop(cap, "type");

        if (vp_streq(type, "net"))
            break;
    }
    if (!cap) {
        char types[128];

        capability_types(root, types, sizeof(types));
        return vp_error_set(err, VP_E_DATA, "%s: not a net device (capability: %s)", name, types);
    }
    ifname = vp_xml_text(vp_xml_child(cap, "interface"));
    if (!ifname || !*ifname)
        return vp_error_set(err, VP_E_DATA, "%s: net capability has no <interface>", name);
    parent = vp_xml_text(vp_xml_child(root, "parent"));
    if (!parent || !*parent)
        return vp_error_set(err, VP_E_DATA, "%s: net device %s has no <parent>", name, ifname);
    *ret_ifname = VP_STEAL(&ifname);
    *ret_parent = VP_STEAL(&parent);
    return 0;
}
