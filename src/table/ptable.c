/*
 * ptable.c - the process table (see ptable.h).
 *
 * Overview: a fixed array of entries (allocated once; pages are touched
 * only as slots are first used), a pid index (chained through the entries),
 * interned exe strings with reference counts (a storm of launches shares a
 * handful of programs), and two lists of exited entries: `exited`, in exit
 * order, and `held`, those past their linger time that a living child still
 * names as its parent.  Nothing here reads /proc, prints or takes a lock:
 * the consumer that owns the table feeds it events and what it read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "procwarden/ptable.h"

#define NONE UINT32_MAX
#define STR_BUCKETS 4096

struct str {
	struct str *next;
	uint32_t refs, hash;
	size_t len;
	char s[];
};

enum { L_NONE, L_EXITED, L_HELD };

struct entry {
	struct pt_proc p;
	struct str *exe, *pexe;
	uint32_t gen;
	uint32_t parent, parent_gen; /* the forking parent's slot, or NONE */
	uint32_t refs;               /* children that name this entry as parent */
	uint32_t hnext;              /* pid index chain */
	uint32_t lprev, lnext;       /* exited/held list, or the free list (lnext) */
	uint8_t in_use, mapped, list, resync;
};

struct list {
	uint32_t head, tail, n;
};

struct ptable {
	struct entry *e;
	size_t cap;
	uint32_t used_top; /* slots [0, used_top) have been used at least once */
	uint32_t free_head;
	uint32_t *bucket; /* pid index */
	uint32_t nbucket; /* power of two */
	struct str *strs[STR_BUCKETS];
	struct list exited, held;
	struct pt_stats st;
};

static bool same_start(uint64_t fork_ns, uint64_t start_ns);

/* ---- strings ---- */

static uint32_t str_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* An interned copy of s with one more reference, or NULL (no memory). */
static struct str *str_get(struct ptable *t, const char *s)
{
	size_t len = strlen(s);
	uint32_t h = str_hash(s, len);
	struct str **b = &t->strs[h & (STR_BUCKETS - 1)], *x;

	for (x = *b; x; x = x->next)
		if (x->hash == h && x->len == len && !memcmp(x->s, s, len)) {
			x->refs++;
			return x;
		}
	x = malloc(sizeof(*x) + len + 1);
	if (!x)
		return NULL;
	x->refs = 1;
	x->hash = h;
	x->len = len;
	memcpy(x->s, s, len + 1);
	x->next = *b;
	*b = x;
	t->st.strings++;
	t->st.bytes += sizeof(*x) + len + 1;
	return x;
}

static struct str *str_ref(struct str *x)
{
	if (x)
		x->refs++;
	return x;
}

static void str_put(struct ptable *t, struct str *x)
{
	struct str **b;

	if (!x || --x->refs)
		return;
	for (b = &t->strs[x->hash & (STR_BUCKETS - 1)]; *b; b = &(*b)->next)
		if (*b == x) {
			*b = x->next;
			break;
		}
	t->st.strings--;
	t->st.bytes -= sizeof(*x) + x->len + 1;
	free(x);
}

/* ---- lists of exited entries ---- */

static void list_append(struct ptable *t, struct list *l, uint32_t i, uint8_t which)
{
	struct entry *e = &t->e[i];

	e->list = which;
	e->lnext = NONE;
	e->lprev = l->tail;
	if (l->tail != NONE)
		t->e[l->tail].lnext = i;
	else
		l->head = i;
	l->tail = i;
	l->n++;
}

static void list_unlink(struct ptable *t, uint32_t i)
{
	struct entry *e = &t->e[i];
	struct list *l = e->list == L_EXITED ? &t->exited : e->list == L_HELD ? &t->held : NULL;

	if (!l)
		return;
	if (e->lprev != NONE)
		t->e[e->lprev].lnext = e->lnext;
	else
		l->head = e->lnext;
	if (e->lnext != NONE)
		t->e[e->lnext].lprev = e->lprev;
	else
		l->tail = e->lprev;
	l->n--;
	e->list = L_NONE;
}

/* ---- the pid index ---- */

