/* The apply engine: a plan's steps through the vp_virt change ops, undone in reverse on failure. */
#include "apply.h"

#include <stdint.h>
#include <string.h>

#include "../model/pci_addr.h"
#include "../util/str.h"

/* The plan's affect bits are the change ops' (both are libvirt's LIVE and CONFIG). */
_Static_assert(VP_AFFECT_CURRENT == VP_VIRT_AFFECT_CURRENT, "affect bits differ");
_Static_assert(VP_AFFECT_LIVE == VP_VIRT_AFFECT_LIVE, "affect bits differ");
_Static_assert(VP_AFFECT_CONFIG == VP_VIRT_AFFECT_CONFIG, "affect bits differ");

/* vp_apply_leftover.step of what is not one step's: the persistent definition as a whole. */
#define NO_STEP SIZE_MAX

void
vp_apply_report_clear(vp_apply_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_leftovers; i++) {
        free(r->leftovers[i].what);
        free(r->leftovers[i].reason);
        free(r->leftovers[i].fix);
    }
    free(r->leftovers);
    r->leftovers = NULL;
    r->n_leftovers = 0;
    r->n_steps = r->done = r->failed = r->undone = 0;
    r->config_restored = false;
}

static bool
step_is_nodedev(const vp_step *s)
{
    return s->kind == VP_STEP_ISOLATE || s->kind == VP_STEP_REATTACH;
}

/* A step that changes the host, not a domain: node devices, and VF settings on a PF. */
static bool
step_is_host(const vp_step *s)
{
    return step_is_nodedev(s) || s->kind == VP_STEP_SET_VF;
}

static const char *
kind_name(vp_step_kind k)
{
    switch (k) {
    case VP_STEP_ISOLATE:
        return "isolate";
    case VP_STEP_REDEFINE:
        return "redefine";
    case VP_STEP_ADD_CONTROLLER:
        return "add-controller";
    case VP_STEP_ATTACH:
        return "attach";
    case VP_STEP_SET_METADATA:
        return "set-metadata";
    case VP_STEP_DETACH:
        return "detach";
    case VP_STEP_REMOVE_CONTROLLER:
        return "remove-controller";
    case VP_STEP_REATTACH:
        return "reattach";
    case VP_STEP_SET_VF:
        return "set-vf";
    }
    return "?";
}

/* "live", "config", "live+config": which definition a resolved AFFECT changes. */
static const char *
affect_name(unsigned affect)
{
    if ((affect & VP_AFFECT_LIVE) && (affect & VP_AFFECT_CONFIG))
        return "live+config";
    return (affect & VP_AFFECT_LIVE) ? "live" : "config";
}

/* virsh's options for a resolved AFFECT. */
static const char *
affect_virsh(unsigned affect)
{
    if ((affect & VP_AFFECT_LIVE) && (affect & VP_AFFECT_CONFIG))
        return "--live --config";
    return (affect & VP_AFFECT_LIVE) ? "--live" : "--config";
}

/* The definition(s) step S changes on a domain that is RUNNING: its own affect, with
 * VP_AFFECT_CURRENT resolved as libvirt does (live when running, else config); REDEFINE
 * replaces the persistent definition; node-device steps change no domain (0). */
static unsigned
resolve_affect(const vp_step *s, bool running)
{
    if (step_is_host(s))
        return 0;
    if (s->kind == VP_STEP_REDEFINE)
        return VP_AFFECT_CONFIG;
    if (s->affect & (VP_AFFECT_LIVE | VP_AFFECT_CONFIG))
        return s->affect & (VP_AFFECT_LIVE | VP_AFFECT_CONFIG);
    return running ? VP_AFFECT_LIVE : VP_AFFECT_CONFIG;
}

/* One line naming step S, for messages. */
static char *
step_summary(const vp_step *s)
{
    char a[VP_PCI_ADDR_STRLEN];

    if (s->summary)
        return vp_strdup(s->summary);
    return vp_asprintf("%s %s", kind_name(s->kind), vp_pci_addr_format(&s->addr, a));
}

