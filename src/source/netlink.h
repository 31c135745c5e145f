/* The netlink seam: what a PF's driver reports about its VFs (IFLA_VFINFO_LIST) and the VF
 * settings vpass changes on the PF (trust, spoofchk), behind a table of functions so tests
 * substitute a fake. The real one (libnl-route-3) is opened only for this machine's "/": it
 * talks to the kernel the tests run on. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"
#include "../util/macro.h"

/* IFNAMSIZ of <net/if.h>: interface names are at most 15 bytes. */
#define VP_IFNAME_MAX 16

/* A tristate of the VF's settings: unknown (the driver did not report it), off, on. */
enum {
    VP_VF_UNKNOWN = -1,
    VP_VF_OFF = 0,
    VP_VF_ON = 1,
};

/* IFLA_VF_LINK_STATE values (include/uapi/linux/if_link.h). */
typedef enum {
    VP_VF_LINK_UNKNOWN = -1,
    VP_VF_LINK_AUTO = 0,    /* follows the PF's link */
    VP_VF_LINK_ENABLE = 1,  /* forced up */
    VP_VF_LINK_DISABLE = 2, /* forced down */
} vp_vf_link_state;

/* One VF as its PF's driver reports it (struct ifla_vf_info, what `ip link show PF` prints). */
typedef struct {
    unsigned index; /* VF number on the PF (virtfnN) */
    bool has_mac;
    uint8_t mac[6]; /* all zero: none set (the VF's driver picks one) */
    unsigned vlan;  /* 0: none */
    unsigned qos;
    int spoofchk; /* VP_VF_UNKNOWN, VP_VF_OFF, VP_VF_ON */
    int trust;    /* likewise; drivers before Linux 4.4 do not report it */
    vp_vf_link_state link_state;
} vp_vf_info;

typedef struct vp_netlink vp_netlink;

typedef struct {
    /* The VFs PF reports (by interface name), in index order (*RET allocated, NULL when none).
     * -1 with ERR: VP_E_NOTFOUND when there is no interface PF, VP_E_SYSTEM otherwise. */
    int (*pf_vfs)(vp_netlink *nl, const char *pf, vp_vf_info **ret, size_t *ret_n, vp_error *err);
    /* Set VF's trust and spoofchk on PF (VP_VF_UNKNOWN leaves one as it is), as
     * `ip link set dev PF vf VF trust on spoofchk off` does (RTM_SETLINK, IFLA_VFINFO_LIST).
     * -1 with ERR naming the PF and VF: VP_E_UNSUPPORTED when the driver has no such
     * setting (EOPNOTSUPP), VP_E_SYSTEM otherwise. */
    int (*set_vf)(vp_netlink *nl, const char *pf, unsigned vf, int trust, int spoofchk,
                  vp_error *err);
    void (*close)(vp_netlink *nl);
} vp_netlink_ops;

struct vp_netlink {
    const vp_netlink_ops *ops;
    void *priv; /* the implementation's state */
};

/* Open the real seam: a NETLINK_ROUTE socket through libnl-route-3 in this process's network
 * namespace. Only for a host read from "/" (the CLI decides). -1 with ERR (VP_E_SYSTEM). */
int vp_netlink_open(vp_netlink **ret, vp_error *err);

/* Close and free; accepts NULL. */
void vp_netlink_free(vp_netlink *nl);
VP_DEFINE_AUTOPTR(vp_netlink, vp_netlink_free)

/* "aa:bb:cc:dd:ee:ff" into BUF (18 bytes); returns BUF. */
char *vp_mac_format(const uint8_t mac[6], char buf[18]);

/* Parse "aa:bb:cc:dd:ee:ff" (either case, two hex digits per byte): 0, or -1 when malformed. */
int vp_mac_parse(const char *s, uint8_t ret[6]);

/* "auto", "enable", "disable", "unknown". */
const char *vp_vf_link_state_name(vp_vf_link_state s);

/* The pieces of the real seam that need no kernel, for tests (libnl types stay opaque). */
struct rtnl_link;
struct nl_msg;

/* The VFs of LINK, a link object libnl parsed from RTM_NEWLINK (IFLA_VFINFO_LIST), in index
 * order (*RET allocated, NULL when none). */
void vp_netlink_vfs_from_link(struct rtnl_link *link, vp_vf_info **ret, size_t *ret_n);

/* The RTM_SETLINK request that sets VF's trust and spoofchk (VP_VF_UNKNOWN: left out) on the
 * interface with index IFINDEX (*RET freed with nlmsg_free). -1 with ERR when libnl fails. */
int vp_netlink_build_set_vf(int ifindex, unsigned vf, int trust, int spoofchk, struct nl_msg **ret,
                            vp_error *err);
