/* vpass hook: install the libvirt hook (a link to vpass-hook in qemu.d), show what it holds,
 * or run the hook's code by hand. The installed hook is vpass-hook, which links no libvirt. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "hook/hook.h"
#include "hook/hook_input.h"
#include "hook/hook_state.h"
#include "util/fs.h"
#include "util/str.h"

#ifndef VPASS_HOOK_BINARY
#define VPASS_HOOK_BINARY "/usr/libexec/vpass-hook"
#endif

/* Where libvirt looks for QEMU hooks, relative to the root (docs/hooks.rst). */
#define HOOK_DIR "etc/libvirt/hooks/qemu.d"
#define HOOK_NAME "vpass"

typedef struct {
    bool install, uninstall, status, force;
    const char *binary;
} hook_args;

enum { OPT_INSTALL = 0x3100, OPT_UNINSTALL, OPT_STATUS, OPT_FORCE, OPT_BINARY };

static const struct option hook_options[] = {
    {"install", no_argument, NULL, OPT_INSTALL},
    {"uninstall", no_argument, NULL, OPT_UNINSTALL},
    {"status", no_argument, NULL, OPT_STATUS},
    {"force", no_argument, NULL, OPT_FORCE},
    {"hook-binary", required_argument, NULL, OPT_BINARY},
    {NULL, 0, NULL, 0},
};

static int
hook_option(void *ctx, int opt, const char *arg, vp_error *err)
{
    hook_args *a = ctx;

    switch (opt) {
    case OPT_INSTALL:
        a->install = true;
        return 0;
    case OPT_UNINSTALL:
        a->uninstall = true;
        return 0;
    case OPT_STATUS:
        a->status = true;
        return 0;
    case OPT_FORCE:
        a->force = true;
        return 0;
    case OPT_BINARY:
        a->binary = arg;
        return 0;
    default:
        return vp_error_set(err, VP_E_USAGE, "hook: unexpected option");
    }
}

static const char default_conf[] =
    "# vpass-hook policy (docs/hook.md). When a domain starts, the hook binds the other\n"
    "# functions of its PCI devices' IOMMU groups to vfio-pci (libvirt does not), and gives\n"
    "# them back to their drivers when it stops. It never takes a host-critical device.\n"
    "[hook]\n"
    "# The domains it works for: all, none, or names separated by spaces. A domain's own\n"
    "# <vpass:hook enable='yes|no'/> in its vpass metadata wins over this line.\n"
    "enable = none\n"
    "# no: refuse to start a domain whose group is incomplete instead of completing it.\n"
    "isolate = yes\n"
    "# Functions the hook never takes from the host, e.g. protect = 0000:00:1f.3\n"
    "#protect =\n";

static bool
executable(const char *path)
{
    struct stat st;

    return path && path[0] == '/' && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, X_OK) == 0;
}

/* The vpass-hook to link to: --hook-binary, the installed one, or the one beside this vpass
 * (a build tree). */
static int
find_binary(const hook_args *a, char **ret, vp_error *err)
{
    vp_autofree char *self = NULL;

    if (a->binary) {
        if (!executable(a->binary))
            return vp_error_set(err, VP_E_USAGE,
                                "--hook-binary '%s': not an absolute path to an executable file",
                                a->binary);
        *ret = vp_strdup(a->binary);
        return 0;
    }
    if (executable(VPASS_HOOK_BINARY)) {
        *ret = vp_strdup(VPASS_HOOK_BINARY);
        return 0;
    }
    self = realpath("/proc/self/exe", NULL);
    if (self) {
        vp_autofree char *dir = vp_strndup(self, (size_t)(strrchr(self, '/') - self));
        vp_autofree char *beside = vp_path_join(dir, "vpass-hook");

        if (executable(beside)) {
            *ret = VP_STEAL(&beside);
            return 0;
        }
    }
    vp_error_set(err, VP_E_NOTFOUND, "vpass-hook: not found at %s nor beside this vpass",
                 VPASS_HOOK_BINARY);
    return vp_error_hint(err, "install vpass (cmake --install), or pass --hook-binary PATH");
}

static int
mkdir_parents(const char *root, const char *rel, vp_error *err)
{
    vp_autofree char *path = vp_path_join(root, rel);
    char *p = path + strlen(root);

    for (;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;

            *p = '\0';
            if (*path && mkdir(path, 0755) < 0 && errno != EEXIST)
                return vp_error_errno(err, errno, "%s: cannot create the directory", path);
            *p = c;
            if (!c)
                break;
        }
    }
    return 0;
}

