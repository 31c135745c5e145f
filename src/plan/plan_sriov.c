/* SR-IOV planning: the VFs of a PF and their state, picking a VF for a domain (free, NUMA-local),
 * stable MACs, the <interface type='hostdev'> a VF goes in as, the netlink steps for the VF
 * settings libvirt has no XML for (trust, spoofchk), and changing a PF's VF count. Pure: every
 * fact comes from the model, the domain XML and what the CLI read through netlink. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_int.h"

/* ---- CPU sets ---- */

/* The kernel's NR_CPUS tops out at 8192 (arch/x86/Kconfig); anything beyond is malformed. */
#define CPU_MAX 8192

static void
cpuset_set(vp_cpuset *c, unsigned cpu, bool on)
{
    size_t w = cpu / 64;

    if (w >= c->n_words) {
        if (!on)
            return;
        c->bits = vp_realloc_array(c->bits, w + 1, sizeof(*c->bits));
        memset(c->bits + c->n_words, 0, (w + 1 - c->n_words) * sizeof(*c->bits));
        c->n_words = w + 1;
    }
    if (on)
        c->bits[w] |= 1ULL << (cpu % 64);
    else
        c->bits[w] &= ~(1ULL << (cpu % 64));
}

static bool
cpuset_has(const vp_cpuset *c, unsigned cpu)
{
    size_t w = cpu / 64;

    return w < c->n_words && (c->bits[w] >> (cpu % 64) & 1);
}

void
vp_cpuset_clear(vp_cpuset *c)
{
    if (!c)
        return;
    free(c->bits);
    c->bits = NULL;
    c->n_words = 0;
}

bool
vp_cpuset_empty(const vp_cpuset *c)
{
    for (size_t i = 0; c && i < c->n_words; i++)
        if (c->bits[i])
            return false;
    return true;
}

bool
vp_cpuset_subset(const vp_cpuset *a, const vp_cpuset *b)
{
    for (size_t i = 0; i < a->n_words; i++) {
        uint64_t bw = i < b->n_words ? b->bits[i] : 0;

        if (a->bits[i] & ~bw)
            return false;
    }
    return true;
}

void
vp_cpuset_union(vp_cpuset *a, const vp_cpuset *b)
{
    for (size_t i = 0; i < b->n_words; i++)
        for (unsigned bit = 0; bit < 64; bit++)
            if (b->bits[i] >> bit & 1)
                cpuset_set(a, (unsigned)(i * 64 + bit), true);
}

/* One number of a CPU list at *P (decimal digits only), advancing *P. */
static int
parse_cpu(const char **p, unsigned *ret)
{
    unsigned v = 0;
    const char *s = *p;

    if (*s < '0' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (unsigned)(*s - '0');
        if (v >= CPU_MAX)
            return -1;
        s++;
    }
    *p = s;
    *ret = v;
    return 0;
}

int
vp_cpuset_parse(const char *s, vp_cpuset *ret)
{
    vp_cpuset c = {0};
    const char *p = s;

    memset(ret, 0, sizeof(*ret));
    if (!s)
        return -1;
    /* The kernel's list format (lib/bitmap.c, bitmap_parselist) and libvirt's cpuset syntax
     * (virBitmapParse): "0-3,8,^2", blanks allowed around items. */
    for (;;) {
        bool neg = false;
        unsigned lo, hi;

        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (!*p)
            break;
        if (*p == '^') {
            neg = true;
            p++;
        }
        if (parse_cpu(&p, &lo) < 0)
            goto bad;
        hi = lo;
        if (*p == '-') {
            p++;
            if (neg || parse_cpu(&p, &hi) < 0 || hi < lo)
                goto bad;
        }
        for (unsigned cpu = lo; cpu <= hi; cpu++)
            cpuset_set(&c, cpu, !neg);
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p)
            goto bad;
    }
    *ret = c;
    return 0;
bad:
    vp_cpuset_clear(&c);
    return -1;
}

char *
vp_cpuset_format(const vp_cpuset *c)
{
    vp_autostrv char **parts = NULL;
    unsigned max = (unsigned)(c->n_words * 64);

    for (unsigned cpu = 0; cpu < max; cpu++) {
        unsigned end = cpu;

        if (!cpuset_has(c, cpu))
            continue;
        while (end + 1 < max && cpuset_has(c, end + 1))
            end++;
        vp_strv_push_take(&parts,
                          end == cpu ? vp_asprintf("%u", cpu) : vp_asprintf("%u-%u", cpu, end));
        cpu = end;
    }
    return vp_strv_join(parts, ",", "");
}

/* ---- the VFs of a PF ---- */

const char *
vp_vf_state_name(vp_vf_state s)
{
    switch (s) {
    case VP_VF_FREE:
        return "free";
    case VP_VF_ASSIGNED:
        return "assigned";
    case VP_VF_HOST:
        return "host";
    }
    return "?";
}

static const vp_netif *
find_netif(const vp_host *h, const char *name)
{
    for (size_t i = 0; i < h->facts.n_netifs; i++)
        if (vp_streq(h->facts.netifs[i].name, name))
            return &h->facts.netifs[i];
    return NULL;
}

/* How the host uses interface NAME ("addresses 192.0.2.5/24", "port of br0"), NULL when not. */
static char *
netif_use(const vp_host *h, const char *name)
{
    const vp_netif *n = find_netif(h, name);

    if (!n)
        return NULL;
    if (n->addresses && n->addresses[0]) {
        vp_autofree char *list = vp_strv_join(n->addresses, ", ", "");

        return vp_asprintf("%s has %s", name, list);
    }
    if (n->master)
        return vp_asprintf("%s is a port of %s", name, n->master);
    if (n->default_route)
        return vp_asprintf("%s carries the default route", name);
    if (n->routes && n->routes[0])
        return vp_asprintf("%s carries routes", name);
    return NULL;
}

