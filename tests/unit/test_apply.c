/* Unit tests for src/apply/apply.c and src/virt/virt_change.c against REAL libvirt state: the
 * QEMU driver embedded in this process (qemu:///embed?root=TMP, no daemon, no host devices),
 * wrapped in a fake vp_virt that fails the change op of step N and simulates the node-device
 * API the embedded driver lacks. After every failed apply the domain's persistent XML must be
 * byte-identical to what it was before. */
#include "vp_test.h"

#include <ftw.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "apply/apply.h"
#include "model/pci_addr.h"
#include "util/fs.h"
#include "util/str.h"
#include "virt/virt.h"

#define DOM "vm1"
#define OTHER_NS "urn:example:other"

static char *embed_root;   /* the embedded driver's root directory */
static vp_virt *real;      /* vp_virt_open() of it: the code under test */
static virConnectPtr conn; /* a second connection to it, for setting up and reading back */
static char *fixture_xml;  /* tests/fixtures/domain/libvirt/pcihole64-q35.xml, named vm1 */

/* ---- the fake: fault injection around the real connection ---- */

typedef struct {
    vp_virt base;
    vp_virt *real;
    const vp_plan *plan; /* to name the step an op's XML belongs to in the log */
    int calls;           /* change-op calls so far */
    int fail[8];         /* change-op call numbers (1-based) that fail */
    size_t n_fail;
    bool fake_state; /* domain_state reports STATE_* instead of asking libvirt */
    bool state_running, state_persistent;
    char **log;  /* one line per change-op call: "attach config s5", "nodedev_detach pci_..." */
    char **vfio; /* node devices the fake has bound to vfio-pci */
} fake_virt;

static fake_virt *
fake_of(vp_virt *v)
{
    return v->priv;
}

/* Count a change-op call; true when it is one to fail. */
static bool
fake_should_fail(fake_virt *f, vp_error *err)
{
    f->calls++;
    for (size_t i = 0; i < f->n_fail; i++) {
        if (f->fail[i] == f->calls) {
            vp_strv_push_take(&f->log, vp_asprintf("FAIL %d", f->calls));
            vp_error_set(err, VP_E_SYSTEM, "%s: injected failure at call %d", DOM, f->calls);
            return true;
        }
    }
    return false;
}

/* "s3" when XML is step 3's XML, "s3-old" its old XML, else "other". */
static char *
fake_label(fake_virt *f, const char *xml)
{
    for (size_t i = 0; f->plan && i < f->plan->n_steps; i++) {
        if (xml && xml == f->plan->steps[i].xml)
            return vp_asprintf("s%zu", i + 1);
        if (xml && xml == f->plan->steps[i].old_xml)
            return vp_asprintf("s%zu-old", i + 1);
    }
    return vp_strdup(xml ? "other" : "null");
}

static const char *
affect_str(unsigned a)
{
    return a == 0 ? "current" : a == 1 ? "live" : a == 2 ? "config" : "live+config";
}

static int
fake_get_domain_xml(vp_virt *v, const char *domain, bool inactive, char **ret, vp_error *err)
{
    vp_virt *r = fake_of(v)->real;

    return r->ops->get_domain_xml(r, domain, inactive, ret, err);
}

static int
fake_domain_state(vp_virt *v, const char *domain, bool *running, bool *persistent, vp_error *err)
{
    fake_virt *f = fake_of(v);

    if (f->fake_state) {
        *running = f->state_running;
        *persistent = f->state_persistent;
        return 0;
    }
    return f->real->ops->domain_state(f->real, domain, running, persistent, err);
}

static int
fake_device(vp_virt *v, const char *domain, const char *xml, unsigned affect, bool attach,
            vp_error *err)
{
    fake_virt *f = fake_of(v);
    vp_autofree char *label = fake_label(f, xml);

    if (fake_should_fail(f, err))
        return -1;
    vp_strv_push_take(
        &f->log, vp_asprintf("%s %s %s", attach ? "attach" : "detach", affect_str(affect), label));
    if ((attach ? f->real->ops->attach_device(f->real, domain, xml, affect, err)
                : f->real->ops->detach_device(f->real, domain, xml, affect, err)) < 0) {
        vp_strv_push_take(&f->log, vp_asprintf("REAL FAILURE: %s", err->msg));
        return -1;
    }
    return 0;
}

static int
fake_attach(vp_virt *v, const char *domain, const char *xml, unsigned affect, vp_error *err)
{
    return fake_device(v, domain, xml, affect, true, err);
}

static int
fake_detach(vp_virt *v, const char *domain, const char *xml, unsigned affect, vp_error *err)
{
    return fake_device(v, domain, xml, affect, false, err);
}

static int
fake_define(vp_virt *v, const char *xml, vp_error *err)
{
    fake_virt *f = fake_of(v);
    vp_autofree char *label = fake_label(f, xml);

    if (fake_should_fail(f, err))
        return -1;
    vp_strv_push_take(&f->log, vp_asprintf("define %s", label));
    return f->real->ops->define_xml(f->real, xml, err);
}

static int
fake_set_metadata(vp_virt *v, const char *domain, const char *xml, const char *ns,
                  const char *prefix, unsigned affect, vp_error *err)
{
    fake_virt *f = fake_of(v);
    vp_autofree char *label = fake_label(f, xml);

    if (fake_should_fail(f, err))
        return -1;
    vp_strv_push_take(&f->log, vp_asprintf("metadata %s %s", affect_str(affect), label));
    return f->real->ops->set_metadata(f->real, domain, xml, ns, prefix, affect, err);
}

/* The embedded driver has no node-device API: the fake keeps the vfio bindings itself. */
static int
fake_nodedev_detach(vp_virt *v, const char *name, const char *driver, vp_error *err)
{
    fake_virt *f = fake_of(v);

    if (fake_should_fail(f, err))
        return -1;
    assert_string_equal(driver, "vfio");
    vp_strv_push_take(&f->log, vp_asprintf("nodedev_detach %s", name));
    if (!vp_strv_contains(f->vfio, name))
        vp_strv_push(&f->vfio, name);
    return 0;
}

