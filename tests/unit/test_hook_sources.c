/* Unit tests for the narrow reads the hook asks of src/source: vp_source_sysfs_load_opts (just
 * some functions, no pci.ids names) and vp_source_host_facts_load_opts (just some interfaces
 * and the bridges above them) give what the full reads give for those, on the lab (read-only). */
#include "vp_test.h"

#include <string.h>

#include "check/check.h"
#include "source/source.h"
#include "util/str.h"

#define LAB_ROOT VP_TEST_BUILD_DIR "/lab/root"

static vp_pci_addr
A(const char *s)
{
    vp_pci_addr a;

    assert_int_equal(vp_pci_addr_parse(s, &a, NULL), 0);
    return a;
}

static vp_host *
load(const vp_sysfs_opts *o)
{
    vp_host *h = vp_host_new();
    vp_error err = {0};

    assert_int_equal(vp_source_sysfs_load_opts(h, LAB_ROOT, o, &err), 0);
    vp_host_finalize(h);
    return h;
}

static void
test_sysfs_only(void **state)
{
    vp_pci_addr only[] = {A("0000:41:00.1"), A("0000:18:00.0"), A("0000:41:00.0"),
                          A("0000:18:00.0"), A("0000:04:00.0")};
    vp_sysfs_opts o = {.only = only, .n_only = VP_ARRAY_SIZE(only), .no_names = true};
    vp_autoptr(vp_host) full = load(NULL);
    vp_autoptr(vp_host) some = load(&o);
    static const char *const want[] = {"0000:04:00.0", "0000:18:00.0", "0000:41:00.0",
                                       "0000:41:00.1"};

    (void)state;
    assert_int_equal(some->n_devices, VP_ARRAY_SIZE(want));
    assert_int_equal(some->n_problems, 0);
    for (size_t i = 0; i < some->n_devices; i++) {
        const vp_device *d = some->devices[i];
        const vp_device *f = vp_host_find_device(full, &d->addr);

        assert_string_equal(d->addr_str, want[i]);
        assert_non_null(f);
        assert_null(d->vendor_name);
        assert_null(d->product_name);
        assert_int_equal(d->vendor_id, f->vendor_id);
        assert_int_equal(d->class_code, f->class_code);
        assert_true(vp_streq(d->driver, f->driver));
        assert_int_equal(d->group, f->group);
        assert_int_equal(d->is_bridge, f->is_bridge);
        assert_int_equal(vp_strv_len(d->netdevs), vp_strv_len(f->netdevs));
        assert_non_null(d->facts);
        assert_int_equal(d->facts->config_len, f->facts->config_len);
    }
    /* Reserved regions: read for the groups of those functions only (18: the SAS2008's RMRR). */
    assert_true(vp_host_find_group(some, 18)->regions_read);
    assert_int_equal(vp_host_find_group(some, 18)->n_regions,
                     vp_host_find_group(full, 18)->n_regions);
    assert_null(vp_host_find_group(some, 12)); /* a USB group, not asked for */
    assert_true(vp_host_find_group(full, 12)->regions_read);
}

static void
test_sysfs_only_missing(void **state)
{
    vp_pci_addr only[] = {A("0000:99:00.0")};
    vp_sysfs_opts o = {.only = only, .n_only = 1};
    vp_autoptr(vp_host) h = vp_host_new();
    vp_error err = {0};

    (void)state;
    assert_int_equal(vp_source_sysfs_load_opts(h, LAB_ROOT, &o, &err), 0);
    assert_int_equal(h->n_devices, 0);
    assert_int_equal(h->n_problems, 1);
    assert_int_equal(vp_source_sysfs_load_opts(h, "/nonexistent-vpass-root", &o, &err), -1);
}

/* Only eno1 asked for: its bridge br0 comes along, and the check sees the default route. */
static void
test_facts_only_netdevs(void **state)
{
    vp_pci_addr only[] = {A("0000:01:00.0")};
    vp_sysfs_opts o = {.only = only, .n_only = 1, .no_names = true};
    char *ifs[] = {(char *)"eno1", NULL};
    vp_host_facts_opts fo = {.only_netdevs = ifs};
    vp_autoptr(vp_host) h = load(&o);
    vp_device *nic = h->devices[0];
    vp_check_target t = {.devices = &nic, .n_devices = 1};
    vp_findings f = {0};
    vp_error err = {0};
    const vp_netif *eno1 = NULL, *br0 = NULL;

    (void)state;
    assert_int_equal(vp_source_host_facts_load_opts(h, LAB_ROOT, &fo, &err), 0);
    for (size_t i = 0; i < h->facts.n_netifs; i++) {
        if (strcmp(h->facts.netifs[i].name, "eno1") == 0)
            eno1 = &h->facts.netifs[i];
        if (strcmp(h->facts.netifs[i].name, "br0") == 0)
            br0 = &h->facts.netifs[i];
        /* No other interface had its master read. */
        if (strcmp(h->facts.netifs[i].name, "eno1") != 0)
            assert_null(h->facts.netifs[i].master);
    }
    assert_non_null(eno1);
    assert_non_null(br0);
    assert_string_equal(eno1->master, "br0");
    assert_true(br0->default_route);
    vp_check_run(h, &t, &f);
    assert_non_null(vp_findings_find(&f, "host-critical-netdev", "0000:01:00.0"));
    vp_findings_clear(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sysfs_only),
        cmocka_unit_test(test_sysfs_only_missing),
        cmocka_unit_test(test_facts_only_netdevs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