/* Refuse a plan whose steps lack what running or undoing them needs. */
static int
validate_plan(const vp_plan *plan, vp_error *err)
{
    for (size_t i = 0; i < plan->n_steps; i++) {
        const vp_step *s = &plan->steps[i];
        const char *missing = NULL;

        switch (s->kind) {
        case VP_STEP_ISOLATE:
        case VP_STEP_REATTACH:
        case VP_STEP_SET_METADATA:
            break;
        case VP_STEP_SET_VF:
            if (!s->vf.pf[0])
                missing = "the PF's interface name";
            break;
        case VP_STEP_REDEFINE:
            if (!s->xml)
                missing = "the new definition";
            else if (!s->old_xml)
                missing = "the old definition its undo restores";
            break;
        case VP_STEP_ADD_CONTROLLER:
        case VP_STEP_ATTACH:
        case VP_STEP_DETACH:
        case VP_STEP_REMOVE_CONTROLLER:
            if (!s->xml)
                missing = "the device XML";
            break;
        }
        if (!missing && !step_is_host(s) && !plan->domain)
            missing = "the domain it changes";
        if (missing)
            return vp_error_set(err, VP_E_DATA, "%s: step %zu of %zu (%s) lacks %s",
                                plan->domain ? plan->domain : "plan", i + 1, plan->n_steps,
                                kind_name(s->kind), missing);
    }
    return 0;
}

/* SET_VF through the netlink seam NL: the step's settings, or its undo's. */
static int
run_set_vf(vp_netlink *nl, const vp_step *s, bool undo, vp_error *err)
{
    int trust = undo ? s->vf.undo_trust : s->vf.trust;
    int spoofchk = undo ? s->vf.undo_spoofchk : s->vf.spoofchk;

    if (trust == VP_VF_UNKNOWN && spoofchk == VP_VF_UNKNOWN)
        return 0; /* nothing known to set (an undo whose old values were not reported) */
    return nl->ops->set_vf(nl, s->vf.pf, s->vf.index, trust, spoofchk, err);
}

/* Run step S (UNDO false) or its inverse (UNDO true) with resolved AFFECT. */
static int
run_step(vp_virt *v, vp_netlink *nl, const vp_plan *plan, const vp_step *s, unsigned affect,
         bool undo, vp_error *err)
{
    const vp_virt_ops *ops = v->ops;
    vp_autofree char *nodedev = NULL;

    if (step_is_nodedev(s))
        nodedev = vp_pci_addr_nodedev_name(&s->addr);

    switch (s->kind) {
    case VP_STEP_ISOLATE:
        /* "vfio": libvirt binds vfio-pci through driver_override, never new_id. */
        return undo ? ops->nodedev_reattach(v, nodedev, err)
                    : ops->nodedev_detach(v, nodedev, "vfio", err);
    case VP_STEP_REATTACH:
        return undo ? ops->nodedev_detach(v, nodedev, "vfio", err)
                    : ops->nodedev_reattach(v, nodedev, err);
    case VP_STEP_REDEFINE:
        return ops->define_xml(v, undo ? s->old_xml : s->xml, err);
    case VP_STEP_ADD_CONTROLLER:
    case VP_STEP_ATTACH:
        return undo ? ops->detach_device(v, plan->domain, s->xml, affect, err)
                    : ops->attach_device(v, plan->domain, s->xml, affect, err);
    case VP_STEP_DETACH:
    case VP_STEP_REMOVE_CONTROLLER:
        return undo ? ops->attach_device(v, plan->domain, s->xml, affect, err)
                    : ops->detach_device(v, plan->domain, s->xml, affect, err);
    case VP_STEP_SET_METADATA:
        return ops->set_metadata(v, plan->domain, undo ? s->old_xml : s->xml, VP_METADATA_NS,
                                 VP_METADATA_PREFIX, affect, err);
    case VP_STEP_SET_VF:
        return run_set_vf(nl, s, undo, err);
    }
    return vp_error_set(err, VP_E_DATA, "%s: unknown step kind %d",
                        plan->domain ? plan->domain : "plan", (int)s->kind);
}

