/* vpass attach, detach and xml: plan a change from the model and the domain's XML, print it
 * (--dry-run, xml), or run it transactionally under the change lock. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply/apply.h"
#include "apply/lock.h"
#include "check/check.h"
#include "cli.h"
#include "plan/plan.h"
#include "util/str.h"
#include "virt/virt.h"

typedef struct {
    const char *domain;
    const char *group;
    char **devices; /* vp_strv of selectors (--device, --netdev) */
    bool all_functions;
    bool managed;
    bool rom_bar_set, no_rom;
    vp_rom_mode rom;
    const char *rom_file;
    vp_mmio_mode mmio;
    uint64_t mmio_bytes;
    bool ovmf_cmdline;
    unsigned affect;
    bool persistent; /* --persistent: config, plus live when running */
    bool dry_run;
    bool force;
    bool reattach;
    vp_format format;
    vp_cli_sriov sriov; /* --pf, --vf, --mac...: a VF of a PF (cmd_sriov.c) */
} prov_args;

enum {
    OPT_DOMAIN = 0x4000,
    OPT_GROUP,
    OPT_DEVICE,
    OPT_NETDEV,
    OPT_ALL_FUNCTIONS,
    OPT_MANAGED,
    OPT_ROM_BAR,
    OPT_ROM_FILE,
    OPT_NO_ROM,
    OPT_MMIO64,
    OPT_OVMF_CMDLINE,
    OPT_LIVE,
    OPT_CONFIG,
    OPT_PERSISTENT,
    OPT_CURRENT,
    OPT_DRY_RUN,
    OPT_FORCE,
    OPT_REATTACH,
    OPT_FORMAT,
};

#define SELECT_OPTIONS                                                                             \
    {"domain", required_argument, NULL, OPT_DOMAIN},                                               \
        {"group", required_argument, NULL, OPT_GROUP},                                             \
        {"device", required_argument, NULL, OPT_DEVICE},                                           \
        {"netdev", required_argument, NULL, OPT_NETDEV},                                           \
    {                                                                                              \
        "all-functions", no_argument, NULL, OPT_ALL_FUNCTIONS                                      \
    }

#define XML_OPTIONS                                                                                \
    {"managed", required_argument, NULL, OPT_MANAGED},                                             \
        {"rom-bar", required_argument, NULL, OPT_ROM_BAR},                                         \
        {"rom-file", required_argument, NULL, OPT_ROM_FILE},                                       \
        {"no-rom", no_argument, NULL, OPT_NO_ROM},                                                 \
        {"mmio64", required_argument, NULL, OPT_MMIO64},                                           \
    {                                                                                              \
        "ovmf-mmio64-commandline", no_argument, NULL, OPT_OVMF_CMDLINE                             \
    }

#define CHANGE_OPTIONS                                                                             \
    {"live", no_argument, NULL, OPT_LIVE}, {"config", no_argument, NULL, OPT_CONFIG},              \
        {"persistent", no_argument, NULL, OPT_PERSISTENT},                                         \
        {"current", no_argument, NULL, OPT_CURRENT}, {"dry-run", no_argument, NULL, OPT_DRY_RUN},  \
    {                                                                                              \
        "force", no_argument, NULL, OPT_FORCE                                                      \
    }

static const struct option attach_options[] = {
    SELECT_OPTIONS, XML_OPTIONS, CHANGE_OPTIONS, VP_CLI_SRIOV_OPTIONS, {NULL, 0, NULL, 0},
};
static const struct option detach_options[] = {
    SELECT_OPTIONS,
    CHANGE_OPTIONS,
    {"reattach", no_argument, NULL, OPT_REATTACH},
    VP_CLI_SRIOV_DETACH_OPTIONS,
    {NULL, 0, NULL, 0},
};
static const struct option xml_options[] = {
    SELECT_OPTIONS,
    XML_OPTIONS,
    VP_CLI_SRIOV_OPTIONS,
    {"format", required_argument, NULL, OPT_FORMAT},
    {"force", no_argument, NULL, OPT_FORCE},
    {NULL, 0, NULL, 0},
};

