/* Unit tests for src/source/domxml.c: domain XML -> ledger assignments and problems. */
#include "vp_test.h"

#include <stdio.h>
#include <string.h>

#include "source/source.h"
#include "util/fs.h"
#include "util/str.h"

static char *
fixture(const char *rel)
{
    vp_autofree char *path = vp_path_join(VP_TEST_FIXTURES, rel);
    char *buf = NULL;

    assert_int_equal(vp_read_file(path, 1 << 20, &buf, NULL), 0);
    return buf;
}

/* Add fixture REL as DOMAIN's XML; must succeed. */
static void
add_ok(vp_host *h, const char *domain, const char *rel, bool live, bool config)
{
    vp_autofree char *xml = fixture(rel);
    vp_error err = {0};

    if (vp_domxml_add_assignments(h, domain, xml, live, config, &err) < 0)
        fail_msg("%s: %s", rel, err.msg);
}

/* Assignment I is ADDR of DOMAIN with these flags. */
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
test_libvirt_hostdevs(void **state)
{
    vp_autoptr(vp_host) h = vp_host_new();

    (void)state;
    add_ok(h, "QEMUGuest2", "domain/libvirt/hostdev-pci-address.xml", true, false);
    assert_int_equal(h->n_assignments, 1);
    assert_assignment(h, 0, "QEMUGuest2", "0000:06:12.5", VP_USE_HOSTDEV, true, true, false);

    /* Decimal bus/slot/function next to a hex domain, as libvirt's own test writes them. */
    add_ok(h, "multidomain", "domain/libvirt/hostdev-vfio-multidomain.xml", false, true);
    assert_int_equal(h->n_assignments, 2);
    assert_assignment(h, 1, "multidomain", "0021:de:1f.1", VP_USE_HOSTDEV, true, false, true);

    /* Seven functions, kept in document order. */
    add_ok(h, "delete", "domain/libvirt/hostdev-pci-multifunction.xml", true, false);
    assert_int_equal(h->n_assignments, 9);
    assert_assignment(h, 2, "delete", "0005:90:01.0", VP_USE_HOSTDEV, true, true, false);
    assert_assignment(h, 3, "delete", "0001:01:00.1", VP_USE_HOSTDEV, true, true, false);
    assert_assignment(h, 8, "delete", "0000:06:12.2", VP_USE_HOSTDEV, true, true, false);
    assert_int_equal(h->n_problems, 0);
}

static void
test_libvirt_interfaces(void **state)
{
    vp_autoptr(vp_host) h = vp_host_new();

    (void)state;
    add_ok(h, "QEMUGuest1", "domain/libvirt/net-hostdev.xml", true, false);
    add_ok(h, "multi", "domain/libvirt/net-hostdev-vfio-multidomain.xml", true, true);
    assert_int_equal(h->n_assignments, 2);
    assert_assignment(h, 0, "QEMUGuest1", "0000:03:07.1", VP_USE_INTERFACE, true, true, false);
    assert_assignment(h, 1, "multi", "0021:de:1f.1", VP_USE_INTERFACE, true, true, true);
    assert_int_equal(h->n_problems, 0);
}

/* USB, SCSI and mdev hostdevs, and guest-side PCI addresses of other devices, hold nothing. */
static void
test_ignored(void **state)
{
    static const char *const files[] = {
        "domain/libvirt/hostdev-usb-address.xml",
        "domain/libvirt/hostdev-scsi-lsi.xml",
        "domain/libvirt/hostdev-mdev-precreated.xml",
        "domain/generated/test-default.xml",
    };
    vp_autoptr(vp_host) h = vp_host_new();

    (void)state;
    for (size_t i = 0; i < VP_ARRAY_SIZE(files); i++)
        add_ok(h, "guest", files[i], true, true);
    assert_int_equal(h->n_assignments, 0);
    assert_int_equal(h->n_problems, 0);
}

