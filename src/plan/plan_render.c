/* Rendering a plan's devices for `vpass xml`: libvirt device XML, QEMU -device arguments or
 * Proxmox hostpciN lines, all read back from the XML the plan holds (one source of truth). */
#include <stdlib.h>
#include <string.h>

#include "plan_int.h"

/* A growing string. */
typedef struct {
    char *s;
    size_t len, alloc;
} strbuf;

static void
sb_add(strbuf *b, const char *s)
{
    size_t n = strlen(s);

    vp_grow(&b->s, &b->alloc, b->len + n + 1, 1);
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

static void
sb_take(strbuf *b, char *s)
{
    sb_add(b, s);
    free(s);
}

static bool
is_device_step(vp_step_kind k)
{
    switch (k) {
    case VP_STEP_ADD_CONTROLLER:
    case VP_STEP_ATTACH:
    case VP_STEP_DETACH:
    case VP_STEP_REMOVE_CONTROLLER:
        return true;
    case VP_STEP_ISOLATE:
    case VP_STEP_REDEFINE:
    case VP_STEP_SET_METADATA:
    case VP_STEP_REATTACH:
    case VP_STEP_SET_VF:
        return false;
    }
    return false;
}

/* What render needs from one device element. */
typedef struct {
    bool is_controller;
    unsigned index, chassis, port; /* controller */
    vp_pci_addr host;
    bool has_guest;
    vp_pci_addr guest;
    bool multifunction;
    char *rom_bar;  /* "on", "off", NULL */
    char *rom_file; /* NULL when none */
    bool rom_disabled;
} dev_info;

static void
dev_info_clear(dev_info *d)
{
    free(d->rom_bar);
    free(d->rom_file);
    memset(d, 0, sizeof(*d));
}

static unsigned
uint_prop(const xmlNode *n, const char *name)
{
    vp_autofree char *v = n ? vp_xml_prop(n, name) : NULL;
    uint64_t x = 0;

    if (v && vp_xml_parse_libvirt_uint(v, &x) < 0)
        x = 0;
    return (unsigned)x;
}

/* Parse a step's device XML; false when it is not one render knows. */
static bool
read_device(const char *xml, dev_info *d)
{
    vp_autoxmldoc doc = NULL;
    xmlNode *root, *src, *rom, *guest;

    memset(d, 0, sizeof(*d));
    if (vp_xml_parse(xml, "device XML", &doc, NULL) < 0)
        return false;
    root = xmlDocGetRootElement(doc);
    if (vp_xml_is(root, "controller")) {
        d->is_controller = true;
        d->index = uint_prop(root, "index");
        d->chassis = uint_prop(vp_xml_child(root, "target"), "chassis");
        d->port = uint_prop(vp_xml_child(root, "target"), "port");
        return true;
    }
    if (!vp_xml_is(root, "hostdev") && !vp_xml_is(root, "interface"))
        return false;
    src = vp_xml_child(vp_xml_child(root, "source"), "address");
    if (!src || vp_xml_pci_address(src, &d->host, NULL) < 0)
        return false;
    guest = vp_plan_guest_address(root, &d->guest);
    if (guest) {
        vp_autofree char *mf = vp_xml_prop(guest, "multifunction");

        d->has_guest = true;
        d->multifunction = vp_streq(mf, "on");
    }
    rom = vp_xml_child(root, "rom");
    if (rom) {
        vp_autofree char *enabled = vp_xml_prop(rom, "enabled");

        d->rom_bar = vp_xml_prop(rom, "bar");
        d->rom_file = vp_xml_prop(rom, "file");
        d->rom_disabled = vp_streq(enabled, "no");
    }
    return true;
}

/* A QEMU -device option value: a ',' inside one is written ',,' (QemuOpts). */
static char *
qemu_escape(const char *v)
{
    size_t n = 0;
    char *out, *p;

    for (const char *s = v; *s; s++)
        n += *s == ',' ? 2 : 1;
    out = p = vp_malloc0(n + 1);
    for (const char *s = v; *s; s++) {
        *p++ = *s;
        if (*s == ',')
            *p++ = ',';
    }
    return out;
}

/* ARG quoted for a POSIX shell when it holds anything but plain characters. */
static char *
shell_quote(const char *arg)
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789,._+:@%/=-";
    strbuf b = {0};

    if (*arg && strspn(arg, plain) == strlen(arg))
        return vp_strdup(arg);
    sb_add(&b, "'");
    for (const char *s = arg; *s; s++) {
        char c[2] = {*s, '\0'};

        sb_add(&b, *s == '\'' ? "'\\''" : c);
    }
    sb_add(&b, "'");
    return b.s;
}

