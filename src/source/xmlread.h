/* Reading libvirt's XML with libxml2's tree API: safe parsing, element walks, libvirt numbers. */
#pragma once

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "../model/pci_addr.h"
#include "../util/error.h"
#include "../util/str.h"

/* Options for every document vpass reads: no network, never entity substitution or external DTD
 * loading (XML_PARSE_NOENT/DTDLOAD stay off), and libxml2 reports errors to us, not stderr. */
#define VP_XML_PARSE_OPTIONS                                                                       \
    (XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

static inline void
vp_xml_doc_freep(xmlDoc **p)
{
    xmlFreeDoc(*p);
}
#define vp_autoxmldoc __attribute__((cleanup(vp_xml_doc_freep))) xmlDoc *

/* Parse XML (NUL-terminated) into *RET_DOC (freed with xmlFreeDoc). WHAT names the document
 * kind for messages ("node device XML"). -1 with ERR (VP_E_DATA) for NULL, empty, malformed
 * input or a document with a DOCTYPE: libvirt never writes one, and refusing it keeps entity
 * expansion (billion laughs) out of every later text read. */
static inline int
vp_xml_parse(const char *xml, const char *what, xmlDoc **ret_doc, vp_error *err)
{
    xmlParserCtxt *ctxt;
    xmlDoc *doc;
    size_t len;

    if (!xml)
        return vp_error_set(err, VP_E_DATA, "no %s (libvirt returned nothing)", what);
    len = strlen(xml);
    while (len > 0 && isspace((unsigned char)xml[len - 1]))
        len--;
    if (len == 0)
        return vp_error_set(err, VP_E_DATA, "empty %s", what);
    if (len > INT_MAX)
        return vp_error_set(err, VP_E_DATA, "%s is too large (%zu bytes)", what, len);
    ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return vp_error_set(err, VP_E_NOMEM, "cannot allocate an XML parser");
    doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, NULL, VP_XML_PARSE_OPTIONS);
    if (!doc) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[256];
        size_t n;

        snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "unknown error");
        n = strlen(msg);
        while (n > 0 && isspace((unsigned char)msg[n - 1]))
            msg[--n] = '\0';
        vp_error_set(err, VP_E_DATA, "malformed %s (line %d: %s)", what, e ? e->line : 0, msg);
        xmlFreeParserCtxt(ctxt);
        return -1;
    }
    xmlFreeParserCtxt(ctxt);
    if (doc->intSubset || doc->extSubset) {
        xmlFreeDoc(doc);
        return vp_error_set(err, VP_E_DATA, "%s has a DOCTYPE, which libvirt never writes", what);
    }
    if (!xmlDocGetRootElement(doc)) {
        xmlFreeDoc(doc);
        return vp_error_set(err, VP_E_DATA, "%s has no root element", what);
    }
    *ret_doc = doc;
    return 0;
}

/* True when NODE is an element called NAME (no namespace check: libvirt uses none). */
static inline bool
vp_xml_is(const xmlNode *node, const char *name)
{
    return node && node->type == XML_ELEMENT_NODE && strcmp((const char *)node->name, name) == 0;
}

/* The next element sibling from NODE on (NODE included) called NAME (any element if NULL). */
static inline xmlNode *
vp_xml_next(xmlNode *node, const char *name)
{
    for (; node; node = node->next)
        if (node->type == XML_ELEMENT_NODE && (!name || vp_xml_is(node, name)))
            return node;
    return NULL;
}

/* The first child element of PARENT called NAME, NULL if none. */
static inline xmlNode *
vp_xml_child(const xmlNode *parent, const char *name)
{
    return parent ? vp_xml_next(parent->children, name) : NULL;
}

/* The next sibling element after NODE with the same NAME. */
static inline xmlNode *
vp_xml_next_sibling(const xmlNode *node, const char *name)
{
    return vp_xml_next(node->next, name);
}

/* Attribute NAME of NODE as an allocated string (free()), NULL when absent. */
static inline char *
vp_xml_prop(const xmlNode *node, const char *name)
{
    xmlChar *v = xmlGetProp(node, (const xmlChar *)name);
    char *s = vp_strdup((const char *)v);

    xmlFree(v);
    return s;
}

/* Text of NODE, surrounding whitespace removed, allocated; NULL for a NULL node. Safe: a
 * document with entity declarations never gets here (vp_xml_parse refuses a DOCTYPE). */
