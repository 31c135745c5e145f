/* Strings: allocation, vectors, number parsing. */
#include "str.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
vp_oom(void)
{
    fputs("vpass: out of memory\n", stderr);
    abort();
}

void *
vp_malloc0(size_t size)
{
    void *p = calloc(1, size ? size : 1);

    if (!p)
        vp_oom();
    return p;
}

void *
vp_realloc_array(void *p, size_t n, size_t size)
{
    void *q;

    if (size && n > SIZE_MAX / size)
        vp_oom();
    q = realloc(p, (n && size) ? n * size : 1);
    if (!q)
        vp_oom();
    return q;
}

char *
vp_strdup(const char *s)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        vp_oom();
    return d;
}

char *
vp_strndup(const char *s, size_t n)
{
    char *d = strndup(s, n);

    if (!d)
        vp_oom();
    return d;
}

char *
vp_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (r < 0)
        vp_oom();
    return s;
}

void
vp_grow(void *p, size_t *alloc, size_t need, size_t size)
{
    void **pp = p;
    size_t n = *alloc;

    if (need <= n)
        return;
    n = n ? n * 2 : 8;
    while (n < need)
        n *= 2;
    *pp = vp_realloc_array(*pp, n, size);
    memset((char *)*pp + *alloc * size, 0, (n - *alloc) * size);
    *alloc = n;
}

size_t
vp_strv_len(char *const *v)
{
    size_t n = 0;

    while (v && v[n])
        n++;
    return n;
}

void
vp_strv_push_take(char ***v, char *s)
{
    size_t n = vp_strv_len(*v);

    *v = vp_realloc_array(*v, n + 2, sizeof(char *));
    (*v)[n] = s;
    (*v)[n + 1] = NULL;
}

void
vp_strv_push(char ***v, const char *s)
{
    vp_strv_push_take(v, vp_strdup(s));
}

bool
vp_strv_contains(char *const *v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

void
vp_strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

char **
vp_strv_copy(char *const *v)
{
    char **c = NULL;

    for (size_t i = 0; v && v[i]; i++)
        vp_strv_push(&c, v[i]);
    return c;
}

static int
vp_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void
vp_strv_sort(char **v)
{
    if (v)
        qsort(v, vp_strv_len(v), sizeof(char *), vp_strcmp_p);
}

char *
vp_strv_join(char *const *v, const char *sep, const char *empty)
{
    size_t len = 1, seplen = strlen(sep), pos = 0;
    char *s;

    if (!v || !v[0])
        return vp_strdup(empty);
    for (size_t i = 0; v[i]; i++)
        len += strlen(v[i]) + seplen;
    s = vp_malloc0(len);
    for (size_t i = 0; v[i]; i++) {
        size_t n = strlen(v[i]);

        if (i) {
            memcpy(s + pos, sep, seplen);
            pos += seplen;
        }
        memcpy(s + pos, v[i], n);
        pos += n;
    }
    s[pos] = '\0';
    return s;
}

int
vp_parse_u64(const char *s, int base, uint64_t *ret)
{
    unsigned long long v;
    char *end;

    if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
        return -EINVAL;
    /* strtoull would read "010" as octal with base 0; vpass never wants octal. */
    if (base == 0)
        base = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? 16 : 10;
    errno = 0;
    v = strtoull(s, &end, base);
    if (errno == ERANGE)
        return -ERANGE;
    if (end == s || *end != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

int
vp_parse_uint(const char *s, unsigned *ret)
{
    uint64_t v;
    int r = vp_parse_u64(s, 0, &v);

    if (r < 0)
        return r;
    if (v > UINT32_MAX)
        return -ERANGE;
    *ret = (unsigned)v;
    return 0;
}

int
vp_parse_int(const char *s, int *ret)
{
    unsigned v;
    int r;

    if (s && s[0] == '-') {
        r = vp_parse_uint(s + 1, &v);
        if (r < 0)
            return r;
        if (v > (unsigned)INT32_MAX + 1)
            return -ERANGE;
        *ret = (int)(-(int64_t)v);
        return 0;
    }
    r = vp_parse_uint(s, &v);
    if (r < 0)
        return r;
    if (v > INT32_MAX)
        return -ERANGE;
    *ret = (int)v;
    return 0;
}

char *
vp_strstrip(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

bool
vp_streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool
vp_startswith(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

const char *
vp_basename(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

bool
vp_path_inside(const char *root_real, const char *path)
{
    size_t n = strlen(root_real);

    if (strcmp(root_real, "/") == 0)
        return path[0] == '/';
    return strncmp(path, root_real, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

char *
vp_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);

    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    if (la == 1 && a[0] == '/')
        return vp_asprintf("/%s", b);
    return vp_asprintf("%.*s/%s", (int)la, a, b);
}
