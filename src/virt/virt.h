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

typedef struct {
    /* Every PCI node device (VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV) with its XML. */
    int (*list_pci_devices)(vp_virt *v, vp_virt_xml **ret, size_t *ret_n, vp_error *err);
    /* Every net node device (children of PCI devices name their parent). */
    int (*list_net_devices)(vp_virt *v, vp_virt_xml **ret, size_t *ret_n, vp_error *err);
    /* Every domain, running and defined, with live and persistent XML. */
    int (*list_domains)(vp_virt *v, vp_virt_domain **ret, size_t *ret_n, vp_error *err);
    void (*close)(vp_virt *v);
} vp_virt_ops;

struct vp_virt {
    const vp_virt_ops *ops;
    char *uri;           /* the URI libvirt reports after connecting */
    bool local;          /* the driver runs on this machine (no remote transport host) */
    bool has_nodedev;    /* the connection answers the node-device API */
    bool readonly;
    void *priv;          /* the implementation's state */
};

/* Open URI (NULL: $LIBVIRT_DEFAULT_URI, then libvirt's default, as virsh does). READONLY for
 * read commands. -1 with ERR (VP_E_CONNECT) naming the URI and libvirt's reason. */
int vp_virt_open(const char *uri, bool readonly, vp_virt **ret, vp_error *err);

/* Close and free; accepts NULL. */
void vp_virt_free(vp_virt *v);
VP_DEFINE_AUTOPTR(vp_virt, vp_virt_free)
