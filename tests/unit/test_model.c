/* Unit tests for src/model: PCI addresses, host finalize, groups, verdicts, resolution. */
#include "vp_test.h"

#include <string.h>

#include "model/host.h"
#include "util/str.h"

static void
test_addr_forms(void **state)
{
    vp_pci_addr a;
    vp_error err = {0};
    char buf[VP_PCI_ADDR_STRLEN];

    (void)state;
    assert_int_equal(vp_pci_addr_parse("0000:18:00.1", &a, &err), 0);
    assert_string_equal(vp_pci_addr_format(&a, buf), "0000:18:00.1");
    assert_int_equal(vp_pci_addr_parse("18:00.1", &a, &err), 0);
    assert_string_equal(vp_pci_addr_format(&a, buf), "0000:18:00.1");
    assert_int_equal(vp_pci_addr_parse("pci_0000_18_00_1", &a, &err), 0);
    assert_string_equal(vp_pci_addr_format(&a, buf), "0000:18:00.1");
    assert_int_equal(vp_pci_addr_parse("0001:AF:1f.7", &a, &err), 0);
    assert_string_equal(vp_pci_addr_format(&a, buf), "0001:af:1f.7");
    {
        vp_autofree char *n = vp_pci_addr_nodedev_name(&a);
        assert_string_equal(n, "pci_0001_af_1f_7");
    }
}

static void
test_addr_bad(void **state)
{
    static const char *const bad[] = {
        "",         "18:00",          "18:20.0" /* slot 0x20 */, "18:00.8", "0000:18:00.0.1",
        "x8:00.0",  "pci_0000_18_00", "pci_0_18_00_0",           "eno1",    "0000:180:00.0",
        "18:00.0 ", "-1:00.0",
    };
    vp_pci_addr a;
    vp_error err = {0};

    (void)state;
    for (size_t i = 0; i < VP_ARRAY_SIZE(bad); i++) {
        assert_int_equal(vp_pci_addr_parse(bad[i], &a, &err), -1);
        assert_int_equal(err.code, VP_E_USAGE);
        assert_non_null(strstr(err.msg, "not a PCI address"));
        assert_false(vp_pci_addr_looks_like(bad[i]));
    }
}

static vp_device *
add_dev(vp_host *h, const char *addr, unsigned group, const char *driver, bool bridge)
{
    vp_device *d = vp_host_add_device(h);

    assert_int_equal(vp_pci_addr_parse(addr, &d->addr, NULL), 0);
    d->has_group = true;
    d->group = group;
    d->driver = vp_strdup(driver);
    d->is_bridge = bridge;
    return d;
}

