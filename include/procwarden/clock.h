/*
 * clock.h - converting the kernel's event timestamps.
 *
 * The connector stamps events with CLOCK_MONOTONIC ns; /proc's start time is
 * in clock ticks of CLOCK_BOOTTIME; records want wall-clock time.
 */
#ifndef PROCWARDEN_CLOCK_H
#define PROCWARDEN_CLOCK_H

#include <stdint.h>

/* Now, in ns, of CLOCK_MONOTONIC / CLOCK_REALTIME. */
uint64_t pw_now_mono(void);
uint64_t pw_now_real(void);
/* A monotonic timestamp as wall-clock ns (offset measured now). */
uint64_t pw_mono_to_real(uint64_t mono_ns);
/* A monotonic timestamp as /proc start-time clock ticks since boot. */
uint64_t pw_mono_to_ticks(uint64_t mono_ns);
/* /proc start-time ticks as monotonic ns. */
uint64_t pw_ticks_to_mono(uint64_t ticks);

#endif
