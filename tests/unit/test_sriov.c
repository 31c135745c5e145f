/* Unit tests for SR-IOV (src/plan/plan_sriov.c, the SET_VF step of src/apply/apply.c,
 * src/apply/sriov_apply.c): the VFs of a PF from the lab's sysfs twin, the sriov-host fixture
 * and libvirt's node-device XML; picking a VF (free, not the host's, NUMA-local); stable MACs and
 * their refusals; the interface XML and metadata; trust/spoofchk through a fake netlink seam,
 * applied and rolled back through a fake libvirt; the VF count against a model of the kernel on
 * a copy of a fixture tree. */
#include "vp_test.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply/apply.h"
#include "apply/sriov_apply.h"
#include "plan/plan.h"
#include "source/netlink.h"
#include "source/source.h"
#include "source/xmlread.h"
#include "util/fs.h"
#include "util/str.h"
#include "virt/virt.h"

#define TEMPLATES VP_TEST_SOURCE_DIR "/xml-templates"
#define LAB_ROOT VP_TEST_BUILD_DIR "/lab/root"
#define SRIOV_ROOT VP_TEST_FIXTURES "/sysfs/sriov-host"
#define NODEDEV VP_TEST_FIXTURES "/nodedev"
#define Q35_XML VP_TEST_FIXTURES "/plan/libvirt/q35-default-devices-only.x86_64-latest.xml"
#define TARGET "q35-test"
#define LAB_PF "enp59s0f0"

/* ---- helpers ---- */

/* A small domain NAME whose definition holds ADDR as a hostdev, or as an interface with MAC. */
static char *
dom_xml(const char *name, const char *uuid, const char *addr, const char *mac)
{
    vp_pci_addr a;
    vp_autofree char *dev = NULL;

    assert_int_equal(vp_pci_addr_parse(addr, &a, NULL), 0);
    if (mac)
        dev = vp_asprintf("<interface type='hostdev' managed='yes'><mac address='%s'/><source>"
                          "<address type='pci' domain='0x%04x' bus='0x%02x' slot='0x%02x' "
                          "function='0x%x'/></source></interface>",
                          mac, (unsigned)a.domain, a.bus, a.slot, a.func);
    else
        dev = vp_asprintf("<hostdev mode='subsystem' type='pci' managed='yes'><source><address "
                          "domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/></source>"
                          "</hostdev>",
                          (unsigned)a.domain, a.bus, a.slot, a.func);
    return vp_asprintf("<domain type='kvm'><name>%s</name><uuid>%s</uuid><memory>1048576</memory>"
                       "<os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os><devices>%s"
                       "</devices></domain>",
                       name, uuid, dev);
}

static void
add_dom(vp_host *h, const char *name, const char *uuid, bool running, const char *xml)
{
    vp_domain *d = vp_host_add_domain(h, name, uuid, running, true);
    vp_error err = {0};

    assert_int_equal(vp_domxml_read_domain(d, xml, &err), 0);
    assert_int_equal(vp_domxml_add_macs(d, xml, &err), 0);
    assert_int_equal(vp_domxml_add_assignments(h, name, xml, running, true, &err), 0);
}

/* Which lab domains to define besides the target (q35-test, from TARGET_XML). */
enum {
    LAB_VM1 = 1 << 0,   /* running, interface 3b:10.0, MAC 52:54:00:6b:3c:01 */
    LAB_WEB = 1 << 1,   /* web1 + web2, shut off, both hostdev 3b:10.4 */
    LAB_DB1 = 1 << 2,   /* running, hostdev 3b:10.6 */
    LAB_TAKE2 = 1 << 3, /* "other", shut off, hostdev 3b:10.2 */
    LAB_ALL = LAB_VM1 | LAB_WEB | LAB_DB1,
};

/* The lab's sysfs twin (with its host facts) and the chosen domains. */
static vp_host *
lab_host(unsigned which, const char *target_xml)
{
    vp_host *h = vp_host_new();
    vp_error err = {0};

    if (vp_source_sysfs_load(h, LAB_ROOT, &err) < 0)
        fail_msg("%s (build the vpass-lab target)", err.msg);
    assert_int_equal(vp_source_host_facts_load(h, LAB_ROOT, &err), 0);
    if (which & LAB_VM1) {
        vp_autofree char *x = dom_xml("vm1", "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e01", "0000:3b:10.0",
                                      "52:54:00:6b:3c:01");

        add_dom(h, "vm1", "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e01", true, x);
    }
    if (which & LAB_WEB) {
        vp_autofree char *x1 =
            dom_xml("web1", "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e04", "0000:3b:10.4", NULL);
        vp_autofree char *x2 =
            dom_xml("web2", "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e05", "0000:3b:10.4", NULL);

        add_dom(h, "web1", "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e04", false, x1);
        add_dom(h, "web2", "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e05", false, x2);
    }
    if (which & LAB_DB1) {
        vp_autofree char *x =
            dom_xml("db1", "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e06", "0000:3b:10.6", NULL);

        add_dom(h, "db1", "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e06", true, x);
    }
    if (which & LAB_TAKE2) {
        vp_autofree char *x =
            dom_xml("other", "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e07", "0000:3b:10.2", NULL);

        add_dom(h, "other", "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e07", false, x);
    }
    if (target_xml)
        add_dom(h, TARGET, "11dbdcdd-4c3b-482b-8903-9bdb8c0a2774", false, target_xml);
    vp_host_finalize(h);
    return h;
}

static vp_plan_request
request(const vp_host *h, const char *xml)
{
    vp_plan_request r = {0};

    r.domain_name = TARGET;
    r.domain_xml = xml;
    r.managed = true;
    r.affect = VP_AFFECT_CONFIG;
    r.templates_dir = TEMPLATES;
    r.target.domain = vp_host_find_domain(h, TARGET);
    return r;
}

static vp_sriov_request
sr_auto(void)
{
    vp_sriov_request s = {0};

    s.pf = LAB_PF;
    s.has_vf = true;
    s.vf_auto = true;
    s.trust = VP_VF_UNKNOWN;
    s.spoofchk = VP_VF_UNKNOWN;
    s.as = VP_VF_AS_INTERFACE;
    return s;
}

static void
attach_ok(const vp_host *h, const vp_plan_request *r, const vp_sriov_request *s, vp_plan *p,
          vp_sriov_choice *c)
{
    vp_error err = {0};

    if (vp_plan_sriov_attach(h, r, s, p, c, &err) < 0)
        fail_msg("sriov attach: %s (%s)", err.msg, err.hint);
}

static int
attach_err(const vp_host *h, const vp_plan_request *r, const vp_sriov_request *s, vp_error *err)
{
    vp_plan p;
    int rc = vp_plan_sriov_attach(h, r, s, &p, NULL, err);

    if (rc == 0) {
        vp_plan_clear(&p);
        fail_msg("sriov attach succeeded, an error was expected");
    }
    vp_plan_clear(&p);
    return err->code;
}

static const vp_step *
find_step(const vp_plan *p, vp_step_kind k)
{
    for (size_t i = 0; i < p->n_steps; i++)
        if (p->steps[i].kind == k)
            return &p->steps[i];
    return NULL;
}

static bool
has_note(const vp_plan *p, const char *text)
{
    for (size_t i = 0; p->notes && p->notes[i]; i++)
        if (strstr(p->notes[i], text))
            return true;
    return false;
}

static void
set_ns(xmlNode *n, xmlNs *ns)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE) {
            xmlSetNs(n, ns);
            set_ns(n->children, ns);
        }
}

