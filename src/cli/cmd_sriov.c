/* SR-IOV commands: `vpass vfs` (the VFs of every PF, or one), `vpass sriov` (a PF's VF count),
 * and the --pf/--vf/--mac/--vlan/--trust/--spoofchk/--as part of attach and detach. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply/lock.h"
#include "apply/sriov_apply.h"
#include "cli.h"
#include "source/netlink.h"
#include "source/source.h"
#include "util/fs.h"
#include "util/str.h"
#include "virt/virt.h"

/* ---- what the host says about a PF, read for a command ---- */

/* Why netlink is not asked about this host's VFs; NULL when it may be: only this machine, read
 * from "/" (a fixture tree or a remote host has no kernel to ask). */
static const char *
netlink_unavailable(const vp_cli *cli, const vp_host *h)
{
    if (!h->facts.read)
        return "remote host: libvirt's node-device XML has no VF settings";
    if (cli->root_given)
        return "read from --root: VF settings come from this machine's kernel only with --root /";
    return NULL;
}

/* The PF's VF report through NL into *RET; false with *RET_WHY (allocated) when unknown. */
static bool
pf_info(const vp_cli *cli, const vp_host *h, const vp_device *pf, vp_netlink **nl, vp_vf_info **ret,
        size_t *ret_n, char **ret_why)
{
    const char *why = netlink_unavailable(cli, h);
    const char *ifname = pf->netdevs && pf->netdevs[0] ? pf->netdevs[0] : NULL;
    vp_error e = {0};

    *ret = NULL;
    *ret_n = 0;
    if (why) {
        *ret_why = vp_strdup(why);
        return false;
    }
    if (!ifname) {
        *ret_why = vp_asprintf("%s has no network interface (not a NIC, or not on its driver)",
                               pf->addr_str);
        return false;
    }
    if (!*nl && vp_netlink_open(nl, &e) < 0) {
        *ret_why = vp_strdup(e.msg);
        return false;
    }
    if ((*nl)->ops->pf_vfs(*nl, ifname, ret, ret_n, &e) < 0) {
        *ret_why = vp_strdup(e.msg);
        return false;
    }
    return true;
}

/* The CPUs local to PF (sysfs local_cpulist), for a host read from a root; false when unknown. */
static bool
pf_local_cpus(const vp_cli *cli, const vp_host *h, const vp_device *pf, vp_cpuset *ret)
{
    vp_autofree char *rel = vp_asprintf("sys/bus/pci/devices/%s/local_cpulist", pf->addr_str);
    vp_autofree char *line = NULL;

    if (!h->facts.read || vp_root_read_line(cli->root, rel, &line) < 0)
        return false;
    if (vp_cpuset_parse(line, ret) < 0 || vp_cpuset_empty(ret)) {
        vp_cpuset_clear(ret);
        return false;
    }
    return true;
}

/* ---- attach/detach options ---- */

static int
parse_onoff(const char *opt, const char *arg, int *ret, vp_error *err)
{
    if (strcmp(arg, "on") == 0 || strcmp(arg, "yes") == 0)
        *ret = VP_VF_ON;
    else if (strcmp(arg, "off") == 0 || strcmp(arg, "no") == 0)
        *ret = VP_VF_OFF;
    else
        return vp_error_set(err, VP_E_USAGE, "%s '%s': expected on or off", opt, arg);
    return 1;
}

