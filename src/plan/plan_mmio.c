/* The guest's 64-bit MMIO window in a domain definition: <pcihole64> on the root controller,
 * <cpu><maxphysaddr>, OVMF's X-PciMmio64Mb through <qemu:commandline>; setting them for an
 * attach and putting back what vpass recorded for a detach. */
#include <stdlib.h>
#include <string.h>

#include "plan_mmio.h"

/* QEMU's default phys-bits for the CPU models libvirt uses without maxphysaddr
 * (TCG_PHYS_ADDR_BITS and the x86 CPU "phys-bits" default, target/i386/cpu.c): a window
 * that ends above 2^40 is out of the guest's reach. */
#define DEFAULT_PHYS_BITS 40

/* Where QEMU starts guest RAM above the 32-bit PCI hole (hw/i386/pc.c: 4 GiB). */
#define RAM_ABOVE_4G_START (1ULL << 32)

const char *
vp_plan_size_str(uint64_t bytes, char buf[VP_PLAN_SIZE_STRLEN])
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    unsigned u = 0;

    /* Exact values only: "1536 MiB" rather than a rounded "1.5 GiB" in a plan. */
    while (u + 1 < VP_ARRAY_SIZE(units) && bytes && bytes % 1024 == 0) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, VP_PLAN_SIZE_STRLEN, "%llu %s", (unsigned long long)bytes, units[u]);
    return buf;
}

xmlNode *
vp_plan_root_controller(xmlNode *domain_root)
{
    for (xmlNode *devs = vp_xml_child(domain_root, "devices"); devs;
         devs = vp_xml_next_sibling(devs, "devices")) {
        for (xmlNode *c = vp_xml_child(devs, "controller"); c;
             c = vp_xml_next_sibling(c, "controller")) {
            vp_autofree char *type = vp_xml_prop(c, "type");
            vp_autofree char *model = vp_xml_prop(c, "model");

            if (vp_streq(type, "pci") &&
                (vp_streq(model, "pcie-root") || vp_streq(model, "pci-root")))
                return c;
        }
    }
    return NULL;
}

void
vp_plan_set_pcihole64(xmlNode *domain_root, bool q35, uint64_t kib)
{
    xmlNode *ctl = vp_plan_root_controller(domain_root);
    xmlNode *hole;
    char text[32];

    if (!ctl) {
        /* libvirt always writes the root controller; a hand-made definition may lack it. */
        xmlNode *devs = vp_xml_child(domain_root, "devices");

        if (!devs)
            devs = vp_plan_new_child(domain_root, NULL, "devices");
        ctl = vp_plan_new_child(devs, vp_xml_child(devs, "controller"), "controller");
        vp_plan_set_prop(ctl, "type", "pci");
        vp_plan_set_prop(ctl, "index", "0");
        vp_plan_set_prop(ctl, "model", q35 ? "pcie-root" : "pci-root");
    }
    hole = vp_xml_child(ctl, "pcihole64");
    if (!hole)
        hole = vp_plan_new_child(ctl, NULL, "pcihole64");
    vp_plan_set_prop(hole, "unit", "KiB");
    snprintf(text, sizeof(text), "%llu", (unsigned long long)kib);
    vp_plan_set_text(hole, text);
}

/* The <qemu:commandline> of DOMAIN_ROOT, created (with the namespace declared on the root)
 * when CREATE. */
static xmlNode *
qemu_commandline(xmlNode *domain_root, bool create)
{
    xmlNs *ns;
    xmlNode *cl;

    for (cl = domain_root->children; cl; cl = cl->next)
        if (cl->type == XML_ELEMENT_NODE && strcmp((const char *)cl->name, "commandline") == 0 &&
            cl->ns && vp_streq((const char *)cl->ns->href, VP_QEMU_NS))
            return cl;
    if (!create)
        return NULL;
    ns = xmlSearchNsByHref(domain_root->doc, domain_root, (const xmlChar *)VP_QEMU_NS);
    if (!ns)
        ns = xmlNewNs(domain_root, (const xmlChar *)VP_QEMU_NS, (const xmlChar *)"qemu");
    if (!ns)
        abort();
    cl = vp_plan_new_child(domain_root, NULL, "commandline");
    xmlSetNs(cl, ns);
    return cl;
}

static xmlNode *
new_qemu_arg(xmlNode *cl, const char *value)
{
    xmlNode *arg = vp_plan_new_child(cl, NULL, "arg");

    xmlSetNs(arg, cl->ns);
    vp_plan_set_prop(arg, "value", value);
    return arg;
}

void
vp_plan_set_ovmf_mmio64(xmlNode *domain_root, uint64_t mib)
{
    xmlNode *arg = NULL, *cl;
    uint64_t cur;
    char value[96];

    snprintf(value, sizeof(value), "name=%s,string=%llu", VP_OVMF_MMIO64_FWCFG,
             (unsigned long long)mib);
    if (vp_plan_ovmf_mmio64_arg(domain_root, &cur, &arg)) {
        vp_plan_set_prop(arg, "value", value);
        return;
    }
    cl = qemu_commandline(domain_root, true);
    new_qemu_arg(cl, "-fw_cfg");
    new_qemu_arg(cl, value);
}

/* True when NODE or an element or attribute below it uses NS. */
static bool
ns_used(const xmlNode *node, const xmlNs *ns)
{
    for (const xmlNode *n = node; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (n->ns == ns)
            return true;
        for (const xmlAttr *a = n->properties; a; a = a->next)
            if (a->ns == ns)
                return true;
        if (ns_used(n->children, ns))
            return true;
    }
    return false;
}

