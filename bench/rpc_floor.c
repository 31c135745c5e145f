/* The RPC floor of an inventory: fetch every PCI node-device XML and every domain XML over
 * one connection, one call after another, and parse nothing. Whatever reads the same facts
 * through libvirt over one sequential connection cannot be faster than this.
 *
 *   rpc_floor URI                  open, list, fetch every PCI nodedev XML + domain XML
 *   rpc_floor --connect-only URI   open and close (what the daemon spends on a connection)
 *   rpc_floor --vpass-set URI      also the net node devices and the persistent XML of
 *                                  running domains: the documents vpass groups reads
 *
 * Prints one line: counts and bytes fetched (so a run that fetched nothing is visible).
 * Build: cc -O2 -o rpc_floor rpc_floor.c $(pkg-config --cflags --libs libvirt) */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
quiet(void *opaque, virErrorPtr e)
{
    (void)opaque;
    (void)e;
}

static int
fetch_nodedevs(virConnectPtr c, unsigned flags, size_t *bytes)
{
    virNodeDevicePtr *devs = NULL;
    int n = virConnectListAllNodeDevices(c, &devs, flags);

    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        char *xml = virNodeDeviceGetXMLDesc(devs[i], 0);

        if (!xml) {
            fprintf(stderr, "rpc_floor: %s: %s\n", virNodeDeviceGetName(devs[i]),
                    virGetLastErrorMessage());
        } else {
            *bytes += strlen(xml);
            free(xml);
        }
        virNodeDeviceFree(devs[i]);
    }
    free(devs);
    return n;
}

int
main(int argc, char **argv)
{
    int connect_only = 0, vpass_set = 0, n_pci, n_net = 0, n_dom, n_config = 0;
    const char *uri = NULL;
    virConnectPtr c;
    virDomainPtr *doms = NULL;
    size_t bytes = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--connect-only") == 0)
            connect_only = 1;
        else if (strcmp(argv[i], "--vpass-set") == 0)
            vpass_set = 1;
        else
            uri = argv[i];
    }
    if (!uri) {
        fprintf(stderr, "usage: rpc_floor [--connect-only|--vpass-set] URI\n");
        return 2;
    }
    virSetErrorFunc(NULL, quiet);
    c = virConnectOpenReadOnly(uri);
    if (!c) {
        fprintf(stderr, "rpc_floor: %s: %s\n", uri, virGetLastErrorMessage());
        return 1;
    }
    if (connect_only) {
        virConnectClose(c);
        printf("connected\n");
        return 0;
    }
    n_pci = fetch_nodedevs(c, VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV, &bytes);
    if (vpass_set && n_pci >= 0)
        n_net = fetch_nodedevs(c, VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET, &bytes);
    n_dom = virConnectListAllDomains(c, &doms, 0);
    if (n_pci < 0 || n_net < 0 || n_dom < 0) {
        fprintf(stderr, "rpc_floor: %s: %s\n", uri, virGetLastErrorMessage());
        virConnectClose(c);
        return 1;
    }
    for (int i = 0; i < n_dom; i++) {
        char *xml = virDomainGetXMLDesc(doms[i], 0);

        if (xml) {
            bytes += strlen(xml);
            free(xml);
        }
        /* vpass reads a running domain's next-boot definition too */
        if (vpass_set && virDomainGetID(doms[i]) != (unsigned int)-1) {
            xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
            if (xml) {
                bytes += strlen(xml);
                free(xml);
                n_config++;
            }
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    virConnectClose(c);
    printf("pci %d net %d domains %d configs %d bytes %zu\n", n_pci, n_net, n_dom, n_config, bytes);
    return 0;
}