vp_vf_state
vp_sriov_vf_state(const vp_host *h, const vp_device *d, char **ret_why)
{
    char *why = NULL;
    vp_vf_state st = VP_VF_FREE;

    if (d->owners && d->owners[0]) {
        vp_autofree char *list = vp_strv_join(d->owners, ", ", "");

        why = vp_asprintf("in the definition of %s", list);
        st = VP_VF_ASSIGNED;
    } else if (!vp_driver_is_vfio_or_none(d->driver)) {
        /* On a host driver: taken when the host uses what the driver made of it. */
        if (!h->facts.read) {
            if (d->netdevs && d->netdevs[0]) {
                why = vp_asprintf("on %s with %s; the host's use of it is unknown (remote)",
                                  d->driver, d->netdevs[0]);
                st = VP_VF_HOST;
            }
        } else {
            for (size_t i = 0; d->netdevs && d->netdevs[i] && !why; i++)
                why = netif_use(h, d->netdevs[i]);
            for (size_t i = 0; i < h->facts.n_mounts && !why; i++) {
                const vp_mount *m = &h->facts.mounts[i];

                if (m->has_device && vp_pci_addr_eq(&m->device, &d->addr))
                    why = vp_asprintf("holds %s (%s)", m->mountpoint, m->source);
            }
            if (why)
                st = VP_VF_HOST;
        }
    }
    if (ret_why)
        *ret_why = why;
    else
        free(why);
    return st;
}

int
vp_sriov_find_pf(const vp_host *h, const char *sel, const vp_device **ret, vp_error *err)
{
    vp_device *d = NULL;

    if (!sel || !*sel)
        return vp_error_set(err, VP_E_USAGE,
                            "--pf: empty (expected an interface name such as "
                            "enp4s0 or an address such as 0000:04:00.0)");
    if (vp_host_resolve_device(h, sel, &d, err) < 0)
        return -1;
    if (d->is_vf) {
        char buf[VP_PCI_ADDR_STRLEN];

        vp_error_set(err, VP_E_USAGE, "%s: %s is a VF, not a PF", sel, d->addr_str);
        return vp_error_hint(err, "its PF is %s", vp_pci_addr_format(&d->physfn, buf));
    }
    if (!d->is_pf)
        return vp_error_set(err, VP_E_USAGE, "%s: %s has no SR-IOV capability (not a PF)", sel,
                            d->addr_str);
    *ret = d;
    return 0;
}

void
vp_sriov_pf_build(const vp_host *h, const vp_device *pf, const vp_vf_info *info, size_t n,
                  bool info_known, const char *why, vp_sriov_pf *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->pf = pf;
    ret->ifname = pf->netdevs && pf->netdevs[0] ? pf->netdevs[0] : NULL;
    ret->total = pf->vf_max;
    ret->current = (unsigned)pf->n_vfs;
    ret->info_known = info_known;
    ret->info_why = info_known ? NULL : vp_strdup(why ? why : "not read");
    ret->n_vfs = pf->n_vfs;
    ret->vfs = vp_malloc0((pf->n_vfs + 1) * sizeof(*ret->vfs));
    for (size_t i = 0; i < pf->n_vfs; i++) {
        vp_sriov_vf *v = &ret->vfs[i];

        /* The model keeps the VFs in virtfnN order (sysfs) or libvirt's, which is the same. */
        v->index = (unsigned)i;
        v->addr = pf->vfs[i];
        v->dev = vp_host_find_device(h, &v->addr);
        v->state = v->dev ? vp_sriov_vf_state(h, v->dev, &v->why) : VP_VF_FREE;
        if (!v->dev)
            v->why = vp_strdup("not in the inventory");
        for (size_t j = 0; info_known && j < n; j++)
            if (info[j].index == v->index) {
                v->info = info[j];
                v->info_known = true;
            }
    }
}

void
vp_sriov_pf_clear(vp_sriov_pf *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_vfs; i++)
        free(p->vfs[i].why);
    free(p->vfs);
    free(p->info_why);
    memset(p, 0, sizeof(*p));
}

/* ---- MACs ---- */

static uint64_t
fnv1a(uint64_t h, const char *s)
{
    /* FNV-1a 64 (offset basis and prime of the reference, isthe.com/chongo/tech/comp/fnv), the
     * string's NUL included so that ("ab", "c") and ("a", "bc") differ. */
    const unsigned char *p = (const unsigned char *)s;

    do {
        h ^= *p;
        h *= 0x100000001b3ULL;
    } while (*p++);
    return h;
}

void
vp_sriov_auto_mac(const char *uuid, const vp_pci_addr *pf_addr, unsigned index, uint8_t ret[6])
{
    vp_autofree char *lower = vp_strdup(uuid ? uuid : "");
    char addr[VP_PCI_ADDR_STRLEN];
    char idx[16];
    uint64_t h = 0xcbf29ce484222325ULL;

    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    snprintf(idx, sizeof(idx), "%u", index);
    h = fnv1a(h, "vpass-mac-1");
    h = fnv1a(h, lower);
    h = fnv1a(h, vp_pci_addr_format(pf_addr, addr));
    h = fnv1a(h, idx);
    /* 0x02: the locally administered bit set, the group bit clear (IEEE 802-2014, 8.2.2), so no
     * vendor's OUI (52:54:00 is QEMU's) can ever collide with it. */
    ret[0] = 0x02;
    for (int i = 0; i < 5; i++)
        ret[1 + i] = (uint8_t)(h >> (8 * (4 - i)));
}

/* The domain whose definition uses MAC (lower case) already, NULL when none. */
static const vp_domain *
mac_user(const vp_host *h, const char *mac)
{
    for (size_t i = 0; i < h->n_domains; i++)
        if (vp_strv_contains(h->domains[i].macs, mac))
            return &h->domains[i];
    return NULL;
}

/* ---- the domain's definition ---- */

typedef struct {
    xmlDoc *doc;
    xmlNode *root;
    char *uuid;
    vp_cpuset pinned; /* union of <vcpu cpuset> and every <vcpupin cpuset>; empty: floating */
    vp_held *held;
    size_t n_held;
} dom_facts;

static void
dom_facts_clear(dom_facts *f)
{
    xmlFreeDoc(f->doc);
    free(f->uuid);
    vp_cpuset_clear(&f->pinned);
    free(f->held);
}

/* libvirt formatdomain "CPU Allocation" and "CPU Tuning": <vcpu cpuset='...'> is the default
 * for every vCPU, <cputune><vcpupin vcpu='N' cpuset='...'> pins one. */
