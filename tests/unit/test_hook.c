/* Unit tests for src/hook: prepare and release against the kernel model on a copy of the lab's
 * sysfs twin (build/lab/root, copied per test: the copy is written, the lab never), with
 * failures injected at every write, crashes simulated through the state file, two hooks at
 * once, and the refusals. Never the machine's /sys. */
#include "vp_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apply/lock.h"
#include "hook/hook.h"
#include "hook/hook_input.h"
#include "hook/hook_state.h"
#include "kernel_model.h"
#include "plan/plan.h"
#include "util/fs.h"
#include "util/str.h"

#define LAB_ROOT VP_TEST_BUILD_DIR "/lab/root"

typedef struct {
    char *dir;
    char *root;
    vp_kmodel km;
    vp_sysfs_writer w;
    vp_hook_env env;
    char *pristine; /* snapshot of the PCI core right after setup */
} fixture;

static void
write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static void
mkdirs(const char *root, const char *rel)
{
    vp_autofree char *path = vp_path_join(root, rel);
    char *p = path + strlen(root) + 1;

    for (;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;

            *p = '\0';
            assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
            *p = c;
            if (!c)
                break;
        }
    }
}

static void
put_file(fixture *f, const char *rel, const char *text)
{
    vp_autofree char *path = vp_path_join(f->root, rel);
    vp_autofree char *dir = vp_strdup(rel);

    *strrchr(dir, '/') = '\0';
    mkdirs(f->root, dir);
    write_text(path, text);
}

static void
conf(fixture *f, const char *text)
{
    put_file(f, VP_HOOK_CONF, text);
}

static int
setup(void **state)
{
    fixture *f = vp_malloc0(sizeof(*f));

    if (vp_kmodel_fixture_start(LAB_ROOT, "vpass-hook", &f->dir, &f->root, &f->km, &f->w) < 0)
        return -1;
    f->env = (vp_hook_env){
        .root = f->root, .writer = &f->w, .bind_timeout_ms = 200, .lock_timeout_ms = 5000};
    f->pristine = vp_kmodel_snapshot(f->root);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;

    vp_kmodel_fixture_stop(f->dir, f->root, &f->km);
    free(f->pristine);
    free(f);
    return 0;
}

/* A domain XML as libvirt passes it: NAME holding the PCI functions in DEVS ("0000:18:00.0",
 * "=0000:18:00.1" for managed='no', "~0000:3b:10.2" for an <interface type='hostdev'>), with
 * META (raw children of the vpass element, or NULL). */
static char *
domain_xml(const char *name, const char *const *devs, const char *meta)
{
    vp_autostrv char **parts = NULL;

    vp_strv_push_take(&parts, vp_asprintf("<domain type='kvm'>\n  <name>%s</name>\n"
                                          "  <uuid>8c3a0f3e-7b5b-4c47-9d8e-3c2b1a0f9e01</uuid>\n",
                                          name));
    if (meta)
        vp_strv_push_take(&parts, vp_asprintf("  <metadata>\n    <vpass:vpass "
                                              "xmlns:vpass='urn:vpass:domain:1'>%s</vpass:vpass>\n"
                                              "  </metadata>\n",
                                              meta));
    vp_strv_push(&parts, "  <memory unit='KiB'>1048576</memory>\n  <os>\n"
                         "    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>\n  </os>\n"
                         "  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n");
    for (size_t i = 0; devs && devs[i]; i++) {
        const char *d = devs[i];
        bool unmanaged = d[0] == '=', iface = d[0] == '~';
        vp_pci_addr a;

        assert_int_equal(vp_pci_addr_parse(d + (unmanaged || iface), &a, NULL), 0);
        vp_strv_push_take(
            &parts,
            vp_asprintf(
                "    <%s %s managed='%s'>\n      <source>\n        <address %sdomain='0x%04x' "
                "bus='0x%02x' slot='0x%02x' function='0x%x'/>\n      </source>\n    </%s>\n",
                iface ? "interface" : "hostdev",
                iface ? "type='hostdev'" : "mode='subsystem' type='pci'", unmanaged ? "no" : "yes",
                iface ? "type='pci' " : "", a.domain, a.bus, a.slot, a.func,
                iface ? "interface" : "hostdev"));
    }
    vp_strv_push(&parts, "  </devices>\n</domain>\n");
    return vp_strv_join(parts, "", "");
}

static int
run(fixture *f, const char *name, vp_hook_action act, const char *xml, vp_hook_report *rep,
    vp_error *err)
{
    memset(err, 0, sizeof(*err));
    return vp_hook_run(&f->env, name, act, xml, rep, err);
}

/* Prepare NAME holding DEVS and expect success. */
static void
prepare_ok(fixture *f, const char *name, const char *const *devs, size_t isolated)
{
    vp_autofree char *xml = domain_xml(name, devs, NULL);
    vp_hook_report rep = {0};
    vp_error err = {0};

    if (run(f, name, VP_HOOK_ACT_PREPARE, xml, &rep, &err) < 0)
        fail_msg("prepare %s: %s", name, err.msg);
    assert_true(rep.enabled);
    assert_int_equal(rep.isolated, isolated);
    vp_hook_report_clear(&rep);
}

static void
release_ok(fixture *f, const char *name, const char *const *devs, size_t released)
{
    vp_autofree char *xml = domain_xml(name, devs, NULL);
    vp_hook_report rep = {0};
    vp_error err = {0};

    if (run(f, name, VP_HOOK_ACT_RELEASE, xml, &rep, &err) < 0)
        fail_msg("release %s: %s", name, err.msg);
    assert_int_equal(rep.released, released);
    vp_hook_report_clear(&rep);
}

