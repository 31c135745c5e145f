/* A model of the Linux PCI core's reaction to driver_override, unbind, bind and drivers_probe
 * on a fixture tree (drivers/pci/pci-driver.c, drivers/base/bus.c, dd.c), behind the sysfs
 * applier's writer seam, with failure injection. For the tests only. */
#pragma once

#include <stdbool.h>

#include "apply/sysfs_apply.h"

/* The driver a device binds to on drivers_probe when no override is set (its id-table match),
 * a fixture-only file in the device's directory. */
#define VP_KMODEL_DEFAULT_DRIVER ".model_default_driver"
/* When present in a device's directory, every probe of it fails (a driver that refuses it:
 * vfio-pci and an RMRR, a device in a bad state); it stays unbound. */
#define VP_KMODEL_PROBE_FAILS ".model_probe_fails"

typedef struct {
    char *root;
    unsigned writes;        /* writes seen, failed ones included */
    unsigned fail_at;       /* make the Nth write (1-based) fail with -FAIL_ERRNO; 0: none */
    int fail_errno;         /* EIO, EBUSY, ENODEV, ... */
    bool fail_all_after;    /* with fail_at: every later write fails too */
    unsigned new_id_writes; /* writes to any new_id: vpass must never make one */
    unsigned delay_us;      /* sleep this long in every write (to make two runs overlap) */
    char **log;             /* vp_strv of "REL <- VALUE" (value without a trailing newline) */
} vp_kmodel;

/* A model of the kernel under ROOT (copied). */
void vp_kmodel_init(vp_kmodel *m, const char *root);
void vp_kmodel_clear(vp_kmodel *m);

/* The writer seam backed by M. */
vp_sysfs_writer vp_kmodel_writer(vp_kmodel *m);

/* Give every device under ROOT that is bound now a VP_KMODEL_DEFAULT_DRIVER file naming that
 * driver, and every driver_override file "(null)" when it is missing or empty. */
void vp_kmodel_seed(const char *root);

/* A text snapshot of what the PCI core shows under ROOT: each device's driver link (target as
 * written), driver_override, and each driver directory's device links (allocated). */
char *vp_kmodel_snapshot(const char *root);

/* Copy directory SRC to DST (which must not exist) with cp -a; aborts on failure. */
void vp_kmodel_copy_tree(const char *src, const char *dst);

/* Where fixture copies go: $TMPDIR when set, else /dev/shm when it is a writable directory
 * (a copy of the lab costs a third there), else /tmp. */
const char *vp_kmodel_tmpdir(void);

/* Remove directory DIR and everything under it. */
void vp_kmodel_remove_tree(const char *dir);

/* A test fixture: a copy of the tree SRC in a new temporary directory *DIR (NAME.XXXXXX under
 * vp_kmodel_tmpdir()), at *ROOT = DIR/root, seeded, with the model KM of it and its writer W.
 * -1 when the directory cannot be made. */
int vp_kmodel_fixture_start(const char *src, const char *name, char **dir, char **root,
                            vp_kmodel *km, vp_sysfs_writer *w);

/* Undo vp_kmodel_fixture_start: the model cleared, the directory removed, DIR and ROOT freed. */
void vp_kmodel_fixture_stop(char *dir, char *root, vp_kmodel *km);
