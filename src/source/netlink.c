/* The netlink seam's real implementation: a PF's VF list (IFLA_VFINFO_LIST) and VF trust and
 * spoofchk changes through libnl-route-3 (netlink/route/link/sriov.h), plus MAC helpers. */
#include "netlink.h"

#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>
#include <netlink/route/rtnl.h>

#include "../util/str.h"

/* A PCI function has at most 65535 VFs (SR-IOV TotalVFs is 16 bits, PCIe 9.3.3.6). */
#define VF_MAX 65536

char *
vp_mac_format(const uint8_t mac[6], char buf[18])
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
    return buf;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
vp_mac_parse(const char *s, uint8_t ret[6])
{
    uint8_t mac[6];

    if (!s || strlen(s) != 17)
        return -1;
    for (size_t i = 0; i < 6; i++) {
        int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

        if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(ret, mac, sizeof(mac));
    return 0;
}

const char *
vp_vf_link_state_name(vp_vf_link_state s)
{
    switch (s) {
    case VP_VF_LINK_AUTO:
        return "auto";
    case VP_VF_LINK_ENABLE:
        return "enable";
    case VP_VF_LINK_DISABLE:
        return "disable";
    case VP_VF_LINK_UNKNOWN:
        break;
    }
    return "unknown";
}

static int
vf_cmp(const void *a, const void *b)
{
    const vp_vf_info *x = a, *y = b;

    return x->index < y->index ? -1 : x->index > y->index;
}

/* One VF object as libnl parsed it (lib/route/link/sriov.c, rtnl_link_sriov_parse_vflist). */
static void
vf_from_object(struct rtnl_link_vf *vf, unsigned index, vp_vf_info *v)
{
    struct nl_addr *addr = NULL;
    nl_vf_vlans_t *vlans = NULL;
    uint32_t u;

    memset(v, 0, sizeof(*v));
    v->index = index;
    v->spoofchk = VP_VF_UNKNOWN;
    v->trust = VP_VF_UNKNOWN;
    v->link_state = VP_VF_LINK_UNKNOWN;
    /* The pointer stays the VF object's (no reference taken). */
    if (rtnl_link_vf_get_addr(vf, &addr) == 0 && addr && nl_addr_get_len(addr) >= 6) {
        memcpy(v->mac, nl_addr_get_binary_addr(addr), 6);
        v->has_mac = true;
    }
    /* get_vlans takes a reference: give it back. */
    if (rtnl_link_vf_get_vlans(vf, &vlans) == 0 && vlans) {
        if (vlans->size > 0) {
            v->vlan = vlans->vlans[0].vf_vlan;
            v->qos = vlans->vlans[0].vf_vlan_qos;
        }
        rtnl_link_vf_vlan_put(vlans);
    }
    if (rtnl_link_vf_get_spoofchk(vf, &u) == 0)
        v->spoofchk = u ? VP_VF_ON : VP_VF_OFF;
    if (rtnl_link_vf_get_trust(vf, &u) == 0)
        v->trust = u ? VP_VF_ON : VP_VF_OFF;
    /* IFLA_VF_LINK_STATE_AUTO/ENABLE/DISABLE (include/uapi/linux/if_link.h). */
    if (rtnl_link_vf_get_linkstate(vf, &u) == 0 && u <= IFLA_VF_LINK_STATE_DISABLE)
        v->link_state = (vp_vf_link_state)u;
}

void
vp_netlink_vfs_from_link(struct rtnl_link *link, vp_vf_info **ret, size_t *ret_n)
{
    vp_vf_info *vfs = NULL;
    size_t n = 0;
    uint32_t num = 0;

    *ret = NULL;
    *ret_n = 0;
    /* rtnl_link_vf_get walks the list without checking it exists. */
    if (!link || !rtnl_link_has_vf_list(link) || rtnl_link_get_num_vf(link, &num) < 0 || !num)
        return;
    if (num > VF_MAX)
        num = VF_MAX;
    vfs = vp_malloc0(num * sizeof(*vfs));
    for (uint32_t i = 0; i < num; i++) {
        struct rtnl_link_vf *vf = rtnl_link_vf_get(link, i);

        if (!vf)
            continue;
        vf_from_object(vf, i, &vfs[n++]);
        rtnl_link_vf_put(vf);
    }
    if (n > 1)
        qsort(vfs, n, sizeof(*vfs), vf_cmp);
    if (!n) {
        free(vfs);
        vfs = NULL;
    }
    *ret = vfs;
    *ret_n = n;
}

/* A link object carrying only VF's settings (what a change request sends). */
static struct rtnl_link *
vf_change(unsigned vf, int trust, int spoofchk)
{
    struct rtnl_link *changes = rtnl_link_alloc();
    struct rtnl_link_vf *v = rtnl_link_vf_alloc();

    if (!changes || !v)
        abort(); /* out of memory: vp_malloc0's policy */
    rtnl_link_vf_set_index(v, vf);
    if (trust != VP_VF_UNKNOWN)
        rtnl_link_vf_set_trust(v, trust == VP_VF_ON);
    if (spoofchk != VP_VF_UNKNOWN)
        rtnl_link_vf_set_spoofchk(v, spoofchk == VP_VF_ON);
    if (rtnl_link_vf_add(changes, v) < 0)
        abort();
    rtnl_link_vf_put(v); /* the link holds its own reference now */
    return changes;
}

int
vp_netlink_build_set_vf(int ifindex, unsigned vf, int trust, int spoofchk, struct nl_msg **ret,
                        vp_error *err)
{
    struct rtnl_link *orig = rtnl_link_alloc();
    struct rtnl_link *changes = vf_change(vf, trust, spoofchk);
    struct nl_msg *msg = NULL;
    int r;

    if (!orig)
        abort();
    rtnl_link_set_ifindex(orig, ifindex);
    r = rtnl_link_build_change_request(orig, changes, 0, &msg);
    rtnl_link_put(orig);
    rtnl_link_put(changes);
    if (r < 0)
        return vp_error_set(err, VP_E_SYSTEM, "VF %u: cannot build the netlink request: %s", vf,
                            nl_geterror(r));
    /* RTM_SETLINK, as `ip link set ... vf N trust on` means it: change an existing link, never
     * create one (libnl builds RTM_NEWLINK for links it may create). */
    nlmsg_hdr(msg)->nlmsg_type = RTM_SETLINK;
    *ret = msg;
    return 0;
}

typedef struct {
    struct nl_sock *sk;
} real_priv;

/* The link PF from the kernel (RTM_GETLINK with RTEXT_FILTER_VF, which libnl >= 3.5 sends). */
static int
get_link(real_priv *p, const char *pf, struct rtnl_link **ret, vp_error *err)
{
    int r = rtnl_link_get_kernel(p->sk, 0, pf, ret);

    if (r == -NLE_OBJ_NOTFOUND || r == -NLE_NODEV)
        return vp_error_set(err, VP_E_NOTFOUND, "%s: no such network interface", pf);
    if (r < 0)
        return vp_error_set(err, VP_E_SYSTEM, "%s: cannot read the link through netlink: %s", pf,
                            nl_geterror(r));
    return 0;
}

static int
real_pf_vfs(vp_netlink *nl, const char *pf, vp_vf_info **ret, size_t *ret_n, vp_error *err)
{
    struct rtnl_link *link = NULL;

    if (get_link(nl->priv, pf, &link, err) < 0)
        return -1;
    vp_netlink_vfs_from_link(link, ret, ret_n);
    rtnl_link_put(link);
    return 0;
}

static int
real_set_vf(vp_netlink *nl, const char *pf, unsigned vf, int trust, int spoofchk, vp_error *err)
{
    real_priv *p = nl->priv;
    struct rtnl_link *link = NULL;
    struct nl_msg *msg = NULL;
    int ifindex, r;

    if (get_link(p, pf, &link, err) < 0)
        return -1;
    ifindex = rtnl_link_get_ifindex(link);
    rtnl_link_put(link);
    if (vp_netlink_build_set_vf(ifindex, vf, trust, spoofchk, &msg, err) < 0)
        return vp_error_prefix(err, "%s", pf);
    /* Sends, waits for the kernel's acknowledgement and frees MSG. */
    r = nl_send_sync(p->sk, msg);
    if (r == -NLE_OPNOTSUPP)
        return vp_error_set(err, VP_E_UNSUPPORTED,
                            "%s: VF %u: the driver cannot set trust or spoofchk", pf, vf);
    if (r < 0)
        return vp_error_set(err, VP_E_SYSTEM, "%s: VF %u: cannot set trust/spoofchk: %s", pf, vf,
                            nl_geterror(r));
    return 0;
}

static void
real_close(vp_netlink *nl)
{
    real_priv *p = nl->priv;

    if (p) {
        nl_socket_free(p->sk);
        free(p);
    }
}

static const vp_netlink_ops real_ops = {
    .pf_vfs = real_pf_vfs,
    .set_vf = real_set_vf,
    .close = real_close,
};

int
vp_netlink_open(vp_netlink **ret, vp_error *err)
{
    real_priv *p = vp_malloc0(sizeof(*p));
    vp_netlink *nl;
    int r;

    p->sk = nl_socket_alloc();
    if (!p->sk)
        abort();
    /* A PF with many VFs answers with a message larger than libnl's default buffer
     * (iproute2's "Message truncated"): let libnl peek at each message's size first. */
    nl_socket_enable_msg_peek(p->sk);
    r = nl_connect(p->sk, NETLINK_ROUTE);
    if (r < 0) {
        nl_socket_free(p->sk);
        free(p);
        return vp_error_set(err, VP_E_SYSTEM, "netlink: cannot open a route socket: %s",
                            nl_geterror(r));
    }
    nl = vp_malloc0(sizeof(*nl));
    nl->ops = &real_ops;
    nl->priv = p;
    *ret = nl;
    return 0;
}

void
vp_netlink_free(vp_netlink *nl)
{
    if (!nl)
        return;
    if (nl->ops && nl->ops->close)
        nl->ops->close(nl);
    free(nl);
}
