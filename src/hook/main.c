/* vpass-hook: the executable libvirt runs as /etc/libvirt/hooks/qemu.d/vpass. Links no libvirt
 * (tests/integration/test_hook_nolibvirt.sh proves it): a hook that called the API would
 * deadlock the daemon that waits for it. Prints nothing on stdout, ever (libvirt reads a
 * "migrate" or "restore" hook's stdout as a replacement domain XML), and at most one line on
 * stderr, which libvirt shows the user when a start is refused. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hook.h"
#include "util/str.h"

/* A domain XML is a few KiB; libvirt never sends more than this. */
#define XML_MAX (64 << 20)

static int
usage(void)
{
    fputs(
        "usage: vpass-hook [--root DIR] DOMAIN OPERATION SUB-OPERATION EXTRA (the domain XML on stdin; see docs/hook.md)\n",
        stderr);
    return 2;
}

/* Read all of stdin (allocated, NUL-terminated); NULL when unreadable or too large. */
static char *
read_stdin(void)
{
    char *buf = NULL;
    size_t len = 0, alloc = 0;

    for (;;) {
        ssize_t n;

        vp_grow(&buf, &alloc, len + 65536 + 1, 1);
        n = read(STDIN_FILENO, buf + len, alloc - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > XML_MAX) {
            free(buf);
            return NULL;
        }
    }
    buf[len] = '\0';
    return buf;
}

int
main(int argc, char **argv)
{
    const char *root = "/";
    char **args;
    vp_hook_action act;
    vp_hook_env env = {0};
    vp_error err = {0};
    vp_autofree char *xml = NULL;

    /* libvirt passes exactly four arguments (virHookCall): parse no option then, since a
     * domain may be called "--root". */
    if (argc == 5) {
        args = argv + 1;
    } else if (argc == 7 && strcmp(argv[1], "--root") == 0) {
        root = argv[2];
        args = argv + 3;
    } else if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        fprintf(stderr, "vpass-hook %s\n", VPASS_VERSION);
        return 0;
    } else {
        return usage();
    }

    act = vp_hook_action_of(args[1], args[2]);
    if (act == VP_HOOK_ACT_NONE)
        return 0; /* started, stopped, migrate, restore, reconnect, attach, ...: not ours */

    /* Nothing vpass links may write to stdout behind its back. */
    if (!freopen("/dev/null", "w", stdout))
        fclose(stdout);
    umask(022);
    xml = read_stdin();
    env.root = root;
    if (vp_hook_run(&env, args[0], act, xml, NULL, &err) < 0) {
        /* One line: libvirt puts it in the error the user sees. */
        for (char *p = err.msg; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        if (err.hint[0])
            fprintf(stderr, "vpass-hook: error: %s (%s)\n", err.msg, err.hint);
        else
            fprintf(stderr, "vpass-hook: error: %s\n", err.msg);
        return vp_hook_exit_code(&err);
    }
    return 0;
}
