/* Attach planning: checks, idempotence, sibling isolation, guest slots for a card's functions,
 * the device XML from the templates, the 64-bit MMIO window and vpass's metadata record. */
#include <stdlib.h>
#include <string.h>

#include "../source/source.h"
#include "plan_int.h"
#include "plan_mmio.h"

/* A function to attach and where it goes in the guest. */
typedef struct {
    vp_device *dev;
    bool has_guest;
    vp_pci_addr guest;
    bool multifunction; /* multifunction='on' (the card's guest function 0) */
    bool rom_file;      /* gets req->rom_file: the first function of its card */
    bool unbind;        /* managed='no' on a host driver: vpass binds it to vfio-pci */
} attach_fn;

/* A pcie-root-port vpass adds for one card. */
typedef struct {
    unsigned index, chassis, port;
} root_port;

typedef struct {
    const vp_host *h;
    const vp_plan_request *req;
    vp_plan *p;
    const char *dom; /* label for summaries */
    vp_domain xdom;  /* what the definition to change says (machine, firmware, window) */
    bool have_xdom;
    xmlDoc *doc; /* req->domain_xml, NULL when no domain */
    xmlNode *root;
    vp_held *held;
    size_t n_held;
    vp_meta meta;
    xmlNode *meta_node;
    vp_device **sel;
    size_t n_sel;
    attach_fn *add;
    size_t n_add;
    root_port *ports;
    size_t n_ports;
    vp_device **isolate; /* siblings (and managed='no' functions) to bind to vfio-pci */
    size_t n_isolate;
} attach_ctx;

static void
attach_ctx_clear(attach_ctx *c)
{
    if (c->have_xdom)
        vp_domain_clear(&c->xdom);
    xmlFreeDoc(c->doc);
    free(c->held);
    vp_meta_clear(&c->meta);
    free(c->sel);
    free(c->add);
    free(c->ports);
    free(c->isolate);
}

static int
validate_request(const vp_plan_request *req, vp_error *err)
{
    if (req->rom == VP_ROM_DISABLED && req->rom_file)
        return vp_error_set(
            err, VP_E_USAGE,
            "--no-rom and --rom-file exclude each other (libvirt: <rom enabled='no'/> takes no file)");
    if (req->rom_file && req->rom_file[0] != '/')
        return vp_error_set(
            err, VP_E_USAGE,
            "--rom-file '%s': give an absolute path (libvirt resolves it on the host running QEMU)",
            req->rom_file);
    if (req->mmio == VP_MMIO_SIZE && req->mmio_bytes == 0)
        return vp_error_set(err, VP_E_USAGE, "--mmio64: a size of zero");
    return 0;
}

/* A block the plan itself removes: OVMF's window too small when vpass raises X-PciMmio64Mb
 * to the estimate (--mmio64 auto --ovmf-mmio64-commandline). */
static bool
resolved_by_plan(const vp_plan_request *req, const vp_finding *f)
{
    return strcmp(f->code, "mmio64-too-small") == 0 && req->mmio == VP_MMIO_AUTO &&
           req->ovmf_mmio_commandline;
}

/* Run the checks on the whole selection; -1 VP_E_UNSAFE on the first block that stands. */
static int
run_checks(attach_ctx *c, vp_error *err)
{
    const vp_plan_request *req = c->req;
    vp_autofree vp_device **devs = NULL;
    vp_check_target t = req->target;
    size_t n = 0;

    /* The user's devices as given (a bridge among them is a finding, not dropped), plus what
     * the group and --all-functions add. */
    devs = vp_malloc0((req->target.n_devices + c->n_sel + 1) * sizeof(*devs));
    for (size_t i = 0; i < req->target.n_devices; i++)
        devs[n++] = req->target.devices[i];
    for (size_t i = 0; i < c->n_sel; i++)
        devs[n++] = c->sel[i];
    t.devices = devs;
    t.n_devices = n;
    vp_check_run(c->h, &t, &c->p->findings);
    if (vp_findings_worst(&c->p->findings, req->force) != VP_SEV_BLOCK)
        return 0;
    for (size_t i = 0; i < c->p->findings.n; i++) {
        const vp_finding *f = &c->p->findings.items[i];

        if (f->severity != VP_SEV_BLOCK || (req->force && f->overridable) ||
            resolved_by_plan(req, f))
            continue;
        vp_error_set(err, VP_E_UNSAFE, "%s", f->message);
        if (f->fix)
            vp_error_hint(err, "%s%s", f->fix, f->overridable ? " (or --force)" : "");
        else if (f->overridable)
            vp_error_hint(err, "--force overrides this check");
        return -1;
    }
    return 0;
}

