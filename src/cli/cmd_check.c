/* vpass check: the pre-flight survey of the host, a group or a device, for a domain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "cli.h"
#include "util/str.h"
#include "virt/virt.h"

typedef struct {
    const char *group;
    char **devices; /* vp_strv of selectors */
    const char *domain;
    vp_cli_sriov sriov; /* --pf, --vf, --mac: the VF attach would choose */
} check_args;

enum { OPT_GROUP = 0x3000, OPT_DEVICE, OPT_DOMAIN };

static const struct option check_options[] = {
    {"group", required_argument, NULL, OPT_GROUP},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"domain", required_argument, NULL, OPT_DOMAIN},
    {"pf", required_argument, NULL, VP_OPT_SRIOV_PF},
    {"vf", required_argument, NULL, VP_OPT_SRIOV_VF},
    {"mac", required_argument, NULL, VP_OPT_SRIOV_MAC},
    {NULL, 0, NULL, 0},
};

static int
check_option(void *ctx, int opt, const char *arg, vp_error *err)
{
    check_args *a = ctx;

    switch (opt) {
    case OPT_GROUP:
        if (a->group)
            return vp_error_set(err, VP_E_USAGE, "check: --group given twice");
        a->group = arg;
        return 0;
    case OPT_DEVICE:
        vp_strv_push(&a->devices, arg);
        return 0;
    case OPT_DOMAIN:
        a->domain = arg;
        return 0;
    default:
        return vp_cli_sriov_option(&a->sriov, opt, arg, err); /* --pf, --vf, --mac */
    }
}

/* check --pf: the VF attach would choose (for the domain, when given) as the one device to
 * check, with the notes of that choice. */
static int
choose_vf(vp_cli *cli, const vp_host *h, vp_virt *v, check_args *a, vp_check_target *t,
          vp_error *err)
{
    vp_autofree char *domain_xml = NULL;
    vp_autostrv char **notes = NULL;
    vp_plan_request req = {0};
    bool running = false, persistent = true;
    vp_device *d;

    if (!a->sriov.req.has_vf) {
        /* No --vf: the one --vf auto would take. */
        a->sriov.req.has_vf = true;
        a->sriov.req.vf_auto = true;
    }
    if (a->domain) {
        if (!v || !v->ops->domain_state || !v->ops->get_domain_xml)
            return vp_error_set(err, VP_E_UNSUPPORTED,
                                "%s: this connection cannot read domain definitions",
                                v ? v->uri : "libvirt");
        /* The definition the next attach changes: the persistent one when there is one. */
        if (v->ops->domain_state(v, a->domain, &running, &persistent, err) < 0 ||
            v->ops->get_domain_xml(v, a->domain, persistent, &domain_xml, err) < 0)
            return -1;
    }
    req.domain_name = a->domain;
    req.domain_xml = domain_xml;
    req.target.domain = t->domain;
    if (vp_cli_sriov_choose(cli, h, &req, &a->sriov, &notes, err) < 0)
        return -1;
    d = vp_host_find_device(h, &a->sriov.choice.addr);
    if (!d) {
        char buf[VP_PCI_ADDR_STRLEN];

        return vp_error_set(err, VP_E_NOTFOUND, "VF %u (%s) of %s is not in the inventory",
                            a->sriov.choice.index, vp_pci_addr_format(&a->sriov.choice.addr, buf),
                            a->sriov.req.pf);
    }
    t->devices = vp_malloc0(sizeof(vp_device *) * 2);
    t->devices[t->n_devices++] = d;
    for (size_t i = 0; !cli->json && notes && notes[i]; i++)
        fprintf(stderr, "vpass: note: %s\n", notes[i]);
    return 0;
}

/* Resolve the selection into a check target; devices are borrowed from H. */
int vp_cli_resolve_target(const vp_host *h, const char *group, char *const *devices,
                          const char *domain, vp_check_target *t, vp_error *err);

int
vp_cli_resolve_target(const vp_host *h, const char *group, char *const *devices, const char *domain,
                      vp_check_target *t, vp_error *err)
{
    memset(t, 0, sizeof(*t));
    if (group && devices)
        return vp_error_set(err, VP_E_USAGE,
                            "--group and --device select the same thing two ways: give one");
    if (domain) {
        t->domain = vp_host_find_domain(h, domain);
        if (!t->domain) {
            vp_error_set(err, VP_E_NOTFOUND, "domain '%s': no such domain on %s", domain,
                         h->uri ? h->uri : "this host");
            return vp_error_hint(err, "list the domains with: virsh list --all");
        }
    }
    if (group) {
        const vp_group *g;

        if (vp_host_resolve_group(h, group, &g, err) < 0)
            return -1;
        t->group = g;
        t->devices = vp_malloc0(sizeof(vp_device *) * (g->n_members + 1));
        /* A group is assigned by its endpoints; bridges stay with the host. */
        for (size_t i = 0; i < g->n_members; i++)
            if (!h->devices[g->members[i]]->is_bridge)
                t->devices[t->n_devices++] = h->devices[g->members[i]];
        return 0;
    }
    t->devices = vp_malloc0(sizeof(vp_device *) * (vp_strv_len(devices) + 1));
    for (size_t i = 0; devices && devices[i]; i++) {
        vp_device *d;
        bool dup = false;

        if (vp_host_resolve_device(h, devices[i], &d, err) < 0)
            return -1;
        for (size_t j = 0; j < t->n_devices; j++)
            dup |= t->devices[j] == d;
        if (!dup)
            t->devices[t->n_devices++] = d;
    }
    return 0;
}