static uint32_t *bucket_of(struct ptable *t, pid_t pid)
{
	return &t->bucket[((uint32_t)pid * 2654435761u) & (t->nbucket - 1)];
}

static void unmap(struct ptable *t, uint32_t i)
{
	struct entry *e = &t->e[i];
	uint32_t *p;

	if (!e->mapped)
		return;
	for (p = bucket_of(t, e->p.pid); *p != NONE; p = &t->e[*p].hnext)
		if (*p == i) {
			*p = e->hnext;
			break;
		}
	e->mapped = 0;
}

static void map(struct ptable *t, uint32_t i)
{
	uint32_t *b = bucket_of(t, t->e[i].p.pid);

	t->e[i].hnext = *b;
	*b = i;
	t->e[i].mapped = 1;
}

/* ---- entries ---- */

static uint32_t slot_of(const struct ptable *t, const struct pt_proc *p)
{
	return (uint32_t)((const struct entry *)(const void *)p - t->e);
}

static void entry_free(struct ptable *t, uint32_t i)
{
	/* iterative: freeing the last child of a held parent frees the parent
	 * too, and a chain of them can be as long as the table */
	while (i != NONE) {
		struct entry *e = &t->e[i], *pe;
		uint32_t ps = e->parent, pg = e->parent_gen;

		list_unlink(t, i);
		unmap(t, i);
		str_put(t, e->exe);
		str_put(t, e->pexe);
		if (!e->p.exit_ns)
			t->st.live--;
		if (e->refs)
			t->st.evicted_linked++;
		e->in_use = 0;
		e->exe = e->pexe = NULL;
		e->gen++;
		e->lnext = t->free_head;
		t->free_head = i;
		t->st.entries--;
		i = NONE;
		if (ps == NONE)
			break;
		pe = &t->e[ps];
		if (!pe->in_use || pe->gen != pg || !pe->refs)
			break;
		if (--pe->refs == 0 && pe->list == L_HELD)
			i = ps; /* past its linger: nothing names it now */
	}
}

/* A free slot: a never-used one, a freed one, or the oldest exited entry
 * (evicted).  NONE when every entry is alive. */
static uint32_t entry_alloc(struct ptable *t)
{
	uint32_t i;

	if (t->free_head == NONE && t->used_top < t->cap) {
		t->e[t->used_top].lnext = NONE;
		t->e[t->used_top].gen = 1;
		t->free_head = t->used_top++;
	}
	if (t->free_head == NONE) {
		if (t->exited.head != NONE)
			entry_free(t, t->exited.head);
		else if (t->held.head != NONE)
			entry_free(t, t->held.head);
	}
	if (t->free_head == NONE) {
		t->st.full++;
		return NONE;
	}
	i = t->free_head;
	t->free_head = t->e[i].lnext;
	return i;
}

/* A new entry for pid (mapped, alive), replacing an older one of the pid. */
static struct entry *entry_new(struct ptable *t, pid_t pid, uint64_t ns, uint32_t origin)
{
	struct pt_proc *old = pt_get(t, pid);
	uint32_t i, gen;
	struct entry *e;

	if (old) {
		if (!old->exit_ns) {
			/* its exit was lost (an overrun): it is gone now */
			t->st.reused++;
			old->exit_ns = ns;
			t->st.live--;
			list_append(t, &t->exited, slot_of(t, old), L_EXITED);
		}
		unmap(t, slot_of(t, old));
	}
	i = entry_alloc(t);
	if (i == NONE)
		return NULL;
	e = &t->e[i];
	gen = e->gen;
	memset(e, 0, sizeof(*e));
	e->gen = gen;
	e->in_use = 1;
	e->parent = e->lprev = e->lnext = e->hnext = NONE;
	e->p.pid = pid;
	e->p.fork_ns = ns;
	e->p.origin = origin;
	map(t, i);
	t->st.entries++;
	t->st.live++;
	if (t->st.entries > t->st.peak)
		t->st.peak = t->st.entries;
	return e;
}

/* Link e to the parent entry pe (a reference) and copy what a child
 * inherits of it. */
