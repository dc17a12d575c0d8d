/*
 * thread.h - starting the agent's threads.
 *
 * Every thread but the main one starts with every signal blocked, so that
 * signals only ever reach the main loop's signalfd.
 */
#ifndef PROCWARDEN_THREAD_H
#define PROCWARDEN_THREAD_H

#include <pthread.h>

/* Start fn(arg) in a new thread with every signal blocked (the caller's
 * mask is unchanged).  0 and *ret, or negative errno. */
int pw_thread_start(pthread_t *ret, void *(*fn)(void *), void *arg);

#endif
