/*
 * cnproc.c - the proc connector: decoding, filtering, subscribing.
 *
 * Overview: nl_decode() and nl_build_filter() are pure functions over bytes.
 * nl_subscribe() sends PROC_CN_MCAST_LISTEN (with struct proc_input, the
 * connector's own event filter, on Linux 6.6+) and waits for the kernel's
 * acknowledgement, because a subscription that did not take (privilege,
 * namespace, no CONFIG_PROC_EVENTS) otherwise looks exactly like a quiet
 * machine.  Events that arrive while waiting are handed to the caller's
 * callback, not dropped.  Nothing here prints: causes go into a `why` buffer.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>

#include "procwarden/clock.h"
#include "procwarden/nl.h"
#include "source/cnproc_internal.h"

/* Linux 6.6's struct proc_input; older uapi headers lack it. */
struct pw_proc_input {
	uint32_t mcast_op;
	uint32_t event_type;
};

#define CN_HDR_OFF NLMSG_HDRLEN                            /* struct cn_msg */
#define EV_OFF (NLMSG_HDRLEN + sizeof(struct cn_msg))       /* struct proc_event */
#define EV_HEAD 16u /* what, cpu, timestamp_ns */

/* Bytes of the union member that an event of this type needs. */
static int payload_need(uint32_t what, size_t *need)
{
	switch (what) {
	case PROC_EVENT_NONE:
		*need = 4;
		return 0;
	case PROC_EVENT_FORK:
	case PROC_EVENT_PTRACE:
	case PROC_EVENT_COREDUMP:
	case PROC_EVENT_UID:
	case PROC_EVENT_GID:
		*need = 16;
		return 0;
	case PROC_EVENT_EXEC:
	case PROC_EVENT_SID:
		*need = 8;
		return 0;
	case PROC_EVENT_COMM:
		*need = 8 + 16;
		return 0;
	case PROC_EVENT_EXIT:
		*need = 24;
		return 0;
	default:
		return -ENOENT;
	}
}

/* Read a native u32/i32 at off of p (no alignment assumed). */
static uint32_t rd32(const unsigned char *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

int nl_decode(const void *buf, size_t len, uint32_t sender_port, struct pw_event *ev)
{
	const unsigned char *p = buf;
	struct nlmsghdr nh;
	struct cn_msg cn;
	const unsigned char *d;
	uint32_t what;
	size_t need;

	if (sender_port != 0)
		return -EPERM;
	if (len < sizeof(nh))
		return -EBADMSG;
	memcpy(&nh, p, sizeof(nh));
	if (nh.nlmsg_len < sizeof(nh) || nh.nlmsg_len > len)
		return -EBADMSG;
	if (nh.nlmsg_type == NLMSG_NOOP || nh.nlmsg_type == NLMSG_ERROR ||
	    nh.nlmsg_type == NLMSG_OVERRUN)
		return NL_DEC_SKIP;
	if (nh.nlmsg_len < EV_OFF)
		return -EBADMSG;
	memcpy(&cn, p + CN_HDR_OFF, sizeof(cn));
	if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC)
		return NL_DEC_SKIP;
	if ((size_t)cn.len > nh.nlmsg_len - EV_OFF || cn.len < EV_HEAD)
		return -EBADMSG;
	d = p + EV_OFF;
	what = rd32(d, 0);
	if (payload_need(what, &need) < 0)
		return NL_DEC_SKIP; /* a type this build does not know */
	if (cn.len < EV_HEAD + need)
		return -EBADMSG;

	memset(ev, 0, sizeof(*ev));
	ev->type = what;
	ev->cpu = rd32(d, 4);
	memcpy(&ev->ktime_ns, d + 8, sizeof(ev->ktime_ns));
	ev->pidfd = ev->exefd = -1;
	d += EV_HEAD;
	switch (what) {
	case PROC_EVENT_NONE:
		ev->a = rd32(d, 0);
		ev->b = cn.ack;
		ev->pid = (int32_t)cn.seq;
		return NL_DEC_ACK;
	case PROC_EVENT_FORK:
		ev->ptid = (int32_t)rd32(d, 0);
		ev->ppid = (int32_t)rd32(d, 4);
		ev->tid = (int32_t)rd32(d, 8);
		ev->pid = (int32_t)rd32(d, 12);
		break;
	case PROC_EVENT_EXEC:
	case PROC_EVENT_SID:
		ev->tid = (int32_t)rd32(d, 0);
		ev->pid = (int32_t)rd32(d, 4);
		break;
	case PROC_EVENT_UID:
	case PROC_EVENT_GID:
		ev->tid = (int32_t)rd32(d, 0);
		ev->pid = (int32_t)rd32(d, 4);
		ev->a = rd32(d, 8);
		ev->b = rd32(d, 12);
		break;
	case PROC_EVENT_PTRACE:
	case PROC_EVENT_COREDUMP:
		ev->tid = (int32_t)rd32(d, 0);
		ev->pid = (int32_t)rd32(d, 4);
		ev->ptid = (int32_t)rd32(d, 8);
		ev->ppid = (int32_t)rd32(d, 12);
		break;
	case PROC_EVENT_COMM:
		ev->tid = (int32_t)rd32(d, 0);
		ev->pid = (int32_t)rd32(d, 4);
		memcpy(ev->comm, d + 8, 15);
		ev->comm[15] = '\0';
		break;
	case PROC_EVENT_EXIT:
		ev->tid = (int32_t)rd32(d, 0);
		ev->pid = (int32_t)rd32(d, 4);
		ev->a = rd32(d, 8);
		ev->b = rd32(d, 12);
		ev->ptid = (int32_t)rd32(d, 16);
		ev->ppid = (int32_t)rd32(d, 20);
		break;
	}
	return NL_DEC_EVENT;
}

