/* The hook's state files: one per domain, line-based text, replaced atomically. */
#include "hook_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../apply/sysfs_apply.h"
#include "../util/fs.h"
#include "../util/str.h"

#define STATE_DIR "run/vpass/hook"
#define STATE_SUFFIX ".state"
#define STATE_VERSION 1
/* Longest escaped name kept whole in a file name (NAME_MAX is 255). */
#define NAME_KEEP 200
#define STATE_MAX (1 << 20)

void
vp_hook_state_clear(vp_hook_state *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->entries[i].driver);
        free(s->entries[i].override);
    }
    free(s->entries);
    free(s->domain);
    memset(s, 0, sizeof(*s));
}

void
vp_hook_states_free(vp_hook_state *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        vp_hook_state_clear(&v[i]);
    free(v);
}

vp_hook_entry *
vp_hook_state_find(const vp_hook_state *s, const vp_pci_addr *addr)
{
    for (size_t i = 0; i < s->n; i++)
        if (vp_pci_addr_eq(&s->entries[i].addr, addr))
            return &s->entries[i];
    return NULL;
}

vp_hook_entry *
vp_hook_state_add(vp_hook_state *s, const vp_pci_addr *addr, const char *driver,
                  const char *override, vp_hook_phase phase)
{
    vp_hook_entry *e;

    s->entries = vp_realloc_array(s->entries, s->n + 1, sizeof(*s->entries));
    e = &s->entries[s->n++];
    e->addr = *addr;
    e->driver = vp_strdup(driver);
    e->override = vp_strdup(override);
    e->phase = phase;
    return e;
}

void
vp_hook_state_remove(vp_hook_state *s, size_t i)
{
    free(s->entries[i].driver);
    free(s->entries[i].override);
    memmove(&s->entries[i], &s->entries[i + 1], (s->n - i - 1) * sizeof(*s->entries));
    s->n--;
}

const char *
vp_hook_phase_name(vp_hook_phase p)
{
    switch (p) {
    case VP_HOOK_BINDING:
        return "binding";
    case VP_HOOK_BOUND:
        return "bound";
    case VP_HOOK_RELEASING:
        return "releasing";
    }
    return "?";
}

static int
phase_parse(const char *s, vp_hook_phase *ret)
{
    for (vp_hook_phase p = VP_HOOK_BINDING; p <= VP_HOOK_RELEASING; p++)
        if (strcmp(s, vp_hook_phase_name(p)) == 0) {
            *ret = p;
            return 0;
        }
    return -1;
}

/* NAME with bytes outside [A-Za-z0-9_+-] (and a leading '.') as %XX: reversible, safe in a
 * file name and on one line. */