static int
on_off(const char *opt, const char *arg, bool *ret, vp_error *err)
{
    if (strcmp(arg, "on") == 0 || strcmp(arg, "yes") == 0)
        *ret = true;
    else if (strcmp(arg, "off") == 0 || strcmp(arg, "no") == 0)
        *ret = false;
    else
        return vp_error_set(err, VP_E_USAGE, "%s '%s': expected on or off", opt, arg);
    return 0;
}

static int
prov_option(void *ctx, int opt, const char *arg, vp_error *err)
{
    prov_args *a = ctx;
    bool b;

    switch (opt) {
    case OPT_DOMAIN:
        a->domain = arg;
        return 0;
    case OPT_GROUP:
        if (a->group)
            return vp_error_set(err, VP_E_USAGE, "--group given twice: one group at a time");
        a->group = arg;
        return 0;
    case OPT_DEVICE:
    case OPT_NETDEV:
        vp_strv_push(&a->devices, arg);
        return 0;
    case OPT_ALL_FUNCTIONS:
        a->all_functions = true;
        return 0;
    case OPT_MANAGED:
        return on_off("--managed", arg, &a->managed, err);
    case OPT_ROM_BAR:
        if (on_off("--rom-bar", arg, &b, err) < 0)
            return -1;
        a->rom = b ? VP_ROM_BAR_ON : VP_ROM_BAR_OFF;
        a->rom_bar_set = true;
        return 0;
    case OPT_ROM_FILE:
        a->rom_file = arg;
        return 0;
    case OPT_NO_ROM:
        a->no_rom = true;
        return 0;
    case OPT_MMIO64:
        if (strcmp(arg, "auto") == 0)
            a->mmio = VP_MMIO_AUTO;
        else if (strcmp(arg, "off") == 0)
            a->mmio = VP_MMIO_OFF;
        else {
            if (vp_parse_size(arg, &a->mmio_bytes, err) < 0)
                return vp_error_prefix(err, "--mmio64");
            a->mmio = VP_MMIO_SIZE;
        }
        return 0;
    case OPT_OVMF_CMDLINE:
        a->ovmf_cmdline = true;
        return 0;
    case OPT_LIVE:
        a->affect |= VP_AFFECT_LIVE;
        return 0;
    case OPT_CONFIG:
        a->affect |= VP_AFFECT_CONFIG;
        return 0;
    case OPT_PERSISTENT:
        a->persistent = true;
        return 0;
    case OPT_CURRENT:
        return 0;
    case OPT_DRY_RUN:
        a->dry_run = true;
        return 0;
    case OPT_FORCE:
        a->force = true;
        return 0;
    case OPT_REATTACH:
        a->reattach = true;
        return 0;
    case OPT_FORMAT:
        if (strcmp(arg, "libvirt") == 0)
            a->format = VP_FORMAT_LIBVIRT;
        else if (strcmp(arg, "qemu") == 0)
            a->format = VP_FORMAT_QEMU;
        else if (strcmp(arg, "proxmox") == 0)
            a->format = VP_FORMAT_PROXMOX;
        else
            return vp_error_set(err, VP_E_USAGE, "--format '%s': expected libvirt, qemu or proxmox",
                                arg);
        return 0;
    default:
        /* --pf, --vf, --mac, --vlan, --trust, --spoofchk, --as (cmd_sriov.c). */
        return vp_cli_sriov_option(&a->sriov, opt, arg, err);
    }
}