static char *
driver_of(fixture *f, const char *addr)
{
    vp_sysfs s = {.root = f->root};
    vp_pci_addr a;
    char *d = NULL;

    assert_int_equal(vp_pci_addr_parse(addr, &a, NULL), 0);
    assert_int_equal(vp_sysfs_read_driver(&s, &a, &d, NULL), 0);
    return d;
}

static void
assert_driver(fixture *f, const char *addr, const char *want)
{
    vp_autofree char *d = driver_of(f, addr);

    if (!vp_streq(d, want))
        fail_msg("%s: driver %s, expected %s", addr, d ? d : "none", want ? want : "none");
}

static void
assert_pristine(fixture *f)
{
    vp_autofree char *now = vp_kmodel_snapshot(f->root);

    assert_string_equal(f->pristine, now);
}

static bool
state_exists(fixture *f, const char *name)
{
    vp_autofree char *path = vp_hook_state_path(f->root, name);

    return access(path, F_OK) == 0;
}

static char *
state_text(fixture *f, const char *name)
{
    vp_autofree char *path = vp_hook_state_path(f->root, name);
    char *buf = NULL;

    assert_int_equal(vp_read_file(path, 1 << 16, &buf, NULL), 0);
    return buf;
}

/* A second function in the same group as SRC, as if SRC's card had two: a copy of SRC's
 * directory (without its net/), bound to the same driver, linked as Linux links it. */
static void
add_function(fixture *f, const char *src, const char *dst)
{
    vp_autofree char *link = vp_asprintf("%s/sys/bus/pci/devices/%s", f->root, src);
    vp_autofree char *src_dir = realpath(link, NULL);
    vp_autofree char *parent = NULL;
    vp_autofree char *dst_dir = NULL;
    vp_autofree char *net = NULL;
    vp_autofree char *drv = NULL;
    vp_autofree char *grp = NULL;
    vp_autofree char *rel = NULL;
    vp_autofree char *p = NULL;
    vp_autofree char *t = NULL;
    const char *sys;

    assert_non_null(src_dir);
    parent = vp_strndup(src_dir, (size_t)(strrchr(src_dir, '/') - src_dir));
    dst_dir = vp_path_join(parent, dst);
    vp_kmodel_copy_tree(src_dir, dst_dir);
    net = vp_path_join(dst_dir, "net");
    vp_kmodel_remove_tree(net);
    /* Links relative to the device directory, as the kernel writes them: same depth, same
     * targets for driver and iommu_group. */
    sys = strstr(dst_dir, "/sys/devices/") + 5; /* "devices/..." */
    p = vp_asprintf("%s/sys/bus/pci/devices/%s", f->root, dst);
    t = vp_asprintf("../../../%s", sys);
    assert_int_equal(symlink(t, p), 0);
    free(p);
    p = vp_path_join(dst_dir, "driver");
    assert_int_equal(vp_readlink(p, &drv), 0);
    free(p);
    p = vp_asprintf("%s/sys/bus/pci/drivers/%s/%s", f->root, vp_basename(drv), dst);
    free(t);
    t = vp_asprintf("../../../../%s", sys);
    assert_int_equal(symlink(t, p), 0);
    free(p);
    p = vp_path_join(dst_dir, "iommu_group");
    assert_int_equal(vp_readlink(p, &grp), 0);
    free(p);
    p = vp_asprintf("%s/sys/kernel/iommu_groups/%s/devices/%s", f->root, vp_basename(grp), dst);
    free(t);
    t = vp_asprintf("../../../../%s", sys);
    assert_int_equal(symlink(t, p), 0);
    (void)rel;
    free(f->pristine);
    f->pristine = vp_kmodel_snapshot(f->root);
}

/* A libvirt status file: NAME runs and holds DEVS. */
static void
running_domain(fixture *f, const char *name, const char *const *devs)
{
    vp_autofree char *dom = domain_xml(name, devs, NULL);
    vp_autofree char *text = vp_asprintf("<domstatus state='running' reason='booted' pid='4242'>\n"
                                         "  <taint flag='high-privileges'/>\n"
                                         "  <monitor path='/var/lib/libvirt/qemu/x/monitor.sock' "
                                         "type='unix'/>\n%s</domstatus>\n",
                                         dom);
    vp_autofree char *rel = vp_asprintf("run/libvirt/qemu/%s.xml", name);

    put_file(f, rel, text);
}

/* ---- tests ---- */

static void
test_action_of(void **state)
{
    fixture *f = *state;
    static const char *const none[][2] = {
        {"start", "begin"},
        {"started", "begin"},
        {"stopped", "end"},
        {"migrate", "begin"},
        {"restore", "begin"},
        {"reconnect", "begin"},
        {"attach", "begin"},
        {"prepare", "end"},
        {"release", "begin"},
        {"frobnicate", "-"},
        {"", ""},
        {NULL, NULL},
    };
    vp_autofree char *lock = vp_path_join(f->root, "run/vpass");
    vp_error err = {0};

    assert_string_equal(VP_HOOK_METADATA_NS, VP_METADATA_NS);
    assert_int_equal(vp_hook_action_of("prepare", "begin"), VP_HOOK_ACT_PREPARE);
    assert_int_equal(vp_hook_action_of("release", "end"), VP_HOOK_ACT_RELEASE);
    for (size_t i = 0; i < VP_ARRAY_SIZE(none); i++) {
        assert_int_equal(vp_hook_action_of(none[i][0], none[i][1]), VP_HOOK_ACT_NONE);
        assert_int_equal(vp_hook_run(&f->env, "vm", VP_HOOK_ACT_NONE, "garbage", NULL, &err), 0);
    }
    assert_int_equal(f->km.writes, 0);
    assert_int_equal(access(lock, F_OK), -1); /* not even the lock was taken */
}