static const char *
subject_title(const vp_host *h, const vp_finding *f, char *buf, size_t len)
{
    vp_pci_addr a;

    /* Group findings about one member (group-member, group-isolate, ...) read best in their
     * group's section: their message names the device. */
    if (f->kind == VP_SUBJECT_DEVICE && vp_startswith(f->code, "group-") &&
        vp_pci_addr_parse(f->subject, &a, NULL) == 0 && vp_host_find_device(h, &a) &&
        vp_host_find_device(h, &a)->has_group) {
        snprintf(buf, len, "Group %u", vp_host_find_device(h, &a)->group);
        return buf;
    }
    switch (f->kind) {
    case VP_SUBJECT_HOST:
        snprintf(buf, len, "Host");
        break;
    case VP_SUBJECT_GROUP:
        snprintf(buf, len, "Group %s", f->subject);
        break;
    case VP_SUBJECT_DEVICE:
        if (vp_pci_addr_parse(f->subject, &a, NULL) == 0 && vp_host_find_device(h, &a)) {
            vp_autofree char *label = vp_device_label(vp_host_find_device(h, &a));

            snprintf(buf, len, "Device %s  %s", f->subject, label);
        } else {
            snprintf(buf, len, "Device %s", f->subject);
        }
        break;
    case VP_SUBJECT_DOMAIN:
        snprintf(buf, len, "Domain %s", f->subject);
        break;
    }
    return buf;
}

static const char *
severity_color(const vp_cli *cli, vp_severity s)
{
    if (!cli->color)
        return "";
    switch (s) {
    case VP_SEV_OK:
        return "\033[32m";
    case VP_SEV_INFO:
        return "";
    case VP_SEV_WARN:
        return "\033[33m";
    case VP_SEV_BLOCK:
        return "\033[31m";
    }
    return "";
}

static size_t
count_severity(const vp_findings *f, vp_severity s)
{
    size_t n = 0;

    for (size_t i = 0; i < f->n; i++)
        n += f->items[i].severity == s;
    return n;
}

static json_object *
json_findings(const vp_findings *f)
{
    json_object *arr = json_object_new_array();

    for (size_t i = 0; i < f->n; i++) {
        const vp_finding *x = &f->items[i];
        json_object *o = json_object_new_object();
        static const char *const kinds[] = {"host", "group", "device", "domain"};

        json_object_object_add(o, "code", json_object_new_string(x->code));
        json_object_object_add(o, "severity",
                               json_object_new_string(vp_severity_name(x->severity)));
        json_object_object_add(o, "subject_type", json_object_new_string(kinds[x->kind]));
        json_object_object_add(o, "subject", json_object_new_string(x->subject));
        json_object_object_add(o, "message", json_object_new_string(x->message));
        json_object_object_add(o, "fix", x->fix ? json_object_new_string(x->fix) : NULL);
        json_object_object_add(o, "overridable", json_object_new_boolean(x->overridable));
        json_object_array_add(arr, o);
    }
    return arr;
}

/* Print findings as a survey, one block per subject, and return the verdict's exit status. */
void vp_cli_print_findings(const vp_cli *cli, const vp_host *h, const vp_findings *f);

void
vp_cli_print_findings(const vp_cli *cli, const vp_host *h, const vp_findings *f)
{
    char title[512], prev[512] = "";

    for (size_t i = 0; i < f->n; i++) {
        const vp_finding *x = &f->items[i];

        subject_title(h, x, title, sizeof(title));
        if (strcmp(title, prev) != 0) {
            printf("%s%s\n", i ? "\n" : "", title);
            memcpy(prev, title, sizeof(prev));
        }
        printf("  %s%-5s%s  %-22s %s\n", severity_color(cli, x->severity),
               vp_severity_name(x->severity), vp_color_reset(cli), x->code, x->message);
        if (x->fix && x->severity >= VP_SEV_WARN)
            printf("  %-5s  %-22s fix: %s\n", "", "", x->fix);
    }
}

