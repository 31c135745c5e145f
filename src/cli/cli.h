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
    bool color;     /* resolved: only on a tty unless --color=always */
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

/* What a command reads of the host: its selection and domain. The libvirt source then fetches
 * only the selected devices, their IOMMU groups (a group's members from sysfs when sysfs
 * describes the host: no libvirt call lists a group), the functions of their slots with
 * ALL_FUNCTIONS, the VFs of PF, the domain's devices, and every domain for the ledger
 * (docs/DEVELOPING.md, "What a command reads"). */
typedef struct {
    const char *group;    /* --group N as given; NULL: none */
    char *const *devices; /* vp_strv of --device/--netdev selectors; NULL: none */
    const char *pf;       /* --pf: the PF and its VFs; NULL: none */
    const char *domain;   /* --domain: its devices come too; NULL: none */
    bool all_functions;   /* --all-functions */
} vp_cli_scope;

/* vp_cli_load_host_full reading only what SCOPE needs; NULL, or a scope that selects nothing,
 * reads the whole host. */
int vp_cli_load_host_scoped(vp_cli *cli, bool write, const vp_cli_scope *scope, vp_host **ret,
                            struct vp_virt **ret_virt, vp_error *err);

/* The closing line of human inventory output: counts and where the facts came from. */
void vp_cli_print_summary(const vp_host *h, const char *what);

/* Rendering (output.c). */
json_object *vp_json_device(const vp_host *h, const vp_device *d);
json_object *vp_json_group(const vp_host *h, const vp_group *g);
void vp_json_print(json_object *o); /* prints and releases O */

/* A JSON array written element by element (one element per line), for long lists. */
typedef struct {
    size_t n;
} vp_json_stream;
void vp_json_array_begin(vp_json_stream *st);
void vp_json_array_add(vp_json_stream *st, json_object *o); /* prints and releases O */
void vp_json_array_end(vp_json_stream *st);
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

/* ---- SR-IOV (cmd_sriov.c): the options attach and detach take for a VF of a PF ---- */
#include "plan/plan.h"

struct vp_netlink;
struct vp_virt;

enum {
    VP_OPT_SRIOV_PF = 0x4800,
    VP_OPT_SRIOV_VF,
    VP_OPT_SRIOV_MAC,
    VP_OPT_SRIOV_VLAN,
    VP_OPT_SRIOV_TRUST,
    VP_OPT_SRIOV_SPOOFCHK,
    VP_OPT_SRIOV_AS,
};

/* Entries for a command's getopt table (attach: all; detach: --pf and --vf). */
#define VP_CLI_SRIOV_OPTIONS                                                                       \
    {"pf", required_argument, NULL, VP_OPT_SRIOV_PF},                                              \
        {"vf", required_argument, NULL, VP_OPT_SRIOV_VF},                                          \
        {"mac", required_argument, NULL, VP_OPT_SRIOV_MAC},                                        \
        {"vlan", required_argument, NULL, VP_OPT_SRIOV_VLAN},                                      \
        {"trust", required_argument, NULL, VP_OPT_SRIOV_TRUST},                                    \
        {"spoofchk", required_argument, NULL, VP_OPT_SRIOV_SPOOFCHK},                              \
    {                                                                                              \
        "as", required_argument, NULL, VP_OPT_SRIOV_AS                                             \
    }
#define VP_CLI_SRIOV_DETACH_OPTIONS                                                                \
    {"pf", required_argument, NULL, VP_OPT_SRIOV_PF},                                              \
    {                                                                                              \
        "vf", required_argument, NULL, VP_OPT_SRIOV_VF                                             \
    }

/* Help text for those options. */
#define VP_CLI_SRIOV_HELP                                                                          \
    "SR-IOV (a VF of a PF instead of --group/--device; docs/sriov.md):\n"                          \
    "      --pf IFNAME|ADDR     the PF (enp4s0, 0000:04:00.0)\n"                                   \
    "      --vf N|auto          VF N, or a free one: in no domain's definition, not used by\n"     \
    "                           the host, on the NUMA node of the domain's pinned CPUs\n"          \
    "      --mac ADDR|auto      the guest's MAC; auto: 02:xx:.. derived from the domain's\n"       \
    "                           UUID, the PF and the VF (stable); refused when a domain uses it\n" \
    "      --vlan N             VLAN tag the PF puts on the VF's traffic (1-4094)\n"               \
    "      --trust on|off       VF trust, set on the PF through netlink (detach sets it back)\n"   \
    "      --spoofchk on|off    MAC spoof checking, likewise\n"                                    \
    "      --as interface|hostdev  <interface type='hostdev'> (default) or a plain <hostdev>\n"    \
    "                           (a VF that is no NIC, or no network setup)\n"
