/* vpass list: PCI devices, filtered by class, driver, group or owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/str.h"

typedef struct {
    const char *class_filter;
    const char *driver;
    const char *owner;
    bool has_group;
    unsigned group;
} list_args;

enum { OPT_CLASS = 0x2000, OPT_DRIVER, OPT_GROUP, OPT_DOMAIN };

static const struct option list_options[] = {
    {"class", required_argument, NULL, OPT_CLASS},
    {"driver", required_argument, NULL, OPT_DRIVER},
    {"group", required_argument, NULL, OPT_GROUP},
    {"domain", required_argument, NULL, OPT_DOMAIN},
    {NULL, 0, NULL, 0},
};

static const char *const class_names[] = {
    "unclassified", "storage",         "net",         "display",   "multimedia", "memory",
    "bridge",       "communication",   "system",      "input",     "docking",    "processor",
    "serial",       "wireless",        "intelligent", "satellite", "encryption", "signal",
    "accelerator",  "instrumentation", "other",
};

static int
list_option(void *ctx, int opt, const char *arg, vp_error *err)
{
    list_args *a = ctx;

    switch (opt) {
    case OPT_CLASS: {
        uint64_t v;

        if (vp_startswith(arg, "0x") && vp_parse_u64(arg, 16, &v) == 0 && strlen(arg) <= 8) {
            a->class_filter = arg;
            return 0;
        }
        for (size_t i = 0; i < VP_ARRAY_SIZE(class_names); i++)
            if (strcmp(arg, class_names[i]) == 0) {
                a->class_filter = arg;
                return 0;
            }
        return vp_error_set(
            err, VP_E_USAGE,
            "--class '%s': unknown class (expected a name such as net, storage, display, multimedia, bridge, serial, or a hex prefix such as 0x02 or 0x0200)",
            arg);
    }
    case OPT_DRIVER:
        a->driver = arg;
        return 0;
    case OPT_GROUP:
        if (vp_parse_uint(arg, &a->group) < 0)
            return vp_error_set(err, VP_E_USAGE, "--group '%s': not an IOMMU group number", arg);
        a->has_group = true;
        return 0;
    case OPT_DOMAIN:
        a->owner = arg;
        return 0;
    default:
        return vp_error_set(err, VP_E_USAGE, "list: unexpected option");
    }
}

/* A hex prefix matches the class's leading digits: 0x02 (base), 0x0200 (sub), 0x020000. */
static bool
class_matches(const vp_device *d, const char *filter)
{
    uint64_t v;
    size_t digits;

    if (!d->ids_known)
        return false;
    if (!vp_startswith(filter, "0x"))
        return strcmp(vp_class_short_name(d->class_code), filter) == 0;
    vp_parse_u64(filter, 16, &v);
    digits = strlen(filter) - 2;
    if (digits > 6)
        return false;
    return (d->class_code >> (4 * (6 - digits))) == v;
}

static bool
device_selected(const list_args *a, const vp_device *d)
{
    if (a->class_filter && !class_matches(d, a->class_filter))
        return false;
    if (a->driver) {
        if (strcmp(a->driver, "none") == 0 ? d->driver != NULL : !vp_streq(d->driver, a->driver))
            return false;
    }
    if (a->has_group && (!d->has_group || d->group != a->group))
        return false;
    if (a->owner && !vp_strv_contains(d->owners, a->owner))
        return false;
    return true;
}

static int
list_run(vp_cli *cli, const vp_command *cmd, int argc, char **argv, vp_error *err)
{
    static const char *const headers[] = {"ADDRESS", "GROUP",  "CLASS", "DEVICE",
                                          "DRIVER",  "NETDEV", "NUMA",  "OWNER"};
    list_args a = {0};
    vp_autoptr(vp_host) h = NULL;
    vp_autoptr(vp_table) t = NULL;
    bool help;
    int ind;
    size_t shown = 0;

    if (vp_cli_parse(cli, cmd, argc, argv, list_options, list_option, &a, &ind, &help, err) < 0)
        return -1;
    if (help)
        return 0;
    if (ind < argc)
        return vp_error_set(err, VP_E_USAGE, "list: unexpected argument '%s'", argv[ind]);
    if (vp_cli_load_host(cli, &h, err) < 0)
        return -1;
    if (a.owner && !vp_host_find_domain(h, a.owner))
        return vp_error_set(err, VP_E_NOTFOUND, "domain '%s': no such domain", a.owner);

    if (cli->json) {
        vp_json_stream st;

        vp_json_array_begin(&st);
        for (size_t i = 0; i < h->n_devices; i++)
            if (device_selected(&a, h->devices[i]))
                vp_json_array_add(&st, vp_json_device(h, h->devices[i]));
        vp_json_array_end(&st);
        return 0;
    }
    t = vp_table_new(VP_ARRAY_SIZE(headers), headers);
    for (size_t i = 0; i < h->n_devices; i++) {
        const vp_device *d = h->devices[i];
        vp_autofree char *group = NULL, *label = NULL, *net = NULL, *owners = NULL, *numa = NULL;
        const char *row[8];

        if (!device_selected(&a, d))
            continue;
        group = d->has_group ? vp_asprintf("%u", d->group) : vp_strdup("-");
        label = vp_device_label(d);
        net = vp_strv_join(d->netdevs, ",", "-");
        owners = vp_strv_join(d->owners, ",", "-");
        numa = d->has_numa ? vp_asprintf("%d", d->numa_node) : vp_strdup("-");
        row[0] = d->addr_str;
        row[1] = group;
        row[2] = d->ids_known ? vp_class_short_name(d->class_code) : "-";
        row[3] = label;
        row[4] = d->driver ? d->driver : "-";
        row[5] = net;
        row[6] = numa;
        row[7] = owners;
        vp_table_add_row(t, row);
        shown++;
    }
    vp_table_print(t, stdout);
    {
        vp_autofree char *what = vp_asprintf("%zu of %zu devices", shown, h->n_devices);

        vp_cli_print_summary(h, what);
    }
    return 0;
}

const vp_command vp_cmd_list = {
    .name = "list",
    .usage = "[--class CLASS] [--driver NAME|none] [--group N] [--domain NAME]",
    .summary = "list PCI devices with group, driver, interfaces and owning domains",
    .help = "Options:\n"
            "      --class CLASS     net, storage, display, multimedia, bridge, serial, ... or a\n"
            "                        hex prefix of the class code (0x02, 0x0200, 0x020000)\n"
            "      --driver NAME     only devices bound to NAME ('none': unbound)\n"
            "      --group N         only members of IOMMU group N\n"
            "      --domain NAME     only devices in domain NAME's definition\n",
    .run = list_run,
};