int nl_build_filter(uint32_t mask, void *prog, size_t max)
{
	/* Loads are big-endian (network order): compare with htonl() values. */
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, CN_HDR_OFF + offsetof(struct cn_msg, id.idx)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __builtin_bswap32(CN_IDX_PROC), 0, 6),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, CN_HDR_OFF + offsetof(struct cn_msg, id.val)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __builtin_bswap32(CN_VAL_PROC), 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, EV_OFF),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), /* ack: keep */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, __builtin_bswap32(mask), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	size_t n = sizeof(f) / sizeof(f[0]);

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	f[1].k = CN_IDX_PROC;
	f[3].k = CN_VAL_PROC;
	f[6].k = mask;
#endif
	if (n > max)
		return -ENOSPC;
	memcpy(prog, f, sizeof(f));
	return (int)n;
}

/* Kernel release as major*1000+minor, or 0. */
static int kernel_version(void)
{
	struct utsname u;
	int maj = 0, min = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &maj, &min) != 2)
		return 0;
	return maj * 1000 + min;
}

/* 1 when /proc/self/ns/NAME is the initial namespace (by inode), 0 if not,
 * -1 when unknown. */
static int ns_is_initial(const char *name, ino_t init_ino)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
	if (stat(path, &st) < 0)
		return -1;
	return st.st_ino == init_ino;
}

/* 1 when CAP_NET_ADMIN is in the effective set. */
static int have_net_admin(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &h, data) < 0)
		return 0;
	return (data[CAP_NET_ADMIN / 32].effective >> (CAP_NET_ADMIN % 32)) & 1;
}

void nl_explain_no_ack(char *why, size_t whylen)
{
	int kv = kernel_version();
	int pidns = ns_is_initial("pid", 0xEFFFFFFC);
	int userns = ns_is_initial("user", 0xEFFFFFFD);

	if (!why || !whylen)
		return;
	if (pidns == 0 || userns == 0)
		snprintf(why, whylen,
			 "the proc connector did not acknowledge the subscription: this process "
			 "runs in a %s namespace that is not the initial one, and the connector "
			 "serves only the initial pid and user namespaces (run procwarden on the "
			 "host, or in a container with the host's pid namespace and no user "
			 "namespace)",
			 pidns == 0 && userns == 0 ? "pid and a user"
			 : pidns == 0		   ? "pid"
						   : "user");
	else if (kv && kv < 6006 && !have_net_admin())
		snprintf(why, whylen,
			 "the proc connector did not acknowledge the subscription: before Linux "
			 "6.6 it needs CAP_NET_ADMIN (run as root)");
	else
		snprintf(why, whylen,
			 "the proc connector did not acknowledge the subscription: the kernel may "
			 "be built without CONFIG_PROC_EVENTS");
}

int nl_send_op(int fd, uint32_t op, uint32_t mask, bool with_filter, uint32_t seq, uint32_t ack)
{
	unsigned char buf[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(struct pw_proc_input))];
	struct pw_proc_input in = {.mcast_op = op, .event_type = mask};
	size_t dlen = with_filter ? sizeof(in) : sizeof(op);
	struct nlmsghdr nh = {
		.nlmsg_len = NLMSG_LENGTH(sizeof(struct cn_msg) + dlen),
		.nlmsg_type = NLMSG_DONE,
		.nlmsg_flags = 0,
		.nlmsg_seq = seq,
		.nlmsg_pid = 0,
	};
	struct cn_msg cn = {
		.id = {.idx = CN_IDX_PROC, .val = CN_VAL_PROC},
		.seq = seq,
		.ack = ack,
		.len = (uint16_t)dlen,
	};
	struct sockaddr_nl dst = {.nl_family = AF_NETLINK};

	memset(buf, 0, sizeof(buf));
	memcpy(buf, &nh, sizeof(nh));
	memcpy(buf + CN_HDR_OFF, &cn, sizeof(cn));
	memcpy(buf + EV_OFF, with_filter ? (const void *)&in : (const void *)&op, dlen);
	if (sendto(fd, buf, nh.nlmsg_len, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		return -errno;
	return 0;
}

bool nl_kernel_has_filter(void)
{
	return kernel_version() >= 6006;
}
