/* The hook: prepare (complete the domain's IOMMU groups), release (give the siblings back),
 * and the repair of what a run that died left behind. */
#include "hook.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../apply/lock.h"
#include "../check/check.h"
#include "../model/host.h"
#include "../source/source.h"
#include "../util/fs.h"
#include "../util/str.h"
#include "hook_input.h"
#include "hook_state.h"

vp_hook_action
vp_hook_action_of(const char *op, const char *subop)
{
    /* libvirt's hooks documentation (docs/hooks.rst, "etc/libvirt/hooks/qemu"). */
    if (vp_streq(op, "prepare") && vp_streq(subop, "begin"))
        return VP_HOOK_ACT_PREPARE;
    if (vp_streq(op, "release") && vp_streq(subop, "end"))
        return VP_HOOK_ACT_RELEASE;
    return VP_HOOK_ACT_NONE;
}

void
vp_hook_report_clear(vp_hook_report *r)
{
    if (!r)
        return;
    vp_strv_free(r->notes);
    memset(r, 0, sizeof(*r));
}

int
vp_hook_exit_code(const vp_error *err)
{
    if (!err)
        return 0;
    switch (err->code) {
    case VP_E_OK:
        return 0;
    case VP_E_USAGE:
        return 2;
    case VP_E_NOTFOUND:
        return 3;
    case VP_E_CONNECT:
        return 4;
    case VP_E_UNSUPPORTED:
        return 5;
    case VP_E_UNSAFE:
        return 6;
    case VP_E_DATA:
        return 7;
    case VP_E_SYSTEM:
    case VP_E_NOMEM:
        return 1;
    }
    return 1;
}

/* One run: where it works and what it reports. */
typedef struct {
    const char *root;
    const char *name;
    vp_sysfs sys;
    unsigned lock_timeout_ms;
    vp_hook_report *rep;
    vp_hook_report own_rep; /* used when the caller passed none */
} run_ctx;

static void note(run_ctx *r, const char *fmt, ...) VP_PRINTF(2, 3);

static void
note(run_ctx *r, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    vp_strv_push_take(&r->rep->notes, s);
}

static const char *
addr_str(const vp_pci_addr *a, char buf[VP_PCI_ADDR_STRLEN])
{
    return vp_pci_addr_format(a, buf);
}

/* ---- giving devices back ---- */

/* Give the RELEASING entries of S back to their drivers, last first, and drop those done.
 * Saves S before (the marks) and after. Failures are kept (still releasing, for the next run);
 * the first one's message is in ERR and the count in *RET_FAILED. *RET_DONE counts the devices
 * given back. A device now on a third driver is dropped with a note: someone else has it. */
static int
release_marked(run_ctx *r, vp_hook_state *s, size_t *ret_done, size_t *ret_failed, vp_error *err)
{
    vp_error first = {0};
    size_t failed = 0, done = 0;

    if (vp_hook_state_save(r->root, s, err) < 0)
        return -1;
    for (size_t i = s->n; i-- > 0;) {
        vp_hook_entry *e = &s->entries[i];
        vp_error why = {0};

        if (e->phase != VP_HOOK_RELEASING)
            continue;
        if (vp_sysfs_restore(&r->sys, &e->addr, e->driver, e->override, &why) == 0) {
            done++;
            vp_hook_state_remove(s, i);
        } else if (why.code == VP_E_UNSAFE || why.code == VP_E_NOTFOUND) {
            /* On a third driver, or gone (hot-unplugged): nothing of vpass's is left to undo. */
            note(r, "%s: %s", s->domain, why.msg);
            vp_hook_state_remove(s, i);
        } else {
            note(r, "%s: %s (kept for the next run)", s->domain, why.msg);
            if (!failed++)
                first = why;
        }
    }
    if (vp_hook_state_save(r->root, s, err) < 0)
        return -1;
    *ret_done = done;
    *ret_failed = failed;
    if (failed)
        *err = first;
    return 0;
}

/* Repair what runs for other domains left half-done: a prepare that died (its domain did not
 * start: libvirt fails a start whose hook fails) or a release that died. Entries that are
 * BOUND belong to a domain that runs or is starting, and stay. Never fails the caller's run:
 * what cannot be repaired stays recorded, with a note. */