static int
load_domain(attach_ctx *c, vp_error *err)
{
    const vp_plan_request *req = c->req;
    const char *def = req->config_xml ? req->config_xml : req->domain_xml;

    if (!req->domain_xml)
        return 0;
    if (vp_xml_parse(req->domain_xml, "domain XML", &c->doc, err) < 0)
        return vp_error_prefix(err, "%s", c->dom);
    c->root = xmlDocGetRootElement(c->doc);
    if (!vp_xml_is(c->root, "domain"))
        return vp_error_set(err, VP_E_DATA, "%s: root element <%s>, expected <domain>", c->dom,
                            (const char *)c->root->name);
    c->xdom.name = vp_strdup(req->domain_name ? req->domain_name : "");
    c->have_xdom = true;
    if (vp_domxml_read_domain(&c->xdom, def, err) < 0)
        return -1;
    c->p->machine = vp_strdup(c->xdom.machine);
    c->n_held = vp_plan_find_held(c->root, &c->held);
    return vp_meta_read(c->root, &c->meta, &c->meta_node, err) < 0
               ? vp_error_prefix(err, "%s", c->dom)
               : 0;
}

/* Every selected function is already in the definition: say so and plan nothing. */
static bool
plan_noop(attach_ctx *c)
{
    vp_autofree vp_pci_addr *addrs = NULL;
    vp_autofree char *list = NULL;

    for (size_t i = 0; i < c->n_sel; i++)
        if (!vp_plan_held_find(c->held, c->n_held, &c->sel[i]->addr))
            return false;
    addrs = vp_malloc0(c->n_sel * sizeof(*addrs));
    for (size_t i = 0; i < c->n_sel; i++)
        addrs[i] = c->sel[i]->addr;
    list = vp_plan_addr_list(addrs, c->n_sel);
    c->p->noop = true;
    c->p->noop_reason = vp_asprintf("%s already holds %s", c->dom, list);
    return true;
}

/* Functions not in the definition yet, with the card boundaries marked. */
static void
collect_additions(attach_ctx *c)
{
    c->add = vp_malloc0((c->n_sel + 1) * sizeof(*c->add));
    for (size_t i = 0; i < c->n_sel; i++) {
        vp_device *d = c->sel[i];

        if (vp_plan_held_find(c->held, c->n_held, &d->addr))
            continue;
        c->add[c->n_add++] = (attach_fn){
            .dev = d,
            .unbind = !c->req->managed && !vp_driver_is_vfio_or_none(d->driver),
        };
    }
}

static bool
selected(const attach_ctx *c, const vp_device *d)
{
    for (size_t i = 0; i < c->n_sel; i++)
        if (c->sel[i] == d)
            return true;
    return false;
}

/* Group siblings on a host driver that must go to vfio-pci for the group to be viable
 * (kernel Documentation/driver-api/vfio.rst "Groups"), and managed='no' functions still on a
 * host driver (libvirt leaves those to the user). Address order. */
static void
collect_isolation(attach_ctx *c)
{
    const vp_host *h = c->h;

    c->isolate = vp_malloc0((h->n_devices + 1) * sizeof(*c->isolate));
    for (size_t i = 0; i < h->n_devices; i++) {
        vp_device *d = h->devices[i];
        bool sibling = false;

        if (d->is_bridge || vp_driver_is_vfio_or_none(d->driver))
            continue;
        if (selected(c, d)) {
            for (size_t j = 0; j < c->n_add; j++)
                if (c->add[j].dev == d && c->add[j].unbind)
                    c->isolate[c->n_isolate++] = d;
            continue;
        }
        if (!d->has_group || vp_plan_held_find(c->held, c->n_held, &d->addr))
            continue; /* the domain holds it: libvirt detaches it with the domain */
        for (size_t j = 0; j < c->n_add && !sibling; j++)
            sibling = c->add[j].dev->has_group && c->add[j].dev->group == d->group;
        if (sibling)
            c->isolate[c->n_isolate++] = d;
    }
}

