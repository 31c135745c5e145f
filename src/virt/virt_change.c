/* The real vp_virt ops that change things: domain XML, device attach/detach, definitions,
 * metadata and node-device driver binding. The only code that calls libvirt's change APIs. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "virt_internal.h"

/* libvirt's number for the last error (VIR_ERR_OK when none). */
static int
last_code(void)
{
    virErrorPtr e = virGetLastError();

    return e ? e->code : VIR_ERR_OK;
}

/* The libvirt flags of VP_VIRT_AFFECT_* bits; 0 stays VIR_DOMAIN_AFFECT_CURRENT. */
static unsigned
affect_flags(unsigned affect)
{
    unsigned f = VIR_DOMAIN_AFFECT_CURRENT;

    if (affect & VP_VIRT_AFFECT_LIVE)
        f |= VIR_DOMAIN_AFFECT_LIVE;
    if (affect & VP_VIRT_AFFECT_CONFIG)
        f |= VIR_DOMAIN_AFFECT_CONFIG;
    return f;
}

/* "config", "live", "live+config" or "current", for messages. */
static const char *
affect_name(unsigned affect)
{
    switch (affect & (VP_VIRT_AFFECT_LIVE | VP_VIRT_AFFECT_CONFIG)) {
    case VP_VIRT_AFFECT_LIVE:
        return "live";
    case VP_VIRT_AFFECT_CONFIG:
        return "config";
    case VP_VIRT_AFFECT_LIVE | VP_VIRT_AFFECT_CONFIG:
        return "live+config";
    default:
        return "current";
    }
}

/* Look DOMAIN up; -1 with ERR (VP_E_NOTFOUND for VIR_ERR_NO_DOMAIN). */
static int
lookup_domain(vp_virt *v, const char *domain, virDomainPtr *ret, vp_error *err)
{
    virDomainPtr d = virDomainLookupByName(vp_virt_conn(v), domain);

    if (!d) {
        if (last_code() == VIR_ERR_NO_DOMAIN)
            return vp_error_set(err, VP_E_NOTFOUND, "domain '%s': no such domain", domain);
        return vp_error_set(err, VP_E_SYSTEM, "domain '%s': cannot look it up: %s", domain,
                            vp_virt_last_error());
    }
    *ret = d;
    return 0;
}

/* Set ERR for a failed change WHAT ("cannot attach the device") of domain D with AFFECT,
 * from libvirt's last error. A change the domain's state makes impossible (--config on a
 * transient domain, --live on a shut-off one) gets a message that says so: libvirt reports
 * these as VIR_ERR_OPERATION_INVALID, or (drivers without the API, such as test:///) as
 * VIR_ERR_NO_SUPPORT before it looks at the domain. */
static int
domain_change_error(virDomainPtr d, const char *domain, const char *what, unsigned affect,
                    vp_error *err)
{
    int code = last_code();
    vp_autofree char *reason = vp_strdup(vp_virt_last_error());

    if (code == VIR_ERR_OPERATION_INVALID || code == VIR_ERR_NO_SUPPORT ||
        code == VIR_ERR_OPERATION_UNSUPPORTED) {
        if ((affect & VP_VIRT_AFFECT_CONFIG) && virDomainIsPersistent(d) == 0) {
            vp_error_set(err, VP_E_UNSUPPORTED,
                         "%s is transient: it has no persistent definition; use --live", domain);
            return vp_error_hint(err, "define it (virsh define) to make it persistent");
        }
        if ((affect & VP_VIRT_AFFECT_LIVE) && virDomainIsActive(d) == 0)
            return vp_error_set(err, VP_E_UNSUPPORTED,
                                "%s is not running: it has no live definition; use --config",
                                domain);
    }
    if (code == VIR_ERR_NO_SUPPORT || code == VIR_ERR_OPERATION_UNSUPPORTED)
        return vp_error_set(err, VP_E_UNSUPPORTED, "%s: %s (%s): %s", domain, what,
                            affect_name(affect), reason);
    if (code == VIR_ERR_DEVICE_MISSING)
        return vp_error_set(err, VP_E_NOTFOUND, "%s: %s (%s): %s", domain, what,
                            affect_name(affect), reason);
    return vp_error_set(err, VP_E_SYSTEM, "%s: %s (%s): %s", domain, what, affect_name(affect),
                        reason);
}