/* libvirt 9.0's output for a running domain whose persistent definition differs. */
static void
test_generated_live_and_config(void **state)
{
    vp_autoptr(vp_host) h = vp_host_new();

    (void)state;
    add_ok(h, "vm-gpu", "domain/generated/vm-gpu-live.xml", true, false);
    add_ok(h, "vm-gpu", "domain/generated/vm-gpu-config.xml", false, true);
    add_ok(h, "vm-off", "domain/generated/vm-off.xml", false, true);
    assert_int_equal(h->n_problems, 0);
    assert_int_equal(h->n_assignments, 5);
    /* libvirt prints <interface>s before <hostdev>s, whatever the input order. */
    assert_assignment(h, 0, "vm-gpu", "0000:01:10.2", VP_USE_INTERFACE, true, true, true);
    assert_assignment(h, 1, "vm-gpu", "0000:02:00.0", VP_USE_HOSTDEV, true, true, true);
    /* No managed attribute in the input: libvirt writes managed='no'. */
    assert_assignment(h, 2, "vm-gpu", "0000:02:00.1", VP_USE_HOSTDEV, false, true, false);
    assert_assignment(h, 3, "vm-gpu", "0000:01:10.1", VP_USE_HOSTDEV, true, false, true);
    assert_assignment(h, 4, "vm-off", "0000:01:10.0", VP_USE_HOSTDEV, false, false, true);
}

/* Hand-written forms libvirt accepts on input, and broken entries. */
static void
test_forms_and_problems(void **state)
{
    static const char xml[] =
        "<domain type='kvm'>\n"
        "  <name>vm1</name>\n"
        "  <devices>\n"
        "    <hostdev mode='subsystem' type='pci'>\n" /* 1: managed defaults to no */
        "      <source><address domain='0x0000' bus='0x18' slot='0x00' function='0x1'/></source>\n"
        "    </hostdev>\n"
        "    <hostdev type='pci' managed='yes'>\n" /* 2: mode defaults to subsystem */
        "      <source><address bus='010' slot='2' function='0x3'/></source>\n"
        "    </hostdev>\n"
        "    <hostdev mode='subsystem' type='pci' managed='yes'/>\n" /* 3: no source */
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n"  /* 4: no address */
        "      <source/>\n"
        "    </hostdev>\n"
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n" /* 5: bus out of range */
        "      <source><address domain='0x0000' bus='0x100' slot='0x00' function='0x0'/></source>\n"
        "    </hostdev>\n"
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n" /* 6: empty address */
        "      <source><address/></source>\n"
        "    </hostdev>\n"
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n" /* 7: octal 8 is no digit */
        "      <source><address domain='0' bus='08' slot='0' function='0'/></source>\n"
        "    </hostdev>\n"
        "    <hostdev mode='capabilities' type='storage'>\n"
        "      <source><block>/dev/sdf1</block></source>\n"
        "    </hostdev>\n"
        "    <interface type='hostdev'>\n" /* interface 1: no source */
        "      <mac address='52:54:00:00:00:01'/>\n"
        "    </interface>\n"
        "    <interface type='hostdev' managed='no'>\n" /* a USB NIC: not PCI */
        "      <source><address type='usb' bus='1' port='2'/></source>\n"
        "    </interface>\n"
        "    <interface type='hostdev' managed='yes'>\n" /* interface 2: ok */
        "      <source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' "
        "function='0x7'/></source>\n"
        "    </interface>\n"
        "    <interface type='bridge'>\n"
        "      <source bridge='br0'/>\n"
        "      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>\n"
        "    </interface>\n"
        "    <future-device><source><address bus='1'/></source></future-device>\n"
        "  </devices>\n"
        "</domain>\n";
    vp_autoptr(vp_host) h = vp_host_new();
    vp_error err = {0};

    (void)state;
    assert_int_equal(vp_domxml_add_assignments(h, "vm1", xml, true, false, &err), 0);
    assert_int_equal(h->n_assignments, 3);
    assert_assignment(h, 0, "vm1", "0000:18:00.1", VP_USE_HOSTDEV, false, true, false);
    /* bus='010' is octal for libvirt (virXMLPropUInt, base 0): bus 8. */
    assert_assignment(h, 1, "vm1", "0000:08:02.3", VP_USE_HOSTDEV, true, true, false);
    assert_assignment(h, 2, "vm1", "0000:3b:02.7", VP_USE_INTERFACE, true, true, false);

    assert_int_equal(h->n_problems, 6);
    for (size_t i = 0; i < h->n_problems; i++)
        assert_string_equal(h->problems[i].what, "vm1");
    assert_string_equal(h->problems[0].why, "live definition: PCI <hostdev> #3: no <source>");
    assert_string_equal(h->problems[1].why,
                        "live definition: PCI <hostdev> #4: <source> has no <address>");
    assert_string_equal(h->problems[2].why,
                        "live definition: PCI <hostdev> #5: bus='0x100' is out of range "
                        "(expected 0-0xff)");
    assert_string_equal(h->problems[3].why,
                        "live definition: PCI <hostdev> #6: <address> has no domain, bus, slot "
                        "or function attribute");
    assert_string_equal(h->problems[4].why,
                        "live definition: PCI <hostdev> #7: bus='08' is not a number (expected "
                        "0-0xff)");
    assert_string_equal(h->problems[5].why,
                        "live definition: PCI <interface type='hostdev'> #1: no <source>");
}