static int
fake_nodedev_reattach(vp_virt *v, const char *name, vp_error *err)
{
    fake_virt *f = fake_of(v);
    size_t i, j;

    if (fake_should_fail(f, err))
        return -1;
    vp_strv_push_take(&f->log, vp_asprintf("nodedev_reattach %s", name));
    for (i = j = 0; f->vfio && f->vfio[i]; i++) {
        if (strcmp(f->vfio[i], name) == 0)
            free(f->vfio[i]);
        else
            f->vfio[j++] = f->vfio[i];
    }
    if (f->vfio)
        f->vfio[j] = NULL;
    return 0;
}

static void
fake_close(vp_virt *v)
{
    (void)v;
}

static const vp_virt_ops fake_ops = {
    .close = fake_close,
    .get_domain_xml = fake_get_domain_xml,
    .domain_state = fake_domain_state,
    .attach_device = fake_attach,
    .detach_device = fake_detach,
    .define_xml = fake_define,
    .set_metadata = fake_set_metadata,
    .nodedev_detach = fake_nodedev_detach,
    .nodedev_reattach = fake_nodedev_reattach,
};

static void
fake_init(fake_virt *f, const vp_plan *plan)
{
    memset(f, 0, sizeof(*f));
    f->base.ops = &fake_ops;
    f->base.priv = f;
    f->base.uri = real->uri;
    f->real = real;
    f->plan = plan;
}

static void
fake_fail(fake_virt *f, int call)
{
    assert_true(f->n_fail < VP_ARRAY_SIZE(f->fail));
    f->fail[f->n_fail++] = call;
}

static void
fake_clear(fake_virt *f)
{
    vp_strv_free(f->log);
    vp_strv_free(f->vfio);
    f->log = f->vfio = NULL;
}

static size_t
fake_vfio_count(const fake_virt *f)
{
    return vp_strv_len(f->vfio);
}

/* ---- domains in the embedded driver ---- */

static char *
inactive_xml(void)
{
    virDomainPtr d = virDomainLookupByName(conn, DOM);
    char *xml;

    assert_non_null(d);
    xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
    virDomainFree(d);
    assert_non_null(xml);
    return xml;
}

/* Assert A == B byte for byte, printing the first line that differs. */
static void
assert_same_xml(const char *a, const char *b, const char *what)
{
    const char *pa = a, *pb = b;

    if (strcmp(a, b) == 0)
        return;
    while (*pa && *pa == *pb)
        pa++, pb++;
    while (pa > a && pa[-1] != '\n')
        pa--, pb--;
    fprintf(stderr, "%s: XML differs at\n  before: %.160s\n  after:  %.160s\n", what, pa, pb);
    fail_msg("%s: the persistent XML changed", what);
}

static void
undefine_vm1(void)
{
    virDomainPtr d = virDomainLookupByName(conn, DOM);

    if (d) {
        assert_int_equal(virDomainUndefine(d), 0);
        virDomainFree(d);
    }
    virResetLastError();
}

static void
lv_attach(const char *xml)
{
    virDomainPtr d = virDomainLookupByName(conn, DOM);

    assert_non_null(d);
    if (virDomainAttachDeviceFlags(d, xml, VIR_DOMAIN_AFFECT_CONFIG) < 0)
        fail_msg("setup attach: %s", virGetLastErrorMessage());
    virDomainFree(d);
}

static const char CTL3[] =
    "<controller type='pci' index='3' model='pcie-root-port'><model name='pcie-root-port'/>"
    "<target chassis='3' port='0x18'/>"
    "<address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></controller>";
static const char CTL3_SLOT5[] =
    "<controller type='pci' index='3' model='pcie-root-port'><model name='pcie-root-port'/>"
    "<target chassis='3' port='0x28'/>"
    "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/></controller>";

/* A managed vfio <hostdev> of host function BUS:00.FN at guest GBUS:00.GFN (no guest
 * address when GBUS is negative); MF adds multifunction='on'. */
static char *
hostdev(int bus, int fn, int gbus, int gfn, bool mf)
{
    vp_autofree char *guest =
        gbus < 0 ? vp_strdup("")
                 : vp_asprintf("<address type='pci' domain='0x0000' bus='0x%02x' slot='0x00' "
                               "function='0x%x'%s/>",
                               gbus, gfn, mf ? " multifunction='on'" : "");

    return vp_asprintf("<hostdev mode='subsystem' type='pci' managed='yes'><driver name='vfio'/>"
                       "<source><address domain='0x0000' bus='0x%02x' slot='0x00' "
                       "function='0x%x'/></source>%s</hostdev>",
                       bus, fn, guest);
}

/* vm1 as the fixture defines it: q35, SeaBIOS, pcihole64 1 GiB, root port 2 free. Defined
 * twice: libvirt's first definition of hand-written XML is not a fixed point (the controllers
 * it adds come after the ones written; defining its own output again sorts them), and a
 * REDEFINE step would reorder them. */
static void
define_fresh(void)
{
    virDomainPtr d;
    char *xml;

    undefine_vm1();
    d = virDomainDefineXMLFlags(conn, fixture_xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (!d)
        fail_msg("define vm1: %s", virGetLastErrorMessage());
    xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
    virDomainFree(d);
    assert_non_null(xml);
    d = virDomainDefineXMLFlags(conn, xml, VIR_DOMAIN_DEFINE_VALIDATE);
    free(xml);
    assert_non_null(d);
    virDomainFree(d);
}

/* The mixed plan's starting point: root port 3 holding 0000:1a:00.0, and (OTHER_META) some
 * other program's metadata, so that removing vpass's leaves no empty <metadata/>. */
static void
define_base(bool other_meta)
{
    vp_autofree char *hd = hostdev(0x1a, 0, 3, 0, false);

    define_fresh();
    lv_attach(CTL3);
    lv_attach(hd);
    if (other_meta) {
        virDomainPtr d = virDomainLookupByName(conn, DOM);

        assert_int_equal(virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, "<note>keep</note>",
                                              "other", OTHER_NS, VIR_DOMAIN_AFFECT_CONFIG),
                         0);
        virDomainFree(d);
    }
}

/* ---- plans built by hand ---- */