#define VP_CLI_SRIOV_XML_HELP                                                                      \
    "SR-IOV (a VF of a PF; docs/sriov.md):\n"                                                      \
    "      --pf IFNAME|ADDR     the PF (enp4s0, 0000:04:00.0)\n"                                   \
    "      --vf N|auto          VF N, or the one attach would pick (with --domain: on the\n"       \
    "                           node of its pinned CPUs)\n"                                        \
    "      --mac ADDR|auto      the guest's MAC (auto needs --domain: it derives from its UUID)\n" \
    "      --vlan N             VLAN tag (1-4094)\n"                                               \
    "      --as interface|hostdev  <interface type='hostdev'> (default) or a plain <hostdev>\n"    \
    "                           (--trust and --spoofchk are no XML: see attach --dry-run)\n"
#define VP_CLI_SRIOV_DETACH_HELP                                                                   \
    "SR-IOV:\n"                                                                                    \
    "      --pf IFNAME|ADDR     the PF whose VFs to take back\n"                                   \
    "      --vf N               only VF N (default: every VF of the PF the domain holds);\n"       \
    "                           trust/spoofchk that vpass changed are set back\n"

/* The SR-IOV part of an attach or detach: what was asked, and what was read for it. */
typedef struct {
    bool inited; /* the request's defaults are set (first SR-IOV option) */
    bool given;  /* --pf: the selection is a VF */
    vp_sriov_request req;
    struct vp_netlink *nl; /* this machine's netlink, when the host was read from "/" */
    vp_vf_info *info;
    vp_cpuset local_cpus;
    bool has_choice; /* an attach plan chose a VF (recheck it under the lock) */
    vp_sriov_choice choice;
} vp_cli_sriov;

/* Handle OPT, an option of a command's table that is none of its own: an SR-IOV option (0),
 * or -1 with ERR (VP_E_USAGE) for a bad value or any other option. */
int vp_cli_sriov_option(vp_cli_sriov *s, int opt, const char *arg, vp_error *err);

/* The SR-IOV options of CMD make sense together with the rest of its selection: -1 with ERR
 * (VP_E_USAGE) for OPTIONS (CMD's SR-IOV options but --pf, as the message lists them) without
 * --pf, or --pf with OTHER_SELECTION (OTHERS: how the message names CMD's other selectors). */
int vp_cli_sriov_check_selection(const vp_cli_sriov *s, const char *cmd, const char *options,
                                 const char *others, bool other_selection, vp_error *err);

/* Plan attach (or detach) of REQ's domain for the VF S asks for: reads the PF's VF settings
 * through netlink and its local CPUs when H was read from this machine's "/" (else they are
 * unknown, and --trust/--spoofchk are refused). */
int vp_cli_sriov_plan(vp_cli *cli, const vp_host *h, const vp_plan_request *req, vp_cli_sriov *s,
                      bool detach, bool reattach, vp_plan *ret, vp_error *err);

/* The VF an attach of S would choose for REQ's domain (or for none), in S->choice, without
 * planning (vpass check --pf); notes for the operator pushed to *NOTES. */
int vp_cli_sriov_choose(vp_cli *cli, const vp_host *h, const vp_plan_request *req, vp_cli_sriov *s,
                        char ***notes, vp_error *err);

/* Under the change lock, right before applying: the VF (and MAC) the plan chose are still in
 * no domain's definition on V (another program than vpass may have taken them meanwhile). */
int vp_cli_sriov_recheck(struct vp_virt *v, const vp_cli_sriov *s, const char *domain,
                         vp_error *err);

/* The netlink seam for vp_apply_report.netlink (NULL when none). */
struct vp_netlink *vp_cli_sriov_netlink(const vp_cli_sriov *s);

void vp_cli_sriov_clear(vp_cli_sriov *s);
static inline void
vp_cli_sriov_clearp(vp_cli_sriov **s)
{
    if (*s)
        vp_cli_sriov_clear(*s);
}
/* A vp_cli_sriov * whose pointee is cleared when it leaves scope. */
#define vp_cli_sriov_autoclear __attribute__((cleanup(vp_cli_sriov_clearp)))

/* The commands. */
extern const vp_command vp_cmd_list;
extern const vp_command vp_cmd_groups;
extern const vp_command vp_cmd_show;
extern const vp_command vp_cmd_check;
extern const vp_command vp_cmd_attach;
extern const vp_command vp_cmd_detach;
extern const vp_command vp_cmd_xml;
extern const vp_command vp_cmd_vfs;
extern const vp_command vp_cmd_sriov;
extern const vp_command vp_cmd_hook;
