/* Helpers shared by the cmocka unit tests (vp_test.h). */
#include "vp_test.h"

#include <string.h>

#include "util/fs.h"
#include "util/str.h"

char *
vp_test_read_text(const char *path)
{
    char *buf = NULL;
    int r = vp_read_file(path, 1 << 20, &buf, NULL);

    if (r < 0)
        fail_msg("%s: %s", path, strerror(-r));
    return buf;
}

char *
vp_test_fixture(const char *rel)
{
    vp_autofree char *path = NULL;

    if (!rel)
        return NULL;
    path = vp_path_join(VP_TEST_FIXTURES, rel);
    return vp_test_read_text(path);
}

char *
vp_test_replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);

    if (!at)
        fail_msg("'%s' not in the text", from);
    return vp_asprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}