static vp_step *
add_step(vp_plan *p, vp_step_kind kind, const char *addr, char *xml, char *old_xml, unsigned affect,
         const char *summary)
{
    vp_step *s;

    p->steps = vp_realloc_array(p->steps, p->n_steps + 1, sizeof(*p->steps));
    s = &p->steps[p->n_steps++];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    if (addr)
        assert_int_equal(vp_pci_addr_parse(addr, &s->addr, NULL), 0);
    s->xml = xml;
    s->old_xml = old_xml;
    s->affect = affect;
    s->summary = vp_strdup(summary);
    return s;
}

static void
free_plan(vp_plan *p)
{
    for (size_t i = 0; i < p->n_steps; i++) {
        free(p->steps[i].xml);
        free(p->steps[i].old_xml);
        free(p->steps[i].driver);
        free(p->steps[i].summary);
    }
    free(p->steps);
    free(p->domain);
    free(p->noop_reason);
    memset(p, 0, sizeof(*p));
}

static const char META[] = "<assignment group='26'><device address='0000:18:00.0'/>"
                           "<device address='0000:18:00.1'/></assignment>";

/* What `vpass attach --domain vm1 --group 26 --config --mmio64 64G` would do on the fresh
 * fixture: isolate a (pretend) sibling, grow the 64-bit hole, add a root port, put both
 * functions of the card on it (one guest slot), record the assignment. */
static void
plan_attach_group(vp_plan *p)
{
    vp_autofree char *cur = inactive_xml();

    memset(p, 0, sizeof(*p));
    p->domain = vp_strdup(DOM);
    add_step(p, VP_STEP_ISOLATE, "0000:18:00.2", NULL, NULL, 0,
             "bind 0000:18:00.2 (group 26, not assigned) to vfio-pci")
        ->driver = vp_strdup("tg3");
    add_step(p, VP_STEP_REDEFINE, NULL,
             vp_test_replace(cur, "<pcihole64 unit='KiB'>1048576</pcihole64>",
                             "<pcihole64 unit='KiB'>67108864</pcihole64>"),
             vp_strdup(cur), VP_AFFECT_CONFIG, "set vm1's 64-bit PCI hole to 64 GiB (config)");
    add_step(p, VP_STEP_ADD_CONTROLLER, NULL, vp_strdup(CTL3), NULL, VP_AFFECT_CONFIG,
             "add pcie-root-port 3 to vm1 (config)");
    add_step(p, VP_STEP_ATTACH, "0000:18:00.0", hostdev(0x18, 0, 3, 0, true), NULL,
             VP_AFFECT_CONFIG, "attach 0000:18:00.0 to vm1 (config)");
    add_step(p, VP_STEP_ATTACH, "0000:18:00.1", hostdev(0x18, 1, 3, 1, false), NULL,
             VP_AFFECT_CONFIG, "attach 0000:18:00.1 to vm1 (config)");
    add_step(p, VP_STEP_SET_METADATA, NULL, vp_strdup(META), NULL, VP_AFFECT_CONFIG,
             "record the assignment in vm1's metadata (config)");
}

/* Every step kind once, on define_base(): each undo path runs when step 9 fails. The root
 * port vpass removes is the last one (libvirt refills a gap in the controller indexes with a
 * new root port of its own), and the one it adds takes its index, elsewhere. REDEFINE comes
 * late (step 8, its XML is the definition after step 7) so that the undo of steps 3-7 must
 * restore the definition by itself. Step 7 uses VP_AFFECT_CURRENT: config on shut-off vm1. */
static void
plan_mixed(vp_plan *p)
{
    vp_autofree char *base = inactive_xml();
    vp_autofree char *after7 = NULL;
    vp_error err = {0};
    virDomainPtr d;

    memset(p, 0, sizeof(*p));
    p->domain = vp_strdup(DOM);
    add_step(p, VP_STEP_ISOLATE, "0000:18:00.0", NULL, NULL, 0, "bind 0000:18:00.0 to vfio-pci");
    add_step(p, VP_STEP_REATTACH, "0000:3b:00.0", NULL, NULL, 0,
             "give 0000:3b:00.0 back to its driver");
    add_step(p, VP_STEP_DETACH, "0000:1a:00.0", hostdev(0x1a, 0, 3, 0, false), NULL,
             VP_AFFECT_CONFIG, "detach 0000:1a:00.0 from vm1 (config)");
    add_step(p, VP_STEP_REMOVE_CONTROLLER, NULL, vp_strdup(CTL3), NULL, VP_AFFECT_CONFIG,
             "remove pcie-root-port 3 from vm1 (config)");
    add_step(p, VP_STEP_ADD_CONTROLLER, NULL, vp_strdup(CTL3_SLOT5), NULL, VP_AFFECT_CONFIG,
             "add pcie-root-port 3 to vm1 (config)");
    add_step(p, VP_STEP_ATTACH, "0000:18:00.0", hostdev(0x18, 0, 3, 0, true), NULL,
             VP_AFFECT_CONFIG, "attach 0000:18:00.0 to vm1 (config)");
    add_step(p, VP_STEP_SET_METADATA, NULL, vp_strdup(META), NULL, VP_AFFECT_CURRENT,
             "record the assignment in vm1's metadata");

    /* The definition after step 7, as the planner would have computed it: make it, read it,
     * put the base back. */
    for (size_t i = 2; i < 7; i++) {
        const vp_step *s = &p->steps[i];
        int r;

        if (s->kind == VP_STEP_DETACH || s->kind == VP_STEP_REMOVE_CONTROLLER)
            r = real->ops->detach_device(real, DOM, s->xml, VP_AFFECT_CONFIG, &err);
        else if (s->kind == VP_STEP_SET_METADATA)
            r = real->ops->set_metadata(real, DOM, s->xml, VP_METADATA_NS, VP_METADATA_PREFIX,
                                        VP_AFFECT_CONFIG, &err);
        else
            r = real->ops->attach_device(real, DOM, s->xml, VP_AFFECT_CONFIG, &err);
        if (r < 0)
            fail_msg("step %zu: %s", i + 1, err.msg);
    }
    after7 = inactive_xml();
    d = virDomainDefineXML(conn, base);
    assert_non_null(d);
    virDomainFree(d);

    add_step(p, VP_STEP_REDEFINE, NULL,
             vp_test_replace(after7, "<pcihole64 unit='KiB'>1048576</pcihole64>",
                             "<pcihole64 unit='KiB'>33554432</pcihole64>"),
             vp_strdup(after7), VP_AFFECT_CONFIG, "set vm1's 64-bit PCI hole to 32 GiB (config)");
    add_step(p, VP_STEP_ATTACH, "0000:18:00.1", hostdev(0x18, 1, 3, 1, false), NULL,
             VP_AFFECT_CONFIG, "attach 0000:18:00.1 to vm1 (config)");
}