/* Checks on the arguments alone, before anything is read: bad input fails fast. */
static int
validate_args(const vp_command *cmd, prov_args *a, bool need_domain, vp_error *err)
{
    if (need_domain && !a->domain)
        return vp_error_set(err, VP_E_USAGE, "%s: which domain? (--domain NAME)", cmd->name);
    if (vp_cli_sriov_check_selection(
            &a->sriov, cmd->name, "--vf, --mac, --vlan, --trust, --spoofchk and --as",
            "--group, --device or --netdev", a->group || a->devices, err) < 0)
        return -1;
    if (!a->group && !a->devices && !a->sriov.given)
        return vp_error_set(
            err, VP_E_USAGE,
            "%s: what to %s? (--group N, --device ADDR, --netdev IFNAME or --pf IFNAME --vf N)",
            cmd->name, cmd->name);
    if (a->no_rom && (a->rom_bar_set || a->rom_file))
        return vp_error_set(
            err, VP_E_USAGE,
            "--no-rom cannot be combined with --rom-bar or --rom-file (libvirt: <rom enabled='no'/> takes no other attribute)");
    if (a->no_rom)
        a->rom = VP_ROM_DISABLED;
    if (a->rom_file) {
        if (a->rom_file[0] != '/')
            return vp_error_set(
                err, VP_E_USAGE,
                "--rom-file '%s': must be an absolute path (QEMU opens it, not your shell)",
                a->rom_file);
        if (access(a->rom_file, R_OK) < 0)
            return vp_error_errno(err, errno, "--rom-file '%s'", a->rom_file);
    }
    if (a->persistent && (a->affect & VP_AFFECT_LIVE))
        return vp_error_set(err, VP_E_USAGE,
                            "--persistent already means --config plus --live when running");
    return 0;
}

/* xml-templates/: $VPASS_TEMPLATES_DIR, next to an installed binary, the data directory, then
 * the source tree of a build. */
static const char *
templates_dir(void)
{
    static char buf[PATH_MAX];
    const char *env = getenv("VPASS_TEMPLATES_DIR");
    char exe[PATH_MAX];
    ssize_t n;

    if (env && *env)
        return env;
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        char *slash;

        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if (snprintf(buf, sizeof(buf), "%.*s/../share/vpass/xml-templates",
                         (int)(sizeof(buf) - 32), exe) > 0 &&
                access(buf, R_OK) == 0)
                return buf;
        }
    }
    if (access(VPASS_DATADIR "/xml-templates", R_OK) == 0)
        return VPASS_DATADIR "/xml-templates";
    return VPASS_SOURCE_TEMPLATES;
}

static const char *const step_kinds[] = {
    [VP_STEP_ISOLATE] = "isolate",
    [VP_STEP_REDEFINE] = "redefine",
    [VP_STEP_ADD_CONTROLLER] = "add-controller",
    [VP_STEP_ATTACH] = "attach",
    [VP_STEP_SET_METADATA] = "set-metadata",
    [VP_STEP_DETACH] = "detach",
    [VP_STEP_REMOVE_CONTROLLER] = "remove-controller",
    [VP_STEP_REATTACH] = "reattach",
    [VP_STEP_SET_VF] = "set-vf",
};

static json_object *
json_affect(unsigned affect)
{
    json_object *a = json_object_new_array();

    if (affect & VP_AFFECT_LIVE)
        json_object_array_add(a, json_object_new_string("live"));
    if (affect & VP_AFFECT_CONFIG)
        json_object_array_add(a, json_object_new_string("config"));
    if (!affect)
        json_object_array_add(a, json_object_new_string("current"));
    return a;
}

