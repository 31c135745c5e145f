/* Unit tests for src/plan: attach and detach plans on hand-built models and real libvirt
 * domain XML, the XML they produce (checked by libvirt's schema through virt-xml-validate,
 * and by libvirt itself through the embedded QEMU driver), renderers, sizes. */
#include "vp_test.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "plan/plan.h"
#include "plan/plan_int.h"
#include "source/source.h"
#include "source/xmlread.h"
#include "util/fs.h"
#include "util/str.h"

#define TEMPLATES VP_TEST_SOURCE_DIR "/xml-templates"
#define FIX_PLAN VP_TEST_FIXTURES "/plan"
#define FIX_DOMAIN VP_TEST_FIXTURES "/domain"
#define Q35_XML FIX_PLAN "/libvirt/q35-default-devices-only.x86_64-latest.xml"
#define Q35_HOLE_XML FIX_PLAN "/generated/pcihole64-q35.xml"
#define I440FX_XML FIX_PLAN "/generated/hostdev-pci-address.xml"
#define OVMF_XML FIX_DOMAIN "/libvirt/firmware-auto-efi.xml"
#define PFLASH_XML FIX_DOMAIN "/libvirt/bios-nvram.xml"
#define MARKUP_XML FIX_PLAN "/authored/markup-name.xml"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)

/* ---- helpers: fixtures, models, requests ---- */

static vp_device *
add_dev(vp_host *h, const char *addr, unsigned group, const char *driver, uint32_t cls)
{
    vp_device *d = vp_host_add_device(h);

    assert_int_equal(vp_pci_addr_parse(addr, &d->addr, NULL), 0);
    d->has_group = true;
    d->group = group;
    d->driver = vp_strdup(driver);
    d->class_code = cls;
    d->ids_known = true;
    d->is_pcie = true;
    return d;
}

/* Give D read config-space facts with MSI, FLR and no ROM, so only its BARs speak. */
static vp_pci_facts *
facts(vp_device *d)
{
    if (!d->facts) {
        d->facts = vp_malloc0(sizeof(*d->facts));
        d->facts->config_len = 4096;
        d->facts->pcie_type = VP_PCIE_ENDPOINT;
        d->facts->has_msi = true;
        d->facts->has_msix = true;
        d->facts->flr = true;
        d->facts->has_pm = true;
    }
    return d->facts;
}

static void
bar(vp_device *d, unsigned i, uint64_t size, bool is64, bool pref)
{
    vp_bar *b = &facts(d)->bars[i];

    b->present = true;
    b->is_64 = is64;
    b->prefetchable = pref;
    b->size = size;
}

/* Record domain NAME in H with its definition facts read from XML (the ledger too). */
static void
add_domain(vp_host *h, const char *name, const char *xml, bool running)
{
    vp_domain *d = vp_host_add_domain(h, name, NULL, running, true);
    vp_error err = {0};

    assert_int_equal(vp_domxml_read_domain(d, xml, &err), 0);
    assert_int_equal(vp_domxml_add_assignments(h, name, xml, false, true, &err), 0);
}

/* Group 26: a two-port BCM5720 on tg3 (the seed's example), group 27: a lone i210. */
static vp_host *
host_bcm5720(const char *domain, const char *xml)
{
    vp_host *h = vp_host_new();

    add_dev(h, "0000:18:00.0", 26, "tg3", 0x020000);
    add_dev(h, "0000:18:00.1", 26, "tg3", 0x020000);
    add_dev(h, "0000:19:00.0", 27, "igb", 0x020000);
    if (domain)
        add_domain(h, domain, xml, false);
    vp_host_finalize(h);
    return h;
}

/* Group 40: a GPU with a 16 GiB and a 256 MiB 64-bit BAR plus its HDMI audio function.
 * BIG, when non-zero, replaces the 16 GiB BAR. */
static vp_host *
host_gpu(const char *domain, const char *xml, uint64_t big)
{
    vp_host *h = vp_host_new();
    vp_device *gpu = add_dev(h, "0000:41:00.0", 40, "nouveau", 0x030000);
    vp_device *audio = add_dev(h, "0000:41:00.1", 40, "snd_hda_intel", 0x040300);
    vp_device *held = add_dev(h, "0000:06:12.5", 9, "vfio-pci", 0x020000);

    bar(gpu, 0, 16 * MiB, false, false);
    bar(gpu, 1, big ? big : 16 * GiB, true, true);
    bar(gpu, 3, 256 * MiB, true, true);
    bar(audio, 0, 16 * 1024, false, false);
    /* The function hostdev-pci-address.xml already holds: 16 GiB more in that domain. */
    bar(held, 0, 16 * GiB, true, true);
    if (domain)
        add_domain(h, domain, xml, false);
    vp_host_finalize(h);
    return h;
}

typedef struct {
    vp_plan_request req;
    vp_device *devs[8];
} request;

static void
req_init(request *r, const vp_host *h, const char *domain, const char *xml)
{
    memset(r, 0, sizeof(*r));
    r->req.domain_name = domain;
    r->req.domain_xml = xml;
    r->req.managed = true;
    r->req.affect = VP_AFFECT_CONFIG;
    r->req.templates_dir = TEMPLATES;
    r->req.target.devices = r->devs;
    r->req.target.domain = domain ? vp_host_find_domain(h, domain) : NULL;
}

static void
req_group(request *r, const vp_host *h, unsigned group)
{
    r->req.target.group = vp_host_find_group(h, group);
    assert_non_null(r->req.target.group);
}

static void
req_device(request *r, const vp_host *h, const char *addr)
{
    vp_pci_addr a;

    assert_int_equal(vp_pci_addr_parse(addr, &a, NULL), 0);
    r->devs[r->req.target.n_devices] = vp_host_find_device(h, &a);
    assert_non_null(r->devs[r->req.target.n_devices]);
    r->req.target.n_devices++;
}

static void
attach_ok(const vp_host *h, const request *r, vp_plan *p)
{
    vp_error err = {0};

    if (vp_plan_attach(h, &r->req, p, &err) < 0)
        fail_msg("attach: %s (%s)", err.msg, err.hint);
}

static void
detach_ok(const vp_host *h, const request *r, bool reattach, vp_plan *p)
{
    vp_error err = {0};

    if (vp_plan_detach(h, &r->req, reattach, p, &err) < 0)
        fail_msg("detach: %s (%s)", err.msg, err.hint);
}

static const vp_step *
step(const vp_plan *p, size_t i, vp_step_kind kind)
{
    if (i >= p->n_steps)
        fail_msg("plan has %zu steps, wanted step %zu", p->n_steps, i);
    assert_int_equal(p->steps[i].kind, kind);
    return &p->steps[i];
}

static bool
has_note(const vp_plan *p, const char *needle)
{
    for (size_t i = 0; p->notes && p->notes[i]; i++)
        if (strstr(p->notes[i], needle))
            return true;
    return false;
}

/* ---- a libvirt stand-in on the XML: what --config attach, detach, define and
 * setMetadata do to a definition (libvirt keeps an empty <metadata/> after a removal) ---- */

static xmlDoc *
parse(const char *xml)
{
    xmlDoc *doc = NULL;
    vp_error err = {0};

    if (vp_xml_parse(xml, "XML", &doc, &err) < 0)
        fail_msg("%s", err.msg);
    return doc;
}

static char *
dump(xmlDoc *doc)
{
    xmlBuffer *buf = xmlBufferCreate();
    char *s;

    xmlNodeDump(buf, doc, xmlDocGetRootElement(doc), 0, 1);
    s = vp_asprintf("%s\n", (const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return s;
}

/* XML as the stand-in writes it, for byte comparisons with its output. */
static char *
canon(const char *xml)
{
    xmlDoc *doc = parse(xml);
    char *s = dump(doc);

    xmlFreeDoc(doc);
    return s;
}

static bool
same_device(xmlNode *a, xmlNode *b)
{
    vp_autofree char *ta = vp_xml_prop(a, "type");
    vp_autofree char *tb = vp_xml_prop(b, "type");

    if (strcmp((const char *)a->name, (const char *)b->name) != 0 || !vp_streq(ta, tb))
        return false;
    if (vp_xml_is(a, "controller")) {
        vp_autofree char *ia = vp_xml_prop(a, "index");
        vp_autofree char *ib = vp_xml_prop(b, "index");

        return vp_streq(ia, ib);
    } else {
        xmlNode *sa = vp_xml_child(vp_xml_child(a, "source"), "address");
        xmlNode *sb = vp_xml_child(vp_xml_child(b, "source"), "address");
        vp_pci_addr x, y;

        return sa && sb && vp_xml_pci_address(sa, &x, NULL) == 0 &&
               vp_xml_pci_address(sb, &y, NULL) == 0 && vp_pci_addr_eq(&x, &y);
    }
}

static void
set_ns_tree(xmlNode *n, xmlNs *ns)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE) {
            xmlSetNs(n, ns);
            set_ns_tree(n->children, ns);
        }
}