/* The expected "; rolled back ..." tail of a failure at step N with nothing left behind. */
static char *
rolled_back(int n)
{
    if (n == 1)
        return vp_strdup("; nothing to roll back");
    if (n == 2)
        return vp_strdup("; rolled back 1 step");
    return vp_asprintf("; rolled back %d steps", n - 1);
}

/* ---- setup ---- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int
group_setup(void **state)
{
    vp_error err = {0};
    const char *tmp = getenv("TMPDIR");
    vp_autofree char *templ = vp_asprintf("%s/vpass-embed.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    vp_autofree char *uri = NULL;
    vp_autofree char *path = vp_path_join(VP_TEST_FIXTURES, "domain/libvirt/pcihole64-q35.xml");
    vp_autofree char *xml = NULL;

    (void)state;
    if (!mkdtemp(templ))
        return -1;
    embed_root = VP_STEAL(&templ);
    uri = vp_asprintf("qemu:///embed?root=%s", embed_root);
    /* The first open probes QEMU's capabilities (a few seconds), cached under the root. */
    if (vp_virt_open(uri, false, &real, &err) < 0) {
        fprintf(stderr,
                "cannot open the embedded QEMU driver: %s\n"
                "(it needs qemu-system-x86, libvirt-daemon-driver-qemu and the libvirt-qemu "
                "user and group: run scripts/install-deps.sh)\n",
                err.msg);
        return -1;
    }
    conn = virConnectOpen(uri);
    if (!conn)
        return -1;
    if (vp_read_file(path, 1 << 20, &xml, NULL) < 0)
        return -1;
    fixture_xml = vp_test_replace(xml, "<name>q35-test</name>", "<name>" DOM "</name>");
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    if (conn)
        virConnectClose(conn);
    vp_virt_free(real);
    free(fixture_xml);
    if (embed_root)
        nftw(embed_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(embed_root);
    return 0;
}

/* ---- tests ---- */

/* A noop plan, and one without steps, succeed without a single call. */
static void
test_noop(void **state)
{
    vp_plan p = {.domain = (char *)DOM, .noop = true};
    vp_apply_report rep = {0};
    fake_virt f;
    vp_error err = {0};

    (void)state;
    fake_init(&f, &p);
    add_step(&p, VP_STEP_ATTACH, "0000:18:00.0", vp_strdup("<hostdev/>"), NULL, 0, "attach");
    assert_int_equal(vp_apply_plan(&f.base, &p, &rep, &err), 0);
    p.noop = false;
    free(p.steps[0].xml);
    free(p.steps[0].summary);
    p.n_steps = 0;
    assert_int_equal(vp_apply_plan(&f.base, &p, &rep, &err), 0);
    assert_int_equal(f.calls, 0);
    assert_null(f.log);
    assert_int_equal(rep.n_steps, 0);
    assert_int_equal(rep.failed, 0);
    free(p.steps);
    vp_apply_report_clear(&rep);
}

/* The group attach on the fresh fixture: a failure at every step N leaves vm1's persistent
 * XML byte-identical and no device bound to vfio-pci; without a failure, libvirt holds the
 * result. */
static void
test_attach_group_fail_every_step(void **state)
{
    vp_plan p;
    vp_error err;
    size_t n;

    (void)state;
    define_fresh();
    plan_attach_group(&p);
    n = p.n_steps;
    free_plan(&p);
    for (size_t fail_at = 1; fail_at <= n; fail_at++) {
        vp_apply_report rep = {0};
        vp_autofree char *before = NULL;
        vp_autofree char *after = NULL;
        vp_autofree char *tail = rolled_back((int)fail_at);
        vp_autofree char *head = NULL;
        fake_virt f;

        define_fresh();
        before = inactive_xml();
        plan_attach_group(&p);
        fake_init(&f, &p);
        fake_fail(&f, (int)fail_at);
        memset(&err, 0, sizeof(err));
        assert_int_equal(vp_apply_plan(&f.base, &p, &rep, &err), -1);
        head = vp_asprintf("vm1: step %zu of %zu (%s) failed: injected failure at call %zu",
                           fail_at, n, p.steps[fail_at - 1].summary, fail_at);
        assert_true(vp_startswith(err.msg, head));
        assert_string_equal(err.msg + strlen(head), tail);
        assert_int_equal(err.code, VP_E_SYSTEM);
        assert_int_equal(rep.failed, fail_at);
        assert_int_equal(rep.done, fail_at - 1);
        assert_int_equal(rep.undone, fail_at - 1);
        assert_int_equal(rep.n_leftovers, 0);
        /* Reverse undo alone restores it: no definition put back from the copy. */
        assert_false(rep.config_restored);
        after = inactive_xml();
        assert_same_xml(before, after, p.steps[fail_at - 1].summary);
        assert_int_equal(fake_vfio_count(&f), 0);
        /* do 1..N (N fails), then undo N-1..1: 2N-1 change calls. */
        assert_int_equal(f.calls, 2 * (int)fail_at - 1);
        fake_clear(&f);
        free_plan(&p);
        vp_apply_report_clear(&rep);
    }

    /* No failure: every step took effect in libvirt. */
    {
        vp_apply_report rep = {0};
        vp_autofree char *after = NULL;
        fake_virt f;

        define_fresh();
        plan_attach_group(&p);
        fake_init(&f, &p);
        memset(&err, 0, sizeof(err));
        assert_int_equal(vp_apply_plan(&f.base, &p, &rep, &err), 0);
        assert_int_equal(rep.done, n);
        assert_int_equal(rep.failed, 0);
        after = inactive_xml();
        assert_non_null(strstr(after, "<pcihole64 unit='KiB'>67108864</pcihole64>"));
        assert_non_null(strstr(after, "<controller type='pci' index='3' model='pcie-root-port'>"));
        assert_non_null(strstr(after, "<address domain='0x0000' bus='0x18' slot='0x00' "
                                      "function='0x1'/>"));
        assert_non_null(strstr(after, "<address type='pci' domain='0x0000' bus='0x03' "
                                      "slot='0x00' function='0x0' multifunction='on'/>"));
        assert_non_null(strstr(after, "<address type='pci' domain='0x0000' bus='0x03' "
                                      "slot='0x00' function='0x1'/>"));
        assert_non_null(strstr(after, "<vpass:assignment xmlns:vpass=\"urn:vpass:domain:1\" "
                                      "group=\"26\">"));
        assert_int_equal(fake_vfio_count(&f), 1);
        assert_string_equal(f.vfio[0], "pci_0000_18_00_2");
        fake_clear(&f);
        free_plan(&p);
        vp_apply_report_clear(&rep);
    }
}

