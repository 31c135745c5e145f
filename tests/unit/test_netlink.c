/* Unit tests for src/source/netlink.c: libnl's parse of a PF's RTM_NEWLINK (IFLA_VFINFO_LIST)
 * into vp_vf_info, the RTM_SETLINK request for trust/spoofchk, MAC helpers, and the real seam
 * read-only on this machine (loopback, an absent interface). Nothing here writes to a real
 * interface: the write path is checked on the request it builds. */
#include "vp_test.h"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/object.h>
#include <netlink/route/link.h>

#include "source/netlink.h"
#include "util/str.h"

/* ---- a PF's RTM_NEWLINK as the kernel sends it (net/core/rtnetlink.c, rtnl_fill_vfinfo) ---- */

typedef struct {
    unsigned index;
    uint8_t mac[6];
    unsigned vlan, qos;
    uint32_t spoofchk; /* (uint32_t)-1: the driver does not report it */
    uint32_t link_state;
    bool has_trust;
    uint32_t trust;
} kvf;

static void
put_vf(struct nl_msg *m, const kvf *v)
{
    struct nlattr *info = nla_nest_start(m, IFLA_VF_INFO);
    struct ifla_vf_mac mac = {.vf = v->index};
    struct ifla_vf_vlan vlan = {.vf = v->index, .vlan = v->vlan, .qos = v->qos};
    struct ifla_vf_spoofchk sp = {.vf = v->index, .setting = v->spoofchk};
    struct ifla_vf_link_state ls = {.vf = v->index, .link_state = v->link_state};
    struct ifla_vf_trust tr = {.vf = v->index, .setting = v->trust};

    assert_non_null(info);
    memcpy(mac.mac, v->mac, 6);
    assert_int_equal(nla_put(m, IFLA_VF_MAC, sizeof(mac), &mac), 0);
    assert_int_equal(nla_put(m, IFLA_VF_VLAN, sizeof(vlan), &vlan), 0);
    assert_int_equal(nla_put(m, IFLA_VF_SPOOFCHK, sizeof(sp), &sp), 0);
    assert_int_equal(nla_put(m, IFLA_VF_LINK_STATE, sizeof(ls), &ls), 0);
    if (v->has_trust)
        assert_int_equal(nla_put(m, IFLA_VF_TRUST, sizeof(tr), &tr), 0);
    nla_nest_end(m, info);
}

static struct nl_msg *
newlink(const char *name, const kvf *vfs, size_t n, bool with_list)
{
    struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, 0);
    struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 7};

    assert_non_null(m);
    nlmsg_set_proto(m, NETLINK_ROUTE);
    assert_int_equal(nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO), 0);
    assert_int_equal(nla_put_string(m, IFLA_IFNAME, name), 0);
    assert_int_equal(nla_put_u32(m, IFLA_NUM_VF, (uint32_t)n), 0);
    if (with_list) {
        struct nlattr *list = nla_nest_start(m, IFLA_VFINFO_LIST);

        for (size_t i = 0; i < n; i++)
            put_vf(m, &vfs[i]);
        nla_nest_end(m, list);
    }
    return m;
}

typedef struct {
    vp_vf_info *vfs;
    size_t n;
    int calls;
} parsed;

static void
on_link(struct nl_object *obj, void *arg)
{
    parsed *p = arg;

    p->calls++;
    vp_netlink_vfs_from_link((struct rtnl_link *)obj, &p->vfs, &p->n);
}

