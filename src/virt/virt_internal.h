/* Internals shared by the files of src/virt (never included elsewhere). */
#pragma once

#include <libvirt/libvirt.h>
#include <stdbool.h>

#include "virt.h"

/* libvirt's last error message, never NULL. */
const char *vp_virt_last_error(void);

/* The last error means "this driver has no such API". */
bool vp_virt_last_error_is_unsupported(void);

static inline virConnectPtr
vp_virt_conn(vp_virt *v)
{
    return v->priv;
}

/* The read ops (virt_list.c). */
int vp_virt_real_list_pci_devices(vp_virt *v, const vp_virt_filter *f, vp_virt_xml **ret,
                                  size_t *ret_n, vp_error *err);
int vp_virt_real_list_net_devices(vp_virt *v, const vp_virt_filter *f, vp_virt_xml **ret,
                                  size_t *ret_n, vp_error *err);
int vp_virt_real_list_domains(vp_virt *v, vp_virt_domain **ret, size_t *ret_n, vp_error *err);

/* The change ops (virt_change.c). */
int vp_virt_real_get_domain_xml(vp_virt *v, const char *domain, bool inactive, char **ret_xml,
                                vp_error *err);
int vp_virt_real_domain_state(vp_virt *v, const char *domain, bool *ret_running,
                              bool *ret_persistent, vp_error *err);
int vp_virt_real_attach_device(vp_virt *v, const char *domain, const char *xml, unsigned affect,
                               vp_error *err);
int vp_virt_real_detach_device(vp_virt *v, const char *domain, const char *xml, unsigned affect,
                               vp_error *err);
int vp_virt_real_define_xml(vp_virt *v, const char *xml, vp_error *err);
int vp_virt_real_set_metadata(vp_virt *v, const char *domain, const char *xml, const char *ns_uri,
                              const char *prefix, unsigned affect, vp_error *err);
int vp_virt_real_nodedev_detach(vp_virt *v, const char *nodedev, const char *driver, vp_error *err);
int vp_virt_real_nodedev_reattach(vp_virt *v, const char *nodedev, vp_error *err);