static void inherit(struct ptable *t, struct entry *e, struct entry *pe)
{
	const uint32_t ids = PT_K_IDS;

	e->parent = slot_of(t, &pe->p);
	e->parent_gen = pe->gen;
	pe->refs++;
	e->p.uid = pe->p.uid;
	e->p.euid = pe->p.euid;
	e->p.gid = pe->p.gid;
	e->p.egid = pe->p.egid;
	e->p.known |= pe->p.known & ids;
	if (pe->exe) {
		e->exe = str_ref(pe->exe);
		e->p.exe = e->exe->s;
		e->p.known |= PT_K_EXE;
		e->pexe = str_ref(pe->exe);
		e->p.parent_exe = e->pexe->s;
		e->p.known |= PT_K_PARENT_EXE;
	}
	if (pe->p.known & PT_K_FILE) {
		e->p.file = pe->p.file;
		e->p.parent_file = pe->p.file;
		e->p.known |= PT_K_FILE | PT_K_PARENT_FILE;
	}
	if (pe->p.known & PT_K_COMM) {
		memcpy(e->p.comm, pe->p.comm, PT_COMM_MAX);
		memcpy(e->p.parent_comm, pe->p.comm, PT_COMM_MAX);
		e->p.known |= PT_K_COMM | PT_K_PARENT_COMM;
	}
}

int pt_new(size_t capacity, struct ptable **ret)
{
	struct ptable *t = calloc(1, sizeof(*t));
	uint32_t nb = 1;

	if (!t)
		return -ENOMEM;
	t->cap = capacity ? capacity : PT_CAPACITY_DEFAULT;
	if (t->cap > (1u << 24))
		t->cap = 1u << 24;
	while (nb < t->cap)
		nb <<= 1;
	t->nbucket = nb;
	t->e = calloc(t->cap, sizeof(*t->e));
	t->bucket = malloc(nb * sizeof(*t->bucket));
	if (!t->e || !t->bucket) {
		pt_free(t);
		return -ENOMEM;
	}
	memset(t->bucket, 0xff, nb * sizeof(*t->bucket));
	t->free_head = NONE;
	t->exited = t->held = (struct list){.head = NONE, .tail = NONE};
	t->st.capacity = t->cap;
	*ret = t;
	return 0;
}

void pt_free(struct ptable *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < STR_BUCKETS; i++)
		for (struct str *x = t->strs[i], *n; x; x = n) {
			n = x->next;
			free(x);
		}
	free(t->e);
	free(t->bucket);
	free(t);
}

struct pt_proc *pt_get(struct ptable *t, pid_t pid)
{
	for (uint32_t i = *bucket_of(t, pid); i != NONE; i = t->e[i].hnext)
		if (t->e[i].p.pid == pid)
			return &t->e[i].p;
	return NULL;
}

struct pt_proc *pt_deref(struct ptable *t, struct pt_ref r)
{
	if (r.slot >= t->cap || !t->e[r.slot].in_use || t->e[r.slot].gen != r.gen)
		return NULL;
	return &t->e[r.slot].p;
}

struct pt_ref pt_ref_of(const struct ptable *t, const struct pt_proc *p)
{
	uint32_t i = slot_of(t, p);

	return (struct pt_ref){.slot = i, .gen = t->e[i].gen};
}

struct pt_proc *pt_fork(struct ptable *t, pid_t ppid, pid_t pid, uint64_t ns)
{
	struct entry *e = entry_new(t, pid, ns, PT_FORKED);
	struct pt_proc *pp;

	if (!e)
		return NULL;
	pp = pt_get(t, ppid); /* after entry_new(): an eviction may drop an exited one */
	e->p.ppid = ppid;
	e->p.known |= PT_K_PPID;
	if (pp)
		inherit(t, e, (struct entry *)(void *)pp);
	return &e->p;
}

struct pt_proc *pt_exec(struct ptable *t, pid_t pid, uint64_t ns)
{
	struct pt_proc *p = pt_get(t, pid);
	struct entry *e;