static int
read_dom_facts(const char *xml, const char *name, dom_facts *f, vp_error *err)
{
    xmlNode *vcpu, *cputune;
    vp_autofree char *cpuset = NULL;

    memset(f, 0, sizeof(*f));
    if (vp_xml_parse(xml, "domain XML", &f->doc, err) < 0)
        return vp_error_prefix(err, "%s", name);
    f->root = xmlDocGetRootElement(f->doc);
    if (!vp_xml_is(f->root, "domain"))
        return vp_error_set(err, VP_E_DATA, "%s: root element <%s>, expected <domain>", name,
                            (const char *)f->root->name);
    f->uuid = vp_xml_text(vp_xml_child(f->root, "uuid"));
    vcpu = vp_xml_child(f->root, "vcpu");
    cpuset = vcpu ? vp_xml_prop(vcpu, "cpuset") : NULL;
    if (cpuset && vp_cpuset_parse(cpuset, &f->pinned) < 0)
        return vp_error_set(err, VP_E_DATA, "%s: <vcpu cpuset='%s'> is not a CPU list", name,
                            cpuset);
    cputune = vp_xml_child(f->root, "cputune");
    for (xmlNode *pin = vp_xml_child(cputune, "vcpupin"); pin;
         pin = vp_xml_next_sibling(pin, "vcpupin")) {
        vp_autofree char *set = vp_xml_prop(pin, "cpuset");
        vp_cpuset c;

        if (!set || vp_cpuset_parse(set, &c) < 0)
            return vp_error_set(err, VP_E_DATA, "%s: <vcpupin cpuset='%s'> is not a CPU list", name,
                                set ? set : "");
        vp_cpuset_union(&f->pinned, &c);
        vp_cpuset_clear(&c);
    }
    f->n_held = vp_plan_find_held(f->root, &f->held);
    return 0;
}

/* ---- attach ---- */

typedef struct {
    const vp_host *h;
    const vp_plan_request *req;
    const vp_sriov_request *sr;
    const char *dom;
    const vp_device *pf;
    const char *ifname;
    dom_facts df;
    vp_sriov_pf inv;
    const vp_sriov_vf *vf; /* the chosen one */
    bool has_mac;
    char mac[18];
} sriov_ctx;

static void
sriov_ctx_clear(sriov_ctx *c)
{
    dom_facts_clear(&c->df);
    vp_sriov_pf_clear(&c->inv);
}

static int
validate(const vp_sriov_request *sr, bool attach, vp_error *err)
{
    if (!sr->pf)
        return vp_error_set(err, VP_E_USAGE, "which PF? (--pf IFNAME or --pf ADDRESS)");
    if (attach && !sr->has_vf)
        return vp_error_set(err, VP_E_USAGE, "which VF of the PF? (--vf N or --vf auto)");
    if (sr->as == VP_VF_AS_HOSTDEV && (sr->mac || sr->mac_auto || sr->vlan))
        return vp_error_set(err, VP_E_USAGE,
                            "--as hostdev takes no --mac or --vlan: libvirt sets them only for "
                            "<interface type='hostdev'>");
    if (sr->vlan > 4094)
        return vp_error_set(err, VP_E_USAGE, "--vlan %u: a VLAN id is 1-4094 (IEEE 802.1Q)",
                            sr->vlan);
    if (sr->mac && !sr->mac_auto) {
        uint8_t m[6];
        static const uint8_t zero[6] = {0};

        if (vp_mac_parse(sr->mac, m) < 0)
            return vp_error_set(err, VP_E_USAGE,
                                "--mac '%s': expected six hex bytes such as 52:54:00:12:34:56, "
                                "or auto",
                                sr->mac);
        if ((m[0] & 1) || memcmp(m, zero, sizeof(m)) == 0)
            return vp_error_set(err, VP_E_USAGE,
                                "--mac %s: not a unicast address (the first byte must be even, "
                                "and not all zero)",
                                sr->mac);
    }
    return 0;
}

/* The VF of the PF the domain holds already (first in index order), NULL when none. */
static const vp_sriov_vf *
held_vf(const sriov_ctx *c)
{
    for (size_t i = 0; i < c->inv.n_vfs; i++)
        if (vp_plan_held_find(c->df.held, c->df.n_held, &c->inv.vfs[i].addr))
            return &c->inv.vfs[i];
    return NULL;
}

/* True when the domain's pinned CPUs (if any) lie on the PF's NUMA node. */
static bool
numa_local(const sriov_ctx *c)
{
    return vp_cpuset_empty(&c->df.pinned) || !c->sr->local_cpus ||
           vp_cpuset_subset(&c->df.pinned, c->sr->local_cpus);
}

static char *
numa_text(const sriov_ctx *c)
{
    vp_autofree char *pinned = vp_cpuset_format(&c->df.pinned);
    vp_autofree char *local = vp_cpuset_format(c->sr->local_cpus);

    return vp_asprintf("%s's vCPUs are pinned to CPUs %s, but %s's NUMA node has CPUs %s", c->dom,
                       pinned, c->ifname ? c->ifname : c->pf->addr_str, local);
}

/* --vf auto: free, not on the wrong NUMA node; unbound or vfio-pci before a host driver. */
static int
pick_vf(sriov_ctx *c, vp_error *err)
{
    const vp_sriov_vf *best = NULL;
    size_t n_free = 0;

    if (!numa_local(c)) {
        vp_autofree char *why = numa_text(c);

        vp_error_set(err, VP_E_UNSAFE,
                     "%s: no VF of %s is local to the domain's CPUs: %s (its traffic would "
                     "cross the socket interconnect)",
                     c->dom, c->ifname ? c->ifname : c->pf->addr_str, why);
        return vp_error_hint(err, "use a PF on that node, re-pin the domain, or take a VF "
                                  "anyway with --vf N");
    }
    for (size_t i = 0; i < c->inv.n_vfs; i++) {
        const vp_sriov_vf *v = &c->inv.vfs[i];

        if (v->state != VP_VF_FREE || !v->dev)
            continue;
        n_free++;
        if (!best || (!vp_driver_is_vfio_or_none(best->dev->driver) &&
                      vp_driver_is_vfio_or_none(v->dev->driver)))
            best = v;
    }
    if (!best) {
        vp_error_set(err, VP_E_NOTFOUND,
                     "%s: no free VF (%u of %u enabled; every one is in a "
                     "domain's definition or used by the host)",
                     c->ifname ? c->ifname : c->pf->addr_str, c->inv.current, c->inv.total);
        if (c->inv.current < c->inv.total)
            return vp_error_hint(err, "create more with: vpass sriov --pf %s --numvfs %u",
                                 c->ifname ? c->ifname : c->pf->addr_str, c->inv.total);
        return vp_error_hint(err, "see vpass vfs --pf %s", c->ifname ? c->ifname : c->pf->addr_str);
    }
    c->vf = best;
    return 0;
}

