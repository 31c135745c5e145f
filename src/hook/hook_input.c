/* The hook's inputs: the domain XML on stdin, hook.conf, the vpass metadata, and libvirt's
 * status files of running domains. */
#include "hook_input.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

#include "../source/source.h"
#include "../source/xmlread.h"
#include "../util/fs.h"
#include "../util/str.h"

/* Status files are a few tens of KiB (libvirt adds QEMU's capability list); more is not one. */
#define STATUS_MAX (16 << 20)
#define CONF_MAX (1 << 20)

void
vp_hook_domain_clear(vp_hook_domain *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->devs);
    memset(d, 0, sizeof(*d));
}

const vp_hook_dev *
vp_hook_domain_find(const vp_hook_domain *d, const vp_pci_addr *addr)
{
    for (size_t i = 0; i < d->n_devs; i++)
        if (vp_pci_addr_eq(&d->devs[i].addr, addr))
            return &d->devs[i];
    return NULL;
}

static bool
in_vpass_ns(const xmlNode *n)
{
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, VP_HOOK_METADATA_NS) == 0;
}

/* yes -> 1, no -> 0, absent -> -1; anything else is an error. */
static int
yes_no(const xmlNode *n, const char *attr, int *ret, vp_error *err)
{
    vp_autofree char *v = vp_xml_prop(n, attr);

    if (!v)
        *ret = -1;
    else if (strcmp(v, "yes") == 0)
        *ret = 1;
    else if (strcmp(v, "no") == 0)
        *ret = 0;
    else
        return vp_error_set(err, VP_E_DATA,
                            "vpass metadata: <hook %s='%s'> is neither 'yes' nor 'no'", attr, v);
    return 0;
}

/* <metadata><vpass:vpass xmlns:vpass='urn:vpass:domain:1'><vpass:hook .../></vpass:vpass>. */
static int
read_meta(xmlNode *root, vp_hook_domain *d, vp_error *err)
{
    xmlNode *md = vp_xml_child(root, "metadata");

    d->meta_enable = d->meta_isolate = -1;
    for (xmlNode *v = md ? md->children : NULL; v; v = v->next) {
        if (!in_vpass_ns(v) || strcmp((const char *)v->name, "vpass") != 0)
            continue;
        for (xmlNode *h = v->children; h; h = h->next) {
            if (!in_vpass_ns(h) || strcmp((const char *)h->name, "hook") != 0)
                continue;
            if (yes_no(h, "enable", &d->meta_enable, err) < 0 ||
                yes_no(h, "isolate", &d->meta_isolate, err) < 0)
                return -1;
        }
    }
    return 0;
}

int
vp_hook_domain_parse(const char *xml, const char *name, vp_hook_domain *ret, vp_error *err)
{
    vp_autoxmldoc doc = NULL;
    vp_autoptr(vp_host) scratch = NULL;
    vp_autofree char *doc_name = NULL;
    vp_hook_domain d = {0};
    xmlNode *root;

    memset(ret, 0, sizeof(*ret));
    if (vp_xml_parse(xml, "domain XML on stdin", &doc, err) < 0)
        return vp_error_prefix(err, "%s", name);
    root = xmlDocGetRootElement(doc);
    if (!vp_xml_is(root, "domain"))
        return vp_error_set(err, VP_E_DATA,
                            "%s: the XML on stdin has root element <%s>, expected <domain>", name,
                            (const char *)root->name);
    doc_name = vp_xml_text(vp_xml_child(root, "name"));
    if (!vp_streq(doc_name, name))
        return vp_error_set(err, VP_E_DATA, "%s: the XML on stdin is the domain '%s'", name,
                            doc_name ? doc_name : "(no name)");
    if (read_meta(root, &d, err) < 0)
        return vp_error_prefix(err, "%s", name);

    /* The ledger's reader, so the hook sees a domain's devices exactly as every command does. */
    scratch = vp_host_new();
    if (vp_domxml_add_assignments(scratch, name, xml, true, false, err) < 0)
        return -1;
    d.devs = vp_malloc0((scratch->n_assignments + 1) * sizeof(*d.devs));
    for (size_t i = 0; i < scratch->n_assignments; i++) {
        const vp_assignment *a = &scratch->assignments[i];

        d.devs[d.n_devs++] = (vp_hook_dev){.addr = a->addr, .kind = a->kind, .managed = a->managed};
    }
    d.name = vp_strdup(name);
    *ret = d;
    return 0;
}