static void
test_policy_off(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:18:00.0", NULL};
    vp_autofree char *xml = domain_xml("vm-a", devs, NULL);
    vp_autofree char *off = domain_xml("vm-a", devs, "<vpass:hook enable='no'/>");
    vp_autofree char *lock = vp_path_join(f->root, "run/vpass");
    vp_hook_report rep = {0};
    vp_error err = {0};

    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, &rep, &err), 0);
    assert_false(rep.enabled);
    assert_string_equal(rep.policy, "off by default");
    vp_hook_report_clear(&rep);
    /* Listed for other domains only. */
    conf(f, "[hook]\nenable = vm-b, vm-c\n");
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, &rep, &err), 0);
    assert_false(rep.enabled);
    vp_hook_report_clear(&rep);
    /* The domain's own "no" wins over enable = all. */
    conf(f, "[hook]\nenable = all\n");
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, off, &rep, &err), 0);
    assert_false(rep.enabled);
    assert_string_equal(rep.policy, "the domain's vpass metadata");
    vp_hook_report_clear(&rep);
    assert_int_equal(f->km.writes, 0);
    assert_int_equal(access(lock, F_OK), -1);
    assert_pristine(f);
}

/* Each way to turn it on. */
static void
test_policy_on(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:18:00.0", NULL};
    vp_autofree char *meta = domain_xml("vm-a", devs, "<vpass:hook enable='yes'/>");
    vp_hook_report rep = {0};
    vp_error err = {0};

    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, meta, &rep, &err), 0);
    assert_true(rep.enabled);
    assert_int_equal(rep.isolated, 1);
    vp_hook_report_clear(&rep);
    release_ok(f, "vm-a", devs, 1);
    conf(f, "# vpass hook policy\n[hook]\n  enable = vm-b vm-a   ; both\nisolate = yes # default\n"
            "enable = ;nothing\n");
    prepare_ok(f, "vm-a", devs, 1);
    release_ok(f, "vm-a", devs, 1);
    assert_pristine(f);
}

/* The whole trip: prepare isolates every sibling of every group the domain holds (not the
 * domain's own functions: libvirt detaches those), release gives each back exactly. */
static void
test_round_trip(void **state)
{
    fixture *f = *state;
    /* 18:00.0 as an <interface type='hostdev'>: its group is completed the same way. */
    static const char *const devs[] = {"~0000:18:00.0", "0000:41:00.0", "0000:3b:10.2", NULL};
    vp_autofree char *text = NULL;
    vp_autofree char *mid = NULL;

    conf(f, "[hook]\nenable = all\n");
    prepare_ok(f, "vm-a", devs, 2);
    assert_driver(f, "0000:18:00.1", "vfio-pci");
    assert_driver(f, "0000:41:00.1", "vfio-pci");
    assert_driver(f, "0000:18:00.0", "tg3"); /* the domain's own: libvirt's job */
    assert_driver(f, "0000:41:00.0", "nouveau");
    assert_driver(f, "0000:3b:10.2", "igbvf"); /* a group of its own */
    assert_int_equal(f->km.new_id_writes, 0);
    text = state_text(f, "vm-a");
    assert_string_equal(text,
                        "# vpass-hook state (docs/hook.md): devices vpass took from their host "
                        "drivers for one domain\n"
                        "version 1\n"
                        "domain vm-a\n"
                        "device 0000:18:00.1 driver=tg3 override=(null) phase=bound\n"
                        "device 0000:41:00.1 driver=snd_hda_intel override=(null) phase=bound\n");
    mid = vp_kmodel_snapshot(f->root);
    assert_string_not_equal(mid, f->pristine);
    release_ok(f, "vm-a", devs, 2);
    assert_false(state_exists(f, "vm-a"));
    assert_pristine(f);
}

/* Prepare twice is prepare once; release twice, or without prepare, is nothing. */
static void
test_idempotent(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:18:00.0", NULL};
    static const char *const other[] = {"0000:41:00.0", NULL};
    vp_autofree char *lock = vp_path_join(f->root, "run/vpass/lock");

    conf(f, "[hook]\nenable = all\n");
    release_ok(f, "vm-a", devs, 0);
    assert_int_equal(f->km.writes, 0);
    assert_int_equal(access(lock, F_OK), -1); /* nothing recorded: not even the lock */
    prepare_ok(f, "vm-a", devs, 1);
    f->km.writes = 0;
    prepare_ok(f, "vm-a", devs, 0);
    assert_int_equal(f->km.writes, 0);
    assert_driver(f, "0000:18:00.1", "vfio-pci");
    release_ok(f, "vm-a", devs, 1);
    f->km.writes = 0;
    release_ok(f, "vm-a", devs, 0);
    release_ok(f, "vm-b", other, 0);
    assert_int_equal(f->km.writes, 0);
    assert_pristine(f);
}

/* A failure at each write of a prepare (three errnos): the host is exactly as before, no state
 * is left, and the error is one line naming the domain. */
static void
test_fail_each_step(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:18:00.0", "0000:41:00.0", NULL};
    static const int errnos[] = {EIO, EBUSY, ENODEV};
    vp_autofree char *xml = domain_xml("vm-a", devs, NULL);
    unsigned total;

    conf(f, "[hook]\nenable = all\n");
    prepare_ok(f, "vm-a", devs, 2);
    total = f->km.writes;
    assert_int_equal(total, 6); /* per sibling: driver_override, unbind, drivers_probe */
    release_ok(f, "vm-a", devs, 2);
    assert_pristine(f);

    for (size_t e = 0; e < VP_ARRAY_SIZE(errnos); e++)
        for (unsigned n = 1; n <= total; n++) {
            vp_error err = {0};

            f->km.writes = 0;
            f->km.fail_at = n;
            f->km.fail_errno = errnos[e];
            assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
            f->km.fail_at = 0;
            assert_int_equal(err.code, VP_E_SYSTEM);
            assert_int_equal(vp_hook_exit_code(&err), 1);
            assert_true(vp_startswith(err.msg, "vm-a: 0000:"));
            assert_non_null(strstr(err.msg, "rolled back"));
            assert_null(strchr(err.msg, '\n'));
            assert_pristine(f);
            assert_false(state_exists(f, "vm-a"));
        }
    assert_int_equal(f->km.new_id_writes, 0);
}

