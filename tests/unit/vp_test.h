/* Shared includes for the cmocka unit tests. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* The whole text of file PATH (allocated, at most 1 MiB); the test fails when it cannot be
 * read. */
char *vp_test_read_text(const char *path);

/* vp_test_read_text of REL under tests/fixtures (VP_TEST_FIXTURES); NULL for a NULL REL. */
char *vp_test_fixture(const char *rel);

/* S with the first FROM replaced by TO (allocated); the test fails when FROM is absent. */
char *vp_test_replace(const char *s, const char *from, const char *to);