static json_object *
json_plan(const vp_plan *p, bool dry_run, bool changed)
{
    json_object *o = json_object_new_object();
    json_object *steps = json_object_new_array();

    json_object_object_add(o, "domain", p->domain ? json_object_new_string(p->domain) : NULL);
    json_object_object_add(o, "dry_run", json_object_new_boolean(dry_run));
    json_object_object_add(o, "noop", json_object_new_boolean(p->noop));
    json_object_object_add(o, "noop_reason",
                           p->noop_reason ? json_object_new_string(p->noop_reason) : NULL);
    json_object_object_add(o, "changed", json_object_new_boolean(changed));
    {
        json_object *notes = json_object_new_array();

        for (size_t i = 0; p->notes && p->notes[i]; i++)
            json_object_array_add(notes, json_object_new_string(p->notes[i]));
        json_object_object_add(o, "notes", notes);
    }
    for (size_t i = 0; i < p->n_steps; i++) {
        const vp_step *s = &p->steps[i];
        json_object *j = json_object_new_object();
        char buf[VP_PCI_ADDR_STRLEN];
        bool has_addr = s->kind == VP_STEP_ISOLATE || s->kind == VP_STEP_ATTACH ||
                        s->kind == VP_STEP_DETACH || s->kind == VP_STEP_REATTACH ||
                        s->kind == VP_STEP_SET_VF;

        json_object_object_add(j, "kind", json_object_new_string(step_kinds[s->kind]));
        json_object_object_add(j, "address",
                               has_addr ? json_object_new_string(vp_pci_addr_format(&s->addr, buf))
                                        : NULL);
        json_object_object_add(j, "affect", json_affect(s->affect));
        json_object_object_add(j, "driver", s->driver ? json_object_new_string(s->driver) : NULL);
        json_object_object_add(j, "summary", json_object_new_string(s->summary ? s->summary : ""));
        json_object_object_add(j, "xml", s->xml ? json_object_new_string(s->xml) : NULL);
        json_object_array_add(steps, j);
    }
    json_object_object_add(o, "steps", steps);
    return o;
}

/* Human dry-run: every step with its XML, exactly as it would run. */
static void
print_plan(const vp_plan *p)
{
    if (p->noop) {
        printf("Nothing to do: %s\n", p->noop_reason ? p->noop_reason : "already done");
        return;
    }
    printf("Plan for %s (%zu steps, nothing changed: --dry-run):\n", p->domain, p->n_steps);
    for (size_t i = 0; i < p->n_steps; i++) {
        const vp_step *s = &p->steps[i];

        printf("  %zu. %s\n", i + 1, s->summary);
        if (s->xml && s->kind != VP_STEP_REDEFINE) {
            const char *line = s->xml;

            while (*line) {
                size_t n = strcspn(line, "\n");

                printf("       %.*s\n", (int)n, line);
                line += n + (line[n] == '\n');
            }
        } else if (s->kind == VP_STEP_REDEFINE) {
            printf("       (the whole persistent definition, see --json)\n");
        }
    }
}

static void
progress(void *ctx, size_t i, size_t n, const vp_step *s, bool undo)
{
    (void)ctx;
    fprintf(stderr, "vpass: [%zu/%zu] %s%s\n", i + 1, n, undo ? "undo: " : "", s->summary);
}

/* Print findings worth the operator's attention (warn and block), and the plan's notes, on
 * stderr. */
static void
warn_findings(const vp_findings *f)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->items[i].severity >= VP_SEV_WARN)
            fprintf(stderr, "vpass: %s: %s: %s\n",
                    f->items[i].severity == VP_SEV_BLOCK ? "blocked" : "warning", f->items[i].code,
                    f->items[i].message);
}

int vp_cli_resolve_target(const vp_host *h, const char *group, char *const *devices,
                          const char *domain, vp_check_target *t, vp_error *err);