int
vp_virt_real_get_domain_xml(vp_virt *v, const char *domain, bool inactive, char **ret_xml,
                            vp_error *err)
{
    virDomainPtr d = NULL;
    unsigned flags = inactive ? VIR_DOMAIN_XML_INACTIVE : 0;
    char *xml;

    if (lookup_domain(v, domain, &d, err) < 0)
        return -1;
    /* Secrets only on a read-write connection: libvirt refuses them to read-only ones. */
    if (!v->readonly)
        flags |= VIR_DOMAIN_XML_SECURE;
    xml = virDomainGetXMLDesc(d, flags);
    if (!xml) {
        vp_error_set(err, VP_E_SYSTEM, "%s: cannot read its %s XML: %s", domain,
                     inactive ? "persistent" : "current", vp_virt_last_error());
        virDomainFree(d);
        return -1;
    }
    virDomainFree(d);
    *ret_xml = xml;
    return 0;
}

int
vp_virt_real_domain_state(vp_virt *v, const char *domain, bool *ret_running, bool *ret_persistent,
                          vp_error *err)
{
    virDomainPtr d = NULL;
    int active, persistent;

    if (lookup_domain(v, domain, &d, err) < 0)
        return -1;
    active = virDomainIsActive(d);
    persistent = active < 0 ? -1 : virDomainIsPersistent(d);
    if (active < 0 || persistent < 0) {
        vp_error_set(err, VP_E_SYSTEM, "%s: cannot read its state: %s", domain,
                     vp_virt_last_error());
        virDomainFree(d);
        return -1;
    }
    virDomainFree(d);
    *ret_running = active == 1;
    *ret_persistent = persistent == 1;
    return 0;
}

/* Attach (ATTACH true) or detach device XML to or from DOMAIN. */
static int
change_device(vp_virt *v, const char *domain, const char *xml, unsigned affect, bool attach,
              vp_error *err)
{
    virDomainPtr d = NULL;
    int r;

    if (lookup_domain(v, domain, &d, err) < 0)
        return -1;
    r = attach ? virDomainAttachDeviceFlags(d, xml, affect_flags(affect))
               : virDomainDetachDeviceFlags(d, xml, affect_flags(affect));
    if (r < 0)
        domain_change_error(d, domain,
                            attach ? "cannot attach the device" : "cannot detach the device",
                            affect, err);
    virDomainFree(d);
    return r < 0 ? -1 : 0;
}

int
vp_virt_real_attach_device(vp_virt *v, const char *domain, const char *xml, unsigned affect,
                           vp_error *err)
{
    return change_device(v, domain, xml, affect, true, err);
}

int
vp_virt_real_detach_device(vp_virt *v, const char *domain, const char *xml, unsigned affect,
                           vp_error *err)
{
    return change_device(v, domain, xml, affect, false, err);
}

/* The text of XML's first <name> element (allocated), or NULL: only to name the domain in a
 * message when libvirt rejected the document (libxml2 is not used in src/virt). */
static char *
guess_domain_name(const char *xml)
{
    const char *b = strstr(xml, "<name>");
    const char *e;

    if (!b)
        return NULL;
    b += strlen("<name>");
    e = strstr(b, "</name>");
    if (!e || e - b > 200 || memchr(b, '<', (size_t)(e - b)))
        return NULL;
    return vp_strndup(b, (size_t)(e - b));
}