/* The highest index of a <controller type='pci'> and the chassis/port numbers in use. */
static void
scan_controllers(xmlNode *root, unsigned *ret_max_index, bool used_chassis[256],
                 bool used_port[256], unsigned *ret_max_port)
{
    *ret_max_index = 0;
    *ret_max_port = 0x7; /* libvirt numbers root ports from 0x8 (slot 1 << 3) */
    for (xmlNode *devs = vp_xml_child(root, "devices"); devs;
         devs = vp_xml_next_sibling(devs, "devices")) {
        for (xmlNode *ctl = vp_xml_child(devs, "controller"); ctl;
             ctl = vp_xml_next_sibling(ctl, "controller")) {
            vp_autofree char *type = vp_xml_prop(ctl, "type");
            vp_autofree char *idx = NULL;
            xmlNode *target;
            uint64_t v;

            if (!vp_streq(type, "pci"))
                continue;
            idx = vp_xml_prop(ctl, "index");
            if (idx && vp_xml_parse_libvirt_uint(idx, &v) == 0 && v > *ret_max_index && v < 256)
                *ret_max_index = (unsigned)v;
            target = vp_xml_child(ctl, "target");
            if (target) {
                vp_autofree char *chassis = vp_xml_prop(target, "chassis");
                vp_autofree char *port = vp_xml_prop(target, "port");

                if (chassis && vp_xml_parse_libvirt_uint(chassis, &v) == 0 && v < 256)
                    used_chassis[v] = true;
                if (port && vp_xml_parse_libvirt_uint(port, &v) == 0 && v < 256) {
                    used_port[v] = true;
                    if (v > *ret_max_port)
                        *ret_max_port = (unsigned)v;
                }
            }
        }
    }
}

/* The first unused number of USED from FROM on (1..255), 0 when none is left. */
static unsigned
first_free(bool used[256], unsigned from)
{
    for (unsigned i = from; i < 256; i++)
        if (!used[i])
            return i;
    for (unsigned i = 1; i < from && i < 256; i++)
        if (!used[i])
            return i;
    return 0;
}

/* Slots of bus 0 (PCI domain 0) that i440fx guest devices occupy or QEMU reserves. */
static void
scan_bus0(xmlNode *root, bool used[32])
{
    bool unaddressed_video = false;

    /* QEMU's i440fx puts the host bridge at 00.0 and the PIIX3 (ISA, IDE, USB, PM) at 01.x
     * whatever the XML says (hw/i386/pc_piix.c). */
    used[0] = used[1] = true;
    for (xmlNode *devs = vp_xml_child(root, "devices"); devs;
         devs = vp_xml_next_sibling(devs, "devices")) {
        for (xmlNode *dev = vp_xml_next(devs->children, NULL); dev;
             dev = vp_xml_next(dev->next, NULL)) {
            vp_pci_addr a;
            xmlNode *an = vp_plan_guest_address(dev, &a);

            if (an && a.domain == 0 && a.bus == 0)
                used[a.slot] = true;
            if (!an && vp_xml_is(dev, "video"))
                unaddressed_video = true;
        }
    }
    /* libvirt gives the primary video 00:02.0 on i440fx when the definition leaves it open
     * (qemuDomainAssignPCIAddresses); keep that slot for it. */
    if (unaddressed_video)
        used[2] = true;
}

/* Group the additions by card and give each card its guest slot: on q35 (config) a
 * pcie-root-port of vpass's own per card, one function or several, so that detach removes
 * exactly what attach added (libvirt, left to place a function, adds root ports and
 * pcie-to-pci-bridges that nobody would remove); elsewhere, and for a hotplug, a
 * multifunction card gets a slot and a single function is placed by libvirt. */
