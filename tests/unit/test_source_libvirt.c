/* Unit tests for src/source/libvirt.c over a fake vp_virt: fault injection into the loaders. */
#include "vp_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "source/source.h"
#include "util/fs.h"
#include "util/str.h"
#include "virt/virt.h"

/* One listed item: XML from a fixture file (FILE), inline (XML), or none (ERROR says why). */
typedef struct {
    const char *name;
    const char *file;
    const char *xml;
    const char *error;
} fake_item;

typedef struct {
    const char *name;
    const char *uuid;
    bool running;
    bool persistent;
    const char *live_file; /* or inline live_xml */
    const char *live_xml;
    const char *config_file;
    const char *error;
} fake_domain;

/* What the fake connection reports; a FAIL_* flag makes that list call fail. */
typedef struct {
    const fake_item *pci;
    size_t n_pci;
    const fake_item *net;
    size_t n_net;
    const fake_domain *domains;
    size_t n_domains;
    bool fail_pci, fail_net, fail_domains;
    unsigned calls_pci, calls_net, calls_domains;
    unsigned fetched_pci, fetched_net; /* documents handed out: one round trip each */
} fake_host;

/* The items FILTER keeps, as the real op returns them (listing order); *FETCHED counts them. */
static vp_virt_xml *
make_list(const fake_item *items, size_t n, const vp_virt_filter *filter, size_t *ret_n,
          unsigned *fetched)
{
    vp_virt_xml *list = vp_malloc0((n ? n : 1) * sizeof(*list));
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        if (filter && filter->keep && !filter->keep(filter->ctx, items[i].name))
            continue;
        list[k].name = vp_strdup(items[i].name);
        list[k].xml = items[i].file ? vp_test_fixture(items[i].file) : vp_strdup(items[i].xml);
        list[k].error = vp_strdup(items[i].error);
        k++;
    }
    *fetched += (unsigned)k;
    *ret_n = k;
    return list;
}

static int
fake_list_pci(vp_virt *v, const vp_virt_filter *filter, vp_virt_xml **ret, size_t *ret_n,
              vp_error *err)
{
    fake_host *f = v->priv;

    f->calls_pci++;
    if (f->fail_pci)
        return vp_error_set(err, VP_E_CONNECT, "%s: cannot list node devices: connection lost",
                            v->uri);
    *ret = make_list(f->pci, f->n_pci, filter, ret_n, &f->fetched_pci);
    return 0;
}

static int
fake_list_net(vp_virt *v, const vp_virt_filter *filter, vp_virt_xml **ret, size_t *ret_n,
              vp_error *err)
{
    fake_host *f = v->priv;

    f->calls_net++;
    if (f->fail_net)
        return vp_error_set(err, VP_E_SYSTEM, "%s: cannot list net devices: timed out", v->uri);
    *ret = make_list(f->net, f->n_net, filter, ret_n, &f->fetched_net);
    return 0;
}

static int
fake_list_domains(vp_virt *v, vp_virt_domain **ret, size_t *ret_n, vp_error *err)
{
    fake_host *f = v->priv;
    vp_virt_domain *list;

    f->calls_domains++;
    if (f->fail_domains)
        return vp_error_set(err, VP_E_CONNECT, "%s: cannot list domains: permission denied",
                            v->uri);
    list = vp_malloc0((f->n_domains ? f->n_domains : 1) * sizeof(*list));
    for (size_t i = 0; i < f->n_domains; i++) {
        const fake_domain *d = &f->domains[i];

        list[i].name = vp_strdup(d->name);
        list[i].uuid = vp_strdup(d->uuid);
        list[i].running = d->running;
        list[i].persistent = d->persistent;
        list[i].live_xml = d->live_file ? vp_test_fixture(d->live_file) : vp_strdup(d->live_xml);
        list[i].config_xml = vp_test_fixture(d->config_file);
        list[i].error = vp_strdup(d->error);
    }
    *ret = list;
    *ret_n = f->n_domains;
    return 0;
}

static const vp_virt_ops fake_ops = {
    .list_pci_devices = fake_list_pci,
    .list_net_devices = fake_list_net,
    .list_domains = fake_list_domains,
    .close = NULL,
};

#define GEN(n)                                                                                     \
    {                                                                                              \
        "pci_" n, "nodedev/generated/pci_" n ".xml", NULL, NULL                                    \
    }

/* The generated libvirt 9.0 host in scrambled order, plus broken and foreign entries. */
static const fake_item host_pci[] = {
    GEN("0000_02_00_1"),
    GEN("0000_01_10_2"),
    {"pci_0000_03_00_0", NULL, NULL,
     "Node device not found: no node device with matching name 'pci_0000_03_00_0'"},
    GEN("0000_00_00_0"),
    GEN("0000_01_00_1"),
    {"pci_0000_04_00_0", NULL,
     "<device>\n  <name>pci_0000_04_00_0</name>\n  <capability type='pci'>\n    "
     "<domain>0</domain>\n    <bus>4",
     NULL},
    GEN("0000_01_10_0"),
    {"pci_8086_27c5_scsi_host_0", "nodedev/libvirt/pci_8086_27c5_scsi_host_0.xml", NULL, NULL},
    GEN("0000_01_00_0"),
    {"pci_0000_00_19_0", "nodedev/libvirt/pci_82579LM_network_adapter.xml", NULL, NULL},
    GEN("0000_00_1c_0"),
    {"pci_0000_05_00_0", NULL, NULL, NULL},
    GEN("0000_02_00_0"),
    GEN("0000_01_10_1"),
};

