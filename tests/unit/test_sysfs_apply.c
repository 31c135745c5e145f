/* Unit tests for src/apply/sysfs_apply.c: binding to vfio-pci and back, against the kernel
 * model on a copy of the lab's sysfs twin, with a failure injected at every write; and the real
 * writer on plain files in a temporary directory. Never the machine's /sys. */
#include "vp_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apply/sysfs_apply.h"
#include "kernel_model.h"
#include "util/fs.h"
#include "util/str.h"

#define LAB_ROOT VP_TEST_BUILD_DIR "/lab/root"

typedef struct {
    char *dir;  /* temporary directory */
    char *root; /* DIR/root: the copy of the lab */
    vp_kmodel km;
    vp_sysfs_writer w;
    vp_sysfs sys;
} fixture;

static int
setup(void **state)
{
    fixture *f = vp_malloc0(sizeof(*f));

    if (vp_kmodel_fixture_start(LAB_ROOT, "vpass-sysfs-apply", &f->dir, &f->root, &f->km, &f->w) <
        0)
        return -1;
    f->sys = (vp_sysfs){.root = f->root, .writer = &f->w, .timeout_ms = 200};
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;

    vp_kmodel_fixture_stop(f->dir, f->root, &f->km);
    free(f);
    return 0;
}

static vp_pci_addr
A(const char *s)
{
    vp_pci_addr a;

    assert_int_equal(vp_pci_addr_parse(s, &a, NULL), 0);
    return a;
}

static char *
driver_of(fixture *f, const char *addr)
{
    vp_pci_addr a = A(addr);
    char *d = NULL;

    assert_int_equal(vp_sysfs_read_driver(&f->sys, &a, &d, NULL), 0);
    return d;
}

static char *
override_of(fixture *f, const char *addr)
{
    vp_pci_addr a = A(addr);
    char *d = NULL;

    assert_int_equal(vp_sysfs_read_override(&f->sys, &a, &d, NULL), 0);
    return d;
}

static void
assert_driver(fixture *f, const char *addr, const char *want)
{
    vp_autofree char *d = driver_of(f, addr);

    if (!want)
        assert_null(d);
    else
        assert_string_equal(d, want);
}

/* Bind, then restore: the writes Linux needs, in order, and the tree exactly as before. */
static void
test_round_trip(void **state)
{
    fixture *f = *state;
    vp_autofree char *before = vp_kmodel_snapshot(f->root);
    vp_autofree char *after = NULL;
    vp_autofree char *ov = NULL;
    vp_pci_addr a = A("0000:18:00.1");
    vp_error err = {0};

    assert_int_equal(vp_sysfs_bind_vfio(&f->sys, &a, &err), 0);
    assert_driver(f, "0000:18:00.1", "vfio-pci");
    ov = override_of(f, "0000:18:00.1");
    assert_string_equal(ov, "vfio-pci");
    assert_int_equal(f->km.writes, 3);
    assert_string_equal(f->km.log[0],
                        "sys/bus/pci/devices/0000:18:00.1/driver_override <- vfio-pci");
    assert_string_equal(f->km.log[1], "sys/bus/pci/drivers/tg3/unbind <- 0000:18:00.1");
    assert_string_equal(f->km.log[2], "sys/bus/pci/drivers_probe <- 0000:18:00.1");
    /* The sibling function is untouched. */
    assert_driver(f, "0000:18:00.0", "tg3");

    assert_int_equal(vp_sysfs_restore(&f->sys, &a, "tg3", NULL, &err), 0);
    assert_driver(f, "0000:18:00.1", "tg3");
    assert_string_equal(f->km.log[3], "sys/bus/pci/devices/0000:18:00.1/driver_override <- ");
    assert_string_equal(f->km.log[4], "sys/bus/pci/drivers/vfio-pci/unbind <- 0000:18:00.1");
    assert_string_equal(f->km.log[5], "sys/bus/pci/drivers_probe <- 0000:18:00.1");
    assert_int_equal(f->km.writes, 6);
    after = vp_kmodel_snapshot(f->root);
    assert_string_equal(before, after);
    assert_int_equal(f->km.new_id_writes, 0);
}

/* Already there: nothing is written, either way. */
static void
test_idempotent(void **state)
{
    fixture *f = *state;
    vp_pci_addr vf = A("0000:3b:10.0"); /* vm1's VF, on vfio-pci */
    vp_pci_addr nic = A("0000:18:00.0");
    vp_error err = {0};

    assert_int_equal(vp_sysfs_bind_vfio(&f->sys, &vf, &err), 0);
    assert_int_equal(vp_sysfs_restore(&f->sys, &nic, "tg3", NULL, &err), 0);
    assert_int_equal(f->km.writes, 0);
}