static void
test_interface_problem(void **state)
{
    static const char xml[] = "<domain><devices><interface type='hostdev'/></devices></domain>";
    vp_autoptr(vp_host) h = vp_host_new();
    vp_error err = {0};

    (void)state;
    assert_int_equal(vp_domxml_add_assignments(h, "vm2", xml, false, true, &err), 0);
    assert_int_equal(h->n_assignments, 0);
    assert_int_equal(h->n_problems, 1);
    assert_string_equal(h->problems[0].what, "vm2");
    assert_string_equal(h->problems[0].why,
                        "persistent definition: PCI <interface type='hostdev'> #1: no <source>");
}

static void
test_not_a_domain(void **state)
{
    vp_autofree char *nodedev = fixture("nodedev/generated/pci_0000_01_00_0.xml");
    vp_autofree char *good = fixture("domain/generated/vm-off.xml");
    vp_autofree char *truncated = vp_strndup(good, strlen(good) - 20);
    vp_autoptr(vp_host) h = vp_host_new();
    vp_error err = {0};

    (void)state;
    assert_int_equal(vp_domxml_add_assignments(h, "vm1", nodedev, true, false, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_string_equal(err.msg,
                        "vm1: live definition has root element <device>, expected <domain>");

    assert_int_equal(vp_domxml_add_assignments(h, "vm1", truncated, false, true, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_true(vp_startswith(err.msg, "vm1: persistent definition: malformed domain XML (line "));

    assert_int_equal(vp_domxml_add_assignments(h, "vm1", NULL, true, true, &err), -1);
    assert_string_equal(err.msg, "vm1: live and persistent definitions: no domain XML (libvirt "
                                 "returned nothing)");
    assert_int_equal(vp_domxml_add_assignments(h, "vm1", "", true, false, &err), -1);
    assert_string_equal(err.msg, "vm1: live definition: empty domain XML");
    assert_int_equal(vp_domxml_add_assignments(h, "vm1",
                                               "<!DOCTYPE domain [<!ENTITY x 'y'>]>"
                                               "<domain><name>&x;</name></domain>",
                                               true, false, &err),
                     -1);
    assert_string_equal(err.msg,
                        "vm1: live definition: domain XML has a DOCTYPE, which libvirt never "
                        "writes");
    assert_int_equal(vp_domxml_add_assignments(h, NULL, good, true, false, &err), -1);
    assert_string_equal(err.msg, "domain without a name");
    /* Nothing was recorded by the failures. */
    assert_int_equal(h->n_assignments, 0);
    assert_int_equal(h->n_problems, 0);
}

/* Every prefix of libvirt's output: whole assignments or an error, never a crash or a leak. */
static void
test_every_prefix(void **state)
{
    vp_autofree char *xml = fixture("domain/generated/vm-gpu-live.xml");
    size_t len = strlen(xml);
    unsigned refused = 0;

    (void)state;
    for (size_t n = 0; n <= len; n++) {
        vp_autofree char *cut = vp_strndup(xml, n);
        vp_autoptr(vp_host) h = vp_host_new();
        vp_error err = {0};

        if (vp_domxml_add_assignments(h, "vm-gpu", cut, true, false, &err) < 0) {
            assert_int_equal(err.code, VP_E_DATA);
            assert_int_equal(h->n_assignments, 0);
            refused++;
        }
    }
    /* Only the complete document (with or without its final newline) parses. */
    assert_int_equal(refused, len - 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libvirt_hostdevs),
        cmocka_unit_test(test_libvirt_interfaces),
        cmocka_unit_test(test_ignored),
        cmocka_unit_test(test_generated_live_and_config),
        cmocka_unit_test(test_forms_and_problems),
        cmocka_unit_test(test_interface_problem),
        cmocka_unit_test(test_not_a_domain),
        cmocka_unit_test(test_every_prefix),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
