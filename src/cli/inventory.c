/* Building the host model for a command: choosing the source, loading devices and ledger. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "source/source.h"
#include "util/fs.h"
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
    return v && vp_virt_uri_is_this_machine(v->uri);
}

/* True when ROOT holds a sysfs PCI tree to read devices from. */
static bool
sysfs_readable(const char *root)
{
    vp_autofree char *devices = vp_path_join(root, "sys/bus/pci/devices");

    return access(devices, R_OK | X_OK) == 0;
}

/* True when SCOPE selects something: then a part of the host is enough. Without a selection
 * (host readiness, a domain alone) the checks judge the whole host. */
static bool
scope_selects(const vp_cli_scope *scope)
{
    return scope && (scope->group || scope->devices || scope->pf);
}

/* Load the part of the host SCOPE needs from libvirt, the ledger first (a domain's devices
 * come too), and set *RET_DONE. It stays false, with nothing loaded, when no part can serve
 * SCOPE: a group on a host whose sysfs vpass cannot read (no libvirt call lists a group's
 * members), so the caller loads everything. */
static int
load_part(vp_cli *cli, vp_host *h, vp_virt *v, const vp_cli_scope *scope, bool sysfs_is_host,
          bool *ret_done, vp_error *err)
{
    vp_autofree vp_pci_addr *also = NULL;
    vp_autostrv char **select = vp_strv_copy(scope->devices);
    size_t n_also = 0;
    vp_libvirt_part p = {0};

    *ret_done = false;
    if (scope->group) {
        unsigned n;

        if (!sysfs_is_host || vp_parse_uint(scope->group, &n) < 0)
            return 0; /* a bad number is reported when the selection is resolved */
        if (vp_sysfs_group_members(cli->root, n, &also, &n_also, err) < 0)
            return -1;
        /* No such group: the host has IOMMU groups all the same ("no such group", not "no
         * IOMMU"), as the whole host's devices would have told. */
        if (!n_also) {
            vp_autostrv char **groups = NULL;

            if (vp_root_list_dir(cli->root, "sys/kernel/iommu_groups", &groups) == 0 && groups)
                h->iommu_present = true;
        }
    }
    if (vp_source_ledger_load(h, v, err) < 0)
        return -1;
    for (size_t i = 0; scope->domain && i < h->n_assignments; i++)
        if (strcmp(h->assignments[i].domain, scope->domain) == 0) {
            also = vp_realloc_array(also, n_also + 1, sizeof(*also));
            also[n_also++] = h->assignments[i].addr;
        }
    if (scope->pf)
        vp_strv_push(&select, scope->pf);
    p.select = select;
    p.also = also;
    p.n_also = n_also;
    p.all_functions = scope->all_functions;
    p.vfs = scope->pf != NULL;
    p.root = sysfs_is_host ? cli->root : NULL;
    if (vp_source_libvirt_load_part(h, v, &p, err) < 0)
        return -1;
    *ret_done = true;
    return 0;
}

/* Every device from SOURCE, and the host's use of them. */
static int
load_devices(vp_cli *cli, vp_host *h, vp_virt *v, vp_source_kind source, vp_error *err)
{
    if (source == VP_SOURCE_LIBVIRT) {
        if (vp_source_libvirt_load(h, v, err) < 0)
            return -1;
        /* On the host itself, sysfs adds what libvirt does not say (config space, resets,
         * host use); remote, those facts stay unknown and the checks say "skipped". */
        if (!virt_is_this_machine(v))
            return 0;
        vp_source_sysfs_enrich(h, cli->root, false);
    } else if (vp_source_sysfs_load(h, cli->root, err) < 0) {
        return -1;
    }
    return vp_source_host_facts_load(h, cli->root, err);
}

/* Wait for LEDGER (a started fetch, or NULL) and, when the devices loaded (DEV_RC 0), fill H
 * with it; else only wait and free it, and return -1 (ERR set by the caller). */
static int
ledger_join(vp_host *h, vp_ledger_fetch *ledger, int dev_rc, vp_error *err)
{
    if (dev_rc < 0) {
        vp_source_ledger_fetch_finish(NULL, ledger, err);
        return -1;
    }
    return vp_source_ledger_fetch_finish(h, ledger, err);
}

/* Every device from SOURCE and, when V is open, the ledger, fetched meanwhile. */
static int
load_whole(vp_cli *cli, vp_host *h, vp_virt *v, vp_source_kind source, vp_error *err)
{
    vp_ledger_fetch *ledger = NULL;

    if (v && vp_source_ledger_fetch_start(v, &ledger, err) < 0)
        return -1;
    return ledger_join(h, ledger, load_devices(cli, h, v, source, err), err);
}

/* Opening the connection, and starting the ledger's fetch, on a thread of their own while the
 * caller reads the devices from sysfs, which needs no connection: the daemon's share of
 * opening (the test driver parses its whole host; a remote one costs round trips) and the
 * domains' round trips overlap with the scan. */
