/*
 * fuzz_proc.c - libFuzzer target for the /proc parsers.
 *
 * Overview: the first byte of the input picks the parser (stat, status ids,
 * cmdline, exe link), the rest is the file's text, copied to an exact-size
 * heap buffer so that ASan sees any read past its end.  The results are
 * checked against the parsers' contracts (NUL-terminated, bounded).  Owns
 * nothing across calls.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procwarden/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct proc_info pi;
	struct proc_stat st;
	uint32_t uid, euid, gid, egid;
	uint8_t which;
	char *buf;

	if (size < 1)
		return 0;
	which = data[0];
	data++;
	size--;
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	switch (which % 4) {
	case 0:
		if (proc_parse_stat(buf, size, &st) == 0 && !memchr(st.comm, '\0', sizeof(st.comm)))
			abort();
		break;
	case 1:
		(void)proc_parse_status_ids(buf, size, &uid, &euid, &gid, &egid);
		break;
	case 2:
		memset(&pi, 0, sizeof(pi));
		proc_set_argv(&pi, buf, size, which & 4);
		if (pi.argv_len > sizeof(pi.argv) || (pi.argv_len && pi.argv[pi.argv_len - 1]))
			abort();
		break;
	default:
		memset(&pi, 0, sizeof(pi));
		proc_set_exe(&pi, buf, size);
		if (!memchr(pi.exe, '\0', sizeof(pi.exe)))
			abort();
		break;
	}
	free(buf);
	return 0;
}
