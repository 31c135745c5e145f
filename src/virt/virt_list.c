/* The real vp_virt ops that read: node devices and domains with their XML, fetched in
 * parallel over the one connection when there are many. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "virt_internal.h"

/* Each XML is one RPC round trip, and a round trip is mostly waiting: for the daemon to
 * format the document, and for the transport (an ssh tunnel to a remote host above all).
 * Several calls in flight over the one connection hide that wait: libvirt's RPC client
 * multiplexes concurrent calls on a connection (virNetClient's "buck passing"), and the
 * daemon runs up to max_client_requests (default 5) calls of one client at once. So up to
 * FETCH_THREADS threads share the connection; no extra connections are opened (each would
 * cost an authentication, and the test driver parses its whole host file per connection).
 * Below FETCH_MIN items, threads cost more than they save. (ThreadSanitizer reports a race
 * in libtirpc's xdr_opaque(): its static scratch buffer for padding bytes, which are thrown
 * away; libvirtd's own workers decode the same way.) */
enum {
    FETCH_THREADS = 4,
    FETCH_MAX_THREADS = 16,
    FETCH_MIN = 64,
};

/* Threads to use for N items: FETCH_THREADS, or $VPASS_VIRT_THREADS (1 = sequential; for
 * benchmarks and for daemons configured with a lower max_client_requests). */
static size_t
fetch_threads(size_t n)
{
    const char *env = getenv("VPASS_VIRT_THREADS");
    unsigned want = FETCH_THREADS;

    if (env && *env && (vp_parse_uint(env, &want) < 0 || want == 0))
        want = FETCH_THREADS;
    if (want > FETCH_MAX_THREADS)
        want = FETCH_MAX_THREADS;
    if (n < FETCH_MIN)
        return 1;
    return want;
}

/* A batch of N independent fetches: FN(CTX, i) fills result i (and only it), so the results
 * keep the listing's order whichever thread fetched them. */
typedef struct {
    void (*fn)(void *ctx, size_t i);
    void *ctx;
    size_t n;
    atomic_size_t next;
} fetch_batch;

static void *
fetch_worker(void *arg)
{
    fetch_batch *b = arg;
    size_t i;

    /* Items are taken one at a time, so a slow one never holds up a whole slice. */
    while ((i = atomic_fetch_add(&b->next, 1)) < b->n)
        b->fn(b->ctx, i);
    return NULL;
}

/* Run every fetch of B; the calling thread works too, so a failed pthread_create only
 * means less parallelism, never a missing result. */