/* The rollback fails too: what is left is recorded, and the next release repairs it. */
static void
test_rollback_fails(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:18:00.0", "0000:41:00.0", NULL};
    vp_autofree char *xml = domain_xml("vm-a", devs, NULL);
    vp_autofree char *text = NULL;
    vp_error err = {0};

    conf(f, "[hook]\nenable = all\n");
    f->km.fail_at = 5; /* the second sibling's unbind, and everything after */
    f->km.fail_all_after = true;
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "rolling back failed for 2 of 2 devices"));
    f->km.fail_at = 0;
    text = state_text(f, "vm-a");
    assert_non_null(strstr(text, "device 0000:18:00.1 driver=tg3 override=(null) phase=releasing"));
    assert_non_null(strstr(text, "device 0000:41:00.1 driver=snd_hda_intel override=(null) "
                                 "phase=releasing"));
    release_ok(f, "vm-a", devs, 2);
    assert_false(state_exists(f, "vm-a"));
    assert_pristine(f);
}

/* Record written, then the hook died before any write: the next prepare completes it. */
static void
test_crash_then_prepare(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:18:00.0", NULL};
    vp_hook_state s = {.domain = (char *)"vm-a"};
    vp_pci_addr a;
    vp_error err = {0};

    conf(f, "[hook]\nenable = all\n");
    assert_int_equal(vp_pci_addr_parse("0000:18:00.1", &a, NULL), 0);
    vp_hook_state_add(&s, &a, "tg3", NULL, VP_HOOK_BINDING);
    assert_int_equal(vp_hook_state_save(f->root, &s, &err), 0);
    s.domain = NULL;
    vp_hook_state_clear(&s);

    prepare_ok(f, "vm-a", devs, 1);
    assert_driver(f, "0000:18:00.1", "vfio-pci");
    {
        vp_autofree char *text = state_text(f, "vm-a");

        assert_non_null(strstr(text, "device 0000:18:00.1 driver=tg3 override=(null) phase=bound"));
    }
    release_ok(f, "vm-a", devs, 1);
    assert_pristine(f);
}

/* The hook died half-way through a bind (override set, unbound): its own release repairs. */
static void
test_crash_then_release(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:18:00.0", NULL};
    vp_autofree char *xml = domain_xml("vm-a", devs, NULL);
    vp_error err = {0};

    conf(f, "[hook]\nenable = all\n");
    /* A crash after the unbind: the probe never came, the rollback never ran. */
    f->km.fail_at = 3;
    f->km.fail_all_after = true;
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    f->km.fail_at = 0;
    assert_driver(f, "0000:18:00.1", NULL);
    assert_true(state_exists(f, "vm-a"));
    release_ok(f, "vm-a", devs, 1);
    assert_false(state_exists(f, "vm-a"));
    assert_pristine(f);
}

/* A run for another domain repairs entries a dead run left half-way (a bind never confirmed,
 * a release that died), and leaves confirmed ones alone. */
static void
test_crash_repaired_by_other_domain(void **state)
{
    fixture *f = *state;
    static const char *const a_devs[] = {"0000:18:00.0", NULL};
    static const char *const b_devs[] = {"0000:3b:10.2", NULL};
    static const char *const c_devs[] = {"0000:41:00.0", NULL};
    vp_autofree char *xml = domain_xml("vm-a", a_devs, NULL);
    vp_hook_report rep = {0};
    vp_error err = {0};
    vp_hook_state s = {0};
    bool found;

    conf(f, "[hook]\nenable = all\n");
    /* vm-c: prepared fine (bound: it runs, and stays). */
    prepare_ok(f, "vm-c", c_devs, 1);
    /* vm-a: died after the unbind. */
    f->km.writes = 0;
    f->km.fail_at = 3;
    f->km.fail_all_after = true;
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    f->km.fail_at = 0;

    {
        vp_autofree char *bxml = domain_xml("vm-b", b_devs, NULL);

        assert_int_equal(run(f, "vm-b", VP_HOOK_ACT_PREPARE, bxml, &rep, &err), 0);
    }
    assert_int_equal(rep.repaired, 1);
    assert_non_null(rep.notes);
    vp_hook_report_clear(&rep);
    assert_driver(f, "0000:18:00.1", "tg3");
    assert_false(state_exists(f, "vm-a"));
    assert_driver(f, "0000:41:00.1", "vfio-pci");

    /* vm-c's release dies after its first write: the next run (a release of vm-b) repairs. */
    f->km.writes = 0;
    f->km.fail_at = 2;
    f->km.fail_all_after = true;
    {
        vp_autofree char *cxml = domain_xml("vm-c", c_devs, NULL);

        assert_int_equal(run(f, "vm-c", VP_HOOK_ACT_RELEASE, cxml, NULL, &err), -1);
        assert_int_equal(err.code, VP_E_SYSTEM);
        assert_non_null(strstr(err.msg, "recorded for the next run"));
    }
    f->km.fail_at = 0;
    assert_int_equal(vp_hook_state_load(f->root, "vm-c", &s, &found, &err), 0);
    assert_true(found);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.entries[0].phase, VP_HOOK_RELEASING);
    vp_hook_state_clear(&s);
    release_ok(f, "vm-b", b_devs, 0);
    assert_false(state_exists(f, "vm-c"));
    assert_pristine(f);
}