static int
provision_run(vp_cli *cli, const vp_command *cmd, int argc, char **argv,
              const struct option *options, bool detach, bool xml_only, vp_error *err)
{
    prov_args a = {.managed = true, .format = VP_FORMAT_LIBVIRT};
    vp_cli_sriov_autoclear vp_cli_sriov *sriov = &a.sriov;
    vp_autostrv char **devices = NULL;
    /* Declared before the connection, so released after it is closed: the lock covers every
     * use of libvirt (an embedded driver allows one process per root). */
    vp_autoptr(vp_lock) lock = NULL;
    vp_autoptr(vp_host) h = NULL;
    vp_autoptr(vp_virt) v = NULL;
    vp_autofree vp_device **selected = NULL;
    vp_autofree char *domain_xml = NULL;
    vp_autofree char *config_xml = NULL;
    vp_plan_request req = {0};
    vp_cli_scope scope = {0};
    vp_plan plan = {0};
    vp_apply_report report = {0};
    bool help, running = false, persistent = true, write;
    int ind, rc;

    rc = vp_cli_parse(cli, cmd, argc, argv, options, prov_option, &a, &ind, &help, err);
    devices = a.devices;
    if (rc < 0)
        return -1;
    if (help)
        return 0;
    if (ind < argc)
        return vp_error_set(err, VP_E_USAGE, "%s: unexpected argument '%s'", cmd->name, argv[ind]);
    if (validate_args(cmd, &a, !xml_only, err) < 0)
        return -1;
    if (xml_only && (a.sriov.req.trust != VP_VF_UNKNOWN || a.sriov.req.spoofchk != VP_VF_UNKNOWN) &&
        a.sriov.inited)
        return vp_error_set(err, VP_E_USAGE,
                            "xml: --trust and --spoofchk are set on the PF through netlink, not in "
                            "XML: see them in 'vpass attach --dry-run'");

    write = !xml_only && !a.dry_run;
    if (write && vp_lock_acquire(cli->root, &lock, err) < 0)
        return -1;
    /* Only what the selection needs of the host: its groups, the domain's devices, the
     * ledger (inventory.c). */
    scope.group = a.group;
    scope.devices = devices;
    scope.pf = sriov->given ? sriov->req.pf : NULL;
    scope.domain = a.domain;
    scope.all_functions = a.all_functions;
    if (vp_cli_load_host_scoped(cli, write, &scope, &h, &v, err) < 0)
        return -1;
    rc = vp_cli_resolve_target(h, a.group, devices, a.domain, &req.target, err);
    selected = req.target.devices;
    if (rc < 0)
        return -1;

    if (a.domain) {
        if (!v || !v->ops->domain_state || !v->ops->get_domain_xml)
            return vp_error_set(err, VP_E_UNSUPPORTED,
                                "%s: this connection cannot read domain definitions",
                                v ? v->uri : "libvirt");
        if (v->ops->domain_state(v, a.domain, &running, &persistent, err) < 0)
            return -1;
        if (a.persistent)
            a.affect = VP_AFFECT_CONFIG | (running ? VP_AFFECT_LIVE : 0);
        if ((a.affect & VP_AFFECT_CONFIG) && !persistent) {
            vp_error_set(err, VP_E_UNSUPPORTED,
                         "%s: transient domain: it has no persistent definition for --config",
                         a.domain);
            return vp_error_hint(err, "use --live, or define the domain first");
        }
        if ((a.affect & VP_AFFECT_LIVE) && !running) {
            vp_error_set(err, VP_E_UNSUPPORTED, "%s: not running: --live has nothing to change",
                         a.domain);
            return vp_error_hint(err, "use --config to change its persistent definition");
        }
        /* `vpass xml` shows what the next start gets: plan against the persistent definition
         * (a running domain cannot take a multifunction card live anyway). */
        if (xml_only && persistent)
            a.affect = VP_AFFECT_CONFIG;
        /* The definition the change applies to: persistent for --config (and for "current"
         * on a shut-off domain), the running one otherwise. */
        if (v->ops->get_domain_xml(v, a.domain,
                                   (a.affect & VP_AFFECT_CONFIG) || (!a.affect && !running),
                                   &domain_xml, err) < 0)
            return -1;
        /* --live --config: plan on the running definition, redefine from the persistent. */
        if ((a.affect & VP_AFFECT_LIVE) && (a.affect & VP_AFFECT_CONFIG) &&
            v->ops->get_domain_xml(v, a.domain, true, &config_xml, err) < 0)
            return -1;
    }

    req.domain_name = a.domain;
    req.domain_xml = domain_xml;
    req.config_xml = config_xml;
    req.all_functions = a.all_functions;
    req.managed = a.managed;
    req.rom = a.rom;
    req.rom_file = a.rom_file;
    req.mmio = a.mmio;
    req.mmio_bytes = a.mmio_bytes;
    req.ovmf_mmio_commandline = a.ovmf_cmdline;
    req.affect = a.affect;
    req.force = a.force;
    req.templates_dir = templates_dir();

    if (sriov->given)
        rc = vp_cli_sriov_plan(cli, h, &req, sriov, detach, a.reattach, &plan, err);
    else
        rc = detach ? vp_plan_detach(h, &req, a.reattach, &plan, err)
                    : vp_plan_attach(h, &req, &plan, err);
    if (rc < 0) {
        if (!cli->json)
            warn_findings(&plan.findings);
        /* A block from the checks (SR-IOV's own refusals, a MAC or NUMA, keep their hint). */
        if (err->code == VP_E_UNSAFE && !a.force && plan.findings.n)
            vp_error_hint(
                err,
                "run 'vpass check' for the full survey; --force passes only the blocks documented as overridable");
        vp_plan_clear(&plan);
        return -1;
    }

    if (xml_only) {
        vp_autofree char *text = vp_plan_render(&plan, a.format);

        if (cli->json) {
            json_object *o = json_plan(&plan, true, false);

            json_object_object_add(o, "rendered", json_object_new_string(text ? text : ""));
            vp_json_print(o);
        } else if (plan.noop && plan.noop_reason) {
            fprintf(stderr, "vpass: note: %s: nothing to add\n", plan.noop_reason);
        } else if (text && *text) {
            fputs(text, stdout);
            if (text[strlen(text) - 1] != '\n')
                fputc('\n', stdout);
        }
        vp_plan_clear(&plan);
        return 0;
    }
    if (!cli->json) {
        warn_findings(&plan.findings);
        for (size_t i = 0; plan.notes && plan.notes[i]; i++)
            fprintf(stderr, "vpass: note: %s\n", plan.notes[i]);
    }
    if (a.dry_run || plan.noop) {
        if (cli->json)
            vp_json_print(json_plan(&plan, a.dry_run, false));
        else
            print_plan(&plan);
        vp_plan_clear(&plan);
        return 0;
    }

    /* SR-IOV: under the lock, the VF --vf auto chose is still nobody's; its settings go
     * through netlink (cmd_sriov.c). */
    if (vp_cli_sriov_recheck(v, sriov, a.domain, err) < 0) {
        vp_plan_clear(&plan);
        return -1;
    }
    report.netlink = vp_cli_sriov_netlink(sriov);
    if (!cli->json) {
        report.progress = progress;
        report.progress_ctx = NULL;
    }
    rc = vp_apply_plan(v, &plan, &report, err);
    if (rc == 0) {
        if (cli->json)
            vp_json_print(json_plan(&plan, false, true));
        else
            printf("%s: %s done (%zu steps)\n", a.domain, cmd->name, report.done);
    }
    vp_apply_report_clear(&report);
    vp_plan_clear(&plan);
    return rc;
}