static const fake_item host_net[] = {
    {"net_eth2_00_1b_21_aa_bb_c2", "nodedev/generated/net_eth2_00_1b_21_aa_bb_c2.xml", NULL, NULL},
    {"net_lo_00_00_00_00_00_00", "nodedev/generated/net_lo_00_00_00_00_00_00.xml", NULL, NULL},
    {"net_eth0_00_1b_21_aa_bb_c0", "nodedev/generated/net_eth0_00_1b_21_aa_bb_c0.xml", NULL, NULL},
    {"net_gone", NULL, NULL, "Node device not found"},
    {"net_00_13_02_b9_f9_d3", "nodedev/libvirt/net_00_13_02_b9_f9_d3.xml", NULL, NULL},
    {"net_enp1s16_52_54_00_10_00_00", "nodedev/generated/net_enp1s16_52_54_00_10_00_00.xml", NULL,
     NULL},
    {"net_eth1_00_1b_21_aa_bb_c1", "nodedev/generated/net_eth1_00_1b_21_aa_bb_c1.xml", NULL, NULL},
    /* Listed twice (a racing rename): attached once. */
    {"net_eth1_00_1b_21_aa_bb_c1", "nodedev/generated/net_eth1_00_1b_21_aa_bb_c1.xml", NULL, NULL},
    /* Parent is the device that failed to parse: skipped, not attached elsewhere. */
    {"net_eth4_00_00_00_00_00_04", NULL,
     "<device><name>net_eth4_00_00_00_00_00_04</name><parent>pci_0000_04_00_0</parent>"
     "<capability type='net'><interface>eth4</interface></capability></device>",
     NULL},
    {"net_bad", NULL,
     "<device><name>net_bad</name><parent>pci_0000_01_00_0</parent>"
     "<capability type='net'/></device>",
     NULL},
    /* A PCI device in the net list: reported, not attached. */
    GEN("0000_02_00_0"),
};

static void
open_fake(vp_virt *v, fake_host *f)
{
    memset(v, 0, sizeof(*v));
    v->ops = &fake_ops;
    v->uri = (char *)"test:///fake";
    v->local = true;
    v->has_nodedev = true;
    v->readonly = true;
    v->priv = f;
}

static void
assert_problem(const vp_host *h, size_t i, const char *what, const char *why)
{
    assert_true(i < h->n_problems);
    assert_string_equal(h->problems[i].what, what);
    assert_string_equal(h->problems[i].why, why);
}

static vp_device *
find(const vp_host *h, const char *addr)
{
    vp_pci_addr a;

    assert_int_equal(vp_pci_addr_parse(addr, &a, NULL), 0);
    return vp_host_find_device(h, &a);
}

