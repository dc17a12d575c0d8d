/*
 * test_source_mounts.c - the gate's mount-table parsing (gate_internal.h)
 * from a fixture: escapes, optional fields, overmounts, bad lines; and which
 * mount points a deny rule's directories cover.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "source/gate_internal.h"

static void test_parse_fixture(void **state)
{
	struct gate_mount *v;
	char *text;
	ssize_t n;

	(void)state;
	n = gate_read_mounts(PW_FIXTURES "/mounts/mountinfo", &text, &v);
	assert_int_equal(n, 8); /* "bad line" left out; "44" has no source: kept */
	/* sorted by mount point, then by place: the two /dev/shm in table order */
	assert_string_equal(v[0].mp, "/");
	assert_string_equal(v[1].mp, "/dev");
	assert_string_equal(v[2].mp, "/dev/shm");
	assert_string_equal(v[3].mp, "/dev/shm");
	assert_true(v[2].idx < v[3].idx);
	assert_true(v[2].dev == makedev(0, 23) && v[3].dev == makedev(0, 27));
	assert_string_equal(v[4].mp, "/home/u/fuse");
	assert_string_equal(v[4].type, "fuse.sshfs");
	assert_string_equal(v[5].mp, "/media/usb stick"); /* \040 undone */
	assert_true(v[5].noexec);
	assert_string_equal(v[5].type, "vfat"); /* after the optional "shared:5" */
	assert_string_equal(v[6].mp, "/opt");
	assert_string_equal(v[7].mp, "/srv/bind");
	assert_string_equal(v[7].root, "/sub"); /* a bind mount of a directory */
	assert_false(v[7].noexec);
	assert_true(v[0].dev == makedev(254, 0));
	free(v);
	free(text);
	assert_true(gate_read_mounts(PW_FIXTURES "/mounts/none", &text, &v) < 0);
}

static void test_below_dirs(void **state)
{
	const char *dirs[] = {"/media/", "/opt/kiosk"};
	const char *root[] = {"/"};

	(void)state;
	assert_true(gate_below_dirs(dirs, 2, "/media/usb"));
	assert_true(gate_below_dirs(dirs, 2, "/opt/kiosk/sub/x"));
	assert_false(gate_below_dirs(dirs, 2, "/media")); /* the point itself: its own fs */
	assert_false(gate_below_dirs(dirs, 2, "/opt/kiosk2"));
	assert_false(gate_below_dirs(dirs, 2, "/opt"));
	assert_false(gate_below_dirs(dirs, 0, "/media/usb"));
	assert_true(gate_below_dirs(root, 1, "/anything"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_fixture),
	    cmocka_unit_test(test_below_dirs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