/* Every step kind, failing at every step N: byte-identical afterwards, by undo alone. When
 * the last step fails, all eight undo paths run, in reverse. */
static void
test_mixed_fail_every_step(void **state)
{
    static const char *const expect_log[] = {
        "nodedev_detach pci_0000_18_00_0",
        "nodedev_reattach pci_0000_3b_00_0",
        "detach config s3",
        "detach config s4",
        "attach config s5",
        "attach config s6",
        "metadata config s7",
        "define s8",
        "FAIL 9",
        "define s8-old",
        "metadata config null", /* no old metadata: removes it */
        "detach config s6",
        "detach config s5",
        "attach config s4",
        "attach config s3",
        "nodedev_detach pci_0000_3b_00_0",
        "nodedev_reattach pci_0000_18_00_0",
    };
    vp_plan p;
    size_t n;

    (void)state;
    define_base(true);
    plan_mixed(&p);
    n = p.n_steps;
    free_plan(&p);
    for (size_t fail_at = 1; fail_at <= n + 1; fail_at++) {
        vp_apply_report rep = {0};
        vp_autofree char *before = NULL;
        vp_autofree char *after = NULL;
        vp_error err = {0};
        fake_virt f;
        int r;

        define_base(true);
        before = inactive_xml();
        plan_mixed(&p);
        fake_init(&f, &p);
        /* 3b:00.0 starts on vfio-pci: step 2 gives it back. */
        vp_strv_push(&f.vfio, "pci_0000_3b_00_0");
        if (fail_at <= n)
            fake_fail(&f, (int)fail_at);
        r = vp_apply_plan(&f.base, &p, &rep, &err);
        after = inactive_xml();
        if (fail_at > n) {
            /* Success: the new state. */
            assert_int_equal(r, 0);
            assert_null(strstr(after, "bus='0x1a'"));
            assert_non_null(strstr(after, "<target chassis='3' port='0x28'/>"));
            assert_null(strstr(after, "index='4'"));
            assert_non_null(strstr(after, "33554432"));
            assert_non_null(strstr(after, ">keep</other:note>"));
            assert_non_null(strstr(after, "vpass:assignment"));
            assert_int_equal(fake_vfio_count(&f), 1);
            assert_string_equal(f.vfio[0], "pci_0000_18_00_0");
        } else {
            assert_int_equal(r, -1);
            if (rep.undone != fail_at - 1) {
                fprintf(stderr, "fail at %zu: %s\n", fail_at, err.msg);
                for (size_t i = 0; f.log && f.log[i]; i++)
                    fprintf(stderr, "  %s\n", f.log[i]);
                for (size_t i = 0; i < rep.n_leftovers; i++)
                    fprintf(stderr, "  left: %s: %s\n", rep.leftovers[i].what,
                            rep.leftovers[i].reason);
            }
            assert_int_equal(rep.failed, fail_at);
            assert_int_equal(rep.undone, fail_at - 1);
            assert_int_equal(rep.n_leftovers, 0);
            assert_false(rep.config_restored);
            assert_same_xml(before, after, p.steps[fail_at - 1].summary);
            assert_int_equal(fake_vfio_count(&f), 1);
            assert_string_equal(f.vfio[0], "pci_0000_3b_00_0");
        }
        if (fail_at == n) {
            assert_int_equal(vp_strv_len(f.log), VP_ARRAY_SIZE(expect_log));
            for (size_t i = 0; i < VP_ARRAY_SIZE(expect_log); i++)
                assert_string_equal(f.log[i], expect_log[i]);
            assert_string_equal(err.msg, "vm1: step 9 of 9 (attach 0000:18:00.1 to vm1 "
                                         "(config)) failed: injected failure at call 9; "
                                         "rolled back 8 steps");
        }
        fake_clear(&f);
        free_plan(&p);
        vp_apply_report_clear(&rep);
    }
}

/* What reverse undo cannot restore, the copy does: libvirt leaves an empty <metadata/> after
 * vpass's element is removed, and keeps a pcie-root-port it added by itself. */