static void
test_load_devices(void **state)
{
    fake_host f = {.pci = host_pci,
                   .n_pci = VP_ARRAY_SIZE(host_pci),
                   .net = host_net,
                   .n_net = VP_ARRAY_SIZE(host_net)};
    vp_autoptr(vp_host) h = vp_host_new();
    vp_virt v;
    vp_error err = {0};
    const vp_group *g;
    vp_device *d;

    (void)state;
    open_fake(&v, &f);
    assert_int_equal(vp_source_libvirt_load(h, &v, &err), 0);
    assert_int_equal(f.calls_pci, 1);
    assert_int_equal(f.calls_net, 1);
    assert_string_equal(h->source, "libvirt");
    assert_string_equal(h->uri, "test:///fake");

    /* Problems, in listing order, named by the listed name, reason without the name. */
    assert_int_equal(h->n_problems, 7);
    assert_problem(h, 0, "pci_0000_03_00_0",
                   "Node device not found: no node device with matching name "
                   "'pci_0000_03_00_0'");
    assert_problem(h, 1, "pci_0000_04_00_0",
                   "malformed node device XML (line 5: Premature end of data in tag bus line 5)");
    assert_problem(h, 2, "pci_8086_27c5_scsi_host_0", "not a PCI device (capability: scsi_host)");
    assert_problem(h, 3, "pci_0000_05_00_0", "libvirt returned no XML");
    assert_problem(h, 4, "net_gone", "Node device not found");
    assert_problem(h, 5, "net_bad", "net capability has no <interface>");
    assert_problem(h, 6, "pci_0000_02_00_0", "not a net device (capability: pci)");

    vp_host_finalize(h);
    assert_int_equal(h->n_problems, 7); /* no duplicates */
    assert_int_equal(h->n_devices, 10);
    assert_string_equal(h->devices[0]->addr_str, "0000:00:00.0");
    assert_string_equal(h->devices[1]->addr_str, "0000:00:19.0");
    assert_string_equal(h->devices[9]->addr_str, "0000:02:00.1");

    /* The upstream 82579LM keeps its driver; libvirt 9.0's test driver reports none. */
    d = find(h, "00:19.0");
    assert_non_null(d);
    assert_string_equal(d->driver, "e1000e");
    assert_false(d->has_group);
    assert_null(find(h, "00:02.0"));
    assert_null(find(h, "04:00.0"));

    /* Netdevs: sorted per device; lo (parent computer) and eth0 of pci_8086_4227 dropped. */
    d = find(h, "01:00.1");
    assert_non_null(d->netdevs);
    assert_int_equal(vp_strv_len(d->netdevs), 2);
    assert_string_equal(d->netdevs[0], "eth1");
    assert_string_equal(d->netdevs[1], "eth2");
    d = find(h, "01:00.0");
    assert_int_equal(vp_strv_len(d->netdevs), 1);
    assert_string_equal(d->netdevs[0], "eth0");
    assert_string_equal(find(h, "01:10.0")->netdevs[0], "enp1s16");
    assert_null(find(h, "01:10.2")->netdevs);
    assert_null(find(h, "02:00.0")->netdevs);
    assert_int_equal(h->n_netdev_index, 4);
    assert_null(vp_host_find_netdev(h, "lo"));
    assert_null(vp_host_find_netdev(h, "eth4"));
    assert_string_equal(vp_host_find_netdev(h, "eth2")->addr_str, "0000:01:00.1");
    assert_int_equal(vp_host_resolve_device(h, "enp1s16", &d, &err), 0);
    assert_string_equal(d->addr_str, "0000:01:10.0");
    assert_true(d->is_vf);

    /* Groups come from the model: 0, 8, 12 (both PF ports), 13 (GPU + audio), 20, 21, 22. */
    assert_true(h->iommu_present);
    assert_int_equal(h->n_groups, 7);
    g = vp_host_find_group(h, 12);
    assert_non_null(g);
    assert_int_equal(g->n_members, 2);
    assert_string_equal(h->devices[g->members[0]]->addr_str, "0000:01:00.0");
    assert_string_equal(h->devices[g->members[1]]->addr_str, "0000:01:00.1");
    assert_int_equal(g->verdict, VP_VERDICT_READY); /* no drivers reported */
    g = vp_host_find_group(h, 13);
    assert_int_equal(g->n_members, 2);
    assert_string_equal(h->devices[g->members[1]]->addr_str, "0000:02:00.1");
    assert_int_equal(vp_host_find_group(h, 8)->n_members, 1);
    assert_true(h->devices[vp_host_find_group(h, 8)->members[0]]->is_bridge);
    assert_null(vp_host_find_group(h, 31));
}

static void
test_list_failures(void **state)
{
    fake_host f = {.pci = host_pci,
                   .n_pci = VP_ARRAY_SIZE(host_pci),
                   .net = host_net,
                   .n_net = VP_ARRAY_SIZE(host_net),
                   .fail_pci = true};
    vp_virt v;
    vp_error err = {0};

    (void)state;
    open_fake(&v, &f);
    {
        vp_autoptr(vp_host) h = vp_host_new();

        assert_int_equal(vp_source_libvirt_load(h, &v, &err), -1);
        assert_int_equal(err.code, VP_E_CONNECT);
        assert_string_equal(err.msg, "test:///fake: cannot list node devices: connection lost");
        assert_int_equal(h->n_devices, 0);
        assert_int_equal(f.calls_net, 0); /* stopped at the first failure */
    }
    f.fail_pci = false;
    f.fail_net = true;
    {
        vp_autoptr(vp_host) h = vp_host_new();

        assert_int_equal(vp_source_libvirt_load(h, &v, &err), -1);
        assert_int_equal(err.code, VP_E_SYSTEM);
        assert_string_equal(err.msg, "test:///fake: cannot list net devices: timed out");
        assert_int_equal(f.calls_net, 1);
    }
    f.fail_domains = true;
    {
        vp_autoptr(vp_host) h = vp_host_new();

        assert_int_equal(vp_source_ledger_load(h, &v, &err), -1);
        assert_int_equal(err.code, VP_E_CONNECT);
        assert_string_equal(err.msg, "test:///fake: cannot list domains: permission denied");
        assert_int_equal(h->n_domains, 0);
    }
}

