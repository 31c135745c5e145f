/* The one door to libvirt: a connection behind a table of functions, so tests can substitute a
 * fake (fault injection). Nothing outside src/virt includes <libvirt/...>. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "../util/error.h"

/* One node device's XML as libvirt returned it. */
typedef struct {
    char *name; /* "pci_0000_18_00_0", "net_eno1_..." */
    char *xml;  /* NULL when libvirt failed to describe it (reason in error) */
    char *error;
} vp_virt_xml;

/* One domain with its XML documents. */
typedef struct {
    char *name;
    char *uuid;
    bool running;
    bool persistent;
    char *live_xml;   /* current definition (running or not); NULL on failure */
    char *config_xml; /* persistent definition of a running domain; NULL otherwise */
    char *error;      /* why an XML is missing, NULL if none */
} vp_virt_domain;

/* Free lists returned by the ops (inline: the sources use them without linking libvirt). */
static inline void
vp_virt_xml_list_free(vp_virt_xml *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].name);
        free(v[i].xml);
        free(v[i].error);
    }
    free(v);
}

static inline void
vp_virt_domain_list_free(vp_virt_domain *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].name);
        free(v[i].uuid);
        free(v[i].live_xml);
        free(v[i].config_xml);
        free(v[i].error);
    }
    free(v);
}

typedef struct vp_virt vp_virt;

/* Which listed node devices to fetch: KEEP(CTX, NAME) decides by name, before any XML is
 * fetched (the listing is one call; each kept device's XML is one more). A NULL filter, or a
 * NULL KEEP, keeps every device. */
typedef struct {
    bool (*keep)(void *ctx, const char *name);
    void *ctx;
} vp_virt_filter;

typedef struct {
    /* The PCI node devices (VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV) that F keeps, with
     * their XML, in the listing's order. */
    int (*list_pci_devices)(vp_virt *v, const vp_virt_filter *f, vp_virt_xml **ret, size_t *ret_n,
                            vp_error *err);
    /* The net node devices that F keeps (children of PCI devices name their parent). */
    int (*list_net_devices)(vp_virt *v, const vp_virt_filter *f, vp_virt_xml **ret, size_t *ret_n,
                            vp_error *err);
    /* Every domain, running and defined, with live and persistent XML. */
    int (*list_domains)(vp_virt *v, vp_virt_domain **ret, size_t *ret_n, vp_error *err);
    void (*close)(vp_virt *v);

    /* The change ops (virt_change.c); src/apply calls them, tests wrap them to inject faults.
     * DOMAIN and NODEDEV are names ("vm1", "pci_0000_18_00_1"). AFFECT is VP_VIRT_AFFECT_*
     * bits, the same values as plan.h's VP_AFFECT_*: 0 is libvirt's "current" (live when
     * running, else the persistent definition). Errors name the domain or device first:
     * VP_E_NOTFOUND for an unknown domain, node device or (detach) a device the definition
     * lacks; VP_E_UNSUPPORTED when this is impossible here (--config on a transient domain,
     * --live on a shut-off one, a driver without the API); VP_E_SYSTEM with libvirt's message
     * otherwise. */

    /* DOMAIN's XML (allocated): the persistent definition when INACTIVE, else the current one;
     * with secrets (VIR_DOMAIN_XML_SECURE) on a read-write connection, so that a definition
     * written back keeps its passwords. */
    int (*get_domain_xml)(vp_virt *v, const char *domain, bool inactive, char **ret_xml,
                          vp_error *err);
    /* Whether DOMAIN is running and whether it has a persistent definition. */
    int (*domain_state)(vp_virt *v, const char *domain, bool *ret_running, bool *ret_persistent,
                        vp_error *err);
    /* virDomainAttachDeviceFlags / virDomainDetachDeviceFlags of one device's XML. */
    int (*attach_device)(vp_virt *v, const char *domain, const char *xml, unsigned affect,
                         vp_error *err);
    int (*detach_device)(vp_virt *v, const char *domain, const char *xml, unsigned affect,
                         vp_error *err);
    /* Define (create or replace) a persistent domain from XML, validated against the schema. */
    int (*define_xml)(vp_virt *v, const char *xml, vp_error *err);
    /* Set DOMAIN's <metadata> element of namespace NS_URI to XML (written with PREFIX); a NULL
     * XML removes it (removing an absent element succeeds). XML is plain, without namespace
     * declarations: libvirt puts it in NS_URI itself and refuses a root element that declares
     * PREFIX already ("failed to create a new XML namespace"). Removing the last element
     * leaves an empty <metadata/> in the definition. */
    int (*set_metadata)(vp_virt *v, const char *domain, const char *xml, const char *ns_uri,
                        const char *prefix, unsigned affect, vp_error *err);
    /* Unbind node device NODEDEV from its host driver and bind it to DRIVER ("vfio"). */
    int (*nodedev_detach)(vp_virt *v, const char *nodedev, const char *driver, vp_error *err);
    /* Give node device NODEDEV back to its host driver. */
    int (*nodedev_reattach)(vp_virt *v, const char *nodedev, vp_error *err);
} vp_virt_ops;

/* AFFECT bits of the change ops (equal to VP_AFFECT_* of src/plan/plan.h). */
#define VP_VIRT_AFFECT_CURRENT 0u
#define VP_VIRT_AFFECT_LIVE 1u
#define VP_VIRT_AFFECT_CONFIG 2u

struct vp_virt {
    const vp_virt_ops *ops;
    char *uri;        /* the URI libvirt reports after connecting */
    bool local;       /* the driver runs on this machine (no remote transport host) */
    bool has_nodedev; /* the connection answers the node-device API */
    /* A node device's XML names its bound driver, so no <driver> means none. Not so on
     * libvirt's test driver: it reads the driver link from this machine's sysfs at each call
     * (virNodeDeviceUpdateDriverName), where its fake devices have none. */
    bool reports_drivers;
    bool readonly;
    void *priv; /* the implementation's state */
};

/* Open URI (NULL: $LIBVIRT_DEFAULT_URI, then libvirt's default, as virsh does). READONLY for
 * read commands. -1 with ERR (VP_E_CONNECT) naming the URI and libvirt's reason. */
/* True when URI names a driver managing this machine: local, and not libvirt's test driver
 * (which describes a made-up host). False for NULL (libvirt's default: not known before
 * connecting). */
bool vp_virt_uri_is_this_machine(const char *uri);

/* True when opening URI only connects to a daemon's socket, so another thread may go on
 * meanwhile. False when libvirt may fork in this process to open it: the ssh and ext
 * transports run a program, a session URI may start its daemon, the embedded driver runs
 * helper programs (a child forked while another thread holds an allocator lock can hang in
 * it: AddressSanitizer's allocator did), and for NULL (libvirt's default, not known yet). */
bool vp_virt_uri_opens_without_fork(const char *uri);

int vp_virt_open(const char *uri, bool readonly, vp_virt **ret, vp_error *err);

/* Close and free; accepts NULL. */
void vp_virt_free(vp_virt *v);
VP_DEFINE_AUTOPTR(vp_virt, vp_virt_free)