static int
install(vp_cli *cli, const hook_args *a, vp_error *err)
{
    vp_autofree char *binary = NULL;
    vp_autofree char *dir = vp_path_join(cli->root, HOOK_DIR);
    vp_autofree char *link = vp_path_join(dir, HOOK_NAME);
    vp_autofree char *tmp = vp_path_join(dir, "." HOOK_NAME ".tmp");
    vp_autofree char *conf = vp_path_join(cli->root, VP_HOOK_CONF);
    vp_autofree char *old = NULL;
    bool had_dir, present = false, conf_created = false;
    struct stat st;

    if (find_binary(a, &binary, err) < 0)
        return -1;
    had_dir = stat(dir, &st) == 0;
    if (mkdir_parents(cli->root, HOOK_DIR, err) < 0)
        return -1;
    if (lstat(link, &st) == 0) {
        if (S_ISLNK(st.st_mode) && vp_readlink(link, &old) == 0 && strcmp(old, binary) == 0)
            present = true;
        else if (!a->force)
            return vp_error_set(err, VP_E_USAGE,
                                "%s: exists and is not a link to %s (pass --force to replace it)",
                                link, binary);
    }
    if (!present) {
        (void)unlink(tmp);
        if (symlink(binary, tmp) < 0)
            return vp_error_errno(err, errno, "%s: cannot create the link", tmp);
        if (rename(tmp, link) < 0) {
            vp_error_errno(err, errno, "%s: cannot install the hook", link);
            (void)unlink(tmp);
            return -1;
        }
    }
    if (access(conf, F_OK) < 0) {
        FILE *f;

        if (mkdir_parents(cli->root, "etc/vpass", err) < 0)
            return -1;
        f = fopen(conf, "wx");
        if (!f)
            return vp_error_errno(err, errno, "%s: cannot create the hook policy", conf);
        fputs(default_conf, f);
        if (fclose(f) != 0)
            return vp_error_errno(err, errno, "%s: cannot write the hook policy", conf);
        conf_created = true;
    }
    if (cli->json) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "hook", json_object_new_string(link));
        json_object_object_add(o, "target", json_object_new_string(binary));
        json_object_object_add(o, "already_installed", json_object_new_boolean(present));
        json_object_object_add(o, "policy", json_object_new_string(conf));
        json_object_object_add(o, "policy_created", json_object_new_boolean(conf_created));
        json_object_object_add(o, "restart_needed", json_object_new_boolean(!had_dir));
        vp_json_print(o);
        return 0;
    }
    printf("%s %s -> %s\n", present ? "Already installed:" : "Installed", link, binary);
    if (conf_created)
        printf("Created %s: the hook is off for every domain until you enable it there\n"
               "(enable = all, or names) or in a domain's metadata (docs/hook.md).\n",
               conf);
    else
        printf("Policy: %s (unchanged)\n", conf);
    /* virHookInitialize looks for hooks once, at daemon start. */
    printf(
        "Restart libvirt so that it notices a new hook directory: systemctl restart libvirtd (or virtqemud on a modular daemon).\n");
    return 0;
}

static int
uninstall(vp_cli *cli, const hook_args *a, vp_error *err)
{
    vp_autofree char *link = vp_asprintf("%s/%s", HOOK_DIR, HOOK_NAME);
    vp_autofree char *path = vp_path_join(cli->root, link);
    vp_autofree char *target = NULL;
    vp_hook_state *states = NULL;
    size_t n = 0, held = 0;
    int r = vp_readlink(path, &target);

    if (r == -ENOENT) {
        printf("Not installed: %s does not exist\n", path);
        return 0;
    }
    if (r < 0 && !a->force)
        return vp_error_set(err, VP_E_USAGE,
                            "%s: not a link to vpass-hook (pass --force to remove it anyway)",
                            path);
    if (r == 0 && strcmp(vp_basename(target), "vpass-hook") != 0 && !a->force)
        return vp_error_set(err, VP_E_USAGE,
                            "%s: links to %s, not to vpass-hook (pass --force to remove it anyway)",
                            path, target);
    if (unlink(path) < 0)
        return vp_error_errno(err, errno, "%s: cannot remove the hook", path);
    printf("Removed %s\n", path);
    if (vp_hook_state_load_all(cli->root, &states, &n, NULL) == 0) {
        for (size_t i = 0; i < n; i++)
            held += states[i].n;
        vp_hook_states_free(states, n);
    }
    if (held)
        printf(
            "Note: %zu device%s the hook took stay on vfio-pci until the domains holding them stop under a hook again, or the host reboots (vpass hook --status).\n",
            held, held == 1 ? "" : "s");
    return 0;
}