static int
assign_guest_slots(attach_ctx *c, vp_error *err)
{
    bool q35 = c->have_xdom && vp_machine_is_q35(c->xdom.machine);
    bool live = vp_plan_affects_live(c->req->affect, c->req->target.domain);
    bool bus0[32] = {false}, chassis[256] = {false}, ports[256] = {false};
    unsigned next_index = 0, max_port = 0;
    bool scanned = false;

    for (size_t i = 0; i < c->n_add;) {
        size_t j = i, n;
        bool has_f0 = false;

        while (j < c->n_add && vp_pci_addr_same_slot(&c->add[j].dev->addr, &c->add[i].dev->addr))
            j++;
        n = j - i;
        c->add[i].rom_file = true;
        if (!c->root || (n == 1 && (!q35 || live))) {
            /* One function on i440fx, or hot-plugged: libvirt picks a slot. No definition:
             * nothing to pick from. */
            if (n > 1)
                vp_strv_push_take(
                    &c->p->notes,
                    vp_asprintf(
                        "no domain definition: the functions of %.*s get no guest address (libvirt would put each on its own slot); give --domain to keep them together",
                        (int)(strlen(c->add[i].dev->addr_str) - 2), c->add[i].dev->addr_str));
            i = j;
            continue;
        }
        if (live) {
            vp_error_set(
                err, VP_E_UNSUPPORTED,
                "libvirt cannot hotplug a multifunction card; use --config and restart the domain");
            return -1;
        }
        for (size_t k = i; k < j; k++)
            has_f0 |= c->add[k].dev->addr.func == 0;
        if (!scanned) {
            scan_controllers(c->root, &next_index, chassis, ports, &max_port);
            next_index++;
            scan_bus0(c->root, bus0);
            scanned = true;
        }
        {
            vp_pci_addr slot = {0};

            if (q35) {
                root_port rp = {.index = next_index++};

                if (rp.index > 255) {
                    vp_error_set(err, VP_E_UNSUPPORTED,
                                 "%s: no PCI controller index left for a pcie-root-port", c->dom);
                    return -1;
                }
                rp.chassis = !chassis[rp.index] ? rp.index : first_free(chassis, rp.index);
                rp.port = first_free(ports, max_port + 1);
                if (!rp.chassis || !rp.port) {
                    vp_error_set(err, VP_E_UNSUPPORTED,
                                 "%s: no pcie-root-port chassis or port number left", c->dom);
                    return -1;
                }
                chassis[rp.chassis] = ports[rp.port] = true;
                max_port = rp.port;
                c->ports = vp_realloc_array(c->ports, c->n_ports + 1, sizeof(*c->ports));
                c->ports[c->n_ports++] = rp;
                slot.bus = (uint8_t)rp.index;
                slot.slot = 0;
            } else {
                unsigned s = 2;

                while (s < 32 && bus0[s])
                    s++;
                if (s == 32) {
                    vp_error_set(err, VP_E_UNSUPPORTED,
                                 "%s: no free slot on PCI bus 0 for a multifunction card", c->dom);
                    return -1;
                }
                bus0[s] = true;
                slot.slot = (uint8_t)s;
            }
            /* Guest function = host function when function 0 is there; otherwise the
             * functions are numbered from 0, since a guest scans a slot only when function 0
             * exists (PCI Local Bus 3.0, 3.2.2.3.4 "multi-function devices"). */
            for (size_t k = i; k < j; k++) {
                attach_fn *f = &c->add[k];

                f->has_guest = true;
                f->guest = slot;
                f->guest.func = has_f0 ? f->dev->addr.func : (uint8_t)(k - i);
                f->multifunction = n > 1 && f->guest.func == 0;
            }
        }
        i = j;
    }
    return 0;
}