/* Two hooks for two domains at once on one root: the lock serializes them, both succeed, and
 * neither loses the other's state. */
static void
test_two_domains_at_once(void **state)
{
    fixture *f = *state;
    static const char *const a_devs[] = {"0000:18:00.0", NULL};
    static const char *const b_devs[] = {"0000:41:00.0", NULL};
    const char *const *devs[] = {a_devs, b_devs};
    static const char *const names[] = {"vm-a", "vm-b"};

    conf(f, "[hook]\nenable = all\n");
    f->km.delay_us = 20000; /* each write takes 20 ms: the two runs overlap */
    for (int act = VP_HOOK_ACT_PREPARE; act <= VP_HOOK_ACT_RELEASE; act++) {
        pid_t pids[2];

        for (int i = 0; i < 2; i++) {
            pids[i] = fork();
            assert_true(pids[i] >= 0);
            if (pids[i] == 0) {
                vp_autofree char *xml = domain_xml(names[i], devs[i], NULL);
                vp_error err = {0};
                int rc = vp_hook_run(&f->env, names[i], (vp_hook_action)act, xml, NULL, &err);

                if (rc < 0)
                    fprintf(stderr, "%s\n", err.msg);
                _exit(rc < 0 ? 1 : 0);
            }
        }
        for (int i = 0; i < 2; i++) {
            int st;

            assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
            assert_true(WIFEXITED(st));
            assert_int_equal(WEXITSTATUS(st), 0);
        }
        if (act == VP_HOOK_ACT_PREPARE) {
            vp_autofree char *ta = state_text(f, "vm-a");
            vp_autofree char *tb = state_text(f, "vm-b");

            assert_non_null(strstr(ta, "device 0000:18:00.1 driver=tg3"));
            assert_non_null(strstr(tb, "device 0000:41:00.1 driver=snd_hda_intel"));
            assert_driver(f, "0000:18:00.1", "vfio-pci");
            assert_driver(f, "0000:41:00.1", "vfio-pci");
        }
    }
    assert_false(state_exists(f, "vm-a"));
    assert_false(state_exists(f, "vm-b"));
    assert_pristine(f);
}

/* The management NIC shares the group: refused, with the reason, and nothing touched. */
static void
test_management_nic(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:01:00.1", NULL};
    vp_autofree char *xml = NULL;
    vp_error err = {0};

    add_function(f, "0000:01:00.0", "0000:01:00.1");
    conf(f, "[hook]\nenable = all\n");
    xml = domain_xml("vm-a", devs, NULL);
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_UNSAFE);
    assert_int_equal(vp_hook_exit_code(&err), 6);
    assert_true(
        vp_startswith(err.msg, "vm-a: IOMMU group 16 cannot be made complete: 0000:01:00.0"));
    assert_non_null(strstr(err.msg, "eno1"));
    assert_non_null(strstr(err.msg, "default route"));
    assert_null(strchr(err.msg, '\n'));
    assert_int_equal(f->km.writes, 0);
    assert_false(state_exists(f, "vm-a"));
    assert_pristine(f);
}

/* A sibling another running domain holds (libvirt's status files): refused. One without
 * "hostdev" is never parsed; a broken one that might hold devices stops the start. */
static void
test_running_owner(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:18:00.0", NULL};
    static const char *const b_devs[] = {"0000:18:00.1", NULL};
    vp_autofree char *xml = domain_xml("vm-a", devs, NULL);
    vp_error err = {0};

    conf(f, "[hook]\nenable = all\n");
    put_file(f, "run/libvirt/qemu/plain.xml", "not XML, and no host device word");
    put_file(f, "run/libvirt/qemu/vm-a.xml",
             "<domstatus><domain><name>vm-a</name></domain>"
             "<!-- hostdev --></domstatus>");
    prepare_ok(f, "vm-a", devs, 1);
    release_ok(f, "vm-a", devs, 1);

    running_domain(f, "vm-b", b_devs);
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_UNSAFE);
    assert_string_equal(err.msg, "vm-a: IOMMU group 26 cannot be made complete: 0000:18:00.1 is "
                                 "held by running domain vm-b");

    /* A domain on other buses is not even parsed; one that may hold bus 0x18 is. */
    put_file(f, "run/libvirt/qemu/vm-b.xml", "<domstatus><hostdev/> bus='0x19'");
    prepare_ok(f, "vm-a", devs, 1);
    release_ok(f, "vm-a", devs, 1);
    put_file(f, "run/libvirt/qemu/vm-b.xml", "<domstatus><hostdev/> bus='0x18'");
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_int_equal(f->km.writes, 12);
    assert_pristine(f);
}

/* Policy that forbids isolation, and protected functions: refused before any change. */
static void
test_policy_forbids(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:18:00.0", NULL};
    vp_autofree char *xml = domain_xml("vm-a", devs, NULL);
    vp_autofree char *meta = domain_xml("vm-a", devs, "<vpass:hook enable='yes' isolate='no'/>");
    vp_error err = {0};

    conf(f, "[hook]\nenable = all\nisolate = no\n");
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_UNSAFE);
    assert_string_equal(err.msg, "vm-a: IOMMU group 26 cannot be made complete: 0000:18:00.1 is on "
                                 "tg3, and isolation is off for vm-a (hook.conf or metadata: "
                                 "isolate = no)");
    conf(f, "");
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, meta, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_UNSAFE);
    conf(f, "[hook]\nenable = all\nprotect = 0000:41:00.1 18:00.1\n");
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_UNSAFE);
    assert_non_null(strstr(err.msg, "0000:18:00.1 (tg3) is protected in hook.conf"));
    assert_int_equal(f->km.writes, 0);
    assert_pristine(f);
}