static int
check_run(vp_cli *cli, const vp_command *cmd, int argc, char **argv, vp_error *err)
{
    check_args a = {0};
    vp_cli_sriov_autoclear vp_cli_sriov *sriov = &a.sriov;
    vp_autostrv char **devices = NULL;
    vp_autoptr(vp_virt) v = NULL;
    vp_autoptr(vp_host) h = NULL;
    vp_autofree vp_device **selected = NULL;
    vp_check_target t;
    vp_cli_scope scope = {0};
    vp_findings f = {0};
    vp_severity worst;
    bool help;
    int ind, rc;

    rc = vp_cli_parse(cli, cmd, argc, argv, check_options, check_option, &a, &ind, &help, err);
    devices = a.devices;
    if (rc < 0)
        return -1;
    if (help)
        return 0;
    if (ind < argc)
        return vp_error_set(err, VP_E_USAGE,
                            "check: unexpected argument '%s' (use --group N or --device ADDR)",
                            argv[ind]);
    if (vp_cli_sriov_check_selection(sriov, "check", "--vf and --mac", "--group or --device",
                                     a.group || devices, err) < 0)
        return -1;
    scope.group = a.group;
    scope.devices = devices;
    scope.pf = sriov->given ? sriov->req.pf : NULL;
    scope.domain = a.domain;
    if (vp_cli_load_host_scoped(cli, false, &scope, &h, sriov->given ? &v : NULL, err) < 0)
        return -1;
    rc = vp_cli_resolve_target(h, a.group, devices, a.domain, &t, err);
    selected = t.devices;
    if (rc < 0)
        return -1;
    if (sriov->given) {
        free(selected);
        t.devices = NULL;
        rc = choose_vf(cli, h, v, &a, &t, err);
        selected = t.devices;
        if (rc < 0)
            return -1;
    }

    vp_check_run(h, &t, &f);
    worst = vp_findings_worst(&f, false);
    if (cli->json) {
        json_object *o = json_object_new_object();
        json_object *sel = json_object_new_array();

        for (size_t i = 0; i < t.n_devices; i++)
            json_object_array_add(sel, json_object_new_string(t.devices[i]->addr_str));
        json_object_object_add(o, "group",
                               t.group ? json_object_new_int((int)t.group->number) : NULL);
        json_object_object_add(o, "devices", sel);
        json_object_object_add(o, "domain",
                               t.domain ? json_object_new_string(t.domain->name) : NULL);
        json_object_object_add(o, "pf",
                               sriov->given ? json_object_new_string(sriov->req.pf) : NULL);
        json_object_object_add(o, "vf",
                               sriov->given ? json_object_new_int((int)sriov->choice.index) : NULL);
        json_object_object_add(o, "verdict", json_object_new_string(vp_severity_name(worst)));
        json_object_object_add(o, "blocking",
                               json_object_new_int((int)count_severity(&f, VP_SEV_BLOCK)));
        json_object_object_add(o, "findings", json_findings(&f));
        vp_json_print(o);
    } else {
        vp_cli_print_findings(cli, h, &f);
        printf("\nVerdict: ");
        if (worst == VP_SEV_BLOCK)
            printf("%sblocked%s (%zu blocking, %zu warning%s)\n", severity_color(cli, worst),
                   vp_color_reset(cli), count_severity(&f, VP_SEV_BLOCK),
                   count_severity(&f, VP_SEV_WARN),
                   count_severity(&f, VP_SEV_WARN) == 1 ? "" : "s");
        else if (worst == VP_SEV_WARN)
            printf("%sready, with %zu warning%s%s\n", severity_color(cli, worst),
                   count_severity(&f, VP_SEV_WARN), count_severity(&f, VP_SEV_WARN) == 1 ? "" : "s",
                   vp_color_reset(cli));
        else
            printf("%sready%s\n", severity_color(cli, VP_SEV_OK), vp_color_reset(cli));
    }
    vp_findings_clear(&f);
    return worst == VP_SEV_BLOCK ? VP_EXIT_BLOCKED : 0;
}

const vp_command vp_cmd_check = {
    .name = "check",
    .usage = "[--group N | --device DEVICE ... | --pf IFNAME [--vf N|auto]] [--domain NAME]",
    .summary = "pre-flight: can this group or device go to that domain, and what stands in the way",
    .help = "Options:\n"
            "      --group N         check IOMMU group N (every endpoint of it)\n"
            "      --device DEVICE   check one function (repeatable): 0000:18:00.1, 18:00.1,\n"
            "                        pci_0000_18_00_1, or an interface name\n"
            "      --pf IFNAME|ADDR  check a VF of this SR-IOV PF: the one attach would choose\n"
            "      --vf N|auto       VF N, or (default) the one --vf auto picks: free, local to\n"
            "                        the domain's pinned CPUs\n"
            "      --mac ADDR|auto   also refuse a MAC another domain uses (auto: derived from\n"
            "                        the domain's UUID, as attach does)\n"
            "      --domain NAME     also check the domain: machine type, firmware, MMIO window,\n"
            "                        who else holds the devices\n"
            "Without --group or --device, only the host's readiness is checked.\n"
            "Each finding has a code (docs/findings.md), a severity (ok, info, warn, block)\n"
            "and a fix. Exit status 6 when something blocks.\n",
    .run = check_run,
};