/* The <hostdev> of F from template TPL (allocated XML). */
static int
build_hostdev(const attach_ctx *c, const xmlDoc *tpl, const attach_fn *f, char **ret, vp_error *err)
{
    const vp_plan_request *req = c->req;
    vp_autoxmldoc doc = xmlCopyDoc((xmlDoc *)tpl, 1);
    xmlNode *root, *src, *rom, *guest;
    bool rom_used = false;

    if (!doc)
        abort();
    root = xmlDocGetRootElement(doc);
    src = vp_xml_child(vp_xml_child(root, "source"), "address");
    rom = vp_xml_child(root, "rom");
    guest = vp_plan_guest_address(root, NULL);
    if (!src)
        return vp_error_set(err, VP_E_SYSTEM, "%s/%s: template has no <source><address>",
                            req->templates_dir, VP_TPL_HOSTDEV);
    vp_plan_set_prop(root, "managed", req->managed ? "yes" : "no");
    vp_plan_set_pci_address(src, &f->dev->addr);

    /* ROM (formatdomain: <rom bar file enabled>). VP_ROM_DEFAULT writes no element: the
     * checks' rom-* advice is text for the operator, and QEMU's default (ROM BAR visible,
     * the device's own ROM) is right for GPUs; VFs have no ROM (SR-IOV 1.1, 3.3.14). */
    if (req->rom != VP_ROM_DEFAULT || (req->rom_file && f->rom_file)) {
        if (!rom)
            return vp_error_set(err, VP_E_SYSTEM, "%s/%s: template has no <rom>",
                                req->templates_dir, VP_TPL_HOSTDEV);
        switch (req->rom) {
        case VP_ROM_DEFAULT:
            break;
        case VP_ROM_BAR_ON:
            vp_plan_set_prop(rom, "bar", "on");
            rom_used = true;
            break;
        case VP_ROM_BAR_OFF:
            vp_plan_set_prop(rom, "bar", "off");
            rom_used = true;
            break;
        case VP_ROM_DISABLED:
            vp_plan_set_prop(rom, "enabled", "no");
            rom_used = true;
            break;
        }
        if (req->rom_file && f->rom_file) {
            vp_plan_set_prop(rom, "file", req->rom_file);
            rom_used = true;
        }
    }
    if (rom && !rom_used)
        vp_plan_remove_node(rom);

    if (f->has_guest) {
        if (!guest)
            return vp_error_set(err, VP_E_SYSTEM,
                                "%s/%s: template has no guest <address type='pci'>",
                                req->templates_dir, VP_TPL_HOSTDEV);
        vp_plan_set_pci_address(guest, &f->guest);
        if (f->multifunction)
            vp_plan_set_prop(guest, "multifunction", "on");
    } else if (guest) {
        vp_plan_remove_node(guest);
    }
    *ret = vp_plan_xml_dump(root);
    return 0;
}

static int
build_root_port(const attach_ctx *c, const root_port *rp, char **ret, vp_error *err)
{
    vp_autoxmldoc doc = NULL;
    xmlNode *root, *target;

    if (vp_plan_template_load(c->req->templates_dir, VP_TPL_ROOT_PORT, "controller", NULL, &doc,
                              err) < 0)
        return -1;
    root = xmlDocGetRootElement(doc);
    target = vp_xml_child(root, "target");
    if (!target)
        return vp_error_set(err, VP_E_SYSTEM, "%s/%s: template has no <target>",
                            c->req->templates_dir, VP_TPL_ROOT_PORT);
    vp_plan_set_propf(root, "index", "%u", rp->index);
    vp_plan_set_propf(target, "chassis", "%u", rp->chassis);
    vp_plan_set_propf(target, "port", "0x%x", rp->port);
    *ret = vp_plan_xml_dump(root);
    return 0;
}

/* The devices the domain holds after the change that the model knows: for the estimate. */
static size_t
held_after(const attach_ctx *c, vp_device ***ret)
{
    vp_device **v = vp_malloc0((c->n_add + c->n_held + 1) * sizeof(*v));
    size_t n = 0;

    for (size_t i = 0; i < c->n_add; i++)
        v[n++] = c->add[i].dev;
    for (size_t i = 0; i < c->n_held; i++) {
        vp_device *d = vp_host_find_device(c->h, &c->held[i].addr);

        if (d)
            v[n++] = d;
    }
    *ret = v;
    return n;
}

/* Record the old value of a setting unless an earlier vpass change already did: undo must
 * go back to what the user had. */
static void
record_setting(vp_meta_setting *s, bool had, uint64_t old)
{
    if (s->has)
        return;
    s->has = true;
    s->old_none = !had;
    s->old = had ? old : 0;
}