/* The SATA controller's group holds the LPC bridge: the platform is never taken. */
static void
test_platform_bridge(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:00:1f.2", NULL};
    vp_autofree char *xml = domain_xml("vm-a", devs, NULL);
    vp_error err = {0};

    conf(f, "[hook]\nenable = all\n");
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_UNSAFE);
    assert_string_equal(err.msg, "vm-a: IOMMU group 15 cannot be made complete: 0000:00:1f.0 "
                                 "(lpc_ich) is a platform bridge (class 0601): the host needs it");
    assert_int_equal(f->km.writes, 0);
}

/* Firmware-owned memory in a sibling's group: vfio-pci would refuse it, so the start is. */
static void
test_rmrr(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:04:00.1", NULL};
    vp_autofree char *xml = domain_xml("vm-a", devs, NULL);
    vp_error err = {0};

    add_function(f, "0000:04:00.0", "0000:04:00.1");
    conf(f, "[hook]\nenable = all\n");
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_UNSAFE);
    assert_true(vp_startswith(err.msg, "vm-a: group 18: firmware-owned memory"));
    assert_int_equal(f->km.writes, 0);
    assert_pristine(f);
}

/* Bridges stay with the host; a device already free needs nothing. */
static void
test_nothing_to_do(void **state)
{
    fixture *f = *state;
    static const char *const behind_switch[] = {"0000:05:00.0", NULL}; /* group 19: a port */
    static const char *const vm1_vf[] = {"~0000:3b:10.0", NULL};       /* alone, on vfio-pci */
    static const char *const pci[] = {"0000:07:08.0", NULL};           /* group 20 */

    conf(f, "[hook]\nenable = all\n");
    prepare_ok(f, "vm-a", behind_switch, 0);
    prepare_ok(f, "vm-b", vm1_vf, 0);
    assert_int_equal(f->km.writes, 0);
    assert_false(state_exists(f, "vm-a"));
    /* Behind the PCIe-to-PCI bridge: the other card goes, the bridge stays. */
    prepare_ok(f, "vm-c", pci, 1);
    assert_driver(f, "0000:07:0b.0", "vfio-pci");
    assert_driver(f, "0000:07:08.0", "saa7134");
    release_ok(f, "vm-c", pci, 1);
    assert_pristine(f);
}

/* The domain XML: malformed or foreign input changes nothing; it stops a start only when
 * hook.conf enables the hook for that domain (its metadata cannot be read). */
static void
test_malformed_xml(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:18:00.0", NULL};
    static const char *const bad[] = {
        "<domain",
        "",
        "<network><name>vm-a</name></network>",
        "<domain><name>vm-b</name></domain>",
        "<!DOCTYPE d [<!ENTITY x 'y'>]><domain><name>vm-a</name></domain>",
    };
    vp_autofree char *ok = domain_xml("vm-a", devs, NULL);
    vp_autofree char *meta = domain_xml("vm-a", devs, "<vpass:hook enable='maybe'/>");
    vp_hook_report rep = {0};
    vp_error err = {0};

    for (size_t i = 0; i < VP_ARRAY_SIZE(bad); i++) {
        assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, bad[i], &rep, &err), 0);
        assert_non_null(rep.notes);
        vp_hook_report_clear(&rep);
    }
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, NULL, NULL, &err), 0);
    conf(f, "[hook]\nenable = vm-a\n");
    for (size_t i = 0; i < VP_ARRAY_SIZE(bad); i++) {
        assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, bad[i], NULL, &err), -1);
        assert_int_equal(err.code, VP_E_DATA);
        assert_int_equal(vp_hook_exit_code(&err), 7);
        assert_true(vp_startswith(err.msg, "vm-a: "));
    }
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, NULL, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, meta, NULL, &err), -1);
    assert_string_equal(err.msg, "vm-a: vpass metadata: <hook enable='maybe'> is neither 'yes' "
                                 "nor 'no'");
    assert_int_equal(f->km.writes, 0);

    /* At release what vpass recorded goes back all the same; the error is still reported. */
    prepare_ok(f, "vm-a", devs, 1);
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_RELEASE, "<domain", &rep, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_int_equal(rep.released, 1);
    vp_hook_report_clear(&rep);
    assert_pristine(f);
    assert_int_equal(run(f, "", VP_HOOK_ACT_PREPARE, ok, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_USAGE);
}

/* hook.conf as parsed: lists add up, comments go, "none" is no name. */
static void
test_conf_parse(void **state)
{
    char text[] = "; vpass\n[hook]\nenable = vm1, vm2 # two\nenable = none web\t;c\n"
                  "isolate = Off\nprotect = 18:00.1 0000:41:00.1\n\n  # end\n";
    vp_hook_conf c = {0};
    vp_hook_policy pol;
    vp_error err = {0};

    (void)state;
    assert_int_equal(vp_hook_conf_parse("hook.conf", text, &c, &err), 0);
    assert_true(c.found);
    assert_false(c.enable_all);
    assert_int_equal(vp_strv_len(c.enable), 3);
    assert_string_equal(c.enable[0], "vm1");
    assert_string_equal(c.enable[1], "vm2");
    assert_string_equal(c.enable[2], "web");
    assert_false(c.isolate);
    assert_int_equal(c.n_protect, 2);
    vp_hook_policy_resolve(&c, "vm2", -1, -1, &pol);
    assert_true(pol.enabled);
    assert_false(pol.isolate);
    vp_hook_policy_resolve(&c, "vm2", 0, 1, &pol);
    assert_false(pol.enabled);
    assert_true(pol.isolate);
    vp_hook_policy_resolve(&c, "vm3", -1, -1, &pol);
    assert_false(pol.enabled);
    vp_hook_conf_clear(&c);
}

