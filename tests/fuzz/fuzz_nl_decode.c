/*
 * fuzz_nl_decode.c - libFuzzer target for the proc connector decoder.
 *
 * Overview: the first 4 bytes of the input are the sender's netlink port, the
 * rest one datagram.  Each input is decoded as it came (a random sender must
 * be refused with -EPERM unless it is 0) and again as if the kernel sent it,
 * so every length check runs on arbitrary bytes.  Owns nothing across calls.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procwarden/nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode one datagram; abort when the contract is broken. */
static void decode(const uint8_t *buf, size_t len, uint32_t sender)
{
	struct pw_event ev;
	int r = nl_decode(buf, len, sender, &ev);

	if (sender != 0 && r != -EPERM)
		abort(); /* only the kernel is believed */
	if (r == NL_DEC_EVENT && ev.type == PW_EV_NONE)
		abort();
	if (r < 0 && r != -EPERM && r != -EBADMSG)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t sender = 0;
	uint8_t *copy;

	if (size >= 4) {
		memcpy(&sender, data, 4);
		data += 4;
		size -= 4;
	}
	/* an exact-size heap copy, so that ASan sees any read past the end */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	decode(copy, size, sender);
	decode(copy, size, 0);
	free(copy);
	return 0;
}