static int
attach_run(vp_cli *cli, const vp_command *cmd, int argc, char **argv, vp_error *err)
{
    return provision_run(cli, cmd, argc, argv, attach_options, false, false, err);
}

static int
detach_run(vp_cli *cli, const vp_command *cmd, int argc, char **argv, vp_error *err)
{
    return provision_run(cli, cmd, argc, argv, detach_options, true, false, err);
}

static int
xml_run(vp_cli *cli, const vp_command *cmd, int argc, char **argv, vp_error *err)
{
    return provision_run(cli, cmd, argc, argv, xml_options, false, true, err);
}

#define SELECT_HELP                                                                                \
    "Selection:\n"                                                                                 \
    "      --group N            every endpoint of IOMMU group N\n"                                 \
    "      --device DEVICE      one function (repeatable): 0000:18:00.1, 18:00.1,\n"               \
    "                           pci_0000_18_00_1\n"                                                \
    "      --netdev IFNAME      the function behind a host interface (eno2)\n"                     \
    "      --all-functions      every function of the selected device's slot\n"                    \
    "      --domain NAME        the libvirt domain\n"

#define XML_HELP                                                                                   \
    "XML:\n"                                                                                       \
    "      --managed yes|no     libvirt binds vfio-pci at start and gives the device back at\n"    \
    "                           stop (default yes)\n"                                              \
    "      --rom-bar on|off     expose the expansion ROM to the guest or not\n"                    \
    "      --rom-file PATH      an absolute path to a ROM image QEMU loads instead\n"              \
    "      --no-rom             <rom enabled='no'/> (not with --rom-bar or --rom-file)\n"          \
    "      --mmio64 auto|SIZE|off  size the guest's 64-bit MMIO window (<pcihole64>) from the\n"   \
    "                           BARs, to SIZE (64G, 65536M), or remove what vpass set\n"           \
    "      --ovmf-mmio64-commandline  for OVMF guests, also pass X-PciMmio64Mb through\n"          \
    "                           <qemu:commandline> (libvirt marks the domain tainted)\n"