static int
status(vp_cli *cli, vp_error *err)
{
    vp_hook_state *states = NULL;
    vp_autoptr(vp_table) t = NULL;
    size_t n = 0;
    json_object *arr;
    static const char *const headers[] = {"DOMAIN", "DEVICE", "HOST DRIVER", "OVERRIDE", "PHASE"};

    if (vp_hook_state_load_all(cli->root, &states, &n, err) < 0)
        return -1;
    arr = cli->json ? json_object_new_array() : NULL;
    t = cli->json ? NULL : vp_table_new(VP_ARRAY_SIZE(headers), headers);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < states[i].n; j++) {
            const vp_hook_entry *e = &states[i].entries[j];
            char a[VP_PCI_ADDR_STRLEN];

            vp_pci_addr_format(&e->addr, a);
            if (arr) {
                json_object *o = json_object_new_object();

                json_object_object_add(o, "domain", json_object_new_string(states[i].domain));
                json_object_object_add(o, "address", json_object_new_string(a));
                json_object_object_add(o, "driver", json_object_new_string(e->driver));
                json_object_object_add(o, "driver_override",
                                       e->override ? json_object_new_string(e->override) : NULL);
                json_object_object_add(o, "phase",
                                       json_object_new_string(vp_hook_phase_name(e->phase)));
                json_object_array_add(arr, o);
            } else {
                const char *row[] = {states[i].domain, a, e->driver, e->override,
                                     vp_hook_phase_name(e->phase)};

                vp_table_add_row(t, row);
            }
        }
    if (arr) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "devices", arr);
        vp_json_print(o);
    } else if (t && n) {
        vp_table_print(t, stdout);
    } else {
        printf("The hook holds no device.\n");
    }
    vp_hook_states_free(states, n);
    return 0;
}

/* Run the hook's code as libvirt would (the domain XML on stdin). */
static int
run_hook(vp_cli *cli, int argc, char **argv, vp_error *err)
{
    vp_hook_env env = {.root = cli->root};
    vp_hook_report rep = {0};
    vp_hook_action act = vp_hook_action_of(argv[1], argv[2]);
    vp_autofree char *xml = NULL;
    int rc;

    (void)argc;
    if (act == VP_HOOK_ACT_NONE)
        return 0;
    if (vp_read_file("/dev/stdin", 64 << 20, &xml, NULL) < 0)
        xml = NULL;
    rc = vp_hook_run(&env, argv[0], act, xml, &rep, err);
    for (size_t i = 0; rep.notes && rep.notes[i]; i++)
        fprintf(stderr, "vpass: %s\n", rep.notes[i]);
    vp_hook_report_clear(&rep);
    return rc;
}

static int
hook_run(vp_cli *cli, const vp_command *cmd, int argc, char **argv, vp_error *err)
{
    hook_args a = {0};
    bool help;
    int ind, modes;

    if (vp_cli_parse(cli, cmd, argc, argv, hook_options, hook_option, &a, &ind, &help, err) < 0)
        return -1;
    if (help)
        return 0;
    modes = a.install + a.uninstall + a.status;
    if (modes > 1)
        return vp_error_set(err, VP_E_USAGE, "hook: give one of --install, --uninstall, --status");
    if (modes == 1) {
        if (ind < argc)
            return vp_error_set(err, VP_E_USAGE, "hook: unexpected argument '%s'", argv[ind]);
        if (a.install)
            return install(cli, &a, err);
        if (a.uninstall)
            return uninstall(cli, &a, err);
        return status(cli, err);
    }
    if (argc - ind < 3 || argc - ind > 4)
        return vp_error_set(
            err, VP_E_USAGE,
            "hook: expected --install, --uninstall, --status, or DOMAIN OPERATION SUB-OPERATION [EXTRA]");
    return run_hook(cli, argc - ind, argv + ind, err);
}

const vp_command vp_cmd_hook = {
    .name = "hook",
    .usage =
        "--install [--hook-binary PATH] [--force] | --uninstall | --status | DOMAIN OPERATION SUB-OPERATION [EXTRA]",
    .summary = "the libvirt hook: complete a domain's IOMMU groups at start, restore at stop",
    .help = "Options:\n"
            "      --install         link ROOT/etc/libvirt/hooks/qemu.d/vpass to vpass-hook and\n"
            "                        create ROOT/etc/vpass/hook.conf (off for every domain) if\n"
            "                        missing; then restart libvirtd or virtqemud\n"
            "      --hook-binary PATH  the vpass-hook to link to (default: the installed one)\n"
            "      --force           replace (or remove) a hook file that is not vpass's\n"
            "      --uninstall       remove the link; devices the hook holds stay on vfio-pci\n"
            "      --status          the devices the hook took from their drivers, per domain\n"
            "DOMAIN OPERATION SUB-OPERATION [EXTRA] runs the hook's code as libvirt runs\n"
            "vpass-hook, the domain XML on stdin ('prepare begin', 'release end'; anything else\n"
            "does nothing). It writes sysfs under --root. Exit status 6 when a start is\n"
            "refused (docs/hook.md).\n",
    .run = hook_run,
};