/* OVMF: the firmware sizes the window; <pcihole64> does not reach it. */
static void
plan_ovmf(attach_ctx *c, xmlNode *rroot, uint64_t need, uint64_t window, bool *changed,
          char ***parts)
{
    uint64_t mib = need / (1ULL << 20) + (need % (1ULL << 20) != 0), cur = 0;
    bool has_cur = vp_plan_ovmf_mmio64_arg(rroot, &cur, NULL);
    char size[VP_PLAN_SIZE_STRLEN], win[VP_PLAN_SIZE_STRLEN];

    if (has_cur ? cur >= mib : need <= window)
        return;
    vp_plan_size_str(need, size);
    vp_plan_size_str(has_cur ? cur << 20 : window, win);
    if (!c->req->ovmf_mmio_commandline) {
        vp_strv_push_take(
            &c->p->notes,
            vp_asprintf(
                "%s: OVMF sizes the 64-bit MMIO window itself (<pcihole64> does not reach it): the devices need %s, more than its %s; pass --ovmf-mmio64-commandline to set X-PciMmio64Mb=%llu through <qemu:commandline> (libvirt then marks the domain tainted), or use an OVMF from late 2022 on with <maxphysaddr mode='passthrough'/>",
                c->dom, size, win, (unsigned long long)mib));
        return;
    }
    record_setting(&c->meta.ovmf_mmio64, has_cur, cur);
    vp_plan_set_ovmf_mmio64(rroot, mib);
    vp_strv_push_take(
        parts,
        vp_asprintf(
            "OVMF X-PciMmio64Mb %s -> %llu MiB through <qemu:commandline> (taints the domain)",
            has_cur ? win : "unset", (unsigned long long)mib));
    vp_strv_push_take(
        &c->p->notes,
        vp_asprintf("%s: <qemu:commandline> makes libvirt mark the domain tainted (custom-argv)",
                    c->dom));
    *changed = true;
}

/* Size the 64-bit window (--mmio64) in a copy of the definition; *RET_XML is the whole
 * modified definition, NULL when nothing changes. */
static int
plan_mmio(attach_ctx *c, char **ret_xml, char **ret_summary, vp_error *err)
{
    const vp_plan_request *req = c->req;
    const char *def = req->config_xml ? req->config_xml : req->domain_xml;
    vp_autoxmldoc rdoc = NULL;
    vp_autostrv char **parts = NULL;
    vp_autofree vp_device **devs = NULL;
    vp_autofree char *joined = NULL;
    xmlNode *rroot;
    vp_mmio64 m = {0};
    vp_check_target t = {0};
    bool changed = false, q35;
    uint64_t target = 0;
    char size[VP_PLAN_SIZE_STRLEN], old[VP_PLAN_SIZE_STRLEN];

    *ret_xml = *ret_summary = NULL;
    if (req->mmio == VP_MMIO_LEAVE)
        return 0;
    if (!c->root) {
        vp_strv_push(&c->p->notes, "no domain definition: --mmio64 changes nothing");
        return 0;
    }
    if (!vp_plan_affects_config(req->affect, req->target.domain)) {
        vp_strv_push_take(
            &c->p->notes,
            vp_asprintf(
                "%s: the 64-bit MMIO window is part of the persistent definition: --mmio64 needs --config",
                c->dom));
        return 0;
    }
    if (vp_xml_parse(def, "domain XML", &rdoc, err) < 0)
        return vp_error_prefix(err, "%s", c->dom);
    rroot = xmlDocGetRootElement(rdoc);
    q35 = vp_machine_is_q35(c->xdom.machine);

    if (req->mmio == VP_MMIO_OFF) {
        vp_plan_restore_settings(rroot, &c->meta, &parts);
        changed = parts != NULL;
        goto done;
    }

    t.n_devices = held_after(c, &devs);
    t.devices = devs;
    t.domain = &c->xdom;
    vp_mmio64_estimate(c->h, &t, &m);
    if (m.n_unknown)
        vp_strv_push_take(
            &c->p->notes,
            vp_asprintf("%s: BARs of %s not read: the 64-bit MMIO estimate is a lower bound",
                        c->dom, m.unknown));
    if (req->mmio == VP_MMIO_SIZE) {
        target = req->mmio_bytes;
    } else {
        target = m.need;
        if (!target)
            goto done; /* no 64-bit prefetchable BAR: nothing to fit */
        if (!m.window_known) {
            vp_strv_push_take(
                &c->p->notes,
                vp_asprintf("%s: 64-bit MMIO window not modelled (%s): --mmio64 auto leaves it",
                            c->dom, m.window_from));
            goto done;
        }
    }

    if (c->xdom.firmware == VP_FIRMWARE_EFI) {
        plan_ovmf(c, rroot, target, m.window, &changed, &parts);
    } else if (c->xdom.arch && strcmp(c->xdom.arch, "x86_64") != 0 &&
               strcmp(c->xdom.arch, "i686") != 0) {
        vp_strv_push_take(
            &c->p->notes,
            vp_asprintf("%s: <pcihole64> is x86 only (arch %s): --mmio64 changes nothing", c->dom,
                        c->xdom.arch));
        goto done;
    } else {
        uint64_t kib = target / 1024 + (target % 1024 != 0);
        bool differs = req->mmio == VP_MMIO_SIZE
                           ? !c->xdom.has_pcihole64 || c->xdom.pcihole64_kib != kib
                           : target > m.window;

        if (differs) {
            record_setting(&c->meta.pcihole64, c->xdom.has_pcihole64, c->xdom.pcihole64_kib);
            vp_plan_set_pcihole64(rroot, q35, kib);
            if (c->xdom.has_pcihole64)
                vp_plan_size_str(c->xdom.pcihole64_kib * 1024, old);
            else
                snprintf(old, sizeof(old), "unset (%s)", m.window_known ? "default" : "?");
            vp_strv_push_take(&parts, vp_asprintf("<pcihole64> %s -> %s on %s", old,
                                                  vp_plan_size_str(kib * 1024, size),
                                                  q35 ? "pcie-root" : "pci-root"));
            changed = true;
        }
    }
    /* The window must also be addressable: QEMU gives most CPU models 40 physical address
     * bits unless told otherwise (libvirt >= 8.7: <maxphysaddr>). */
    if (!c->xdom.maxphysaddr_mode && !vp_xml_child(vp_xml_child(rroot, "cpu"), "maxphysaddr") &&
        vp_plan_needs_maxphysaddr(vp_plan_domain_memory(rroot),
                                  target > m.window || req->mmio == VP_MMIO_SIZE ? target
                                                                                 : m.window)) {
        bool created = vp_plan_add_maxphysaddr(rroot);

        c->meta.maxphysaddr.has = true;
        c->meta.maxphysaddr.old_none = true;
        c->meta.maxphysaddr.cpu_created = created;
        vp_strv_push(
            &parts,
            "<cpu><maxphysaddr mode='passthrough'/> (the window ends above 2^40; needs libvirt >= 8.7)");
        changed = true;
    }
done:
    vp_mmio64_clear(&m);
    if (!changed)
        return 0;
    joined = vp_strv_join(parts, "; ", "");
    *ret_xml = vp_plan_xml_dump(rroot);
    *ret_summary = vp_asprintf("redefine %s (config): %s", c->dom, joined);
    return 0;
}