/* What libvirt would make of DOMAIN_XML after P's attach and metadata steps (config). */
static char *
sim_apply(const char *domain_xml, const vp_plan *p)
{
    vp_autoxmldoc doc = NULL;
    xmlNode *root, *devs;
    vp_error err = {0};
    xmlBuffer *buf = xmlBufferCreate();
    char *out;

    assert_int_equal(vp_xml_parse(domain_xml, "domain", &doc, &err), 0);
    root = xmlDocGetRootElement(doc);
    devs = vp_xml_child(root, "devices");
    for (size_t i = 0; i < p->n_steps; i++) {
        const vp_step *s = &p->steps[i];
        vp_autoxmldoc d = NULL;

        if (s->kind != VP_STEP_ATTACH && s->kind != VP_STEP_SET_METADATA)
            continue;
        assert_int_equal(vp_xml_parse(s->xml, "step", &d, &err), 0);
        if (s->kind == VP_STEP_ATTACH) {
            xmlAddChild(devs, xmlDocCopyNode(xmlDocGetRootElement(d), doc, 1));
        } else {
            xmlNode *md = vp_xml_child(root, "metadata");
            xmlNode *rec = xmlDocCopyNode(xmlDocGetRootElement(d), doc, 1);
            xmlNs *ns;

            if (!md) {
                md = xmlNewDocNode(doc, NULL, (const xmlChar *)"metadata", NULL);
                xmlAddPrevSibling(vp_xml_child(root, "memory"), md);
            }
            xmlAddChild(md, rec);
            ns = xmlNewNs(rec, (const xmlChar *)VP_METADATA_NS, (const xmlChar *)"vpass");
            set_ns(rec, ns);
        }
    }
    xmlNodeDump(buf, doc, root, 0, 1);
    out = vp_strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return out;
}