static void
test_vfs_from_newlink(void **state)
{
    const kvf vfs[] = {
        {.index = 0,
         .mac = {0x52, 0x54, 0x00, 0x6b, 0x3c, 0x01},
         .vlan = 42,
         .qos = 3,
         .spoofchk = 1,
         .link_state = IFLA_VF_LINK_STATE_AUTO,
         .has_trust = true,
         .trust = 0},
        {.index = 1,
         .mac = {0},
         .vlan = 0,
         .spoofchk = 0,
         .link_state = IFLA_VF_LINK_STATE_DISABLE,
         .has_trust = true,
         .trust = 1},
        /* An old driver: no spoofchk (-1), no IFLA_VF_TRUST (Linux < 4.4). */
        {.index = 2,
         .mac = {0x02, 0, 0, 0, 0, 0x02},
         .vlan = 100,
         .spoofchk = UINT32_MAX,
         .link_state = IFLA_VF_LINK_STATE_ENABLE,
         .has_trust = false},
    };
    struct nl_msg *m = newlink("enp4s0", vfs, 3, true);
    parsed p = {0};
    char buf[18];

    (void)state;
    assert_int_equal(nl_msg_parse(m, on_link, &p), 0);
    nlmsg_free(m);
    assert_int_equal(p.calls, 1);
    assert_int_equal(p.n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(p.vfs[i].index, i);

    assert_true(p.vfs[0].has_mac);
    assert_string_equal(vp_mac_format(p.vfs[0].mac, buf), "52:54:00:6b:3c:01");
    assert_int_equal(p.vfs[0].vlan, 42);
    assert_int_equal(p.vfs[0].qos, 3);
    assert_int_equal(p.vfs[0].spoofchk, VP_VF_ON);
    assert_int_equal(p.vfs[0].trust, VP_VF_OFF);
    assert_int_equal(p.vfs[0].link_state, VP_VF_LINK_AUTO);

    assert_string_equal(vp_mac_format(p.vfs[1].mac, buf), "00:00:00:00:00:00");
    assert_int_equal(p.vfs[1].vlan, 0);
    assert_int_equal(p.vfs[1].spoofchk, VP_VF_OFF);
    assert_int_equal(p.vfs[1].trust, VP_VF_ON);
    assert_int_equal(p.vfs[1].link_state, VP_VF_LINK_DISABLE);
    assert_string_equal(vp_vf_link_state_name(p.vfs[1].link_state), "disable");

    assert_int_equal(p.vfs[2].vlan, 100);
    assert_int_equal(p.vfs[2].spoofchk, VP_VF_UNKNOWN);
    assert_int_equal(p.vfs[2].trust, VP_VF_UNKNOWN);
    assert_int_equal(p.vfs[2].link_state, VP_VF_LINK_ENABLE);
    free(p.vfs);
}

static void
test_link_without_vf_list(void **state)
{
    /* IFLA_NUM_VF without IFLA_VFINFO_LIST (asked without RTEXT_FILTER_VF): no VF, no crash
     * in libnl's list walk. */
    const kvf vfs[] = {{.index = 0}};
    struct nl_msg *m = newlink("enp4s0", vfs, 1, false);
    parsed p = {0};

    (void)state;
    assert_int_equal(nl_msg_parse(m, on_link, &p), 0);
    nlmsg_free(m);
    assert_int_equal(p.calls, 1);
    assert_int_equal(p.n, 0);
    assert_null(p.vfs);

    vp_netlink_vfs_from_link(NULL, &p.vfs, &p.n);
    assert_int_equal(p.n, 0);
}

/* The setting ATTR (IFLA_VF_TRUST or IFLA_VF_SPOOFCHK) of the one IFLA_VF_INFO in M; false when
 * absent. */
static bool
request_setting(struct nl_msg *m, int attr, uint32_t *ret_vf, uint32_t *ret_setting)
{
    struct nlmsghdr *h = nlmsg_hdr(m);
    struct nlattr *list = nlmsg_find_attr(h, sizeof(struct ifinfomsg), IFLA_VFINFO_LIST);
    struct nlattr *info, *a;

    assert_non_null(list);
    info = nla_find(nla_data(list), nla_len(list), IFLA_VF_INFO);
    assert_non_null(info);
    a = nla_find(nla_data(info), nla_len(info), attr);
    if (!a)
        return false;
    assert_int_equal(nla_len(a), 8); /* struct ifla_vf_trust / ifla_vf_spoofchk */
    memcpy(ret_vf, nla_data(a), 4);
    memcpy(ret_setting, (char *)nla_data(a) + 4, 4);
    return true;
}

static void
test_set_vf_request(void **state)
{
    struct nl_msg *m = NULL;
    struct ifinfomsg *ifi;
    vp_error err = {0};
    uint32_t vf = 99, setting = 99;

    (void)state;
    assert_int_equal(vp_netlink_build_set_vf(7, 3, VP_VF_ON, VP_VF_OFF, &m, &err), 0);
    /* RTM_SETLINK on the PF's index: change a link, never create one. */
    assert_int_equal(nlmsg_hdr(m)->nlmsg_type, RTM_SETLINK);
    ifi = nlmsg_data(nlmsg_hdr(m));
    assert_int_equal(ifi->ifi_index, 7);
    assert_true(request_setting(m, IFLA_VF_TRUST, &vf, &setting));
    assert_int_equal(vf, 3);
    assert_int_equal(setting, 1);
    assert_true(request_setting(m, IFLA_VF_SPOOFCHK, &vf, &setting));
    assert_int_equal(vf, 3);
    assert_int_equal(setting, 0);
    /* Nothing else of the VF is sent: its MAC and VLAN stay libvirt's. */
    assert_false(request_setting(m, IFLA_VF_MAC, &vf, &setting));
    assert_false(request_setting(m, IFLA_VF_VLAN, &vf, &setting));
    nlmsg_free(m);

    /* A setting left alone is not in the request. */
    assert_int_equal(vp_netlink_build_set_vf(7, 0, VP_VF_UNKNOWN, VP_VF_ON, &m, &err), 0);
    assert_false(request_setting(m, IFLA_VF_TRUST, &vf, &setting));
    assert_true(request_setting(m, IFLA_VF_SPOOFCHK, &vf, &setting));
    assert_int_equal(vf, 0);
    assert_int_equal(setting, 1);
    nlmsg_free(m);
}

static void
test_mac(void **state)
{
    uint8_t m[6];
    char buf[18];

    (void)state;
    assert_int_equal(vp_mac_parse("52:54:00:AB:cd:0f", m), 0);
    assert_string_equal(vp_mac_format(m, buf), "52:54:00:ab:cd:0f");
    assert_int_equal(vp_mac_parse("52:54:00:ab:cd", m), -1);
    assert_int_equal(vp_mac_parse("52:54:00:ab:cd:0g", m), -1);
    assert_int_equal(vp_mac_parse("52-54-00-ab-cd-0f", m), -1);
    assert_int_equal(vp_mac_parse("52:54:00:ab:cd:0f:", m), -1);
    assert_int_equal(vp_mac_parse(NULL, m), -1);
}

/* The real seam, reading only: the loopback has no VF, an absent interface is not found. */
static void
test_real_read_only(void **state)
{
    vp_netlink *nl = NULL;
    vp_vf_info *vfs = NULL;
    size_t n = 99;
    vp_error err = {0};

    (void)state;
    assert_int_equal(vp_netlink_open(&nl, &err), 0);
    assert_int_equal(nl->ops->pf_vfs(nl, "lo", &vfs, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(vfs);
    assert_int_equal(nl->ops->pf_vfs(nl, "vpass-none0", &vfs, &n, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "vpass-none0: no such network interface"));
    vp_netlink_free(nl);
    vp_netlink_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vfs_from_newlink), cmocka_unit_test(test_link_without_vf_list),
        cmocka_unit_test(test_set_vf_request),   cmocka_unit_test(test_mac),
        cmocka_unit_test(test_real_read_only),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