/* Merge this attach into the domain's vpass record. */
static void
merge_metadata(attach_ctx *c)
{
    for (size_t i = 0; i < c->n_add; i++) {
        const attach_fn *f = &c->add[i];
        bool known = false;

        for (size_t j = 0; j < c->meta.n_devices; j++)
            known |= vp_pci_addr_eq(&c->meta.devices[j].addr, &f->dev->addr);
        if (!known)
            vp_meta_add_device(&c->meta, &f->dev->addr, VP_USE_HOSTDEV,
                               f->unbind ? f->dev->driver : NULL);
    }
    for (size_t i = 0; i < c->n_ports; i++)
        vp_meta_add_controller(&c->meta, c->ports[i].index);
    for (size_t i = 0; i < c->n_isolate; i++) {
        vp_device *d = c->isolate[i];
        bool known = selected(c, d);

        for (size_t j = 0; j < c->meta.n_isolated; j++)
            known |= vp_pci_addr_eq(&c->meta.isolated[j].addr, &d->addr);
        if (!known)
            vp_meta_add_isolated(&c->meta, &d->addr, d->driver);
    }
    /* libvirt keeps an empty <metadata/> once vpass's element is removed: remember that the
     * domain had none, so the last detach can give the definition back as it was. */
    if (!vp_xml_child(c->root, "metadata") && !c->meta.metadata.has) {
        c->meta.metadata.has = true;
        c->meta.metadata.old_none = true;
    }
}