static void
render_qemu_device(strbuf *out, const dev_info *d)
{
    strbuf a = {0};
    char buf[VP_PCI_ADDR_STRLEN];

    if (d->is_controller) {
        /* libvirt's names: controller index N is bus "pci.N" on q35's "pcie.0". */
        sb_take(&a, vp_asprintf("pcie-root-port,id=pci.%u,bus=pcie.0,chassis=%u,port=0x%x",
                                d->index, d->chassis, d->port));
    } else {
        sb_take(&a, vp_asprintf("vfio-pci,host=%s", vp_pci_addr_format(&d->host, buf)));
        if (d->has_guest) {
            /* Bus 0 is i440fx's "pci.0"; a non-zero bus is a root port vpass named pci.N. */
            sb_take(&a, vp_asprintf(",bus=pci.%u,addr=0x%x.0x%x", (unsigned)d->guest.bus,
                                    (unsigned)d->guest.slot, (unsigned)d->guest.func));
            if (d->multifunction)
                sb_add(&a, ",multifunction=on");
        }
        if (d->rom_disabled) {
            sb_add(&a, ",romfile="); /* empty: no ROM at all (libvirt's enabled='no') */
        } else {
            if (d->rom_bar)
                sb_add(&a, vp_streq(d->rom_bar, "off") ? ",rombar=0" : ",rombar=1");
            if (d->rom_file) {
                vp_autofree char *f = qemu_escape(d->rom_file);

                sb_take(&a, vp_asprintf(",romfile=%s", f));
            }
        }
    }
    sb_add(out, "-device ");
    sb_take(out, shell_quote(a.s));
    sb_add(out, "\n");
    free(a.s);
}

/* Proxmox VE's qm.conf, from qemu-server's PVE/QemuServer/PCI.pm ($hostpci_fmt and
 * print_hostpci_devices; https://github.com/proxmox/qemu-server):
 *   hostpci[n]: [host=]HOSTPCIID[;HOSTPCIID2...][,pcie=1][,rombar=0|1][,romfile=NAME][,x-vga=1]
 * HOSTPCIID is [dddd:]bb:dd[.f]; without ".f" every function of the slot is passed, and more
 * than one function becomes one multifunction guest device (functions numbered in order,
 * multifunction=on on the first); so do ";"-joined ids. pcie=1 needs a q35 machine. rombar and
 * romfile apply to the first function; romfile is a name under /usr/share/kvm/. There is no
 * "no ROM at all" option: rombar=0 is the nearest. */
static void
render_proxmox(strbuf *out, const vp_plan *p, dev_info *devs, size_t n)
{
    unsigned idx = 0;
    bool i440fx = p->machine && !vp_machine_is_q35(p->machine);

    for (size_t i = 0; i < n;) {
        size_t j = i;
        strbuf line = {0};

        while (j < n && !devs[j].is_controller &&
               vp_pci_addr_same_slot(&devs[j].host, &devs[i].host))
            j++;
        if (devs[i].is_controller) {
            i++;
            continue; /* Proxmox adds its own root ports */
        }
        sb_take(&line, vp_asprintf("hostpci%u: ", idx++));
        for (size_t k = i; k < j; k++) {
            char buf[VP_PCI_ADDR_STRLEN];

            sb_take(&line,
                    vp_asprintf("%s%s", k > i ? ";" : "", vp_pci_addr_format(&devs[k].host, buf)));
        }
        if (!i440fx)
            sb_add(&line, ",pcie=1");
        if (devs[i].rom_disabled || vp_streq(devs[i].rom_bar, "off"))
            sb_add(&line, ",rombar=0");
        else if (vp_streq(devs[i].rom_bar, "on"))
            sb_add(&line, ",rombar=1");
        if (devs[i].rom_file) {
            const char *name = devs[i].rom_file;

            if (vp_startswith(name, "/usr/share/kvm/"))
                name += strlen("/usr/share/kvm/");
            name = vp_basename(name);
            if (name[strcspn(name, ",;\n")] != '\0') {
                /* romfile's pattern is [^,;]+: such a name cannot be written at all. */
                sb_take(out, vp_asprintf("# rename %s: Proxmox's romfile takes no ',' or ';'\n",
                                         devs[i].rom_file));
            } else {
                if (!vp_startswith(devs[i].rom_file, "/usr/share/kvm/"))
                    sb_take(out,
                            vp_asprintf("# copy %s to /usr/share/kvm/ first\n", devs[i].rom_file));
                sb_take(&line, vp_asprintf(",romfile=%s", name));
            }
        }
        sb_add(&line, "\n");
        sb_take(out, line.s);
        i = j;
    }
}

char *
vp_plan_render(const vp_plan *p, vp_format format)
{
    strbuf out = {0};
    dev_info *devs = NULL;
    size_t n = 0;

    sb_add(&out, "");
    for (size_t i = 0; i < p->n_steps; i++) {
        const vp_step *s = &p->steps[i];

        if (!is_device_step(s->kind) || !s->xml)
            continue;
        if (format == VP_FORMAT_LIBVIRT) {
            sb_add(&out, s->xml);
            continue;
        }
        devs = vp_realloc_array(devs, n + 1, sizeof(*devs));
        if (read_device(s->xml, &devs[n]))
            n++;
    }
    switch (format) {
    case VP_FORMAT_LIBVIRT:
        break;
    case VP_FORMAT_QEMU:
        for (size_t i = 0; i < n; i++)
            render_qemu_device(&out, &devs[i]);
        break;
    case VP_FORMAT_PROXMOX:
        render_proxmox(&out, p, devs, n);
        break;
    }
    for (size_t i = 0; i < n; i++)
        dev_info_clear(&devs[i]);
    free(devs);
    return out.s;
}
