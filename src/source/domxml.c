/* Domain XML -> the ledger: which host PCI devices a domain's <hostdev>s and interfaces hold. */
#include "source.h"

#include <string.h>

#include "xmlread.h"

/* What a definition is called in problem messages. */
static const char *
definition_name(bool live, bool config)
{
    if (live && config)
        return "live and persistent definitions";
    return live ? "live definition" : "persistent definition";
}

/* The host address in <source><address .../></source> of a hostdev or interface, or -1 with
 * ERR saying what is missing or wrong. */
static int
source_address(const xmlNode *dev, vp_pci_addr *ret, vp_error *err)
{
    xmlNode *source = vp_xml_child(dev, "source");
    xmlNode *addr;

    if (!source)
        return vp_error_set(err, VP_E_DATA, "no <source>");
    addr = vp_xml_child(source, "address");
    if (!addr)
        return vp_error_set(err, VP_E_DATA, "<source> has no <address>");
    return vp_xml_pci_address(addr, ret, err);
}

/* managed='yes' asks libvirt to detach and reattach the host driver; anything else is no. */
static bool
is_managed(const xmlNode *dev)
{
    vp_autofree char *managed = vp_xml_prop(dev, "managed");

    return vp_streq(managed, "yes");
}

/* A PCI <hostdev>: mode='subsystem' (libvirt's default when absent) and type='pci'. USB,
 * SCSI, SCSI-host, mdev and capabilities-mode hostdevs hold no whole PCI function. */
static bool
is_pci_hostdev(const xmlNode *dev)
{
    vp_autofree char *mode = vp_xml_prop(dev, "mode");
    vp_autofree char *type = vp_xml_prop(dev, "type");

    return (!mode || vp_streq(mode, "subsystem")) && vp_streq(type, "pci");
}

/* An <interface type='hostdev'> whose source is a PCI function (a USB NIC has type='usb'). */
static bool
is_pci_hostdev_interface(const xmlNode *dev)
{
    vp_autofree char *type = vp_xml_prop(dev, "type");
    xmlNode *addr;
    vp_autofree char *addr_type = NULL;

    if (!vp_streq(type, "hostdev"))
        return false;
    addr = vp_xml_child(vp_xml_child(dev, "source"), "address");
    addr_type = addr ? vp_xml_prop(addr, "type") : NULL;
    return !addr_type || vp_streq(addr_type, "pci");
}

int
vp_domxml_add_assignments(vp_host *h, const char *domain, const char *xml, bool live, bool config,
                          vp_error *err)
{
    vp_autoxmldoc doc = NULL;
    xmlNode *root;
    unsigned n_hostdev = 0, n_interface = 0;

    if (!domain || !*domain)
        return vp_error_set(err, VP_E_DATA, "domain without a name");
    if (vp_xml_parse(xml, "domain XML", &doc, err) < 0)
        return vp_error_prefix(err, "%s: %s", domain, definition_name(live, config));
    root = xmlDocGetRootElement(doc);
    if (!vp_xml_is(root, "domain"))
        return vp_error_set(err, VP_E_DATA, "%s: %s has root element <%s>, expected <domain>",
                            domain, definition_name(live, config), (const char *)root->name);

    /* libvirt writes one <devices>; walk every one in case a hand-made document has more. */
    for (xmlNode *devs = vp_xml_child(root, "devices"); devs;
         devs = vp_xml_next_sibling(devs, "devices")) {
        for (xmlNode *dev = vp_xml_next(devs->children, NULL); dev;
             dev = vp_xml_next(dev->next, NULL)) {
            vp_use_kind kind;
            unsigned nth;
            vp_pci_addr addr;
            vp_error why = {0};

            if (vp_xml_is(dev, "hostdev") && is_pci_hostdev(dev)) {
                kind = VP_USE_HOSTDEV;
                nth = ++n_hostdev;
            } else if (vp_xml_is(dev, "interface") && is_pci_hostdev_interface(dev)) {
                kind = VP_USE_INTERFACE;
                nth = ++n_interface;
            } else {
                continue;
            }
            if (source_address(dev, &addr, &why) < 0) {
                vp_host_add_problem(h, domain, "%s: PCI %s #%u: %s", definition_name(live, config),
                                    kind == VP_USE_HOSTDEV ? "<hostdev>"
                                                           : "<interface type='hostdev'>",
                                    nth, why.msg);
                continue;
            }
            vp_host_add_assignment(h, domain, &addr, kind, is_managed(dev), live, config);
        }
    }
    return 0;
}