#define CHANGE_HELP                                                                                \
    "Change:\n"                                                                                    \
    "      --config             the persistent definition (next start)\n"                          \
    "      --live               the running domain (hotplug)\n"                                    \
    "      --persistent         --config, and --live when it runs\n"                               \
    "      --current            live if running, else config (default)\n"                          \
    "      --dry-run            print the plan and every XML it would apply; change nothing\n"     \
    "      --force              pass blocks documented as overridable (never: a device\n"          \
    "                           another domain holds)\n"

const vp_command vp_cmd_attach = {
    .name = "attach",
    .usage =
        "--domain NAME (--group N | --device DEVICE... | --netdev IFNAME | --pf IFNAME --vf N|auto) [OPTIONS]",
    .summary = "give a group or devices to a domain: checks, isolation, XML, rollback",
    .help = SELECT_HELP VP_CLI_SRIOV_HELP XML_HELP CHANGE_HELP
    "The pre-flight checks run first; a block stops the command. Other endpoints of the\n"
    "group still on host drivers are bound to vfio-pci and kept unassigned. Any failure\n"
    "undoes every earlier step; running it again after success changes nothing.\n",
    .run = attach_run,
};

const vp_command vp_cmd_detach = {
    .name = "detach",
    .usage =
        "--domain NAME (--group N | --device DEVICE... | --netdev IFNAME | --pf IFNAME [--vf N]) [--reattach] [OPTIONS]",
    .summary = "take back what attach gave a domain",
    .help = SELECT_HELP VP_CLI_SRIOV_DETACH_HELP CHANGE_HELP
    "      --reattach           give the devices (and the siblings vpass isolated) back to\n"
    "                           the host drivers they had\n",
    .run = detach_run,
};

const vp_command vp_cmd_xml = {
    .name = "xml",
    .usage =
        "(--group N | --device DEVICE... | --netdev IFNAME | --pf IFNAME --vf N|auto) [--domain NAME] [--format libvirt|qemu|proxmox]",
    .summary = "print the device XML (or QEMU arguments, Proxmox lines) attach would use",
    .help = SELECT_HELP VP_CLI_SRIOV_XML_HELP XML_HELP
    "      --format FORMAT      libvirt (default), qemu (-device vfio-pci,...) or proxmox\n"
    "                           (hostpciN: lines)\n",
    .run = xml_run,
};