/* What a failed undo of step I (S, resolved AFFECT) left behind, and the fix by hand. */
static void
describe_leftover(const vp_plan *plan, size_t i, const vp_step *s, unsigned affect,
                  vp_apply_leftover *l)
{
    const char *d = plan->domain;
    char a[VP_PCI_ADDR_STRLEN];
    vp_autofree char *nodedev = vp_pci_addr_nodedev_name(&s->addr);
    size_t k = i + 1;

    vp_pci_addr_format(&s->addr, a);
    switch (s->kind) {
    case VP_STEP_ISOLATE:
        l->what = vp_asprintf("%s is still bound to vfio-pci", a);
        l->fix = vp_asprintf("virsh nodedev-reattach %s", nodedev);
        break;
    case VP_STEP_REATTACH:
        l->what = vp_asprintf("%s is back on its host driver instead of vfio-pci", a);
        l->fix = vp_asprintf("virsh nodedev-detach %s --driver vfio", nodedev);
        break;
    case VP_STEP_REDEFINE:
        l->what = vp_asprintf("%s keeps the definition step %zu defined", d, k);
        l->fix = vp_asprintf("virsh define FILE, FILE holding the old definition of step %zu "
                             "(or virsh edit %s)",
                             k, d);
        break;
    case VP_STEP_ADD_CONTROLLER:
        l->what =
            vp_asprintf("%s keeps the controller step %zu added (%s)", d, k, affect_name(affect));
        l->fix = vp_asprintf("virsh detach-device %s FILE %s, FILE holding the XML of step %zu", d,
                             affect_virsh(affect), k);
        break;
    case VP_STEP_ATTACH:
        l->what = vp_asprintf("%s is still attached to %s (%s)", a, d, affect_name(affect));
        l->fix = vp_asprintf("virsh detach-device %s FILE %s, FILE holding the XML of step %zu", d,
                             affect_virsh(affect), k);
        break;
    case VP_STEP_DETACH:
        l->what = vp_asprintf("%s is no longer attached to %s (%s)", a, d, affect_name(affect));
        l->fix = vp_asprintf("virsh attach-device %s FILE %s, FILE holding the XML of step %zu", d,
                             affect_virsh(affect), k);
        break;
    case VP_STEP_REMOVE_CONTROLLER:
        l->what =
            vp_asprintf("%s lacks the controller step %zu removed (%s)", d, k, affect_name(affect));
        l->fix = vp_asprintf("virsh attach-device %s FILE %s, FILE holding the XML of step %zu", d,
                             affect_virsh(affect), k);
        break;
    case VP_STEP_SET_METADATA:
        l->what = vp_asprintf("%s keeps the vpass metadata step %zu %s (%s)", d, k,
                              s->xml ? "wrote" : "removed", affect_name(affect));
        if (s->old_xml)
            l->fix = vp_asprintf("virsh metadata %s %s --key %s --set XML %s, XML being the old "
                                 "metadata of step %zu",
                                 d, VP_METADATA_NS, VP_METADATA_PREFIX, affect_virsh(affect), k);
        else
            l->fix = vp_asprintf("virsh metadata %s %s --remove %s", d, VP_METADATA_NS,
                                 affect_virsh(affect));
        break;
    case VP_STEP_SET_VF: {
        int t = s->vf.undo_trust, sp = s->vf.undo_spoofchk;

        l->what =
            vp_asprintf("VF %u of %s keeps the settings step %zu set", s->vf.index, s->vf.pf, k);
        l->fix = vp_asprintf("ip link set dev %s vf %u%s%s%s%s", s->vf.pf, s->vf.index,
                             t != VP_VF_UNKNOWN ? " trust " : "",
                             t == VP_VF_ON    ? "on"
                             : t == VP_VF_OFF ? "off"
                                              : "",
                             sp != VP_VF_UNKNOWN ? " spoofchk " : "",
                             sp == VP_VF_ON    ? "on"
                             : sp == VP_VF_OFF ? "off"
                                               : "");
        break;
    }
    }
    if (!l->what) {
        l->what = vp_asprintf("step %zu is not undone", k);
        l->fix = vp_strdup("undo it by hand");
    }
}