static char *
sim_apply(const char *domain_xml, const vp_plan *p)
{
    xmlDoc *doc = parse(domain_xml);
    char *out;

    for (size_t i = 0; i < p->n_steps; i++) {
        const vp_step *s = &p->steps[i];
        xmlNode *root = xmlDocGetRootElement(doc);
        xmlNode *devs = vp_xml_child(root, "devices");

        switch (s->kind) {
        case VP_STEP_ISOLATE:
        case VP_STEP_REATTACH:
        case VP_STEP_SET_VF:
            break;
        case VP_STEP_REDEFINE:
            xmlFreeDoc(doc);
            doc = parse(s->xml);
            break;
        case VP_STEP_ADD_CONTROLLER:
        case VP_STEP_ATTACH: {
            xmlDoc *d = parse(s->xml);

            xmlAddChild(devs, xmlDocCopyNode(xmlDocGetRootElement(d), doc, 1));
            xmlFreeDoc(d);
            break;
        }
        case VP_STEP_DETACH:
        case VP_STEP_REMOVE_CONTROLLER: {
            xmlDoc *d = parse(s->xml);
            xmlNode *want = xmlDocGetRootElement(d), *found = NULL;

            for (xmlNode *n = vp_xml_next(devs->children, NULL); n && !found;
                 n = vp_xml_next(n->next, NULL))
                if (same_device(n, want))
                    found = n;
            if (!found)
                fail_msg("step %zu: %s not in the domain", i, s->summary);
            xmlUnlinkNode(found);
            xmlFreeNode(found);
            xmlFreeDoc(d);
            break;
        }
        case VP_STEP_SET_METADATA: {
            xmlNode *md = vp_xml_child(root, "metadata");

            if (!md) {
                md = xmlNewDocNode(doc, NULL, (const xmlChar *)"metadata", NULL);
                xmlAddNextSibling(vp_xml_child(root, "uuid"), md);
            }
            for (xmlNode *n = md->children; n;) {
                xmlNode *next = n->next;

                if (n->ns && vp_streq((const char *)n->ns->href, VP_METADATA_NS)) {
                    xmlUnlinkNode(n);
                    xmlFreeNode(n);
                }
                n = next;
            }
            if (s->xml) {
                /* libvirt puts the element and its children in the URI's namespace under
                 * the key's prefix (virDomainDefSetMetadata). */
                xmlDoc *d = parse(s->xml);
                xmlNode *copy = xmlDocCopyNode(xmlDocGetRootElement(d), doc, 1);

                xmlAddChild(md, copy);
                set_ns_tree(copy, xmlNewNs(copy, (const xmlChar *)VP_METADATA_NS,
                                           (const xmlChar *)VP_METADATA_PREFIX));
                xmlFreeDoc(d);
            }
            break;
        }
        }
    }
    out = dump(doc);
    xmlFreeDoc(doc);
    return out;
}

/* ---- libvirt's schema: virt-xml-validate FILE domain, run with fork/exec ---- */