/* hook.conf: a typo never silently turns the hook off. */
static void
test_conf_errors(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"[hook]\nenabel = all\n", "hook.conf:2: unknown key 'enabel' (enable, isolate, protect)"},
        {"[hooks]\nenable = all\n", "hook.conf:1: unknown section [hooks] (expected [hook])"},
        {"enable = all\n", "hook.conf:1: 'enable ' outside the [hook] section"},
        {"[hook]\nisolate = maybe\n", "hook.conf:2: isolate: 'maybe' is not yes or no"},
        {"[hook]\nprotect = eno1\n", "hook.conf:2: protect: 'eno1' is not a PCI address "
                                     "(0000:18:00.1)"},
        {"[hook]\nenable\n", "hook.conf:2: expected 'key = value'"},
    };
    static const char *const devs[] = {"0000:18:00.0", NULL};
    vp_autofree char *xml = domain_xml("vm-a", devs, NULL);

    for (size_t i = 0; i < VP_ARRAY_SIZE(cases); i++) {
        vp_error err = {0};

        conf(f, cases[i].text);
        assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
        assert_int_equal(err.code, VP_E_DATA);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("'%s' does not contain '%s'", err.msg, cases[i].msg);
    }
    assert_int_equal(f->km.writes, 0);
}

/* The state file: names escaped, read back, anything malformed refused with a hint. */
static void
test_state_file(void **state)
{
    fixture *f = *state;
    static const char *const names[] = {"vm-a", "web 1", ".hidden",
                                        "a%b",  "x/y",   "\xc3\xa9t\xc3\xa9"};
    static const char *const devs[] = {"0000:18:00.0", NULL};
    vp_autofree char *xml = domain_xml("vm-a", devs, NULL);
    vp_autofree char *longname = NULL;
    vp_autofree char *p1 = NULL;
    vp_autofree char *p2 = NULL;
    vp_error err = {0};
    vp_pci_addr a;

    assert_int_equal(vp_pci_addr_parse("0000:18:00.1", &a, NULL), 0);
    for (size_t i = 0; i < VP_ARRAY_SIZE(names); i++) {
        vp_hook_state s = {.domain = vp_strdup(names[i])};
        vp_hook_state back = {0};
        vp_autofree char *path = vp_hook_state_path(f->root, names[i]);
        bool found;

        vp_hook_state_add(&s, &a, "tg3", "pci-stub", VP_HOOK_RELEASING);
        assert_int_equal(vp_hook_state_save(f->root, &s, &err), 0);
        assert_null(strchr(vp_basename(path), ' '));
        assert_int_not_equal(vp_basename(path)[0], '.');
        assert_int_equal(vp_hook_state_load(f->root, names[i], &back, &found, &err), 0);
        assert_true(found);
        assert_string_equal(back.domain, names[i]);
        assert_int_equal(back.n, 1);
        assert_string_equal(back.entries[0].driver, "tg3");
        assert_string_equal(back.entries[0].override, "pci-stub");
        assert_int_equal(back.entries[0].phase, VP_HOOK_RELEASING);
        vp_hook_state_clear(&back);
        vp_hook_state_clear(&s);
        s.domain = vp_strdup(names[i]);
        assert_int_equal(vp_hook_state_save(f->root, &s, &err), 0); /* empty: removed */
        assert_int_equal(access(path, F_OK), -1);
        vp_hook_state_clear(&s);
    }
    longname = vp_malloc0(301);
    memset(longname, 'n', 300);
    p1 = vp_hook_state_path(f->root, longname);
    longname[299] = 'm';
    p2 = vp_hook_state_path(f->root, longname);
    assert_true(strlen(vp_basename(p1)) < 255);
    assert_string_not_equal(p1, p2);

    conf(f, "[hook]\nenable = all\n");
    put_file(f, "run/vpass/hook/vm-a.state",
             "version 1\ndomain vm-a\ndevice 0000:18:00.1 driver=tg3\n");
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_non_null(strstr(err.msg, "vm-a.state: line 3 is malformed"));
    assert_non_null(strstr(err.hint, "will not guess"));
    put_file(f, "run/vpass/hook/vm-a.state", "version 1\ndomain vm-b\n");
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    put_file(
        f, "run/vpass/hook/vm-a.state",
        "version 1\ndomain vm-a\ndevice 0000:18:00.1 driver=../../x override=(null) phase=bound\n");
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_int_equal(f->km.writes, 0);
}

/* Hot-plugged into the domain after prepare: at release it is the domain's, left to libvirt. */
static void
test_hot_plugged(void **state)
{
    fixture *f = *state;
    static const char *const before[] = {"0000:18:00.0", NULL};
    static const char *const after[] = {"0000:18:00.0", "0000:18:00.1", NULL};
    vp_autofree char *xml = domain_xml("vm-a", after, NULL);
    vp_hook_report rep = {0};
    vp_error err = {0};

    conf(f, "[hook]\nenable = all\n");
    prepare_ok(f, "vm-a", before, 1);
    f->km.writes = 0;
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_RELEASE, xml, &rep, &err), 0);
    assert_int_equal(rep.released, 0);
    assert_non_null(strstr(rep.notes[0], "left to libvirt"));
    vp_hook_report_clear(&rep);
    assert_int_equal(f->km.writes, 0);
    assert_false(state_exists(f, "vm-a"));
    assert_driver(f, "0000:18:00.1", "vfio-pci");
}