static void
test_restore_from_copy(void **state)
{
    vp_plan p;
    vp_apply_report rep = {0};
    vp_autofree char *before = NULL;
    vp_autofree char *after = NULL;
    vp_error err = {0};
    fake_virt f;

    (void)state;
    /* No other metadata: undoing step 7 leaves <metadata/>. */
    define_base(false);
    before = inactive_xml();
    plan_mixed(&p);
    fake_init(&f, &p);
    vp_strv_push(&f.vfio, "pci_0000_3b_00_0");
    fake_fail(&f, 9);
    assert_int_equal(vp_apply_plan(&f.base, &p, &rep, &err), -1);
    assert_true(rep.config_restored);
    assert_int_equal(rep.undone, 8);
    assert_int_equal(rep.n_leftovers, 0);
    assert_string_equal(err.msg, "vm1: step 9 of 9 (attach 0000:18:00.1 to vm1 (config)) "
                                 "failed: injected failure at call 9; rolled back 8 steps; "
                                 "restored the persistent definition from before");
    after = inactive_xml();
    assert_same_xml(before, after, "metadata removed");
    /* The copy was defined back after the undo steps. */
    assert_string_equal(f.log[vp_strv_len(f.log) - 1], "define other");
    fake_clear(&f);
    free_plan(&p);
    vp_apply_report_clear(&rep);

    /* Hostdevs without a guest address: the second needs a root port, libvirt adds one. */
    define_fresh();
    free(before);
    free(after);
    before = inactive_xml();
    memset(&p, 0, sizeof(p));
    p.domain = vp_strdup(DOM);
    add_step(&p, VP_STEP_ATTACH, "0000:18:00.0", hostdev(0x18, 0, -1, 0, false), NULL,
             VP_AFFECT_CONFIG, "attach 0000:18:00.0 to vm1 (config)");
    add_step(&p, VP_STEP_ATTACH, "0000:18:00.1", hostdev(0x18, 1, -1, 0, false), NULL,
             VP_AFFECT_CONFIG, "attach 0000:18:00.1 to vm1 (config)");
    add_step(&p, VP_STEP_SET_METADATA, NULL, vp_strdup(META), NULL, VP_AFFECT_CONFIG,
             "record the assignment in vm1's metadata (config)");
    fake_init(&f, &p);
    fake_fail(&f, 3);
    assert_int_equal(vp_apply_plan(&f.base, &p, &rep, &err), -1);
    assert_true(rep.config_restored);
    after = inactive_xml();
    assert_same_xml(before, after, "auto-added root port");
    fake_clear(&f);
    free_plan(&p);
    vp_apply_report_clear(&rep);
}

/* Undo steps that fail: what is left behind is named, with the fix by hand (VP_E_SYSTEM). An
 * undo that only concerned the persistent definition is repaired by the copy. */
static void
test_undo_fails(void **state)
{
    vp_plan p;
    vp_apply_report rep = {0};
    vp_autofree char *before = NULL;
    vp_autofree char *after = NULL;
    vp_error err = {0};
    fake_virt f;

    (void)state;
    define_base(true);
    before = inactive_xml();
    plan_mixed(&p);
    fake_init(&f, &p);
    vp_strv_push(&f.vfio, "pci_0000_3b_00_0");
    fake_fail(&f, 9);  /* step 9 */
    fake_fail(&f, 12); /* undo of step 6: detach 18:00.0 (config) */
    fake_fail(&f, 17); /* undo of step 1: reattach 18:00.0 */
    assert_int_equal(vp_apply_plan(&f.base, &p, &rep, &err), -1);
    assert_int_equal(err.code, VP_E_SYSTEM);
    /* With 18:00.0 still on guest bus 3, libvirt refills the root port step 5's undo removes
     * (so the undo of step 4 finds index 3 taken) and refuses 1a:00.0 at 03:00.0 (step 3):
     * one failed undo drags others along; all the rest still run. */
    assert_int_equal(rep.undone, 4);
    assert_true(rep.config_restored);
    /* The copy repaired the definition (steps 6, 4, 3); step 1's leftover remains. */
    assert_int_equal(rep.n_leftovers, 1);
    assert_int_equal(rep.leftovers[0].step, 0);
    assert_string_equal(rep.leftovers[0].what, "0000:18:00.0 is still bound to vfio-pci");
    assert_string_equal(rep.leftovers[0].fix, "virsh nodedev-reattach pci_0000_18_00_0");
    assert_string_equal(err.msg,
                        "vm1: step 9 of 9 (attach 0000:18:00.1 to vm1 (config)) failed: "
                        "injected failure at call 9; rolled back 4 of 8 steps; left behind: "
                        "0000:18:00.0 is still bound to vfio-pci (undo of step 1 failed: "
                        "injected failure at call 17)");
    assert_string_equal(err.hint, "fix by hand: virsh nodedev-reattach pci_0000_18_00_0");
    after = inactive_xml();
    assert_same_xml(before, after, "undo failed, copy restored");
    assert_true(vp_strv_contains(f.vfio, "pci_0000_18_00_0"));
    fake_clear(&f);
    free_plan(&p);
    vp_apply_report_clear(&rep);

    /* The copy cannot be defined back either (call 18): the config leftover stays. */
    define_base(true);
    plan_mixed(&p);
    fake_init(&f, &p);
    vp_strv_push(&f.vfio, "pci_0000_3b_00_0");
    fake_fail(&f, 9);
    fake_fail(&f, 12);
    fake_fail(&f, 18);
    memset(&err, 0, sizeof(err));
    assert_int_equal(vp_apply_plan(&f.base, &p, &rep, &err), -1);
    assert_int_equal(err.code, VP_E_SYSTEM);
    assert_false(rep.config_restored);
    assert_int_equal(rep.n_leftovers, 4);
    assert_int_equal(rep.leftovers[0].step, 5);
    assert_string_equal(rep.leftovers[0].what, "0000:18:00.0 is still attached to vm1 (config)");
    assert_string_equal(rep.leftovers[0].fix,
                        "virsh detach-device vm1 FILE --config, FILE holding the XML of step 6");
    assert_int_equal(rep.leftovers[1].step, 3);
    assert_string_equal(rep.leftovers[1].what, "vm1 lacks the controller step 4 removed (config)");
    assert_true(vp_startswith(rep.leftovers[1].reason, "vm1: cannot attach the device (config): "));
    assert_int_equal(rep.leftovers[2].step, 2);
    assert_string_equal(rep.leftovers[2].what,
                        "0000:1a:00.0 is no longer attached to vm1 (config)");
    assert_int_equal(rep.leftovers[3].step, SIZE_MAX);
    assert_string_equal(rep.leftovers[3].what,
                        "vm1's persistent definition differs from the one before");
    assert_true(vp_startswith(err.msg, "vm1: step 9 of 9 (attach 0000:18:00.1 to vm1 (config)) "
                                       "failed: injected failure at call 9; rolled back 5 of 8 "
                                       "steps; left behind: 0000:18:00.0 is still attached to "
                                       "vm1 (config) (undo of step 6 failed: injected failure "
                                       "at call 12); vm1 lacks the controller step 4 removed "
                                       "(config) (undo of step 4 failed: cannot attach the "
                                       "device (config): "));
    assert_true(vp_startswith(err.hint, "fix by hand: virsh detach-device vm1 FILE --config, "
                                        "FILE holding the XML of step 6; virsh attach-device "
                                        "vm1 FILE --config, FILE holding the XML of step 4; "));
    free(after);
    after = inactive_xml();
    assert_non_null(strstr(after, "bus='0x18' slot='0x00' function='0x0'"));
    fake_clear(&f);
    free_plan(&p);
    vp_apply_report_clear(&rep);
}