	if (p && p->exit_ns) {
		/* an exec after the leader's exit: a thread exec'd (it becomes
		 * the leader); the process lives on */
		list_unlink(t, slot_of(t, p));
		p->exit_ns = 0;
		t->st.live++;
	}
	if (!p) {
		e = entry_new(t, pid, ns, PT_EXEC_ONLY);
		if (!e)
			return NULL;
		p = &e->p;
	}
	e = (struct entry *)(void *)p;
	str_put(t, e->exe);
	e->exe = NULL;
	p->exe = NULL;
	p->known &= ~(uint32_t)(PT_K_EXE | PT_K_FILE | PT_K_COMM | PT_K_EUID | PT_K_EGID);
	p->comm[0] = '\0';
	p->prev_exec_ns = p->exec_ns;
	p->exec_ns = ns;
	p->execs++;
	return p;
}

struct pt_proc *pt_exit(struct ptable *t, pid_t pid, uint64_t ns)
{
	struct pt_proc *p = pt_get(t, pid);

	if (!p || p->exit_ns)
		return p;
	p->exit_ns = ns ? ns : 1;
	t->st.live--;
	list_append(t, &t->exited, slot_of(t, p), L_EXITED);
	return p;
}

struct pt_proc *pt_uid(struct ptable *t, pid_t pid, uint32_t ruid, uint32_t euid)
{
	struct pt_proc *p = pt_get(t, pid);

	if (p) {
		p->uid = ruid;
		p->euid = euid;
		p->known |= PT_K_UID | PT_K_EUID;
	}
	return p;
}

struct pt_proc *pt_gid(struct ptable *t, pid_t pid, uint32_t rgid, uint32_t egid)
{
	struct pt_proc *p = pt_get(t, pid);

	if (p) {
		p->gid = rgid;
		p->egid = egid;
		p->known |= PT_K_GID | PT_K_EGID;
	}
	return p;
}

void pt_set_comm(struct pt_proc *p, const char *comm)
{
	size_t n = strnlen(comm, PT_COMM_MAX - 1);

	memcpy(p->comm, comm, n);
	p->comm[n] = '\0';
	p->known |= PT_K_COMM;
}

struct pt_proc *pt_comm(struct ptable *t, pid_t pid, const char *comm)
{
	struct pt_proc *p = pt_get(t, pid);

	if (p)
		pt_set_comm(p, comm);
	return p;
}

int pt_set_exe(struct ptable *t, struct pt_proc *p, const char *exe, const struct pw_file_id *file)
{
	struct entry *e = (struct entry *)(void *)p;

	if (exe) {
		struct str *x = str_get(t, exe);
		str_put(t, e->exe);
		e->exe = x;
		p->exe = x ? x->s : NULL;
		if (x)
			p->known |= PT_K_EXE;
		else
			p->known &= ~(uint32_t)PT_K_EXE;
	}
	if (file) {
		p->file = *file;
		p->known |= PT_K_FILE;
	}
	return exe && !e->exe ? -ENOMEM : 0;
}

struct pt_proc *pt_scanned(struct ptable *t, pid_t pid, pid_t ppid, uint64_t start_ns,
                           uint32_t known, uint32_t uid, uint32_t euid, uint32_t gid, uint32_t egid,
                           const char *exe, const char *comm)
{
	struct pt_proc *p = pt_get(t, pid);
	struct entry *e;

	/* the same process when it is alive and started in the same 20 ms (a
	 * start time has clock-tick resolution) or was first seen later */
	if (p && !p->exit_ns && same_start(p->fork_ns, start_ns)) {
		e = (struct entry *)(void *)p;
		e->resync = 0;
	} else {
		e = entry_new(t, pid, start_ns, PT_SCANNED);
		if (!e)
			return NULL;
		p = &e->p;
		if (ppid > 0) {
			struct pt_proc *pp = pt_get(t, ppid);
			p->ppid = ppid;
			p->known |= PT_K_PPID;
			if (pp && !pp->exit_ns)
				inherit(t, e, (struct entry *)(void *)pp);
		}
	}
	if (known & PT_K_IDS) {
		p->uid = uid;
		p->euid = euid;
		p->gid = gid;
		p->egid = egid;
		p->known |= known & PT_K_IDS;
	}
	if (exe && exe[0])
		pt_set_exe(t, p, exe, NULL);
	if (comm && comm[0])
		pt_set_comm(p, comm);
	return p;
}