/* The definition changed between two starts: what is no longer a sibling goes back. */
static void
test_definition_changed(void **state)
{
    fixture *f = *state;
    static const char *const old[] = {"0000:41:00.0", NULL};
    static const char *const now[] = {"0000:18:00.0", NULL};
    vp_autofree char *text = NULL;

    conf(f, "[hook]\nenable = all\n");
    prepare_ok(f, "vm-a", old, 1);
    prepare_ok(f, "vm-a", now, 1);
    assert_driver(f, "0000:41:00.1", "snd_hda_intel");
    assert_driver(f, "0000:18:00.1", "vfio-pci");
    text = state_text(f, "vm-a");
    assert_null(strstr(text, "0000:41:00.1"));
    release_ok(f, "vm-a", now, 1);
    assert_pristine(f);
}

/* A stale entry (no longer a sibling) that cannot go back stays recorded, is not bound again,
 * and does not stop the start. */
static void
test_stale_entry_stuck(void **state)
{
    fixture *f = *state;
    static const char *const old[] = {"0000:41:00.0", NULL};
    static const char *const now[] = {"0000:18:00.0", NULL};
    vp_autofree char *def =
        vp_path_join(f->root, "sys/bus/pci/devices/0000:41:00.1/" VP_KMODEL_DEFAULT_DRIVER);
    vp_autofree char *text = NULL;
    vp_autofree char *xml = domain_xml("vm-a", now, NULL);
    vp_hook_report rep = {0};
    vp_error err = {0};

    conf(f, "[hook]\nenable = all\n");
    prepare_ok(f, "vm-a", old, 1);
    assert_int_equal(unlink(def), 0); /* snd_hda_intel will not claim it back */
    f->env.bind_timeout_ms = 20;
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, &rep, &err), 0);
    assert_int_equal(rep.isolated, 1);
    assert_non_null(rep.notes);
    assert_non_null(strstr(rep.notes[0], "not bound back to snd_hda_intel"));
    vp_hook_report_clear(&rep);
    assert_driver(f, "0000:18:00.1", "vfio-pci");
    assert_driver(f, "0000:41:00.1", NULL);
    text = state_text(f, "vm-a");
    assert_non_null(strstr(text, "device 0000:41:00.1 driver=snd_hda_intel override=(null) "
                                 "phase=releasing"));
    assert_non_null(strstr(text, "device 0000:18:00.1 driver=tg3 override=(null) phase=bound"));
}

/* A release died half-way; the domain starts again: the sibling is bound again. */
static void
test_release_died_then_prepare(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:18:00.0", NULL};
    vp_autofree char *xml = domain_xml("vm-a", devs, NULL);
    vp_autofree char *text = NULL;
    vp_error err = {0};

    conf(f, "[hook]\nenable = all\n");
    prepare_ok(f, "vm-a", devs, 1);
    f->km.writes = 0;
    f->km.fail_at = 2; /* the unbind from vfio-pci */
    f->km.fail_all_after = true;
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_RELEASE, xml, NULL, &err), -1);
    f->km.fail_at = 0;
    assert_driver(f, "0000:18:00.1", "vfio-pci");
    prepare_ok(f, "vm-a", devs, 1);
    text = state_text(f, "vm-a");
    assert_non_null(strstr(text, "device 0000:18:00.1 driver=tg3 override=(null) phase=bound"));
    assert_driver(f, "0000:18:00.1", "vfio-pci");
    release_ok(f, "vm-a", devs, 1);
    assert_pristine(f);
}

/* Refusals that leave everything as it was: no vfio-pci, the lock held, the state unwritable. */
static void
test_environment_failures(void **state)
{
    fixture *f = *state;
    static const char *const devs[] = {"0000:18:00.0", NULL};
    vp_autofree char *xml = domain_xml("vm-a", devs, NULL);
    vp_autofree char *drv = vp_path_join(f->root, "sys/bus/pci/drivers/vfio-pci");
    vp_autofree char *moved = vp_path_join(f->root, "sys/bus/pci/drivers/.vfio-pci");
    vp_autofree char *hookdir = vp_path_join(f->root, "run/vpass/hook");
    vp_lock *lock = NULL;
    vp_error err = {0};
    pid_t pid;
    int p[2], st;
    char c;

    conf(f, "[hook]\nenable = all\n");
    assert_int_equal(rename(drv, moved), 0);
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_int_equal(vp_hook_exit_code(&err), 5);
    assert_string_equal(err.msg, "vm-a: 0000:18:00.1 must go to vfio-pci, which is not loaded");
    assert_int_equal(rename(moved, drv), 0);

    /* Another holder of the lock (a vpass attach in another process). */
    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        if (vp_lock_acquire(f->root, &lock, NULL) < 0 || write(p[1], "L", 1) != 1)
            _exit(1);
        usleep(500000);
        _exit(0);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    f->env.lock_timeout_ms = 50;
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_SYSTEM);
    assert_non_null(strstr(err.msg, "another vpass holds"));
    assert_int_equal(waitpid(pid, &st, 0), pid);
    f->env.lock_timeout_ms = 5000;

    /* The state directory cannot be made: nothing is written to sysfs. */
    write_text(hookdir, "not a directory\n");
    assert_int_equal(run(f, "vm-a", VP_HOOK_ACT_PREPARE, xml, NULL, &err), -1);
    assert_int_equal(err.code, VP_E_SYSTEM);
    assert_int_equal(f->km.writes, 0);
    assert_pristine(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_action_of, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_each_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_then_prepare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_then_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_repaired_by_other_domain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_domains_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_management_nic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_running_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_forbids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platform_bridge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rmrr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_to_do, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_xml, setup, teardown),
        cmocka_unit_test(test_conf_parse),
        cmocka_unit_test_setup_teardown(test_conf_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hot_plugged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_definition_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_entry_stuck, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_died_then_prepare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_failures, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
