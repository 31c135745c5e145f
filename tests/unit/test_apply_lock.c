/* Unit tests for src/apply/lock.c: the change lock between two processes (fork), under a
 * temporary root. A binary of its own: forking beside the embedded QEMU driver's threads
 * (test_apply) would not be safe. */
#include "vp_test.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apply/lock.h"
#include "util/fs.h"
#include "util/str.h"

static char *root;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int
setup(void **state)
{
    const char *tmp = getenv("TMPDIR");

    (void)state;
    root = vp_asprintf("%s/vpass-lock.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(root) ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(root);
    return 0;
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fork a child that takes the lock, says so on a pipe, holds it HOLD_MS, releases, exits. */
static pid_t
spawn_holder(unsigned hold_ms)
{
    int p[2];
    pid_t pid;
    char c;

    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        vp_lock *l = NULL;
        vp_error err = {0};

        close(p[0]);
        if (vp_lock_acquire_timeout(root, 5000, &l, &err) < 0)
            _exit(2);
        if (write(p[1], "L", 1) != 1)
            _exit(3);
        usleep(hold_ms * 1000);
        vp_lock_release(l);
        _exit(0);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    return pid;
}

static void
reap(pid_t pid)
{
    int status;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* The lock creates <root>/run/vpass (0755) and holds the holder's pid; release clears it. */
static void
test_create_and_pid(void **state)
{
    vp_autoptr(vp_lock) l = NULL;
    vp_autofree char *dir = vp_path_join(root, "run/vpass");
    vp_autofree char *path = vp_path_join(dir, "lock");
    vp_autofree char *me = vp_asprintf("%ld", (long)getpid());
    vp_autofree char *pid = NULL;
    vp_error err = {0};
    mode_t old_umask = umask(077);
    struct stat st;

    (void)state;
    /* 0755 whatever the umask: hooks and other users read the pid. */
    assert_int_equal(vp_lock_acquire(root, &l, &err), 0);
    umask(old_umask);
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_string_equal(vp_lock_path(l), path);
    assert_int_equal(vp_read_line(path, &pid), 0);
    assert_string_equal(pid, me);
    vp_lock_release(VP_STEAL(&l));
    free(pid);
    pid = NULL;
    assert_int_equal(vp_root_read_line(root, "run/vpass/lock", &pid), 0);
    assert_string_equal(pid, "");
}

/* While another process holds it, a second one times out with the holder's pid. */
static void
test_timeout_names_holder(void **state)
{
    vp_lock *l = NULL;
    vp_error err = {0};
    vp_autofree char *expect = NULL;
    long long t0;
    pid_t child;

    (void)state;
    child = spawn_holder(3000);
    t0 = now_ms();
    assert_int_equal(vp_lock_acquire_timeout(root, 300, &l, &err), -1);
    assert_true(now_ms() - t0 >= 300);
    assert_true(now_ms() - t0 < 2500);
    assert_null(l);
    assert_int_equal(err.code, VP_E_SYSTEM);
    assert_int_equal(err.errnum, EWOULDBLOCK);
    expect = vp_asprintf("another vpass holds %s/run/vpass/lock (pid %ld)", root, (long)child);
    assert_string_equal(err.msg, expect);
    assert_true(err.hint[0] != '\0');
    /* A single try fails at once. */
    t0 = now_ms();
    assert_int_equal(vp_lock_acquire_timeout(root, 0, &l, &err), -1);
    assert_true(now_ms() - t0 < 200);
    reap(child);
}

/* A second process waits for the holder and gets the lock when it is released. */
static void
test_waits_for_release(void **state)
{
    vp_autoptr(vp_lock) l = NULL;
    vp_error err = {0};
    long long t0;
    pid_t child;

    (void)state;
    child = spawn_holder(400);
    t0 = now_ms();
    assert_int_equal(vp_lock_acquire_timeout(root, 5000, &l, &err), 0);
    assert_true(now_ms() - t0 >= 200);
    reap(child);
}

/* A holder that dies (no release) frees the lock: the kernel drops its flock. */
static void
test_dead_holder(void **state)
{
    vp_autoptr(vp_lock) l = NULL;
    vp_error err = {0};
    pid_t child;
    int status;

    (void)state;
    child = spawn_holder(60000);
    kill(child, SIGKILL);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(vp_lock_acquire_timeout(root, 1000, &l, &err), 0);
}

/* The root must exist: the lock never creates it. */
static void
test_missing_root(void **state)
{
    vp_lock *l = NULL;
    vp_error err = {0};
    vp_autofree char *nowhere = vp_path_join(root, "no/such/root");

    (void)state;
    assert_int_equal(vp_lock_acquire_timeout(nowhere, 0, &l, &err), -1);
    assert_int_equal(err.code, VP_E_NOTFOUND);
    assert_true(vp_startswith(err.msg, nowhere));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_pid),    cmocka_unit_test(test_timeout_names_holder),
        cmocka_unit_test(test_waits_for_release), cmocka_unit_test(test_dead_holder),
        cmocka_unit_test(test_missing_root),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