static int
take_option(vp_cli_sriov *s, int opt, const char *arg, vp_error *err)
{
    unsigned v;

    if (opt < VP_OPT_SRIOV_PF || opt > VP_OPT_SRIOV_AS)
        return 0;
    if (!s->inited) {
        /* First SR-IOV option: the defaults (settings left alone, an interface). */
        s->req.trust = VP_VF_UNKNOWN;
        s->req.spoofchk = VP_VF_UNKNOWN;
        s->req.as = VP_VF_AS_INTERFACE;
        s->inited = true;
    }
    switch (opt) {
    case VP_OPT_SRIOV_PF:
        s->given = true;
        s->req.pf = arg;
        return 1;
    case VP_OPT_SRIOV_VF:
        s->req.has_vf = true;
        if (strcmp(arg, "auto") == 0) {
            s->req.vf_auto = true;
            return 1;
        }
        if (vp_parse_uint(arg, &v) < 0)
            return vp_error_set(err, VP_E_USAGE, "--vf '%s': expected a VF number or auto", arg);
        s->req.vf_auto = false;
        s->req.vf = v;
        return 1;
    case VP_OPT_SRIOV_MAC:
        if (strcmp(arg, "auto") == 0) {
            s->req.mac_auto = true;
            s->req.mac = NULL;
        } else {
            s->req.mac_auto = false;
            s->req.mac = arg;
        }
        return 1;
    case VP_OPT_SRIOV_VLAN:
        if (vp_parse_uint(arg, &v) < 0 || v == 0 || v > 4094)
            return vp_error_set(err, VP_E_USAGE, "--vlan '%s': a VLAN id is 1-4094", arg);
        s->req.vlan = v;
        return 1;
    case VP_OPT_SRIOV_TRUST:
        return parse_onoff("--trust", arg, &s->req.trust, err);
    case VP_OPT_SRIOV_SPOOFCHK:
        return parse_onoff("--spoofchk", arg, &s->req.spoofchk, err);
    case VP_OPT_SRIOV_AS:
        if (strcmp(arg, "interface") == 0)
            s->req.as = VP_VF_AS_INTERFACE;
        else if (strcmp(arg, "hostdev") == 0)
            s->req.as = VP_VF_AS_HOSTDEV;
        else
            return vp_error_set(err, VP_E_USAGE, "--as '%s': expected interface or hostdev", arg);
        return 1;
    default:
        return 0;
    }
}

int
vp_cli_sriov_option(vp_cli_sriov *s, int opt, const char *arg, vp_error *err)
{
    int r = take_option(s, opt, arg, err);

    if (r == 0)
        return vp_error_set(err, VP_E_USAGE, "unexpected option");
    return r < 0 ? -1 : 0;
}

int
vp_cli_sriov_check_selection(const vp_cli_sriov *s, const char *cmd, const char *options,
                             const char *others, bool other_selection, vp_error *err)
{
    if (s->inited && !s->given)
        return vp_error_set(err, VP_E_USAGE, "%s: %s go with --pf", cmd, options);
    if (s->given && other_selection)
        return vp_error_set(err, VP_E_USAGE, "%s: --pf selects a VF; not with %s", cmd, others);
    return 0;
}

/* What S's request needs to know of its PF: the VFs' settings (netlink) and local CPUs. */
static int
read_pf(vp_cli *cli, const vp_host *h, vp_cli_sriov *s, vp_error *err)
{
    const vp_device *pf;
    vp_autofree char *why = NULL;
    size_t n = 0;

    if (!s->req.pf)
        return vp_error_set(err, VP_E_USAGE,
                            "--vf, --mac, --vlan, --trust, --spoofchk and --as "
                            "go with --pf");
    if (vp_sriov_find_pf(h, s->req.pf, &pf, err) < 0)
        return -1;
    free(s->info);
    s->info = NULL;
    s->req.info_known = pf_info(cli, h, pf, &s->nl, &s->info, &n, &why);
    s->req.info = s->info;
    s->req.n_info = n;
    s->req.netlink = s->req.info_known && s->nl;
    vp_cpuset_clear(&s->local_cpus);
    s->req.local_cpus = pf_local_cpus(cli, h, pf, &s->local_cpus) ? &s->local_cpus : NULL;
    return 0;
}

int
vp_cli_sriov_choose(vp_cli *cli, const vp_host *h, const vp_plan_request *req, vp_cli_sriov *s,
                    char ***notes, vp_error *err)
{
    if (read_pf(cli, h, s, err) < 0 ||
        vp_plan_sriov_choose(h, req, &s->req, &s->choice, notes, err) < 0)
        return -1;
    return 0;
}

int
vp_cli_sriov_plan(vp_cli *cli, const vp_host *h, const vp_plan_request *req, vp_cli_sriov *s,
                  bool detach, bool reattach, vp_plan *ret, vp_error *err)
{
    int r;

    if (read_pf(cli, h, s, err) < 0)
        return -1;
    if (detach)
        return vp_plan_sriov_detach(h, req, &s->req, reattach, ret, err);
    r = vp_plan_sriov_attach(h, req, &s->req, ret, &s->choice, err);
    s->has_choice = r == 0 && !ret->noop;
    return r;
}

