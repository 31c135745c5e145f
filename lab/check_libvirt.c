/* check_libvirt: load the lab host in libvirt's test driver and dump what it serves.
 *
 *   check_libvirt /abs/path/host.xml OUTDIR
 *
 * Writes OUTDIR/nodedev/<name>.xml for every node device, OUTDIR/domain/<name>.xml
 * and OUTDIR/domains.txt ("name running|shutoff" lines), and prints the counts.
 * `gen_lab.py --check --libvirt-dump OUTDIR` then compares them with host.xml.
 * Exit status 0 when the host loads and every device and domain comes back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

static int
write_file(const char *dir, const char *sub, const char *name, const char *text)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof(path), "%s/%s/%s.xml", dir, sub, name);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static void
quiet(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;
}

int
main(int argc, char **argv)
{
    char uri[4200];
    virConnectPtr conn;
    virNodeDevicePtr *devs = NULL;
    virDomainPtr *doms = NULL;
    int npci, nall, nnet, ndom, i, bad = 0, running = 0;
    FILE *states;
    char path[4096];

    if (argc != 3 || argv[1][0] != '/') {
        fprintf(stderr, "usage: %s /abs/host.xml OUTDIR\n", argv[0]);
        return 2;
    }
    virSetErrorFunc(NULL, quiet);
    snprintf(uri, sizeof(uri), "test://%s", argv[1]);
    conn = virConnectOpenReadOnly(uri);
    if (!conn) {
        fprintf(stderr, "check_libvirt: cannot open %s: %s\n", uri, virGetLastErrorMessage());
        return 1;
    }
    if (mkdir(argv[2], 0755) < 0 && errno != EEXIST) {
        perror(argv[2]);
        return 1;
    }

    npci = virConnectListAllNodeDevices(conn, &devs, VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV);
    if (npci < 0) {
        fprintf(stderr, "check_libvirt: listing PCI devices: %s\n", virGetLastErrorMessage());
        return 1;
    }
    for (i = 0; i < npci; i++)
        virNodeDeviceFree(devs[i]);
    free(devs);

    nnet = virConnectListAllNodeDevices(conn, &devs, VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET);
    for (i = 0; i < nnet; i++)
        virNodeDeviceFree(devs[i]);
    free(devs);

    nall = virConnectListAllNodeDevices(conn, &devs, 0);
    for (i = 0; i < nall; i++) {
        char *xml = virNodeDeviceGetXMLDesc(devs[i], 0);
        const char *name = virNodeDeviceGetName(devs[i]);

        if (!xml || write_file(argv[2], "nodedev", name, xml) < 0) {
            fprintf(stderr, "check_libvirt: %s: %s\n", name,
                    xml ? "cannot write" : virGetLastErrorMessage());
            bad++;
        }
        free(xml);
        virNodeDeviceFree(devs[i]);
    }
    free(devs);

    ndom = virConnectListAllDomains(conn, &doms, 0);
    if (ndom < 0) {
        fprintf(stderr, "check_libvirt: listing domains: %s\n", virGetLastErrorMessage());
        return 1;
    }
    snprintf(path, sizeof(path), "%s/domains.txt", argv[2]);
    states = fopen(path, "w");
    if (!states) {
        perror(path);
        return 1;
    }
    for (i = 0; i < ndom; i++) {
        int st = 0, reason = 0;
        char *xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
        const char *name = virDomainGetName(doms[i]);

        if (virDomainGetState(doms[i], &st, &reason, 0) < 0 || !xml ||
            write_file(argv[2], "domain", name, xml) < 0) {
            fprintf(stderr, "check_libvirt: domain %s: %s\n", name, virGetLastErrorMessage());
            bad++;
        }
        if (st == VIR_DOMAIN_RUNNING)
            running++;
        fprintf(states, "%s %s\n", name,
                st == VIR_DOMAIN_RUNNING   ? "running"
                : st == VIR_DOMAIN_SHUTOFF ? "shutoff"
                                           : "other");
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    fclose(states);
    virConnectClose(conn);

    printf("check_libvirt: %d node devices (%d PCI, %d net), %d domains (%d running)\n", nall, npci,
           nnet, ndom, running);
    return bad ? 1 : 0;
}
