/*
 * thread.c - starting the agent's threads with every signal blocked.
 *
 * The new thread inherits the mask in force at pthread_create(), so the
 * mask is set around the call and put back: no signal can land on the
 * thread even before its first instruction.
 */
#include <signal.h>

#include "procwarden/thread.h"

int pw_thread_start(pthread_t *ret, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(ret, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}