static char *
escape(const char *name)
{
    static const char keep[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.";
    char *out = vp_malloc0(strlen(name) * 3 + 1);
    char *p = out;

    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        if (strchr(keep, *c) && !(*c == '.' && c == (const unsigned char *)name))
            *p++ = (char)*c;
        else
            p += sprintf(p, "%%%02X", *c);
    }
    *p = '\0';
    return out;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The inverse of escape(); NULL when S is malformed. */
static char *
unescape(const char *s)
{
    char *out = vp_malloc0(strlen(s) + 1);
    char *p = out;

    for (; *s; s++) {
        if (*s == '%') {
            int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            *p++ = (char)(hi << 4 | lo);
            s += 2;
        } else {
            *p++ = *s;
        }
    }
    *p = '\0';
    return out;
}

static char *
state_dir(const char *root)
{
    return vp_path_join(root ? root : "/", STATE_DIR);
}

/* The file name for DOMAIN (without the directory). */
static char *
file_name(const char *domain)
{
    vp_autofree char *esc = escape(domain);
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

    if (strlen(esc) <= NAME_KEEP)
        return vp_asprintf("%s%s", esc, STATE_SUFFIX);
    for (const unsigned char *c = (const unsigned char *)domain; *c; c++)
        h = (h ^ *c) * 0x100000001b3ULL;
    /* Cut before a %XX sequence, never inside one. */
    {
        size_t cut = NAME_KEEP - 20;

        while (cut > 0 && (esc[cut - 1] == '%' || (cut > 1 && esc[cut - 2] == '%')))
            cut--;
        return vp_asprintf("%.*s~%016llx%s", (int)cut, esc, (unsigned long long)h, STATE_SUFFIX);
    }
}

char *
vp_hook_state_path(const char *root, const char *domain)
{
    vp_autofree char *dir = state_dir(root);
    vp_autofree char *name = file_name(domain);

    return vp_path_join(dir, name);
}

/* Parse the state file at PATH (text BUF) into *RET. */
static int
parse(const char *path, char *buf, vp_hook_state *ret, vp_error *err)
{
    vp_hook_state s = {0};
    bool version = false;
    unsigned lineno = 0;
    char *next;

    for (char *line = buf; line && *line; line = next) {
        char *save = NULL;
        char *word;

        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        vp_strstrip(line);
        if (!*line || *line == '#')
            continue;
        word = strtok_r(line, " \t", &save);
        if (strcmp(word, "version") == 0) {
            char *v = strtok_r(NULL, " \t", &save);
            unsigned n;

            if (!v || vp_parse_uint(v, &n) < 0 || n != STATE_VERSION ||
                strtok_r(NULL, " \t", &save))
                goto bad;
            version = true;
        } else if (strcmp(word, "domain") == 0) {
            char *v = strtok_r(NULL, " \t", &save);

            if (!v || s.domain || strtok_r(NULL, " \t", &save) || !(s.domain = unescape(v)))
                goto bad;
        } else if (strcmp(word, "device") == 0) {
            char *a = strtok_r(NULL, " \t", &save);
            vp_autofree char *driver = NULL;
            vp_autofree char *override = NULL;
            bool have_override = false, have_phase = false;
            vp_hook_phase phase = VP_HOOK_BINDING;
            vp_pci_addr addr;
            char *kv;

            if (!a || vp_pci_addr_parse(a, &addr, NULL) < 0 || vp_hook_state_find(&s, &addr))
                goto bad;
            while ((kv = strtok_r(NULL, " \t", &save))) {
                if (vp_startswith(kv, "driver=") && !driver && vp_sysfs_driver_name_ok(kv + 7)) {
                    driver = vp_strdup(kv + 7);
                } else if (vp_startswith(kv, "override=") && !have_override) {
                    have_override = true;
                    if (strcmp(kv + 9, "(null)") != 0) {
                        if (!vp_sysfs_driver_name_ok(kv + 9))
                            goto bad;
                        override = vp_strdup(kv + 9);
                    }
                } else if (vp_startswith(kv, "phase=") && !have_phase &&
                           phase_parse(kv + 6, &phase) == 0) {
                    have_phase = true;
                } else {
                    goto bad;
                }
            }
            if (!driver || !have_override || !have_phase)
                goto bad;
            vp_hook_state_add(&s, &addr, driver, override, phase);
        } else {
            goto bad;
        }
    }
    if (!version || !s.domain) {
        vp_hook_state_clear(&s);
        return vp_error_set(err, VP_E_DATA, "%s: not a vpass hook state file (no %s line)", path,
                            version ? "domain" : "version 1");
    }
    *ret = s;
    return 0;
bad:
    vp_hook_state_clear(&s);
    vp_error_set(err, VP_E_DATA, "%s: line %u is malformed", path, lineno);
    return vp_error_hint(
        err,
        "vpass will not guess what to undo: compare the file with the devices' drivers, fix or remove it (docs/hook.md)");
}

static int
load_path(const char *path, vp_hook_state *ret, bool *ret_found, vp_error *err)
{
    vp_autofree char *buf = NULL;
    size_t len;
    int r;

    memset(ret, 0, sizeof(*ret));
    r = vp_read_file(path, STATE_MAX, &buf, &len);
    if (r == -ENOENT) {
        *ret_found = false;
        return 0;
    }
    if (r < 0)
        return vp_error_errno(err, -r, "%s: cannot read the hook state", path);
    if (len >= STATE_MAX || memchr(buf, '\0', len))
        return vp_error_set(err, VP_E_DATA, "%s: not a vpass hook state file", path);
    if (parse(path, buf, ret, err) < 0)
        return -1;
    *ret_found = true;
    return 0;
}

int
vp_hook_state_load(const char *root, const char *domain, vp_hook_state *ret, bool *ret_found,
                   vp_error *err)
{
    vp_autofree char *path = vp_hook_state_path(root, domain);
    bool found = false;

    if (load_path(path, ret, &found, err) < 0)
        return -1;
    if (found && strcmp(ret->domain, domain) != 0) {
        vp_error_set(err, VP_E_DATA, "%s: holds the state of domain '%s', not '%s'", path,
                     ret->domain, domain);
        vp_hook_state_clear(ret);
        return -1;
    }
    if (!found)
        ret->domain = vp_strdup(domain);
    *ret_found = found;
    return 0;
}

bool
vp_hook_state_any(const char *root)
{
    vp_autofree char *dir = state_dir(root);
    vp_autostrv char **names = NULL;
    size_t suffix = strlen(STATE_SUFFIX);

    /* Unreadable: say yes, and let the locked path report it. */
    if (vp_list_dir(dir, &names) < 0)
        return access(dir, F_OK) == 0;
    for (size_t i = 0; names && names[i]; i++) {
        size_t len = strlen(names[i]);

        if (names[i][0] != '.' && len > suffix &&
            strcmp(names[i] + len - suffix, STATE_SUFFIX) == 0)
            return true;
    }
    return false;
}

int
vp_hook_state_load_all(const char *root, vp_hook_state **ret, size_t *ret_n, vp_error *err)
{
    vp_autofree char *dir = state_dir(root);
    vp_autostrv char **names = NULL;
    vp_hook_state *v = NULL;
    size_t n = 0;
    int r;

    r = vp_list_dir(dir, &names);
    if (r == -ENOENT) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    if (r < 0)
        return vp_error_errno(err, -r, "%s: cannot list the hook state", dir);
    for (size_t i = 0; names && names[i]; i++) {
        size_t len = strlen(names[i]);
        vp_autofree char *path = NULL;
        bool found;

        if (names[i][0] == '.' || len <= strlen(STATE_SUFFIX) ||
            strcmp(names[i] + len - strlen(STATE_SUFFIX), STATE_SUFFIX) != 0)
            continue; /* temporary files of a write that died, foreign files */
        path = vp_path_join(dir, names[i]);
        v = vp_realloc_array(v, n + 1, sizeof(*v));
        if (load_path(path, &v[n], &found, err) < 0) {
            vp_hook_states_free(v, n);
            return -1;
        }
        if (!found)
            continue;
        n++;
        {
            vp_autofree char *expect = file_name(v[n - 1].domain);

            /* A file renamed or copied by hand would make two domains share one state. */
            if (strcmp(expect, names[i]) != 0) {
                vp_error_set(err, VP_E_DATA,
                             "%s: holds the state of domain '%s', which belongs in %s", path,
                             v[n - 1].domain, expect);
                vp_hook_states_free(v, n);
                return -1;
            }
        }
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static int
mkdir_p(const char *root, vp_error *err)
{
    static const char *const parts[] = {"run", "run/vpass", STATE_DIR};

    for (size_t i = 0; i < VP_ARRAY_SIZE(parts); i++) {
        vp_autofree char *p = vp_path_join(root ? root : "/", parts[i]);

        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return vp_error_errno(err, errno, "%s: cannot create the directory", p);
    }
    return 0;
}

static int
fsync_dir(const char *dir, vp_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = 0;

    if (fd < 0)
        return vp_error_errno(err, errno, "%s: cannot open the directory", dir);
    if (fsync(fd) < 0)
        r = vp_error_errno(err, errno, "%s: cannot sync the directory", dir);
    close(fd);
    return r;
}

static char *
format(const vp_hook_state *s)
{
    vp_autofree char *dom = escape(s->domain);
    vp_autostrv char **lines = NULL;

    vp_strv_push(
        &lines,
        "# vpass-hook state (docs/hook.md): devices vpass took from their host drivers for one domain");
    vp_strv_push_take(&lines, vp_asprintf("version %d", STATE_VERSION));
    vp_strv_push_take(&lines, vp_asprintf("domain %s", dom));
    for (size_t i = 0; i < s->n; i++) {
        const vp_hook_entry *e = &s->entries[i];
        char a[VP_PCI_ADDR_STRLEN];

        vp_strv_push_take(&lines, vp_asprintf("device %s driver=%s override=%s phase=%s",
                                              vp_pci_addr_format(&e->addr, a), e->driver,
                                              e->override ? e->override : "(null)",
                                              vp_hook_phase_name(e->phase)));
    }
    vp_strv_push(&lines, "");
    return vp_strv_join(lines, "\n", "");
}

int
vp_hook_state_save(const char *root, const vp_hook_state *s, vp_error *err)
{
    vp_autofree char *dir = state_dir(root);
    vp_autofree char *name = file_name(s->domain);
    vp_autofree char *path = vp_path_join(dir, name);
    vp_autofree char *tmp_name = vp_asprintf(".%s.tmp", name);
    vp_autofree char *tmp = vp_path_join(dir, tmp_name);
    vp_autofree char *text = NULL;
    size_t len, off = 0;
    int fd;

    for (size_t i = 0; i < s->n; i++)
        if (!vp_sysfs_driver_name_ok(s->entries[i].driver) ||
            (s->entries[i].override && !vp_sysfs_driver_name_ok(s->entries[i].override)))
            return vp_error_set(err, VP_E_DATA, "%s: a driver name vpass cannot record", path);
    if (s->n == 0) {
        if (unlink(path) < 0) {
            if (errno == ENOENT)
                return 0;
            return vp_error_errno(err, errno, "%s: cannot remove the hook state", path);
        }
        return fsync_dir(dir, err);
    }
    if (mkdir_p(root, err) < 0)
        return -1;
    text = format(s);
    len = strlen(text);
    /* The change lock is held: a temporary file left by a writer that died is stale. */
    if (unlink(tmp) < 0 && errno != ENOENT)
        return vp_error_errno(err, errno, "%s: cannot remove a stale temporary file", tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return vp_error_errno(err, errno, "%s: cannot create the hook state", tmp);
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            vp_error_errno(err, n < 0 ? errno : EIO, "%s: cannot write the hook state", tmp);
            goto fail;
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0) {
        vp_error_errno(err, errno, "%s: cannot sync the hook state", tmp);
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        vp_error_errno(err, errno, "%s: cannot write the hook state", tmp);
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        vp_error_errno(err, errno, "%s: cannot replace the hook state", path);
        goto fail;
    }
    return fsync_dir(dir, err);
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}