static void
repair_others(run_ctx *r, vp_hook_state *states, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        vp_hook_state *s = &states[i];
        size_t marked = 0, done = 0, failed = 0;
        vp_error err = {0};

        if (strcmp(s->domain, r->name) == 0)
            continue;
        for (size_t j = 0; j < s->n; j++)
            if (s->entries[j].phase != VP_HOOK_BOUND) {
                s->entries[j].phase = VP_HOOK_RELEASING;
                marked++;
            }
        if (!marked)
            continue;
        if (release_marked(r, s, &done, &failed, &err) < 0 && !failed)
            note(r, "%s: cannot repair: %s", s->domain, err.msg);
        r->rep->repaired += done;
        if (done)
            note(r, "%s: repaired %zu device%s left half-way by a vpass-hook run that died",
                 s->domain, done, done == 1 ? "" : "s");
    }
}

/* ---- prepare ---- */

/* The IOMMU group of ADDR from its iommu_group link: 1, 0 when it has none (no IOMMU, or no
 * such device: libvirt will say so), -1 with ERR. */
static int
group_of(const char *root, const vp_pci_addr *addr, unsigned *ret, vp_error *err)
{
    char a[VP_PCI_ADDR_STRLEN];
    vp_autofree char *rel = vp_asprintf("sys/bus/pci/devices/%s/iommu_group", addr_str(addr, a));
    vp_autofree char *target = NULL;
    int r = vp_root_readlink(root, rel, &target);

    if (r == -ENOENT || r == -ENOTDIR)
        return 0;
    if (r < 0)
        return vp_error_errno(err, -r, "%s: cannot read its iommu_group link", a);
    if (vp_parse_uint(vp_basename(target), ret) < 0)
        return vp_error_set(err, VP_E_DATA, "%s: iommu_group link to %s names no group", a, target);
    return 1;
}

/* The members of GROUP (appended to *V, *N). */
static int
group_members(const char *root, unsigned group, vp_pci_addr **v, size_t *n, vp_error *err)
{
    vp_autofree char *rel = vp_asprintf("sys/kernel/iommu_groups/%u/devices", group);
    vp_autostrv char **names = NULL;
    int r = vp_root_list_dir(root, rel, &names);

    if (r < 0)
        return vp_error_errno(err, -r, "group %u: cannot list its devices", group);
    for (size_t i = 0; names && names[i]; i++) {
        vp_pci_addr a;

        if (vp_pci_addr_parse(names[i], &a, NULL) < 0)
            continue;
        *v = vp_realloc_array(*v, *n + 1, sizeof(**v));
        (*v)[(*n)++] = a;
    }
    return 0;
}

static bool
addr_in(const vp_pci_addr *v, size_t n, const vp_pci_addr *a)
{
    for (size_t i = 0; i < n; i++)
        if (vp_pci_addr_eq(&v[i], a))
            return true;
    return false;
}

/* A driver that leaves the group viable for VFIO: none, vfio-pci, or pci-stub (the kernel's
 * own list, vfio_driver_allowed; every driver with driver_managed_dma on Linux >= 5.19). */
static bool
driver_viable(const char *driver)
{
    return !driver || strcmp(driver, VP_SYSFS_VFIO) == 0 || strcmp(driver, "pci-stub") == 0;
}

/* The domain whose state (other than OWN) records ADDR, NULL when none. */
static const char *
recorded_by_other(const vp_hook_state *states, size_t n, const char *own, const vp_pci_addr *a)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(states[i].domain, own) != 0 && vp_hook_state_find(&states[i], a))
            return states[i].domain;
    return NULL;
}

/* What prepare decided for one group member. */
typedef enum {
    SIB_NOTHING, /* already viable */
    SIB_KEEP,    /* recorded by an earlier run for this domain: make sure it is bound */
    SIB_ISOLATE, /* on a host driver: take it */
} sib_action;

typedef struct {
    vp_device *dev;
    unsigned group;
    sib_action action;
} sibling;

typedef struct {
    run_ctx *r;
    const vp_hook_domain *dom;
    const vp_hook_policy *policy;
    const vp_hook_conf *conf;
    vp_hook_state *states; /* every domain's */
    size_t n_states;
    vp_hook_state *own; /* this domain's (in STATES, or OWN_EMPTY) */
    vp_host *h;
    sibling *sibs;
    size_t n_sibs;
} prep_ctx;

