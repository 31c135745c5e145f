/* The real vp_virt ops that read: node devices and domains with their XML. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdlib.h>

#include "../util/str.h"
#include "virt_internal.h"

static int
list_node_devices(vp_virt *v, unsigned flags, const char *what, vp_virt_xml **ret, size_t *ret_n,
                  vp_error *err)
{
    virNodeDevicePtr *devs = NULL;
    vp_virt_xml *items;
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
    items = vp_malloc0(sizeof(*items) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        const char *name = virNodeDeviceGetName(devs[i]);

        items[i].name = vp_strdup(name ? name : "?");
        items[i].xml = virNodeDeviceGetXMLDesc(devs[i], 0);
        if (!items[i].xml)
            items[i].error = vp_strdup(vp_virt_last_error());
        virNodeDeviceFree(devs[i]);
    }
    free(devs);
    *ret = items;
    *ret_n = (size_t)n;
    return 0;
}

int
vp_virt_real_list_pci_devices(vp_virt *v, vp_virt_xml **ret, size_t *ret_n, vp_error *err)
{
    return list_node_devices(v, VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV, "PCI", ret, ret_n,
                             err);
}

int
vp_virt_real_list_net_devices(vp_virt *v, vp_virt_xml **ret, size_t *ret_n, vp_error *err)
{
    return list_node_devices(v, VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET, "net", ret, ret_n, err);
}

int
vp_virt_real_list_domains(vp_virt *v, vp_virt_domain **ret, size_t *ret_n, vp_error *err)
{
    virDomainPtr *doms = NULL;
    vp_virt_domain *items;
    int n;

    n = virConnectListAllDomains(vp_virt_conn(v), &doms, 0);
    if (n < 0)
        return vp_error_set(err, VP_E_CONNECT, "%s: cannot list domains: %s", v->uri,
                            vp_virt_last_error());
    items = vp_malloc0(sizeof(*items) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        char uuid[VIR_UUID_STRING_BUFLEN];
        const char *name = virDomainGetName(doms[i]);
        vp_virt_domain *d = &items[i];

        d->name = vp_strdup(name ? name : "?");
        if (virDomainGetUUIDString(doms[i], uuid) == 0)
            d->uuid = vp_strdup(uuid);
        d->running = virDomainIsActive(doms[i]) == 1;
        d->persistent = virDomainIsPersistent(doms[i]) == 1;
        d->live_xml = virDomainGetXMLDesc(doms[i], 0);
        if (!d->live_xml)
            d->error = vp_strdup(vp_virt_last_error());
        if (d->running && d->persistent) {
            d->config_xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
            if (!d->config_xml && !d->error)
                d->error = vp_strdup(vp_virt_last_error());
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    *ret = items;
    *ret_n = (size_t)n;
    return 0;
}

