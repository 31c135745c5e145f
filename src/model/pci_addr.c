/* PCI addresses: parsing, formatting, ordering. */
#include "pci_addr.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../util/str.h"

/* Parse exactly N hex digits (N==0: 1..8 digits) from *P, advancing it. */
static bool
parse_hex(const char **p, int min, int max, uint32_t *ret)
{
    uint32_t v = 0;
    int n = 0;

    while (isxdigit((unsigned char)**p) && n < max) {
        char c = (char)tolower((unsigned char)**p);

        v = v * 16 + (uint32_t)(isdigit((unsigned char)c) ? c - '0' : c - 'a' + 10);
        (*p)++;
        n++;
    }
    if (n < min || isxdigit((unsigned char)**p))
        return false;
    *ret = v;
    return true;
}

static bool
parse_sep_form(const char *s, char sep1, char sep2, vp_pci_addr *ret)
{
    const char *p = s;
    uint32_t dom = 0, bus, slot, func;
    const char *colon2 = NULL;

    /* Two separators before the function mean a domain is present. */
    for (const char *q = s; *q; q++)
        if (*q == sep1 && strchr(q + 1, sep1))
            colon2 = q;
    if (colon2 && !parse_hex(&p, 1, 8, &dom))
        return false;
    if (colon2 && *p++ != sep1)
        return false;
    if (!parse_hex(&p, 1, 2, &bus) || *p++ != sep1)
        return false;
    if (!parse_hex(&p, 1, 2, &slot) || *p++ != sep2)
        return false;
    if (!parse_hex(&p, 1, 1, &func) || *p != '\0')
        return false;
    if (slot > 0x1f || func > 7)
        return false;
    ret->domain = dom;
    ret->bus = (uint8_t)bus;
    ret->slot = (uint8_t)slot;
    ret->func = (uint8_t)func;
    return true;
}

static bool
parse_any(const char *s, vp_pci_addr *ret)
{
    if (!s)
        return false;
    if (vp_startswith(s, "pci_")) {
        /* pci_dddd_bb_ss_f: libvirt always writes the domain. */
        const char *p = s + 4;
        uint32_t dom, bus, slot, func;

        if (!parse_hex(&p, 4, 8, &dom) || *p++ != '_' || !parse_hex(&p, 2, 2, &bus) ||
            *p++ != '_' || !parse_hex(&p, 2, 2, &slot) || *p++ != '_' ||
            !parse_hex(&p, 1, 1, &func) || *p != '\0' || slot > 0x1f || func > 7)
            return false;
        ret->domain = dom;
        ret->bus = (uint8_t)bus;
        ret->slot = (uint8_t)slot;
        ret->func = (uint8_t)func;
        return true;
    }
    return parse_sep_form(s, ':', '.', ret);
}

bool
vp_pci_addr_looks_like(const char *s)
{
    vp_pci_addr a;

    return parse_any(s, &a);
}

int
vp_pci_addr_parse(const char *s, vp_pci_addr *ret, vp_error *err)
{
    vp_pci_addr a;

    if (!parse_any(s, &a))
        return vp_error_set(
            err, VP_E_USAGE,
            "'%s': not a PCI address (expected 0000:18:00.0, 18:00.0 or pci_0000_18_00_0; slot 00-1f, function 0-7)",
            s ? s : "");
    *ret = a;
    return 0;
}

char *
vp_pci_addr_format(const vp_pci_addr *a, char buf[VP_PCI_ADDR_STRLEN])
{
    snprintf(buf, VP_PCI_ADDR_STRLEN, "%04x:%02x:%02x.%x", a->domain, a->bus, a->slot, a->func);
    return buf;
}

char *
vp_pci_addr_nodedev_name(const vp_pci_addr *a)
{
    return vp_asprintf("pci_%04x_%02x_%02x_%x", a->domain, a->bus, a->slot, a->func);
}

int
vp_pci_addr_cmp(const vp_pci_addr *a, const vp_pci_addr *b)
{
    if (a->domain != b->domain)
        return a->domain < b->domain ? -1 : 1;
    if (a->bus != b->bus)
        return a->bus < b->bus ? -1 : 1;
    if (a->slot != b->slot)
        return a->slot < b->slot ? -1 : 1;
    if (a->func != b->func)
        return a->func < b->func ? -1 : 1;
    return 0;
}

bool
vp_pci_addr_eq(const vp_pci_addr *a, const vp_pci_addr *b)
{
    return vp_pci_addr_cmp(a, b) == 0;
}

bool
vp_pci_addr_same_slot(const vp_pci_addr *a, const vp_pci_addr *b)
{
    return a->domain == b->domain && a->bus == b->bus && a->slot == b->slot;
}
