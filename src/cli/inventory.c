/* Building the host model for a command: choosing the source, loading devices and ledger. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "source/source.h"
#include "util/str.h"
#include "virt/virt.h"

static void
warn_problems(const vp_host *h)
{
    for (size_t i = 0; i < h->n_problems; i++)
        fprintf(stderr, "vpass: warning: %s: %s\n", h->problems[i].what, h->problems[i].why);
}

int
vp_cli_load_host(vp_cli *cli, vp_host **ret, vp_error *err)
{
    vp_autoptr(vp_host) h = vp_host_new();
    vp_autoptr(vp_virt) v = NULL;
    vp_source_kind source = cli->source;
    vp_error conn_err = {0};

    /* An explicit --root names the host's filesystem: read it, not the daemon's view. */
    if (source == VP_SOURCE_AUTO && cli->root_given)
        source = VP_SOURCE_SYSFS;

    if (vp_virt_open(cli->uri, true, &v, &conn_err) < 0) {
        /* The sysfs source can stand alone: without a connection, ownership is unknown. An
         * explicit -c that fails is still an error. */
        if (source == VP_SOURCE_LIBVIRT || cli->uri) {
            *err = conn_err;
            return -1;
        }
        if (source == VP_SOURCE_AUTO)
            source = VP_SOURCE_SYSFS;
        fprintf(stderr, "vpass: warning: %s; domains unknown, reading devices from sysfs\n",
                conn_err.msg);
    }

    if (source == VP_SOURCE_AUTO) {
        if (v->has_nodedev)
            source = VP_SOURCE_LIBVIRT;
        else if (v->local)
            source = VP_SOURCE_SYSFS;
        else {
            vp_error_set(err, VP_E_UNSUPPORTED,
                         "%s: remote connection without the node-device API", v->uri);
            return vp_error_hint(err, "run vpass on that host with --source sysfs");
        }
    }
    if (source == VP_SOURCE_SYSFS && v && !v->local && !cli->root_given) {
        vp_error_set(err, VP_E_USAGE, "--source sysfs reads this machine, but %s is remote",
                     v->uri);
        return vp_error_hint(err, "use --source libvirt for a remote host");
    }

    free(h->root);
    h->root = vp_strdup(cli->root);
    if (source == VP_SOURCE_LIBVIRT) {
        if (vp_source_libvirt_load(h, v, err) < 0)
            return -1;
    } else {
        if (vp_source_sysfs_load(h, cli->root, err) < 0)
            return -1;
    }
    if (v) {
        free(h->uri);
        h->uri = vp_strdup(v->uri);
        if (vp_source_ledger_load(h, v, err) < 0)
            return -1;
    }
    vp_host_finalize(h);
    warn_problems(h);
    *ret = VP_STEAL(&h);
    return 0;
}

void
vp_cli_print_summary(const vp_host *h, const char *what)
{
    printf("\n%s; devices from %s", what, h->source ? h->source : "?");
    if (h->source && strcmp(h->source, "sysfs") == 0)
        printf(" under %s", h->root);
    if (h->uri)
        printf(", domains from %s (%zu)\n", h->uri, h->n_domains);
    else
        printf(", domains unknown (no libvirt connection)\n");
}