static int
choose_vf(sriov_ctx *c, vp_plan *p, vp_error *err)
{
    const vp_sriov_request *sr = c->sr;

    if (sr->vf_auto)
        return pick_vf(c, err);
    if (sr->vf >= c->inv.n_vfs) {
        vp_error_set(err, VP_E_NOTFOUND, "%s: no VF %u (%zu enabled, %u at most)",
                     c->ifname ? c->ifname : c->pf->addr_str, sr->vf, c->inv.n_vfs, c->inv.total);
        return vp_error_hint(err, "see vpass vfs --pf %s", c->ifname ? c->ifname : c->pf->addr_str);
    }
    c->vf = &c->inv.vfs[sr->vf];
    if (!c->vf->dev) {
        char buf[VP_PCI_ADDR_STRLEN];

        return vp_error_set(err, VP_E_NOTFOUND, "%s: VF %u (%s) is not in the inventory",
                            c->ifname ? c->ifname : c->pf->addr_str, sr->vf,
                            vp_pci_addr_format(&c->vf->addr, buf));
    }
    if (!numa_local(c)) {
        vp_autofree char *why = numa_text(c);

        vp_strv_push_take(
            &p->notes, vp_asprintf("%s: VF %u was named: taken although %s", c->dom, sr->vf, why));
    }
    return 0;
}

static int
choose_mac(sriov_ctx *c, vp_error *err)
{
    const vp_sriov_request *sr = c->sr;
    const vp_domain *user;
    uint8_t m[6];

    if (sr->as != VP_VF_AS_INTERFACE || (!sr->mac_auto && !sr->mac))
        return 0;
    /* The domain holds this VF already: the plan is a no-op, its MAC is its own. */
    if (vp_plan_held_find(c->df.held, c->df.n_held, &c->vf->addr))
        return 0;
    if (sr->mac_auto) {
        if (!c->df.uuid || !*c->df.uuid)
            return vp_error_set(err, VP_E_DATA, "%s: the definition has no <uuid> for --mac auto",
                                c->dom);
        vp_sriov_auto_mac(c->df.uuid, &c->pf->addr, c->vf->index, m);
    } else {
        vp_mac_parse(sr->mac, m);
    }
    vp_mac_format(m, c->mac);
    c->has_mac = true;
    user = mac_user(c->h, c->mac);
    if (user) {
        vp_error_set(err, VP_E_UNSAFE, "MAC %s: domain %s uses it already", c->mac, user->name);
        if (sr->mac_auto)
            return vp_error_hint(err,
                                 "--mac auto derives it from %s's UUID and the VF; give "
                                 "one with --mac ADDRESS",
                                 c->dom);
        return vp_error_hint(err, "give another with --mac, or --mac auto");
    }
    return 0;
}

/* The <interface type='hostdev'> of the chosen VF from the template (allocated XML). */
static int
build_interface(const sriov_ctx *c, const vp_pci_addr *guest_addr, char **ret, vp_error *err)
{
    const vp_plan_request *req = c->req;
    vp_autoxmldoc doc = NULL;
    xmlNode *root, *mac, *src, *vlan, *tag, *guest;

    if (vp_plan_template_load(req->templates_dir, VP_TPL_INTERFACE, "interface", NULL, &doc, err) <
        0)
        return -1;
    root = xmlDocGetRootElement(doc);
    mac = vp_xml_child(root, "mac");
    src = vp_xml_child(vp_xml_child(root, "source"), "address");
    vlan = vp_xml_child(root, "vlan");
    tag = vp_xml_child(vlan, "tag");
    guest = vp_plan_guest_address(root, NULL);
    if (!src || !mac || !tag || !guest)
        return vp_error_set(err, VP_E_SYSTEM,
                            "%s/%s: template lacks <mac>, <source><address>, <vlan><tag> or "
                            "the guest <address>",
                            req->templates_dir, VP_TPL_INTERFACE);
    vp_plan_set_prop(root, "managed", req->managed ? "yes" : "no");
    vp_plan_set_pci_address(src, &c->vf->addr);
    if (c->has_mac)
        vp_plan_set_prop(mac, "address", c->mac);
    else
        vp_plan_remove_node(mac); /* libvirt generates one (52:54:00:...) */
    if (c->sr->vlan)
        vp_plan_set_propf(tag, "id", "%u", c->sr->vlan);
    else
        vp_plan_remove_node(vlan);
    if (guest_addr)
        vp_plan_set_pci_address(guest, guest_addr);
    else
        vp_plan_remove_node(guest);
    *ret = vp_plan_xml_dump(root);
    return 0;
}

/* Set the namespace NS on NODE and its element descendants. */
static void
set_ns(xmlNode *node, xmlNs *ns)
{
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        xmlSetNs(node, ns);
        set_ns(node->children, ns);
    }
}

/* A vpass record in the API spelling (no namespace, as a SET_METADATA step holds it) read as
 * vp_meta_read reads a domain's. */
static int
meta_from_api(const char *xml, vp_meta *m, vp_error *err)
{
    vp_autoxmldoc doc = NULL;
    xmlNode *rec, *dom, *md;
    xmlNs *ns;

    if (vp_xml_parse(xml, "vpass metadata", &doc, err) < 0)
        return -1;
    dom = xmlNewDocNode(doc, NULL, (const xmlChar *)"domain", NULL);
    if (!dom)
        abort();
    rec = xmlDocSetRootElement(doc, dom);
    md = vp_plan_new_child(dom, NULL, "metadata");
    if (!rec || !xmlAddChild(md, rec))
        abort();
    ns = xmlNewNs(rec, (const xmlChar *)VP_METADATA_NS, (const xmlChar *)VP_METADATA_PREFIX);
    if (!ns)
        abort();
    set_ns(rec, ns);
    return vp_meta_read(dom, m, NULL, err);
}

/* The plan's SET_METADATA step, NULL when none. */
static vp_step *
find_step(vp_plan *p, vp_step_kind kind)
{
    for (size_t i = 0; i < p->n_steps; i++)
        if (p->steps[i].kind == kind)
            return &p->steps[i];
    return NULL;
}

/* Rewrite the attach's metadata record: the VF's device record says interface, and a vf record
 * keeps the settings SET_VF (may be NULL) changes. */
