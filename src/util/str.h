/* Strings: allocation that aborts on OOM, string vectors, strict number parsing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* Allocation never fails silently: like glib (and so libvirt), out of memory aborts. */
void *vp_malloc0(size_t size);
void *vp_realloc_array(void *p, size_t n, size_t size);
char *vp_strdup(const char *s); /* NULL in, NULL out */
char *vp_strndup(const char *s, size_t n);
char *vp_asprintf(const char *fmt, ...) VP_PRINTF(1, 2);

/* Grow *P (an array of *ALLOC elements of SIZE bytes) so that it holds at least NEED. */
void vp_grow(void *p, size_t *alloc, size_t need, size_t size);

/* A NULL-terminated vector of owned strings. */
typedef char **vp_strv;
size_t vp_strv_len(char *const *v);
void vp_strv_push(char ***v, const char *s); /* copies S */
void vp_strv_push_take(char ***v, char *s);  /* takes S */
bool vp_strv_contains(char *const *v, const char *s);
void vp_strv_free(char **v);
char **vp_strv_copy(char *const *v);
void vp_strv_sort(char **v);
/* Join V with SEP (allocated); an empty or NULL vector gives EMPTY copied. */
char *vp_strv_join(char *const *v, const char *sep, const char *empty);
static inline void
vp_strv_freep(char ***p)
{
    vp_strv_free(*p);
}
#define vp_autostrv __attribute__((cleanup(vp_strv_freep)))

/* Parse the whole of S as a number; 0 on success, -EINVAL (malformed) or -ERANGE. Base 0
 * accepts 0x.. hex and decimal, as strtoull does, but never octal ("010" is ten). */
int vp_parse_u64(const char *s, int base, uint64_t *ret);
int vp_parse_uint(const char *s, unsigned *ret);
int vp_parse_int(const char *s, int *ret);

/* Strip trailing whitespace in place; returns S. */
char *vp_strstrip(char *s);
bool vp_streq(const char *a, const char *b); /* NULL-safe */
bool vp_startswith(const char *s, const char *prefix);
const char *vp_basename(const char *path);
char *vp_path_join(const char *a, const char *b); /* "a" + "/" + "b", one slash */
/* PATH (canonical) is ROOT_REAL (canonical) or below it: what a fixture tree's links must not
 * leave, lest vpass read the real machine. */
bool vp_path_inside(const char *root_real, const char *path);
