/* Unit tests for src/source/domxml.c: domain XML -> ledger assignments and problems, and the
 * definition facts (machine, firmware, <pcihole64>, <maxphysaddr>). */
#include "vp_test.h"

#include <stdio.h>
#include <string.h>

#include "source/source.h"
#include "util/fs.h"
#include "util/str.h"

/* Add fixture REL as DOMAIN's XML; must succeed. */
static void
add_ok(vp_host *h, const char *domain, const char *rel, bool live, bool config)
{
    vp_autofree char *xml = vp_test_fixture(rel);
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
    vp_autofree char *nodedev = vp_test_fixture("nodedev/generated/pci_0000_01_00_0.xml");
    vp_autofree char *good = vp_test_fixture("domain/generated/vm-off.xml");
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
    vp_autofree char *xml = vp_test_fixture("domain/generated/vm-gpu-live.xml");
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

/* Read fixture REL into a fresh domain called NAME; must succeed. Clear it with vp_domain_clear. */
static void
read_ok(vp_domain *d, const char *name, const char *rel)
{
    vp_autofree char *xml = vp_test_fixture(rel);
    vp_error err = {0};

    memset(d, 0, sizeof(*d));
    d->name = vp_strdup(name);
    if (vp_domxml_read_domain(d, xml, &err) < 0)
        fail_msg("%s: %s", rel, err.msg);
    assert_true(d->xml_read);
}

/* libvirt's own test domains: machine, firmware, <pcihole64>, <maxphysaddr>. */
static void
test_definition_libvirt(void **state)
{
    vp_domain d;

    (void)state;
    read_ok(&d, "q35-test", "domain/libvirt/pcihole64-q35.xml");
    assert_string_equal(d.arch, "x86_64");
    assert_string_equal(d.machine, "q35");
    assert_int_equal(d.firmware, VP_FIRMWARE_BIOS);
    assert_null(d.loader);
    assert_true(d.has_pcihole64);
    assert_int_equal(d.pcihole64_kib, 1048576);
    assert_null(d.maxphysaddr_mode);
    assert_false(d.has_maxphysaddr_bits);
    vp_domain_clear(&d);

    read_ok(&d, "foo", "domain/libvirt/pcihole64.xml");
    assert_string_equal(d.machine, "pc-1.2");
    assert_true(d.has_pcihole64);
    assert_int_equal(d.pcihole64_kib, 1048576);
    vp_domain_clear(&d);

    read_ok(&d, "foo", "domain/libvirt/pcihole64-gib.xml");
    assert_int_equal(d.pcihole64_kib, 1048576); /* unit='GiB' 1 */
    vp_domain_clear(&d);

    read_ok(&d, "foo", "domain/libvirt/pcihole64-none.xml");
    assert_true(d.has_pcihole64); /* 0: the hole disabled, not absent */
    assert_int_equal(d.pcihole64_kib, 0);
    vp_domain_clear(&d);

    read_ok(&d, "test-bios", "domain/libvirt/bios-nvram.xml");
    assert_string_equal(d.machine, "pc");
    assert_int_equal(d.firmware, VP_FIRMWARE_EFI); /* pflash loader */
    assert_string_equal(d.loader, "/usr/share/OVMF/OVMF_CODE.fd");
    assert_false(d.has_pcihole64); /* a pci-root without one */
    vp_domain_clear(&d);

    read_ok(&d, "fedora", "domain/libvirt/firmware-auto-efi.xml");
    assert_string_equal(d.machine, "pc-q35-4.0");
    assert_int_equal(d.firmware, VP_FIRMWARE_EFI); /* <os firmware='efi'>, no loader */
    assert_null(d.loader);
    vp_domain_clear(&d);

    read_ok(&d, "foo", "domain/libvirt/cpu-phys-bits-emulate.xml");
    assert_string_equal(d.maxphysaddr_mode, "emulate");
    assert_true(d.has_maxphysaddr_bits);
    assert_int_equal(d.maxphysaddr_bits, 42);
    assert_int_equal(d.firmware, VP_FIRMWARE_BIOS);
    vp_domain_clear(&d);

    read_ok(&d, "foo", "domain/libvirt/cpu-phys-bits-emulate2.xml");
    assert_string_equal(d.maxphysaddr_mode, "emulate");
    assert_int_equal(d.maxphysaddr_bits, 42);
    vp_domain_clear(&d);

    read_ok(&d, "foo", "domain/libvirt/cpu-phys-bits-passthrough2.xml");
    assert_string_equal(d.maxphysaddr_mode, "passthrough");
    assert_false(d.has_maxphysaddr_bits);
    assert_int_equal(d.maxphysaddr_bits, 0);
    vp_domain_clear(&d);

    /* libvirt 9.0's output: no machine attribute on the test driver, no loader. */
    read_ok(&d, "vm-gpu", "domain/generated/vm-gpu-live.xml");
    assert_string_equal(d.arch, "x86_64");
    assert_null(d.machine);
    assert_int_equal(d.firmware, VP_FIRMWARE_BIOS);
    assert_false(d.has_pcihole64);
    vp_domain_clear(&d);
}

/* Read XML (a hand-made domain) into D named vm1; returns what vp_domxml_read_domain does. */
static int
read_xml(vp_domain *d, const char *xml, vp_error *err)
{
    return vp_domxml_read_domain(d, xml, err);
}

/* A domain with <pcihole64 unit=UNIT>TEXT</pcihole64> on a pcie-root (UNIT NULL: none). */
static char *
hole_xml(const char *text, const char *unit)
{
    return vp_asprintf("<domain><os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
                       "<controller type='pci' index='0' model='pcie-root'>"
                       "<pcihole64%s%s%s>%s</pcihole64></controller></devices></domain>",
                       unit ? " unit='" : "", unit ? unit : "", unit ? "'" : "", text);
}

/* Units as libvirt scales them (virScaleInteger), stored in KiB rounded up. */
static void
test_definition_units(void **state)
{
    static const struct {
        const char *text, *unit;
        uint64_t kib;
    } ok[] = {
        {"1048576", NULL, 1048576},
        {"5", "k", 5},
        {"5", "KiB", 5},
        {"5", "kib", 5},
        {"1", "KB", 1},      /* 1000 bytes */
        {"1000", "KB", 977}, /* 10^6 bytes = 976.5625 KiB */
        {"1025", "b", 2},
        {"2048", "bytes", 2},
        {"2", "MiB", 2048},
        {"3", "M", 3072},
        {"1", "GB", 976563}, /* 10^9 / 1024 = 976562.5 */
        {"1", "TB", 976562500},
        {"32", "G", 33554432},
        {"8", "EiB", 1ULL << 53}, /* 2^63 bytes: still fits */
        {"0", "GiB", 0},
    };
    vp_domain d = {0};
    vp_error err = {0};

    (void)state;
    d.name = vp_strdup("vm1");
    for (size_t i = 0; i < VP_ARRAY_SIZE(ok); i++) {
        vp_autofree char *xml = hole_xml(ok[i].text, ok[i].unit);

        if (read_xml(&d, xml, &err) < 0)
            fail_msg("%s %s: %s", ok[i].text, ok[i].unit ? ok[i].unit : "-", err.msg);
        assert_true(d.has_pcihole64);
        if (d.pcihole64_kib != ok[i].kib)
            fail_msg("%s %s: %llu KiB, expected %llu", ok[i].text, ok[i].unit ? ok[i].unit : "-",
                     (unsigned long long)d.pcihole64_kib, (unsigned long long)ok[i].kib);
    }
    vp_domain_clear(&d);
}

static void
test_definition_bad(void **state)
{
    static const struct {
        const char *text, *unit, *msg;
    } bad[] = {
        {"lots", NULL, "vm1: <pcihole64> 'lots' is not a number"},
        {"-1", NULL, "vm1: <pcihole64> '-1' is not a number"},
        {"", NULL, "vm1: <pcihole64> '' is not a number"},
        {"0x10", NULL, "vm1: <pcihole64> '0x10' is not a number"},
        {"1 048 576", NULL, "vm1: <pcihole64> '1 048 576' is not a number"},
        {"18446744073709551616", NULL, "vm1: <pcihole64> '18446744073709551616' is out of range"},
        {"18014398509481984", "GiB", "vm1: <pcihole64> 18014398509481984 GiB is out of range"},
        {"16", "EiB", "vm1: <pcihole64> 16 EiB is out of range"},
        {"18014398509481984", NULL, "vm1: <pcihole64> 18014398509481984 KiB is out of range"},
        {"1", "furlong", "vm1: <pcihole64> has an unknown unit 'furlong'"},
        {"1", "KiBB", "vm1: <pcihole64> has an unknown unit 'KiBB'"},
        {"1", "kbb", "vm1: <pcihole64> has an unknown unit 'kbb'"},
        {"1", "iB", "vm1: <pcihole64> has an unknown unit 'iB'"},
        {"1", "Zi", "vm1: <pcihole64> has an unknown unit 'Zi'"},
    };
    static const char *const bad_bits[] = {"0", "x", "53", "", "-1", "4294967338"};
    vp_domain d = {0};
    vp_error err = {0};

    (void)state;
    d.name = vp_strdup("vm1");
    d.machine = vp_strdup("keep");
    for (size_t i = 0; i < VP_ARRAY_SIZE(bad); i++) {
        vp_autofree char *xml = hole_xml(bad[i].text, bad[i].unit);

        assert_int_equal(read_xml(&d, xml, &err), -1);
        assert_int_equal(err.code, VP_E_DATA);
        assert_string_equal(err.msg, bad[i].msg);
        /* Nothing written on failure. */
        assert_false(d.xml_read);
        assert_string_equal(d.machine, "keep");
        assert_false(d.has_pcihole64);
    }
    for (size_t i = 0; i < VP_ARRAY_SIZE(bad_bits); i++) {
        vp_autofree char *xml = vp_asprintf(
            "<domain><cpu><maxphysaddr mode='emulate' bits='%s'/></cpu></domain>", bad_bits[i]);
        vp_autofree char *want = vp_asprintf(
            "vm1: <maxphysaddr bits='%s'> is not a number of address bits (1-52)", bad_bits[i]);

        assert_int_equal(read_xml(&d, xml, &err), -1);
        assert_string_equal(err.msg, want);
        assert_false(d.xml_read);
        assert_null(d.maxphysaddr_mode);
    }
    assert_int_equal(read_xml(&d, "<device><name>x</name></device>", &err), -1);
    assert_string_equal(err.msg, "vm1: root element <device>, expected <domain>");
    assert_int_equal(read_xml(&d, "<domain>", &err), -1);
    assert_true(vp_startswith(err.msg, "vm1: malformed domain XML (line "));
    assert_int_equal(read_xml(&d, NULL, &err), -1);
    assert_string_equal(err.msg, "vm1: no domain XML (libvirt returned nothing)");
    assert_false(d.xml_read);
    assert_string_equal(d.machine, "keep");
    vp_domain_clear(&d);
}

/* Firmware forms, and which controllers carry <pcihole64>. */
static void
test_definition_forms(void **state)
{
    static const struct {
        const char *xml;
        vp_firmware fw;
    } fw[] = {
        /* OVMF given as a plain ROM (-bios): still UEFI. */
        {"<domain><os><type arch='x86_64'>hvm</type>"
         "<loader readonly='yes' type='rom'>/usr/share/edk2/ovmf/OVMF.fd</loader></os></domain>",
         VP_FIRMWARE_EFI},
        /* Some other ROM: vpass cannot tell. */
        {"<domain><os><type arch='x86_64'>hvm</type>"
         "<loader>/usr/share/seabios/bios-256k.bin</loader></os></domain>",
         VP_FIRMWARE_UNKNOWN},
        {"<domain><os firmware='bios'><type arch='x86_64'>hvm</type>"
         "<loader type='pflash'>/x/OVMF_CODE.fd</loader></os></domain>",
         VP_FIRMWARE_BIOS},
        /* aarch64 without a loader: not SeaBIOS. */
        {"<domain><os><type arch='aarch64' machine='virt'>hvm</type></os></domain>",
         VP_FIRMWARE_UNKNOWN},
        /* No <os> at all on x86 (arch unknown): SeaBIOS, QEMU's default. */
        {"<domain/>", VP_FIRMWARE_BIOS},
    };
    static const char pcie_root_port[] =
        "<domain><devices>"
        "<controller type='pci' index='1' model='pcie-root-port'><pcihole64>9</pcihole64>"
        "</controller>"
        "<controller type='usb' model='pci-root'><pcihole64>9</pcihole64></controller>"
        "<controller type='pci' index='0' model='pci-root'><pcihole64 unit='MiB'>4</pcihole64>"
        "</controller></devices></domain>";
    vp_domain d = {0};
    vp_error err = {0};

    (void)state;
    d.name = vp_strdup("vm1");
    for (size_t i = 0; i < VP_ARRAY_SIZE(fw); i++) {
        if (read_xml(&d, fw[i].xml, &err) < 0)
            fail_msg("form %zu: %s", i, err.msg);
        if (d.firmware != fw[i].fw)
            fail_msg("form %zu: firmware %d, expected %d", i, d.firmware, fw[i].fw);
    }
    assert_null(d.loader); /* <domain/> cleared what the previous read set */
    assert_int_equal(read_xml(&d, fw[0].xml, &err), 0);
    assert_string_equal(d.loader, "/usr/share/edk2/ovmf/OVMF.fd");
    assert_int_equal(read_xml(&d, pcie_root_port, &err), 0);
    assert_true(d.has_pcihole64);
    assert_int_equal(d.pcihole64_kib, 4096);
    vp_domain_clear(&d);
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
        cmocka_unit_test(test_definition_libvirt),
        cmocka_unit_test(test_definition_units),
        cmocka_unit_test(test_definition_bad),
        cmocka_unit_test(test_definition_forms),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