static int
update_metadata(const sriov_ctx *c, vp_plan *p, const vp_step *set_vf, vp_error *err)
{
    vp_step *s = find_step(p, VP_STEP_SET_METADATA);
    vp_meta m;
    vp_autoxmldoc md = NULL;
    size_t k = 0;
    int rc = -1;

    if (!s || !s->xml)
        return 0;
    if (meta_from_api(s->xml, &m, err) < 0)
        return -1;
    for (size_t i = 0; i < m.n_devices; i++)
        if (vp_pci_addr_eq(&m.devices[i].addr, &c->vf->addr) && c->sr->as == VP_VF_AS_INTERFACE)
            m.devices[i].kind = VP_USE_INTERFACE;
    /* A stale record of the same VF (a detach without netlink) gives way to this one. */
    for (size_t i = 0; i < m.n_vfs; i++) {
        if (set_vf && vp_pci_addr_eq(&m.vfs[i].addr, &c->vf->addr)) {
            free(m.vfs[i].pf);
            continue;
        }
        m.vfs[k++] = m.vfs[i];
    }
    m.n_vfs = k;
    if (set_vf)
        vp_meta_add_vf(&m, &c->vf->addr, set_vf->vf.pf, set_vf->vf.index, set_vf->vf.undo_trust,
                       set_vf->vf.undo_spoofchk);
    if (vp_meta_build(&m, c->req->templates_dir, &md, err) < 0)
        goto out;
    free(s->xml);
    s->xml = vp_meta_api_xml(xmlDocGetRootElement(md));
    rc = 0;
out:
    vp_meta_clear(&m);
    return rc;
}

/* Move the last step of P to position AT. */
static void
move_last_to(vp_plan *p, size_t at)
{
    vp_step last = p->steps[p->n_steps - 1];

    memmove(&p->steps[at + 1], &p->steps[at], (p->n_steps - 1 - at) * sizeof(*p->steps));
    p->steps[at] = last;
}

static const char *
onoff(int v)
{
    return v == VP_VF_ON ? "on" : v == VP_VF_OFF ? "off" : "unknown";
}

/* The settings of one VF as a SET_VF step text: "trust on, spoofchk off". */
static char *
settings_text(int trust, int spoofchk)
{
    if (trust != VP_VF_UNKNOWN && spoofchk != VP_VF_UNKNOWN)
        return vp_asprintf("trust %s, spoofchk %s", onoff(trust), onoff(spoofchk));
    if (trust != VP_VF_UNKNOWN)
        return vp_asprintf("trust %s", onoff(trust));
    return vp_asprintf("spoofchk %s", onoff(spoofchk));
}

/* --trust/--spoofchk can be set on the chosen VF, and undone: a PF interface, netlink, and
 * the driver's report of the current values. */
static int
settings_possible(const sriov_ctx *c, vp_error *err)
{
    const vp_sriov_request *sr = c->sr;
    const vp_sriov_vf *v = c->vf;
    const char *pf = c->ifname ? c->ifname : c->pf->addr_str;
    int want[2] = {sr->trust, sr->spoofchk};
    int cur[2] = {v->info_known ? v->info.trust : VP_VF_UNKNOWN,
                  v->info_known ? v->info.spoofchk : VP_VF_UNKNOWN};
    static const char *const names[2] = {"--trust", "--spoofchk"};

    for (int i = 0; i < 2; i++) {
        if (want[i] == VP_VF_UNKNOWN)
            continue;
        if (!c->ifname) {
            vp_error_set(err, VP_E_UNSUPPORTED,
                         "%s: %s needs the PF's network interface, and %s has none", pf, names[i],
                         c->pf->addr_str);
            return vp_error_hint(err, "a VF that is no NIC takes no %s", names[i]);
        }
        if (!sr->netlink) {
            vp_error_set(err, VP_E_UNSUPPORTED,
                         "%s: %s is set on the PF through netlink, which vpass uses only on this "
                         "machine with --root /",
                         pf, names[i]);
            return vp_error_hint(err,
                                 "run vpass on the host itself, or set it there with: ip "
                                 "link set dev %s vf %u %s %s",
                                 pf, v->index, names[i] + 2, onoff(want[i]));
        }
        if (cur[i] == VP_VF_UNKNOWN)
            return vp_error_set(err, VP_E_UNSUPPORTED,
                                "%s: the driver does not report VF %u's %s, so vpass could not "
                                "set it back at detach",
                                pf, v->index, names[i] + 2);
    }
    return 0;
}

/* --trust/--spoofchk: one SET_VF step for what differs from the VF's current settings (NULL
 * when nothing does). */
static int
plan_set_vf(const sriov_ctx *c, vp_plan *p, vp_step **ret, vp_error *err)
{
    const vp_sriov_request *sr = c->sr;
    const vp_sriov_vf *v = c->vf;
    const char *pf = c->ifname ? c->ifname : c->pf->addr_str;
    int want[2] = {sr->trust, sr->spoofchk}, cur[2], set[2] = {VP_VF_UNKNOWN, VP_VF_UNKNOWN};
    int undo[2] = {VP_VF_UNKNOWN, VP_VF_UNKNOWN};
    static const char *const names[2] = {"--trust", "--spoofchk"};
    vp_autofree char *what = NULL;
    vp_autofree char *was = NULL;
    size_t at;
    vp_step *s;

    *ret = NULL;
    if (sr->trust == VP_VF_UNKNOWN && sr->spoofchk == VP_VF_UNKNOWN)
        return 0;
    if (settings_possible(c, err) < 0)
        return -1;
    cur[0] = v->info.trust;
    cur[1] = v->info.spoofchk;
    for (int i = 0; i < 2; i++) {
        if (want[i] == VP_VF_UNKNOWN)
            continue;
        if (cur[i] == want[i]) {
            vp_strv_push_take(&p->notes, vp_asprintf("%s: VF %u already has %s %s", pf, v->index,
                                                     names[i] + 2, onoff(want[i])));
            continue;
        }
        set[i] = want[i];
        undo[i] = cur[i];
    }
    if (set[0] == VP_VF_UNKNOWN && set[1] == VP_VF_UNKNOWN)
        return 0;
    /* Before the metadata step, so its record (and its undo) follow the change. */
    at = p->n_steps;
    for (size_t i = 0; i < p->n_steps; i++)
        if (p->steps[i].kind == VP_STEP_SET_METADATA) {
            at = i;
            break;
        }
    s = vp_plan_add_step(p, VP_STEP_SET_VF);
    s->addr = v->addr;
    snprintf(s->vf.pf, sizeof(s->vf.pf), "%s", c->ifname);
    s->vf.index = v->index;
    s->vf.trust = set[0];
    s->vf.spoofchk = set[1];
    s->vf.undo_trust = undo[0];
    s->vf.undo_spoofchk = undo[1];
    what = settings_text(set[0], set[1]);
    was = settings_text(undo[0], undo[1]);
    s->summary = vp_asprintf("set %s on VF %u of %s (%s) through netlink, was %s: libvirt has no "
                             "XML for it; detach sets it back",
                             what, v->index, c->ifname, v->dev->addr_str, was);
    move_last_to(p, at);
    *ret = &p->steps[at];
    return 0;
}

