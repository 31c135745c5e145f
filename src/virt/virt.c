/* The real vp_virt: a libvirt connection. The only file that includes <libvirt/...>. */
#include "virt.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "virt_internal.h"

/* libvirt prints every error to stderr by default; vpass reports errors itself. */
static void
silent_error_handler(void *opaque, virErrorPtr error)
{
    (void)opaque;
    (void)error;
}

const char *
vp_virt_last_error(void)
{
    const char *m = virGetLastErrorMessage();

    return m ? m : "unknown libvirt error";
}

bool
vp_virt_last_error_is_unsupported(void)
{
    virErrorPtr e = virGetLastError();

    return e && (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_NO_NODE_DEVICE ||
                 e->code == VIR_ERR_OPERATION_UNSUPPORTED);
}

/* A URI names a remote host when it has a transport that crosses the network or a host part
 * (libvirt's URI form: driver[+transport]://[user@][host][:port]/path). */
static bool
uri_is_local(const char *uri)
{
    const char *scheme_end, *plus, *host, *host_end;

    if (!uri)
        return true;
    scheme_end = strstr(uri, "://");
    if (!scheme_end)
        return true;
    plus = memchr(uri, '+', (size_t)(scheme_end - uri));
    if (plus) {
        size_t n = (size_t)(scheme_end - plus - 1);

        if (!(n == 4 && strncmp(plus + 1, "unix", 4) == 0) &&
            !(n == 3 && strncmp(plus + 1, "ext", 3) == 0))
            return false;
    }
    host = scheme_end + 3;
    host_end = host + strcspn(host, "/?");
    if (host_end == host)
        return true;
    {
        const char *at = memchr(host, '@', (size_t)(host_end - host));
        const char *h = at ? at + 1 : host;
        size_t hl = strcspn(h, ":/?");

        return (hl == 9 && strncmp(h, "localhost", 9) == 0);
    }
}

static void
real_close(vp_virt *v)
{
    if (v->priv)
        virConnectClose(v->priv);
    v->priv = NULL;
}

static const vp_virt_ops real_ops = {
    .list_pci_devices = vp_virt_real_list_pci_devices,
    .list_net_devices = vp_virt_real_list_net_devices,
    .list_domains = vp_virt_real_list_domains,
    .close = real_close,
    .get_domain_xml = vp_virt_real_get_domain_xml,
    .domain_state = vp_virt_real_domain_state,
    .attach_device = vp_virt_real_attach_device,
    .detach_device = vp_virt_real_detach_device,
    .define_xml = vp_virt_real_define_xml,
    .set_metadata = vp_virt_real_set_metadata,
    .nodedev_detach = vp_virt_real_nodedev_detach,
    .nodedev_reattach = vp_virt_real_nodedev_reattach,
};

/* A driver embedded in this process (qemu:///embed?root=DIR) refuses to open without an event
 * loop implementation ("An event loop implementation must be registered"), as virsh registers
 * one. The change ops never wait on events, so nobody needs to run the loop. Process-wide,
 * once. */
static void
register_event_loop_for(const char *uri)
{
    static bool registered;

    if (!uri)
        uri = getenv("LIBVIRT_DEFAULT_URI");
    if (registered || !uri || !strstr(uri, ":///embed"))
        return;
    if (virEventRegisterDefaultImpl() == 0)
        registered = true;
}

bool
vp_virt_uri_opens_without_fork(const char *uri)
{
    const char *scheme_end, *plus, *path;
    size_t n;

    if (!uri || !(scheme_end = strstr(uri, "://")))
        return false;
    plus = memchr(uri, '+', (size_t)(scheme_end - uri));
    if (plus) {
        n = (size_t)(scheme_end - plus - 1);
        if ((n == 3 && strncmp(plus + 1, "ssh", 3) == 0) ||
            (n == 3 && strncmp(plus + 1, "ext", 3) == 0))
            return false;
    }
    path = scheme_end + 3;
    path += strcspn(path, "/?");
    n = strcspn(path, "?");
    return !(n == 8 && strncmp(path, "/session", 8) == 0) &&
           !(n == 6 && strncmp(path, "/embed", 6) == 0);
}

bool
vp_virt_uri_is_this_machine(const char *uri)
{
    return uri && uri_is_local(uri) && strncmp(uri, "test", 4) != 0;
}

int
vp_virt_open(const char *uri, bool readonly, vp_virt **ret, vp_error *err)
{
    virConnectPtr c;
    vp_virt *v;
    char *actual;

    virSetErrorFunc(NULL, silent_error_handler);
    register_event_loop_for(uri);
    c = readonly ? virConnectOpenReadOnly(uri) : virConnectOpen(uri);
    if (!c) {
        vp_error_set(err, VP_E_CONNECT, "%s: cannot connect to libvirt: %s",
                     uri ? uri : "default URI", vp_virt_last_error());
        return vp_error_hint(
            err,
            "check the URI (-c), that the libvirt daemon runs, and your permissions on its socket");
    }
    v = vp_malloc0(sizeof(*v));
    v->ops = &real_ops;
    v->priv = c;
    v->readonly = readonly;
    actual = virConnectGetURI(c);
    v->uri = vp_strdup(actual ? actual : uri ? uri : "?");
    free(actual);
    v->local = uri_is_local(v->uri);
    v->reports_drivers = strncmp(v->uri, "test", 4) != 0;
    /* A count-only call: answers whether the node-device API exists without fetching. */
    v->has_nodedev =
        virConnectListAllNodeDevices(c, NULL, VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV) >= 0;
    virResetLastError();
    *ret = v;
    return 0;
}

void
vp_virt_free(vp_virt *v)
{
    if (!v)
        return;
    if (v->ops && v->ops->close)
        v->ops->close(v);
    free(v->uri);
    free(v);
}