/* H's host-facts entry for interface NAME (added when the facts have none). */
static vp_netif *
netif(vp_host *h, const char *name)
{
    vp_netif *n;

    for (size_t i = 0; i < h->facts.n_netifs; i++)
        if (vp_streq(h->facts.netifs[i].name, name))
            return &h->facts.netifs[i];
    h->facts.netifs = vp_realloc_array(h->facts.netifs, h->facts.n_netifs + 1, sizeof(*n));
    n = &h->facts.netifs[h->facts.n_netifs++];
    memset(n, 0, sizeof(*n));
    n->name = vp_strdup(name);
    return n;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- fakes: netlink and libvirt ---- */

typedef struct {
    vp_netlink base;
    char pf[VP_IFNAME_MAX];
    vp_vf_info vfs[8];
    size_t n;
    int fail_set; /* set_vf call number (1-based) that fails; 0: none */
    int set_calls;
    char **log;
} fake_nl;

static int
fnl_pf_vfs(vp_netlink *nl, const char *pf, vp_vf_info **ret, size_t *ret_n, vp_error *err)
{
    fake_nl *f = (fake_nl *)nl;

    if (strcmp(pf, f->pf) != 0)
        return vp_error_set(err, VP_E_NOTFOUND, "%s: no such network interface", pf);
    *ret = vp_malloc0(sizeof(f->vfs));
    memcpy(*ret, f->vfs, sizeof(f->vfs));
    *ret_n = f->n;
    return 0;
}

static int
fnl_set_vf(vp_netlink *nl, const char *pf, unsigned vf, int trust, int spoofchk, vp_error *err)
{
    fake_nl *f = (fake_nl *)nl;

    f->set_calls++;
    vp_strv_push_take(&f->log,
                      vp_asprintf("set %s vf %u trust %d spoofchk %d", pf, vf, trust, spoofchk));
    if (f->set_calls == f->fail_set)
        return vp_error_set(err, VP_E_SYSTEM, "%s: VF %u: injected failure", pf, vf);
    if (strcmp(pf, f->pf) != 0 || vf >= f->n)
        return vp_error_set(err, VP_E_NOTFOUND, "%s: no VF %u", pf, vf);
    if (trust != VP_VF_UNKNOWN)
        f->vfs[vf].trust = trust;
    if (spoofchk != VP_VF_UNKNOWN)
        f->vfs[vf].spoofchk = spoofchk;
    return 0;
}

static const vp_netlink_ops fake_nl_ops = {.pf_vfs = fnl_pf_vfs, .set_vf = fnl_set_vf};

/* The lab PF's four VFs: spoofchk on, trust off, as igb reports after VFs are created. */
static void
fake_nl_init(fake_nl *f)
{
    memset(f, 0, sizeof(*f));
    f->base.ops = &fake_nl_ops;
    snprintf(f->pf, sizeof(f->pf), "%s", LAB_PF);
    f->n = 4;
    for (unsigned i = 0; i < 4; i++) {
        f->vfs[i].index = i;
        f->vfs[i].has_mac = true;
        f->vfs[i].spoofchk = VP_VF_ON;
        f->vfs[i].trust = VP_VF_OFF;
        f->vfs[i].link_state = VP_VF_LINK_AUTO;
    }
}

/* An in-memory libvirt: one shut-off persistent domain; change ops are logged; call FAIL_AT
 * (1-based) fails. */
typedef struct {
    vp_virt base;
    char *xml;
    char **log;
    int calls;
    int fail_at;
} mem_virt;

static mem_virt *
mv(vp_virt *v)
{
    return (mem_virt *)v;
}

static bool
mv_fail(vp_virt *v, const char *what, vp_error *err)
{
    mem_virt *m = mv(v);

    m->calls++;
    vp_strv_push(&m->log, what);
    if (m->calls == m->fail_at)
        return vp_error_set(err, VP_E_SYSTEM, "%s: injected failure (%s)", TARGET, what) < 0;
    return false;
}

static int
mv_get_xml(vp_virt *v, const char *d, bool inactive, char **ret, vp_error *err)
{
    (void)d;
    (void)inactive;
    (void)err;
    *ret = vp_strdup(mv(v)->xml);
    return 0;
}

static int
mv_state(vp_virt *v, const char *d, bool *running, bool *persistent, vp_error *err)
{
    (void)v;
    (void)d;
    (void)err;
    *running = false;
    *persistent = true;
    return 0;
}

static int
mv_attach(vp_virt *v, const char *d, const char *xml, unsigned affect, vp_error *err)
{
    (void)d;
    (void)affect;
    return mv_fail(v, strstr(xml, "<interface") ? "attach interface" : "attach", err) ? -1 : 0;
}

static int
mv_detach(vp_virt *v, const char *d, const char *xml, unsigned affect, vp_error *err)
{
    (void)d;
    (void)affect;
    return mv_fail(v, strstr(xml, "<interface") ? "detach interface" : "detach", err) ? -1 : 0;
}

static int
mv_define(vp_virt *v, const char *xml, vp_error *err)
{
    (void)xml;
    return mv_fail(v, "define", err) ? -1 : 0;
}

static int
mv_metadata(vp_virt *v, const char *d, const char *xml, const char *ns, const char *prefix,
            unsigned affect, vp_error *err)
{
    (void)d;
    (void)ns;
    (void)prefix;
    (void)affect;
    return mv_fail(v, xml ? "set metadata" : "remove metadata", err) ? -1 : 0;
}

static const vp_virt_ops mem_ops = {
    .get_domain_xml = mv_get_xml,
    .domain_state = mv_state,
    .attach_device = mv_attach,
    .detach_device = mv_detach,
    .define_xml = mv_define,
    .set_metadata = mv_metadata,
};

/* ---- CPU sets, MACs ---- */

static void
test_cpuset(void **state)
{
    vp_cpuset a, b;
    vp_autofree char *s = NULL;

    (void)state;
    assert_int_equal(vp_cpuset_parse("0-5,12-17", &a), 0);
    s = vp_cpuset_format(&a);
    assert_string_equal(s, "0-5,12-17");
    assert_int_equal(vp_cpuset_parse(" 1-3 , ^2,70", &b), 0);
    free(s);
    s = vp_cpuset_format(&b);
    assert_string_equal(s, "1,3,70");
    assert_false(vp_cpuset_subset(&b, &a));
    vp_cpuset_clear(&b);
    assert_int_equal(vp_cpuset_parse("2-4", &b), 0);
    assert_true(vp_cpuset_subset(&b, &a));
    assert_false(vp_cpuset_subset(&a, &b));
    vp_cpuset_union(&b, &a);
    free(s);
    s = vp_cpuset_format(&b);
    assert_string_equal(s, "0-5,12-17");
    vp_cpuset_clear(&a);
    vp_cpuset_clear(&b);
    assert_true(vp_cpuset_empty(&a));
    assert_int_equal(vp_cpuset_parse("3-1", &a), -1);
    assert_int_equal(vp_cpuset_parse("1,a", &a), -1);
    assert_int_equal(vp_cpuset_parse("^1-2", &a), -1);
    assert_int_equal(vp_cpuset_parse("99999", &a), -1);
    assert_int_equal(vp_cpuset_parse(NULL, &a), -1);
}

static void
test_auto_mac(void **state)
{
    vp_pci_addr pf, other;
    uint8_t m1[6], m2[6], m3[6];
    char buf[18];

    (void)state;
    assert_int_equal(vp_pci_addr_parse("0000:3b:00.0", &pf, NULL), 0);
    assert_int_equal(vp_pci_addr_parse("0000:3c:00.0", &other, NULL), 0);
    /* Pinned: the derivation is documented (docs/sriov.md) and must never drift, or a VM's
     * MAC changes across vpass versions. */
    vp_sriov_auto_mac("1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e03", &pf, 1, m1);
    assert_string_equal(vp_mac_format(m1, buf), "02:d3:b9:4e:c5:5a");
    /* The UUID's case does not matter; every input does. */
    vp_sriov_auto_mac("1F7B3E0A-0C1D-4A51-8A3E-5B2F6C7D8E03", &pf, 1, m2);
    assert_memory_equal(m1, m2, 6);
    vp_sriov_auto_mac("1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e03", &pf, 2, m3);
    assert_memory_not_equal(m1, m3, 6);
    vp_sriov_auto_mac("1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e04", &pf, 1, m3);
    assert_memory_not_equal(m1, m3, 6);
    vp_sriov_auto_mac("1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e03", &other, 1, m3);
    assert_memory_not_equal(m1, m3, 6);
    /* Locally administered, unicast, whatever the inputs. */
    for (unsigned i = 0; i < 64; i++) {
        vp_sriov_auto_mac("11dbdcdd-4c3b-482b-8903-9bdb8c0a2774", &pf, i, m3);
        assert_int_equal(m3[0], 0x02);
    }
}

/* ---- the VFs of a PF ---- */

static void
test_inventory_lab(void **state)
{
    vp_autoptr(vp_host) h = lab_host(LAB_ALL, NULL);
    const vp_device *pf;
    vp_sriov_pf p;
    vp_error err = {0};

    (void)state;
    assert_int_equal(vp_sriov_find_pf(h, LAB_PF, &pf, &err), 0);
    assert_string_equal(pf->addr_str, "0000:3b:00.0");
    assert_int_equal(vp_sriov_find_pf(h, "0000:3b:00.0", &pf, &err), 0);
    assert_int_equal(vp_sriov_find_pf(h, "3b:10.2", &pf, &err), -1);
    assert_int_equal(err.code, VP_E_USAGE);
    assert_non_null(strstr(err.msg, "is a VF, not a PF"));
    assert_non_null(strstr(err.hint, "0000:3b:00.0"));
    assert_int_equal(vp_sriov_find_pf(h, "eno1", &pf, &err), -1);
    assert_non_null(strstr(err.msg, "not a PF"));
    assert_int_equal(vp_sriov_find_pf(h, "nosuch0", &pf, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);

    assert_int_equal(vp_sriov_find_pf(h, LAB_PF, &pf, &err), 0);
    vp_sriov_pf_build(h, pf, NULL, 0, false, "read from --root", &p);
    assert_string_equal(p.ifname, LAB_PF);
    assert_int_equal(p.total, 8);
    assert_int_equal(p.current, 4);
    assert_false(p.info_known);
    assert_string_equal(p.info_why, "read from --root");
    assert_int_equal(p.n_vfs, 4);
    {
        static const char *const addrs[] = {"0000:3b:10.0", "0000:3b:10.2", "0000:3b:10.4",
                                            "0000:3b:10.6"};
        static const vp_vf_state states[] = {VP_VF_ASSIGNED, VP_VF_FREE, VP_VF_ASSIGNED,
                                             VP_VF_ASSIGNED};

        for (size_t i = 0; i < 4; i++) {
            assert_int_equal(p.vfs[i].index, i);
            assert_string_equal(p.vfs[i].dev->addr_str, addrs[i]);
            assert_int_equal(p.vfs[i].state, states[i]);
            assert_false(p.vfs[i].info_known);
        }
    }
    assert_string_equal(p.vfs[0].why, "in the definition of vm1");
    assert_string_equal(p.vfs[2].why, "in the definition of web1, web2");
    assert_null(p.vfs[1].why);
    assert_string_equal(p.vfs[1].dev->driver, "igbvf");
    assert_string_equal(vp_vf_state_name(p.vfs[0].state), "assigned");
    vp_sriov_pf_clear(&p);

    /* With the PF's netlink report, each VF gets its own entry (by index, not position). */
    {
        vp_vf_info info[2] = {{.index = 3, .vlan = 7, .trust = VP_VF_ON},
                              {.index = 1, .vlan = 9, .trust = VP_VF_OFF}};

        vp_sriov_pf_build(h, pf, info, 2, true, NULL, &p);
        assert_true(p.info_known);
        assert_null(p.info_why);
        assert_false(p.vfs[0].info_known);
        assert_true(p.vfs[1].info_known);
        assert_int_equal(p.vfs[1].info.vlan, 9);
        assert_true(p.vfs[3].info_known);
        assert_int_equal(p.vfs[3].info.trust, VP_VF_ON);
        vp_sriov_pf_clear(&p);
    }
}

static void
test_inventory_sysfs_fixture(void **state)
{
    vp_autoptr(vp_host) h = vp_host_new();
    const vp_device *pf;
    vp_sriov_pf p;
    vp_error err = {0};

    (void)state;
    assert_int_equal(vp_source_sysfs_load(h, SRIOV_ROOT, &err), 0);
    vp_host_finalize(h);
    assert_int_equal(vp_sriov_find_pf(h, "ens1f0", &pf, &err), 0);
    vp_sriov_pf_build(h, pf, NULL, 0, false, "x", &p);
    assert_int_equal(p.total, 8);
    assert_int_equal(p.current, 2);
    assert_string_equal(p.vfs[0].dev->addr_str, "0000:01:10.0");
    assert_string_equal(p.vfs[1].dev->addr_str, "0000:01:10.1");
    assert_string_equal(p.vfs[0].dev->driver, "vfio-pci");
    assert_null(p.vfs[1].dev->driver);
    /* No domains, no host facts: both free. */
    assert_int_equal(p.vfs[0].state, VP_VF_FREE);
    assert_int_equal(p.vfs[1].state, VP_VF_FREE);
    vp_sriov_pf_clear(&p);
}

/* libvirt's node-device XML (remote): VFs from <capability type='virt_functions'>. */
static void
test_inventory_nodedev(void **state)
{
    static const char *const files[] = {
        "generated/pci_0000_01_00_0.xml", "generated/pci_0000_01_10_0.xml",
        "generated/pci_0000_01_10_2.xml", "libvirt/pci_0000_02_10_7_sriov_zero_vfs_max_count.xml"};
    vp_autoptr(vp_host) h = vp_host_new();
    const vp_device *pf;
    vp_sriov_pf p;
    vp_error err = {0};

    (void)state;
    for (size_t i = 0; i < VP_ARRAY_SIZE(files); i++) {
        vp_autofree char *path = vp_asprintf("%s/%s", NODEDEV, files[i]);
        vp_autofree char *xml = vp_test_read_text(path);
        vp_device d;

        assert_int_equal(vp_nodedev_parse_pci(xml, &d, &err), 0);
        *vp_host_add_device(h) = d;
    }
    vp_host_finalize(h);
    assert_int_equal(vp_sriov_find_pf(h, "0000:01:00.0", &pf, &err), 0);
    vp_sriov_pf_build(h, pf, NULL, 0, false, "remote", &p);
    assert_int_equal(p.total, 7);
    assert_int_equal(p.current, 2);
    assert_null(p.ifname);
    assert_int_equal(p.vfs[1].index, 1);
    assert_string_equal(p.vfs[1].dev->addr_str, "0000:01:10.2");
    vp_sriov_pf_clear(&p);

    /* maxCount='3' without VFs: a PF with none enabled. */
    assert_int_equal(vp_sriov_find_pf(h, "0000:02:10.7", &pf, &err), 0);
    vp_sriov_pf_build(h, pf, NULL, 0, false, "remote", &p);
    assert_int_equal(p.total, 3);
    assert_int_equal(p.current, 0);
    assert_int_equal(p.n_vfs, 0);
    vp_sriov_pf_clear(&p);
}

/* A VF on a host driver is "host" when the host uses its interface, "free" otherwise. */
static void
test_state_host(void **state)
{
    vp_autoptr(vp_host) h = lab_host(LAB_ALL, NULL);
    vp_pci_addr a;
    vp_device *vf;
    vp_netif *n;
    char *why = NULL;

    (void)state;
    assert_int_equal(vp_pci_addr_parse("0000:3b:10.2", &a, NULL), 0);
    vf = vp_host_find_device(h, &a);
    assert_int_equal(vp_sriov_vf_state(h, vf, &why), VP_VF_FREE);
    assert_null(why);

    /* Give enp59s16f2 an address: the host uses it. */
    n = netif(h, "enp59s16f2");
    assert_null(n->addresses);
    vp_strv_push(&n->addresses, "198.51.100.7/24");
    assert_int_equal(vp_sriov_vf_state(h, vf, &why), VP_VF_HOST);
    assert_string_equal(why, "enp59s16f2 has 198.51.100.7/24");
    free(why);
    vp_strv_free(n->addresses);
    n->addresses = NULL;
    n->master = vp_strdup("br1");
    assert_int_equal(vp_sriov_vf_state(h, vf, &why), VP_VF_HOST);
    assert_string_equal(why, "enp59s16f2 is a port of br1");
    free(why);
    free(n->master);
    n->master = NULL;
    assert_int_equal(vp_sriov_vf_state(h, vf, NULL), VP_VF_FREE);

    /* Remote: the host's use is unknown, so a VF with an interface counts as the host's. */
    h->facts.read = false;
    assert_int_equal(vp_sriov_vf_state(h, vf, &why), VP_VF_HOST);
    assert_non_null(strstr(why, "unknown (remote)"));
    free(why);
    h->facts.read = true;
}

/* ---- attach ---- */

static void
test_attach_auto(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = lab_host(LAB_ALL, xml);
    vp_plan_request r = request(h, xml);
    vp_sriov_request s = sr_auto();
    vp_sriov_choice c;
    vp_plan p;
    const vp_step *st;

    (void)state;
    s.mac_auto = true;
    s.vlan = 100;
    attach_ok(h, &r, &s, &p, &c);
    /* 10.0 (vm1), 10.4 (web1, web2) and 10.6 (db1) are taken: VF 1. */
    assert_false(p.noop);
    assert_int_equal(c.index, 1);
    assert_true(c.has_mac);
    /* On q35 the VF gets a pcie-root-port of vpass's own, as any function does. */
    assert_int_equal(p.n_steps, 3);
    assert_int_equal(p.steps[0].kind, VP_STEP_ADD_CONTROLLER);
    st = &p.steps[1];
    assert_int_equal(st->kind, VP_STEP_ATTACH);
    assert_non_null(strstr(st->xml, "<interface type=\"hostdev\" managed=\"yes\">"));
    assert_non_null(strstr(st->xml, "<mac address=\"02:"));
    assert_non_null(strstr(st->xml, c.mac));
    assert_non_null(strstr(st->xml, "<address type=\"pci\" domain=\"0x0000\" bus=\"0x3b\" "
                                    "slot=\"0x10\" function=\"0x2\"/>"));
    assert_non_null(strstr(st->xml, "<tag id=\"100\"/>"));
    assert_null(strstr(st->xml, "<hostdev"));
    assert_non_null(strstr(st->summary, "VF 1 of enp59s0f0 (0000:3b:10.2)"));
    /* Its guest slot: function 0 of the new port's bus. */
    assert_non_null(strstr(st->xml, "slot=\"0x00\" function=\"0x0\"/>\n</interface>"));
    st = &p.steps[2];
    assert_int_equal(st->kind, VP_STEP_SET_METADATA);
    assert_non_null(strstr(st->xml, "<device address=\"0000:3b:10.2\" kind=\"interface\"/>"));
    assert_null(strstr(st->xml, "<vf "));
    {
        /* The MAC is q35-test's (its UUID), the PF's and VF 1's. */
        vp_pci_addr pf;
        uint8_t m[6];
        char buf[18];

        vp_pci_addr_parse("0000:3b:00.0", &pf, NULL);
        vp_sriov_auto_mac("11dbdcdd-4c3b-482b-8903-9bdb8c0a2774", &pf, 1, m);
        assert_string_equal(c.mac, vp_mac_format(m, buf));
    }

    /* Run again on what libvirt then holds: nothing to do, the same VF. */
    {
        vp_autofree char *after = sim_apply(xml, &p);
        vp_autoptr(vp_host) h2 = lab_host(LAB_ALL, after);
        vp_plan_request r2 = request(h2, after);
        vp_sriov_choice c2;
        vp_plan p2;

        attach_ok(h2, &r2, &s, &p2, &c2);
        assert_true(p2.noop);
        assert_string_equal(p2.noop_reason,
                            "q35-test already holds VF 1 (0000:3b:10.2) of enp59s0f0");
        assert_int_equal(c2.index, 1);
        vp_plan_clear(&p2);

        /* Named explicitly: the attach plan's own idempotence. */
        s.vf_auto = false;
        s.vf = 1;
        attach_ok(h2, &r2, &s, &p2, &c2);
        assert_true(p2.noop);
        assert_true(has_note(&p2, "keeps VF 1 as it is"));
        vp_plan_clear(&p2);
    }
    vp_plan_clear(&p);

    /* Without --mac and --vlan: no <mac> (libvirt makes one), no <vlan>. */
    s = sr_auto();
    attach_ok(h, &r, &s, &p, &c);
    assert_int_equal(p.steps[1].kind, VP_STEP_ATTACH);
    assert_null(strstr(p.steps[1].xml, "<mac"));
    assert_null(strstr(p.steps[1].xml, "<vlan"));
    assert_false(c.has_mac);
    vp_plan_clear(&p);

    /* --as hostdev: a plain <hostdev>, recorded as one. */
    s.as = VP_VF_AS_HOSTDEV;
    attach_ok(h, &r, &s, &p, &c);
    assert_non_null(strstr(p.steps[1].xml, "<hostdev mode=\"subsystem\" type=\"pci\""));
    assert_non_null(strstr(p.steps[1].summary, "as <hostdev>"));
    assert_non_null(strstr(p.steps[2].xml, "kind=\"hostdev\""));
    vp_plan_clear(&p);
}

/* --vf auto takes a free VF off a host driver before one on it, whatever their order. */
static void
test_attach_auto_preference(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_plan_request r;
    vp_sriov_request s = sr_auto();
    vp_sriov_choice c;
    vp_plan p;

    (void)state;
    {
        /* Free: 10.2 (igbvf), 10.4 (igbvf), 10.6 (vfio-pci): 10.6. */
        vp_autoptr(vp_host) h = lab_host(LAB_VM1, xml);

        r = request(h, xml);
        attach_ok(h, &r, &s, &p, &c);
        assert_int_equal(c.index, 3);
        vp_plan_clear(&p);
    }
    {
        /* Free: 10.2, 10.4 (both igbvf): the lowest. */
        vp_autoptr(vp_host) h = lab_host(LAB_VM1 | LAB_DB1, xml);

        r = request(h, xml);
        attach_ok(h, &r, &s, &p, &c);
        assert_int_equal(c.index, 1);
        vp_plan_clear(&p);
    }
    {
        /* None free: not found, with the way to more. */
        vp_autoptr(vp_host) h = lab_host(LAB_ALL | LAB_TAKE2, xml);
        vp_error err = {0};

        r = request(h, xml);
        assert_int_equal(attach_err(h, &r, &s, &err), VP_E_NOTFOUND);
        assert_non_null(strstr(err.msg, "enp59s0f0: no free VF (4 of 8 enabled"));
        assert_non_null(strstr(err.hint, "vpass sriov --pf enp59s0f0 --numvfs 8"));
    }
}

/* The choice alone (vpass check --pf) is the attach's: same VF, same MAC, nothing planned. */
static void
test_choose_is_attach_choice(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = lab_host(LAB_VM1 | LAB_DB1, xml);
    vp_plan_request r = request(h, xml);
    vp_sriov_request s = sr_auto();
    vp_sriov_choice planned, chosen;
    vp_autostrv char **notes = NULL;
    vp_error err = {0};
    vp_plan p;

    (void)state;
    s.mac_auto = true;
    attach_ok(h, &r, &s, &p, &planned);
    vp_plan_clear(&p);
    assert_int_equal(vp_plan_sriov_choose(h, &r, &s, &chosen, &notes, &err), 0);
    assert_int_equal(chosen.index, planned.index);
    assert_true(vp_pci_addr_eq(&chosen.addr, &planned.addr));
    assert_true(chosen.has_mac);
    assert_string_equal(chosen.mac, planned.mac);
    assert_null(notes);
    /* A named VF another domain holds is chosen all the same: the checks say why it cannot
     * go (attach refuses it in its pre-flight). */
    s.vf_auto = false;
    s.vf = 0;
    s.mac_auto = false;
    assert_int_equal(vp_plan_sriov_choose(h, &r, &s, &chosen, &notes, &err), 0);
    assert_int_equal(chosen.index, 0);
    /* No such VF: the attach's error. */
    s.vf = 7;
    assert_int_equal(vp_plan_sriov_choose(h, &r, &s, &chosen, &notes, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
}

static void
test_attach_refusals(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = lab_host(LAB_ALL, xml);
    vp_plan_request r = request(h, xml);
    vp_sriov_request s;
    vp_error err = {0};

    (void)state;
    /* Another domain's MAC, given or derived. */
    s = sr_auto();
    s.mac = "52:54:00:6B:3C:01";
    assert_int_equal(attach_err(h, &r, &s, &err), VP_E_UNSAFE);
    assert_string_equal(err.msg, "MAC 52:54:00:6b:3c:01: domain vm1 uses it already");
    {
        /* Make vm1 use q35-test's derived MAC for VF 1. */
        vp_pci_addr pf;
        uint8_t m[6];
        char mac[18];
        vp_autofree char *vm1 = NULL;
        vp_autoptr(vp_host) h2 = vp_host_new();
        vp_plan_request r2;

        vp_pci_addr_parse("0000:3b:00.0", &pf, NULL);
        vp_sriov_auto_mac("11dbdcdd-4c3b-482b-8903-9bdb8c0a2774", &pf, 1, m);
        vp_mac_format(m, mac);
        vm1 = dom_xml("vm1", "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e01", "0000:3b:10.0", mac);
        assert_int_equal(vp_source_sysfs_load(h2, LAB_ROOT, &err), 0);
        add_dom(h2, "vm1", "1f7b3e0a-0c1d-4a51-8a3e-5b2f6c7d8e01", true, vm1);
        add_dom(h2, TARGET, "11dbdcdd-4c3b-482b-8903-9bdb8c0a2774", false, xml);
        vp_host_finalize(h2);
        r2 = request(h2, xml);
        s = sr_auto();
        s.vf_auto = false;
        s.vf = 1;
        s.mac_auto = true;
        assert_int_equal(attach_err(h2, &r2, &s, &err), VP_E_UNSAFE);
        assert_non_null(strstr(err.msg, "domain vm1 uses it already"));
        assert_non_null(strstr(err.hint, "derives it from q35-test's UUID"));
        /* VF 3 derives another MAC: fine. */
        s.vf = 3;
        {
            vp_plan p;

            attach_ok(h2, &r2, &s, &p, NULL);
            vp_plan_clear(&p);
        }
    }
    /* Malformed, multicast, zero. */
    s = sr_auto();
    s.mac = "52:54:00:6b:3c";
    assert_int_equal(attach_err(h, &r, &s, &err), VP_E_USAGE);
    s.mac = "01:00:5e:00:00:01";
    assert_int_equal(attach_err(h, &r, &s, &err), VP_E_USAGE);
    assert_non_null(strstr(err.msg, "not a unicast address"));
    s.mac = "00:00:00:00:00:00";
    assert_int_equal(attach_err(h, &r, &s, &err), VP_E_USAGE);
    /* Options that do not go together. */
    s = sr_auto();
    s.as = VP_VF_AS_HOSTDEV;
    s.vlan = 10;
    assert_int_equal(attach_err(h, &r, &s, &err), VP_E_USAGE);
    assert_non_null(strstr(err.msg, "--as hostdev takes no --mac or --vlan"));
    s = sr_auto();
    s.vlan = 4095;
    assert_int_equal(attach_err(h, &r, &s, &err), VP_E_USAGE);
    s = sr_auto();
    s.has_vf = false;
    s.vf_auto = false;
    assert_int_equal(attach_err(h, &r, &s, &err), VP_E_USAGE);
    /* A VF that is not there, and one another (running) domain holds: the checks block it. */
    s = sr_auto();
    s.vf_auto = false;
    s.vf = 4;
    assert_int_equal(attach_err(h, &r, &s, &err), VP_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "no VF 4 (4 enabled, 8 at most)"));
    s.vf = 0;
    assert_int_equal(attach_err(h, &r, &s, &err), VP_E_UNSAFE);
    assert_non_null(strstr(err.msg, "held by vm1"));
    /* No domain definition (vpass xml --pf): the free VF's XML, no record; --mac auto has
     * no UUID to derive from. */
    s = sr_auto();
    r.domain_xml = NULL;
    r.domain_name = NULL;
    r.target.domain = NULL;
    {
        vp_plan p;
        vp_sriov_choice c;

        attach_ok(h, &r, &s, &p, &c);
        assert_int_equal(p.n_steps, 1);
        assert_int_equal(p.steps[0].kind, VP_STEP_ATTACH);
        assert_non_null(strstr(p.steps[0].xml, "slot=\"0x10\" function=\"0x2\""));
        vp_plan_clear(&p);
    }
    s.mac_auto = true;
    assert_int_equal(attach_err(h, &r, &s, &err), VP_E_USAGE);
    assert_non_null(strstr(err.msg, "--mac auto derives the MAC from the domain's UUID"));
}

static void
test_attach_numa(void **state)
{
    vp_autofree char *base = vp_test_read_text(Q35_XML);
    /* CPUs 6-11 are the lab's second node; the PF's local_cpulist is 0-5,12-17. */
    vp_autofree char *far = vp_test_replace(base, "cpuset='0-1'", "cpuset='6-7'");
    vp_autofree char *far_pin = vp_test_replace(far, "</vcpu>",
                                                "</vcpu><cputune><vcpupin vcpu='0' "
                                                "cpuset='8'/></cputune>");
    vp_autofree char *near_pin = vp_test_replace(base, "</vcpu>",
                                                 "</vcpu><cputune><vcpupin vcpu='0' "
                                                 "cpuset='12-13'/></cputune>");
    vp_cpuset local;
    vp_sriov_request s = sr_auto();
    vp_error err = {0};
    vp_plan p;
    vp_sriov_choice c;

    (void)state;
    assert_int_equal(vp_cpuset_parse("0-5,12-17", &local), 0);
    s.local_cpus = &local;
    {
        vp_autoptr(vp_host) h = lab_host(LAB_ALL, far_pin);
        vp_plan_request r = request(h, far_pin);

        assert_int_equal(attach_err(h, &r, &s, &err), VP_E_UNSAFE);
        assert_non_null(strstr(err.msg, "pinned to CPUs 6-8"));
        assert_non_null(strstr(err.msg, "NUMA node has CPUs 0-5,12-17"));
        assert_non_null(strstr(err.hint, "--vf N"));
        /* Named: taken, with a note. */
        s.vf_auto = false;
        s.vf = 1;
        attach_ok(h, &r, &s, &p, &c);
        assert_true(has_note(&p, "VF 1 was named: taken although"));
        vp_plan_clear(&p);
        s.vf_auto = true;
        /* The PF's CPUs unknown (remote): no constraint. */
        s.local_cpus = NULL;
        attach_ok(h, &r, &s, &p, &c);
        vp_plan_clear(&p);
        s.local_cpus = &local;
    }
    {
        vp_autoptr(vp_host) h = lab_host(LAB_ALL, near_pin);
        vp_plan_request r = request(h, near_pin);

        attach_ok(h, &r, &s, &p, &c);
        assert_int_equal(c.index, 1);
        assert_false(has_note(&p, "taken although"));
        vp_plan_clear(&p);
    }
    vp_cpuset_clear(&local);
}

static void
test_attach_trust(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = lab_host(LAB_ALL, xml);
    vp_plan_request r = request(h, xml);
    vp_sriov_request s = sr_auto();
    fake_nl f;
    vp_vf_info *info = NULL;
    size_t n = 0;
    vp_error err = {0};
    vp_plan p;
    const vp_step *st;

    (void)state;
    fake_nl_init(&f);
    assert_int_equal(f.base.ops->pf_vfs(&f.base, LAB_PF, &info, &n, &err), 0);
    s.info = info;
    s.n_info = n;
    s.info_known = true;
    s.trust = VP_VF_ON;
    s.spoofchk = VP_VF_OFF;

    /* Without netlink (a tree, a remote host): refused before anything. */
    assert_int_equal(attach_err(h, &r, &s, &err), VP_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "only on this machine with --root /"));
    assert_non_null(strstr(err.hint, "ip link set dev enp59s0f0 vf 1 trust on"));

    s.netlink = true;
    attach_ok(h, &r, &s, &p, NULL);
    assert_int_equal(p.n_steps, 4);
    assert_int_equal(p.steps[0].kind, VP_STEP_ADD_CONTROLLER);
    assert_int_equal(p.steps[1].kind, VP_STEP_ATTACH);
    st = &p.steps[2];
    assert_int_equal(st->kind, VP_STEP_SET_VF);
    assert_string_equal(st->vf.pf, LAB_PF);
    assert_int_equal(st->vf.index, 1);
    assert_int_equal(st->vf.trust, VP_VF_ON);
    assert_int_equal(st->vf.spoofchk, VP_VF_OFF);
    assert_int_equal(st->vf.undo_trust, VP_VF_OFF);
    assert_int_equal(st->vf.undo_spoofchk, VP_VF_ON);
    assert_non_null(strstr(st->summary, "through netlink"));
    assert_non_null(strstr(st->summary, "libvirt has no XML for it"));
    assert_int_equal(p.steps[3].kind, VP_STEP_SET_METADATA);
    assert_non_null(strstr(p.steps[3].xml, "<vf address=\"0000:3b:10.2\" pf=\"enp59s0f0\" "
                                           "index=\"1\" old-trust=\"off\" "
                                           "old-spoofchk=\"on\"/>"));
    vp_plan_clear(&p);

    /* Asked what it has already: no step, no record, a note. */
    s.spoofchk = VP_VF_ON;
    s.trust = VP_VF_UNKNOWN;
    attach_ok(h, &r, &s, &p, NULL);
    assert_null(find_step(&p, VP_STEP_SET_VF));
    assert_null(strstr(find_step(&p, VP_STEP_SET_METADATA)->xml, "<vf "));
    assert_true(has_note(&p, "VF 1 already has spoofchk on"));
    vp_plan_clear(&p);

    /* Only trust: the record keeps only trust. */
    s.spoofchk = VP_VF_UNKNOWN;
    s.trust = VP_VF_ON;
    attach_ok(h, &r, &s, &p, NULL);
    st = find_step(&p, VP_STEP_SET_VF);
    assert_non_null(st);
    assert_int_equal(st->vf.spoofchk, VP_VF_UNKNOWN);
    assert_non_null(strstr(find_step(&p, VP_STEP_SET_METADATA)->xml, "old-trust=\"off\"/>"));
    assert_null(strstr(find_step(&p, VP_STEP_SET_METADATA)->xml, "old-spoofchk"));
    vp_plan_clear(&p);

    /* A driver that does not report trust: no way to set it back, refused. */
    info[1].trust = VP_VF_UNKNOWN;
    assert_int_equal(attach_err(h, &r, &s, &err), VP_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "does not report VF 1's trust"));
    free(info);
}

/* ---- detach ---- */

static void
test_detach_restores_settings(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autofree char *after = NULL;
    vp_autoptr(vp_host) h = lab_host(LAB_ALL, xml);
    vp_plan_request r = request(h, xml);
    vp_sriov_request s = sr_auto();
    fake_nl f;
    vp_vf_info *info = NULL;
    size_t n = 0;
    vp_error err = {0};
    vp_plan p;

    (void)state;
    fake_nl_init(&f);
    assert_int_equal(f.base.ops->pf_vfs(&f.base, LAB_PF, &info, &n, &err), 0);
    s.info = info;
    s.n_info = n;
    s.info_known = true;
    s.netlink = true;
    s.trust = VP_VF_ON;
    s.mac_auto = true;
    attach_ok(h, &r, &s, &p, NULL);
    after = sim_apply(xml, &p);
    vp_plan_clear(&p);
    assert_non_null(strstr(after, "<vpass:vf address=\"0000:3b:10.2\""));
    info[1].trust = VP_VF_ON; /* what the VF has after the attach */
    {
        vp_autoptr(vp_host) h2 = lab_host(LAB_ALL, after);
        vp_plan_request r2 = request(h2, after);
        vp_sriov_request d = {0};
        const vp_step *st;

        d.pf = "0000:3b:00.0";
        d.has_vf = true;
        d.vf = 1;
        d.info = info;
        d.n_info = n;
        d.info_known = true;
        d.netlink = true;
        assert_int_equal(vp_plan_sriov_detach(h2, &r2, &d, false, &p, &err), 0);
        assert_false(p.noop);
        assert_int_equal(p.steps[0].kind, VP_STEP_DETACH);
        assert_non_null(strstr(p.steps[0].xml, "<interface type=\"hostdev\""));
        st = &p.steps[1];
        assert_int_equal(st->kind, VP_STEP_SET_VF);
        assert_int_equal(st->vf.index, 1);
        assert_int_equal(st->vf.trust, VP_VF_OFF);
        assert_int_equal(st->vf.undo_trust, VP_VF_ON);
        assert_int_equal(st->vf.spoofchk, VP_VF_UNKNOWN);
        assert_non_null(strstr(st->summary, "set trust off back on VF 1 of enp59s0f0"));
        /* The last device leaves: the record goes with it. */
        for (size_t i = 2; i < p.n_steps; i++)
            if (p.steps[i].xml)
                assert_null(strstr(p.steps[i].xml, "vf address"));
        vp_plan_clear(&p);

        /* Without netlink: the step becomes the command to run by hand. */
        d.netlink = false;
        assert_int_equal(vp_plan_sriov_detach(h2, &r2, &d, false, &p, &err), 0);
        assert_null(find_step(&p, VP_STEP_SET_VF));
        assert_true(has_note(&p, "ip link set dev enp59s0f0 vf 1 trust off"));
        vp_plan_clear(&p);

        /* Every VF of the PF the domain holds (no --vf): the same one. */
        d.has_vf = false;
        d.netlink = true;
        assert_int_equal(vp_plan_sriov_detach(h2, &r2, &d, false, &p, &err), 0);
        assert_int_equal(p.steps[0].kind, VP_STEP_DETACH);
        assert_int_equal(p.steps[0].addr.func, 2);
        vp_plan_clear(&p);
        /* A VF it does not hold: nothing to do. */
        d.has_vf = true;
        d.vf = 3;
        assert_int_equal(vp_plan_sriov_detach(h2, &r2, &d, false, &p, &err), 0);
        assert_true(p.noop);
        vp_plan_clear(&p);
        d.vf_auto = true;
        assert_int_equal(vp_plan_sriov_detach(h2, &r2, &d, false, &p, &err), -1);
        assert_int_equal(err.code, VP_E_USAGE);
    }
    free(info);
}

/* A vf record vpass cannot read stops the plan: it would lose what it must put back. */
static void
test_detach_bad_record(void **state)
{
    static const char *const bad[] = {
        "<vpass:vf address='0000:3b:10.2' pf='enp59s0f0' index='1' old-trust='maybe'/>",
        "<vpass:vf address='0000:3b:10.2' pf='enp59s0f0' index='x' old-trust='on'/>",
        "<vpass:vf address='3b:10' pf='enp59s0f0' index='1' old-trust='on'/>",
        "<vpass:vf address='0000:3b:10.2' pf='' index='1' old-trust='on'/>",
    };
    vp_autofree char *base = vp_test_read_text(Q35_XML);

    (void)state;
    for (size_t i = 0; i < VP_ARRAY_SIZE(bad); i++) {
        vp_autofree char *md = vp_asprintf(
            "<metadata><vpass:vpass xmlns:vpass='urn:vpass:domain:1'><vpass:device "
            "address='0000:3b:10.2' kind='interface'/>%s</vpass:vpass></metadata><memory ",
            bad[i]);
        vp_autofree char *with_md = vp_test_replace(base, "<memory ", md);
        vp_autofree char *xml =
            vp_test_replace(with_md, "</devices>",
                            "<interface type='hostdev' managed='yes'><source><address type='pci' "
                            "domain='0x0000' bus='0x3b' slot='0x10' function='0x2'/></source>"
                            "</interface></devices>");
        vp_autoptr(vp_host) h = lab_host(LAB_ALL, xml);
        vp_plan_request r = request(h, xml);
        vp_sriov_request d = {0};
        vp_error err = {0};
        vp_plan p;

        d.pf = LAB_PF;
        d.has_vf = true;
        d.vf = 1;
        d.netlink = true;
        assert_int_equal(vp_plan_sriov_detach(h, &r, &d, false, &p, &err), -1);
        assert_int_equal(err.code, VP_E_DATA);
        assert_non_null(strstr(err.msg, "vpass metadata: <vf"));
    }
}

/* ---- apply: SET_VF through the netlink seam, undone on failure ---- */

static void
test_apply_set_vf(void **state)
{
    vp_autofree char *xml = vp_test_read_text(Q35_XML);
    vp_autoptr(vp_host) h = lab_host(LAB_ALL, xml);
    vp_plan_request r = request(h, xml);
    vp_sriov_request s = sr_auto();
    mem_virt m = {.base = {.ops = &mem_ops, .uri = (char *)"mem:///"}, .xml = xml};
    fake_nl f;
    vp_vf_info *info = NULL;
    size_t n = 0;
    vp_apply_report rep = {0};
    vp_error err = {0};
    vp_plan p;

    (void)state;
    fake_nl_init(&f);
    assert_int_equal(f.base.ops->pf_vfs(&f.base, LAB_PF, &info, &n, &err), 0);
    s.info = info;
    s.n_info = n;
    s.info_known = true;
    s.netlink = true;
    s.trust = VP_VF_ON;
    s.spoofchk = VP_VF_OFF;
    attach_ok(h, &r, &s, &p, NULL);

    /* No netlink seam: refused before any step. */
    assert_int_equal(vp_apply_plan(&m.base, &p, &rep, &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "through netlink, which is not available here"));
    assert_null(m.log);
    vp_apply_report_clear(&rep);

    /* Success: libvirt got the interface and the record, the PF the settings. */
    rep.netlink = &f.base;
    assert_int_equal(vp_apply_plan(&m.base, &p, &rep, &err), 0);
    assert_int_equal(rep.done, 4);
    assert_int_equal(vp_strv_len(m.log), 3);
    assert_string_equal(m.log[0], "attach"); /* the VF's own pcie-root-port */
    assert_string_equal(m.log[1], "attach interface");
    assert_string_equal(m.log[2], "set metadata");
    assert_string_equal(f.log[0], "set enp59s0f0 vf 1 trust 1 spoofchk 0");
    assert_int_equal(f.vfs[1].trust, VP_VF_ON);
    assert_int_equal(f.vfs[1].spoofchk, VP_VF_OFF);
    vp_apply_report_clear(&rep);

    /* The metadata step fails: the settings go back, then the interface leaves. */
    vp_strv_free(f.log);
    fake_nl_init(&f);
    vp_strv_free(m.log);
    m.log = NULL;
    m.calls = 0;
    m.fail_at = 3;
    rep.netlink = &f.base;
    assert_int_equal(vp_apply_plan(&m.base, &p, &rep, &err), -1);
    assert_non_null(strstr(err.msg, "step 4 of 4"));
    assert_non_null(strstr(err.msg, "rolled back 3 steps"));
    assert_int_equal(rep.undone, 3);
    assert_int_equal(f.vfs[1].trust, VP_VF_OFF);
    assert_int_equal(f.vfs[1].spoofchk, VP_VF_ON);
    assert_string_equal(f.log[1], "set enp59s0f0 vf 1 trust 0 spoofchk 1");
    assert_string_equal(m.log[vp_strv_len(m.log) - 2], "detach interface");
    assert_string_equal(m.log[vp_strv_len(m.log) - 1], "detach");
    vp_apply_report_clear(&rep);

    /* The settings fail (the driver refuses): the interface leaves again, nothing is left. */
    vp_strv_free(f.log);
    fake_nl_init(&f);
    f.fail_set = 1;
    vp_strv_free(m.log);
    m.log = NULL;
    m.calls = 0;
    m.fail_at = 0;
    rep.netlink = &f.base;
    assert_int_equal(vp_apply_plan(&m.base, &p, &rep, &err), -1);
    assert_non_null(strstr(err.msg, "step 3 of 4"));
    assert_non_null(strstr(err.msg, "injected failure"));
    assert_int_equal(rep.n_leftovers, 0);
    assert_string_equal(m.log[2], "detach interface");
    assert_string_equal(m.log[3], "detach");
    assert_int_equal(f.vfs[1].trust, VP_VF_OFF);
    vp_apply_report_clear(&rep);

    /* The undo of the settings fails too: what is left and the command that fixes it. */
    vp_strv_free(f.log);
    fake_nl_init(&f);
    f.fail_set = 2;
    vp_strv_free(m.log);
    m.log = NULL;
    m.calls = 0;
    m.fail_at = 3;
    rep.netlink = &f.base;
    assert_int_equal(vp_apply_plan(&m.base, &p, &rep, &err), -1);
    assert_int_equal(rep.n_leftovers, 1);
    assert_non_null(strstr(err.msg, "VF 1 of enp59s0f0 keeps the settings step 3 set"));
    assert_non_null(strstr(err.hint, "ip link set dev enp59s0f0 vf 1 trust off spoofchk on"));
    vp_apply_report_clear(&rep);
    vp_strv_free(m.log);
    vp_strv_free(f.log);
    vp_plan_clear(&p);
    free(info);
}

/* ---- the VF count ---- */

static void
test_numvfs_plan(void **state)
{
    vp_sriov_numvfs_plan p;
    vp_error err = {0};

    (void)state;
    {
        vp_autoptr(vp_host) h = lab_host(LAB_ALL, NULL);

        /* 4 -> 8 removes VFs that domains hold. */
        assert_int_equal(vp_plan_sriov_numvfs(h, LAB_PF, 8, false, &p, &err), -1);
        assert_int_equal(err.code, VP_E_UNSAFE);
        assert_non_null(strstr(err.msg, "VF 0 (0000:3b:10.0) is assigned: in the definition of "
                                        "vm1"));
        assert_non_null(strstr(err.hint, "vpass detach"));
        /* The same count: nothing to do, nothing removed. */
        assert_int_equal(vp_plan_sriov_numvfs(h, LAB_PF, 4, false, &p, &err), 0);
        assert_true(p.noop);
        assert_int_equal(p.n_writes, 0);
        vp_sriov_numvfs_plan_clear(&p);
        assert_int_equal(vp_plan_sriov_numvfs(h, LAB_PF, 9, false, &p, &err), -1);
        assert_int_equal(err.code, VP_E_USAGE);
        assert_non_null(strstr(err.msg, "9 VFs asked, the PF supports 8"));
    }
    {
        vp_autoptr(vp_host) h = lab_host(0, NULL);

        assert_int_equal(vp_plan_sriov_numvfs(h, LAB_PF, 8, true, &p, &err), 0);
        assert_int_equal(p.from, 4);
        assert_int_equal(p.n_writes, 2);
        assert_int_equal(p.writes[0], 0);
        assert_int_equal(p.writes[1], 8);
        assert_string_equal(p.attr_path, "sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs");
        assert_string_equal(p.rule_path, "etc/udev/rules.d/70-vpass-sriov-0000:3b:00.0.rules");
        assert_non_null(strstr(p.rule, "ACTION==\"bind\", SUBSYSTEM==\"pci\", "
                                       "KERNEL==\"0000:3b:00.0\", DRIVER==\"igb\", "
                                       "ATTR{sriov_numvfs}=\"8\"\n"));
        vp_sriov_numvfs_plan_clear(&p);
        assert_int_equal(vp_plan_sriov_numvfs(h, LAB_PF, 0, true, &p, &err), 0);
        assert_int_equal(p.n_writes, 1);
        assert_int_equal(p.writes[0], 0);
        assert_null(p.rule);
        vp_sriov_numvfs_plan_clear(&p);

        /* A VF the host uses stops it too. */
        {
            vp_netif *n = netif(h, "enp59s16f4");

            vp_strv_push(&n->addresses, "198.51.100.9/24");
            assert_int_equal(vp_plan_sriov_numvfs(h, LAB_PF, 0, false, &p, &err), -1);
            assert_non_null(strstr(err.msg, "VF 2 (0000:3b:10.4) is host: enp59s16f4 has "
                                            "198.51.100.9/24"));
        }
        /* No driver: only a driver creates VFs. */
        {
            vp_pci_addr a;
            vp_device *pf;
            char *drv;

            vp_pci_addr_parse("0000:3b:00.0", &a, NULL);
            pf = vp_host_find_device(h, &a);
            drv = pf->driver;
            pf->driver = NULL;
            assert_int_equal(vp_plan_sriov_numvfs(h, "0000:3b:00.0", 2, false, &p, &err), -1);
            assert_int_equal(err.code, VP_E_UNSUPPORTED);
            pf->driver = drv;
        }
    }
}

/* A model of drivers/pci/iov.c: sriov_numvfs_store refuses a non-zero to non-zero change
 * (EBUSY), more than TotalVFs (ERANGE), and sriov_enable fails with ENOMEM when the VF BARs do
 * not fit (MMIO). It writes the file of the tree like the real writer does. */
typedef struct {
    unsigned numvfs, total, mmio_vfs;
    int writes;
} kernel;

static int
kernel_write(void *ctx, const char *root, const char *rel, const char *value, size_t len)
{
    kernel *k = ctx;
    unsigned n;
    vp_autofree char *v = vp_strndup(value, len);

    k->writes++;
    if (!vp_streq(vp_basename(rel), "sriov_numvfs") || vp_parse_uint(vp_strstrip(v), &n) < 0)
        return -EINVAL;
    if (n > k->total)
        return -ERANGE;
    if (n && k->numvfs && n != k->numvfs)
        return -EBUSY;
    if (n > k->mmio_vfs)
        return -ENOMEM;
    k->numvfs = n;
    return vp_sysfs_writer_real.write(NULL, root, rel, value, len);
}

static void
test_numvfs_apply(void **state)
{
    char dir[] = "/tmp/vpass-test-sriov-XXXXXX";
    vp_autofree char *cmd = NULL;
    vp_autofree char *root = NULL;
    vp_autoptr(vp_host) h = vp_host_new();
    vp_sriov_numvfs_plan p;
    vp_sriov_numvfs_report rep;
    kernel k = {.numvfs = 2, .total = 8, .mmio_vfs = 8};
    vp_sysfs_writer w = {.write = kernel_write, .ctx = &k};
    vp_error err = {0};
    char *line = NULL;
    bool changed;

    (void)state;
    assert_non_null(mkdtemp(dir));
    root = vp_asprintf("%s/root", dir);
    cmd = vp_asprintf("cp -a '%s' '%s'", SRIOV_ROOT, root);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(vp_source_sysfs_load(h, root, &err), 0);
    vp_host_finalize(h);

    /* 2 -> 4: through 0, as the kernel wants. */
    assert_int_equal(vp_plan_sriov_numvfs(h, "ens1f0", 4, true, &p, &err), 0);
    assert_int_equal(vp_sriov_apply_numvfs(root, &p, &w, &rep, &err), 0);
    assert_int_equal(rep.written, 2);
    assert_int_equal(k.numvfs, 4);
    assert_int_equal(vp_root_read_line(root, p.attr_path, &line), 0);
    assert_string_equal(line, "4");
    free(line);
    /* The rule, then the same rule again (unchanged), then its removal. */
    assert_int_equal(vp_sriov_apply_rule(root, &p, &changed, &err), 0);
    assert_true(changed);
    assert_int_equal(vp_root_read_file(root, p.rule_path, 4096, &line, NULL), 0);
    assert_string_equal(line, p.rule);
    free(line);
    assert_int_equal(vp_sriov_apply_rule(root, &p, &changed, &err), 0);
    assert_false(changed);
    free(p.rule);
    p.rule = NULL;
    assert_int_equal(vp_sriov_apply_rule(root, &p, &changed, &err), 0);
    assert_true(changed);
    assert_int_equal(vp_root_read_line(root, p.rule_path, &line), -ENOENT);
    vp_sriov_numvfs_plan_clear(&p);

    /* Without 0 first the kernel says EBUSY: written as the plan says, it never does. A plan
     * that skipped it would fail so: */
    {
        vp_sriov_numvfs_plan bad = {0};
        unsigned wv[] = {6};

        assert_int_equal(vp_plan_sriov_numvfs(h, "ens1f0", 6, false, &bad, &err), 0);
        bad.writes[0] = wv[0];
        bad.n_writes = 1;
        k.numvfs = 4;
        assert_int_equal(vp_sriov_apply_numvfs(root, &bad, &w, &rep, &err), -1);
        assert_non_null(strstr(err.msg, "VFs are still enabled"));
        vp_sriov_numvfs_plan_clear(&bad);
    }

    /* Not enough MMIO for 8: the seeds' "not enough MMIO resources for SR-IOV", and the PF
     * gets its old count back. The model believes 2 are enabled (the tree's count). */
    k.numvfs = 2;
    k.mmio_vfs = 4;
    assert_int_equal(vp_plan_sriov_numvfs(h, "ens1f0", 8, false, &p, &err), 0);
    assert_int_equal(vp_sriov_apply_numvfs(root, &p, &w, &rep, &err), -1);
    assert_int_equal(err.errnum, ENOMEM);
    assert_non_null(strstr(err.msg, "ens1f0: back to 2 VFs: ens1f0: the kernel could not enable "
                                    "8 VFs: not enough MMIO resources for SR-IOV"));
    assert_non_null(strstr(err.hint, "pci=realloc"));
    assert_true(rep.restored);
    assert_int_equal(k.numvfs, 2);
    vp_sriov_numvfs_plan_clear(&p);

    /* The real writer on the copy (never /sys): the file holds the value. */
    assert_int_equal(vp_plan_sriov_numvfs(h, "ens1f0", 0, false, &p, &err), 0);
    assert_int_equal(vp_sriov_apply_numvfs(root, &p, NULL, &rep, &err), 0);
    assert_int_equal(vp_root_read_line(root, p.attr_path, &line), 0);
    assert_string_equal(line, "0");
    free(line);
    vp_sriov_numvfs_plan_clear(&p);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpuset),
        cmocka_unit_test(test_auto_mac),
        cmocka_unit_test(test_inventory_lab),
        cmocka_unit_test(test_inventory_sysfs_fixture),
        cmocka_unit_test(test_inventory_nodedev),
        cmocka_unit_test(test_state_host),
        cmocka_unit_test(test_attach_auto),
        cmocka_unit_test(test_attach_auto_preference),
        cmocka_unit_test(test_choose_is_attach_choice),
        cmocka_unit_test(test_attach_refusals),
        cmocka_unit_test(test_attach_numa),
        cmocka_unit_test(test_attach_trust),
        cmocka_unit_test(test_detach_restores_settings),
        cmocka_unit_test(test_detach_bad_record),
        cmocka_unit_test(test_apply_set_vf),
        cmocka_unit_test(test_numvfs_plan),
        cmocka_unit_test(test_numvfs_apply),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