static void
add_leftover(vp_apply_report *r, size_t step, char *what, char *reason, char *fix)
{
    vp_apply_leftover *l;

    r->leftovers = vp_realloc_array(r->leftovers, r->n_leftovers + 1, sizeof(*r->leftovers));
    l = &r->leftovers[r->n_leftovers++];
    l->step = step;
    l->what = what;
    l->reason = reason;
    l->fix = fix;
}

/* REASON without a leading "DOMAIN: " (the message names the domain once, first). */
static const char *
strip_domain(const char *reason, const char *domain)
{
    size_t n = domain ? strlen(domain) : 0;

    if (n && strncmp(reason, domain, n) == 0 && reason[n] == ':' && reason[n + 1] == ' ')
        return reason + n + 2;
    return reason;
}

/* After a rollback: if the persistent definition differs from SNAPSHOT, define SNAPSHOT back.
 * Returns true when the definition is (again) the snapshot's. */
static bool
restore_config(vp_virt *v, const vp_plan *plan, const char *snapshot, vp_apply_report *r)
{
    vp_autofree char *now = NULL;
    vp_error e = {0};

    if (v->ops->get_domain_xml(v, plan->domain, true, &now, &e) == 0 && strcmp(now, snapshot) == 0)
        return true;
    if (v->ops->define_xml(v, snapshot, &e) < 0) {
        add_leftover(
            r, NO_STEP,
            vp_asprintf("%s's persistent definition differs from the one before", plan->domain),
            vp_strdup(e.msg),
            vp_asprintf("compare virsh dumpxml --inactive %s with the definition before "
                        "and virsh edit %s",
                        plan->domain, plan->domain));
        return false;
    }
    r->config_restored = true;
    return true;
}

