/* Read-only file access under a root directory (--root); every sysfs/procfs path goes here. */
#pragma once

#include <dirent.h>
#include <stddef.h>

/* These return 0 or a negative errno (so callers can tell -ENOENT apart) and never log. */

/* Read at most MAX bytes of PATH into a NUL-terminated buffer (*RET_BUF owned by caller). */
int vp_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len);

/* Read the first line of PATH, trailing whitespace removed. */
int vp_read_line(const char *path, char **ret_line);

/* readlink(2) into an allocated string. */
int vp_readlink(const char *path, char **ret_target);

/* Names in directory PATH, sorted, without "." and ".."; *RET is a vp_strv (NULL if empty). */
int vp_list_dir(const char *path, char ***ret);

/* The same, NAME relative to the open directory DIRFD (or AT_FDCWD), as openat(2): a device's
 * many attributes without walking its long path each time. */
int vp_read_line_at(int dirfd, const char *name, char **ret_line);
int vp_readlink_at(int dirfd, const char *name, char **ret_target);

/* The names of open directory D as vp_list_dir gives them; D stays open (its dirfd() serves
 * the *_at calls). */
int vp_read_dir(DIR *d, char ***ret);

/* Same as the above, relative to ROOT ("/" or a fixture tree). REL may start with '/'. */
int vp_root_read_line(const char *root, const char *rel, char **ret_line);
int vp_root_readlink(const char *root, const char *rel, char **ret_target);
int vp_root_list_dir(const char *root, const char *rel, char ***ret);
int vp_root_read_file(const char *root, const char *rel, size_t max, char **ret_buf,
                      size_t *ret_len);