/* Drop the declaration of HREF from DOMAIN_ROOT once nothing uses it (libvirt writes
 * xmlns:qemu only with QEMU elements). */
static void
drop_unused_ns(xmlNode *domain_root, const char *href)
{
    for (xmlNs **pp = &domain_root->nsDef; *pp; pp = &(*pp)->next) {
        xmlNs *ns = *pp;

        if (!ns->href || strcmp((const char *)ns->href, href) != 0)
            continue;
        if (domain_root->ns == ns || ns_used(domain_root->children, ns))
            return;
        for (const xmlAttr *a = domain_root->properties; a; a = a->next)
            if (a->ns == ns)
                return;
        *pp = ns->next;
        ns->next = NULL;
        xmlFreeNs(ns);
        return;
    }
}

/* Remove the X-PciMmio64Mb argument, the -fw_cfg before it, and an empty commandline. */
static void
remove_ovmf_mmio64(xmlNode *domain_root)
{
    xmlNode *arg, *prev, *cl;
    uint64_t cur;

    if (!vp_plan_ovmf_mmio64_arg(domain_root, &cur, &arg))
        return;
    cl = arg->parent;
    prev = arg->prev;
    while (prev && prev->type != XML_ELEMENT_NODE)
        prev = prev->prev;
    if (prev) {
        vp_autofree char *v = vp_xml_prop(prev, "value");

        if (vp_streq(v, "-fw_cfg"))
            vp_plan_remove_node(prev);
    }
    vp_plan_remove_node(arg);
    if (!vp_xml_next(cl->children, NULL)) {
        vp_plan_remove_node(cl);
        drop_unused_ns(domain_root, VP_QEMU_NS);
    }
}

bool
vp_plan_add_maxphysaddr(xmlNode *domain_root)
{
    xmlNode *cpu = vp_xml_child(domain_root, "cpu");
    bool created = false;
    xmlNode *mpa;

    if (!cpu) {
        /* libvirt's element order puts <cpu> before <clock>; it re-orders on define anyway. */
        xmlNode *before = vp_xml_child(domain_root, "clock");

        if (!before)
            before = vp_xml_child(domain_root, "devices");
        cpu = vp_plan_new_child(domain_root, before, "cpu");
        created = true;
    }
    mpa = vp_plan_new_child(cpu, NULL, "maxphysaddr");
    vp_plan_set_prop(mpa, "mode", "passthrough");
    return created;
}

unsigned
vp_plan_window_bits(uint64_t memory, uint64_t window)
{
    uint64_t start, end;

    if (!window)
        return 0;
    /* The firmware places the window above RAM, aligned to its size (SeaBIOS pci_setup,
     * OVMF PlatformGetFirstNonAddress): the highest address is start + window - 1. */
    if (__builtin_add_overflow(RAM_ABOVE_4G_START, memory, &start))
        return 64;
    if (start % window && __builtin_add_overflow(start, window - start % window, &start))
        return 64;
    if (__builtin_add_overflow(start, window - 1, &end))
        return 64;
    return (unsigned)(64 - __builtin_clzll(end));
}

bool
vp_plan_needs_maxphysaddr(uint64_t memory, uint64_t window)
{
    return vp_plan_window_bits(memory, window) > DEFAULT_PHYS_BITS;
}

void
vp_plan_restore_settings(xmlNode *domain_root, vp_meta *m, char ***parts)
{
    char size[VP_PLAN_SIZE_STRLEN];

    if (m->pcihole64.has) {
        xmlNode *ctl = vp_plan_root_controller(domain_root);
        xmlNode *hole = ctl ? vp_xml_child(ctl, "pcihole64") : NULL;

        if (m->pcihole64.old_none) {
            if (hole)
                vp_plan_remove_node(hole);
            vp_strv_push(parts, "remove <pcihole64> (vpass set it)");
        } else {
            vp_autofree char *model = ctl ? vp_xml_prop(ctl, "model") : NULL;

            vp_plan_set_pcihole64(domain_root, vp_streq(model, "pcie-root"), m->pcihole64.old);
            vp_strv_push_take(parts, vp_asprintf("<pcihole64> back to %s",
                                                 vp_plan_size_str(m->pcihole64.old * 1024, size)));
        }
        memset(&m->pcihole64, 0, sizeof(m->pcihole64));
    }
    if (m->maxphysaddr.has) {
        xmlNode *cpu = vp_xml_child(domain_root, "cpu");
        xmlNode *mpa = vp_xml_child(cpu, "maxphysaddr");

        if (mpa)
            vp_plan_remove_node(mpa);
        if (cpu && m->maxphysaddr.cpu_created && !vp_xml_next(cpu->children, NULL) &&
            !cpu->properties)
            vp_plan_remove_node(cpu);
        vp_strv_push(parts, "remove <maxphysaddr> (vpass added it)");
        memset(&m->maxphysaddr, 0, sizeof(m->maxphysaddr));
    }
    if (m->ovmf_mmio64.has) {
        if (m->ovmf_mmio64.old_none) {
            remove_ovmf_mmio64(domain_root);
            vp_strv_push(parts, "remove OVMF's X-PciMmio64Mb from <qemu:commandline>");
        } else {
            vp_plan_set_ovmf_mmio64(domain_root, m->ovmf_mmio64.old);
            vp_strv_push_take(parts, vp_asprintf("OVMF's X-PciMmio64Mb back to %llu",
                                                 (unsigned long long)m->ovmf_mmio64.old));
        }
        memset(&m->ovmf_mmio64, 0, sizeof(m->ovmf_mmio64));
    }
}