static void
fetch_all(fetch_batch *b)
{
    pthread_t tids[FETCH_MAX_THREADS];
    size_t want = fetch_threads(b->n), started = 0;

    atomic_init(&b->next, 0);
    while (started + 1 < want && pthread_create(&tids[started], NULL, fetch_worker, b) == 0)
        started++;
    fetch_worker(b);
    for (size_t t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
}

/* ---------------------------------------------------------------- node devices */

typedef struct {
    virNodeDevicePtr *devs;
    vp_virt_xml *items;
} nodedev_batch;

static void
fetch_nodedev(void *ctx, size_t i)
{
    nodedev_batch *b = ctx;
    const char *name = virNodeDeviceGetName(b->devs[i]);
    vp_virt_xml *item = &b->items[i];

    item->name = vp_strdup(name ? name : "?");
    item->xml = virNodeDeviceGetXMLDesc(b->devs[i], 0);
    if (!item->xml)
        item->error = vp_strdup(vp_virt_last_error()); /* libvirt's errors are per thread */
    virNodeDeviceFree(b->devs[i]);
    b->devs[i] = NULL;
}

static int
list_node_devices(vp_virt *v, unsigned flags, const char *what, const vp_virt_filter *f,
                  vp_virt_xml **ret, size_t *ret_n, vp_error *err)
{
    virNodeDevicePtr *devs = NULL;
    nodedev_batch nb;
    fetch_batch b;
    size_t kept = 0;
    int n;

    n = virConnectListAllNodeDevices(vp_virt_conn(v), &devs, flags);
    if (n < 0) {
        bool unsupported = vp_virt_last_error_is_unsupported();

        vp_error_set(err, unsupported ? VP_E_UNSUPPORTED : VP_E_CONNECT,
                     "%s: cannot list %s node devices: %s", v->uri, what, vp_virt_last_error());
        if (unsupported)
            vp_error_hint(err, "this connection has no node-device API; use --source sysfs "
                               "on the host itself");
        return -1;
    }
    /* The listing carries every name: the filter drops devices before their XML costs a
     * round trip (virNodeDeviceGetName reads the handle, no call). */
    for (int i = 0; i < n; i++) {
        const char *name = virNodeDeviceGetName(devs[i]);

        if (f && f->keep && !f->keep(f->ctx, name ? name : "")) {
            virNodeDeviceFree(devs[i]);
            continue;
        }
        devs[kept++] = devs[i];
    }
    nb.devs = devs;
    nb.items = vp_malloc0(sizeof(*nb.items) * (kept ? kept : 1));
    b.fn = fetch_nodedev;
    b.ctx = &nb;
    b.n = kept;
    fetch_all(&b);
    free(devs);
    *ret = nb.items;
    *ret_n = kept;
    return 0;
}

int
vp_virt_real_list_pci_devices(vp_virt *v, const vp_virt_filter *f, vp_virt_xml **ret, size_t *ret_n,
                              vp_error *err)
{
    return list_node_devices(v, VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV, "PCI", f, ret, ret_n,
                             err);
}

int
vp_virt_real_list_net_devices(vp_virt *v, const vp_virt_filter *f, vp_virt_xml **ret, size_t *ret_n,
                              vp_error *err)
{
    return list_node_devices(v, VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET, "net", f, ret, ret_n, err);
}

/* ---------------------------------------------------------------- domains */

typedef struct {
    virDomainPtr *doms;
    vp_virt_domain *items;
    bool ask_persistent; /* the transient listing failed: ask each running domain */
} domain_batch;

static void
fetch_domain(void *ctx, size_t i)
{
    domain_batch *b = ctx;
    vp_virt_domain *d = &b->items[i];

    if (b->ask_persistent && d->running)
        d->persistent = virDomainIsPersistent(b->doms[i]) != 0;
    d->live_xml = virDomainGetXMLDesc(b->doms[i], 0);
    if (!d->live_xml)
        d->error = vp_strdup(vp_virt_last_error());
    if (d->running && d->persistent) {
        d->config_xml = virDomainGetXMLDesc(b->doms[i], VIR_DOMAIN_XML_INACTIVE);
        if (!d->config_xml && !d->error)
            d->error = vp_strdup(vp_virt_last_error());
    }
}

typedef unsigned char uuid_raw[VIR_UUID_BUFLEN];

static int
uuid_cmp(const void *a, const void *b)
{
    return memcmp(a, b, VIR_UUID_BUFLEN);
}

int
vp_virt_real_list_domains(vp_virt *v, vp_virt_domain **ret, size_t *ret_n, vp_error *err)
{
    virDomainPtr *doms = NULL, *transient = NULL;
    uuid_raw *transient_uuids = NULL;
    domain_batch db;
    fetch_batch b;
    int n, n_transient;

    n = virConnectListAllDomains(vp_virt_conn(v), &doms, 0);
    if (n < 0)
        return vp_error_set(err, VP_E_CONNECT, "%s: cannot list domains: %s", v->uri,
                            vp_virt_last_error());
    /* Whether each domain is persistent, in one call rather than one per domain: only
     * running domains can be transient, and the few that are come back from this list. */
    n_transient =
        virConnectListAllDomains(vp_virt_conn(v), &transient, VIR_CONNECT_LIST_DOMAINS_TRANSIENT);
    /* A driver without this filter: each running domain is asked in fetch_domain(). */
    db.ask_persistent = n_transient < 0;
    if (n_transient < 0) {
        n_transient = 0;
        virResetLastError();
    }
    transient_uuids =
        vp_realloc_array(NULL, (size_t)(n_transient ? n_transient : 1), sizeof(*transient_uuids));
    for (int i = 0; i < n_transient; i++) {
        if (virDomainGetUUID(transient[i], transient_uuids[i]) < 0)
            memset(transient_uuids[i], 0, VIR_UUID_BUFLEN);
        virDomainFree(transient[i]);
    }
    free(transient);
    qsort(transient_uuids, (size_t)n_transient, sizeof(uuid_raw), uuid_cmp);

    db.doms = doms;
    db.items = vp_malloc0(sizeof(*db.items) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        char uuid[VIR_UUID_STRING_BUFLEN];
        uuid_raw raw;
        const char *name = virDomainGetName(doms[i]);
        vp_virt_domain *d = &db.items[i];

        d->name = vp_strdup(name ? name : "?");
        if (virDomainGetUUIDString(doms[i], uuid) == 0)
            d->uuid = vp_strdup(uuid);
        /* The listing carries each domain's id: only an active (running or paused) domain
         * has one, so this is virDomainIsActive() at listing time, without a call. */
        d->running = virDomainGetID(doms[i]) != (unsigned int)-1;
        /* A shut-off domain is persistent by definition. */
        d->persistent =
            !(virDomainGetUUID(doms[i], raw) == 0 && n_transient > 0 &&
              bsearch(raw, transient_uuids, (size_t)n_transient, sizeof(uuid_raw), uuid_cmp));
    }
    free(transient_uuids);

    b.fn = fetch_domain;
    b.ctx = &db;
    b.n = (size_t)n;
    fetch_all(&b);
    for (int i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
    *ret = db.items;
    *ret_n = (size_t)n;
    return 0;
}
