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

/* True when facts read from this machine's files describe the connection's host: a local
 * driver that manages this machine (not libvirt's test driver, which describes a fake host). */
static bool
virt_is_this_machine(const vp_virt *v)
{
    return v && v->local && !vp_startswith(v->uri, "test");
}

/* Facts from sysfs for a host whose devices came from libvirt: read the same machine's sysfs
 * once and move each device's facts across by address. */
static void
enrich_from_sysfs(vp_host *h, const char *root)
{
    vp_autoptr(vp_host) local = vp_host_new();
    vp_error ignored = {0};

    if (vp_source_sysfs_load(local, root, &ignored) < 0)
        return;
    vp_host_finalize(local);
    for (size_t i = 0; i < h->n_devices; i++) {
        vp_device *d = h->devices[i];
        vp_device *l = vp_host_find_device(local, &d->addr);

        if (l && !d->facts)
            d->facts = VP_STEAL(&l->facts);
    }
}

int
vp_cli_load_host_full(vp_cli *cli, bool write, vp_host **ret, vp_virt **ret_virt, vp_error *err)
{
    vp_autoptr(vp_host) h = vp_host_new();
    vp_autoptr(vp_virt) v = NULL;
    vp_source_kind source = cli->source;
    vp_error conn_err = {0};

    /* An explicit --root names the host's filesystem: read it, not the daemon's view. */
    if (source == VP_SOURCE_AUTO && cli->root_given)
        source = VP_SOURCE_SYSFS;

    if (vp_virt_open(cli->uri, !write, &v, &conn_err) < 0) {
        /* The sysfs source can stand alone for reading: ownership is then unknown. An
         * explicit -c that fails, or a command that must change a domain, is an error. */
        if (source == VP_SOURCE_LIBVIRT || cli->uri || write) {
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
            vp_error_set(err, VP_E_UNSUPPORTED, "%s: remote connection without the node-device API",
                         v->uri);
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
        /* On the host itself, sysfs adds what libvirt does not say (config space, resets,
         * host use); remote, those facts stay unknown and the checks say "skipped". */
        if (virt_is_this_machine(v)) {
            enrich_from_sysfs(h, cli->root);
            if (vp_source_host_facts_load(h, cli->root, err) < 0)
                return -1;
        }
    } else {
        if (vp_source_sysfs_load(h, cli->root, err) < 0)
            return -1;
        if (vp_source_host_facts_load(h, cli->root, err) < 0)
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
    if (ret_virt)
        *ret_virt = VP_STEAL(&v);
    return 0;
}

int
vp_cli_load_host(vp_cli *cli, vp_host **ret, vp_error *err)
{
    return vp_cli_load_host_full(cli, false, ret, NULL, err);
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
