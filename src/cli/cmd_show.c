/* vpass show: one IOMMU group, or one device and its group, in full. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "util/str.h"

const char *vp_device_role(const vp_device *d);

static const char *
verdict_reason(vp_verdict v)
{
    switch (v) {
    case VP_VERDICT_READY:
        return "every endpoint is on vfio-pci or has no driver";
    case VP_VERDICT_HOST:
        return "endpoints are on host drivers; vpass attach frees them";
    case VP_VERDICT_MIXED:
        return "some endpoints are on host drivers, some free: not viable as is";
    case VP_VERDICT_IN_USE:
        return "a member is used by a running domain";
    case VP_VERDICT_CONFLICT:
        return "a member is in more than one domain's definition";
    }
    return "";
}

static void
print_link(const char *key, const vp_link *l)
{
    if (!l->present)
        return;
    printf("    %-12s %s GT/s x%u\n", key, l->speed ? l->speed : "?", l->width);
}

static void
print_device(const vp_device *d, bool marked)
{
    vp_autofree char *label = vp_device_label(d);
    vp_autofree char *net = vp_strv_join(d->netdevs, ", ", "-");
    vp_autofree char *owners = vp_strv_join(d->owners, ", ", "-");
    char buf[VP_PCI_ADDR_STRLEN];

    printf("  %s%s  %s\n", marked ? "*" : "", d->addr_str, label);
    if (d->ids_known)
        printf("    %-12s %s (0x%06x)\n", "class", vp_class_short_name(d->class_code),
               d->class_code);
    printf("    %-12s %s\n", "role", vp_device_role(d));
    printf("    %-12s %s\n", "driver", d->driver ? d->driver : "none");
    printf("    %-12s %s\n", "netdevs", net);
    printf("    %-12s %s%s\n", "owners", owners, d->conflict ? "  (CONFLICT: more than one)" : "");
    if (d->has_numa)
        printf("    %-12s %d\n", "numa node", d->numa_node);
    print_link("link max", &d->link_cap);
    print_link("link now", &d->link_sta);
    if (d->has_parent)
        printf("    %-12s %s\n", "upstream", vp_pci_addr_format(&d->parent, buf));
    if (d->is_vf)
        printf("    %-12s %s\n", "physfn", vp_pci_addr_format(&d->physfn, buf));
    if (d->is_pf) {
        printf("    %-12s %zu of %u\n", "vfs", d->n_vfs, d->vf_max);
        for (size_t i = 0; i < d->n_vfs; i++)
            printf("    %-12s %s\n", "", vp_pci_addr_format(&d->vfs[i], buf));
    }
    printf("    %-12s %s\n", "nodedev", d->nodedev_name);
}

static int
show_run(vp_cli *cli, const vp_command *cmd, int argc, char **argv, vp_error *err)
{
    vp_autoptr(vp_host) h = NULL;
    const vp_group *g = NULL;
    vp_device *dev = NULL;
    const char *target;
    unsigned n;
    bool help;
    int ind;

    if (vp_cli_parse(cli, cmd, argc, argv, NULL, NULL, NULL, &ind, &help, err) < 0)
        return -1;
    if (help)
        return 0;
    if (ind >= argc)
        return vp_error_set(
            err, VP_E_USAGE,
            "show: which group or device? (e.g. vpass show 26, vpass show 18:00.1, vpass show eno2)");
    if (ind + 1 < argc)
        return vp_error_set(err, VP_E_USAGE, "show: one group or device at a time ('%s' is extra)",
                            argv[ind + 1]);
    target = argv[ind];
    if (vp_cli_load_host(cli, &h, err) < 0)
        return -1;
    if (vp_parse_uint(target, &n) == 0) {
        if (vp_host_resolve_group(h, target, &g, err) < 0)
            return -1;
    } else {
        if (vp_host_resolve_device(h, target, &dev, err) < 0)
            return -1;
        if (dev->has_group)
            g = vp_host_find_group(h, dev->group);
    }

    if (cli->json) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "query", json_object_new_string(target));
        json_object_object_add(o, "device", dev ? vp_json_device(h, dev) : NULL);
        json_object_object_add(o, "group", g ? vp_json_group(h, g) : NULL);
        vp_json_print(o);
        return 0;
    }
    if (!g) {
        printf("Device %s: no IOMMU group (the IOMMU is off or absent on this host)\n",
               dev->addr_str);
        print_device(dev, false);
        return 0;
    }
    if (dev)
        printf("Device %s is in IOMMU group %u.\n", dev->addr_str, g->number);
    printf("Group %u: %s%s%s (%s)\n", g->number, vp_color_verdict(cli, g->verdict),
           vp_verdict_name(g->verdict), vp_color_reset(cli), verdict_reason(g->verdict));
    for (size_t i = 0; i < g->n_members; i++) {
        const vp_device *d = h->devices[g->members[i]];

        print_device(d, dev == d);
    }
    return 0;
}

const vp_command vp_cmd_show = {
    .name = "show",
    .usage = "GROUP|DEVICE",
    .summary = "show one IOMMU group, or a device and its group, in full",
    .help = "Arguments:\n"
            "  GROUP      an IOMMU group number (26)\n"
            "  DEVICE     0000:18:00.1, 18:00.1, pci_0000_18_00_1, or an interface name (eno2)\n"
            "In the human output, '*' marks the device asked for.\n",
    .run = show_run,
};
