/* Rendering: device and group JSON objects (docs/json.md), labels, colours, aligned tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/str.h"

static json_object *
json_string_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *
json_strv(char *const *v)
{
    json_object *a = json_object_new_array();

    for (size_t i = 0; v && v[i]; i++)
        json_object_array_add(a, json_object_new_string(v[i]));
    return a;
}

static json_object *
json_hex(unsigned v, int digits)
{
    char buf[16];

    snprintf(buf, sizeof(buf), "0x%0*x", digits, v);
    return json_object_new_string(buf);
}

static json_object *
json_addr(const vp_pci_addr *a)
{
    char buf[VP_PCI_ADDR_STRLEN];

    return json_object_new_string(vp_pci_addr_format(a, buf));
}

static json_object *
json_link(const vp_link *l)
{
    json_object *o;

    if (!l->present)
        return NULL;
    o = json_object_new_object();
    json_object_object_add(o, "speed_gts", json_string_or_null(l->speed));
    json_object_object_add(o, "width", l->width ? json_object_new_int((int)l->width) : NULL);
    return o;
}

json_object *
vp_json_device(const vp_host *h, const vp_device *d)
{
    json_object *o = json_object_new_object();
    json_object *vfs = json_object_new_array();

    (void)h;
    json_object_object_add(o, "address", json_object_new_string(d->addr_str));
    json_object_object_add(o, "nodedev", json_object_new_string(d->nodedev_name));
    json_object_object_add(o, "vendor_id", d->ids_known ? json_hex(d->vendor_id, 4) : NULL);
    json_object_object_add(o, "product_id", d->ids_known ? json_hex(d->product_id, 4) : NULL);
    json_object_object_add(o, "vendor", json_string_or_null(d->vendor_name));
    json_object_object_add(o, "product", json_string_or_null(d->product_name));
    json_object_object_add(o, "class", d->ids_known ? json_hex(d->class_code, 6) : NULL);
    json_object_object_add(o, "class_name",
                           d->ids_known ? json_object_new_string(vp_class_short_name(d->class_code))
                                        : NULL);
    json_object_object_add(o, "driver", json_string_or_null(d->driver));
    json_object_object_add(o, "group", d->has_group ? json_object_new_int((int)d->group) : NULL);
    json_object_object_add(o, "owners", json_strv(d->owners));
    json_object_object_add(o, "conflict", json_object_new_boolean(d->conflict));
    json_object_object_add(o, "in_use", json_object_new_boolean(d->owned_by_running));
    json_object_object_add(o, "netdevs", json_strv(d->netdevs));
    json_object_object_add(o, "physfn", d->is_vf ? json_addr(&d->physfn) : NULL);
    for (size_t i = 0; i < d->n_vfs; i++)
        json_object_array_add(vfs, json_addr(&d->vfs[i]));
    json_object_object_add(o, "vfs", vfs);
    json_object_object_add(o, "vf_max", d->is_pf ? json_object_new_int((int)d->vf_max) : NULL);
    json_object_object_add(o, "numa_node", d->has_numa ? json_object_new_int(d->numa_node) : NULL);
    json_object_object_add(o, "bridge", json_object_new_boolean(d->is_bridge));
    json_object_object_add(o, "pcie", json_object_new_boolean(d->is_pcie));
    json_object_object_add(o, "link_max", json_link(&d->link_cap));
    json_object_object_add(o, "link_current", json_link(&d->link_sta));
    json_object_object_add(o, "parent", d->has_parent ? json_addr(&d->parent) : NULL);
    return o;
}

json_object *
vp_json_group(const vp_host *h, const vp_group *g)
{
    json_object *o = json_object_new_object();
    json_object *devs = json_object_new_array();

    json_object_object_add(o, "group", json_object_new_int((int)g->number));
    json_object_object_add(o, "verdict", json_object_new_string(vp_verdict_name(g->verdict)));
    for (size_t i = 0; i < g->n_members; i++)
        json_object_array_add(devs, vp_json_device(h, h->devices[g->members[i]]));
    json_object_object_add(o, "devices", devs);
    return o;
}

void
vp_json_array_begin(vp_json_stream *st)
{
    st->n = 0;
    fputc('[', stdout);
}

void
vp_json_array_add(vp_json_stream *st, json_object *o)
{
    /* One element at a time: the whole document is never in memory (5,000 devices). */
    fputs(st->n++ ? ",\n  " : "\n  ", stdout);
    fputs(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
        stdout);
    json_object_put(o);
}

void
vp_json_array_end(vp_json_stream *st)
{
    fputs(st->n ? "\n]\n" : "]\n", stdout);
}

void
vp_json_print(json_object *o)
{
    fputs(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE),
        stdout);
    fputc('\n', stdout);
    json_object_put(o);
}

char *
vp_device_label(const vp_device *d)
{
    if (!d->ids_known)
        return vp_strdup("[unknown device]");
    if (d->vendor_name && d->product_name)
        return vp_asprintf("%s %s [%04x:%04x]", d->vendor_name, d->product_name, d->vendor_id,
                           d->product_id);
    return vp_asprintf("[%04x:%04x]", d->vendor_id, d->product_id);
}

const char *
vp_color_verdict(const vp_cli *cli, vp_verdict v)
{
    if (!cli->color)
        return "";
    switch (v) {
    case VP_VERDICT_READY:
        return "\033[32m";
    case VP_VERDICT_HOST:
        return "\033[33m";
    case VP_VERDICT_IN_USE:
        return "\033[36m";
    case VP_VERDICT_MIXED:
    case VP_VERDICT_CONFLICT:
        return "\033[31m";
    }
    return "";
}

const char *
vp_color_reset(const vp_cli *cli)
{
    return cli->color ? "\033[0m" : "";
}

struct vp_table {
    size_t n_cols;
    char **cells; /* row-major, headers first */
    size_t n_rows;
    size_t alloc;
};

vp_table *
vp_table_new(size_t n_cols, const char *const *headers)
{
    vp_table *t = vp_malloc0(sizeof(*t));

    t->n_cols = n_cols;
    vp_table_add_row(t, headers);
    return t;
}

void
vp_table_add_row(vp_table *t, const char *const *cells)
{
    vp_grow(&t->cells, &t->alloc, (t->n_rows + 1) * t->n_cols, sizeof(char *));
    for (size_t c = 0; c < t->n_cols; c++)
        t->cells[t->n_rows * t->n_cols + c] = vp_strdup(cells[c] ? cells[c] : "-");
    t->n_rows++;
}

/* Display width of UTF-8 text, ignoring ANSI colour sequences. */
static size_t
display_width(const char *s)
{
    size_t w = 0;

    while (*s) {
        if (*s == '\033') {
            while (*s && *s != 'm')
                s++;
            if (*s)
                s++;
            continue;
        }
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
        s++;
    }
    return w;
}

void
vp_table_print(vp_table *t, FILE *f)
{
    vp_autofree size_t *width = vp_malloc0(sizeof(size_t) * t->n_cols);

    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < t->n_cols; c++) {
            size_t w = display_width(t->cells[r * t->n_cols + c]);

            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < t->n_cols; c++) {
            const char *cell = t->cells[r * t->n_cols + c];

            fputs(cell, f);
            if (c + 1 < t->n_cols)
                fprintf(f, "%*s", (int)(width[c] - display_width(cell) + 2), "");
        }
        fputc('\n', f);
    }
}

void
vp_table_free(vp_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}
