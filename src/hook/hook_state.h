/* The hook's state: per domain, which devices vpass-hook took from their host drivers and how
 * far each change got, in <root>/run/vpass/hook/<domain>.state (docs/hook.md, "State"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "../model/pci_addr.h"
#include "../util/error.h"

/* How far the change of one device got. Written before the change it names starts. */
typedef enum {
    VP_HOOK_BINDING,   /* recorded, the bind to vfio-pci not confirmed */
    VP_HOOK_BOUND,     /* on vfio-pci, confirmed */
    VP_HOOK_RELEASING, /* giving it back started, not confirmed */
} vp_hook_phase;

typedef struct {
    vp_pci_addr addr;
    char *driver;   /* the host driver it had (never NULL in a written entry) */
    char *override; /* its driver_override before, NULL when unset */
    vp_hook_phase phase;
} vp_hook_entry;

typedef struct {
    char *domain;
    vp_hook_entry *entries;
    size_t n;
} vp_hook_state;

void vp_hook_state_clear(vp_hook_state *s);

/* The entry for ADDR, NULL when none. */
vp_hook_entry *vp_hook_state_find(const vp_hook_state *s, const vp_pci_addr *addr);

/* Append an entry (DRIVER and OVERRIDE copied); returns it. */
vp_hook_entry *vp_hook_state_add(vp_hook_state *s, const vp_pci_addr *addr, const char *driver,
                                 const char *override, vp_hook_phase phase);

/* Remove entry I (order kept). */
void vp_hook_state_remove(vp_hook_state *s, size_t i);

/* "binding", "bound", "releasing". */
const char *vp_hook_phase_name(vp_hook_phase p);

/* The state file's path for DOMAIN under ROOT (allocated). The name is escaped: bytes outside
 * [A-Za-z0-9_+-] and a leading '.' become %XX; a name too long for a file name is cut and
 * given a hash of the whole. */
char *vp_hook_state_path(const char *root, const char *domain);

/* Read DOMAIN's state into *RET (cleared first). No file: an empty state with *RET_FOUND false.
 * -1 with ERR: VP_E_DATA naming the file and line for anything malformed (vpass cannot undo
 * what it cannot read), VP_E_SYSTEM when unreadable. */
int vp_hook_state_load(const char *root, const char *domain, vp_hook_state *ret, bool *ret_found,
                       vp_error *err);

/* True when ROOT holds at least one state file (any domain's): false lets a release with
 * nothing to do return without taking the lock. */
bool vp_hook_state_any(const char *root);

/* Every state file under ROOT, in file-name order (*RET allocated, *RET_N entries). A file
 * that cannot be read fails the whole call: the caller must not act on half the picture. */
int vp_hook_state_load_all(const char *root, vp_hook_state **ret, size_t *ret_n, vp_error *err);
void vp_hook_states_free(vp_hook_state *v, size_t n);

/* Write S atomically (a temporary file, fsync, rename, fsync of the directory), creating
 * <root>/run/vpass/hook (0755) when missing; an S without entries removes the file instead.
 * -1 with ERR (VP_E_SYSTEM) naming the file. */
int vp_hook_state_save(const char *root, const vp_hook_state *s, vp_error *err);