/* Does one definition XML of domain NAME hold ADDR or use MAC? */
static bool
definition_takes(const char *name, const char *xml, const vp_sriov_choice *c, const char **what)
{
    vp_autoptr(vp_host) tmp = vp_host_new();
    vp_domain d = {.name = (char *)name};
    vp_error e = {0};
    bool taken = false;

    if (!xml)
        return false;
    if (vp_domxml_add_assignments(tmp, name, xml, true, true, &e) == 0)
        for (size_t i = 0; i < tmp->n_assignments && !taken; i++)
            taken = vp_pci_addr_eq(&tmp->assignments[i].addr, &c->addr);
    if (taken) {
        *what = "the VF";
        return true;
    }
    if (c->has_mac && vp_domxml_add_macs(&d, xml, &e) == 0)
        taken = vp_strv_contains(d.macs, c->mac);
    vp_strv_free(d.macs);
    if (taken)
        *what = "the MAC";
    return taken;
}

int
vp_cli_sriov_recheck(vp_virt *v, const vp_cli_sriov *s, const char *domain, vp_error *err)
{
    vp_virt_domain *list = NULL;
    size_t n = 0;
    int rc = 0;

    if (!s->given || !s->has_choice)
        return 0;
    if (!v || !v->ops->list_domains || v->ops->list_domains(v, &list, &n, err) < 0) {
        vp_virt_domain_list_free(list, n);
        return v && v->ops->list_domains ? -1 : 0;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *what = NULL;
        char buf[VP_PCI_ADDR_STRLEN];

        if (!list[i].name || (vp_streq(list[i].name, domain) && !s->choice.has_mac))
            continue;
        if (definition_takes(list[i].name, list[i].live_xml, &s->choice, &what) ||
            definition_takes(list[i].name, list[i].config_xml, &s->choice, &what)) {
            vp_error_set(err, VP_E_UNSAFE, "%s: %s (VF %u, %s%s%s) was taken by %s meanwhile",
                         domain, what, s->choice.index, vp_pci_addr_format(&s->choice.addr, buf),
                         s->choice.has_mac ? ", MAC " : "", s->choice.has_mac ? s->choice.mac : "",
                         list[i].name);
            vp_error_hint(err, "run the command again: it picks again");
            rc = -1;
        }
    }
    vp_virt_domain_list_free(list, n);
    return rc;
}

vp_netlink *
vp_cli_sriov_netlink(const vp_cli_sriov *s)
{
    return s->nl;
}

void
vp_cli_sriov_clear(vp_cli_sriov *s)
{
    vp_netlink_free(s->nl);
    free(s->info);
    vp_cpuset_clear(&s->local_cpus);
    memset(s, 0, sizeof(*s));
}

/* ---- vpass vfs ---- */

enum { OPT_VFS_PF = 0x4900, OPT_NUMVFS, OPT_PERSIST, OPT_SRIOV_DRY_RUN };

typedef struct {
    const char *pf;
    bool has_numvfs;
    unsigned numvfs;
    bool persist;
    bool dry_run;
} sriov_args;

static int
sriov_option(void *ctx, int opt, const char *arg, vp_error *err)
{
    sriov_args *a = ctx;

    switch (opt) {
    case OPT_VFS_PF:
        a->pf = arg;
        return 0;
    case OPT_NUMVFS:
        if (vp_parse_uint(arg, &a->numvfs) < 0 || a->numvfs > 65535)
            return vp_error_set(err, VP_E_USAGE, "--numvfs '%s': expected a number of VFs", arg);
        a->has_numvfs = true;
        return 0;
    case OPT_PERSIST:
        a->persist = true;
        return 0;
    case OPT_SRIOV_DRY_RUN:
        a->dry_run = true;
        return 0;
    default:
        return vp_error_set(err, VP_E_USAGE, "unexpected option");
    }
}

