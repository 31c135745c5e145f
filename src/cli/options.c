/* Option parsing shared by every command: the global options, accepted anywhere. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util/str.h"

enum {
    OPT_ROOT = 0x1000,
    OPT_SOURCE,
    OPT_JSON,
    OPT_COLOR,
    OPT_HELP,
};

const struct option vp_cli_global_options[] = {
    {"connect", required_argument, NULL, 'c'},
    {"root", required_argument, NULL, OPT_ROOT},
    {"source", required_argument, NULL, OPT_SOURCE},
    {"json", no_argument, NULL, OPT_JSON},
    {"color", required_argument, NULL, OPT_COLOR},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

int
vp_cli_global_option(vp_cli *cli, int opt, const char *arg, vp_error *err)
{
    switch (opt) {
    case 'c':
        if (!*arg)
            return vp_error_set(err, VP_E_USAGE, "--connect: empty URI");
        cli->uri = arg;
        return 1;
    case OPT_ROOT:
        if (!*arg)
            return vp_error_set(err, VP_E_USAGE, "--root: empty directory");
        cli->root = arg;
        cli->root_given = strcmp(arg, "/") != 0;
        return 1;
    case OPT_SOURCE:
        if (strcmp(arg, "auto") == 0)
            cli->source = VP_SOURCE_AUTO;
        else if (strcmp(arg, "libvirt") == 0)
            cli->source = VP_SOURCE_LIBVIRT;
        else if (strcmp(arg, "sysfs") == 0)
            cli->source = VP_SOURCE_SYSFS;
        else
            return vp_error_set(err, VP_E_USAGE,
                                "--source '%s': unknown source (expected libvirt, sysfs or auto)",
                                arg);
        return 1;
    case OPT_JSON:
        cli->json = true;
        return 1;
    case OPT_COLOR:
        if (strcmp(arg, "auto") == 0)
            cli->color_mode = 0;
        else if (strcmp(arg, "always") == 0)
            cli->color_mode = 1;
        else if (strcmp(arg, "never") == 0)
            cli->color_mode = 2;
        else
            return vp_error_set(err, VP_E_USAGE, "--color '%s': expected auto, always or never",
                                arg);
        return 1;
    default:
        return 0;
    }
}

/* Merge the command's options with the global ones into one getopt_long table. */
static struct option *
merge_options(const struct option *cmd_opts, char **ret_short)
{
    size_t n_cmd = 0, n_glob = 0, k = 0;
    struct option *all;
    char *shortopts;
    size_t sl = 0;

    while (cmd_opts && cmd_opts[n_cmd].name)
        n_cmd++;
    while (vp_cli_global_options[n_glob].name)
        n_glob++;
    all = vp_malloc0(sizeof(*all) * (n_cmd + n_glob + 1));
    shortopts = vp_malloc0(3 * (n_cmd + 1) + sizeof(VP_CLI_GLOBAL_SHORTOPTS) + 2);
    /* '+': stop at the first non-option is NOT wanted here; '-'-less permuting lets options
     * follow positionals (vpass show 26 --json). A leading ':' reports missing arguments. */
    shortopts[sl++] = ':';
    memcpy(shortopts + sl, VP_CLI_GLOBAL_SHORTOPTS, sizeof(VP_CLI_GLOBAL_SHORTOPTS) - 1);
    sl += sizeof(VP_CLI_GLOBAL_SHORTOPTS) - 1;
    for (size_t i = 0; i < n_cmd; i++) {
        all[k++] = cmd_opts[i];
        if (cmd_opts[i].val > 0 && cmd_opts[i].val < 128 && !cmd_opts[i].flag) {
            shortopts[sl++] = (char)cmd_opts[i].val;
            if (cmd_opts[i].has_arg == required_argument)
                shortopts[sl++] = ':';
        }
    }
    for (size_t i = 0; i < n_glob; i++)
        all[k++] = vp_cli_global_options[i];
    shortopts[sl] = '\0';
    *ret_short = shortopts;
    return all;
}

int
vp_cli_parse(vp_cli *cli, const vp_command *cmd, int argc, char **argv,
             const struct option *options, vp_option_fn fn, void *ctx, int *ret_optind,
             bool *ret_help, vp_error *err)
{
    vp_autofree struct option *all = NULL;
    vp_autofree char *shortopts = NULL;
    int opt;

    *ret_help = false;
    all = merge_options(options, &shortopts);
    /* 0, not 1: glibc then fully reinitialises its argument-permutation state, left over from
     * main's own parse of the global options. */
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, shortopts, all, NULL)) != -1) {
        int r;

        if (opt == '?') {
            if (optopt)
                return vp_error_set(err, VP_E_USAGE,
                                    "%s: unknown option '-%c' (see 'vpass %s --help')", cmd->name,
                                    optopt, cmd->name);
            return vp_error_set(err, VP_E_USAGE, "%s: unknown option '%s' (see 'vpass %s --help')",
                                cmd->name, argv[optind - 1], cmd->name);
        }
        if (opt == ':')
            return vp_error_set(err, VP_E_USAGE, "%s: option '%s' needs a value", cmd->name,
                                argv[optind - 1]);
        if (opt == OPT_HELP) {
            vp_cli_print_command_help(stdout, cmd);
            *ret_help = true;
            return 0;
        }
        r = vp_cli_global_option(cli, opt, optarg, err);
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        if (!fn || fn(ctx, opt, optarg, err) < 0)
            return -1;
    }
    *ret_optind = optind;
    /* Colour only for humans on a terminal; NO_COLOR (no-color.org) turns it off. */
    cli->color =
        !cli->json && (cli->color_mode == 1 ||
                       (cli->color_mode == 0 && isatty(STDOUT_FILENO) && !getenv("NO_COLOR")));
    return 0;
}