/* A failure at each write of a bind: the error names the device, and restore brings the tree
 * back exactly, from whatever step it stopped at. Every errno a sysfs store returns. */
static void
test_fail_each_step(void **state)
{
    fixture *f = *state;
    static const int errnos[] = {EIO, EBUSY, ENODEV};
    vp_autofree char *before = vp_kmodel_snapshot(f->root);
    vp_pci_addr a = A("0000:41:00.1");

    for (size_t e = 0; e < VP_ARRAY_SIZE(errnos); e++)
        for (unsigned n = 1; n <= 3; n++) {
            vp_autofree char *after = NULL;
            vp_error err = {0};

            f->km.writes = 0;
            f->km.fail_at = n;
            f->km.fail_errno = errnos[e];
            assert_int_equal(vp_sysfs_bind_vfio(&f->sys, &a, &err), -1);
            assert_int_equal(err.code, VP_E_SYSTEM);
            assert_int_equal(err.errnum, errnos[e]);
            assert_true(vp_startswith(err.msg, "0000:41:00.1: "));
            assert_int_equal(f->km.writes, n);
            f->km.fail_at = 0;
            assert_int_equal(vp_sysfs_restore(&f->sys, &a, "snd_hda_intel", NULL, &err), 0);
            after = vp_kmodel_snapshot(f->root);
            assert_string_equal(before, after);
        }
}

/* Restore from each state a dead bind can leave. */
static void
test_restore_half_states(void **state)
{
    fixture *f = *state;
    vp_autofree char *before = vp_kmodel_snapshot(f->root);
    vp_autofree char *s1 = NULL;
    vp_autofree char *s2 = NULL;
    vp_pci_addr a = A("0000:18:00.1");
    vp_error err = {0};

    /* Override set, still on tg3: only the override is written back. */
    f->km.writes = 0;
    f->km.fail_at = 2;
    assert_int_equal(vp_sysfs_bind_vfio(&f->sys, &a, &err), -1);
    f->km.fail_at = 0;
    f->km.writes = 0;
    assert_int_equal(vp_sysfs_restore(&f->sys, &a, "tg3", NULL, &err), 0);
    assert_int_equal(f->km.writes, 1);
    s1 = vp_kmodel_snapshot(f->root);
    assert_string_equal(before, s1);

    /* Unbound, override set (the probe failed): override, then probe. */
    f->km.writes = 0;
    f->km.fail_at = 3;
    assert_int_equal(vp_sysfs_bind_vfio(&f->sys, &a, &err), -1);
    f->km.fail_at = 0;
    assert_driver(f, "0000:18:00.1", NULL);
    f->km.writes = 0;
    assert_int_equal(vp_sysfs_restore(&f->sys, &a, "tg3", NULL, &err), 0);
    assert_int_equal(f->km.writes, 2);
    s2 = vp_kmodel_snapshot(f->root);
    assert_string_equal(before, s2);
}

/* A device its driver does not claim back on a probe (its id was removed from the driver's
 * dynamic ids meanwhile): the restore says so after the bounded wait; nothing else changes. */
static void
test_restore_unclaimed(void **state)
{
    fixture *f = *state;
    vp_autofree char *def =
        vp_path_join(f->root, "sys/bus/pci/devices/0000:18:00.1/" VP_KMODEL_DEFAULT_DRIVER);
    vp_autofree char *ov = NULL;
    vp_pci_addr a = A("0000:18:00.1");
    vp_error err = {0};

    assert_int_equal(unlink(def), 0);
    f->sys.timeout_ms = 20;
    assert_int_equal(vp_sysfs_bind_vfio(&f->sys, &a, &err), 0);
    assert_int_equal(vp_sysfs_restore(&f->sys, &a, "tg3", NULL, &err), -1);
    assert_int_equal(err.code, VP_E_SYSTEM);
    assert_string_equal(err.msg, "0000:18:00.1: not bound back to tg3 within 20 ms (driver: none)");
    assert_driver(f, "0000:18:00.1", NULL);
    ov = override_of(f, "0000:18:00.1");
    assert_null(ov);
    assert_driver(f, "0000:18:00.0", "tg3");
}