int
vp_virt_real_define_xml(vp_virt *v, const char *xml, vp_error *err)
{
    virDomainPtr d;

    /* VALIDATE: libvirt checks the document against its schema first (as `virsh define
     * --validate`), so a malformed definition is refused before anything is replaced. */
    d = virDomainDefineXMLFlags(vp_virt_conn(v), xml, VIR_DOMAIN_DEFINE_VALIDATE);
    if (!d) {
        vp_autofree char *name = guess_domain_name(xml);
        int code = last_code();

        return vp_error_set(err, code == VIR_ERR_NO_SUPPORT ? VP_E_UNSUPPORTED : VP_E_SYSTEM,
                            "%s: cannot define the domain: %s", name ? name : "domain XML",
                            vp_virt_last_error());
    }
    virDomainFree(d);
    return 0;
}

int
vp_virt_real_set_metadata(vp_virt *v, const char *domain, const char *xml, const char *ns_uri,
                          const char *prefix, unsigned affect, vp_error *err)
{
    virDomainPtr d = NULL;
    int r;

    if (lookup_domain(v, domain, &d, err) < 0)
        return -1;
    r = virDomainSetMetadata(d, VIR_DOMAIN_METADATA_ELEMENT, xml, xml ? prefix : NULL, ns_uri,
                             affect_flags(affect));
    if (r < 0)
        domain_change_error(
            d, domain, xml ? "cannot set the vpass metadata" : "cannot remove the vpass metadata",
            affect, err);
    virDomainFree(d);
    return r < 0 ? -1 : 0;
}

/* Look node device NAME up; -1 with ERR (VP_E_NOTFOUND, or VP_E_UNSUPPORTED without the
 * node-device API, as qemu:///embed and remote hosts without the nodedev driver). */
static int
lookup_nodedev(vp_virt *v, const char *name, virNodeDevicePtr *ret, vp_error *err)
{
    virNodeDevicePtr n = virNodeDeviceLookupByName(vp_virt_conn(v), name);

    if (!n) {
        int code = last_code();

        if (code == VIR_ERR_NO_NODE_DEVICE)
            return vp_error_set(err, VP_E_NOTFOUND, "node device '%s': no such device", name);
        if (code == VIR_ERR_NO_SUPPORT || code == VIR_ERR_OPERATION_UNSUPPORTED) {
            vp_error_set(err, VP_E_UNSUPPORTED,
                         "%s: cannot change its driver: %s has no node-device API", name, v->uri);
            return vp_error_hint(err, "run vpass on the host, connected to its libvirt daemon");
        }
        return vp_error_set(err, VP_E_SYSTEM, "node device '%s': cannot look it up: %s", name,
                            vp_virt_last_error());
    }
    *ret = n;
    return 0;
}

/* Set ERR for a failed driver change WHAT of node device NAME. */
static int
nodedev_change_error(const char *name, const char *what, vp_error *err)
{
    int code = last_code();

    return vp_error_set(err,
                        code == VIR_ERR_NO_SUPPORT || code == VIR_ERR_OPERATION_UNSUPPORTED
                            ? VP_E_UNSUPPORTED
                            : VP_E_SYSTEM,
                        "%s: %s: %s", name, what, vp_virt_last_error());
}

int
vp_virt_real_nodedev_detach(vp_virt *v, const char *nodedev, const char *driver, vp_error *err)
{
    virNodeDevicePtr n = NULL;
    int r;

    if (lookup_nodedev(v, nodedev, &n, err) < 0)
        return -1;
    /* "vfio": libvirt binds it to vfio-pci through driver_override (virpci.c). */
    r = virNodeDeviceDetachFlags(n, driver, 0);
    if (r < 0)
        nodedev_change_error(nodedev, "cannot detach it from its host driver", err);
    virNodeDeviceFree(n);
    return r < 0 ? -1 : 0;
}

int
vp_virt_real_nodedev_reattach(vp_virt *v, const char *nodedev, vp_error *err)
{
    virNodeDevicePtr n = NULL;
    int r;

    if (lookup_nodedev(v, nodedev, &n, err) < 0)
        return -1;
    r = virNodeDeviceReAttach(n);
    if (r < 0)
        nodedev_change_error(nodedev, "cannot give it back to its host driver", err);
    virNodeDeviceFree(n);
    return r < 0 ? -1 : 0;
}