static void
test_missing_ops(void **state)
{
    vp_virt_ops partial = {.list_pci_devices = fake_list_pci};
    fake_host f = {.pci = host_pci, .n_pci = 1};
    vp_virt v;
    vp_error err = {0};
    vp_autoptr(vp_host) h = vp_host_new();

    (void)state;
    open_fake(&v, &f);
    v.ops = &partial;
    /* Without a net list the devices still load, with no netdevs. */
    assert_int_equal(vp_source_libvirt_load(h, &v, &err), 0);
    assert_int_equal(h->n_devices, 1);
    assert_null(h->devices[0]->netdevs);
    assert_int_equal(vp_source_ledger_load(h, &v, &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_string_equal(err.msg, "test:///fake: this connection cannot list domains");
    assert_int_equal(vp_source_libvirt_load(h, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_string_equal(err.msg, "libvirt source: no connection");
}

static const fake_domain host_domains[] = {
    {"vm-gpu", "1b0e8a2c-4e5f-4c2a-9d61-7b0c2d8a9e01", true, true,
     "domain/generated/vm-gpu-live.xml", NULL, "domain/generated/vm-gpu-config.xml", NULL},
    {"vm-off", "1b0e8a2c-4e5f-4c2a-9d61-7b0c2d8a9e02", false, true, "domain/generated/vm-off.xml",
     NULL, NULL, NULL},
    {"broken", NULL, true, false, NULL, "<domain><name>broken</name><devices><hostdev", NULL, NULL},
    {"ghost", NULL, false, true, NULL, NULL, NULL, "Domain not found: no domain with name 'ghost'"},
    /* Running and persistent, but libvirt gave no persistent XML; the live one still counts. */
    {"half", NULL, true, true, "domain/libvirt/net-hostdev.xml", NULL, NULL, NULL},
    /* Transient: running without a persistent definition; nothing missing. */
    {"transient", NULL, true, false, "domain/libvirt/hostdev-pci-address.xml", NULL, NULL, NULL},
    /* A second definition holding vm-off's VF: a conflict. */
    {"vm-copy", NULL, false, true, "domain/generated/vm-off.xml", NULL, NULL, NULL},
    {"", "00000000-0000-0000-0000-000000000001", false, true, "domain/generated/vm-off.xml", NULL,
     NULL, NULL},
    {"nodedev", NULL, false, true, "nodedev/generated/pci_0000_01_00_0.xml", NULL, NULL, NULL},
};

static void
assert_assignment(const vp_host *h, size_t i, const char *domain, const char *addr,
                  vp_use_kind kind, bool managed, bool live, bool config)
{
    char buf[VP_PCI_ADDR_STRLEN];
    const vp_assignment *a;

    assert_true(i < h->n_assignments);
    a = &h->assignments[i];
    assert_string_equal(a->domain, domain);
    assert_string_equal(vp_pci_addr_format(&a->addr, buf), addr);
    assert_int_equal(a->kind, kind);
    assert_int_equal(a->managed, managed);
    assert_int_equal(a->live, live);
    assert_int_equal(a->config, config);
}

static void
test_ledger(void **state)
{
    fake_host f = {.pci = host_pci,
                   .n_pci = VP_ARRAY_SIZE(host_pci),
                   .net = host_net,
                   .n_net = VP_ARRAY_SIZE(host_net),
                   .domains = host_domains,
                   .n_domains = VP_ARRAY_SIZE(host_domains)};
    vp_autoptr(vp_host) h = vp_host_new();
    vp_virt v;
    vp_error err = {0};
    const vp_domain *dom;
    vp_device *d;

    (void)state;
    open_fake(&v, &f);
    assert_int_equal(vp_source_libvirt_load(h, &v, &err), 0);
    assert_int_equal(h->n_problems, 7);
    assert_int_equal(vp_source_ledger_load(h, &v, &err), 0);
    assert_int_equal(f.calls_domains, 1);

    /* The unnamed domain is a problem and not a domain; every other one is recorded. */
    assert_int_equal(h->n_domains, 8);
    assert_problem(h, 7, "broken",
                   "live definition: malformed domain XML (line 1: Premature end of data in tag "
                   "devices line 1)");
    assert_problem(h, 8, "ghost",
                   "persistent definition: Domain not found: no domain with name 'ghost'");
    assert_problem(h, 9, "half", "persistent definition: libvirt returned no XML");
    assert_problem(h, 10, "00000000-0000-0000-0000-000000000001",
                   "libvirt listed a domain without a name");
    assert_problem(h, 11, "nodedev",
                   "persistent definition has root element <device>, expected <domain>");
    assert_int_equal(h->n_problems, 12);

    assert_int_equal(h->n_assignments, 8);
    assert_assignment(h, 0, "vm-gpu", "0000:01:10.2", VP_USE_INTERFACE, true, true, true);
    assert_assignment(h, 1, "vm-gpu", "0000:02:00.0", VP_USE_HOSTDEV, true, true, true);
    assert_assignment(h, 2, "vm-gpu", "0000:02:00.1", VP_USE_HOSTDEV, false, true, false);
    assert_assignment(h, 3, "vm-gpu", "0000:01:10.1", VP_USE_HOSTDEV, true, false, true);
    assert_assignment(h, 4, "vm-off", "0000:01:10.0", VP_USE_HOSTDEV, false, false, true);
    assert_assignment(h, 5, "half", "0000:03:07.1", VP_USE_INTERFACE, true, true, false);
    assert_assignment(h, 6, "transient", "0000:06:12.5", VP_USE_HOSTDEV, true, true, false);
    assert_assignment(h, 7, "vm-copy", "0000:01:10.0", VP_USE_HOSTDEV, false, false, true);

    vp_host_finalize(h);
    dom = vp_host_find_domain(h, "vm-gpu");
    assert_non_null(dom);
    assert_true(dom->running);
    assert_true(dom->persistent);
    assert_string_equal(dom->uuid, "1b0e8a2c-4e5f-4c2a-9d61-7b0c2d8a9e01");
    dom = vp_host_find_domain(h, "vm-off");
    assert_false(dom->running);
    dom = vp_host_find_domain(h, "transient");
    assert_false(dom->persistent);
    assert_null(dom->uuid);
    assert_non_null(vp_host_find_domain(h, "broken"));
    assert_null(vp_host_find_domain(h, ""));

    d = find(h, "02:00.0");
    assert_int_equal(vp_strv_len(d->owners), 1);
    assert_string_equal(d->owners[0], "vm-gpu");
    assert_true(d->owned_by_running);
    /* In the next-start definition only: owned, but not by the running guest. */
    d = find(h, "01:10.1");
    assert_string_equal(d->owners[0], "vm-gpu");
    assert_false(d->owned_by_running);
    d = find(h, "01:10.0");
    assert_int_equal(vp_strv_len(d->owners), 2);
    assert_string_equal(d->owners[0], "vm-copy");
    assert_string_equal(d->owners[1], "vm-off");
    assert_true(d->conflict);
    assert_false(d->owned_by_running);
    assert_int_equal(vp_host_find_group(h, 13)->verdict, VP_VERDICT_IN_USE);
    assert_int_equal(vp_host_find_group(h, 20)->verdict, VP_VERDICT_CONFLICT);
    assert_int_equal(vp_host_find_group(h, 21)->verdict, VP_VERDICT_READY);
    assert_int_equal(vp_host_find_group(h, 22)->verdict, VP_VERDICT_IN_USE);
    assert_null(find(h, "01:00.0")->owners);
}

/* A host with thousands of devices, each with a netdev: every one lands on its own device. */
static void
test_many_devices(void **state)
{
    enum { N = 4000 };
    fake_item *pci = vp_malloc0(N * sizeof(*pci));
    fake_item *net = vp_malloc0(N * sizeof(*net));
    char **texts = vp_malloc0(4 * N * sizeof(*texts));
    fake_host f = {0};
    vp_autoptr(vp_host) h = vp_host_new();
    vp_virt v;
    vp_error err = {0};

    (void)state;
    for (unsigned i = 0; i < N; i++) {
        /* Listed in reverse, domain i / 256, bus i % 256: all distinct. */
        unsigned k = N - 1 - i, dom = k / 256, bus = k % 256;

        texts[4 * i] = vp_asprintf("pci_%04x_%02x_00_0", dom, bus);
        texts[4 * i + 1] =
            vp_asprintf("<device><name>%s</name><parent>computer</parent><capability type='pci'>"
                        "<domain>%u</domain><bus>%u</bus><slot>0</slot><function>0</function>"
                        "<product id='0x10c9'/><vendor id='0x8086'/><iommuGroup number='%u'/>"
                        "</capability></device>",
                        texts[4 * i], dom, bus, k);
        texts[4 * i + 2] = vp_asprintf("net_eth%u_00_00_00_00_00_00", k);
        texts[4 * i + 3] =
            vp_asprintf("<device><name>%s</name><parent>%s</parent><capability type='net'>"
                        "<interface>eth%u</interface></capability></device>",
                        texts[4 * i + 2], texts[4 * i], k);
        pci[i] = (fake_item){texts[4 * i], NULL, texts[4 * i + 1], NULL};
        net[i] = (fake_item){texts[4 * i + 2], NULL, texts[4 * i + 3], NULL};
    }
    f.pci = pci;
    f.n_pci = N;
    f.net = net;
    f.n_net = N;
    open_fake(&v, &f);
    assert_int_equal(vp_source_libvirt_load(h, &v, &err), 0);
    vp_host_finalize(h);
    assert_int_equal(h->n_problems, 0);
    assert_int_equal(h->n_devices, N);
    assert_int_equal(h->n_groups, N);
    for (unsigned k = 0; k < N; k++) {
        char ifname[32];
        const vp_device *d;

        snprintf(ifname, sizeof(ifname), "eth%u", k);
        d = vp_host_find_netdev(h, ifname);
        assert_non_null(d);
        assert_int_equal(d->addr.domain, k / 256);
        assert_int_equal(d->addr.bus, k % 256);
        assert_int_equal(d->group, k);
        assert_int_equal(vp_strv_len(d->netdevs), 1);
    }
    for (unsigned i = 0; i < 4 * N; i++)
        free(texts[i]);
    free(texts);
    free(pci);
    free(net);
}

/* ---------------------------------------------------------------- a part of the host */

/* The generated host without broken entries: what a whole load and a part must agree on. */
static const fake_item clean_pci[] = {
    GEN("0000_02_00_1"), GEN("0000_01_10_2"), GEN("0000_00_00_0"),
    GEN("0000_01_00_1"), GEN("0000_01_10_0"), GEN("0000_01_00_0"),
    GEN("0000_00_1c_0"), GEN("0000_02_00_0"), GEN("0000_01_10_1"),
};

static const fake_domain clean_domains[] = {
    {"vm-gpu", "1b0e8a2c-4e5f-4c2a-9d61-7b0c2d8a9e01", true, true,
     "domain/generated/vm-gpu-live.xml", NULL, "domain/generated/vm-gpu-config.xml", NULL},
    {"vm-off", "1b0e8a2c-4e5f-4c2a-9d61-7b0c2d8a9e02", false, true, "domain/generated/vm-off.xml",
     NULL, NULL, NULL},
    {"vm-copy", NULL, false, true, "domain/generated/vm-off.xml", NULL, NULL, NULL},
};

/* Every finding of `vpass check` for the selection (GROUP, SELECTORS, DOMAIN) on H, one line
 * each (allocated): what a part of the host must reproduce. */
static char *
survey(const vp_host *h, const char *group, char *const *selectors, const char *domain)
{
    vp_check_target t = {0};
    vp_autofree vp_device **devs = vp_malloc0((vp_strv_len(selectors) + 1) * sizeof(*devs));
    vp_autostrv char **lines = NULL;
    vp_findings f = {0};
    vp_error err = {0};
    char *text;

    if (group)
        assert_int_equal(vp_host_resolve_group(h, group, &t.group, &err), 0);
    for (size_t i = 0; selectors && selectors[i]; i++)
        assert_int_equal(vp_host_resolve_device(h, selectors[i], &devs[t.n_devices++], &err), 0);
    t.devices = devs;
    if (domain)
        assert_non_null(t.domain = vp_host_find_domain(h, domain));
    vp_check_run(h, &t, &f);
    for (size_t i = 0; i < f.n; i++)
        vp_strv_push_take(&lines,
                          vp_asprintf("%s %s %s: %s (fix: %s)", f.items[i].code,
                                      vp_severity_name(f.items[i].severity), f.items[i].subject,
                                      f.items[i].message, f.items[i].fix ? f.items[i].fix : "-"));
    vp_findings_clear(&f);
    text = vp_strv_join(lines, "\n", "");
    return text;
}

/* Load the part P of the fake host as inventory.c does (ledger first, then the devices) and
 * return the finalized host; *RET_FETCHED counts the node-device documents fetched. */
static vp_host *
load_part(fake_host *f, const vp_libvirt_part *p, unsigned *ret_fetched)
{
    vp_host *h = vp_host_new();
    vp_virt v;
    vp_error err = {0};

    f->fetched_pci = f->fetched_net = 0;
    open_fake(&v, f);
    assert_int_equal(vp_source_ledger_load(h, &v, &err), 0);
    assert_int_equal(vp_source_libvirt_load_part(h, &v, p, &err), 0);
    vp_host_finalize(h);
    *ret_fetched = f->fetched_pci + f->fetched_net;
    return h;
}

/* A part of the host (the selection's groups, the domain's devices, the ledger) gives the
 * same findings as the whole host, from fewer documents. */
static void
test_load_part(void **state)
{
    fake_host f = {.pci = clean_pci,
                   .n_pci = VP_ARRAY_SIZE(clean_pci),
                   .net = host_net,
                   .n_net = VP_ARRAY_SIZE(host_net),
                   .domains = clean_domains,
                   .n_domains = VP_ARRAY_SIZE(clean_domains)};
    vp_autoptr(vp_host) full = vp_host_new();
    vp_virt v;
    vp_error err = {0};
    unsigned all;
    static const struct {
        const char *group;      /* as --group gives it */
        const char *members[3]; /* what sysfs would list for the group */
        const char *select[3];  /* --device / --pf selectors */
        const char *domain;
        bool all_functions, vfs;
        unsigned pci_fetched; /* node-device documents of the part */
    } cases[] = {
        /* One port of the PF pair into vm-gpu: the pair's group, vm-gpu's four functions and
         * their groups (GPU + audio), nothing else. */
        {NULL, {NULL}, {"0000:01:00.1"}, "vm-gpu", false, false, 6},
        /* The GPU's group by number, its members as sysfs lists them. */
        {"13", {"0000:02:00.0", "0000:02:00.1"}, {NULL}, "vm-off", false, false, 3},
        /* By interface name (eth2 is on 01:00.1), no domain. */
        {NULL, {NULL}, {"eth2"}, NULL, false, false, 2},
        /* --pf: the PF, its group, its VFs (each its own group). */
        {NULL, {NULL}, {"0000:01:00.0"}, "vm-off", false, true, 4},
        /* --all-functions: the audio function comes with the VGA one. */
        {NULL, {NULL}, {"02:00.0"}, NULL, true, false, 2},
    };

    (void)state;
    open_fake(&v, &f);
    assert_int_equal(vp_source_libvirt_load(full, &v, &err), 0);
    assert_int_equal(vp_source_ledger_load(full, &v, &err), 0);
    vp_host_finalize(full);
    all = f.fetched_pci;
    assert_int_equal(all, VP_ARRAY_SIZE(clean_pci));

    for (size_t c = 0; c < VP_ARRAY_SIZE(cases); c++) {
        vp_autoptr(vp_host) part = NULL;
        vp_autostrv char **select = NULL;
        vp_autofree vp_pci_addr *also = vp_malloc0(4 * sizeof(*also));
        vp_autofree char *want = NULL;
        vp_autofree char *got = NULL;
        vp_libvirt_part p = {0};
        unsigned fetched;

        for (size_t i = 0; cases[c].select[i]; i++)
            vp_strv_push(&select, cases[c].select[i]);
        for (size_t i = 0; cases[c].members[i]; i++)
            assert_int_equal(vp_pci_addr_parse(cases[c].members[i], &also[p.n_also++], NULL), 0);
        /* The domain's devices, as inventory.c adds them from the ledger. */
        for (size_t i = 0; cases[c].domain && i < full->n_assignments; i++)
            if (strcmp(full->assignments[i].domain, cases[c].domain) == 0) {
                also = vp_realloc_array(also, p.n_also + 1, sizeof(*also));
                also[p.n_also++] = full->assignments[i].addr;
            }
        p.select = select;
        p.also = also;
        p.all_functions = cases[c].all_functions;
        p.vfs = cases[c].vfs;
        part = load_part(&f, &p, &fetched);
        print_message("case %zu: %u node-device documents (the whole host: %u PCI + %zu net)\n", c,
                      f.fetched_pci, all, VP_ARRAY_SIZE(host_net));
        assert_int_equal(f.fetched_pci, cases[c].pci_fetched);
        assert_true(f.fetched_pci < all);
        /* The test driver names no drivers: every net device is read for the interfaces. */
        assert_int_equal(f.fetched_net, VP_ARRAY_SIZE(host_net));
        assert_int_equal(part->n_domains, full->n_domains);
        assert_int_equal(part->n_assignments, full->n_assignments);

        want = survey(full, cases[c].group, select, cases[c].domain);
        got = survey(part, cases[c].group, select, cases[c].domain);
        assert_true(strlen(want) > 0);
        assert_string_equal(got, want);
    }
}

/* A device XML document with a driver, for the net-device economy below. */
static char *
driver_device(unsigned bus, const char *driver)
{
    return vp_asprintf("<device><name>pci_0000_%02x_00_0</name><parent>computer</parent>"
                       "%s%s%s<capability type='pci'><domain>0</domain><bus>%u</bus>"
                       "<slot>0</slot><function>0</function><product id='0x10ca'/>"
                       "<vendor id='0x8086'/><iommuGroup number='%u'><address domain='0x0000' "
                       "bus='0x%02x' slot='0x00' function='0x0'/></iommuGroup></capability>"
                       "</device>",
                       bus, driver ? "<driver><name>" : "", driver ? driver : "",
                       driver ? "</name></driver>" : "", bus, bus, bus);
}

/* On a connection that reports drivers, a part whose functions are all on vfio-pci or unbound
 * reads no net device; one on a host driver reads them all (libvirt lists no interfaces by
 * parent); a sysfs tree describing the host gives them without any. */
static void
test_load_part_netdevs(void **state)
{
    vp_autofree char *x1 = driver_device(1, "vfio-pci");
    vp_autofree char *x2 = driver_device(2, NULL);
    vp_autofree char *x3 = driver_device(3, "igbvf");
    fake_item pci[] = {{"pci_0000_01_00_0", NULL, x1, NULL},
                       {"pci_0000_02_00_0", NULL, x2, NULL},
                       {"pci_0000_03_00_0", NULL, x3, NULL}};
    fake_item net[] = {{"net_eth3_00_00_00_00_00_03", NULL,
                        "<device><name>net_eth3_00_00_00_00_00_03</name><parent>pci_0000_03_00_0"
                        "</parent><capability type='net'><interface>eth3</interface></capability>"
                        "</device>",
                        NULL}};
    fake_host f = {.pci = pci, .n_pci = 3, .net = net, .n_net = 1};
    char *sel_12[] = {(char *)"01:00.0", (char *)"02:00.0", NULL};
    char *sel_3[] = {(char *)"03:00.0", NULL};
    char *sel_eth3[] = {(char *)"eth3", NULL};
    vp_virt v;
    vp_error err = {0};

    (void)state;
    open_fake(&v, &f);
    v.uri = (char *)"qemu+ssh://host/system";
    v.reports_drivers = true;
    {
        vp_autoptr(vp_host) h = vp_host_new();
        vp_libvirt_part p = {.select = sel_12};

        assert_int_equal(vp_source_libvirt_load_part(h, &v, &p, &err), 0);
        assert_int_equal(h->n_devices, 2);
        assert_int_equal(f.calls_net, 0);
        assert_int_equal(f.fetched_pci, 2);
    }
    {
        vp_autoptr(vp_host) h = vp_host_new();
        vp_libvirt_part p = {.select = sel_3};

        assert_int_equal(vp_source_libvirt_load_part(h, &v, &p, &err), 0);
        assert_int_equal(f.calls_net, 1);
        vp_host_finalize(h);
        assert_string_equal(vp_host_find_netdev(h, "eth3")->addr_str, "0000:03:00.0");
    }
    {
        vp_autoptr(vp_host) h = vp_host_new();
        vp_libvirt_part p = {.select = sel_eth3};

        /* By interface: the net devices find it, once. */
        f.calls_net = 0;
        f.fetched_pci = 0;
        assert_int_equal(vp_source_libvirt_load_part(h, &v, &p, &err), 0);
        assert_int_equal(f.calls_net, 1);
        assert_int_equal(f.fetched_pci, 1);
        vp_host_finalize(h);
        assert_string_equal(vp_host_find_netdev(h, "eth3")->addr_str, "0000:03:00.0");
    }
    {
        vp_autoptr(vp_host) h = vp_host_new();
        vp_libvirt_part p = {.select = sel_3, .root = VP_TEST_FIXTURES "/sysfs/sriov-host"};

        /* The sysfs tree answers for the interfaces: no net device is read. */
        f.calls_net = 0;
        assert_int_equal(vp_source_libvirt_load_part(h, &v, &p, &err), 0);
        assert_int_equal(f.calls_net, 0);
    }
}

#define LAB_ROOT VP_TEST_BUILD_DIR "/lab/root"

/* On the host itself, a part loaded from libvirt is completed from sysfs (the checks look at
 * the selection's neighbours: INTx lines, bus resets, ACS upstream, the number of groups):
 * the same findings as the whole host. Here the part stands in for libvirt's devices. */
static void
test_enrich_completes_part(void **state)
{
    static const char *const selections[][3] = {
        {"26", NULL, NULL},
        {NULL, "0000:18:00.1", NULL},
        {NULL, "eno1", NULL},
        {NULL, "0000:00:1f.2", "0000:00:1a.0"},
    };
    vp_autoptr(vp_host) full = vp_host_new();
    vp_error err = {0};

    (void)state;
    assert_int_equal(vp_source_sysfs_load(full, LAB_ROOT, &err), 0);
    assert_int_equal(vp_source_host_facts_load(full, LAB_ROOT, &err), 0);
    vp_host_finalize(full);

    for (size_t c = 0; c < VP_ARRAY_SIZE(selections); c++) {
        vp_autoptr(vp_host) part = vp_host_new();
        vp_autostrv char **select = NULL;
        vp_autofree vp_pci_addr *only = NULL;
        vp_autofree char *want = NULL;
        vp_autofree char *got = NULL;
        vp_sysfs_opts o = {.no_names = false};
        size_t n_only = 0;

        for (size_t i = 1; i < 3 && selections[c][i]; i++)
            vp_strv_push(&select, selections[c][i]);
        /* The part: the selection's groups' functions, as vp_source_libvirt_load_part reads
         * them (here from sysfs, without facts: libvirt has none). */
        only = vp_malloc0(full->n_devices * sizeof(*only));
        for (size_t i = 0; i < full->n_devices; i++) {
            const vp_device *d = full->devices[i];
            bool in =
                selections[c][0] && d->has_group && d->group == (unsigned)atoi(selections[c][0]);

            for (size_t k = 0; select && select[k]; k++) {
                vp_device *s;

                assert_int_equal(vp_host_resolve_device(full, select[k], &s, &err), 0);
                in |= s->has_group && d->has_group && s->group == d->group;
            }
            if (in)
                only[n_only++] = d->addr;
        }
        o.only = only;
        o.n_only = n_only;
        assert_int_equal(vp_source_sysfs_load_opts(part, LAB_ROOT, &o, &err), 0);
        assert_int_equal(part->n_devices, n_only);
        for (size_t i = 0; i < part->n_devices; i++) {
            vp_pci_facts_free(part->devices[i]->facts);
            part->devices[i]->facts = NULL;
        }
        vp_source_sysfs_enrich(part, LAB_ROOT, true);
        assert_int_equal(vp_source_host_facts_load(part, LAB_ROOT, &err), 0);
        vp_host_finalize(part);
        assert_int_equal(part->n_devices, full->n_devices);
        assert_int_equal(part->n_groups, full->n_groups);
        for (size_t i = 0; i < part->n_devices; i++)
            assert_non_null(part->devices[i]->facts);

        want = survey(full, selections[c][0], select, NULL);
        got = survey(part, selections[c][0], select, NULL);
        assert_true(strlen(want) > 0);
        assert_string_equal(got, want);
    }
}

/* Which URIs describe this machine (source auto reads its sysfs), and which open without
 * libvirt forking in this process (the devices are then read while the connection opens). */
static void
test_uri_kinds(void **state)
{
    static const struct {
        const char *uri;
        bool this_machine, no_fork;
    } cases[] = {
        {"qemu:///system", true, true},
        {"qemu+unix:///system?socket=/run/x", true, true},
        {"qemu:///session", true, false},
        {"qemu:///embed?root=/tmp/e", true, false},
        {"qemu+ssh://root@host/system", false, false},
        {"qemu+ext:///system?command=/bin/x", true, false},
        {"qemu+tls://host/system", false, true},
        {"qemu+libssh://host/system", false, true},
        {"qemu://localhost/system", true, true},
        {"test:///default", false, true},
        {"test+unix:///tmp/host.xml?socket=/tmp/s", false, true},
        {"lxc:///system", true, true},
    };

    (void)state;
    for (size_t i = 0; i < VP_ARRAY_SIZE(cases); i++) {
        if (vp_virt_uri_is_this_machine(cases[i].uri) != cases[i].this_machine)
            fail_msg("%s: this machine should be %d", cases[i].uri, cases[i].this_machine);
        if (vp_virt_uri_opens_without_fork(cases[i].uri) != cases[i].no_fork)
            fail_msg("%s: opens without fork should be %d", cases[i].uri, cases[i].no_fork);
    }
    /* libvirt's default URI is not known before connecting. */
    assert_false(vp_virt_uri_is_this_machine(NULL));
    assert_false(vp_virt_uri_opens_without_fork(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_devices),      cmocka_unit_test(test_list_failures),
        cmocka_unit_test(test_missing_ops),       cmocka_unit_test(test_ledger),
        cmocka_unit_test(test_many_devices),      cmocka_unit_test(test_load_part),
        cmocka_unit_test(test_load_part_netdevs), cmocka_unit_test(test_enrich_completes_part),
        cmocka_unit_test(test_uri_kinds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