static json_object *
json_str(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *
json_tristate(bool known, int v)
{
    return known && v != VP_VF_UNKNOWN ? json_object_new_boolean(v == VP_VF_ON) : NULL;
}

static json_object *
json_vf(const vp_host *h, const vp_sriov_vf *v)
{
    json_object *o = json_object_new_object();
    json_object *owners = json_object_new_array();
    const vp_device *d = v->dev;
    char buf[VP_PCI_ADDR_STRLEN];
    char mac[18];

    (void)h;
    json_object_object_add(o, "index", json_object_new_int((int)v->index));
    json_object_object_add(o, "address", json_object_new_string(vp_pci_addr_format(&v->addr, buf)));
    json_object_object_add(o, "group",
                           d && d->has_group ? json_object_new_int((int)d->group) : NULL);
    json_object_object_add(o, "driver", json_str(d ? d->driver : NULL));
    json_object_object_add(o, "netdev", json_str(d && d->netdevs ? d->netdevs[0] : NULL));
    json_object_object_add(o, "mac",
                           v->info_known && v->info.has_mac
                               ? json_object_new_string(vp_mac_format(v->info.mac, mac))
                               : NULL);
    json_object_object_add(o, "vlan",
                           v->info_known ? json_object_new_int((int)v->info.vlan) : NULL);
    json_object_object_add(o, "qos", v->info_known ? json_object_new_int((int)v->info.qos) : NULL);
    json_object_object_add(o, "spoofchk", json_tristate(v->info_known, v->info.spoofchk));
    json_object_object_add(o, "trust", json_tristate(v->info_known, v->info.trust));
    json_object_object_add(o, "link_state",
                           v->info_known && v->info.link_state != VP_VF_LINK_UNKNOWN
                               ? json_object_new_string(vp_vf_link_state_name(v->info.link_state))
                               : NULL);
    for (size_t i = 0; d && d->owners && d->owners[i]; i++)
        json_object_array_add(owners, json_object_new_string(d->owners[i]));
    json_object_object_add(o, "owners", owners);
    json_object_object_add(o, "in_use", json_object_new_boolean(d && d->owned_by_running));
    json_object_object_add(o, "conflict", json_object_new_boolean(d && d->conflict));
    json_object_object_add(o, "state", json_object_new_string(vp_vf_state_name(v->state)));
    json_object_object_add(o, "state_reason", json_str(v->why));
    return o;
}

static json_object *
json_pf(const vp_host *h, const vp_sriov_pf *p)
{
    json_object *o = json_object_new_object();
    json_object *vfs = json_object_new_array();

    json_object_object_add(o, "pf", json_object_new_string(p->pf->addr_str));
    json_object_object_add(o, "interface", json_str(p->ifname));
    json_object_object_add(o, "driver", json_str(p->pf->driver));
    json_object_object_add(o, "numa_node",
                           p->pf->has_numa ? json_object_new_int(p->pf->numa_node) : NULL);
    json_object_object_add(o, "total_vfs", json_object_new_int((int)p->total));
    json_object_object_add(o, "current_vfs", json_object_new_int((int)p->current));
    json_object_object_add(o, "vf_settings_known", json_object_new_boolean(p->info_known));
    json_object_object_add(o, "vf_settings_reason", json_str(p->info_why));
    for (size_t i = 0; i < p->n_vfs; i++)
        json_object_array_add(vfs, json_vf(h, &p->vfs[i]));
    json_object_object_add(o, "vfs", vfs);
    return o;
}

static const char *
onoff_text(bool known, int v)
{
    if (!known || v == VP_VF_UNKNOWN)
        return "?";
    return v == VP_VF_ON ? "on" : "off";
}

/* "vm1 (running)", "web1, web2 (conflict)". */
static char *
owners_text(const vp_host *h, const vp_device *d)
{
    vp_autostrv char **parts = NULL;
    vp_autofree char *list = NULL;

    if (!d || !d->owners || !d->owners[0])
        return vp_strdup("-");
    for (size_t i = 0; d->owners[i]; i++) {
        const vp_domain *dom = vp_host_find_domain(h, d->owners[i]);

        vp_strv_push_take(
            &parts, vp_asprintf("%s%s", d->owners[i], dom && dom->running ? " (running)" : ""));
    }
    list = vp_strv_join(parts, ", ", "-");
    return d->conflict ? vp_asprintf("%s: conflict", list) : VP_STEAL(&list);
}

static void
print_pf(const vp_cli *cli, const vp_host *h, const vp_sriov_pf *p)
{
    static const char *const headers[] = {"VF",   "ADDRESS", "GROUP", "DRIVER", "NETDEV", "MAC",
                                          "VLAN", "SPOOF",   "TRUST", "LINK",   "STATE",  "OWNER"};
    vp_autoptr(vp_table) t = vp_table_new(VP_ARRAY_SIZE(headers), headers);
    vp_autofree char *label = vp_device_label(p->pf);

    (void)cli;
    printf("%s  %s  %s  %s  VFs %u of %u\n", p->ifname ? p->ifname : "-", p->pf->addr_str, label,
           p->pf->driver ? p->pf->driver : "(no driver)", p->current, p->total);
    for (size_t i = 0; i < p->n_vfs; i++) {
        const vp_sriov_vf *v = &p->vfs[i];
        const vp_device *d = v->dev;
        char idx[16], group[16], vlan[16], mac[18], addr[VP_PCI_ADDR_STRLEN];
        vp_autofree char *owner = owners_text(h, d);
        static const uint8_t zero[6] = {0};
        const char *cells[VP_ARRAY_SIZE(headers)];

        snprintf(idx, sizeof(idx), "%u", v->index);
        snprintf(group, sizeof(group), "%u", d && d->has_group ? d->group : 0);
        if (v->info_known)
            snprintf(vlan, sizeof(vlan), "%u", v->info.vlan);
        cells[0] = idx;
        cells[1] = vp_pci_addr_format(&v->addr, addr);
        cells[2] = d && d->has_group ? group : "-";
        cells[3] = d && d->driver ? d->driver : "-";
        cells[4] = d && d->netdevs ? d->netdevs[0] : "-";
        cells[5] = !v->info_known                      ? "?"
                   : memcmp(v->info.mac, zero, 6) == 0 ? "-"
                                                       : vp_mac_format(v->info.mac, mac);
        cells[6] = !v->info_known ? "?" : v->info.vlan ? vlan : "-";
        cells[7] = onoff_text(v->info_known, v->info.spoofchk);
        cells[8] = onoff_text(v->info_known, v->info.trust);
        cells[9] = v->info_known ? vp_vf_link_state_name(v->info.link_state) : "?";
        cells[10] = vp_vf_state_name(v->state);
        cells[11] = owner;
        vp_table_add_row(t, cells);
    }
    if (p->n_vfs) {
        /* Indent the table under its PF. */
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);

        if (mem) {
            vp_table_print(t, mem);
            fclose(mem);
            for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
                nl = strchr(line, '\n');
                printf("  %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
            }
            free(buf);
        }
    } else {
        printf("  no VF enabled (vpass sriov --pf %s --numvfs N)\n",
               p->ifname ? p->ifname : p->pf->addr_str);
    }
    if (!p->info_known)
        printf("  MAC, VLAN, spoof checking, trust and link state: unknown (%s)\n", p->info_why);
    for (size_t i = 0; i < p->n_vfs; i++)
        if (p->vfs[i].state == VP_VF_HOST && p->vfs[i].why)
            printf("  VF %u is used by the host: %s\n", p->vfs[i].index, p->vfs[i].why);
}

