/*
 * journal.c - see journal.h.
 *
 * The line is the agent's own JSON (src/util/json.c: valid, one object, no
 * raw control characters), so a small reader of its top level suffices:
 * members are walked in order, nested values skipped by depth, and only the
 * string or number values journal.h names are decoded.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "action/journal.h"

struct jout {
	char *p;
	size_t cap, n; /* n counts past cap: the length needed */
};

static void put(struct jout *o, const void *s, size_t len)
{
	if (o->n < o->cap)
		memcpy(o->p + o->n, s, o->n + len <= o->cap ? len : o->cap - o->n);
	o->n += len;
}

static void put_u64le(struct jout *o, uint64_t v)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(o, b, 8);
}

/* One field: KEY=VALUE\n, or KEY\n<64-bit little-endian length>VALUE\n when
 * the value holds a newline. */
static void field(struct jout *o, const char *key, const char *v, size_t len)
{
	put(o, key, strlen(key));
	if (memchr(v, '\n', len)) {
		put(o, "\n", 1);
		put_u64le(o, len);
	} else {
		put(o, "=", 1);
	}
	put(o, v, len);
	put(o, "\n", 1);
}

static void field_int(struct jout *o, const char *key, long long v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%lld", v);

	field(o, key, b, (size_t)n);
}

/* ---- a reader of the line's top level ---- */

struct rd {
	const char *s, *end;
};

static void ws(struct rd *r)
{
	while (r->s < r->end && (*r->s == ' ' || *r->s == '\t' || *r->s == '\r' || *r->s == '\n'))
		r->s++;
}

/* Past a string starting at its opening quote; false if unterminated. */
static bool skip_string(struct rd *r)
{
	for (r->s++; r->s < r->end; r->s++) {
		if (*r->s == '\\')
			r->s++;
		else if (*r->s == '"') {
			r->s++;
			return true;
		}
	}
	return false;
}

/* Past any value. */
static bool skip_value(struct rd *r)
{
	ws(r);
	if (r->s >= r->end)
		return false;
	if (*r->s == '"')
		return skip_string(r);
	if (*r->s == '{' || *r->s == '[') {
		for (int depth = 0; r->s < r->end;) {
			char c = *r->s;
			if (c == '"') {
				if (!skip_string(r))
					return false;
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0) {
				r->s++;
				return true;
			}
			r->s++;
		}
		return false;
	}
	while (r->s < r->end && !strchr(",}] \t\r\n", *r->s)) /* a number, true, false, null */
		r->s++;
	return true;
}

static unsigned hex4(const char *s)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v = v * 16 + (unsigned)(c >= '0' && c <= '9'   ? c - '0'
		                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                                               : 0);
	}
	return v;
}

static size_t utf8(unsigned cp, char *b)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | cp >> 18);
	b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decode the JSON string body [p, e) into o (NULL: only measure); *nl
 * says whether it holds a newline.  Returns the decoded length. */
static size_t decode(const char *p, const char *e, struct jout *o, bool *nl)
{
	size_t n = 0;

	for (; p < e; p++) {
		char b[4];
		size_t bl = 1;
		b[0] = *p;
		if (*p == '\\' && p + 1 < e) {
			p++;
			switch (*p) {
			case 'n':
				b[0] = '\n';
				break;
			case 't':
				b[0] = '\t';
				break;
			case 'r':
				b[0] = '\r';
				break;
			case 'b':
				b[0] = '\b';
				break;
			case 'f':
				b[0] = '\f';
				break;
			case 'u':
				if (e - (p + 1) >= 4) {
					unsigned cp = hex4(p + 1);
					p += 4;
					if (cp >= 0xd800 && cp < 0xdc00 && e - (p + 1) >= 6 &&
					    p[1] == '\\' && p[2] == 'u') {
						unsigned lo = hex4(p + 3);
						if (lo >= 0xdc00 && lo < 0xe000) {
							cp = 0x10000 + ((cp - 0xd800) << 10) +
							     (lo - 0xdc00);
							p += 6;
						}
					}
					bl = utf8(cp, b);
				}
				break;
			default:
				b[0] = *p;
				break; /* \" \\ \/ */
			}
		}
		if (bl == 1 && b[0] == '\n')
			*nl = true;
		if (o)
			put(o, b, bl);
		n += bl;
	}
	return n;
}

