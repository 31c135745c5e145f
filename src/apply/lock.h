/* The change lock: one exclusive flock(2) on <root>/run/vpass/lock serializes every change
 * (attach, detach, the hook) between concurrent vpass runs. The holder's pid is in the file. */
#pragma once

#include "../util/error.h"
#include "../util/macro.h"

typedef struct vp_lock vp_lock;

/* How long vp_lock_acquire waits for another holder, in milliseconds. */
#define VP_LOCK_TIMEOUT_MS 30000

/* Take the lock under ROOT ("/" or a test tree; NULL means "/"), creating <root>/run/vpass
 * (0755) when missing, waiting at most TIMEOUT_MS (0: one try) for the current holder. On
 * timeout -1 with ERR VP_E_SYSTEM, errnum EWOULDBLOCK, "another vpass holds PATH (pid N)"; a
 * caller that wants to say "waiting" first tries with a short timeout, then with the rest.
 * Other failures are VP_E_SYSTEM with errno. The descriptor is close-on-exec, so processes
 * started meanwhile (QEMU) never inherit the lock. *RET is freed by vp_lock_release. */
int vp_lock_acquire_timeout(const char *root, unsigned timeout_ms, vp_lock **ret, vp_error *err);

/* vp_lock_acquire_timeout with VP_LOCK_TIMEOUT_MS. */
int vp_lock_acquire(const char *root, vp_lock **ret, vp_error *err);

/* The lock file's path (owned by L). */
const char *vp_lock_path(const vp_lock *l);

/* Release and free L (clearing the pid it wrote); accepts NULL. */
void vp_lock_release(vp_lock *l);
VP_DEFINE_AUTOPTR(vp_lock, vp_lock_release)