/* The VF an attach gives REQ's domain: C filled (PF, domain facts, inventory, C->vf); *HELD
 * is the VF of the PF the domain holds already when --vf auto finds one (then C->vf is NULL:
 * nothing to choose). Notes for the operator go to PRE. */
static int
choose(sriov_ctx *c, vp_plan *pre, const vp_sriov_vf **held, vp_error *err)
{
    const vp_plan_request *req = c->req;
    const vp_sriov_request *sr = c->sr;

    *held = NULL;
    if (validate(sr, true, err) < 0)
        return -1;
    /* Without a domain (vpass xml, check): no pinning, nothing held, no UUID for --mac auto. */
    if (!req->domain_xml && sr->mac_auto)
        return vp_error_set(
            err, VP_E_USAGE,
            "--mac auto derives the MAC from the domain's UUID: give --domain NAME, "
            "or a MAC with --mac ADDRESS");
    if (vp_sriov_find_pf(c->h, sr->pf, &c->pf, err) < 0)
        return -1;
    c->ifname = c->pf->netdevs && c->pf->netdevs[0] ? c->pf->netdevs[0] : NULL;
    if (req->domain_xml && read_dom_facts(req->domain_xml, c->dom, &c->df, err) < 0)
        return -1;
    vp_sriov_pf_build(c->h, c->pf, sr->info, sr->n_info, sr->info_known, NULL, &c->inv);
    if (c->inv.n_vfs == 0) {
        vp_error_set(err, VP_E_NOTFOUND, "%s: no VF enabled (%u possible)",
                     c->ifname ? c->ifname : c->pf->addr_str, c->inv.total);
        return vp_error_hint(err, "create them with: vpass sriov --pf %s --numvfs N",
                             c->ifname ? c->ifname : c->pf->addr_str);
    }
    /* Idempotence of --vf auto: a second run finds the VF the first one gave. */
    *held = sr->vf_auto ? held_vf(c) : NULL;
    if (*held)
        return 0;
    return choose_vf(c, pre, err) < 0 || choose_mac(c, err) < 0 ? -1 : 0;
}

static void
set_choice(vp_sriov_choice *ret, const sriov_ctx *c, const vp_sriov_vf *v)
{
    memset(ret, 0, sizeof(*ret));
    ret->addr = v->addr;
    ret->index = v->index;
    if (v == c->vf) {
        ret->has_mac = c->has_mac;
        memcpy(ret->mac, c->mac, sizeof(c->mac));
    }
}

int
vp_plan_sriov_choose(const vp_host *h, const vp_plan_request *req, const vp_sriov_request *sr,
                     vp_sriov_choice *ret, char ***notes, vp_error *err)
{
    sriov_ctx c = {.h = h, .req = req, .sr = sr, .dom = vp_plan_domain_label(req)};
    vp_plan pre = {0};
    const vp_sriov_vf *held;
    int rc = choose(&c, &pre, &held, err);

    if (rc == 0) {
        set_choice(ret, &c, held ? held : c.vf);
        for (size_t i = 0; pre.notes && pre.notes[i]; i++)
            vp_strv_push(notes, pre.notes[i]);
        if (held)
            vp_strv_push_take(notes, vp_asprintf("%s holds VF %u (%s) of %s already", c.dom,
                                                 held->index, held->dev ? held->dev->addr_str : "?",
                                                 c.ifname ? c.ifname : c.pf->addr_str));
    }
    vp_plan_clear(&pre);
    sriov_ctx_clear(&c);
    return rc;
}

int
vp_plan_sriov_attach(const vp_host *h, const vp_plan_request *req, const vp_sriov_request *sr,
                     vp_plan *ret, vp_sriov_choice *ret_choice, vp_error *err)
{
    sriov_ctx c = {.h = h, .req = req, .sr = sr, .dom = vp_plan_domain_label(req)};
    vp_plan_request r = *req;
    vp_device *devs[1];
    vp_plan p = {0};
    vp_plan pre = {0}; /* notes gathered before the attach plan exists */
    vp_step *set_vf = NULL;
    vp_step *attach;
    const vp_sriov_vf *held;
    int rc = -1;

    memset(ret, 0, sizeof(*ret));
    if (choose(&c, &pre, &held, err) < 0)
        goto out;
    if (held) {
        p.domain = vp_strdup(req->domain_name);
        p.noop = true;
        p.noop_reason = vp_asprintf("%s already holds VF %u (%s) of %s", c.dom, held->index,
                                    held->dev ? held->dev->addr_str : "?",
                                    c.ifname ? c.ifname : c.pf->addr_str);
        vp_strv_push(&p.notes, "name another VF with --vf N to give the domain a second one");
        if (ret_choice)
            set_choice(ret_choice, &c, held);
        rc = 0;
        goto out;
    }
    if (settings_possible(&c, err) < 0)
        goto out;

    devs[0] = (vp_device *)c.vf->dev;
    memset(&r.target, 0, sizeof(r.target));
    r.target.devices = devs;
    r.target.n_devices = 1;
    r.target.domain = req->target.domain;
    r.all_functions = false;
    if (vp_plan_attach(h, &r, &p, err) < 0)
        goto out;
    if (ret_choice)
        set_choice(ret_choice, &c, c.vf);
    if (p.noop) {
        /* The domain holds this VF: what it has stays (detach first to change it). */
        if (c.has_mac || sr->vlan || sr->trust != VP_VF_UNKNOWN || sr->spoofchk != VP_VF_UNKNOWN)
            vp_strv_push_take(&p.notes,
                              vp_asprintf("%s keeps VF %u as it is; to change its MAC, VLAN or "
                                          "settings, detach it first",
                                          c.dom, c.vf->index));
        rc = 0;
        goto out;
    }
    attach = find_step(&p, VP_STEP_ATTACH);
    if (!attach) {
        vp_error_set(err, VP_E_DATA, "%s: the attach plan has no attach step", c.dom);
        goto out;
    }
    if (sr->as == VP_VF_AS_INTERFACE) {
        vp_autofree char *xml = NULL;
        vp_autofree char *mac = c.has_mac ? vp_asprintf(", MAC %s", c.mac) : vp_strdup("");
        vp_autofree char *vlan = sr->vlan ? vp_asprintf(", VLAN %u", sr->vlan) : vp_strdup("");

        vp_autoxmldoc hostdev = NULL;
        vp_pci_addr guest;
        bool has_guest;

        /* The guest slot vp_plan_attach gave the VF (its own root port on q35) moves across. */
        if (vp_xml_parse(attach->xml, "device XML", &hostdev, err) < 0)
            goto out;
        has_guest = vp_plan_guest_address(xmlDocGetRootElement(hostdev), &guest) != NULL;
        if (build_interface(&c, has_guest ? &guest : NULL, &xml, err) < 0)
            goto out;
        free(attach->xml);
        attach->xml = VP_STEAL(&xml);
        free(attach->summary);
        attach->summary =
            vp_asprintf("attach VF %u of %s (%s) to %s as <interface "
                        "type='hostdev'>%s%s (%s)",
                        c.vf->index, c.ifname ? c.ifname : c.pf->addr_str, c.vf->dev->addr_str,
                        c.dom, mac, vlan, vp_plan_affect_name(req->affect, req->target.domain));
    } else {
        free(attach->summary);
        attach->summary =
            vp_asprintf("attach VF %u of %s (%s) to %s as <hostdev> (%s)", c.vf->index,
                        c.ifname ? c.ifname : c.pf->addr_str, c.vf->dev->addr_str, c.dom,
                        vp_plan_affect_name(req->affect, req->target.domain));
    }
    if (plan_set_vf(&c, &p, &set_vf, err) < 0 || update_metadata(&c, &p, set_vf, err) < 0)
        goto out;
    rc = 0;
out:
    for (size_t i = 0; pre.notes && pre.notes[i]; i++)
        vp_strv_push(&p.notes, pre.notes[i]);
    vp_plan_clear(&pre);
    sriov_ctx_clear(&c);
    return vp_plan_finish(&p, rc, ret);
}