static int
add_steps(attach_ctx *c, const char *redefine_xml, const char *redefine_summary, vp_error *err)
{
    const vp_plan_request *req = c->req;
    const char *affect = vp_plan_affect_name(req->affect, req->target.domain);
    vp_autoxmldoc tpl = NULL;
    vp_step *s;

    for (size_t i = 0; i < c->n_isolate; i++) {
        vp_device *d = c->isolate[i];

        s = vp_plan_add_step(c->p, VP_STEP_ISOLATE);
        s->addr = d->addr;
        s->driver = vp_strdup(d->driver);
        s->summary =
            selected(c, d)
                ? vp_asprintf(
                      "isolate %s (%s -> vfio-pci; managed='no': libvirt leaves it to vpass)",
                      d->addr_str, d->driver)
                : vp_asprintf("isolate %s (%s -> vfio-pci, kept unassigned)", d->addr_str,
                              d->driver);
    }
    if (redefine_xml) {
        s = vp_plan_add_step(c->p, VP_STEP_REDEFINE);
        s->xml = vp_strdup(redefine_xml);
        s->old_xml = vp_strdup(req->config_xml ? req->config_xml : req->domain_xml);
        s->affect = VP_AFFECT_CONFIG;
        s->summary = vp_strdup(redefine_summary);
    }
    for (size_t i = 0; i < c->n_ports; i++) {
        s = vp_plan_add_step(c->p, VP_STEP_ADD_CONTROLLER);
        if (build_root_port(c, &c->ports[i], &s->xml, err) < 0)
            return -1;
        s->affect = VP_AFFECT_CONFIG;
        s->summary =
            vp_asprintf("add pcie-root-port index %u to %s (config)", c->ports[i].index, c->dom);
    }
    if (c->n_add &&
        vp_plan_template_load(req->templates_dir, VP_TPL_HOSTDEV, "hostdev", NULL, &tpl, err) < 0)
        return -1;
    for (size_t i = 0; i < c->n_add; i++) {
        s = vp_plan_add_step(c->p, VP_STEP_ATTACH);
        s->addr = c->add[i].dev->addr;
        s->affect = req->affect;
        if (build_hostdev(c, tpl, &c->add[i], &s->xml, err) < 0)
            return -1;
        s->summary = vp_asprintf("attach %s to %s (%s)", c->add[i].dev->addr_str, c->dom, affect);
    }
    if (c->root) {
        vp_autoxmldoc md = NULL;

        merge_metadata(c);
        if (vp_meta_build(&c->meta, req->templates_dir, &md, err) < 0)
            return -1;
        s = vp_plan_add_step(c->p, VP_STEP_SET_METADATA);
        s->xml = vp_meta_api_xml(xmlDocGetRootElement(md));
        s->old_xml = c->meta_node ? vp_meta_api_xml(c->meta_node) : NULL;
        s->affect = req->affect;
        s->summary = vp_asprintf(
            "record in %s's vpass metadata (%s): %zu device%s, %zu controller%s, %zu isolated",
            c->dom, affect, c->meta.n_devices, c->meta.n_devices == 1 ? "" : "s",
            c->meta.n_controllers, c->meta.n_controllers == 1 ? "" : "s", c->meta.n_isolated);
    }
    return 0;
}

int
vp_plan_attach(const vp_host *h, const vp_plan_request *req, vp_plan *ret, vp_error *err)
{
    vp_plan p = {0};
    attach_ctx c = {.h = h, .req = req, .p = &p, .dom = vp_plan_domain_label(req)};
    vp_autofree char *redefine = NULL;
    vp_autofree char *redefine_summary = NULL;
    int rc = -1;

    memset(ret, 0, sizeof(*ret));
    if (validate_request(req, err) < 0)
        return -1;
    c.n_sel = vp_plan_selection(h, req, &c.sel);
    if (c.n_sel == 0) {
        vp_error_set(err, VP_E_USAGE, "nothing to attach: the selection has no PCI endpoint");
        goto out;
    }
    p.domain = vp_strdup(req->domain_name);
    if (run_checks(&c, err) < 0 || load_domain(&c, err) < 0)
        goto out;
    if (plan_noop(&c)) {
        rc = 0;
        goto out;
    }
    collect_additions(&c);
    collect_isolation(&c);
    if (assign_guest_slots(&c, err) < 0 || plan_mmio(&c, &redefine, &redefine_summary, err) < 0 ||
        add_steps(&c, redefine, redefine_summary, err) < 0)
        goto out;
    rc = 0;
out:
    attach_ctx_clear(&c);
    return vp_plan_finish(&p, rc, ret);
}
