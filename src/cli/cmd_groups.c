/* vpass groups: every IOMMU group with its members, drivers, owners and verdict. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "util/str.h"

/* The role of a device in its group: what vfio needs from it. */
const char *vp_device_role(const vp_device *d);

const char *
vp_device_role(const vp_device *d)
{
    if (d->is_bridge)
        return "bridge";
    if (d->is_vf)
        return "vf";
    if (d->is_pf)
        return "pf";
    return "endpoint";
}

static int
groups_run(vp_cli *cli, const vp_command *cmd, int argc, char **argv, vp_error *err)
{
    static const char *const headers[] = {"GROUP",  "VERDICT", "ADDRESS", "ROLE",
                                          "DEVICE", "DRIVER",  "NETDEV",  "OWNER"};
    vp_autoptr(vp_host) h = NULL;
    vp_autoptr(vp_table) t = NULL;
    bool help;
    int ind;

    if (vp_cli_parse(cli, cmd, argc, argv, NULL, NULL, NULL, &ind, &help, err) < 0)
        return -1;
    if (help)
        return 0;
    if (ind < argc)
        return vp_error_set(err, VP_E_USAGE,
                            "groups: unexpected argument '%s' (to see one group: vpass show %s)",
                            argv[ind], argv[ind]);
    if (vp_cli_load_host(cli, &h, err) < 0)
        return -1;

    if (cli->json) {
        vp_json_stream st;

        vp_json_array_begin(&st);
        for (size_t i = 0; i < h->n_groups; i++)
            vp_json_array_add(&st, vp_json_group(h, &h->groups[i]));
        vp_json_array_end(&st);
        return 0;
    }
    if (!h->iommu_present) {
        printf("No IOMMU groups on this host (%zu PCI devices): the IOMMU is off or absent.\n",
               h->n_devices);
        printf("Enable it with intel_iommu=on or amd_iommu=on on the kernel command line.\n");
        vp_cli_print_summary(h, "0 groups");
        return 0;
    }
    t = vp_table_new(VP_ARRAY_SIZE(headers), headers);
    for (size_t i = 0; i < h->n_groups; i++) {
        const vp_group *g = &h->groups[i];
        vp_autofree char *num = vp_asprintf("%u", g->number);
        vp_autofree char *verdict = vp_asprintf("%s%s%s", vp_color_verdict(cli, g->verdict),
                                                vp_verdict_name(g->verdict), vp_color_reset(cli));

        for (size_t j = 0; j < g->n_members; j++) {
            const vp_device *d = h->devices[g->members[j]];
            vp_autofree char *label = vp_device_label(d);
            vp_autofree char *net = vp_strv_join(d->netdevs, ",", "-");
            vp_autofree char *owners = vp_strv_join(d->owners, ",", "-");
            const char *row[] = {j ? "" : num, j ? "" : verdict,
                                 d->addr_str,  vp_device_role(d),
                                 label,        d->driver ? d->driver : "-",
                                 net,          owners};

            vp_table_add_row(t, row);
        }
    }
    vp_table_print(t, stdout);
    {
        vp_autofree char *what = vp_asprintf("%zu groups, %zu devices", h->n_groups, h->n_devices);

        vp_cli_print_summary(h, what);
    }
    return 0;
}

const vp_command vp_cmd_groups = {
    .name = "groups",
    .usage = "",
    .summary = "list IOMMU groups: members, drivers, owning domains and a verdict",
    .help = "Verdicts:\n"
            "  ready      every endpoint is on vfio-pci or has no driver\n"
            "  host       every endpoint is on a host driver (vpass attach frees them)\n"
            "  mixed      some endpoints on host drivers, some free: not viable as is\n"
            "  in-use     a member is used by a running domain\n"
            "  conflict   a member is in more than one domain's definition\n"
            "Bridges are listed but never spoil a group.\n",
    .run = groups_run,
};
