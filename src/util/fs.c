/* Read-only file access, plain and under a root directory. */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "str.h"

/* Read at most MAX bytes of FD into *RET_BUF, NUL-terminated; with LINE, stop once a newline
 * has arrived: a sysfs attribute comes whole in one read(), and the read that would only
 * return end-of-file is a system call saved per attribute. Closes FD. */
static int
read_fd(int fd, size_t max, bool line, char **ret_buf, size_t *ret_len)
{
    vp_autofree char *buf = NULL;
    size_t len = 0, alloc = 0;

    for (;;) {
        ssize_t n;

        vp_grow(&buf, &alloc, len + 4097, 1);
        n = read(fd, buf + len, alloc - len - 1 < max - len ? alloc - len - 1 : max - len);
        if (n < 0) {
            int e = errno;

            if (e == EINTR)
                continue;
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len >= max || (line && memchr(buf + len - (size_t)n, '\n', (size_t)n)))
            break;
    }
    close(fd);
    buf[len] = '\0';
    /* Give back the read-ahead: sysfs attributes are a few bytes, and thousands are kept. */
    if (alloc > len + 1)
        buf = vp_realloc_array(buf, len + 1, 1);
    *ret_buf = VP_STEAL(&buf);
    if (ret_len)
        *ret_len = len;
    return 0;
}

int
vp_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    return read_fd(fd, max, false, ret_buf, ret_len);
}

int
vp_read_line_at(int dirfd, const char *name, char **ret_line)
{
    char *buf = NULL;
    char *nl;
    int fd, r;

    fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    r = read_fd(fd, 64 * 1024, true, &buf, NULL);
    if (r < 0)
        return r;
    nl = strchr(buf, '\n');
    if (nl)
        *nl = '\0';
    *ret_line = vp_strstrip(buf);
    return 0;
}

int
vp_read_line(const char *path, char **ret_line)
{
    return vp_read_line_at(AT_FDCWD, path, ret_line);
}

int
vp_readlink_at(int dirfd, const char *name, char **ret_target)
{
    char buf[PATH_MAX];
    ssize_t n;

    n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    *ret_target = vp_strdup(buf);
    return 0;
}

int
vp_readlink(const char *path, char **ret_target)
{
    return vp_readlink_at(AT_FDCWD, path, ret_target);
}

int
vp_read_dir(DIR *d, char ***ret)
{
    char **names = NULL;
    size_t n = 0, alloc = 0;
    struct dirent *de;

    /* Grown geometrically (vp_strv_push would rescan the vector each time). */
    errno = 0;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        vp_grow(&names, &alloc, n + 2, sizeof(char *));
        names[n++] = vp_strdup(de->d_name);
        names[n] = NULL;
    }
    if (errno) {
        int e = errno;

        vp_strv_free(names);
        return -e;
    }
    vp_strv_sort(names);
    *ret = names;
    return 0;
}

int
vp_list_dir(const char *path, char ***ret)
{
    DIR *d = opendir(path);
    int r;

    if (!d)
        return -errno;
    r = vp_read_dir(d, ret);
    closedir(d);
    return r;
}

int
vp_root_read_line(const char *root, const char *rel, char **ret_line)
{
    vp_autofree char *p = vp_path_join(root, rel);

    return vp_read_line(p, ret_line);
}

int
vp_root_readlink(const char *root, const char *rel, char **ret_target)
{
    vp_autofree char *p = vp_path_join(root, rel);

    return vp_readlink(p, ret_target);
}

int
vp_root_list_dir(const char *root, const char *rel, char ***ret)
{
    vp_autofree char *p = vp_path_join(root, rel);

    return vp_list_dir(p, ret);
}

int
vp_root_read_file(const char *root, const char *rel, size_t max, char **ret_buf, size_t *ret_len)
{
    vp_autofree char *p = vp_path_join(root, rel);

    return vp_read_file(p, max, ret_buf, ret_len);
}