static int
vfs_run(vp_cli *cli, const vp_command *cmd, int argc, char **argv, vp_error *err)
{
    static const struct option options[] = {
        {"pf", required_argument, NULL, OPT_VFS_PF},
        {NULL, 0, NULL, 0},
    };
    sriov_args a = {0};
    vp_autoptr(vp_host) h = NULL;
    vp_autoptr(vp_netlink) nl = NULL;
    const vp_device *one = NULL;
    json_object *out = NULL;
    bool help;
    size_t shown = 0;
    int ind;

    if (vp_cli_parse(cli, cmd, argc, argv, options, sriov_option, &a, &ind, &help, err) < 0)
        return -1;
    if (help)
        return 0;
    if (ind < argc)
        return vp_error_set(err, VP_E_USAGE, "vfs: unexpected argument '%s' (--pf NAME)",
                            argv[ind]);
    if (vp_cli_load_host(cli, &h, err) < 0)
        return -1;
    if (a.pf && vp_sriov_find_pf(h, a.pf, &one, err) < 0)
        return -1;
    if (cli->json)
        out = json_object_new_array();
    for (size_t i = 0; i < h->n_devices; i++) {
        const vp_device *d = h->devices[i];
        vp_autofree vp_vf_info *info = NULL;
        vp_autofree char *why = NULL;
        vp_sriov_pf p;
        size_t n = 0;
        bool known;

        if (one ? d != one : !d->is_pf)
            continue;
        known = pf_info(cli, h, d, &nl, &info, &n, &why);
        vp_sriov_pf_build(h, d, info, n, known, why, &p);
        if (out) {
            json_object_array_add(out, json_pf(h, &p));
        } else {
            if (shown)
                putchar('\n');
            print_pf(cli, h, &p);
        }
        shown++;
        vp_sriov_pf_clear(&p);
    }
    if (out) {
        vp_json_print(out);
        return 0;
    }
    if (!shown)
        printf("No SR-IOV PF on this host.\n");
    {
        vp_autofree char *what = vp_asprintf("%zu PF%s", shown, shown == 1 ? "" : "s");

        vp_cli_print_summary(h, what);
    }
    return 0;
}