/* ---- hook.conf ---- */

void
vp_hook_conf_clear(vp_hook_conf *c)
{
    if (!c)
        return;
    vp_strv_free(c->enable);
    free(c->protect);
    memset(c, 0, sizeof(*c));
}

static int
parse_bool(const char *v, bool *ret)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; i < VP_ARRAY_SIZE(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return -1;
}

int
vp_hook_conf_parse(const char *path, char *text, vp_hook_conf *ret, vp_error *err)
{
    vp_hook_conf c = {.found = true, .isolate = true};
    bool in_hook = false;
    unsigned lineno = 0;
    char *next;

    for (char *line = text; line && *line; line = next) {
        char *key, *val, *eq;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        while (*line == ' ' || *line == '\t')
            line++;
        vp_strstrip(line);
        if (!*line || *line == '#' || *line == ';')
            continue;
        if (*line == '[') {
            if (strcmp(line, "[hook]") != 0) {
                vp_error_set(err, VP_E_DATA, "%s:%u: unknown section %s (expected [hook])", path,
                             lineno, line);
                goto fail;
            }
            in_hook = true;
            continue;
        }
        eq = strchr(line, '=');
        if (!eq) {
            vp_error_set(err, VP_E_DATA, "%s:%u: expected 'key = value'", path, lineno);
            goto fail;
        }
        if (!in_hook) {
            vp_error_set(err, VP_E_DATA, "%s:%u: '%.*s' outside the [hook] section", path, lineno,
                         (int)(eq - line), line);
            goto fail;
        }
        *eq = '\0';
        key = vp_strstrip(line);
        val = eq + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        /* A comment may follow a value after blanks: "isolate = yes   # the default". */
        for (char *p = val; *p; p++)
            if ((*p == '#' || *p == ';') && (p == val || p[-1] == ' ' || p[-1] == '\t')) {
                *p = '\0';
                break;
            }
        vp_strstrip(val);
        if (strcmp(key, "enable") == 0 || strcmp(key, "protect") == 0) {
            char *save = NULL;
            bool names = key[0] == 'e';

            for (char *w = strtok_r(val, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
                vp_pci_addr a;

                if (names && strcmp(w, "all") == 0) {
                    c.enable_all = true;
                } else if (names && strcmp(w, "none") == 0) {
                    continue;
                } else if (names) {
                    vp_strv_push(&c.enable, w);
                } else if (vp_pci_addr_parse(w, &a, NULL) == 0) {
                    c.protect = vp_realloc_array(c.protect, c.n_protect + 1, sizeof(*c.protect));
                    c.protect[c.n_protect++] = a;
                } else {
                    vp_error_set(err, VP_E_DATA,
                                 "%s:%u: protect: '%s' is not a PCI address (0000:18:00.1)", path,
                                 lineno, w);
                    goto fail;
                }
            }
        } else if (strcmp(key, "isolate") == 0) {
            if (parse_bool(val, &c.isolate) < 0) {
                vp_error_set(err, VP_E_DATA, "%s:%u: isolate: '%s' is not yes or no", path, lineno,
                             val);
                goto fail;
            }
        } else {
            vp_error_set(err, VP_E_DATA, "%s:%u: unknown key '%s' (enable, isolate, protect)", path,
                         lineno, key);
            goto fail;
        }
    }
    *ret = c;
    return 0;
fail:
    vp_hook_conf_clear(&c);
    return -1;
}

int
vp_hook_conf_load(const char *root, vp_hook_conf *ret, vp_error *err)
{
    vp_autofree char *path = vp_path_join(root ? root : "/", VP_HOOK_CONF);
    vp_autofree char *buf = NULL;
    size_t len;
    int r;

    memset(ret, 0, sizeof(*ret));
    ret->isolate = true;
    r = vp_read_file(path, CONF_MAX, &buf, &len);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return vp_error_errno(err, -r, "%s: cannot read the hook policy", path);
    if (len >= CONF_MAX || memchr(buf, '\0', len))
        return vp_error_set(err, VP_E_DATA, "%s: not a text file", path);
    return vp_hook_conf_parse(path, buf, ret, err);
}

void
vp_hook_policy_resolve(const vp_hook_conf *c, const char *name, int meta_enable, int meta_isolate,
                       vp_hook_policy *ret)
{
    if (meta_enable >= 0) {
        ret->enabled = meta_enable == 1;
        ret->why = "the domain's vpass metadata";
    } else if (c->enable_all) {
        ret->enabled = true;
        ret->why = "hook.conf: enable = all";
    } else if (vp_strv_contains(c->enable, name)) {
        ret->enabled = true;
        ret->why = "hook.conf: enable lists it";
    } else {
        ret->enabled = false;
        ret->why = "off by default";
    }
    ret->isolate = meta_isolate >= 0 ? meta_isolate == 1 : c->isolate;
}

/* ---- libvirt's status files ---- */

/* The live <domain> of a status document as its own XML text (allocated), and its name. */
static int
status_domain(const char *path, const char *buf, char **ret_xml, char **ret_name, vp_error *err)
{
    vp_autoxmldoc doc = NULL;
    xmlNode *root, *dom;
    xmlBuffer *out;

    if (vp_xml_parse(buf, "libvirt status file", &doc, err) < 0)
        return vp_error_prefix(err, "%s", path);
    root = xmlDocGetRootElement(doc);
    /* qemuDomainObjPrivateXMLFormat: <domstatus state=... pid=...> ... <domain>. */
    dom = vp_xml_is(root, "domstatus") ? vp_xml_child(root, "domain") : NULL;
    if (!dom)
        return vp_error_set(err, VP_E_DATA,
                            "%s: not a libvirt status file (no <domstatus><domain>)", path);
    *ret_name = vp_xml_text(vp_xml_child(dom, "name"));
    if (!*ret_name || !**ret_name) {
        free(*ret_name);
        return vp_error_set(err, VP_E_DATA, "%s: the domain has no name", path);
    }
    out = xmlBufferCreate();
    if (!out)
        abort();
    if (xmlNodeDump(out, doc, dom, 0, 0) < 0) {
        xmlBufferFree(out);
        free(*ret_name);
        return vp_error_set(err, VP_E_DATA, "%s: cannot serialize its domain", path);
    }
    *ret_xml = vp_strdup((const char *)xmlBufferContent(out));
    xmlBufferFree(out);
    return 0;
}

/* True when BUF may hold one of ONLY: it names the bus of one as libvirt writes it. */
static bool
mentions_bus(const char *buf, const vp_pci_addr *only, size_t n_only)
{
    if (!only)
        return true;
    for (size_t i = 0; i < n_only; i++) {
        char needle[32];

        snprintf(needle, sizeof(needle), "bus='0x%02x'", only[i].bus);
        if (strstr(buf, needle))
            return true;
    }
    return false;
}

int
vp_hook_running_load(const char *root, const char *self, const vp_pci_addr *only, size_t n_only,
                     vp_host *h, bool *ret_known, vp_error *err)
{
    vp_autofree char *dir = vp_path_join(root ? root : "/", "run/libvirt/qemu");
    vp_autostrv char **names = NULL;
    int r;

    r = vp_list_dir(dir, &names);
    if (r == -ENOENT || r == -ENOTDIR) {
        *ret_known = false;
        return 0;
    }
    if (r < 0)
        return vp_error_errno(err, -r, "%s: cannot list libvirt's running domains", dir);
    for (size_t i = 0; names && names[i]; i++) {
        size_t len = strlen(names[i]);
        vp_autofree char *path = NULL;
        vp_autofree char *buf = NULL;
        vp_autofree char *xml = NULL;
        vp_autofree char *name = NULL;
        size_t n;

        if (len <= 4 || strcmp(names[i] + len - 4, ".xml") != 0)
            continue; /* pid files, channel and swtpm directories, ... */
        path = vp_path_join(dir, names[i]);
        r = vp_read_file(path, STATUS_MAX, &buf, &n);
        if (r == -ENOENT || r == -EISDIR)
            continue; /* the domain stopped while we listed */
        if (r < 0)
            return vp_error_errno(err, -r, "%s: cannot read libvirt's status file", path);
        /* Every PCI function a domain holds is in a <hostdev> or an <interface
         * type='hostdev'>: a file without the word holds none, and costs no parse. */
        if (!strstr(buf, "hostdev") || !mentions_bus(buf, only, n_only))
            continue;
        if (status_domain(path, buf, &xml, &name, err) < 0)
            return -1;
        if (vp_streq(name, self))
            continue;
        vp_host_add_domain(h, name, NULL, true, false);
        if (vp_domxml_add_assignments(h, name, xml, true, false, err) < 0)
            return vp_error_prefix(err, "%s", path);
    }
    *ret_known = true;
    return 0;
}
