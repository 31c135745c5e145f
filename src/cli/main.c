/* vpass entry point: global options, the command table, error printing and exit codes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const vp_command *const commands[] = {
    &vp_cmd_list,   &vp_cmd_groups, &vp_cmd_show, &vp_cmd_check, &vp_cmd_xml,
    &vp_cmd_attach, &vp_cmd_detach, &vp_cmd_vfs,  &vp_cmd_sriov, &vp_cmd_hook,

};

static const char global_help[] =
    "Global options (accepted before or after the command):\n"
    "  -c, --connect URI     libvirt URI (default: $LIBVIRT_DEFAULT_URI, then libvirt's)\n"
    "      --root DIR        read (and later write) host files under DIR instead of /\n"
    "      --source SOURCE   where devices come from: libvirt, sysfs or auto (default)\n"
    "      --json            print one JSON document on stdout (see docs/json.md)\n"
    "      --color WHEN      auto (default: on a terminal), always or never\n"
    "  -h, --help            show help (vpass COMMAND --help for a command)\n"
    "  -V, --version         show the version\n";

static void
print_main_help(FILE *f)
{
    fputs("Usage: vpass [OPTIONS] COMMAND [ARGS]\n"
          "Give PCI devices to libvirt/KVM guests through VFIO, safely.\n\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < VP_ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "  %-10s %s\n\n", "help", "show help for a command");
    fputs(global_help, f);
    fputs("\nExit codes: 0 success, 1 failure, 2 usage, 3 not found, 4 connection,\n"
          "5 unsupported, 6 blocked by a check, 7 malformed data. See vpass(1).\n",
          f);
}

void
vp_cli_print_command_help(FILE *f, const vp_command *cmd)
{
    fprintf(f, "Usage: vpass %s %s\n%s\n", cmd->name, cmd->usage, cmd->summary);
    if (cmd->help && *cmd->help)
        fprintf(f, "\n%s", cmd->help);
    fprintf(f, "\n%s", global_help);
}

static const vp_command *
find_command(const char *name)
{
    for (size_t i = 0; i < VP_ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

static int
exit_code_for(vp_error_code code)
{
    switch (code) {
    case VP_E_OK:
        return VP_EXIT_OK;
    case VP_E_USAGE:
        return VP_EXIT_USAGE;
    case VP_E_NOTFOUND:
        return VP_EXIT_NOTFOUND;
    case VP_E_CONNECT:
        return VP_EXIT_CONNECT;
    case VP_E_UNSUPPORTED:
        return VP_EXIT_UNSUPPORTED;
    case VP_E_UNSAFE:
        return VP_EXIT_BLOCKED;
    case VP_E_DATA:
        return VP_EXIT_DATA;
    case VP_E_SYSTEM:
    case VP_E_NOMEM:
        return VP_EXIT_FAILURE;
    }
    return VP_EXIT_FAILURE;
}

static int
fail(const vp_error *err)
{
    fprintf(stderr, "vpass: error: %s\n", err->msg[0] ? err->msg : "unknown error");
    if (err->hint[0])
        fprintf(stderr, "hint: %s\n", err->hint);
    return exit_code_for(err->code);
}

int
main(int argc, char **argv)
{
    static const struct option main_options[] = {
        {"connect", required_argument, NULL, 'c'},   {"root", required_argument, NULL, 0x1000},
        {"source", required_argument, NULL, 0x1001}, {"json", no_argument, NULL, 0x1002},
        {"color", required_argument, NULL, 0x1003},  {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0},
    };
    vp_cli cli = {.root = "/", .source = VP_SOURCE_AUTO};
    vp_error err = {0};
    const vp_command *cmd;
    int opt, r;

    opterr = 0;
    /* '+': global options stop at the command name; the command parses the rest. */
    while ((opt = getopt_long(argc, argv, "+:c:hV", main_options, NULL)) != -1) {
        switch (opt) {
        case 'h':
            print_main_help(stdout);
            return VP_EXIT_OK;
        case 'V':
            printf("vpass %s\n", VPASS_VERSION);
            return VP_EXIT_OK;
        case '?':
            vp_error_set(&err, VP_E_USAGE, "unknown option '%s' (see 'vpass --help')",
                         argv[optind - 1]);
            return fail(&err);
        case ':':
            vp_error_set(&err, VP_E_USAGE, "option '%s' needs a value", argv[optind - 1]);
            return fail(&err);
        default:
            if (vp_cli_global_option(&cli, opt, optarg, &err) < 0)
                return fail(&err);
        }
    }
    if (optind >= argc) {
        print_main_help(stderr);
        vp_error_set(&err, VP_E_USAGE, "no command given");
        return fail(&err);
    }
    if (strcmp(argv[optind], "help") == 0) {
        if (optind + 1 >= argc) {
            print_main_help(stdout);
            return VP_EXIT_OK;
        }
        cmd = find_command(argv[optind + 1]);
        if (!cmd) {
            vp_error_set(&err, VP_E_USAGE, "'%s': unknown command (see 'vpass --help')",
                         argv[optind + 1]);
            return fail(&err);
        }
        vp_cli_print_command_help(stdout, cmd);
        return VP_EXIT_OK;
    }
    cmd = find_command(argv[optind]);
    if (!cmd) {
        vp_error_set(&err, VP_E_USAGE, "'%s': unknown command (see 'vpass --help')", argv[optind]);
        return fail(&err);
    }
    r = cmd->run(&cli, cmd, argc - optind, argv + optind, &err);
    if (r < 0)
        return fail(&err);
    return r;
}
