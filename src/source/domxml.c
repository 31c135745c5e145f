/* Domain XML -> the ledger (which host PCI devices a domain's <hostdev>s and interfaces hold)
 * and the definition facts the checks need (machine, firmware, 64-bit MMIO window, phys-bits). */
#include "source.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

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

            if (vp_xml_is(dev, "hostdev") && vp_xml_is_pci_hostdev(dev)) {
                kind = VP_USE_HOSTDEV;
                nth = ++n_hostdev;
            } else if (vp_xml_is(dev, "interface") && vp_xml_is_pci_hostdev_interface(dev)) {
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

/* Scale VALUE by libvirt's unit suffix UNIT (virScaleInteger, src/util/virutil.c): none means
 * DEFAULT_SCALE; "b", "byte", "bytes" are 1; "k", "KiB" (any case) powers of 1024 up to "E";
 * "KB", "MB", ... powers of 1000. -EINVAL for an unknown unit, -ERANGE on overflow. */
static int
scale_libvirt_unit(uint64_t value, const char *unit, uint64_t default_scale, uint64_t *ret)
{
    uint64_t scale = 1, base;

    if (!unit || !*unit) {
        scale = default_scale;
    } else if (strcasecmp(unit, "b") == 0 || strcasecmp(unit, "byte") == 0 ||
               strcasecmp(unit, "bytes") == 0) {
        scale = 1;
    } else {
        static const char prefixes[] = "kmgtpe";
        const char *p = strchr(prefixes, tolower((unsigned char)unit[0]));

        if (!unit[1] || strcasecmp(unit + 1, "iB") == 0)
            base = 1024;
        else if (tolower((unsigned char)unit[1]) == 'b' && !unit[2])
            base = 1000;
        else
            return -EINVAL;
        if (!p || !unit[0])
            return -EINVAL;
        for (ptrdiff_t i = 0; i <= p - prefixes; i++)
            scale *= base;
    }
    if (value && value > UINT64_MAX / scale)
        return -ERANGE;
    *ret = value * scale;
    return 0;
}

/* <pcihole64 unit='KiB'>N</pcihole64> in KiB, as libvirt stores it (virDomainControllerDefParseXML:
 * the scaled byte count, divided by 1024 rounding up). */
static int
parse_pcihole64(const xmlNode *node, uint64_t *ret_kib, vp_error *err)
{
    vp_autofree char *text = vp_xml_text(node);
    vp_autofree char *unit = vp_xml_prop(node, "unit");
    uint64_t n, bytes;
    int r;

    r = vp_parse_u64(text, 10, &n);
    if (r < 0)
        return vp_error_set(err, VP_E_DATA, "<pcihole64> '%s' is %s", text,
                            r == -ERANGE ? "out of range" : "not a number");
    r = scale_libvirt_unit(n, unit, 1024, &bytes);
    if (r == -EINVAL)
        return vp_error_set(err, VP_E_DATA, "<pcihole64> has an unknown unit '%s'", unit);
    if (r < 0)
        return vp_error_set(err, VP_E_DATA, "<pcihole64> %s %s is out of range", text,
                            unit ? unit : "KiB");
    *ret_kib = bytes / 1024 + (bytes % 1024 != 0);
    return 0;
}

/* True when a loader path names an EFI build (OVMF, edk2, AAVMF, QEMU_EFI) loaded as a ROM. */
static bool
loader_path_is_efi(const char *path)
{
    static const char *const names[] = {"ovmf", "edk2", "aavmf", "qemu_efi"};
    vp_autofree char *lower = vp_strdup(vp_basename(path ? path : ""));

    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    for (size_t i = 0; i < VP_ARRAY_SIZE(names); i++)
        if (strstr(lower, names[i]))
            return true;
    return false;
}

int
vp_domxml_read_domain(vp_domain *d, const char *xml, vp_error *err)
{
    vp_autoxmldoc doc = NULL;
    xmlNode *root, *os, *type, *loader, *cpu, *mpa;
    vp_autofree char *arch = NULL;
    vp_autofree char *machine = NULL;
    vp_autofree char *loader_path = NULL;
    vp_autofree char *loader_type = NULL;
    vp_autofree char *fw = NULL;
    vp_autofree char *mpa_mode = NULL;
    vp_autofree char *mpa_bits = NULL;
    const char *name = d->name ? d->name : "domain";
    vp_firmware firmware;
    bool has_hole = false, has_bits = false;
    uint64_t hole_kib = 0;
    unsigned bits = 0;

    if (vp_xml_parse(xml, "domain XML", &doc, err) < 0)
        return vp_error_prefix(err, "%s", name);
    root = xmlDocGetRootElement(doc);
    if (!vp_xml_is(root, "domain"))
        return vp_error_set(err, VP_E_DATA, "%s: root element <%s>, expected <domain>", name,
                            (const char *)root->name);

    os = vp_xml_child(root, "os");
    type = vp_xml_child(os, "type");
    if (type) {
        arch = vp_xml_prop(type, "arch");
        machine = vp_xml_prop(type, "machine");
    }
    loader = vp_xml_child(os, "loader");
    if (loader) {
        loader_path = vp_xml_text(loader);
        loader_type = vp_xml_prop(loader, "type");
        if (loader_path && !*loader_path) {
            free(loader_path);
            loader_path = NULL;
        }
    }
    /* formatdomain "Operating system booting": firmware='efi'|'bios' selects automatically;
     * a pflash loader is UEFI (OVMF); no loader on x86 is SeaBIOS. */
    fw = os ? vp_xml_prop(os, "firmware") : NULL;
    if (vp_streq(fw, "efi"))
        firmware = VP_FIRMWARE_EFI;
    else if (vp_streq(fw, "bios"))
        firmware = VP_FIRMWARE_BIOS;
    else if (vp_streq(loader_type, "pflash") || (loader && loader_path_is_efi(loader_path)))
        firmware = VP_FIRMWARE_EFI;
    else if (!loader && (!arch || strcmp(arch, "x86_64") == 0 || strcmp(arch, "i686") == 0))
        firmware = VP_FIRMWARE_BIOS;
    else
        firmware = VP_FIRMWARE_UNKNOWN;

    /* The root controller: pcie-root (q35) or pci-root (i440fx) carries <pcihole64>. */
    for (xmlNode *devs = vp_xml_child(root, "devices"); devs && !has_hole;
         devs = vp_xml_next_sibling(devs, "devices")) {
        for (xmlNode *ctl = vp_xml_child(devs, "controller"); ctl;
             ctl = vp_xml_next_sibling(ctl, "controller")) {
            vp_autofree char *ctype = vp_xml_prop(ctl, "type");
            vp_autofree char *model = vp_xml_prop(ctl, "model");
            xmlNode *hole;

            if (!vp_streq(ctype, "pci") ||
                !(vp_streq(model, "pcie-root") || vp_streq(model, "pci-root")))
                continue;
            hole = vp_xml_child(ctl, "pcihole64");
            if (!hole)
                continue;
            if (parse_pcihole64(hole, &hole_kib, err) < 0)
                return vp_error_prefix(err, "%s", name);
            has_hole = true;
            break;
        }
    }

    cpu = vp_xml_child(root, "cpu");
    mpa = vp_xml_child(cpu, "maxphysaddr");
    if (mpa) {
        mpa_mode = vp_xml_prop(mpa, "mode");
        mpa_bits = vp_xml_prop(mpa, "bits");
        if (mpa_bits) {
            /* x86 physical addresses have at most 52 bits (SDM 4.1.4, MAXPHYADDR). */
            if (vp_parse_uint(mpa_bits, &bits) < 0 || bits == 0 || bits > 52)
                return vp_error_set(err, VP_E_DATA,
                                    "%s: <maxphysaddr bits='%s'> is not a number of address "
                                    "bits (1-52)",
                                    name, mpa_bits);
            has_bits = true;
        }
    }

    free(d->arch);
    d->arch = VP_STEAL(&arch);
    free(d->machine);
    d->machine = VP_STEAL(&machine);
    d->firmware = firmware;
    free(d->loader);
    d->loader = VP_STEAL(&loader_path);
    d->has_pcihole64 = has_hole;
    d->pcihole64_kib = hole_kib;
    free(d->maxphysaddr_mode);
    d->maxphysaddr_mode = VP_STEAL(&mpa_mode);
    d->has_maxphysaddr_bits = has_bits;
    d->maxphysaddr_bits = bits;
    d->xml_read = true;
    return 0;
}

int
vp_domxml_add_macs(vp_domain *d, const char *xml, vp_error *err)
{
    vp_autoxmldoc doc = NULL;
    xmlNode *root;
    const char *name = d->name ? d->name : "domain";

    if (vp_xml_parse(xml, "domain XML", &doc, err) < 0)
        return vp_error_prefix(err, "%s", name);
    root = xmlDocGetRootElement(doc);
    if (!vp_xml_is(root, "domain"))
        return vp_error_set(err, VP_E_DATA, "%s: root element <%s>, expected <domain>", name,
                            (const char *)root->name);
    for (xmlNode *devs = vp_xml_child(root, "devices"); devs;
         devs = vp_xml_next_sibling(devs, "devices")) {
        for (xmlNode *ifc = vp_xml_child(devs, "interface"); ifc;
             ifc = vp_xml_next_sibling(ifc, "interface")) {
            vp_autofree char *mac = vp_xml_prop(vp_xml_child(ifc, "mac"), "address");

            if (!mac || !*mac)
                continue;
            /* libvirt prints MACs in lower case; a hand-made definition may not. */
            for (char *p = mac; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            if (!vp_strv_contains(d->macs, mac))
                vp_strv_push(&d->macs, mac);
        }
    }
    vp_strv_sort(d->macs);
    return 0;
}
