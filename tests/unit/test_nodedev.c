/* Unit tests for src/source/nodedev.c: libvirt's PCI and net node-device XML -> vp_device. */
#include "vp_test.h"

#include <stdio.h>
#include <string.h>

#include "source/source.h"
#include "util/fs.h"
#include "util/str.h"

static void
assert_addr(const vp_pci_addr *a, const char *expected)
{
    char buf[VP_PCI_ADDR_STRLEN];

    assert_string_equal(vp_pci_addr_format(a, buf), expected);
}

/* Parse fixture REL, which must succeed, into D. */
static void
parse_ok(const char *rel, vp_device *d)
{
    vp_autofree char *xml = vp_test_fixture(rel);
    vp_error err = {0};

    if (vp_nodedev_parse_pci(xml, d, &err) < 0)
        fail_msg("%s: %s", rel, err.msg);
}

/* Parse XML, which must fail with MSG (VP_E_DATA), and leave the device cleared. */
static void
parse_fails(const char *xml, const char *msg)
{
    vp_device d;
    vp_error err = {0};

    memset(&d, 0xa5, sizeof(d)); /* the parser must not read or free what was there */
    assert_int_equal(vp_nodedev_parse_pci(xml, &d, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_string_equal(err.msg, msg);
    assert_null(d.nodedev_name);
    assert_null(d.vfs);
    assert_int_equal(d.n_vfs, 0);
    assert_false(d.ids_known);
}

/* libvirt's tests/nodedevschemadata: an SR-IOV PF port without <class> (libvirt < 4.0). */
static void
test_libvirt_sriov_pf(void **state)
{
    vp_device d;

    (void)state;
    parse_ok("nodedev/libvirt/pci_8086_10c9_sriov_pf.xml", &d);
    assert_string_equal(d.nodedev_name, "pci_0000_02_00_0");
    assert_addr(&d.addr, "0000:02:00.0");
    assert_true(d.has_parent);
    assert_addr(&d.parent, "0000:00:04.0");
    assert_null(d.driver);
    assert_true(d.ids_known);
    assert_int_equal(d.vendor_id, 0x8086);
    assert_int_equal(d.product_id, 0x10c9);
    assert_int_equal(d.class_code, 0);
    assert_string_equal(d.vendor_name, "Intel Corporation");
    assert_string_equal(d.product_name, "82576 Gigabit Network Connection");
    assert_true(d.has_group);
    assert_int_equal(d.group, 12);
    assert_true(d.has_numa);
    assert_int_equal(d.numa_node, 0);
    assert_false(d.is_pcie);
    assert_false(d.link_cap.present);
    assert_false(d.is_pf);
    assert_false(d.is_vf);
    assert_false(d.is_bridge);
    assert_null(d.netdevs);
    vp_device_clear(&d);
}

static void
test_libvirt_vf(void **state)
{
    vp_device d;

    (void)state;
    parse_ok("nodedev/libvirt/pci_0000_02_10_7_sriov.xml", &d);
    assert_addr(&d.addr, "0000:02:10.7"); /* <slot>16</slot>: decimal */
    assert_int_equal(d.class_code, 0xffffff);
    assert_true(d.is_vf);
    assert_addr(&d.physfn, "0000:02:00.1");
    assert_false(d.is_pf);
    assert_int_equal(d.group, 31);
    assert_true(d.is_pcie);
    assert_true(d.link_cap.present);
    assert_string_equal(d.link_cap.speed, "2.5");
    assert_int_equal(d.link_cap.width, 4);
    /* <link validity='sta' width='0'/>: a link libvirt reports without speed. */
    assert_true(d.link_sta.present);
    assert_null(d.link_sta.speed);
    assert_int_equal(d.link_sta.width, 0);
    vp_device_clear(&d);
}

static void
test_libvirt_virt_functions(void **state)
{
    vp_device d;

    (void)state;
    parse_ok("nodedev/libvirt/pci_0000_02_10_7_sriov_vfs.xml", &d);
    assert_true(d.is_pf);
    assert_int_equal(d.vf_max, 0); /* no maxCount attribute */
    assert_int_equal(d.n_vfs, 4);
    assert_addr(&d.vfs[0], "0000:02:00.2");
    assert_addr(&d.vfs[3], "0000:02:00.5");
    vp_device_clear(&d);

    parse_ok("nodedev/libvirt/pci_0000_02_10_7_sriov_pf_vfs_all_header_type.xml", &d);
    assert_true(d.is_pf);
    assert_true(d.is_vf);
    assert_true(d.is_bridge);
    assert_int_equal(d.vf_max, 7);
    assert_int_equal(d.n_vfs, 4);
    assert_addr(&d.physfn, "0000:02:00.1");
    assert_int_equal(d.class_code, 0);
    vp_device_clear(&d);

    parse_ok("nodedev/libvirt/pci_0000_02_10_7_sriov_zero_vfs_max_count.xml", &d);
    assert_true(d.is_pf);
    assert_int_equal(d.vf_max, 3);
    assert_int_equal(d.n_vfs, 0);
    assert_null(d.vfs);
    vp_device_clear(&d);

    /* <capability type='virt_functions'>\n</capability>, no maxCount, with a <driver>. */
    parse_ok("nodedev/libvirt/pci_82579LM_network_adapter.xml", &d);
    assert_string_equal(d.driver, "e1000e");
    assert_true(d.is_pf);
    assert_int_equal(d.vf_max, 0);
    assert_int_equal(d.n_vfs, 0);
    assert_false(d.has_parent); /* <parent>computer</parent> */
    assert_false(d.has_group);
    assert_false(d.has_numa);
    assert_addr(&d.addr, "0000:00:19.0");
    vp_device_clear(&d);

    /* BlueField-2 with a VPD capability, no <parent> at all, self-closing virt_functions. */
    parse_ok("nodedev/libvirt/pci_0000_42_00_0_vpd.xml", &d);
    assert_addr(&d.addr, "0000:42:00.0");
    assert_false(d.has_parent);
    assert_int_equal(d.class_code, 0x020000);
    assert_int_equal(d.vendor_id, 0x15b3);
    assert_true(d.is_pf);
    assert_int_equal(d.vf_max, 16);
    assert_int_equal(d.group, 65);
    assert_string_equal(d.link_cap.speed, "16");
    assert_int_equal(d.link_cap.width, 8);
    assert_string_equal(d.link_sta.speed, "8");
    assert_int_equal(d.link_sta.width, 8);
    vp_device_clear(&d);
}

static void
test_libvirt_bridge_and_others(void **state)
{
    vp_device d;

    (void)state;
    parse_ok("nodedev/libvirt/pci_0000_00_1c_0_header_type.xml", &d);
    assert_true(d.is_bridge);
    assert_false(d.has_parent);
    assert_int_equal(d.group, 8);
    assert_string_equal(d.link_cap.speed, "5");
    assert_int_equal(d.link_cap.width, 1);
    assert_string_equal(d.link_sta.speed, "2.5");
    vp_device_clear(&d);

    parse_ok("nodedev/libvirt/pci_8086_4238_pcie_wireless.xml", &d);
    assert_addr(&d.addr, "0000:03:00.0");
    assert_addr(&d.parent, "0000:00:1c.1");
    assert_int_equal(d.group, 8);
    assert_false(d.is_bridge);
    vp_device_clear(&d);

    /* Old HAL-era names: pci_<vendor>_<product>. The parent is then no address. */
    parse_ok("nodedev/libvirt/pci_1002_71c4.xml", &d);
    assert_string_equal(d.nodedev_name, "pci_1002_71c4");
    assert_addr(&d.addr, "0000:01:00.0");
    assert_false(d.has_parent);
    assert_true(d.has_numa);
    assert_int_equal(d.numa_node, 1);
    assert_false(d.has_group);
    vp_device_clear(&d);

    /* <pci-express/>: PCIe without link information. */
    parse_ok("nodedev/libvirt/pci_8086_0c0c_snd_hda_intel.xml", &d);
    assert_true(d.is_pcie);
    assert_false(d.link_cap.present);
    assert_false(d.link_sta.present);
    vp_device_clear(&d);
}

/* libvirt's own test data carries <bus>4294967295</bus>: libvirt accepts it, vpass cannot. */
static void
test_libvirt_impossible_bus(void **state)
{
    vp_autofree char *xml = vp_test_fixture("nodedev/libvirt/pci_0000_00_02_0_header_type.xml");

    (void)state;
    parse_fails(xml, "pci_0000_00_02_0: invalid <bus> '4294967295' (expected 0-255)");
}

static void
test_libvirt_not_pci(void **state)
{
    vp_autofree char *scsi = vp_test_fixture("nodedev/libvirt/pci_8086_27c5_scsi_host_0.xml");
    vp_autofree char *net = vp_test_fixture("nodedev/libvirt/net_00_13_02_b9_f9_d3.xml");
    vp_autofree char *computer = vp_test_fixture("nodedev/libvirt/computer.xml");

    (void)state;
    parse_fails(scsi, "pci_8086_27c5_scsi_host_0: not a PCI device (capability: scsi_host)");
    parse_fails(net, "net_00_13_02_b9_f9_d3: not a PCI device (capability: net)");
    parse_fails(computer, "computer: not a PCI device (capability: system)");
}

/* XML printed here by libvirt 9.0.0 (tests/fixtures/testhost/regen.sh). */
static void
test_generated(void **state)
{
    static const char *const names[] = {
        "pci_0000_00_00_0", "pci_0000_00_1c_0", "pci_0000_01_00_0",
        "pci_0000_01_00_1", "pci_0000_01_10_0", "pci_0000_01_10_1",
        "pci_0000_01_10_2", "pci_0000_02_00_0", "pci_0000_02_00_1",
    };
    vp_device d;

    (void)state;
    for (size_t i = 0; i < VP_ARRAY_SIZE(names); i++) {
        vp_autofree char *rel = vp_asprintf("nodedev/generated/%s.xml", names[i]);
        vp_autofree char *nodedev = NULL;

        parse_ok(rel, &d);
        assert_string_equal(d.nodedev_name, names[i]);
        /* The name and the address agree. */
        nodedev = vp_pci_addr_nodedev_name(&d.addr);
        assert_string_equal(nodedev, names[i]);
        assert_true(d.has_group);
        assert_null(d.driver); /* the test driver keeps no <driver> */
        vp_device_clear(&d);
    }

    parse_ok("nodedev/generated/pci_0000_01_00_0.xml", &d);
    assert_int_equal(d.class_code, 0x020000);
    assert_true(d.has_parent);
    assert_addr(&d.parent, "0000:00:1c.0");
    assert_true(d.is_pf);
    assert_int_equal(d.vf_max, 7);
    assert_int_equal(d.n_vfs, 2);
    assert_addr(&d.vfs[0], "0000:01:10.0");
    assert_addr(&d.vfs[1], "0000:01:10.2");
    assert_int_equal(d.group, 12);
    assert_true(d.has_numa);
    assert_int_equal(d.numa_node, 0);
    assert_string_equal(d.link_sta.speed, "2.5");
    assert_int_equal(d.link_sta.width, 4);
    vp_device_clear(&d);

    /* <product id='0x1eb8'/>: libvirt knows no name; the id still stands. */
    parse_ok("nodedev/generated/pci_0000_02_00_0.xml", &d);
    assert_true(d.ids_known);
    assert_int_equal(d.vendor_id, 0x10de);
    assert_int_equal(d.product_id, 0x1eb8);
    assert_null(d.product_name);
    assert_string_equal(d.vendor_name, "NVIDIA Corporation");
    assert_int_equal(d.class_code, 0x030000);
    assert_false(d.has_parent);
    assert_false(d.has_numa);
    assert_int_equal(d.link_cap.width, 16);
    vp_device_clear(&d);

    parse_ok("nodedev/generated/pci_0000_00_1c_0.xml", &d);
    assert_true(d.is_bridge);
    assert_int_equal(d.class_code, 0x060400);
    vp_device_clear(&d);
}

/* One edit of the generated PF's XML and the exact error it must give (NULL: it parses). */
typedef struct {
    const char *from;
    const char *to;
    const char *msg;
} mutation;

static const mutation mutations[] = {
    {"<bus>1</bus>", "<bus>256</bus>", "pci_0000_01_00_0: invalid <bus> '256' (expected 0-255)"},
    {"<bus>1</bus>", "<bus>x1</bus>", "pci_0000_01_00_0: invalid <bus> 'x1' (expected 0-255)"},
    {"<bus>1</bus>", "<bus>-1</bus>", "pci_0000_01_00_0: invalid <bus> '-1' (expected 0-255)"},
    {"<bus>1</bus>", "<bus></bus>", "pci_0000_01_00_0: PCI capability has no <bus>"},
    {"<bus>1</bus>", "", "pci_0000_01_00_0: PCI capability has no <bus>"},
    {"<slot>0</slot>", "<slot>32</slot>", "pci_0000_01_00_0: invalid <slot> '32' (expected 0-31)"},
    {"<slot>0</slot>", "", "pci_0000_01_00_0: PCI capability has no <slot>"},
    {"<function>0</function>", "<function>8</function>",
     "pci_0000_01_00_0: invalid <function> '8' (expected 0-7)"},
    {"<function>0</function>", "<function>zero</function>",
     "pci_0000_01_00_0: invalid <function> 'zero' (expected 0-7)"},
    {"<domain>0</domain>", "<domain>0x100000000</domain>",
     "pci_0000_01_00_0: invalid <domain> '0x100000000' (expected 0-0xffffffff)"},
    {"<domain>0</domain>", "<domain>99999999999999999999999</domain>",
     "pci_0000_01_00_0: invalid <domain> '99999999999999999999999' (expected 0-0xffffffff)"},
    {"<class>0x020000</class>", "<class>0x1000000</class>",
     "pci_0000_01_00_0: invalid <class> '0x1000000' (expected 0x000000-0xffffff)"},
    {"<class>0x020000</class>", "<class>network</class>",
     "pci_0000_01_00_0: invalid <class> 'network' (expected 0x000000-0xffffff)"},
    {"<iommuGroup number='12'>", "<iommuGroup number='99999999999'>",
     "pci_0000_01_00_0: invalid iommuGroup number '99999999999'"},
    {"<iommuGroup number='12'>", "<iommuGroup number='-1'>",
     "pci_0000_01_00_0: invalid iommuGroup number '-1'"},
    {"<iommuGroup number='12'>", "<iommuGroup>", "pci_0000_01_00_0: <iommuGroup> has no number"},
    {"maxCount='7'", "maxCount='-1'",
     "pci_0000_01_00_0: invalid virt_functions maxCount '-1' (expected 0-65535)"},
    {"maxCount='7'", "maxCount='4294967296'",
     "pci_0000_01_00_0: invalid virt_functions maxCount '4294967296' (expected 0-65535)"},
    {"speed='2.5' width='4'/>\n      <link validity='sta'",
     "speed='2.5' width='1000000000'/>\n      <link validity='sta'",
     "pci_0000_01_00_0: invalid PCIe cap link width '1000000000' (expected 0-32)"},
    {"<link validity='sta' speed='2.5' width='4'/>", "<link validity='sta' width='1e9'/>",
     "pci_0000_01_00_0: invalid PCIe sta link width '1e9' (expected 0-32)"},
    {"<link validity='sta' speed='2.5'", "<link validity='sta' speed='fast'",
     "pci_0000_01_00_0: invalid PCIe sta link speed 'fast' (expected GT/s such as 8)"},
    {"<link validity='sta' speed='2.5'", "<link validity='sta' speed='2.5.1'",
     "pci_0000_01_00_0: invalid PCIe sta link speed '2.5.1' (expected GT/s such as 8)"},
    {"<numa node='0'/>", "<numa node='-2'/>", "pci_0000_01_00_0: invalid NUMA node '-2'"},
    {"<numa node='0'/>", "<numa node='1e3'/>", "pci_0000_01_00_0: invalid NUMA node '1e3'"},
    {"<vendor id='0x8086'>", "<vendor id='0x18086'>",
     "pci_0000_01_00_0: invalid vendor id '0x18086' (expected 0x0000-0xffff)"},
    {"<vendor id='0x8086'>", "<vendor>", "pci_0000_01_00_0: <vendor> has no id"},
    {"<product id='0x10c9'>82576 Gigabit Network Connection</product>", "",
     "pci_0000_01_00_0: PCI capability has no <product>"},
    {"<address domain='0x0000' bus='0x01' slot='0x10' function='0x0'/>",
     "<address domain='0x0000' bus='0x01' slot='0x20' function='0x0'/>",
     "pci_0000_01_00_0: virtual function <address>: slot='0x20' is out of range (expected "
     "0-0x1f)"},
    {"<address domain='0x0000' bus='0x01' slot='0x10' function='0x2'/>", "<address/>",
     "pci_0000_01_00_0: virtual function <address>: <address> has no domain, bus, slot or "
     "function attribute"},
    {"<address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/>",
     "<address domain='0x0000' bus='0x01' slot='0x00' function='one'/>",
     "pci_0000_01_00_0: <iommuGroup> member <address>: function='one' is not a number (expected "
     "0-0x7)"},
    {"<capability type='pci'>", "<capability type='pcx'>",
     "pci_0000_01_00_0: not a PCI device (capability: pcx)"},
    {"<name>pci_0000_01_00_0</name>", "", "node device XML has no <name>"},
    {"<device>", "<domain>",
     "malformed node device XML (line 26: Opening and ending tag "
     "mismatch: domain line 1 and device)"},
    /* Forms that must parse. */
    {"<bus>1</bus>", "<bus>0x01</bus>", NULL},
    {"<bus>1</bus>", "<bus> 1 </bus>", NULL},
    {"<numa node='0'/>", "<numa node='-1'/>", NULL},
    {"<capability type='pci'>",
     "<capability type='pci'>\n<future-thing a='1'><x/></future-thing>"
     "<capability type='quantum'/>",
     NULL},
    {"<parent>", "<sysfs_path>/sys/devices/pci0000:00/0000:01:00.0</sysfs_path><parent>", NULL},
    {"<parent>pci_0000_00_1c_0</parent>", "<parent>pci_0000_00_1c</parent>", NULL},
    {"<link validity='sta' speed='2.5' width='4'/>", "<link validity='bogus' width='4'/>", NULL},
};

static char *
apply(const char *xml, const mutation *m)
{
    const char *at = strstr(xml, m->from);

    if (!at)
        fail_msg("mutation source '%s' not in the fixture", m->from);
    return vp_asprintf("%.*s%s%s", (int)(at - xml), xml, m->to, at + strlen(m->from));
}

static void
test_mutations(void **state)
{
    vp_autofree char *base = vp_test_fixture("nodedev/generated/pci_0000_01_00_0.xml");

    (void)state;
    for (size_t i = 0; i < VP_ARRAY_SIZE(mutations); i++) {
        vp_autofree char *xml = apply(base, &mutations[i]);

        if (mutations[i].msg) {
            parse_fails(xml, mutations[i].msg);
        } else {
            vp_device d;
            vp_error err = {0};

            if (vp_nodedev_parse_pci(xml, &d, &err) < 0)
                fail_msg("mutation %zu: %s", i, err.msg);
            assert_string_equal(d.nodedev_name, "pci_0000_01_00_0");
            assert_addr(&d.addr, "0000:01:00.0");
            vp_device_clear(&d);
        }
    }
}

/* The accepted-but-unusual forms give the right values, not only success. */
static void
test_mutation_values(void **state)
{
    vp_autofree char *base = vp_test_fixture("nodedev/generated/pci_0000_01_00_0.xml");
    const mutation numa = {"<numa node='0'/>", "<numa node='-1'/>", NULL};
    const mutation parent = {"<parent>pci_0000_00_1c_0</parent>", "<parent>pci_0000_00_1c</parent>",
                             NULL};
    const mutation link = {"<link validity='sta' speed='2.5' width='4'/>",
                           "<link validity='bogus' width='4'/>", NULL};
    vp_device d;

    (void)state;
    {
        vp_autofree char *xml = apply(base, &numa);

        assert_int_equal(vp_nodedev_parse_pci(xml, &d, NULL), 0);
        assert_false(d.has_numa);
        vp_device_clear(&d);
    }
    {
        vp_autofree char *xml = apply(base, &parent);

        assert_int_equal(vp_nodedev_parse_pci(xml, &d, NULL), 0);
        assert_false(d.has_parent);
        vp_device_clear(&d);
    }
    {
        vp_autofree char *xml = apply(base, &link);

        assert_int_equal(vp_nodedev_parse_pci(xml, &d, NULL), 0);
        assert_true(d.link_cap.present);
        assert_false(d.link_sta.present);
        vp_device_clear(&d);
    }
}

static void
test_truncated_and_empty(void **state)
{
    vp_autofree char *base = vp_test_fixture("nodedev/generated/pci_0000_01_00_0.xml");
    vp_autofree char *half = vp_strndup(base, strlen(base) / 2);
    vp_device d;
    vp_error err = {0};

    (void)state;
    /* Truncated after the name: the message still names the device. */
    assert_int_equal(vp_nodedev_parse_pci(half, &d, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_true(vp_startswith(err.msg, "pci_0000_01_00_0: malformed node device XML (line "));
    assert_null(d.nodedev_name);

    /* Truncated inside the name: nothing to name it by. */
    parse_fails("<device>\n  <name>pci_00", "malformed node device XML (line 2: Premature end "
                                            "of data in tag name line 2)");
    parse_fails("", "empty node device XML");
    parse_fails(" \n\t", "empty node device XML");
    parse_fails(NULL, "no node device XML (libvirt returned nothing)");
    parse_fails("not xml at all", "malformed node device XML (line 1: Start tag expected, '<' "
                                  "not found)");
    parse_fails("<device/>", "node device XML has no <name>");
    parse_fails("<device><name>pci_0000_01_00_0</name></device>",
                "pci_0000_01_00_0: not a PCI device (capability: none)");
    parse_fails("<device><name>pci_0000_01_00_0</name><capability type='pci'/></device>",
                "pci_0000_01_00_0: PCI capability has no <domain>");
    /* A VF whose phys_function lost its address. */
    parse_fails("<device><name>pci_0000_01_10_0</name><capability type='pci'><domain>0</domain>"
                "<bus>1</bus><slot>16</slot><function>0</function><product id='0x10ca'/>"
                "<vendor id='0x8086'/><capability type='phys_function'/></capability></device>",
                "pci_0000_01_10_0: phys_function capability has no <address>");
}

/* Entity expansion never happens: a DOCTYPE is refused before any text is read. */
static void
test_doctype_refused(void **state)
{
    static const char laughs[] =
        "<?xml version='1.0'?>\n"
        "<!DOCTYPE device [\n"
        " <!ENTITY a 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'>\n"
        " <!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>\n"
        " <!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>\n"
        " <!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>\n"
        " <!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>\n"
        "]>\n"
        "<device><name>&e;</name><capability type='pci'/></device>\n";
    static const char harmless[] = "<!DOCTYPE device [<!ENTITY n 'pci_0000_01_00_0'>]>\n"
                                   "<device><name>&n;</name><capability type='pci'/></device>\n";
    static const char external[] = "<?xml version='1.0'?>\n"
                                   "<!DOCTYPE device SYSTEM 'http://example.invalid/device.dtd'>\n"
                                   "<device><name>pci_0000_01_00_0</name></device>\n";

    vp_device d;
    vp_error err = {0};

    (void)state;
    /* libxml2 itself may stop the expansion first (2.9.14: "entity reference loop"). */
    assert_int_equal(vp_nodedev_parse_pci(laughs, &d, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    if (strcmp(err.msg, "node device XML has a DOCTYPE, which libvirt never writes") != 0 &&
        !vp_startswith(err.msg, "malformed node device XML (line 9: "))
        fail_msg("unexpected: %s", err.msg);
    parse_fails(harmless, "node device XML has a DOCTYPE, which libvirt never writes");
    parse_fails(external, "node device XML has a DOCTYPE, which libvirt never writes");
}

static void
test_net(void **state)
{
    vp_autofree char *upstream = vp_test_fixture("nodedev/libvirt/net_00_13_02_b9_f9_d3.xml");
    vp_autofree char *eth2 = vp_test_fixture("nodedev/generated/net_eth2_00_1b_21_aa_bb_c2.xml");
    vp_autofree char *lo = vp_test_fixture("nodedev/generated/net_lo_00_00_00_00_00_00.xml");
    vp_autofree char *pci = vp_test_fixture("nodedev/generated/pci_0000_01_00_0.xml");
    char *ifname = NULL, *parent = NULL;
    vp_error err = {0};

    (void)state;
    assert_int_equal(vp_nodedev_parse_net(upstream, &ifname, &parent, &err), 0);
    assert_string_equal(ifname, "eth0");
    assert_string_equal(parent, "pci_8086_4227");
    free(ifname);
    free(parent);

    assert_int_equal(vp_nodedev_parse_net(eth2, &ifname, &parent, &err), 0);
    assert_string_equal(ifname, "eth2");
    assert_string_equal(parent, "pci_0000_01_00_1");
    free(ifname);
    free(parent);

    assert_int_equal(vp_nodedev_parse_net(lo, &ifname, &parent, &err), 0);
    assert_string_equal(ifname, "lo");
    assert_string_equal(parent, "computer");
    free(ifname);
    free(parent);

    ifname = parent = NULL;
    assert_int_equal(vp_nodedev_parse_net(pci, &ifname, &parent, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_string_equal(err.msg, "pci_0000_01_00_0: not a net device (capability: pci)");
    assert_null(ifname);
    assert_null(parent);

    assert_int_equal(vp_nodedev_parse_net("<device><name>net_x</name><capability type='net'>"
                                          "<interface>eth9</interface></capability></device>",
                                          &ifname, &parent, &err),
                     -1);
    assert_string_equal(err.msg, "net_x: net device eth9 has no <parent>");
    assert_int_equal(vp_nodedev_parse_net("<device><name>net_x</name><parent>pci_0000_01_00_0"
                                          "</parent><capability type='net'/></device>",
                                          &ifname, &parent, &err),
                     -1);
    assert_string_equal(err.msg, "net_x: net capability has no <interface>");
    assert_int_equal(
        vp_nodedev_parse_net("<device><name>net_x</name><capab", &ifname, &parent, &err), -1);
    assert_true(vp_startswith(err.msg, "net_x: malformed node device XML (line 1: "));
    assert_int_equal(vp_nodedev_parse_net(NULL, &ifname, &parent, &err), -1);
    assert_string_equal(err.msg, "no node device XML (libvirt returned nothing)");
    assert_null(ifname);
    assert_null(parent);
}

/* Every prefix and many single-byte corruptions of real XML: parsed or refused, never worse. */
static void
test_every_prefix(void **state)
{
    static const char *const files[] = {
        "nodedev/generated/pci_0000_01_00_0.xml",
        "nodedev/generated/pci_0000_01_10_0.xml",
        "nodedev/libvirt/pci_0000_02_10_7_sriov_pf_vfs_all_header_type.xml",
        "nodedev/libvirt/pci_0000_42_00_0_vpd.xml",
        "nodedev/generated/net_eth0_00_1b_21_aa_bb_c0.xml",
    };
    static const char junk[] = {'<', '>', '\'', '"', '&', '/', '0', 'x', '-', '9', ' ', '\0'};
    unsigned seed = 12345, parsed = 0, refused = 0;

    (void)state;
    for (size_t f = 0; f < VP_ARRAY_SIZE(files); f++) {
        vp_autofree char *xml = vp_test_fixture(files[f]);
        size_t len = strlen(xml);

        for (size_t n = 0; n <= len; n++) {
            vp_autofree char *cut = vp_strndup(xml, n);
            vp_autofree char *flip = vp_strdup(xml);
            char *ifname = NULL, *parent = NULL;
            vp_device d;
            vp_error err = {0};

            seed = seed * 1103515245 + 12345;
            flip[n < len ? n : 0] = junk[(seed >> 16) % VP_ARRAY_SIZE(junk)];
            for (int k = 0; k < 2; k++) {
                const char *in = k ? flip : cut;

                if (vp_nodedev_parse_pci(in, &d, &err) == 0) {
                    assert_non_null(d.nodedev_name);
                    vp_device_clear(&d);
                    parsed++;
                } else {
                    assert_int_equal(err.code, VP_E_DATA);
                    assert_true(err.msg[0] != '\0');
                    refused++;
                }
                if (vp_nodedev_parse_net(in, &ifname, &parent, &err) == 0) {
                    free(ifname);
                    free(parent);
                } else {
                    assert_int_equal(err.code, VP_E_DATA);
                }
            }
        }
    }
    /* Both outcomes happened: the loop really exercised the parser. */
    assert_true(parsed > 0);
    assert_true(refused > 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libvirt_sriov_pf),
        cmocka_unit_test(test_libvirt_vf),
        cmocka_unit_test(test_libvirt_virt_functions),
        cmocka_unit_test(test_libvirt_bridge_and_others),
        cmocka_unit_test(test_libvirt_impossible_bus),
        cmocka_unit_test(test_libvirt_not_pci),
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_mutation_values),
        cmocka_unit_test(test_truncated_and_empty),
        cmocka_unit_test(test_doctype_refused),
        cmocka_unit_test(test_net),
        cmocka_unit_test(test_every_prefix),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