static inline char *
vp_xml_text(const xmlNode *node)
{
    xmlChar *v;
    const char *p;
    char *s;

    if (!node)
        return NULL;
    v = xmlNodeGetContent(node);
    if (!v)
        return vp_strdup("");
    p = (const char *)v;
    while (isspace((unsigned char)*p))
        p++;
    s = vp_strstrip(vp_strdup(p));
    xmlFree(v);
    return s;
}

/* Parse an unsigned attribute value as libvirt's virXMLPropUInt(base 0) does: "0x.." hex,
 * a leading "0" octal (so "010" is eight, as libvirt reads it), otherwise decimal. */
static inline int
vp_xml_parse_libvirt_uint(const char *s, uint64_t *ret)
{
    if (s && s[0] == '0' && s[1] != '\0' && s[1] != 'x' && s[1] != 'X')
        return vp_parse_u64(s + 1, 8, ret);
    return vp_parse_u64(s, 0, ret);
}

/* Read one attribute of a PCI <address>: absent is 0 (as in libvirt); -1 with ERR otherwise. */
static inline int
vp_xml_addr_part(const xmlNode *node, const char *attr, uint64_t max, uint64_t *ret,
                 bool *ret_present, vp_error *err)
{
    char *v = vp_xml_prop(node, attr);
    uint64_t n = 0;
    int r;

    if (!v) {
        *ret = 0;
        return 0;
    }
    *ret_present = true;
    r = vp_xml_parse_libvirt_uint(v, &n);
    if (r == 0 && n > max)
        r = -ERANGE;
    if (r < 0) {
        vp_error_set(err, VP_E_DATA, "%s='%s' is %s (expected 0-%#llx)", attr, v,
                     r == -ERANGE ? "out of range" : "not a number", (unsigned long long)max);
        free(v);
        return -1;
    }
    free(v);
    *ret = n;
    return 0;
}

/* Parse a PCI <address domain bus slot function/> element (libvirt's pciaddress: every
 * attribute optional, default 0; docs/formatdomain "Device Addresses"). An element with none
 * of the four is refused: libvirt would read it as 0000:00:00.0, which it never writes. */
static inline int
vp_xml_pci_address(const xmlNode *node, vp_pci_addr *ret, vp_error *err)
{
    uint64_t dom, bus, slot, func;
    bool any = false;

    if (vp_xml_addr_part(node, "domain", UINT32_MAX, &dom, &any, err) < 0 ||
        vp_xml_addr_part(node, "bus", 0xff, &bus, &any, err) < 0 ||
        vp_xml_addr_part(node, "slot", 0x1f, &slot, &any, err) < 0 ||
        vp_xml_addr_part(node, "function", 7, &func, &any, err) < 0)
        return -1;
    if (!any)
        return vp_error_set(err, VP_E_DATA,
                            "<address> has no domain, bus, slot or function attribute");
    ret->domain = (uint32_t)dom;
    ret->bus = (uint8_t)bus;
    ret->slot = (uint8_t)slot;
    ret->func = (uint8_t)func;
    return 0;
}

/* A PCI <hostdev>: mode='subsystem' (libvirt's default when absent) and type='pci'. USB,
 * SCSI, SCSI-host, mdev and capabilities-mode hostdevs hold no whole PCI function. */
static inline bool
vp_xml_is_pci_hostdev(const xmlNode *dev)
{
    vp_autofree char *mode = vp_xml_prop(dev, "mode");
    vp_autofree char *type = vp_xml_prop(dev, "type");

    return (!mode || vp_streq(mode, "subsystem")) && vp_streq(type, "pci");
}

/* An <interface type='hostdev'> whose source is a PCI function (a USB NIC has type='usb'). */
static inline bool
vp_xml_is_pci_hostdev_interface(const xmlNode *dev)
{
    vp_autofree char *type = vp_xml_prop(dev, "type");
    vp_autofree char *addr_type = NULL;
    xmlNode *addr;

    if (!vp_streq(type, "hostdev"))
        return false;
    addr = vp_xml_child(vp_xml_child(dev, "source"), "address");
    addr_type = addr ? vp_xml_prop(addr, "type") : NULL;
    return !addr_type || vp_streq(addr_type, "pci");
}