/* Refuse the start: ERR names the domain and the group; nothing was changed. */
static int refuse(prep_ctx *p, vp_error_code code, unsigned group, vp_error *err, const char *fmt,
                  ...) VP_PRINTF(5, 6);

static int
refuse(prep_ctx *p, vp_error_code code, unsigned group, vp_error *err, const char *fmt, ...)
{
    char msg[VP_ERROR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return vp_error_set(err, code, "%s: IOMMU group %u cannot be made complete: %s", p->dom->name,
                        group, msg);
}

/* Every check that stops the start before anything changes. */
static int
vet(prep_ctx *p, vp_error *err)
{
    vp_autofree vp_device **cands = NULL;
    vp_check_target t = {0};
    vp_findings f = {0};
    size_t n = 0;
    int rc = 0;

    cands = vp_malloc0((p->n_sibs + 1) * sizeof(*cands));
    for (size_t i = 0; i < p->n_sibs; i++) {
        const sibling *s = &p->sibs[i];
        const vp_device *d = s->dev;
        const char *other;

        /* One group, one VM: QEMU opens the group's /dev/vfio/N, which a second VM cannot. */
        if (d->owners)
            return refuse(p, VP_E_UNSAFE, s->group, err, "%s is held by running domain %s",
                          d->addr_str, d->owners[0]);
        other = recorded_by_other(p->states, p->n_states, p->dom->name, &d->addr);
        if (other)
            return refuse(p, VP_E_UNSAFE, s->group, err,
                          "%s was isolated by vpass for domain %s, which uses this group",
                          d->addr_str, other);
        if (s->action != SIB_ISOLATE)
            continue;
        if (!p->policy->isolate)
            return refuse(
                p, VP_E_UNSAFE, s->group, err,
                "%s is on %s, and isolation is off for %s (hook.conf or metadata: isolate = no)",
                d->addr_str, d->driver, p->dom->name);
        for (size_t j = 0; j < p->conf->n_protect; j++)
            if (vp_pci_addr_eq(&p->conf->protect[j], &d->addr))
                return refuse(
                    p, VP_E_UNSAFE, s->group, err,
                    "%s (%s) is protected in hook.conf: vpass will not take it from the host",
                    d->addr_str, d->driver);
        /* Host, ISA/LPC, PCMCIA, ... bridges (class 06, not PCI-to-PCI) are the platform:
         * firmware, TPM, SuperIO, SMBus controllers hang off them. */
        if (d->ids_known && (d->class_code >> 16) == 0x06)
            return refuse(p, VP_E_UNSAFE, s->group, err,
                          "%s (%s) is a platform bridge (class %04x): the host needs it",
                          d->addr_str, d->driver, (unsigned)(d->class_code >> 8));
        cands[n++] = s->dev;
    }
    if (!n)
        return 0;

    /* The same checks as vpass check --device: host-critical devices and firmware-owned
     * memory (vfio-pci would refuse the probe) stop the start. */
    t.devices = cands;
    t.n_devices = n;
    vp_check_run(p->h, &t, &f);
    for (size_t i = 0; i < f.n && rc == 0; i++) {
        const vp_finding *x = &f.items[i];
        vp_pci_addr a;
        unsigned g;

        if (x->severity != VP_SEV_BLOCK)
            continue;
        if (vp_startswith(x->code, "host-critical-") &&
            vp_pci_addr_parse(x->subject, &a, NULL) == 0) {
            for (size_t j = 0; j < n && rc == 0; j++)
                if (vp_pci_addr_eq(&cands[j]->addr, &a))
                    rc = refuse(p, VP_E_UNSAFE, cands[j]->group, err,
                                "%s; vpass will not take it from the host", x->message);
        } else if (strcmp(x->code, "rmrr-direct") == 0 && vp_parse_uint(x->subject, &g) == 0) {
            rc = vp_error_set(err, VP_E_UNSAFE, "%s: %s", p->dom->name, x->message);
        }
    }
    vp_findings_clear(&f);
    if (rc < 0)
        return rc;
    if (!vp_sysfs_driver_loaded(&p->r->sys, VP_SYSFS_VFIO)) {
        vp_error_set(err, VP_E_UNSUPPORTED, "%s: %s must go to vfio-pci, which is not loaded",
                     p->dom->name, cands[0]->addr_str);
        return vp_error_hint(err, "modprobe vfio-pci");
    }
    return 0;
}

/* Bind every entry of the own state that is not confirmed on vfio-pci (marking it BOUND);
 * RELEASING ones are no longer siblings, on their way back. On the first failure -1 with ERR,
 * the entries left as they are. */
static int
bind_all(prep_ctx *p, size_t *ret_bound, vp_error *err)
{
    vp_hook_state *s = p->own;

    *ret_bound = 0;
    for (size_t i = 0; i < s->n; i++) {
        vp_hook_entry *e = &s->entries[i];
        vp_autofree char *cur = NULL;

        if (e->phase == VP_HOOK_RELEASING)
            continue;
        if (e->phase == VP_HOOK_BOUND &&
            vp_sysfs_read_driver(&p->r->sys, &e->addr, &cur, NULL) == 0 &&
            vp_streq(cur, VP_SYSFS_VFIO))
            continue;
        if (vp_sysfs_bind_vfio(&p->r->sys, &e->addr, err) < 0)
            return -1;
        if (e->phase != VP_HOOK_BOUND)
            (*ret_bound)++;
        e->phase = VP_HOOK_BOUND;
    }
    return 0;
}

/* After a failed bind: give every device of the own state back, last first. */
static void
roll_back(prep_ctx *p, vp_error *err)
{
    vp_hook_state *s = p->own;
    size_t done = 0, failed = 0, total = s->n;
    vp_error why = {0};
    char msg[VP_ERROR_MSG_MAX];

    for (size_t i = 0; i < s->n; i++)
        s->entries[i].phase = VP_HOOK_RELEASING;
    if (release_marked(p->r, s, &done, &failed, &why) < 0 && !failed) {
        snprintf(msg, sizeof(msg), "%s", err->msg);
        vp_error_set(err, VP_E_SYSTEM, "%s; rolling back failed: %s", msg, why.msg);
        return;
    }
    snprintf(msg, sizeof(msg), "%s", err->msg);
    if (failed)
        vp_error_set(err, VP_E_SYSTEM, "%s; rolling back failed for %zu of %zu devices (%s)", msg,
                     failed, total, why.msg);
    else if (total)
        vp_error_set(err, err->code, "%s; rolled back: %zu device%s back on %s host driver%s", msg,
                     done, done == 1 ? "" : "s", done == 1 ? "its" : "their", done == 1 ? "" : "s");
}

static int
prepare_own(run_ctx *r, const vp_hook_domain *dom, const vp_hook_policy *policy,
            const vp_hook_conf *conf, vp_hook_state *states, size_t n_states, vp_error *err)
{
    vp_autofree vp_pci_addr *members = NULL;
    vp_autofree vp_pci_addr *wanted = NULL;
    vp_autofree unsigned *groups = NULL;
    vp_autoptr(vp_host) h = NULL;
    vp_autostrv char **netdevs = NULL;
    vp_hook_state own_empty = {0};
    vp_hook_state *own = &own_empty;
    prep_ctx p = {
        .r = r, .dom = dom, .policy = policy, .conf = conf, .states = states, .n_states = n_states};
    size_t n_members = 0, n_groups = 0, n_wanted = 0, outside = 0;
    size_t bound = 0, dropped = 0, stale = 0, done = 0, failed = 0;
    bool known, need_facts = false;
    vp_sysfs_opts opts = {.no_names = true};
    int rc = -1;

    for (size_t i = 0; i < n_states; i++)
        if (strcmp(states[i].domain, dom->name) == 0)
            own = &states[i];
    if (!own->domain)
        own->domain = vp_strdup(dom->name);
    p.own = own;

    /* The groups of the domain's functions, straight from their links: no model yet. */
    groups = vp_malloc0((dom->n_devs + 1) * sizeof(*groups));
    for (size_t i = 0; i < dom->n_devs; i++) {
        unsigned g;
        bool seen = false;
        int k = group_of(r->root, &dom->devs[i].addr, &g, err);

        if (k < 0)
            goto out;
        if (k == 0)
            continue;
        for (size_t j = 0; j < n_groups; j++)
            seen |= groups[j] == g;
        if (seen)
            continue;
        groups[n_groups++] = g;
        if (group_members(r->root, g, &members, &n_members, err) < 0)
            goto out;
    }
    for (size_t i = 0; i < n_members; i++)
        outside += !vp_hook_domain_find(dom, &members[i]);
    if (outside == 0 && own->n == 0) {
        rc = 0; /* every group is the domain's alone: the common case, decided from links */
        goto out;
    }

    /* The model of just these groups (and of what an earlier run recorded), built once. */
    wanted = vp_malloc0((n_members + own->n + 1) * sizeof(*wanted));
    for (size_t i = 0; i < n_members; i++)
        wanted[n_wanted++] = members[i];
    for (size_t i = 0; i < own->n; i++)
        if (!addr_in(wanted, n_wanted, &own->entries[i].addr))
            wanted[n_wanted++] = own->entries[i].addr;
    opts.only = wanted;
    opts.n_only = n_wanted;
    h = vp_host_new();
    if (vp_source_sysfs_load_opts(h, r->root, &opts, err) < 0)
        goto out;
    for (size_t i = 0; i < h->n_devices; i++) {
        vp_device *d = h->devices[i];

        if (vp_hook_domain_find(dom, &d->addr) || d->is_bridge || driver_viable(d->driver))
            continue;
        need_facts = true;
        for (size_t j = 0; d->netdevs && d->netdevs[j]; j++)
            vp_strv_push(&netdevs, d->netdevs[j]);
    }
    /* Host facts (routes, mounts, ...) only when a host driver would lose a device, and of
     * the network interfaces only those of such devices (and the bridges above them). */
    if (need_facts) {
        char *none[] = {NULL};
        vp_host_facts_opts fo = {.only_netdevs = netdevs ? netdevs : none};

        if (vp_source_host_facts_load_opts(h, r->root, &fo, err) < 0)
            goto out;
    }
    if (vp_hook_running_load(r->root, dom->name, wanted, n_wanted, h, &known, err) < 0)
        goto out;
    vp_host_finalize(h);
    p.h = h;

    p.sibs = vp_malloc0((h->n_devices + 1) * sizeof(*p.sibs));
    for (size_t gi = 0; gi < n_groups; gi++) {
        const vp_group *g = vp_host_find_group(h, groups[gi]);

        for (size_t j = 0; g && j < g->n_members; j++) {
            vp_device *d = h->devices[g->members[j]];
            sibling *s;

            if (vp_hook_domain_find(dom, &d->addr) || d->is_bridge)
                continue;
            s = &p.sibs[p.n_sibs++];
            s->dev = d;
            s->group = g->number;
            if (vp_hook_state_find(own, &d->addr))
                s->action = SIB_KEEP;
            else if (driver_viable(d->driver))
                s->action = SIB_NOTHING;
            else
                s->action = SIB_ISOLATE;
        }
    }
    if (vet(&p, err) < 0)
        goto out;

    /* Record first (the original driver and override of each new one), then change. */
    for (size_t i = own->n; i-- > 0;) {
        vp_hook_entry *e = &own->entries[i];
        bool sib = false;

        for (size_t j = 0; j < p.n_sibs; j++)
            sib |= vp_pci_addr_eq(&p.sibs[j].dev->addr, &e->addr);
        if (sib) {
            /* Still needed: a release that died half-way is undone by binding it again. */
            if (e->phase == VP_HOOK_RELEASING)
                e->phase = VP_HOOK_BINDING;
            continue;
        }
        if (vp_hook_domain_find(dom, &e->addr)) {
            /* The domain holds it itself now: libvirt (managed) or its operator has it. */
            vp_hook_state_remove(own, i);
            dropped++;
        } else {
            e->phase = VP_HOOK_RELEASING; /* no longer a sibling of the domain's devices */
            stale++;
        }
    }
    for (size_t i = 0; i < p.n_sibs; i++) {
        vp_device *d = p.sibs[i].dev;
        vp_autofree char *ov = NULL;

        if (p.sibs[i].action != SIB_ISOLATE)
            continue;
        if (vp_sysfs_read_override(&r->sys, &d->addr, &ov, err) < 0)
            goto out;
        if (ov && !vp_sysfs_driver_name_ok(ov)) {
            vp_error_set(err, VP_E_DATA,
                         "%s: %s has driver_override '%.64s', which vpass cannot record", dom->name,
                         d->addr_str, ov);
            goto out;
        }
        vp_hook_state_add(own, &d->addr, d->driver, ov, VP_HOOK_BINDING);
    }
    if (own->n == 0) {
        rc = vp_hook_state_save(r->root, own, err);
        goto out;
    }
    if (stale) {
        vp_error why = {0};

        /* A stale entry that cannot go back now stays recorded (a note says why): it does
         * not concern this start. */
        if (release_marked(r, own, &done, &failed, &why) < 0 && !failed) {
            *err = why;
            goto out;
        }
        r->rep->released += done;
    } else if (vp_hook_state_save(r->root, own, err) < 0) {
        goto out;
    }
    if (bind_all(&p, &bound, err) < 0) {
        vp_error_prefix(err, "%s", dom->name);
        roll_back(&p, err);
        goto out;
    }
    if (vp_hook_state_save(r->root, own, err) < 0) {
        vp_error_prefix(err, "%s", dom->name);
        roll_back(&p, err);
        goto out;
    }
    r->rep->isolated += bound;
    if (bound)
        note(r, "%s: %zu device%s bound to vfio-pci so that its IOMMU group%s complete", dom->name,
             bound, bound == 1 ? "" : "s", n_groups == 1 ? " is" : "s are");
    if (dropped)
        note(r, "%s: %zu recorded device%s now held by the domain itself: left to libvirt",
             dom->name, dropped, dropped == 1 ? "" : "s");
    rc = 0;
out:
    vp_hook_state_clear(&own_empty);
    free(p.sibs);
    return rc;
}

/* ---- the two operations ---- */

static int
prepare(run_ctx *r, const char *xml, vp_error *err)
{
    vp_hook_conf conf = {0};
    vp_hook_domain dom = {0};
    vp_hook_policy policy = {0};
    vp_autoptr(vp_lock) lock = NULL;
    vp_hook_state *states = NULL;
    size_t n_states = 0;
    vp_error xerr = {0};
    int rc = -1;

    if (vp_hook_conf_load(r->root, &conf, err) < 0)
        return vp_error_prefix(err, "%s", r->name);
    if (vp_hook_domain_parse(xml, r->name, &dom, &xerr) < 0) {
        /* Without the XML only hook.conf can say whether the hook is on for the domain: off,
         * the start goes on untouched; on, it cannot be made safe, so it stops. */
        vp_hook_policy_resolve(&conf, r->name, -1, -1, &policy);
        vp_hook_conf_clear(&conf);
        if (policy.enabled) {
            *err = xerr;
            return -1;
        }
        note(r, "%s (the hook is not enabled for it in hook.conf: nothing done)", xerr.msg);
        return 0;
    }
    vp_hook_policy_resolve(&conf, r->name, dom.meta_enable, dom.meta_isolate, &policy);
    r->rep->enabled = policy.enabled;
    r->rep->policy = policy.why;
    if (!policy.enabled) {
        rc = 0;
        goto out;
    }
    if (vp_lock_acquire_timeout(r->root, r->lock_timeout_ms, &lock, err) < 0 ||
        vp_hook_state_load_all(r->root, &states, &n_states, err) < 0) {
        vp_error_prefix(err, "%s", r->name);
        goto out;
    }
    repair_others(r, states, n_states);
    rc = prepare_own(r, &dom, &policy, &conf, states, n_states, err);
out:
    vp_hook_states_free(states, n_states);
    vp_hook_domain_clear(&dom);
    vp_hook_conf_clear(&conf);
    return rc;
}

/* The other running domain (from libvirt's status files) that holds ADDR, NULL when none. */
static const char *
held_by_running(const vp_host *h, const vp_pci_addr *addr)
{
    for (size_t i = 0; i < h->n_assignments; i++)
        if (vp_pci_addr_eq(&h->assignments[i].addr, addr))
            return h->assignments[i].domain;
    return NULL;
}

static int
release(run_ctx *r, const char *xml, vp_error *err)
{
    vp_autoptr(vp_lock) lock = NULL;
    vp_autoptr(vp_host) running = NULL;
    vp_autofree vp_pci_addr *addrs = NULL;
    vp_hook_state *states = NULL;
    vp_hook_state *own = NULL;
    vp_hook_domain dom = {0};
    vp_error xerr = {0};
    size_t n_states = 0, done = 0, failed = 0, total;
    bool dom_ok, known = false;
    int rc = -1;

    /* libvirt never sends a bad document; if it did, what vpass recorded still goes back. */
    dom_ok = vp_hook_domain_parse(xml, r->name, &dom, &xerr) == 0;
    if (!vp_hook_state_any(r->root)) {
        /* Nothing recorded for any domain (the hook is off, or every group was complete):
         * the usual stop, decided without the lock. */
        vp_hook_domain_clear(&dom);
        if (!dom_ok)
            *err = xerr;
        return dom_ok ? 0 : -1;
    }
    if (vp_lock_acquire_timeout(r->root, r->lock_timeout_ms, &lock, err) < 0 ||
        vp_hook_state_load_all(r->root, &states, &n_states, err) < 0) {
        vp_error_prefix(err, "%s", r->name);
        goto out;
    }
    repair_others(r, states, n_states);
    for (size_t i = 0; i < n_states; i++)
        if (strcmp(states[i].domain, r->name) == 0)
            own = &states[i];
    if (!own || own->n == 0) {
        /* Release without prepare: nothing to do. */
        if (!dom_ok)
            *err = xerr;
        rc = dom_ok ? 0 : -1;
        goto out;
    }
    running = vp_host_new();
    addrs = vp_malloc0((own->n + 1) * sizeof(*addrs));
    for (size_t i = 0; i < own->n; i++)
        addrs[i] = own->entries[i].addr;
    if (vp_hook_running_load(r->root, r->name, addrs, own->n, running, &known, err) < 0) {
        vp_error_prefix(err, "%s", r->name);
        goto out;
    }
    total = own->n;
    for (size_t i = own->n; i-- > 0;) {
        vp_hook_entry *e = &own->entries[i];
        const vp_hook_dev *mine = dom_ok ? vp_hook_domain_find(&dom, &e->addr) : NULL;
        const char *other = held_by_running(running, &e->addr);
        char a[VP_PCI_ADDR_STRLEN];

        if (mine) {
            /* Hot-plugged into the domain since prepare: managed='yes' went back with
             * libvirt's own reattach, managed='no' is its operator's. */
            note(r, "%s: %s is the domain's own %s device now: left to %s", r->name,
                 addr_str(&e->addr, a), mine->managed ? "managed" : "unmanaged",
                 mine->managed ? "libvirt" : "its operator");
            vp_hook_state_remove(own, i);
            total--;
        } else if (other) {
            note(r, "%s: %s is held by running domain %s: left on vfio-pci", r->name,
                 addr_str(&e->addr, a), other);
            vp_hook_state_remove(own, i);
            total--;
        } else {
            e->phase = VP_HOOK_RELEASING;
        }
    }
    if (release_marked(r, own, &done, &failed, err) < 0 && !failed) {
        vp_error_prefix(err, "%s", r->name);
        goto out;
    }
    r->rep->released += done;
    if (failed) {
        char msg[VP_ERROR_MSG_MAX];

        snprintf(msg, sizeof(msg), "%s", err->msg);
        vp_error_set(err, VP_E_SYSTEM,
                     "%s: %zu of %zu devices not given back (%s); recorded for the next run",
                     r->name, failed, total, msg);
        goto out;
    }
    if (!dom_ok) {
        *err = xerr;
        goto out;
    }
    rc = 0;
out:
    vp_hook_states_free(states, n_states);
    vp_hook_domain_clear(&dom);
    return rc;
}

int
vp_hook_run(const vp_hook_env *env, const char *domain, vp_hook_action act, const char *xml,
            vp_hook_report *report, vp_error *err)
{
    run_ctx r = {0};
    vp_error local = {0};
    int rc;

    if (act == VP_HOOK_ACT_NONE)
        return 0;
    if (!err)
        err = &local;
    if (!domain || !*domain)
        return vp_error_set(err, VP_E_USAGE, "no domain name given");
    r.root = env && env->root ? env->root : "/";
    r.name = domain;
    r.sys = (vp_sysfs){.root = r.root,
                       .writer = env ? env->writer : NULL,
                       .timeout_ms = env ? env->bind_timeout_ms : 0};
    r.lock_timeout_ms = env && env->lock_timeout_ms ? env->lock_timeout_ms : VP_LOCK_TIMEOUT_MS;
    r.rep = report ? report : &r.own_rep;
    if (report)
        memset(report, 0, sizeof(*report));
    rc = act == VP_HOOK_ACT_PREPARE ? prepare(&r, xml, err) : release(&r, xml, err);
    vp_hook_report_clear(&r.own_rep);
    return rc;
}