const vp_command vp_cmd_vfs = {
    .name = "vfs",
    .usage = "[--pf IFNAME|ADDR]",
    .summary = "the VFs of every SR-IOV PF (or one): MAC, VLAN, trust, owner, state",
    .help = "Options:\n"
            "      --pf IFNAME|ADDR     one PF (enp4s0, 0000:04:00.0)\n"
            "States: free (in no domain's definition, not used by the host), assigned (in a\n"
            "domain's definition, running or not), host (on a host driver whose interface or\n"
            "disk the host uses). MAC, VLAN, spoofchk, trust and link come from the PF's\n"
            "netlink report, so only for this machine read from --root /; '?' otherwise.\n",
    .run = vfs_run,
};

/* ---- vpass sriov ---- */

static json_object *
json_numvfs(const vp_sriov_numvfs_plan *p, const char *root, bool dry_run, bool changed)
{
    json_object *o = json_object_new_object();
    json_object *writes = json_object_new_array();
    json_object *notes = json_object_new_array();
    vp_autofree char *attr = vp_path_join(root, p->attr_path);

    json_object_object_add(o, "pf", json_object_new_string(p->pf->addr_str));
    json_object_object_add(o, "interface", json_str(p->ifname));
    json_object_object_add(o, "total_vfs", json_object_new_int((int)p->total));
    json_object_object_add(o, "current_vfs", json_object_new_int((int)p->from));
    json_object_object_add(o, "requested_vfs", json_object_new_int((int)p->to));
    json_object_object_add(o, "dry_run", json_object_new_boolean(dry_run));
    json_object_object_add(o, "noop", json_object_new_boolean(p->noop));
    json_object_object_add(o, "changed", json_object_new_boolean(changed));
    json_object_object_add(o, "path", json_object_new_string(attr));
    for (size_t i = 0; i < p->n_writes; i++)
        json_object_array_add(writes, json_object_new_int((int)p->writes[i]));
    json_object_object_add(o, "writes", writes);
    if (p->persist) {
        json_object *r = json_object_new_object();
        vp_autofree char *path = vp_path_join(root, p->rule_path);

        json_object_object_add(r, "path", json_object_new_string(path));
        json_object_object_add(r, "content", json_str(p->rule));
        json_object_object_add(o, "udev_rule", r);
    } else {
        json_object_object_add(o, "udev_rule", NULL);
    }
    for (size_t i = 0; p->notes && p->notes[i]; i++)
        json_object_array_add(notes, json_object_new_string(p->notes[i]));
    json_object_object_add(o, "notes", notes);
    return o;
}