typedef struct {
    const char *uri;
    bool readonly;
    pthread_t tid;
    bool threaded;
    vp_virt *v;
    vp_error open_err;
    vp_ledger_fetch *ledger;
    vp_error ledger_err;
    int ledger_rc;
} opener;

static void *
opener_run(void *arg)
{
    opener *o = arg;

    if (vp_virt_open(o->uri, o->readonly, &o->v, &o->open_err) == 0)
        o->ledger_rc = vp_source_ledger_fetch_start(o->v, &o->ledger, &o->ledger_err);
    return NULL;
}

static void
opener_start(opener *o)
{
    o->threaded = pthread_create(&o->tid, NULL, opener_run, o) == 0;
    if (!o->threaded)
        opener_run(o);
}

static void
opener_wait(opener *o)
{
    if (o->threaded)
        pthread_join(o->tid, NULL);
    o->threaded = false;
}

int
vp_cli_load_host_scoped(vp_cli *cli, bool write, const vp_cli_scope *scope, vp_host **ret,
                        vp_virt **ret_virt, vp_error *err)
{
    vp_autoptr(vp_host) h = vp_host_new();
    vp_autoptr(vp_virt) v = NULL;
    vp_source_kind source = cli->source;
    opener o = {.uri = cli->uri, .readonly = !write};
    const char *uri = cli->uri ? cli->uri : getenv("LIBVIRT_DEFAULT_URI");
    vp_error dev_err = {0};
    bool partial = false, early;
    int dev_rc = 0;

    /* An explicit --root names the host's filesystem: read it, not the daemon's view. */
    if (source == VP_SOURCE_AUTO && cli->root_given)
        source = VP_SOURCE_SYSFS;

    /* On the host itself, sysfs says everything libvirt's node devices would and more, without
     * a round trip per device: auto takes it when the URI already tells (libvirt's default
     * URI is known only once connected; the choice is made again below). */
    if (source == VP_SOURCE_AUTO && vp_virt_uri_is_this_machine(uri) && sysfs_readable(cli->root))
        source = VP_SOURCE_SYSFS;

    /* Devices from sysfs need no connection: read them while it opens, unless opening may
     * fork in this process. */
    early = source == VP_SOURCE_SYSFS && vp_virt_uri_opens_without_fork(uri);
    if (early) {
        opener_start(&o);
        dev_rc = load_devices(cli, h, NULL, source, &dev_err);
        opener_wait(&o);
        v = VP_STEAL(&o.v);
    } else {
        vp_virt_open(cli->uri, !write, &v, &o.open_err);
    }
    if (!v) {
        /* The sysfs source can stand alone for reading: ownership is then unknown. An
         * explicit -c that fails, or a command that must change a domain, is an error. */
        if (source == VP_SOURCE_LIBVIRT || cli->uri || write) {
            *err = o.open_err;
            return -1;
        }
        if (source == VP_SOURCE_AUTO)
            source = VP_SOURCE_SYSFS;
        fprintf(stderr, "vpass: warning: %s; domains unknown, reading devices from sysfs\n",
                o.open_err.msg);
    }

    if (source == VP_SOURCE_AUTO) {
        if (virt_is_this_machine(v) && sysfs_readable(cli->root))
            source = VP_SOURCE_SYSFS;
        else if (v->has_nodedev)
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
        vp_source_ledger_fetch_finish(NULL, o.ledger, err);
        vp_error_set(err, VP_E_USAGE, "--source sysfs reads this machine, but %s is remote",
                     v->uri);
        return vp_error_hint(err, "use --source libvirt for a remote host");
    }

    free(h->root);
    h->root = vp_strdup(cli->root);
    if (v) {
        free(h->uri);
        h->uri = vp_strdup(v->uri);
    }
    /* A selection needs a part of the host; the part loads the ledger first. */
    if (source == VP_SOURCE_LIBVIRT && scope_selects(scope) &&
        load_part(cli, h, v, scope, cli->root_given || virt_is_this_machine(v), &partial, err) < 0)
        return -1;
    if (partial) {
        /* On the host itself, sysfs adds what libvirt does not say, and the neighbours. */
        if (virt_is_this_machine(v)) {
            vp_source_sysfs_enrich(h, cli->root, true);
            if (vp_source_host_facts_load(h, cli->root, err) < 0)
                return -1;
        }
    } else if (early) {
        /* The devices are read; the ledger's fetch started with the connection. */
        if (o.ledger_rc < 0) {
            dev_rc = -1;
            dev_err = o.ledger_err;
        }
        if (dev_rc < 0)
            *err = dev_err;
        if (ledger_join(h, o.ledger, dev_rc, err) < 0)
            return -1;
    } else if (load_whole(cli, h, v, source, err) < 0) {
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
vp_cli_load_host_full(vp_cli *cli, bool write, vp_host **ret, vp_virt **ret_virt, vp_error *err)
{
    return vp_cli_load_host_scoped(cli, write, NULL, ret, ret_virt, err);
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