/* ---- detach ---- */

int
vp_plan_sriov_detach(const vp_host *h, const vp_plan_request *req, const vp_sriov_request *sr,
                     bool reattach, vp_plan *ret, vp_error *err)
{
    sriov_ctx c = {.h = h, .req = req, .sr = sr, .dom = vp_plan_domain_label(req)};
    vp_plan_request r = *req;
    vp_autofree vp_device **devs = NULL;
    vp_plan p = {0};
    vp_meta m = {0};
    size_t n = 0, after_detach = 0;
    int rc = -1;

    memset(ret, 0, sizeof(*ret));
    if (validate(sr, false, err) < 0)
        return -1;
    if (sr->has_vf && sr->vf_auto)
        return vp_error_set(err, VP_E_USAGE,
                            "detach: --vf auto picks a VF to give; name the "
                            "one to take back (--vf N), or none for all");
    if (!req->domain_xml)
        return vp_error_set(err, VP_E_USAGE, "detach needs the domain's definition");
    if (vp_sriov_find_pf(h, sr->pf, &c.pf, err) < 0)
        return -1;
    c.ifname = c.pf->netdevs && c.pf->netdevs[0] ? c.pf->netdevs[0] : NULL;
    if (read_dom_facts(req->domain_xml, c.dom, &c.df, err) < 0)
        goto out;
    vp_sriov_pf_build(h, c.pf, sr->info, sr->n_info, sr->info_known, NULL, &c.inv);
    if (sr->has_vf && sr->vf >= c.inv.n_vfs) {
        vp_error_set(err, VP_E_NOTFOUND, "%s: no VF %u (%zu enabled)",
                     c.ifname ? c.ifname : c.pf->addr_str, sr->vf, c.inv.n_vfs);
        goto out;
    }
    devs = vp_malloc0((c.inv.n_vfs + 1) * sizeof(*devs));
    for (size_t i = 0; i < c.inv.n_vfs; i++) {
        const vp_sriov_vf *v = &c.inv.vfs[i];

        if (sr->has_vf ? v->index != sr->vf : !vp_plan_held_find(c.df.held, c.df.n_held, &v->addr))
            continue;
        if (v->dev)
            devs[n++] = (vp_device *)v->dev;
    }
    if (n == 0) {
        p.domain = vp_strdup(req->domain_name);
        p.noop = true;
        p.noop_reason =
            vp_asprintf("%s holds no VF of %s", c.dom, c.ifname ? c.ifname : c.pf->addr_str);
        rc = 0;
        goto out;
    }
    memset(&r.target, 0, sizeof(r.target));
    r.target.devices = devs;
    r.target.n_devices = n;
    r.target.domain = req->target.domain;
    r.all_functions = false;
    if (vp_plan_detach(h, &r, reattach, &p, err) < 0)
        goto out;
    if (p.noop)
        goto done;
    if (vp_meta_read(c.df.root, &m, NULL, err) < 0) {
        vp_error_prefix(err, "%s", c.dom);
        goto out;
    }
    for (size_t i = 0; i < p.n_steps; i++)
        if (p.steps[i].kind == VP_STEP_DETACH)
            after_detach = i + 1;
    /* Put back what vpass changed on the PF for each VF leaving (after it left). */
    for (size_t i = 0; i < m.n_vfs; i++) {
        const vp_meta_vf *rec = &m.vfs[i];
        const vp_sriov_vf *v = NULL;
        vp_autofree char *what = NULL;
        vp_step *s;
        bool leaving = false;

        for (size_t j = 0; j < p.n_steps; j++)
            leaving |=
                p.steps[j].kind == VP_STEP_DETACH && vp_pci_addr_eq(&p.steps[j].addr, &rec->addr);
        if (!leaving || (rec->old_trust == VP_VF_UNKNOWN && rec->old_spoofchk == VP_VF_UNKNOWN))
            continue;
        for (size_t j = 0; j < c.inv.n_vfs; j++)
            if (vp_pci_addr_eq(&c.inv.vfs[j].addr, &rec->addr))
                v = &c.inv.vfs[j];
        what = settings_text(rec->old_trust, rec->old_spoofchk);
        if (!sr->netlink) {
            vp_strv_push_take(
                &p.notes,
                vp_asprintf("VF %u of %s: vpass changed its settings at attach; put "
                            "them back on the host (netlink is used only with --root "
                            "/ on the host itself): ip link set dev %s vf %u%s%s%s%s",
                            rec->index, rec->pf, rec->pf, rec->index,
                            rec->old_trust != VP_VF_UNKNOWN ? " trust " : "",
                            rec->old_trust != VP_VF_UNKNOWN ? onoff(rec->old_trust) : "",
                            rec->old_spoofchk != VP_VF_UNKNOWN ? " spoofchk " : "",
                            rec->old_spoofchk != VP_VF_UNKNOWN ? onoff(rec->old_spoofchk) : ""));
            continue;
        }
        s = vp_plan_add_step(&p, VP_STEP_SET_VF);
        s->addr = rec->addr;
        snprintf(s->vf.pf, sizeof(s->vf.pf), "%s", rec->pf);
        s->vf.index = rec->index;
        s->vf.trust = rec->old_trust;
        s->vf.spoofchk = rec->old_spoofchk;
        /* Undo gives back what the VF has now, when netlink said so. */
        s->vf.undo_trust =
            rec->old_trust != VP_VF_UNKNOWN && v && v->info_known ? v->info.trust : VP_VF_UNKNOWN;
        s->vf.undo_spoofchk = rec->old_spoofchk != VP_VF_UNKNOWN && v && v->info_known
                                  ? v->info.spoofchk
                                  : VP_VF_UNKNOWN;
        {
            char buf[VP_PCI_ADDR_STRLEN];

            s->summary =
                vp_asprintf("set %s back on VF %u of %s (%s) through netlink, as before "
                            "vpass changed it",
                            what, rec->index, rec->pf, vp_pci_addr_format(&rec->addr, buf));
        }
        move_last_to(&p, after_detach++);
    }
done:
    rc = 0;
out:
    vp_meta_clear(&m);
    sriov_ctx_clear(&c);
    if (rc < 0) {
        vp_plan_clear(&p);
        return -1;
    }
    *ret = p;
    return 0;
}