typedef struct {
    char **events;
} progress_log;

static void
record_progress(void *ctx, size_t i, size_t n, const vp_step *s, bool undo)
{
    progress_log *l = ctx;

    vp_strv_push_take(&l->events,
                      vp_asprintf("%s %zu/%zu %s", undo ? "undo" : "do", i + 1, n, s->summary));
}

/* The progress callback sees each step before it runs, and each undo before it runs. */
static void
test_progress(void **state)
{
    vp_plan p;
    progress_log l = {0};
    vp_apply_report rep = {.progress = record_progress, .progress_ctx = &l};
    vp_error err = {0};
    fake_virt f;

    (void)state;
    define_fresh();
    plan_attach_group(&p);
    fake_init(&f, &p);
    fake_fail(&f, 3);
    assert_int_equal(vp_apply_plan(&f.base, &p, &rep, &err), -1);
    assert_int_equal(vp_strv_len(l.events), 5);
    assert_string_equal(l.events[0], "do 1/6 bind 0000:18:00.2 (group 26, not assigned) to "
                                     "vfio-pci");
    assert_string_equal(l.events[2], "do 3/6 add pcie-root-port 3 to vm1 (config)");
    assert_string_equal(l.events[3], "undo 2/6 set vm1's 64-bit PCI hole to 64 GiB (config)");
    assert_string_equal(l.events[4], "undo 1/6 bind 0000:18:00.2 (group 26, not assigned) to "
                                     "vfio-pci");
    /* The callback input survives the report being cleared. */
    vp_apply_report_clear(&rep);
    assert_ptr_equal(rep.progress, record_progress);
    vp_strv_free(l.events);
    fake_clear(&f);
    free_plan(&p);
}

/* A change to the persistent definition of a transient domain, or to the live one of a
 * shut-off domain, is refused before anything runs. */
