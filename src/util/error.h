/* vp_error: the one error value every layer below the CLI returns. */
#pragma once

#include "macro.h"

/* Error classes; each maps to one documented exit code in src/cli (see docs/exit-codes.md). */
typedef enum {
    VP_E_OK = 0,
    VP_E_USAGE,       /* bad command line or input form */
    VP_E_NOTFOUND,    /* a named device, group, interface or domain does not exist */
    VP_E_CONNECT,     /* libvirt connection failed or refused */
    VP_E_SYSTEM,      /* I/O or OS failure */
    VP_E_DATA,        /* malformed data from a source (XML, sysfs) */
    VP_E_UNSUPPORTED, /* the source cannot do this (e.g. remote host, no node-device API) */
    VP_E_UNSAFE,      /* a check blocks the operation */
    VP_E_NOMEM,
} vp_error_code;

#define VP_ERROR_MSG_MAX 512

typedef struct {
    vp_error_code code;
    int errnum;                  /* errno when relevant, else 0 */
    char msg[VP_ERROR_MSG_MAX];  /* names the object first */
    char hint[VP_ERROR_MSG_MAX]; /* optional fix, "" when none */
} vp_error;

/* Set ERR (may be NULL) and return -1. */
int vp_error_set(vp_error *err, vp_error_code code, const char *fmt, ...) VP_PRINTF(3, 4);

/* Like vp_error_set, appending ": strerror(errnum)"; code is VP_E_SYSTEM (VP_E_NOTFOUND for
 * ENOENT). */
int vp_error_errno(vp_error *err, int errnum, const char *fmt, ...) VP_PRINTF(3, 4);

/* Attach a fix suggestion to an already-set ERR; returns -1 for tail calls. */
int vp_error_hint(vp_error *err, const char *fmt, ...) VP_PRINTF(2, 3);

/* Prefix the message of an already-set ERR with context ("PREFIX: msg"); returns -1. */
int vp_error_prefix(vp_error *err, const char *fmt, ...) VP_PRINTF(2, 3);

/* Reset ERR to no error. */
void vp_error_clear(vp_error *err);

/* Stable name of an error code ("usage", "not-found", ...), used in JSON error output. */
const char *vp_error_code_name(vp_error_code code);