static void
test_groups_and_verdicts(void **state)
{
    vp_autoptr(vp_host) h = vp_host_new();
    vp_pci_addr a;
    const vp_group *g;
    vp_device *d;
    vp_error err = {0};

    (void)state;
    /* Added out of order on purpose: finalize sorts. */
    add_dev(h, "0000:18:00.1", 26, "tg3", false);
    d = add_dev(h, "0000:18:00.0", 26, "tg3", false);
    vp_strv_push(&d->netdevs, "eno3");
    add_dev(h, "0000:41:00.0", 40, "vfio-pci", false);
    add_dev(h, "0000:41:00.1", 40, NULL, false);
    add_dev(h, "0000:06:00.0", 12, "pcieport", true); /* bridge: does not spoil */
    add_dev(h, "0000:07:00.0", 12, "vfio-pci", false);
    add_dev(h, "0000:07:01.0", 12, "e1000", false);
    add_dev(h, "0000:5e:00.0", 50, NULL, false);
    add_dev(h, "0000:3b:02.0", 60, NULL, false);
    vp_host_add_domain(h, "vm1", NULL, true, true);
    vp_host_add_domain(h, "vm3", NULL, false, true);
    vp_host_add_domain(h, "vm4", NULL, false, true);
    assert_int_equal(vp_pci_addr_parse("0000:5e:00.0", &a, NULL), 0);
    vp_host_add_assignment(h, "vm1", &a, VP_USE_HOSTDEV, true, true, false);
    vp_host_add_assignment(h, "vm1", &a, VP_USE_HOSTDEV, true, false, true); /* merged */
    assert_int_equal(vp_pci_addr_parse("0000:3b:02.0", &a, NULL), 0);
    vp_host_add_assignment(h, "vm3", &a, VP_USE_INTERFACE, true, true, true);
    vp_host_add_assignment(h, "vm4", &a, VP_USE_INTERFACE, true, true, true);
    vp_host_finalize(h);

    assert_int_equal(h->n_devices, 9);
    assert_string_equal(h->devices[0]->addr_str, "0000:06:00.0");
    assert_string_equal(h->devices[0]->nodedev_name, "pci_0000_06_00_0");
    assert_int_equal(h->n_assignments, 3);
    assert_true(h->iommu_present);

    g = vp_host_find_group(h, 26);
    assert_non_null(g);
    assert_int_equal(g->n_members, 2);
    assert_string_equal(h->devices[g->members[0]]->addr_str, "0000:18:00.0");
    assert_int_equal(g->verdict, VP_VERDICT_HOST);
    assert_string_equal(vp_verdict_name(g->verdict), "host");
    assert_int_equal(vp_host_find_group(h, 40)->verdict, VP_VERDICT_READY);
    assert_int_equal(vp_host_find_group(h, 12)->verdict, VP_VERDICT_MIXED);
    assert_int_equal(vp_host_find_group(h, 50)->verdict, VP_VERDICT_IN_USE);
    assert_int_equal(vp_host_find_group(h, 60)->verdict, VP_VERDICT_CONFLICT);
    assert_null(vp_host_find_group(h, 27));

    d = vp_host_find_netdev(h, "eno3");
    assert_non_null(d);
    assert_string_equal(d->addr_str, "0000:18:00.0");
    assert_int_equal(vp_host_resolve_device(h, "eno3", &d, &err), 0);
    assert_int_equal(vp_host_resolve_device(h, "pci_0000_41_00_1", &d, &err), 0);
    assert_string_equal(d->addr_str, "0000:41:00.1");
    assert_int_equal(vp_host_resolve_device(h, "5e:00.0", &d, &err), 0);
    assert_string_equal(d->owners[0], "vm1");
    assert_true(d->owned_by_running);

    assert_int_equal(vp_host_resolve_device(h, "19:00.0", &d, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_string_equal(err.msg, "0000:19:00.0: no such PCI device on this host");
    assert_int_equal(vp_host_resolve_device(h, "eth9", &d, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_int_equal(vp_host_resolve_device(h, "18:00.9", &d, &err), -1);
    assert_int_equal(err.code, VP_E_USAGE);
    assert_int_equal(vp_host_resolve_group(h, "26", &g, &err), 0);
    assert_int_equal(g->number, 26);
    assert_int_equal(vp_host_resolve_group(h, "26x", &g, &err), -1);
    assert_int_equal(err.code, VP_E_USAGE);
    assert_int_equal(vp_host_resolve_group(h, "99", &g, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
}

static void
test_duplicate_device_is_problem(void **state)
{
    vp_autoptr(vp_host) h = vp_host_new();
    vp_error err = {0};
    const vp_group *g;

    (void)state;
    add_dev(h, "0000:18:00.0", 26, "tg3", false);
    add_dev(h, "0000:18:00.0", 26, "tg3", false);
    vp_host_finalize(h);
    assert_int_equal(h->n_devices, 1);
    assert_int_equal(h->n_problems, 1);
    assert_string_equal(h->problems[0].what, "0000:18:00.0");
    assert_int_equal(vp_host_resolve_group(h, "26", &g, &err), 0);
    assert_int_equal(g->n_members, 1);
}

static void
test_no_iommu(void **state)
{
    vp_autoptr(vp_host) h = vp_host_new();
    vp_device *d = vp_host_add_device(h);
    const vp_group *g;
    vp_error err = {0};

    (void)state;
    vp_pci_addr_parse("00:03.0", &d->addr, NULL);
    vp_host_finalize(h);
    assert_false(h->iommu_present);
    assert_int_equal(h->n_groups, 0);
    assert_int_equal(vp_host_resolve_group(h, "3", &g, &err), -1);
    assert_non_null(strstr(err.msg, "is the IOMMU enabled?"));
}

static void
test_group_regions(void **state)
{
    vp_autoptr(vp_host) h = vp_host_new();
    const vp_group *g;

    (void)state;
    add_dev(h, "0000:00:14.0", 5, "xhci_hcd", false);
    add_dev(h, "0000:00:02.0", 1, "i915", false);
    add_dev(h, "0000:18:00.0", 26, "tg3", false);
    vp_host_mark_group_regions_read(h, 5);
    vp_host_add_group_region(h, 5, 0xfee00000, 0xfeefffff, "msi");
    vp_host_add_group_region(h, 5, 0x7b800000, 0x7fffffff, "direct");
    vp_host_mark_group_regions_read(h, 1);
    vp_host_add_group_region(h, 99, 0, 0xfff, "direct"); /* no such group: dropped */
    vp_host_finalize(h);

    g = vp_host_find_group(h, 5);
    assert_true(g->regions_read);
    assert_int_equal(g->n_regions, 2);
    assert_string_equal(g->regions[1].type, "direct");
    assert_int_equal(g->regions[1].start, 0x7b800000);
    g = vp_host_find_group(h, 1);
    assert_true(g->regions_read);
    assert_int_equal(g->n_regions, 0);
    g = vp_host_find_group(h, 26);
    assert_false(g->regions_read);
}

static void
test_machine_q35(void **state)
{
    (void)state;
    assert_true(vp_machine_is_q35("q35"));
    assert_true(vp_machine_is_q35("pc-q35-7.2"));
    assert_false(vp_machine_is_q35("pc-i440fx-7.2"));
    assert_false(vp_machine_is_q35("pc"));
    assert_false(vp_machine_is_q35(NULL));
}

static void
test_class_names(void **state)
{
    (void)state;
    assert_string_equal(vp_class_short_name(0x020000), "net");
    assert_string_equal(vp_class_short_name(0x010802), "storage");
    assert_string_equal(vp_class_short_name(0x030000), "display");
    assert_string_equal(vp_class_short_name(0x060400), "bridge");
    assert_string_equal(vp_class_short_name(0xff0000), "other");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_forms),
        cmocka_unit_test(test_addr_bad),
        cmocka_unit_test(test_groups_and_verdicts),
        cmocka_unit_test(test_duplicate_device_is_problem),
        cmocka_unit_test(test_no_iommu),
        cmocka_unit_test(test_group_regions),
        cmocka_unit_test(test_machine_q35),
        cmocka_unit_test(test_class_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