/* The string at r->s (its opening quote), decoded, as field key. */
static bool string_field(struct rd *r, struct jout *o, const char *key)
{
	const char *start = r->s + 1;
	bool nl = false;

	if (!skip_string(r))
		return false;
	size_t len = decode(start, r->s - 1, NULL, &nl);
	put(o, key, strlen(key));
	if (nl) {
		put(o, "\n", 1);
		put_u64le(o, len);
	} else {
		put(o, "=", 1);
	}
	decode(start, r->s - 1, o, &nl);
	put(o, "\n", 1);
	return true;
}

/* A number or a string at r->s as field key; null and others skipped. */
static bool scalar_field(struct rd *r, struct jout *o, const char *key)
{
	ws(r);
	if (r->s < r->end && *r->s == '"')
		return string_field(r, o, key);
	const char *start = r->s;
	if (r->s < r->end && (*r->s == '-' || (*r->s >= '0' && *r->s <= '9'))) {
		while (r->s < r->end && strchr("+-.eE0123456789", *r->s))
			r->s++;
		field(o, key, start, (size_t)(r->s - start));
		return true;
	}
	return skip_value(r);
}

static const struct {
	const char *member, *field;
} fields[] = {
    {"type", "PROCWARDEN_TYPE"}, {"rule", "PROCWARDEN_RULE"}, {"pid", "PROCWARDEN_PID"},
    {"uid", "PROCWARDEN_UID"},   {"exe", "PROCWARDEN_EXE"},   {"severity", "PROCWARDEN_SEVERITY"},
    {"seq", "PROCWARDEN_SEQ"},
};

/* The line's top-level members journal.h names, as fields. */
static void members(struct jout *o, const char *line, size_t len)
{
	struct rd r = {line, line + len};

	ws(&r);
	if (r.s >= r.end || *r.s != '{')
		return;
	r.s++;
	for (;;) {
		ws(&r);
		if (r.s >= r.end || *r.s != '"')
			return;
		const char *k = r.s + 1;
		if (!skip_string(&r))
			return;
		size_t kl = (size_t)(r.s - 1 - k);
		ws(&r);
		if (r.s >= r.end || *r.s != ':')
			return;
		r.s++;
		ws(&r);
		const char *f = NULL;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (strlen(fields[i].member) == kl && !memcmp(fields[i].member, k, kl))
				f = fields[i].field;
		bool ok;
		if (f) {
			ok = scalar_field(&r, o, f);
		} else if (kl == 5 && !memcmp(k, "rules", 5) && r.s < r.end && *r.s == '[') {
			r.s++; /* each rule name: PROCWARDEN_RULE repeated */
			for (ok = true; ok;) {
				ws(&r);
				if (r.s < r.end && *r.s == ']') {
					r.s++;
					break;
				}
				ok = scalar_field(&r, o, "PROCWARDEN_RULE");
				ws(&r);
				if (ok && r.s < r.end && *r.s == ',')
					r.s++;
				else if (r.s >= r.end || *r.s != ']')
					ok = false; /* not the agent's JSON: stop */
			}
		} else {
			ok = skip_value(&r);
		}
		if (!ok)
			return;
		ws(&r);
		if (r.s >= r.end || *r.s != ',')
			return;
		r.s++;
	}
}

size_t pw_journal_encode(char *out, size_t cap, const char *line, size_t len, int prio,
                         int facility, const char *ident, int pid)
{
	struct jout o = {out, cap, 0};

	field_int(&o, "PRIORITY", prio & 7);
	field_int(&o, "SYSLOG_FACILITY", facility >> 3);
	field(&o, "SYSLOG_IDENTIFIER", ident, strlen(ident));
	field_int(&o, "SYSLOG_PID", pid);
	members(&o, line, len);
	field(&o, "MESSAGE", line, len);
	return o.n;
}
