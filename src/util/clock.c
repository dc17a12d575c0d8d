/*
 * clock.c - time conversions between the kernel's clocks.
 *
 * Offsets are measured on each call (two clock_gettime calls, vDSO, no
 * system call), so a wall-clock step is followed at once.
 */
#include <time.h>
#include <unistd.h>

#include "procwarden/clock.h"

/* ns of the given clock. */
static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t pw_now_mono(void)
{
	return now_ns(CLOCK_MONOTONIC);
}

uint64_t pw_now_real(void)
{
	return now_ns(CLOCK_REALTIME);
}

uint64_t pw_mono_to_real(uint64_t mono_ns)
{
	uint64_t m = now_ns(CLOCK_MONOTONIC);
	uint64_t r = now_ns(CLOCK_REALTIME);

	return r - (m - mono_ns);
}

/* Clock ticks per second, cached. */
static long clk_tck(void)
{
	static long tck;

	if (!tck) {
		long t = sysconf(_SC_CLK_TCK);
		tck = t > 0 ? t : 100;
	}
	return tck;
}

uint64_t pw_mono_to_ticks(uint64_t mono_ns)
{
	uint64_t m = now_ns(CLOCK_MONOTONIC);
	uint64_t b = now_ns(CLOCK_BOOTTIME);
	uint64_t boot_ns = mono_ns + (b > m ? b - m : 0);

	return boot_ns / (1000000000ull / (uint64_t)clk_tck());
}

uint64_t pw_ticks_to_mono(uint64_t ticks)
{
	uint64_t m = now_ns(CLOCK_MONOTONIC);
	uint64_t b = now_ns(CLOCK_BOOTTIME);
	uint64_t boot_ns = ticks * (1000000000ull / (uint64_t)clk_tck());
	uint64_t off = b > m ? b - m : 0;

	return boot_ns > off ? boot_ns - off : 0;
}
