/* The command-line layer: global options, the command table, rendering, exit codes. Only code
 * under src/cli prints or exits. */
#pragma once

#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "model/host.h"
#include "util/error.h"

typedef enum {
    VP_SOURCE_AUTO,
    VP_SOURCE_LIBVIRT,
    VP_SOURCE_SYSFS,
} vp_source_kind;

/* Options every command accepts, before or after the command name. */
typedef struct {
    const char *uri;  /* -c/--connect; NULL: LIBVIRT_DEFAULT_URI, then libvirt's default */
    const char *root; /* --root; "/" by default */
    bool root_given;
    vp_source_kind source;
    bool json;
    bool color; /* resolved: only on a tty unless --color=always */
    int color_mode; /* 0 auto, 1 always, 2 never */
} vp_cli;

typedef struct vp_command {
    const char *name;
    const char *usage;   /* arguments after the command name */
    const char *summary; /* one line for `vpass --help` */
    const char *help;    /* the command's options, one per line */
    int (*run)(vp_cli *cli, const struct vp_command *cmd, int argc, char **argv, vp_error *err);
} vp_command;

/* Exit codes (docs/exit-codes.md). */
enum {
    VP_EXIT_OK = 0,
    VP_EXIT_FAILURE = 1,
    VP_EXIT_USAGE = 2,
    VP_EXIT_NOTFOUND = 3,
    VP_EXIT_CONNECT = 4,
    VP_EXIT_UNSUPPORTED = 5,
    VP_EXIT_BLOCKED = 6,
    VP_EXIT_DATA = 7,
};

/* Called for each command-specific option; returns 0 or -1 with ERR. */
typedef int (*vp_option_fn)(void *ctx, int opt, const char *arg, vp_error *err);

/* Parse ARGV (ARGV[0] is the command name) with the command's OPTIONS plus the global ones,
 * which may appear anywhere. --help prints the command's help and sets *RET_HELP. On return
 * *RET_OPTIND is the index of the first positional argument. */
int vp_cli_parse(vp_cli *cli, const vp_command *cmd, int argc, char **argv,
                 const struct option *options, vp_option_fn fn, void *ctx, int *ret_optind,
                 bool *ret_help, vp_error *err);

/* Apply one global option (shared by main's own parse); returns 1 if OPT was global. */
int vp_cli_global_option(vp_cli *cli, int opt, const char *arg, vp_error *err);
extern const struct option vp_cli_global_options[];
#define VP_CLI_GLOBAL_SHORTOPTS "c:"

void vp_cli_print_command_help(FILE *f, const vp_command *cmd);

/* Build the host model as the global options say: the device source (libvirt, sysfs, auto)
 * and the domain ledger from libvirt. Warnings about unreadable items go to stderr. */
int vp_cli_load_host(vp_cli *cli, vp_host **ret, vp_error *err);

/* The same, for commands that change a domain: with WRITE the connection is read-write and
 * must succeed; the connection is handed over in *RET_VIRT (may be NULL when not wanted). */
struct vp_virt;
int vp_cli_load_host_full(vp_cli *cli, bool write, vp_host **ret, struct vp_virt **ret_virt,
                          vp_error *err);

/* The closing line of human inventory output: counts and where the facts came from. */
void vp_cli_print_summary(const vp_host *h, const char *what);

/* Rendering (output.c). */
json_object *vp_json_device(const vp_host *h, const vp_device *d);
json_object *vp_json_group(const vp_host *h, const vp_group *g);
void vp_json_print(json_object *o); /* prints and releases O */
/* "Vendor Product [vvvv:dddd]" (names omitted when unknown), allocated. */
char *vp_device_label(const vp_device *d);
const char *vp_color_verdict(const vp_cli *cli, vp_verdict v);
const char *vp_color_reset(const vp_cli *cli);

/* A plain aligned table for human output. */
typedef struct vp_table vp_table;
vp_table *vp_table_new(size_t n_cols, const char *const *headers);
void vp_table_add_row(vp_table *t, const char *const *cells); /* copies the cells */
void vp_table_print(vp_table *t, FILE *f);
void vp_table_free(vp_table *t);
VP_DEFINE_AUTOPTR(vp_table, vp_table_free)

/* The commands. */
extern const vp_command vp_cmd_list;
extern const vp_command vp_cmd_groups;
extern const vp_command vp_cmd_show;
extern const vp_command vp_cmd_check;
extern const vp_command vp_cmd_attach;
extern const vp_command vp_cmd_detach;
extern const vp_command vp_cmd_xml;
