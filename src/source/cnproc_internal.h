/* Internal to src/source: the subscription message and diagnosis. */
#ifndef PROCWARDEN_CNPROC_INTERNAL_H
#define PROCWARDEN_CNPROC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel's PROC_EVENT_ALL (with PROC_EVENT_NONZERO_EXIT, Linux 6.6+). */
#define NL_KERNEL_EVENT_ALL 0xe00003c7u

/* Send PROC_CN_MCAST_LISTEN/IGNORE; with_filter sends struct proc_input
 * carrying mask (Linux 6.6+).  0 or negative errno. */
int nl_send_op(int fd, uint32_t op, uint32_t mask, bool with_filter, uint32_t seq, uint32_t ack);
/* Why a subscription got no acknowledgement, as a sentence for people. */
void nl_explain_no_ack(char *why, size_t whylen);
/* True on kernels with the connector's own event filter (6.6+). */
bool nl_kernel_has_filter(void);

#endif