/* A driver that refuses the device: the bind times out (bounded) and says what it saw. */
static void
test_bind_timeout(void **state)
{
    fixture *f = *state;
    vp_autofree char *before = vp_kmodel_snapshot(f->root);
    vp_autofree char *after = NULL;
    vp_autofree char *fails =
        vp_path_join(f->root, "sys/bus/pci/devices/0000:18:00.1/" VP_KMODEL_PROBE_FAILS);
    vp_pci_addr a = A("0000:18:00.1");
    vp_error err = {0};
    FILE *fp = fopen(fails, "w");

    assert_non_null(fp);
    fclose(fp);
    f->sys.timeout_ms = 30;
    assert_int_equal(vp_sysfs_bind_vfio(&f->sys, &a, &err), -1);
    assert_string_equal(err.msg, "0000:18:00.1: not bound to vfio-pci within 30 ms (driver: none)");
    assert_int_equal(unlink(fails), 0);
    assert_int_equal(vp_sysfs_restore(&f->sys, &a, "tg3", NULL, &err), 0);
    after = vp_kmodel_snapshot(f->root);
    assert_string_equal(before, after);
}

/* No vfio-pci module: refused before any write. */
static void
test_no_vfio(void **state)
{
    fixture *f = *state;
    vp_autofree char *drv = vp_path_join(f->root, "sys/bus/pci/drivers/vfio-pci");
    vp_autofree char *moved = vp_path_join(f->root, "sys/bus/pci/drivers/.vfio-pci");
    vp_pci_addr a = A("0000:18:00.1");
    vp_error err = {0};

    assert_int_equal(rename(drv, moved), 0);
    assert_false(vp_sysfs_driver_loaded(&f->sys, "vfio-pci"));
    assert_int_equal(vp_sysfs_bind_vfio(&f->sys, &a, &err), -1);
    assert_int_equal(err.code, VP_E_UNSUPPORTED);
    assert_string_equal(err.hint, "modprobe vfio-pci");
    assert_int_equal(f->km.writes, 0);
}

/* Someone else took it meanwhile: left alone. A name that is no driver never reaches a path. */
static void
test_restore_refuses(void **state)
{
    fixture *f = *state;
    vp_pci_addr a = A("0000:18:00.1");
    vp_pci_addr gone = A("0000:99:00.0");
    vp_error err = {0};
    char *d = NULL;

    assert_int_equal(vp_sysfs_restore(&f->sys, &a, "e1000e", NULL, &err), -1);
    assert_int_equal(err.code, VP_E_UNSAFE);
    assert_int_equal(vp_sysfs_restore(&f->sys, &a, "../../../etc", NULL, &err), -1);
    assert_int_equal(err.code, VP_E_DATA);
    assert_int_equal(vp_sysfs_read_driver(&f->sys, &gone, &d, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_int_equal(f->km.writes, 0);
    assert_false(vp_sysfs_driver_name_ok(""));
    assert_false(vp_sysfs_driver_name_ok(".."));
    assert_false(vp_sysfs_driver_name_ok("a/b"));
    assert_false(vp_sysfs_driver_name_ok("a b"));
    assert_true(vp_sysfs_driver_name_ok("snd_hda_intel"));
    assert_true(vp_sysfs_driver_name_ok("vfio-pci"));
}

/* driver_override as the kernel shows it: "(null)" is none. */
static void
test_read_override(void **state)
{
    fixture *f = *state;
    vp_autofree char *vm = override_of(f, "0000:3b:10.0"); /* libvirt's managed detach */
    vp_autofree char *none = override_of(f, "0000:18:00.0");

    assert_string_equal(vm, "vfio-pci");
    assert_null(none);
}

/* The real writer: one write, no file created, no link followed at the end. */
static void
test_real_writer(void **state)
{
    fixture *f = *state;
    vp_autofree char *file = vp_path_join(f->dir, "attr");
    vp_autofree char *link = vp_path_join(f->dir, "link");
    vp_autofree char *missing = vp_path_join(f->dir, "missing");
    vp_autofree char *buf = NULL;
    const vp_sysfs_writer *w = &vp_sysfs_writer_real;
    FILE *fp = fopen(file, "w");

    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(w->write(w->ctx, f->dir, "attr", "vfio-pci", 8), 0);
    assert_int_equal(vp_read_file(file, 100, &buf, NULL), 0);
    assert_string_equal(buf, "vfio-pci");
    assert_int_equal(symlink(file, link), 0);
    assert_int_equal(w->write(w->ctx, f->dir, "link", "x", 1), -ELOOP);
    assert_int_equal(w->write(w->ctx, f->dir, "missing", "x", 1), -ENOENT);
    assert_int_equal(access(missing, F_OK), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_each_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_half_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_unclaimed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_vfio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_real_writer, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
