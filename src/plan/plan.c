/* Plans: their lifetime, the selection every plan starts from, and the helpers attach, detach
 * and render share (affect names, sizes). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plan_int.h"

void
vp_plan_clear(vp_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_steps; i++) {
        free(p->steps[i].xml);
        free(p->steps[i].old_xml);
        free(p->steps[i].driver);
        free(p->steps[i].summary);
    }
    free(p->steps);
    free(p->domain);
    free(p->noop_reason);
    free(p->machine);
    vp_strv_free(p->notes);
    vp_findings_clear(&p->findings);
    memset(p, 0, sizeof(*p));
}

int
vp_plan_finish(vp_plan *p, int rc, vp_plan *ret)
{
    if (rc < 0) {
        vp_findings f = p->findings;

        memset(&p->findings, 0, sizeof(p->findings));
        vp_plan_clear(p);
        ret->findings = f;
        return -1;
    }
    *ret = *p;
    return 0;
}

vp_step *
vp_plan_add_step(vp_plan *p, vp_step_kind kind)
{
    vp_step *s;

    vp_grow(&p->steps, &p->alloc_steps, p->n_steps + 1, sizeof(*p->steps));
    s = &p->steps[p->n_steps++];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    return s;
}

static int
device_cmp(const void *a, const void *b)
{
    const vp_device *x = *(vp_device *const *)a, *y = *(vp_device *const *)b;

    return vp_pci_addr_cmp(&x->addr, &y->addr);
}

/* Append D to *V (N entries) unless it is a bridge or already there. */
static void
push_unique(vp_device ***v, size_t *n, size_t *alloc, vp_device *d)
{
    if (!d || d->is_bridge)
        return;
    for (size_t i = 0; i < *n; i++)
        if ((*v)[i] == d)
            return;
    vp_grow(v, alloc, *n + 1, sizeof(**v));
    (*v)[(*n)++] = d;
}

size_t
vp_plan_selection(const vp_host *h, const vp_plan_request *req, vp_device ***ret)
{
    const vp_check_target *t = &req->target;
    vp_device **v = NULL;
    size_t n = 0, alloc = 0, first;

    for (size_t i = 0; i < t->n_devices; i++)
        push_unique(&v, &n, &alloc, t->devices[i]);
    if (t->group)
        for (size_t i = 0; i < t->group->n_members; i++)
            push_unique(&v, &n, &alloc, h->devices[t->group->members[i]]);
    if (req->all_functions) {
        first = n;
        /* Every function the model knows on the slot of each selected one (a card). */
        for (size_t i = 0; i < first; i++)
            for (size_t j = 0; j < h->n_devices; j++)
                if (vp_pci_addr_same_slot(&h->devices[j]->addr, &v[i]->addr))
                    push_unique(&v, &n, &alloc, h->devices[j]);
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), device_cmp);
    *ret = v;
    return n;
}

/* AFFECT as the flags libvirt applies: CURRENT is live on a running domain, else config. */
static unsigned
resolve_affect(unsigned affect, const vp_domain *domain)
{
    if (affect != VP_AFFECT_CURRENT)
        return affect;
    if (!domain)
        return VP_AFFECT_CURRENT;
    return domain->running ? VP_AFFECT_LIVE : VP_AFFECT_CONFIG;
}

const char *
vp_plan_affect_name(unsigned affect, const vp_domain *domain)
{
    switch (resolve_affect(affect, domain)) {
    case VP_AFFECT_LIVE:
        return "live";
    case VP_AFFECT_CONFIG:
        return "config";
    case VP_AFFECT_LIVE | VP_AFFECT_CONFIG:
        return "live, config";
    default:
        return "current";
    }
}

bool
vp_plan_affects_live(unsigned affect, const vp_domain *domain)
{
    return (resolve_affect(affect, domain) & VP_AFFECT_LIVE) != 0;
}

bool
vp_plan_affects_config(unsigned affect, const vp_domain *domain)
{
    unsigned r = resolve_affect(affect, domain);

    /* CURRENT with no model of the domain: libvirt decides; a shut-off domain is the only
     * one a REDEFINE can be planned for without knowing, so count it as config. */
    return r == VP_AFFECT_CURRENT || (r & VP_AFFECT_CONFIG) != 0;
}

const char *
vp_plan_domain_label(const vp_plan_request *req)
{
    return req->domain_name ? req->domain_name : "the domain";
}

char *
vp_plan_addr_list(const vp_pci_addr *addrs, size_t n)
{
    vp_autostrv char **v = NULL;

    for (size_t i = 0; i < n; i++) {
        char buf[VP_PCI_ADDR_STRLEN];

        vp_strv_push(&v, vp_pci_addr_format(&addrs[i], buf));
    }
    return vp_strv_join(v, ", ", "");
}

int
vp_parse_size(const char *s, uint64_t *ret, vp_error *err)
{
    /* Binary units only: a 64-bit MMIO window is sized in powers of two, and "GB" meaning
     * 10^9 (libvirt) or 2^30 (most people) is an ambiguity better refused than guessed. */
    static const struct {
        const char *suffix;
        unsigned shift;
    } units[] = {
        {"", 0},     {"B", 0},  {"K", 10},   {"KiB", 10}, {"M", 20},   {"MiB", 20}, {"G", 30},
        {"GiB", 30}, {"T", 40}, {"TiB", 40}, {"P", 50},   {"PiB", 50}, {"E", 60},   {"EiB", 60},
    };
    const char *p = s;
    vp_autofree char *digits = NULL;
    uint64_t v;

    if (!s || !*s)
        return vp_error_set(
            err, VP_E_USAGE,
            "size '': expected a number with an optional unit (K, M, G, T; KiB, MiB, GiB, TiB)");
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == s)
        return vp_error_set(
            err, VP_E_USAGE,
            "size '%s': expected a number with an optional unit (K, M, G, T; KiB, MiB, GiB, TiB)",
            s);
    digits = vp_strndup(s, (size_t)(p - s));
    if (vp_parse_u64(digits, 10, &v) < 0)
        return vp_error_set(err, VP_E_USAGE, "size '%s' is too large", s);
    for (size_t i = 0; i < VP_ARRAY_SIZE(units); i++) {
        const char *u = units[i].suffix;

        /* The letter in either case ("64g"), the "iB" as written. */
        if (strlen(u) != strlen(p) || (*u && strcasecmp(u, p) != 0) ||
            (strlen(u) == 3 && strcmp(u + 1, p + 1) != 0))
            continue;
        if (v == 0)
            return vp_error_set(err, VP_E_USAGE, "size '%s' is zero", s);
        if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
            return vp_error_set(err, VP_E_USAGE, "size '%s' is too large", s);
        *ret = v << units[i].shift;
        return 0;
    }
    if (strcasecmp(p, "KB") == 0 || strcasecmp(p, "MB") == 0 || strcasecmp(p, "GB") == 0 ||
        strcasecmp(p, "TB") == 0 || strcasecmp(p, "PB") == 0 || strcasecmp(p, "EB") == 0) {
        vp_error_set(err, VP_E_USAGE, "size '%s': '%s' is ambiguous (10^n or 2^n bytes)", s, p);
        return vp_error_hint(err, "write %.*s%ciB (binary units)", (int)(p - s), s,
                             (char)toupper((unsigned char)p[0]));
    }
    return vp_error_set(err, VP_E_USAGE,
                        "size '%s': unknown unit '%s' (K, M, G, T; KiB, MiB, GiB, TiB)", s, p);
}
