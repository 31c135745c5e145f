/* vp_error: setting, prefixing and naming errors. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
vp_error_set(vp_error *err, vp_error_code code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return -1;
    err->code = code;
    err->errnum = 0;
    err->hint[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int
vp_error_errno(vp_error *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    size_t len;

    if (!err)
        return -1;
    if (errnum < 0)
        errnum = -errnum;
    err->code = errnum == ENOENT ? VP_E_NOTFOUND : errnum == ENOMEM ? VP_E_NOMEM : VP_E_SYSTEM;
    err->errnum = errnum;
    err->hint[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    len = strlen(err->msg);
    snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
    return -1;
}

int
vp_error_hint(vp_error *err, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return -1;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
    va_end(ap);
    return -1;
}

int
vp_error_prefix(vp_error *err, const char *fmt, ...)
{
    char old[VP_ERROR_MSG_MAX];
    va_list ap;
    int n;

    if (!err)
        return -1;
    memcpy(old, err->msg, sizeof(old));
    va_start(ap, fmt);
    n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(err->msg))
        /* Truncation of a long message is acceptable; the object named first survives. */
        (void)!snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %.*s",
                        (int)(sizeof(err->msg) - (size_t)n), old);
    return -1;
}

void
vp_error_clear(vp_error *err)
{
    if (!err)
        return;
    err->code = VP_E_OK;
    err->errnum = 0;
    err->msg[0] = '\0';
    err->hint[0] = '\0';
}

const char *
vp_error_code_name(vp_error_code code)
{
    switch (code) {
    case VP_E_OK:
        return "ok";
    case VP_E_USAGE:
        return "usage";
    case VP_E_NOTFOUND:
        return "not-found";
    case VP_E_CONNECT:
        return "connect";
    case VP_E_SYSTEM:
        return "system";
    case VP_E_DATA:
        return "data";
    case VP_E_UNSUPPORTED:
        return "unsupported";
    case VP_E_UNSAFE:
        return "unsafe";
    case VP_E_NOMEM:
        return "nomem";
    }
    return "unknown";
}