/* ---- the VF count ---- */

void
vp_sriov_numvfs_plan_clear(vp_sriov_numvfs_plan *p)
{
    if (!p)
        return;
    free(p->writes);
    free(p->attr_path);
    free(p->rule_path);
    free(p->rule);
    vp_strv_free(p->notes);
    memset(p, 0, sizeof(*p));
}

int
vp_plan_sriov_numvfs(const vp_host *h, const char *pf_sel, unsigned n, bool persist,
                     vp_sriov_numvfs_plan *ret, vp_error *err)
{
    vp_sriov_numvfs_plan p = {0};
    vp_sriov_pf inv = {0};
    const vp_device *pf;
    const char *name;
    int rc = -1;

    memset(ret, 0, sizeof(*ret));
    if (vp_sriov_find_pf(h, pf_sel, &pf, err) < 0)
        return -1;
    if (!vp_streq(h->source, "sysfs") && !h->facts.read)
        return vp_error_set(err, VP_E_UNSUPPORTED,
                            "%s: the VF count is set in the PF's sysfs, and this host was not "
                            "read from sysfs (remote)",
                            pf_sel);
    p.pf = pf;
    p.ifname = pf->netdevs && pf->netdevs[0] ? pf->netdevs[0] : NULL;
    name = p.ifname ? p.ifname : pf->addr_str;
    p.from = (unsigned)pf->n_vfs;
    p.to = n;
    p.total = pf->vf_max;
    p.persist = persist;
    p.attr_path = vp_asprintf("sys/bus/pci/devices/%s/sriov_numvfs", pf->addr_str);
    /* drivers/pci/iov.c, sriov_numvfs_store: beyond TotalVFs is -ERANGE. */
    if (n > p.total) {
        vp_error_set(err, VP_E_USAGE, "%s: %u VFs asked, the PF supports %u (sriov_totalvfs)", name,
                     n, p.total);
        goto out;
    }
    /* sriov_numvfs_store: "no driver bound to device; cannot configure SR-IOV". */
    if (!pf->driver && n != p.from) {
        vp_error_set(err, VP_E_UNSUPPORTED,
                     "%s: no driver is bound to %s, and only its driver "
                     "creates VFs",
                     name, pf->addr_str);
        goto out;
    }
    if (n != p.from && p.from > 0) {
        /* Every current VF goes away (the count passes through 0): none may be in use. */
        vp_sriov_pf_build(h, pf, NULL, 0, false, NULL, &inv);
        for (size_t i = 0; i < inv.n_vfs; i++) {
            const vp_sriov_vf *v = &inv.vfs[i];

            if (v->state == VP_VF_FREE)
                continue;
            vp_error_set(err, VP_E_UNSAFE,
                         "%s: changing the VF count removes every current VF, and VF %u (%s) is "
                         "%s: %s",
                         name, v->index, v->dev ? v->dev->addr_str : "?",
                         vp_vf_state_name(v->state), v->why ? v->why : "in use");
            if (v->state == VP_VF_ASSIGNED)
                vp_error_hint(err, "take it back first: vpass detach --domain D --pf %s --vf %u",
                              name, v->index);
            else
                vp_error_hint(err, "stop the host from using VF %u of %s first", v->index, name);
            goto out;
        }
    }
    if (n == p.from) {
        p.noop = true;
    } else {
        p.writes = vp_malloc0(2 * sizeof(*p.writes));
        /* The kernel refuses to change a non-zero count ("%d VFs already enabled. Disable
         * before enabling %d VFs"): 0 first. */
        if (p.from > 0 && n > 0)
            p.writes[p.n_writes++] = 0;
        p.writes[p.n_writes++] = n;
    }
    if (pf->driver && vp_streq(pf->driver, "vfio-pci") && n > 0)
        vp_strv_push(&p.notes, "the PF is on vfio-pci: it creates VFs only when loaded with "
                               "enable_sriov=1");
    if (persist) {
        p.rule_path = vp_asprintf("etc/udev/rules.d/70-vpass-sriov-%s.rules", pf->addr_str);
        if (n == 0) {
            p.rule = NULL; /* remove it: the kernel's default is no VF */
        } else if (!pf->driver) {
            vp_error_set(err, VP_E_UNSUPPORTED,
                         "%s: --persist: no driver is bound, so no "
                         "rule can wait for it",
                         name);
            goto out;
        } else {
            /* "bind" comes once the PF's driver probed it (Linux >= 4.14): the first moment
             * sriov_numvfs can be written. KERNEL is the PCI address, stable across boots. */
            p.rule = vp_asprintf("# Written by vpass sriov --persist: %s (%s) gets %u VFs when "
                                 "%s binds it.\n"
                                 "ACTION==\"bind\", SUBSYSTEM==\"pci\", KERNEL==\"%s\", "
                                 "DRIVER==\"%s\", ATTR{sriov_numvfs}=\"%u\"\n",
                                 pf->addr_str, name, n, pf->driver, pf->addr_str, pf->driver, n);
        }
    }
    rc = 0;
out:
    vp_sriov_pf_clear(&inv);
    if (rc < 0) {
        vp_sriov_numvfs_plan_clear(&p);
        return -1;
    }
    *ret = p;
    return 0;
}