static char *
write_temp(const char *text)
{
    char *path = vp_strdup("/tmp/vpass-test-plan-XXXXXX");
    int fd = mkstemp(path);
    size_t len = strlen(text);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void
assert_valid_domain(const char *xml)
{
    vp_autofree char *path = write_temp(xml);
    pid_t pid = fork();
    int status = 0;

    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);

        /* It says "FILE validates" on stderr; only the status matters here. */
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
        execlp("virt-xml-validate", "virt-xml-validate", path, "domain", (char *)NULL);
        _exit(127); /* not installed: the test fails, it does not skip */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    unlink(path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("virt-xml-validate %s: exit %d%s\n%s", path, WEXITSTATUS(status),
                 WEXITSTATUS(status) == 127 ? " (is libvirt-clients installed?)" : "", xml);
}

/* ---- tests ---- */

static const char group26_controller[] =
    "<controller type=\"pci\" index=\"4\" model=\"pcie-root-port\">\n"
    "  <model name=\"pcie-root-port\"/>\n"
    "  <target chassis=\"4\" port=\"0xb\"/>\n"
    "</controller>\n";
static const char group26_fn0[] =
    "<hostdev mode=\"subsystem\" type=\"pci\" managed=\"yes\">\n"
    "  <driver name=\"vfio\"/>\n"
    "  <source>\n"
    "    <address domain=\"0x0000\" bus=\"0x18\" slot=\"0x00\" function=\"0x0\"/>\n"
    "  </source>\n"
    "  <address type=\"pci\" domain=\"0x0000\" bus=\"0x04\" slot=\"0x00\" function=\"0x0\" "
    "multifunction=\"on\"/>\n"
    "</hostdev>\n";
static const char group26_fn1[] =
    "<hostdev mode=\"subsystem\" type=\"pci\" managed=\"yes\">\n"
    "  <driver name=\"vfio\"/>\n"
    "  <source>\n"
    "    <address domain=\"0x0000\" bus=\"0x18\" slot=\"0x00\" function=\"0x1\"/>\n"
    "  </source>\n"
    "  <address type=\"pci\" domain=\"0x0000\" bus=\"0x04\" slot=\"0x00\" function=\"0x1\"/>\n"
    "</hostdev>\n";
static const char group26_metadata[] = "<vpass>\n"
                                       "  <device address=\"0000:18:00.0\" kind=\"hostdev\"/>\n"
                                       "  <device address=\"0000:18:00.1\" kind=\"hostdev\"/>\n"
                                       "  <controller index=\"4\"/>\n"
                                       "  <metadata old=\"none\"/>\n"
                                       "</vpass>\n";

static void
test_group26_q35(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = host_bcm5720("q35-test", xml);
    vp_autofree char *after = NULL;
    request r;
    vp_plan p;

    (void)state;
    req_init(&r, h, "q35-test", xml);
    req_group(&r, h, 26);
    attach_ok(h, &r, &p);
    assert_false(p.noop);
    assert_string_equal(p.domain, "q35-test");
    assert_string_equal(p.machine, "q35");
    assert_int_equal(p.n_steps, 4);
    /* Both functions on one new root port (index = highest pci controller + 1), function 0
     * multifunction; the port takes the next free chassis and port numbers. */
    assert_string_equal(step(&p, 0, VP_STEP_ADD_CONTROLLER)->xml, group26_controller);
    assert_int_equal(p.steps[0].affect, VP_AFFECT_CONFIG);
    assert_string_equal(p.steps[0].summary, "add pcie-root-port index 4 to q35-test (config)");
    assert_string_equal(step(&p, 1, VP_STEP_ATTACH)->xml, group26_fn0);
    assert_string_equal(p.steps[1].summary, "attach 0000:18:00.0 to q35-test (config)");
    assert_int_equal(p.steps[1].affect, VP_AFFECT_CONFIG);
    assert_int_equal(p.steps[1].addr.func, 0);
    assert_string_equal(step(&p, 2, VP_STEP_ATTACH)->xml, group26_fn1);
    assert_string_equal(step(&p, 3, VP_STEP_SET_METADATA)->xml, group26_metadata);
    assert_null(p.steps[3].old_xml);
    /* The checks ran first and stay in the plan. */
    assert_non_null(vp_findings_find(&p.findings, "group-complete", "26"));

    after = sim_apply(xml, &p);
    assert_valid_domain(after);
    vp_plan_clear(&p);
}

static void
test_one_function_isolates_sibling(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = host_bcm5720("q35-test", xml);
    vp_autoxmldoc md = NULL;
    vp_autofree char *driver = NULL;
    xmlNode *rec;
    request r;
    vp_plan p;

    (void)state;
    req_init(&r, h, "q35-test", xml);
    req_device(&r, h, "0000:18:00.0");
    attach_ok(h, &r, &p);
    assert_int_equal(p.n_steps, 4);
    step(&p, 0, VP_STEP_ISOLATE);
    assert_string_equal(p.steps[0].summary,
                        "isolate 0000:18:00.1 (tg3 -> vfio-pci, kept unassigned)");
    assert_string_equal(p.steps[0].driver, "tg3");
    assert_int_equal(p.steps[0].addr.func, 1);
    assert_null(p.steps[0].xml);
    /* A single function on q35 gets a root port of vpass's own, as a card does: libvirt,
     * left to place it, would add controllers that detach could not tell from the user's. */
    assert_string_equal(step(&p, 1, VP_STEP_ADD_CONTROLLER)->xml, group26_controller);
    assert_non_null(strstr(step(&p, 2, VP_STEP_ATTACH)->xml,
                           "<address type=\"pci\" domain=\"0x0000\" bus=\"0x04\" slot=\"0x00\" "
                           "function=\"0x0\"/>"));
    assert_null(strstr(p.steps[2].xml, "multifunction"));
    md = parse(step(&p, 3, VP_STEP_SET_METADATA)->xml);
    rec = vp_xml_child(xmlDocGetRootElement(md), "isolated");
    assert_non_null(rec);
    driver = vp_xml_prop(rec, "driver");
    assert_string_equal(driver, "tg3");
    assert_non_null(vp_xml_child(xmlDocGetRootElement(md), "controller"));
    vp_plan_clear(&p);

    /* Hot-plugged (live), libvirt picks a free hotplug port: no controller. */
    {
        vp_autoptr(vp_host) hl = vp_host_new();

        add_dev(hl, "0000:18:00.0", 26, "vfio-pci", 0x020000);
        add_domain(hl, "q35-test", xml, true);
        vp_host_finalize(hl);
        req_init(&r, hl, "q35-test", xml);
        req_device(&r, hl, "0000:18:00.0");
        r.req.affect = VP_AFFECT_LIVE;
        attach_ok(hl, &r, &p);
        assert_null(strstr(step(&p, 0, VP_STEP_ATTACH)->xml, "<address type"));
        for (size_t i = 0; i < p.n_steps; i++)
            assert_int_not_equal(p.steps[i].kind, VP_STEP_ADD_CONTROLLER);
        vp_plan_clear(&p);
    }
}

static void
test_all_functions(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = vp_host_new();
    request r;
    vp_plan p;

    (void)state;
    /* ACS splits this card's functions into two groups: --all-functions still takes both. */
    add_dev(h, "0000:18:00.0", 26, "vfio-pci", 0x020000);
    add_dev(h, "0000:18:00.1", 27, "vfio-pci", 0x020000);
    add_domain(h, "q35-test", xml, false);
    vp_host_finalize(h);
    req_init(&r, h, "q35-test", xml);
    req_device(&r, h, "0000:18:00.0");
    r.req.all_functions = true;
    attach_ok(h, &r, &p);
    assert_int_equal(p.n_steps, 4);
    step(&p, 0, VP_STEP_ADD_CONTROLLER);
    assert_int_equal(step(&p, 2, VP_STEP_ATTACH)->addr.func, 1);
    vp_plan_clear(&p);

    r.req.all_functions = false;
    attach_ok(h, &r, &p);
    assert_int_equal(p.n_steps, 3); /* its own root port, attach, metadata */
    step(&p, 0, VP_STEP_ADD_CONTROLLER);
    vp_plan_clear(&p);
}

static void
test_multifunction_live_refused(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = host_bcm5720("q35-test", xml);
    vp_error err = {0};
    request r;
    vp_plan p;

    (void)state;
    req_init(&r, h, "q35-test", xml);
    req_group(&r, h, 26);
    r.req.affect = VP_AFFECT_LIVE | VP_AFFECT_CONFIG;
    assert_int_equal(vp_plan_attach(h, &r.req, &p, &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_string_equal(err.msg, "libvirt cannot hotplug a multifunction card; use --config "
                                 "and restart the domain");
    assert_int_equal(p.n_steps, 0);
    vp_plan_clear(&p);
}

static void
test_block_names_finding(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = vp_host_new();
    vp_error err = {0};
    vp_pci_addr a;
    request r;
    vp_plan p;

    (void)state;
    add_dev(h, "0000:18:00.0", 26, "vfio-pci", 0x020000);
    add_domain(h, "q35-test", xml, false);
    vp_host_add_domain(h, "vm2", NULL, true, true);
    assert_int_equal(vp_pci_addr_parse("0000:18:00.0", &a, NULL), 0);
    vp_host_add_assignment(h, "vm2", &a, VP_USE_HOSTDEV, true, true, true);
    vp_host_finalize(h);
    req_init(&r, h, "q35-test", xml);
    req_group(&r, h, 26);
    r.req.force = true; /* not even --force gives away another domain's device */
    assert_int_equal(vp_plan_attach(h, &r.req, &p, &err), -1);
    assert_int_equal(err.code, VP_E_UNSAFE);
    assert_non_null(vp_findings_find(&p.findings, "owned-by-other-domain", "0000:18:00.0"));
    assert_string_equal(err.msg,
                        vp_findings_find(&p.findings, "owned-by-other-domain", NULL)->message);
    assert_int_equal(p.n_steps, 0);
    vp_plan_clear(&p);
}

/* The root PCI controller (pcie-root or pci-root) of a domain element. */
static xmlNode *
root_ctl(xmlNode *domain)
{
    for (xmlNode *c = vp_xml_child(vp_xml_child(domain, "devices"), "controller"); c;
         c = vp_xml_next_sibling(c, "controller")) {
        vp_autofree char *model = vp_xml_prop(c, "model");

        if (vp_streq(model, "pcie-root") || vp_streq(model, "pci-root"))
            return c;
    }
    return NULL;
}

static char *
pcihole64_of(const char *domain_xml)
{
    xmlDoc *d = parse(domain_xml);
    xmlNode *ctl = root_ctl(xmlDocGetRootElement(d));
    char *v = ctl ? vp_xml_text(vp_xml_child(ctl, "pcihole64")) : NULL;

    xmlFreeDoc(d);
    return v;
}

/* GPU + audio into i440fx: a free bus-0 slot for the card, the window sized from everything
 * the domain will hold (the function it holds already included). */
static void
test_gpu_i440fx(void **state)
{
    vp_autofree char *xml = vp_test_read_text(I440FX_XML);
    vp_autoptr(vp_host) h = host_gpu("QEMUGuest2", xml, 0);
    vp_autofree char *after = NULL;
    vp_autofree char *hole = NULL;
    vp_autofree char *expect = NULL;
    vp_autofree char *got = NULL;
    vp_autofree char *orig = NULL;
    request r;
    vp_plan p;

    (void)state;
    req_init(&r, h, "QEMUGuest2", xml);
    req_group(&r, h, 40);
    r.req.mmio = VP_MMIO_AUTO;
    attach_ok(h, &r, &p);
    assert_int_equal(p.n_steps, 4);
    step(&p, 0, VP_STEP_REDEFINE);
    assert_string_equal(p.steps[0].old_xml, xml);
    assert_int_equal(p.steps[0].affect, VP_AFFECT_CONFIG);
    /* 16 GiB (held) + 16 GiB + 256 MiB, each aligned: 32.25 GiB -> 64 GiB; the domain had no
     * <pcihole64>, so the window was i440fx's 2 GiB. */
    assert_string_equal(p.steps[0].summary, "redefine QEMUGuest2 (config): <pcihole64> unset "
                                            "(default) -> 64 GiB on pci-root");
    hole = pcihole64_of(p.steps[0].xml);
    assert_string_equal(hole, "67108864");
    /* Nothing else of the definition changed. */
    orig = canon(xml);
    expect = vp_test_replace(orig, "<controller type=\"pci\" index=\"0\" model=\"pci-root\"/>",
                             "<controller type=\"pci\" index=\"0\" model=\"pci-root\">\n"
                             "      <pcihole64 unit=\"KiB\">67108864</pcihole64>\n"
                             "    </controller>");
    got = canon(p.steps[0].xml);
    assert_string_equal(got, expect);
    /* Slots 1 (PIIX3) and 2 (the held hostdev) are taken: the card gets 00:03. */
    assert_non_null(strstr(step(&p, 1, VP_STEP_ATTACH)->xml,
                           "<address type=\"pci\" domain=\"0x0000\" bus=\"0x00\" slot=\"0x03\" "
                           "function=\"0x0\" multifunction=\"on\"/>"));
    assert_non_null(
        strstr(step(&p, 2, VP_STEP_ATTACH)->xml, "bus=\"0x00\" slot=\"0x03\" function=\"0x1\"/>"));
    assert_non_null(strstr(step(&p, 3, VP_STEP_SET_METADATA)->xml, "<pcihole64 old=\"none\"/>"));
    after = sim_apply(xml, &p);
    assert_valid_domain(after);
    vp_plan_clear(&p);
}

static void
test_gpu_q35_windows(void **state)
{
    vp_autofree char *plain = vp_test_read_text(Q35_XML);
    vp_autofree char *holed = vp_test_read_text(Q35_HOLE_XML);
    request r;
    vp_plan p;

    (void)state;
    {
        /* No <pcihole64>: q35's default 32 GiB already fits 16 GiB + 256 MiB (-> 32 GiB). */
        vp_autoptr(vp_host) h = host_gpu("q35-test", plain, 0);

        req_init(&r, h, "q35-test", plain);
        req_group(&r, h, 40);
        r.req.mmio = VP_MMIO_AUTO;
        attach_ok(h, &r, &p);
        assert_int_equal(p.n_steps, 4); /* controller, 2 attaches, metadata */
        for (size_t i = 0; i < p.n_steps; i++)
            assert_int_not_equal(p.steps[i].kind, VP_STEP_REDEFINE);
        vp_plan_clear(&p);
    }
    {
        /* <pcihole64> of 1 GiB: raised to 32 GiB; old_xml keeps the definition. */
        vp_autoptr(vp_host) h = host_gpu("q35-test", holed, 0);
        vp_autofree char *hole = NULL;
        vp_autofree char *orig = NULL;
        vp_autofree char *expect = NULL;
        vp_autofree char *got = NULL;
        vp_autofree char *after = NULL;

        req_init(&r, h, "q35-test", holed);
        req_group(&r, h, 40);
        r.req.mmio = VP_MMIO_AUTO;
        attach_ok(h, &r, &p);
        assert_int_equal(p.n_steps, 5);
        step(&p, 0, VP_STEP_REDEFINE);
        assert_string_equal(p.steps[0].old_xml, holed);
        assert_string_equal(p.steps[0].summary, "redefine q35-test (config): <pcihole64> 1 GiB "
                                                "-> 32 GiB on pcie-root");
        hole = pcihole64_of(p.steps[0].xml);
        assert_string_equal(hole, "33554432");
        orig = canon(holed);
        expect = vp_test_replace(orig, ">1048576<", ">33554432<");
        got = canon(p.steps[0].xml);
        assert_string_equal(got, expect);
        assert_non_null(strstr(step(&p, 1, VP_STEP_ADD_CONTROLLER)->xml, "index=\"3\""));
        assert_non_null(
            strstr(step(&p, 4, VP_STEP_SET_METADATA)->xml, "<pcihole64 old=\"1048576\"/>"));
        after = sim_apply(holed, &p);
        assert_valid_domain(after);
        vp_plan_clear(&p);
    }
    {
        /* An explicit size is what the user asked, estimate or not. */
        vp_autoptr(vp_host) h = host_gpu("q35-test", plain, 0);
        vp_autofree char *hole = NULL;

        req_init(&r, h, "q35-test", plain);
        req_group(&r, h, 40);
        r.req.mmio = VP_MMIO_SIZE;
        r.req.mmio_bytes = 64 * GiB;
        attach_ok(h, &r, &p);
        hole = pcihole64_of(step(&p, 0, VP_STEP_REDEFINE)->xml);
        assert_string_equal(hole, "67108864");
        vp_plan_clear(&p);
    }
    {
        /* --live only: the window is persistent-only, the plan says so and leaves it. */
        vp_autoptr(vp_host) h = vp_host_new();
        vp_device *gpu = add_dev(h, "0000:41:00.0", 40, "vfio-pci", 0x030000);

        bar(gpu, 1, 64 * GiB, true, true);
        add_domain(h, "q35-test", plain, true);
        vp_host_finalize(h);
        req_init(&r, h, "q35-test", plain);
        req_group(&r, h, 40);
        r.req.mmio = VP_MMIO_AUTO;
        r.req.affect = VP_AFFECT_LIVE;
        attach_ok(h, &r, &p);
        for (size_t i = 0; i < p.n_steps; i++)
            assert_int_not_equal(p.steps[i].kind, VP_STEP_REDEFINE);
        assert_true(has_note(&p, "--mmio64 needs --config"));
        assert_string_equal(step(&p, 0, VP_STEP_ATTACH)->summary,
                            "attach 0000:41:00.0 to q35-test (live)");
        vp_plan_clear(&p);
    }
}

/* A window that ends above 2^40 also needs the guest's physical address width. */
static void
test_maxphysaddr(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = host_gpu("q35-test", xml, 512 * GiB);
    vp_autoxmldoc rd = NULL;
    vp_autofree char *mode = NULL;
    vp_autofree char *hole = NULL;
    xmlNode *mpa;
    request r;
    vp_plan p;

    (void)state;
    req_init(&r, h, "q35-test", xml);
    req_group(&r, h, 40);
    r.req.mmio = VP_MMIO_AUTO;
    attach_ok(h, &r, &p);
    step(&p, 0, VP_STEP_REDEFINE);
    hole = pcihole64_of(p.steps[0].xml);
    assert_string_equal(hole, "1073741824"); /* 512 GiB + 256 MiB -> 1 TiB */
    rd = parse(p.steps[0].xml);
    mpa = vp_xml_child(vp_xml_child(xmlDocGetRootElement(rd), "cpu"), "maxphysaddr");
    assert_non_null(mpa);
    mode = vp_xml_prop(mpa, "mode");
    assert_string_equal(mode, "passthrough");
    assert_non_null(strstr(p.steps[0].summary, "<cpu><maxphysaddr mode='passthrough'/>"));
    assert_non_null(
        strstr(step(&p, p.n_steps - 1, VP_STEP_SET_METADATA)->xml, "<maxphysaddr old=\"none\"/>"));
    vp_plan_clear(&p);

    /* A 16 GiB card stays well inside 40 bits: no <maxphysaddr>. */
    {
        vp_autoptr(vp_host) h2 = host_gpu("q35-test", xml, 0);

        req_init(&r, h2, "q35-test", xml);
        req_group(&r, h2, 40);
        r.req.mmio = VP_MMIO_SIZE;
        r.req.mmio_bytes = 64 * GiB;
        attach_ok(h2, &r, &p);
        assert_null(strstr(step(&p, 0, VP_STEP_REDEFINE)->xml, "maxphysaddr"));
        vp_plan_clear(&p);
    }
}

/* OVMF sizes its own window: a note, and <qemu:commandline> only when asked. */
static void
test_ovmf(void **state)
{
    vp_autofree char *xml = vp_test_read_text(OVMF_XML);
    vp_autofree char *pflash = vp_test_read_text(PFLASH_XML);
    vp_autoptr(vp_host) h = host_gpu("fedora", xml, 128 * GiB);
    vp_autofree char *after = NULL;
    vp_autofree char *back = NULL;
    vp_autofree char *orig = NULL;
    vp_autoxmldoc rd = NULL;
    xmlNode *cl;
    request r;
    vp_plan p, d;

    (void)state;
    req_init(&r, h, "fedora", xml);
    req_group(&r, h, 40);
    r.req.mmio = VP_MMIO_AUTO;
    attach_ok(h, &r, &p);
    for (size_t i = 0; i < p.n_steps; i++)
        assert_int_not_equal(p.steps[i].kind, VP_STEP_REDEFINE);
    /* 128 GiB + 256 MiB -> 256 GiB = 262144 MiB, more than OVMF's 32 GiB. */
    assert_true(has_note(&p, "fedora: OVMF sizes the 64-bit MMIO window itself"));
    assert_true(has_note(&p, "X-PciMmio64Mb=262144"));
    vp_plan_clear(&p);

    r.req.ovmf_mmio_commandline = true;
    attach_ok(h, &r, &p);
    step(&p, 0, VP_STEP_REDEFINE);
    assert_null(strstr(p.steps[0].xml, "pcihole64"));
    rd = parse(p.steps[0].xml);
    cl = NULL;
    for (xmlNode *n = xmlDocGetRootElement(rd)->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && vp_streq((const char *)n->name, "commandline") &&
            n->ns &&
            vp_streq((const char *)n->ns->href, "http://libvirt.org/schemas/domain/qemu/1.0"))
            cl = n;
    assert_non_null(cl);
    {
        xmlNode *a1 = vp_xml_next(cl->children, NULL);
        xmlNode *a2 = a1 ? vp_xml_next(a1->next, NULL) : NULL;
        vp_autofree char *v1 = a1 ? vp_xml_prop(a1, "value") : NULL;
        vp_autofree char *v2 = a2 ? vp_xml_prop(a2, "value") : NULL;

        assert_string_equal(v1, "-fw_cfg");
        assert_string_equal(v2, "name=opt/ovmf/X-PciMmio64Mb,string=262144");
    }
    assert_true(has_note(&p, "tainted"));
    assert_non_null(
        strstr(step(&p, p.n_steps - 1, VP_STEP_SET_METADATA)->xml, "<ovmf-mmio64 old=\"none\"/>"));
    after = sim_apply(xml, &p);
    assert_valid_domain(after);

    /* Detach takes everything back out, <qemu:commandline> included. */
    req_init(&r, h, "fedora", after);
    req_group(&r, h, 40);
    detach_ok(h, &r, true, &d);
    back = sim_apply(after, &d);
    orig = canon(xml);
    assert_string_equal(back, orig);
    vp_plan_clear(&d);
    vp_plan_clear(&p);

    /* A pflash loader is OVMF too. */
    {
        vp_autoptr(vp_host) h2 = host_gpu("test-bios", pflash, 128 * GiB);

        req_init(&r, h2, "test-bios", pflash);
        req_group(&r, h2, 40);
        r.req.mmio = VP_MMIO_AUTO;
        attach_ok(h2, &r, &p);
        assert_true(has_note(&p, "test-bios: OVMF sizes the 64-bit MMIO window itself"));
        vp_plan_clear(&p);
    }
}

static void
test_idempotent(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = host_bcm5720("q35-test", xml);
    vp_autofree char *after = NULL;
    request r;
    vp_plan p;

    (void)state;
    req_init(&r, h, "q35-test", xml);
    req_group(&r, h, 26);
    attach_ok(h, &r, &p);
    after = sim_apply(xml, &p);
    vp_plan_clear(&p);

    req_init(&r, h, "q35-test", after);
    req_group(&r, h, 26);
    attach_ok(h, &r, &p);
    assert_true(p.noop);
    assert_string_equal(p.noop_reason, "q35-test already holds 0000:18:00.0, 0000:18:00.1");
    assert_int_equal(p.n_steps, 0);
    vp_plan_clear(&p);

    /* A second group keeps the first one's records. */
    req_init(&r, h, "q35-test", after);
    req_group(&r, h, 27);
    attach_ok(h, &r, &p);
    assert_string_equal(step(&p, 2, VP_STEP_SET_METADATA)->xml,
                        "<vpass>\n"
                        "  <device address=\"0000:18:00.0\" kind=\"hostdev\"/>\n"
                        "  <device address=\"0000:18:00.1\" kind=\"hostdev\"/>\n"
                        "  <device address=\"0000:19:00.0\" kind=\"hostdev\"/>\n"
                        "  <controller index=\"4\"/>\n"
                        "  <controller index=\"5\"/>\n"
                        "  <metadata old=\"none\"/>\n"
                        "</vpass>\n");
    assert_string_equal(p.steps[2].old_xml, group26_metadata);
    vp_plan_clear(&p);
}

/* Attach, then detach: the definition comes back as it was. */
static void
roundtrip(const vp_host *h, const char *name, const char *xml, unsigned group, vp_mmio_mode mmio)
{
    vp_autofree char *after = NULL;
    vp_autofree char *back = NULL;
    vp_autofree char *orig = canon(xml);
    request r;
    vp_plan p, d;

    req_init(&r, h, name, xml);
    req_group(&r, h, group);
    r.req.mmio = mmio;
    attach_ok(h, &r, &p);
    after = sim_apply(xml, &p);
    assert_string_not_equal(after, orig);
    req_init(&r, h, name, after);
    req_group(&r, h, group);
    detach_ok(h, &r, true, &d);
    back = sim_apply(after, &d);
    assert_string_equal(back, orig);
    vp_plan_clear(&p);
    vp_plan_clear(&d);
}

static void
test_roundtrip(void **state)
{
    vp_autofree char *q35 = vp_test_read_text(Q35_XML);
    vp_autofree char *holed = vp_test_read_text(Q35_HOLE_XML);
    vp_autofree char *i440 = vp_test_read_text(I440FX_XML);
    vp_autofree char *markup = vp_test_read_text(MARKUP_XML);

    (void)state;
    {
        vp_autoptr(vp_host) h = host_bcm5720("q35-test", q35);

        roundtrip(h, "q35-test", q35, 26, VP_MMIO_LEAVE);
    }
    {
        vp_autoptr(vp_host) h = host_gpu("q35-test", holed, 512 * GiB);

        roundtrip(h, "q35-test", holed, 40, VP_MMIO_AUTO);
    }
    {
        vp_autoptr(vp_host) h = host_gpu("QEMUGuest2", i440, 0);

        roundtrip(h, "QEMUGuest2", i440, 40, VP_MMIO_AUTO);
    }
    {
        /* No <cpu> at all: vpass creates it for <maxphysaddr> and removes it again. */
        vp_autoptr(vp_host) h = host_gpu("a'b<c>&\"d", markup, 512 * GiB);

        roundtrip(h, "a'b<c>&\"d", markup, 40, VP_MMIO_AUTO);
    }
}

static void
test_detach_steps(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = host_bcm5720("q35-test", xml);
    vp_autofree char *after = NULL;
    vp_autofree char *md_xml = NULL;
    vp_error err = {0};
    request r;
    vp_plan p;

    (void)state;
    req_init(&r, h, "q35-test", xml);
    req_group(&r, h, 26);
    detach_ok(h, &r, true, &p);
    assert_true(p.noop);
    assert_string_equal(p.noop_reason, "q35-test holds none of 0000:18:00.0, 0000:18:00.1");
    vp_plan_clear(&p);

    req_init(&r, h, "q35-test", xml);
    req_group(&r, h, 26);
    attach_ok(h, &r, &p);
    after = sim_apply(xml, &p);
    vp_plan_clear(&p);

    /* The whole card: both functions, then its root port, then the records. */
    req_init(&r, h, "q35-test", after);
    req_group(&r, h, 26);
    detach_ok(h, &r, true, &p);
    assert_int_equal(p.n_steps, 5);
    assert_string_equal(step(&p, 0, VP_STEP_DETACH)->summary,
                        "detach 0000:18:00.0 from q35-test (config)");
    assert_string_equal(p.steps[0].xml, group26_fn0);
    step(&p, 1, VP_STEP_DETACH);
    assert_string_equal(step(&p, 2, VP_STEP_REMOVE_CONTROLLER)->summary,
                        "remove pcie-root-port index 4 from q35-test (config)");
    assert_null(step(&p, 3, VP_STEP_SET_METADATA)->xml);
    assert_string_equal(p.steps[3].old_xml, group26_metadata);
    assert_non_null(strstr(step(&p, 4, VP_STEP_REDEFINE)->summary, "<metadata>"));
    assert_null(strstr(p.steps[4].xml, "<metadata"));
    assert_null(strstr(p.steps[4].xml, "hostdev"));
    vp_plan_clear(&p);

    /* One function: the port stays (the other one is on it), the record shrinks. */
    req_init(&r, h, "q35-test", after);
    req_device(&r, h, "0000:18:00.1");
    detach_ok(h, &r, true, &p);
    assert_int_equal(p.n_steps, 2);
    step(&p, 0, VP_STEP_DETACH);
    md_xml = vp_strdup(step(&p, 1, VP_STEP_SET_METADATA)->xml);
    assert_non_null(strstr(md_xml, "0000:18:00.0"));
    assert_null(strstr(md_xml, "0000:18:00.1"));
    assert_non_null(strstr(md_xml, "<controller index=\"4\"/>"));
    vp_plan_clear(&p);

    /* Live: libvirt cannot unplug one function of a card. */
    r.req.affect = VP_AFFECT_LIVE;
    assert_int_equal(vp_plan_detach(h, &r.req, true, &p, &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "multifunction"));
}

/* The operator's <hook> policy in vpass's element survives attach and detach: vpass merges its
 * records beside it and the last detach leaves it (and its <metadata>) in place. */
static void
test_hook_policy_kept(void **state)
{
    vp_autofree char *plain = vp_test_read_text(Q35_XML);
    const char *uuid_end = strstr(plain, "</uuid>");
    vp_autofree char *xml = NULL;
    vp_autofree char *after = NULL;
    vp_autofree char *back = NULL;
    vp_autofree char *bad = NULL;
    vp_error err = {0};
    request r;
    vp_plan p;

    (void)state;
    assert_non_null(uuid_end);
    uuid_end += strlen("</uuid>");
    xml = vp_asprintf("%.*s\n  <metadata>\n    <vpass:vpass xmlns:vpass=\"urn:vpass:domain:1\">"
                      "<vpass:hook enable=\"yes\" isolate=\"no\"/></vpass:vpass>\n"
                      "  </metadata>%s",
                      (int)(uuid_end - plain), plain, uuid_end);
    {
        vp_autoptr(vp_host) h = host_bcm5720("q35-test", xml);

        req_init(&r, h, "q35-test", xml);
        req_group(&r, h, 26);
        attach_ok(h, &r, &p);
        /* The domain had a <metadata>: no "old none" record; the policy first, unchanged. */
        assert_string_equal(step(&p, 3, VP_STEP_SET_METADATA)->xml,
                            "<vpass>\n"
                            "  <hook enable=\"yes\" isolate=\"no\"/>\n"
                            "  <device address=\"0000:18:00.0\" kind=\"hostdev\"/>\n"
                            "  <device address=\"0000:18:00.1\" kind=\"hostdev\"/>\n"
                            "  <controller index=\"4\"/>\n"
                            "</vpass>\n");
        after = sim_apply(xml, &p);
        vp_plan_clear(&p);
    }
    {
        vp_autoptr(vp_host) h = host_bcm5720("q35-test", after);

        req_init(&r, h, "q35-test", after);
        req_group(&r, h, 26);
        detach_ok(h, &r, true, &p);
        assert_string_equal(step(&p, 3, VP_STEP_SET_METADATA)->xml,
                            "<vpass>\n"
                            "  <hook enable=\"yes\" isolate=\"no\"/>\n"
                            "</vpass>\n");
        back = sim_apply(after, &p);
        vp_plan_clear(&p);
        {
            vp_autofree char *orig = canon(xml);

            assert_string_equal(back, orig);
        }
    }
    /* A policy vpass-hook would refuse is refused here too, naming it. */
    bad = vp_strdup(xml);
    memcpy(strstr(bad, "isolate=\"no\""), "isolate=\"on\"", strlen("isolate=\"on\""));
    {
        vp_autoptr(vp_host) h = host_bcm5720(NULL, NULL);

        req_init(&r, h, "q35-test", bad);
        req_group(&r, h, 26);
        assert_int_equal(vp_plan_attach(h, &r.req, &p, &err), -1);
        assert_int_equal(err.code, VP_E_DATA);
        assert_non_null(strstr(err.msg, "<hook isolate='on'> is neither 'yes' nor 'no'"));
        vp_plan_clear(&p); /* the findings of the checks that ran first */
    }
}

static void
test_detach_isolated_and_unmanaged(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = host_bcm5720("q35-test", xml);
    vp_autoptr(vp_host) later = vp_host_new();
    vp_autofree char *after = NULL;
    request r;
    vp_plan p;

    (void)state;
    /* managed='no' on 18:00.0: vpass binds it (and isolates 18:00.1) and records tg3. */
    req_init(&r, h, "q35-test", xml);
    req_device(&r, h, "0000:18:00.0");
    r.req.managed = false;
    attach_ok(h, &r, &p);
    assert_int_equal(p.n_steps, 5);
    assert_string_equal(step(&p, 0, VP_STEP_ISOLATE)->summary,
                        "isolate 0000:18:00.0 (tg3 -> vfio-pci; managed='no': libvirt leaves "
                        "it to vpass)");
    assert_string_equal(step(&p, 1, VP_STEP_ISOLATE)->summary,
                        "isolate 0000:18:00.1 (tg3 -> vfio-pci, kept unassigned)");
    step(&p, 2, VP_STEP_ADD_CONTROLLER);
    assert_non_null(strstr(step(&p, 3, VP_STEP_ATTACH)->xml, "managed=\"no\""));
    assert_non_null(strstr(step(&p, 4, VP_STEP_SET_METADATA)->xml,
                           "<device address=\"0000:18:00.0\" kind=\"hostdev\" "
                           "driver=\"tg3\"/>"));
    assert_non_null(strstr(p.steps[4].xml, "<isolated address=\"0000:18:00.1\" driver=\"tg3\"/>"));
    after = sim_apply(xml, &p);
    vp_plan_clear(&p);

    /* Later both are on vfio-pci: detach --reattach gives them back to tg3. */
    add_dev(later, "0000:18:00.0", 26, "vfio-pci", 0x020000);
    add_dev(later, "0000:18:00.1", 26, "vfio-pci", 0x020000);
    add_domain(later, "q35-test", after, false);
    vp_host_finalize(later);
    req_init(&r, later, "q35-test", after);
    req_device(&r, later, "0000:18:00.0");
    detach_ok(later, &r, true, &p);
    assert_int_equal(p.n_steps, 6);
    step(&p, 0, VP_STEP_DETACH);
    step(&p, 1, VP_STEP_REMOVE_CONTROLLER);
    step(&p, 2, VP_STEP_SET_METADATA);
    step(&p, 3, VP_STEP_REDEFINE);
    assert_string_equal(step(&p, 4, VP_STEP_REATTACH)->summary,
                        "reattach 0000:18:00.1 to tg3 (vpass isolated it)");
    assert_string_equal(p.steps[4].driver, "tg3");
    assert_string_equal(step(&p, 5, VP_STEP_REATTACH)->summary,
                        "reattach 0000:18:00.0 to tg3 (managed='no')");
    vp_plan_clear(&p);

    /* Without --reattach the sibling stays on vfio-pci, and the plan says how to undo it. */
    detach_ok(later, &r, false, &p);
    for (size_t i = 0; i < p.n_steps; i++)
        assert_int_not_equal(p.steps[i].kind, VP_STEP_REATTACH);
    assert_true(has_note(&p, "0000:18:00.1 stays on vfio-pci (vpass isolated it from tg3)"));
    vp_plan_clear(&p);
}

static const char *
rom_of(const vp_plan *p, size_t i, char *buf, size_t len)
{
    const char *s = strstr(p->steps[i].xml, "<rom");
    const char *e = s ? strstr(s, "/>") : NULL;

    if (!s)
        return "none";
    snprintf(buf, len, "%.*s", (int)(e + 2 - s), s);
    return buf;
}

static void
test_rom_modes(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = host_gpu("q35-test", xml, 0);
    vp_error err = {0};
    char buf[256];
    request r;
    vp_plan p;

    (void)state;
    req_init(&r, h, "q35-test", xml);
    req_group(&r, h, 40);
    attach_ok(h, &r, &p); /* VP_ROM_DEFAULT: no element, the device's ROM as QEMU does */
    assert_string_equal(rom_of(&p, 1, buf, sizeof(buf)), "none");
    assert_string_equal(rom_of(&p, 2, buf, sizeof(buf)), "none");
    vp_plan_clear(&p);

    r.req.rom = VP_ROM_BAR_OFF;
    attach_ok(h, &r, &p);
    assert_string_equal(rom_of(&p, 1, buf, sizeof(buf)), "<rom bar=\"off\"/>");
    assert_string_equal(rom_of(&p, 2, buf, sizeof(buf)), "<rom bar=\"off\"/>");
    vp_plan_clear(&p);

    /* A ROM image belongs to the card's first function only. */
    r.req.rom = VP_ROM_BAR_ON;
    r.req.rom_file = "/var/lib/vpass/gpu.rom";
    attach_ok(h, &r, &p);
    assert_string_equal(rom_of(&p, 1, buf, sizeof(buf)),
                        "<rom bar=\"on\" file=\"/var/lib/vpass/gpu.rom\"/>");
    assert_string_equal(rom_of(&p, 2, buf, sizeof(buf)), "<rom bar=\"on\"/>");
    vp_plan_clear(&p);

    r.req.rom = VP_ROM_DEFAULT;
    attach_ok(h, &r, &p);
    assert_string_equal(rom_of(&p, 1, buf, sizeof(buf)), "<rom file=\"/var/lib/vpass/gpu.rom\"/>");
    assert_string_equal(rom_of(&p, 2, buf, sizeof(buf)), "none");
    vp_plan_clear(&p);

    r.req.rom_file = NULL;
    r.req.rom = VP_ROM_DISABLED;
    attach_ok(h, &r, &p);
    assert_string_equal(rom_of(&p, 1, buf, sizeof(buf)), "<rom enabled=\"no\"/>");
    {
        vp_autofree char *after = sim_apply(xml, &p);

        assert_valid_domain(after);
    }
    vp_plan_clear(&p);

    /* enabled='no' takes no file (libvirt refuses it), and a file must be absolute. */
    r.req.rom_file = "/var/lib/vpass/gpu.rom";
    assert_int_equal(vp_plan_attach(h, &r.req, &p, &err), -1);
    assert_int_equal(err.code, VP_E_USAGE);
    assert_non_null(strstr(err.msg, "exclude each other"));
    vp_plan_clear(&p);
    r.req.rom = VP_ROM_BAR_ON;
    r.req.rom_file = "gpu.rom";
    assert_int_equal(vp_plan_attach(h, &r.req, &p, &err), -1);
    assert_int_equal(err.code, VP_E_USAGE);
    assert_non_null(strstr(err.msg, "absolute"));
    vp_plan_clear(&p);
}

/* Names, paths and drivers with markup characters stay data. */
static void
test_markup_is_data(void **state)
{
    static const char evil[] = "a'b<c>&\"d";
    vp_autofree char *xml = vp_test_read_text(MARKUP_XML);
    vp_autoptr(vp_host) h = vp_host_new();
    vp_autofree char *rom_path = vp_asprintf("/tmp/%s.rom", evil);
    vp_autofree char *name = NULL;
    vp_autofree char *title = NULL;
    vp_autofree char *net = NULL;
    vp_autofree char *file = NULL;
    vp_autofree char *driver = NULL;
    vp_autoxmldoc rd = NULL;
    vp_autoxmldoc hd = NULL;
    vp_autoxmldoc md = NULL;
    xmlNode *root;
    request r;
    vp_plan p;

    (void)state;
    add_dev(h, "0000:41:00.0", 40, "vfio-pci", 0x030000);
    add_dev(h, "0000:41:01.0", 40, evil, 0x020000); /* a sibling on a driver named like that */
    add_domain(h, evil, xml, false);
    vp_host_finalize(h);
    req_init(&r, h, evil, xml);
    req_device(&r, h, "0000:41:00.0");
    r.req.rom_file = rom_path;
    r.req.mmio = VP_MMIO_SIZE;
    r.req.mmio_bytes = 64 * GiB;
    attach_ok(h, &r, &p);
    assert_int_equal(p.n_steps, 5);
    assert_string_equal(step(&p, 0, VP_STEP_ISOLATE)->driver, evil);
    rd = parse(step(&p, 1, VP_STEP_REDEFINE)->xml);
    root = xmlDocGetRootElement(rd);
    name = vp_xml_text(vp_xml_child(root, "name"));
    title = vp_xml_text(vp_xml_child(root, "title"));
    net = vp_xml_prop(
        vp_xml_child(vp_xml_child(vp_xml_child(root, "devices"), "interface"), "source"),
        "network");
    assert_string_equal(name, evil);
    assert_string_equal(title, evil);
    assert_string_equal(net, evil);
    assert_valid_domain(p.steps[1].xml);
    step(&p, 2, VP_STEP_ADD_CONTROLLER);
    hd = parse(step(&p, 3, VP_STEP_ATTACH)->xml);
    file = vp_xml_prop(vp_xml_child(xmlDocGetRootElement(hd), "rom"), "file");
    assert_string_equal(file, rom_path);
    md = parse(step(&p, 4, VP_STEP_SET_METADATA)->xml);
    driver = vp_xml_prop(vp_xml_child(xmlDocGetRootElement(md), "isolated"), "driver");
    assert_string_equal(driver, evil);
    assert_string_equal(p.steps[3].summary, "attach 0000:41:00.0 to a'b<c>&\"d (config)");
    {
        vp_autofree char *after = sim_apply(xml, &p);

        assert_valid_domain(after);
    }
    vp_plan_clear(&p);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
    vp_autofree char *path = vp_path_join(dir, name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_templates_errors(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = host_bcm5720("q35-test", xml);
    char dir[] = "/tmp/vpass-test-tpl-XXXXXX";
    vp_error err = {0};
    request r;
    vp_plan p;

    (void)state;
    req_init(&r, h, "q35-test", xml);
    req_device(&r, h, "0000:19:00.0");
    r.req.templates_dir = "/nonexistent/vpass-templates";
    assert_int_equal(vp_plan_attach(h, &r.req, &p, &err), -1);
    assert_int_equal(err.code, VP_E_SYSTEM);
    /* On q35 the function's own root port is built first. */
    assert_string_equal(err.msg,
                        "/nonexistent/vpass-templates/controller-pcie-root-port.xml: cannot read "
                        "template: No such file or directory");
    assert_int_equal(p.n_steps, 0);
    vp_plan_clear(&p);

    assert_non_null(mkdtemp(dir));
    r.req.templates_dir = dir;
    {
        vp_autofree char *ctl = vp_test_read_text(TEMPLATES "/controller-pcie-root-port.xml");

        write_file(dir, "controller-pcie-root-port.xml", ctl);
    }
    assert_int_equal(vp_plan_attach(h, &r.req, &p, &err), -1);
    assert_string_equal(strstr(err.msg, "/hostdev-pci.xml"),
                        "/hostdev-pci.xml: cannot read template: No such file or directory");
    vp_plan_clear(&p);
    write_file(dir, "hostdev-pci.xml", "<hostdev mode='subsystem'><source>");
    assert_int_equal(vp_plan_attach(h, &r.req, &p, &err), -1);
    assert_int_equal(err.code, VP_E_SYSTEM);
    assert_true(vp_startswith(err.msg, dir));
    assert_non_null(strstr(err.msg, "hostdev-pci.xml: malformed template"));
    vp_plan_clear(&p);

    write_file(dir, "hostdev-pci.xml", "<interface type='hostdev'/>");
    assert_int_equal(vp_plan_attach(h, &r.req, &p, &err), -1);
    assert_non_null(strstr(err.msg, "template root is <interface>, expected <hostdev>"));
    vp_plan_clear(&p);

    /* A DOCTYPE could carry entities: refused like any document vpass reads. */
    write_file(dir, "hostdev-pci.xml",
               "<!DOCTYPE hostdev [<!ENTITY x 'y'>]><hostdev><source><address/></source>"
               "</hostdev>");
    assert_int_equal(vp_plan_attach(h, &r.req, &p, &err), -1);
    assert_int_equal(err.code, VP_E_SYSTEM);
    assert_non_null(strstr(err.msg, "DOCTYPE"));
    vp_plan_clear(&p);

    /* The metadata template is read too. */
    {
        vp_autofree char *src = vp_test_read_text(TEMPLATES "/hostdev-pci.xml");

        write_file(dir, "hostdev-pci.xml", src);
        write_file(dir, "metadata.xml", "<vpass:vpass xmlns:vpass='urn:vpass:domain:1'/>");
        assert_int_equal(vp_plan_attach(h, &r.req, &p, &err), -1);
        assert_non_null(strstr(err.msg, "metadata.xml: template has no <vpass:device> record"));
        vp_plan_clear(&p);
    }
    rm_tree(dir);
}

static void
test_interface_template(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autofree char *tpl = vp_test_read_text(TEMPLATES "/interface-hostdev.xml");
    vp_autoxmldoc dom = parse(xml);
    vp_autoxmldoc t = parse(tpl);
    vp_autofree char *out = NULL;
    xmlNode *iface = xmlDocGetRootElement(t), *addr;

    (void)state;
    /* The SR-IOV template filled as the plan fills the others: valid inside a domain. */
    addr = vp_xml_child(vp_xml_child(iface, "source"), "address");
    assert_non_null(addr);
    xmlSetProp(vp_xml_child(iface, "mac"), (const xmlChar *)"address",
               (const xmlChar *)"52:54:00:6d:90:02");
    xmlSetProp(addr, (const xmlChar *)"domain", (const xmlChar *)"0x0000");
    xmlSetProp(addr, (const xmlChar *)"bus", (const xmlChar *)"0x01");
    xmlSetProp(addr, (const xmlChar *)"slot", (const xmlChar *)"0x10");
    xmlSetProp(addr, (const xmlChar *)"function", (const xmlChar *)"0x2");
    xmlSetProp(vp_xml_child(vp_xml_child(iface, "vlan"), "tag"), (const xmlChar *)"id",
               (const xmlChar *)"42");
    /* The guest slot: function 0 on a bus vpass adds (pcie-root-port index 1 below). */
    addr = vp_plan_guest_address(iface, NULL);
    assert_non_null(addr);
    xmlSetProp(addr, (const xmlChar *)"domain", (const xmlChar *)"0x0000");
    xmlSetProp(addr, (const xmlChar *)"bus", (const xmlChar *)"0x01");
    xmlSetProp(addr, (const xmlChar *)"slot", (const xmlChar *)"0x00");
    xmlSetProp(addr, (const xmlChar *)"function", (const xmlChar *)"0x0");
    xmlAddChild(vp_xml_child(xmlDocGetRootElement(dom), "devices"), xmlDocCopyNode(iface, dom, 1));
    out = dump(dom);
    assert_valid_domain(out);
}

static void
test_parse_size(void **state)
{
    static const struct {
        const char *in;
        uint64_t out;
    } good[] = {
        {"64G", 64 * GiB},
        {"64g", 64 * GiB},
        {"65536M", 64 * GiB},
        {"128GiB", 128 * GiB},
        {"1T", 1ULL << 40},
        {"4096", 4096},
        {"1k", 1024},
        {"3KiB", 3072},
        {"512B", 512},
        {"15E", 15ULL << 60},
        {"18446744073709551615", UINT64_MAX},
    };
    static const char *const bad[] = {
        "",
        "G",
        "0",
        "0G",
        "-1G",
        "+1G",
        "1.5G",
        "64 G",
        " 64G",
        "64X",
        "64GIB",
        "16E",
        "18446744073709551616",
        "abc",
        "0x10G",
        "64Gi",
    };
    vp_error err = {0};
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < VP_ARRAY_SIZE(good); i++) {
        v = 0;
        if (vp_parse_size(good[i].in, &v, &err) < 0)
            fail_msg("'%s': %s", good[i].in, err.msg);
        assert_int_equal(v, good[i].out);
    }
    for (size_t i = 0; i < VP_ARRAY_SIZE(bad); i++) {
        v = 7;
        if (vp_parse_size(bad[i], &v, &err) == 0)
            fail_msg("'%s' parsed as %llu", bad[i], (unsigned long long)v);
        assert_int_equal(err.code, VP_E_USAGE);
        assert_int_equal(v, 7);
    }
    assert_int_equal(vp_parse_size("64GB", &v, &err), -1);
    assert_non_null(strstr(err.msg, "ambiguous"));
    assert_string_equal(err.hint, "write 64GiB (binary units)");
}

static void
test_render(void **state)
{
    vp_autofree char *q35 = vp_test_read_text(Q35_XML);
    vp_autofree char *i440 = vp_test_read_text(I440FX_XML);
    vp_autofree char *lv = NULL;
    vp_autofree char *qemu = NULL;
    vp_autofree char *pve = NULL;
    vp_autofree char *concat = NULL;
    request r;
    vp_plan p;

    (void)state;
    {
        vp_autoptr(vp_host) h = host_bcm5720("q35-test", q35);

        req_init(&r, h, "q35-test", q35);
        req_group(&r, h, 26);
        attach_ok(h, &r, &p);
        lv = vp_plan_render(&p, VP_FORMAT_LIBVIRT);
        concat = vp_asprintf("%s%s%s", group26_controller, group26_fn0, group26_fn1);
        assert_string_equal(lv, concat);
        qemu = vp_plan_render(&p, VP_FORMAT_QEMU);
        assert_string_equal(qemu, "-device pcie-root-port,id=pci.4,bus=pcie.0,chassis=4,port=0xb\n"
                                  "-device vfio-pci,host=0000:18:00.0,bus=pci.4,addr=0x0.0x0,"
                                  "multifunction=on\n"
                                  "-device vfio-pci,host=0000:18:00.1,bus=pci.4,addr=0x0.0x1\n");
        pve = vp_plan_render(&p, VP_FORMAT_PROXMOX);
        assert_string_equal(pve, "hostpci0: 0000:18:00.0;0000:18:00.1,pcie=1\n");
        vp_plan_clear(&p);
    }
    {
        vp_autoptr(vp_host) h = host_gpu("QEMUGuest2", i440, 0);
        vp_autofree char *q2 = NULL;
        vp_autofree char *p2 = NULL;

        req_init(&r, h, "QEMUGuest2", i440);
        req_group(&r, h, 40);
        r.req.rom = VP_ROM_BAR_OFF;
        r.req.rom_file = "/srv/rom,s/it's.rom";
        attach_ok(h, &r, &p);
        q2 = vp_plan_render(&p, VP_FORMAT_QEMU);
        /* ',' doubled for QEMU's option parser, then quoted for the shell. */
        assert_string_equal(q2, "-device 'vfio-pci,host=0000:41:00.0,bus=pci.0,addr=0x3.0x0,"
                                "multifunction=on,rombar=0,romfile=/srv/rom,,s/it'\\''s.rom'\n"
                                "-device vfio-pci,host=0000:41:00.1,bus=pci.0,addr=0x3.0x1,"
                                "rombar=0\n");
        p2 = vp_plan_render(&p, VP_FORMAT_PROXMOX);
        assert_string_equal(p2, "# copy /srv/rom,s/it's.rom to /usr/share/kvm/ first\n"
                                "hostpci0: 0000:41:00.0;0000:41:00.1,rombar=0,romfile=it's.rom\n");
        vp_plan_clear(&p);

        /* A name Proxmox cannot hold, and a file already in /usr/share/kvm/. */
        r.req.rom_file = "/srv/a;b.rom";
        attach_ok(h, &r, &p);
        free(p2);
        p2 = vp_plan_render(&p, VP_FORMAT_PROXMOX);
        assert_string_equal(p2, "# rename /srv/a;b.rom: Proxmox's romfile takes no ',' or ';'\n"
                                "hostpci0: 0000:41:00.0;0000:41:00.1,rombar=0\n");
        vp_plan_clear(&p);
        r.req.rom = VP_ROM_DISABLED;
        r.req.rom_file = NULL;
        attach_ok(h, &r, &p);
        free(q2);
        q2 = vp_plan_render(&p, VP_FORMAT_QEMU);
        assert_non_null(strstr(q2, "multifunction=on,romfile=\n"));
        vp_plan_clear(&p);
        r.req.rom = VP_ROM_DEFAULT;
        r.req.rom_file = "/usr/share/kvm/gpu.rom";
        attach_ok(h, &r, &p);
        free(p2);
        p2 = vp_plan_render(&p, VP_FORMAT_PROXMOX);
        assert_string_equal(p2, "hostpci0: 0000:41:00.0;0000:41:00.1,romfile=gpu.rom\n");
        vp_plan_clear(&p);
    }
}

/* `vpass xml` without --domain: the device XML alone, no guest slot to choose from. */
static void
test_no_domain(void **state)
{
    vp_autoptr(vp_host) h = host_bcm5720(NULL, NULL);
    vp_autofree char *pve = NULL;
    request r;
    vp_plan p;

    (void)state;
    req_init(&r, h, NULL, NULL);
    req_group(&r, h, 26);
    r.req.mmio = VP_MMIO_AUTO;
    r.req.affect = VP_AFFECT_CURRENT;
    attach_ok(h, &r, &p);
    assert_null(p.domain);
    assert_null(p.machine);
    assert_int_equal(p.n_steps, 2);
    assert_null(strstr(step(&p, 0, VP_STEP_ATTACH)->xml, "<address type"));
    assert_string_equal(p.steps[0].summary, "attach 0000:18:00.0 to the domain (current)");
    step(&p, 1, VP_STEP_ATTACH);
    assert_true(has_note(&p, "the functions of 0000:18:00 get no guest address"));
    assert_true(has_note(&p, "no domain definition: --mmio64 changes nothing"));
    pve = vp_plan_render(&p, VP_FORMAT_PROXMOX);
    assert_string_equal(pve, "hostpci0: 0000:18:00.0;0000:18:00.1,pcie=1\n");
    vp_plan_clear(&p);
}

/* ---- libvirt itself: the embedded QEMU driver in a temporary root ----
 * qemu:///embed needs no daemon. Run by root it is privileged (it wants a libvirt-qemu user
 * and hands files to it), so a root test run does libvirt's part in a child that drops to
 * nobody, where the driver is unprivileged and keeps to the temporary root; each call is one
 * child, the definitions persist in the root between them. */

#define NOBODY 65534

static void
silent_error(void *opaque, virErrorPtr e)
{
    (void)opaque;
    (void)e;
}

/* In the child: define DEFINE_XML (or look NAME up), apply P's domain steps with
 * AFFECT_CONFIG, print the inactive XML to OUT. Exit status for _exit. */
static int
embed_child(const char *dir, const char *define_xml, const char *name, const vp_plan *p, FILE *out)
{
    vp_autofree char *uri = vp_asprintf("qemu:///embed?root=%s/root", dir);
    virConnectPtr conn;
    virDomainPtr dom;
    char *xml;

    if (getuid() == 0 && (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)) {
        fprintf(out, "cannot drop to nobody: %s", strerror(errno));
        return 1;
    }
    setenv("HOME", dir, 1);
    setenv("XDG_RUNTIME_DIR", dir, 1);
    setenv("XDG_CACHE_HOME", dir, 1);
    setenv("XDG_CONFIG_HOME", dir, 1);
    virSetErrorFunc(NULL, silent_error);
    /* The embedded driver wants an event loop registered (virsh runs one too); nothing here
     * waits on an event, so it need not run. */
    if (virEventRegisterDefaultImpl() < 0)
        goto fail;
    conn = virConnectOpen(uri);
    if (!conn)
        goto fail;
    dom = define_xml ? virDomainDefineXML(conn, define_xml) : virDomainLookupByName(conn, name);
    if (!dom)
        goto fail;
    for (size_t i = 0; p && i < p->n_steps; i++) {
        const vp_step *s = &p->steps[i];
        int r = 0;

        switch (s->kind) {
        case VP_STEP_ISOLATE:
        case VP_STEP_REATTACH:
        case VP_STEP_SET_VF:
            break; /* host side: not libvirt's domain */
        case VP_STEP_REDEFINE: {
            virDomainPtr d2 = virDomainDefineXML(conn, s->xml);

            r = d2 ? 0 : -1;
            if (d2)
                virDomainFree(d2);
            break;
        }
        case VP_STEP_ADD_CONTROLLER:
        case VP_STEP_ATTACH:
            r = virDomainAttachDeviceFlags(dom, s->xml, VIR_DOMAIN_AFFECT_CONFIG);
            break;
        case VP_STEP_DETACH:
        case VP_STEP_REMOVE_CONTROLLER:
            r = virDomainDetachDeviceFlags(dom, s->xml, VIR_DOMAIN_AFFECT_CONFIG);
            break;
        case VP_STEP_SET_METADATA:
            r = virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, s->xml,
                                     s->xml ? VP_METADATA_PREFIX : NULL, VP_METADATA_NS,
                                     VIR_DOMAIN_AFFECT_CONFIG);
            break;
        }
        if (r < 0) {
            fprintf(out, "step %zu (%s): %s", i, s->summary, virGetLastErrorMessage());
            return 1;
        }
    }
    xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    if (!xml)
        goto fail;
    fputs(xml, out);
    free(xml);
    virDomainFree(dom);
    virConnectClose(conn);
    return 0;
fail:
    fprintf(out, "%s", virGetLastErrorMessage());
    return 1;
}

/* Run embed_child in a child process; its inactive XML, or the test fails with its error. */
static char *
embed_run(const char *dir, const char *define_xml, const char *name, const vp_plan *p)
{
    int fds[2];
    pid_t pid;
    int status = 0;
    char *buf = NULL;
    size_t len = 0, alloc = 0;
    ssize_t n;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *out;
        int rc;

        close(fds[0]);
        out = fdopen(fds[1], "w");
        rc = out ? embed_child(dir, define_xml, name, p, out) : 1;
        if (out)
            fclose(out);
        _exit(rc);
    }
    close(fds[1]);
    for (;;) {
        vp_grow(&buf, &alloc, len + 4097, 1);
        n = read(fds[0], buf + len, 4096);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("libvirt (qemu:///embed): %s", buf);
    return buf;
}

/* Attach with libvirt, check what it kept, attach again (no-op), detach: byte-identical. */
static void
embed_roundtrip(const char *dir, const char *fixture, const char *name, unsigned group,
                vp_host *(*make)(const char *, const char *, uint64_t), uint64_t big,
                vp_mmio_mode mmio, const char *expect_in_x1)
{
    vp_autofree char *in = vp_test_read_text(fixture);
    /* libvirt's own output is not a fixed point of its define: controllers it adds while
     * assigning addresses are appended, a define sorts them by type. Start from the
     * definition as a second define writes it, which any redefinition (virsh edit too)
     * gives back unchanged. */
    vp_autofree char *first = embed_run(dir, in, name, NULL);
    vp_autofree char *x0 = embed_run(dir, first, name, NULL);
    vp_autofree char *x1 = NULL;
    vp_autofree char *x2 = NULL;
    vp_autoptr(vp_host) h = make(name, x0, big);
    request r;
    vp_plan p;

    req_init(&r, h, name, x0);
    req_group(&r, h, group);
    r.req.mmio = mmio;
    attach_ok(h, &r, &p);
    x1 = embed_run(dir, NULL, name, &p);
    vp_plan_clear(&p);
    assert_valid_domain(x1);
    if (!strstr(x1, expect_in_x1))
        fail_msg("libvirt's definition lacks %s:\n%s", expect_in_x1, x1);
    assert_non_null(strstr(x1, "<vpass:vpass xmlns:vpass=\"urn:vpass:domain:1\">"));
    {
        /* What libvirt wrote back reads as "already there". */
        vp_autoptr(vp_host) h1 = make(name, x1, big);

        req_init(&r, h1, name, x1);
        req_group(&r, h1, group);
        r.req.mmio = mmio;
        attach_ok(h1, &r, &p);
        assert_true(p.noop);
        vp_plan_clear(&p);
        req_init(&r, h1, name, x1);
        req_group(&r, h1, group);
        detach_ok(h1, &r, true, &p);
        x2 = embed_run(dir, NULL, name, &p);
        vp_plan_clear(&p);
    }
    if (strcmp(x2, x0) != 0) {
        /* Long documents: leave them for diff(1) rather than cmocka's one-line message. */
        vp_autofree char *f0 = write_temp(x0);
        vp_autofree char *f2 = write_temp(x2);

        fail_msg("%s: detach did not give the definition back: diff %s %s", fixture, f0, f2);
    }
}

static vp_host *
make_bcm5720(const char *domain, const char *xml, uint64_t big)
{
    (void)big;
    return host_bcm5720(domain, xml);
}

static void
test_libvirt_embed(void **state)
{
    char dir[] = "/tmp/vpass-test-embed-XXXXXX";

    (void)state;
    if (getenv("VPASS_TEST_NO_QEMU")) {
        /* Explicit opt-out for machines without qemu-system-x86_64; never implicit. */
        skip();
    }
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0777), 0);
    /* Group 26 into q35: a root port and a multifunction slot, with libvirt's checks. */
    embed_roundtrip(dir, Q35_XML, "q35-test", 26, make_bcm5720, 0, VP_MMIO_LEAVE,
                    "<address type='pci' domain='0x0000' bus='0x04' slot='0x00' "
                    "function='0x0' multifunction='on'/>");
    /* A 512 GiB BAR into q35 with <pcihole64>: the window and <maxphysaddr> and back. */
    embed_roundtrip(dir, FIX_DOMAIN "/libvirt/pcihole64-q35.xml", "q35-test", 40, host_gpu,
                    512 * GiB, VP_MMIO_AUTO, "<maxphysaddr mode='passthrough'/>");
    /* GPU + audio into i440fx: slot 3 on bus 0, <pcihole64> created on pci-root. */
    embed_roundtrip(dir, FIX_DOMAIN "/libvirt/hostdev-pci-address.xml", "QEMUGuest2", 40, host_gpu,
                    0, VP_MMIO_AUTO, "<pcihole64 unit='KiB'>67108864</pcihole64>");
    rm_tree(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group26_q35),
        cmocka_unit_test(test_one_function_isolates_sibling),
        cmocka_unit_test(test_all_functions),
        cmocka_unit_test(test_multifunction_live_refused),
        cmocka_unit_test(test_block_names_finding),
        cmocka_unit_test(test_gpu_i440fx),
        cmocka_unit_test(test_gpu_q35_windows),
        cmocka_unit_test(test_maxphysaddr),
        cmocka_unit_test(test_ovmf),
        cmocka_unit_test(test_idempotent),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_detach_steps),
        cmocka_unit_test(test_detach_isolated_and_unmanaged),
        cmocka_unit_test(test_hook_policy_kept),
        cmocka_unit_test(test_rom_modes),
        cmocka_unit_test(test_markup_is_data),
        cmocka_unit_test(test_templates_errors),
        cmocka_unit_test(test_interface_template),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_no_domain),
        cmocka_unit_test(test_libvirt_embed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