struct pt_proc *pt_parent(struct ptable *t, const struct pt_proc *p)
{
	const struct entry *e = (const struct entry *)(const void *)p;

	return pt_deref(t, (struct pt_ref){.slot = e->parent, .gen = e->parent_gen});
}

int pt_walk_ancestors(struct ptable *t, const struct pt_proc *p,
                      int (*fn)(const char *exe, const struct pw_file_id *file, unsigned depth,
                                void *arg),
                      void *arg)
{
	for (unsigned depth = 1; depth <= PT_DEPTH_MAX; depth++) {
		int r = fn(p->known & PT_K_PARENT_EXE ? p->parent_exe : NULL,
		           p->known & PT_K_PARENT_FILE ? &p->parent_file : NULL, depth, arg);
		if (r)
			return r;
		/* the root: init, a kernel thread's child (kthreadd is pid 2) or
		 * a process whose parent is outside our pid namespace (0) */
		if ((p->known & PT_K_PPID) && p->ppid <= 2)
			return 0;
		const struct pt_proc *pp = pt_parent(t, p);
		if (!pp)
			return PT_WALK_CUT;
		p = pp;
	}
	return PT_WALK_CUT;
}

void pt_expire(struct ptable *t, uint64_t now_ns)
{
	while (t->exited.head != NONE) {
		uint32_t i = t->exited.head;
		struct entry *e = &t->e[i];

		if (e->p.exit_ns + PT_LINGER_NS > now_ns)
			break;
		if (e->refs) {
			list_unlink(t, i);
			list_append(t, &t->held, i, L_HELD);
		} else {
			entry_free(t, i);
		}
	}
}

void pt_resync_begin(struct ptable *t)
{
	for (uint32_t i = 0; i < t->used_top; i++)
		if (t->e[i].in_use && !t->e[i].p.exit_ns)
			t->e[i].resync = 1;
}

/* Could an entry first seen at fork_ns be the process that /proc says
 * started at start_ns?  (Start times have clock-tick resolution.) */
static bool same_start(uint64_t fork_ns, uint64_t start_ns)
{
	return fork_ns + 20000000ull >= start_ns && start_ns + 20000000ull >= fork_ns;
}

void pt_confirm(struct ptable *t, pid_t pid, uint64_t start_ns)
{
	struct pt_proc *p = pt_get(t, pid);

	if (p && !p->exit_ns && same_start(p->fork_ns, start_ns))
		((struct entry *)(void *)p)->resync = 0;
}

void pt_resync_end(struct ptable *t, uint64_t now_ns)
{
	for (uint32_t i = 0; i < t->used_top; i++) {
		struct entry *e = &t->e[i];

		if (!e->in_use)
			continue;
		if (e->resync && !e->p.exit_ns)
			pt_exit(t, e->p.pid, now_ns); /* not in /proc any more */
		e->resync = 0;
		/* a child scanned before its parent (a lower pid) */
		if (e->p.origin == PT_SCANNED && e->parent == NONE && (e->p.known & PT_K_PPID)) {
			struct pt_proc *pp = pt_get(t, e->p.ppid);
			if (pp && pp != &e->p && !pp->exit_ns) {
				struct entry *pe = (struct entry *)(void *)pp;
				e->parent = slot_of(t, pp);
				e->parent_gen = pe->gen;
				pe->refs++;
				if (pe->exe && !e->pexe) {
					e->pexe = str_ref(pe->exe);
					e->p.parent_exe = e->pexe->s;
					e->p.known |= PT_K_PARENT_EXE;
				}
				if ((pp->known & PT_K_COMM) && !(e->p.known & PT_K_PARENT_COMM)) {
					memcpy(e->p.parent_comm, pp->comm, PT_COMM_MAX);
					e->p.known |= PT_K_PARENT_COMM;
				}
			}
		}
	}
}

void pt_get_stats(const struct ptable *t, struct pt_stats *ret)
{
	*ret = t->st;
	ret->bytes += (uint64_t)t->used_top * sizeof(struct entry) +
	              (uint64_t)t->nbucket * sizeof(uint32_t) + sizeof(*t);
}