int
vp_apply_plan(vp_virt *v, const vp_plan *plan, vp_apply_report *report, vp_error *err)
{
    vp_apply_report local = {0};
    vp_apply_report *r = report ? report : &local;
    vp_autofree unsigned *affect = NULL;
    vp_autofree char *snapshot = NULL;
    vp_autofree char *summary = NULL;
    vp_autofree char *msg = NULL;
    vp_autofree char *left = NULL;
    vp_autofree char *fixes = NULL;
    bool running = false, persistent = false, domain_steps = false, config_steps = false;
    bool live_steps = false, config_ok = true;
    vp_error step_err = {0};
    const char *d = plan->domain;
    size_t n = plan->n_steps, i;

    vp_apply_report_clear(r);
    if (plan->noop || n == 0)
        return 0;
    r->n_steps = n;
    if (validate_plan(plan, err) < 0)
        return -1;

    for (i = 0; i < n; i++) {
        domain_steps |= !step_is_host(&plan->steps[i]);
        if (plan->steps[i].kind == VP_STEP_SET_VF &&
            !(r->netlink && r->netlink->ops && r->netlink->ops->set_vf)) {
            vp_error_set(err, VP_E_UNSUPPORTED,
                         "%s: step %zu of %zu sets VF %u's settings on %s through netlink, "
                         "which is not available here",
                         d ? d : "plan", i + 1, n, plan->steps[i].vf.index, plan->steps[i].vf.pf);
            return vp_error_hint(err, "run vpass on the host itself with --root /");
        }
    }
    if (domain_steps && v->ops->domain_state(v, d, &running, &persistent, err) < 0)
        return -1;
    affect = vp_malloc0(sizeof(*affect) * n);
    for (i = 0; i < n; i++) {
        affect[i] = resolve_affect(&plan->steps[i], running);
        config_steps |= (affect[i] & VP_AFFECT_CONFIG) != 0;
        live_steps |= (affect[i] & VP_AFFECT_LIVE) != 0;
    }
    /* Refuse what cannot work before changing anything (libvirt would refuse it half-way). */
    if (config_steps && !persistent) {
        vp_error_set(err, VP_E_UNSUPPORTED,
                     "%s is transient: it has no persistent definition; use --live", d);
        return vp_error_hint(err, "define it (virsh define) to make it persistent");
    }
    if (live_steps && !running)
        return vp_error_set(err, VP_E_UNSUPPORTED,
                            "%s is not running: it has no live definition; use --config", d);
    if (config_steps && v->ops->get_domain_xml(v, d, true, &snapshot, err) < 0)
        return -1;

    for (i = 0; i < n; i++) {
        if (r->progress)
            r->progress(r->progress_ctx, i, n, &plan->steps[i], false);
        if (run_step(v, r->netlink, plan, &plan->steps[i], affect[i], false, &step_err) < 0)
            break;
        r->done++;
    }
    if (i == n)
        return 0;

    /* Step I failed: undo I-1 .. 0. */
    r->failed = i + 1;
    for (size_t j = i; j-- > 0;) {
        const vp_step *s = &plan->steps[j];
        vp_error e = {0};

        if (r->progress)
            r->progress(r->progress_ctx, j, n, s, true);
        if (run_step(v, r->netlink, plan, s, affect[j], true, &e) == 0) {
            r->undone++;
            continue;
        }
        {
            vp_apply_leftover l = {0};

            describe_leftover(plan, j, s, affect[j], &l);
            add_leftover(r, j, l.what, vp_strdup(e.msg), l.fix);
        }
    }
    if (snapshot)
        config_ok = restore_config(v, plan, snapshot, r);
    /* A failed undo that only concerned the persistent definition is repaired when the
     * definition is the snapshot's again. */
    if (snapshot && config_ok) {
        size_t k = 0;

        for (size_t j = 0; j < r->n_leftovers; j++) {
            vp_apply_leftover *l = &r->leftovers[j];

            if (l->step != NO_STEP && affect[l->step] == VP_AFFECT_CONFIG) {
                free(l->what);
                free(l->reason);
                free(l->fix);
                continue;
            }
            r->leftovers[k++] = *l;
        }
        r->n_leftovers = k;
    }

    summary = step_summary(&plan->steps[i]);
    msg = vp_asprintf("%s: step %zu of %zu (%s) failed: %s", d ? d : "plan", i + 1, n, summary,
                      strip_domain(step_err.msg, d));
    if (r->n_leftovers == 0) {
        const char *rolled = i == 0           ? "nothing to roll back"
                             : r->undone == 1 ? "rolled back 1 step"
                                              : NULL;
        vp_autofree char *count = rolled ? NULL : vp_asprintf("rolled back %zu steps", r->undone);

        vp_error_set(err, step_err.code, "%s; %s%s", msg, rolled ? rolled : count,
                     r->config_restored ? "; restored the persistent definition from before" : "");
        if (step_err.hint[0])
            vp_error_hint(err, "%s", step_err.hint);
        if (report != r)
            vp_apply_report_clear(r);
        return -1;
    }

    for (size_t j = 0; j < r->n_leftovers; j++) {
        const vp_apply_leftover *l = &r->leftovers[j];
        char *nl, *nf;

        if (l->step == NO_STEP)
            nl = vp_asprintf("%s%s%s (%s)", left ? left : "", left ? "; " : "", l->what, l->reason);
        else
            nl = vp_asprintf("%s%s%s (undo of step %zu failed: %s)", left ? left : "",
                             left ? "; " : "", l->what, l->step + 1, strip_domain(l->reason, d));
        nf = vp_asprintf("%s%s%s", fixes ? fixes : "", fixes ? "; " : "", l->fix);
        free(left);
        free(fixes);
        left = nl;
        fixes = nf;
    }
    vp_error_set(err, VP_E_SYSTEM, "%s; rolled back %zu of %zu steps; left behind: %s", msg,
                 r->undone, i, left);
    vp_error_hint(err, "fix by hand: %s", fixes);
    if (report != r)
        vp_apply_report_clear(r);
    return -1;
}