static void
test_refused_by_state(void **state)
{
    vp_plan p;
    vp_error err = {0};
    fake_virt f;

    (void)state;
    define_fresh();
    plan_attach_group(&p);
    fake_init(&f, &p);
    f.fake_state = true;
    f.state_running = true;
    f.state_persistent = false;
    assert_int_equal(vp_apply_plan(&f.base, &p, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_string_equal(err.msg, "vm1 is transient: it has no persistent definition; use --live");
    assert_int_equal(f.calls, 0);
    free_plan(&p);

    /* The real state: vm1 is shut off, and a live attach is impossible. */
    memset(&p, 0, sizeof(p));
    p.domain = vp_strdup(DOM);
    add_step(&p, VP_STEP_ISOLATE, "0000:18:00.0", NULL, NULL, 0, "bind 0000:18:00.0 to vfio-pci");
    add_step(&p, VP_STEP_ATTACH, "0000:18:00.0", hostdev(0x18, 0, -1, 0, false), NULL,
             VP_AFFECT_LIVE, "attach 0000:18:00.0 to vm1 (live)");
    fake_init(&f, &p);
    assert_int_equal(vp_apply_plan(&f.base, &p, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_string_equal(err.msg, "vm1 is not running: it has no live definition; use --config");
    assert_int_equal(f.calls, 0);
    free_plan(&p);

    /* An unknown domain. */
    memset(&p, 0, sizeof(p));
    p.domain = vp_strdup("no-such-vm");
    add_step(&p, VP_STEP_SET_METADATA, NULL, vp_strdup(META), NULL, VP_AFFECT_CONFIG, "meta");
    fake_init(&f, &p);
    assert_int_equal(vp_apply_plan(&f.base, &p, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_string_equal(err.msg, "domain 'no-such-vm': no such domain");
    free_plan(&p);

    /* A malformed plan: REDEFINE without the definition its undo needs. */
    memset(&p, 0, sizeof(p));
    p.domain = vp_strdup(DOM);
    add_step(&p, VP_STEP_REDEFINE, NULL, vp_strdup(fixture_xml), NULL, VP_AFFECT_CONFIG, "x");
    fake_init(&f, &p);
    assert_int_equal(vp_apply_plan(&f.base, &p, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_string_equal(err.msg, "vm1: step 1 of 1 (redefine) lacks the old definition its undo "
                                 "restores");
    assert_int_equal(f.calls, 0);
    free_plan(&p);
}

/* The real change ops on the embedded driver: results and error mapping. */
static void
test_real_ops(void **state)
{
    const vp_virt_ops *o = real->ops;
    vp_autofree char *hd = hostdev(0x18, 1, -1, 0, false);
    vp_autofree char *xml = NULL;
    vp_autofree char *meta = NULL;
    vp_error err = {0};
    bool running = true, persistent = false;

    (void)state;
    define_fresh();
    assert_int_equal(o->domain_state(real, DOM, &running, &persistent, &err), 0);
    assert_false(running);
    assert_true(persistent);

    assert_int_equal(o->get_domain_xml(real, "nope", true, &xml, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_string_equal(err.msg, "domain 'nope': no such domain");
    assert_int_equal(o->domain_state(real, "nope", &running, &persistent, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);

    /* attach --config, again (libvirt refuses a duplicate), detach, detach again. */
    assert_int_equal(o->attach_device(real, DOM, hd, VP_VIRT_AFFECT_CONFIG, &err), 0);
    assert_int_equal(o->attach_device(real, DOM, hd, VP_VIRT_AFFECT_CONFIG, &err), -1);
    assert_int_equal(err.code, VP_E_SYSTEM);
    assert_true(vp_startswith(err.msg, "vm1: cannot attach the device (config): "));
    assert_non_null(strstr(err.msg, "already"));
    assert_int_equal(o->detach_device(real, DOM, hd, VP_VIRT_AFFECT_CONFIG, &err), 0);
    assert_int_equal(o->detach_device(real, DOM, hd, VP_VIRT_AFFECT_CONFIG, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_true(vp_startswith(err.msg, "vm1: cannot detach the device (config): "));

    /* live on a shut-off domain; current means config there. */
    assert_int_equal(o->attach_device(real, DOM, hd, VP_VIRT_AFFECT_LIVE, &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_string_equal(err.msg, "vm1 is not running: it has no live definition; use --config");
    assert_int_equal(o->attach_device(real, DOM, hd, VP_VIRT_AFFECT_CURRENT, &err), 0);
    assert_int_equal(o->get_domain_xml(real, DOM, true, &xml, &err), 0);
    assert_non_null(strstr(xml, "bus='0x18' slot='0x00' function='0x1'"));

    /* metadata: set, read back through the XML, remove, remove again. */
    assert_int_equal(o->set_metadata(real, DOM, META, VP_METADATA_NS, VP_METADATA_PREFIX,
                                     VP_VIRT_AFFECT_CONFIG, &err),
                     0);
    free(xml);
    xml = NULL;
    assert_int_equal(o->get_domain_xml(real, DOM, true, &xml, &err), 0);
    assert_non_null(strstr(xml, "<vpass:assignment xmlns:vpass=\"urn:vpass:domain:1\""));
    assert_int_equal(o->set_metadata(real, DOM, NULL, VP_METADATA_NS, VP_METADATA_PREFIX,
                                     VP_VIRT_AFFECT_CONFIG, &err),
                     0);
    assert_int_equal(o->set_metadata(real, DOM, NULL, VP_METADATA_NS, VP_METADATA_PREFIX,
                                     VP_VIRT_AFFECT_CONFIG, &err),
                     0);
    assert_int_equal(o->set_metadata(real, DOM, META, VP_METADATA_NS, VP_METADATA_PREFIX,
                                     VP_VIRT_AFFECT_LIVE, &err),
                     -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);

    /* define: garbage, a schema violation (nothing replaced), then the fixture again. */
    assert_int_equal(o->define_xml(real, "<domain", &err), -1);
    assert_int_equal(err.code, VP_E_SYSTEM);
    assert_true(vp_startswith(err.msg, "domain XML: cannot define the domain: "));
    meta = vp_test_replace(fixture_xml, "<devices>", "<devices><bogus/>");
    assert_int_equal(o->define_xml(real, meta, &err), -1);
    assert_true(vp_startswith(err.msg, "vm1: cannot define the domain: "));
    assert_non_null(strstr(err.msg, "schema"));
    free(xml);
    xml = NULL;
    assert_int_equal(o->get_domain_xml(real, DOM, true, &xml, &err), 0);
    assert_non_null(strstr(xml, "bus='0x18' slot='0x00' function='0x1'"));
    assert_int_equal(o->define_xml(real, fixture_xml, &err), 0);

    /* The embedded driver has no node-device API. */
    assert_int_equal(o->nodedev_detach(real, "pci_0000_18_00_0", "vfio", &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_true(vp_startswith(err.msg, "pci_0000_18_00_0: cannot change its driver: "));
    assert_int_equal(o->nodedev_reattach(real, "pci_0000_18_00_0", &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
}

/* --config on a transient domain, with the real ops: the embedded QEMU driver cannot hold a
 * transient domain without running QEMU, so this uses the test driver (which refuses attach
 * altogether, but the message still says why it is impossible here). */
static void
test_transient_test_driver(void **state)
{
    vp_autoptr(vp_virt) t = NULL;
    virConnectPtr c;
    virDomainPtr d;
    vp_error err = {0};
    vp_autofree char *hd = hostdev(0x18, 1, -1, 0, false);
    bool running = false, persistent = true;

    (void)state;
    assert_int_equal(vp_virt_open("test:///default", false, &t, &err), 0);
    /* test:///default is one shared host per process: a second connection sees it. */
    c = virConnectOpen("test:///default");
    assert_non_null(c);
    d = virDomainCreateXML(c,
                           "<domain type='test'><name>tr</name><memory>1024</memory>"
                           "<os><type>hvm</type></os></domain>",
                           0);
    assert_non_null(d);
    assert_int_equal(t->ops->domain_state(t, "tr", &running, &persistent, &err), 0);
    assert_true(running);
    assert_false(persistent);
    assert_int_equal(t->ops->attach_device(t, "tr", hd, VP_VIRT_AFFECT_CONFIG, &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_string_equal(err.msg, "tr is transient: it has no persistent definition; use --live");
    assert_int_equal(t->ops->set_metadata(t, "tr", META, VP_METADATA_NS, VP_METADATA_PREFIX,
                                          VP_VIRT_AFFECT_CONFIG, &err),
                     -1);
    assert_string_equal(err.msg, "tr is transient: it has no persistent definition; use --live");
    /* Live metadata works on the test driver. */
    assert_int_equal(t->ops->set_metadata(t, "tr", META, VP_METADATA_NS, VP_METADATA_PREFIX,
                                          VP_VIRT_AFFECT_LIVE, &err),
                     0);
    /* The test driver has no attach at all: unsupported, not a system failure. */
    assert_int_equal(t->ops->attach_device(t, "tr", hd, VP_VIRT_AFFECT_LIVE, &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_true(vp_startswith(err.msg, "tr: cannot attach the device (live): "));
    /* Node devices: the test driver knows them by name, not this one. */
    assert_int_equal(t->ops->nodedev_reattach(t, "pci_0000_99_00_0", &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_string_equal(err.msg, "node device 'pci_0000_99_00_0': no such device");
    virDomainDestroy(d);
    virDomainFree(d);
    virConnectClose(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noop),
        cmocka_unit_test(test_attach_group_fail_every_step),
        cmocka_unit_test(test_mixed_fail_every_step),
        cmocka_unit_test(test_restore_from_copy),
        cmocka_unit_test(test_undo_fails),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_refused_by_state),
        cmocka_unit_test(test_real_ops),
        cmocka_unit_test(test_transient_test_driver),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