static void
print_numvfs(const vp_sriov_numvfs_plan *p, const char *root, bool dry_run)
{
    vp_autofree char *attr = vp_path_join(root, p->attr_path);
    const char *name = p->ifname ? p->ifname : p->pf->addr_str;

    if (p->noop)
        printf("%s (%s) has %u VFs already (of %u)\n", name, p->pf->addr_str, p->from, p->total);
    else
        printf("%s (%s): %u -> %u VFs (of %u)%s\n", name, p->pf->addr_str, p->from, p->to, p->total,
               dry_run ? ", nothing changed: --dry-run" : "");
    for (size_t i = 0; i < p->n_writes; i++)
        printf("  write %u to %s%s\n", p->writes[i], attr,
               i == 0 && p->n_writes > 1 ? " (the kernel changes a non-zero count only from 0)"
                                         : "");
    if (p->persist) {
        vp_autofree char *path = vp_path_join(root, p->rule_path);

        if (p->rule) {
            printf("  udev rule %s:\n", path);
            for (const char *l = p->rule; *l;) {
                size_t n = strcspn(l, "\n");

                printf("    %.*s\n", (int)n, l);
                l += n + (l[n] == '\n');
            }
        } else {
            printf("  remove the udev rule %s (if present)\n", path);
        }
    }
    for (size_t i = 0; p->notes && p->notes[i]; i++)
        fprintf(stderr, "vpass: note: %s\n", p->notes[i]);
}

static int
sriov_run(vp_cli *cli, const vp_command *cmd, int argc, char **argv, vp_error *err)
{
    static const struct option options[] = {
        {"pf", required_argument, NULL, OPT_VFS_PF},
        {"numvfs", required_argument, NULL, OPT_NUMVFS},
        {"persist", no_argument, NULL, OPT_PERSIST},
        {"dry-run", no_argument, NULL, OPT_SRIOV_DRY_RUN},
        {NULL, 0, NULL, 0},
    };
    sriov_args a = {0};
    vp_autoptr(vp_host) h = NULL;
    vp_autoptr(vp_lock) lock = NULL;
    vp_sriov_numvfs_plan p = {0};
    vp_sriov_numvfs_report rep = {0};
    bool help, changed = false, rule_changed = false;
    int ind, rc = -1;

    if (vp_cli_parse(cli, cmd, argc, argv, options, sriov_option, &a, &ind, &help, err) < 0)
        return -1;
    if (help)
        return 0;
    if (ind < argc)
        return vp_error_set(err, VP_E_USAGE, "sriov: unexpected argument '%s'", argv[ind]);
    if (!a.pf || !a.has_numvfs)
        return vp_error_set(err, VP_E_USAGE,
                            "sriov: which PF and how many VFs? (--pf IFNAME "
                            "--numvfs N)");
    /* The same lock as attach: a count change must not race an attach picking a VF. */
    if (!a.dry_run && vp_lock_acquire(cli->root, &lock, err) < 0)
        return -1;
    if (vp_cli_load_host(cli, &h, err) < 0)
        return -1;
    if (vp_plan_sriov_numvfs(h, a.pf, a.numvfs, a.persist, &p, err) < 0)
        return -1;
    if (!a.dry_run) {
        if (vp_sriov_apply_numvfs(cli->root, &p, NULL, &rep, err) < 0)
            goto out;
        if (a.persist && vp_sriov_apply_rule(cli->root, &p, &rule_changed, err) < 0)
            goto out;
        changed = rep.written > 0 || rule_changed;
    }
    if (cli->json) {
        vp_json_print(json_numvfs(&p, cli->root, a.dry_run, changed));
    } else {
        print_numvfs(&p, cli->root, a.dry_run);
        if (!a.dry_run)
            printf("%s\n", changed ? "done" : "nothing to change");
    }
    rc = 0;
out:
    vp_sriov_numvfs_plan_clear(&p);
    return rc;
}

const vp_command vp_cmd_sriov = {
    .name = "sriov",
    .usage = "--pf IFNAME|ADDR --numvfs N [--persist] [--dry-run]",
    .summary = "set how many VFs a PF has (sriov_numvfs), optionally at every boot",
    .help = "Options:\n"
            "      --pf IFNAME|ADDR     the PF\n"
            "      --numvfs N           VFs wanted (0 removes them; at most sriov_totalvfs)\n"
            "      --persist            also write a udev rule under ROOT/etc/udev/rules.d that\n"
            "                           sets the count when the PF's driver binds (at boot)\n"
            "      --dry-run            print the writes and the rule; change nothing\n"
            "A non-zero count changes through 0 (the kernel's rule), which removes every VF:\n"
            "refused while one is in a domain's definition or used by the host.\n",
    .run = sriov_run,
};
