/*
 * json_check.h - a small strict JSON validator for the unit tests (RFC 8259:
 * no trailing commas, no raw control characters in strings, only the
 * standard escapes, \u with four hex digits, raw bytes valid UTF-8).
 *
 * Header-only (static functions) so that each test executable needs nothing
 * else.  json_check() accepts one value, surrounding whitespace allowed.
 */
#ifndef PW_TEST_JSON_CHECK_H
#define PW_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct jcheck {
	const unsigned char *p, *end;
	int depth;
};

static bool jc_value(struct jcheck *c);

/* Skip JSON whitespace. */
static void jc_ws(struct jcheck *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* Consume the literal word w. */
static bool jc_word(struct jcheck *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* Length of a valid UTF-8 sequence at p, or 0. */
static size_t jc_utf8(const unsigned char *p, const unsigned char *end)
{
	size_t n = (size_t)(end - p), len;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	if (p[0] == 0xed)
		hi = 0x9f;
	if (p[0] == 0xf0)
		lo = 0x90;
	if (p[0] == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* Is ch a hex digit? */
static bool jc_hex(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* A string, opening quote included. */
static bool jc_string(struct jcheck *c)
{
	if (c->p >= c->end || *c->p != '"')
		return false;
	c->p++;
	while (c->p < c->end) {
		unsigned char ch = *c->p;
		size_t n;

		if (ch == '"') {
			c->p++;
			return true;
		}
		if (ch < 0x20)
			return false;
		if (ch == '\\') {
			if (c->end - c->p < 2)
				return false;
			ch = c->p[1];
			if (ch == 'u') {
				if (c->end - c->p < 6)
					return false;
				for (int i = 2; i < 6; i++)
					if (!jc_hex(c->p[i]))
						return false;
				c->p += 6;
				continue;
			}
			if (!strchr("\"\\/bfnrt", ch) || ch == '\0')
				return false;
			c->p += 2;
			continue;
		}
		n = jc_utf8(c->p, c->end);
		if (!n)
			return false;
		c->p += n;
	}
	return false;
}

/* A number in the JSON grammar. */
static bool jc_number(struct jcheck *c)
{
	const unsigned char *s;

	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p >= c->end)
		return false;
	if (*c->p == '0') {
		c->p++;
	} else if (*c->p >= '1' && *c->p <= '9') {
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
	} else {
		return false;
	}
	if (c->p < c->end && *c->p == '.') {
		s = ++c->p;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
		if (c->p == s)
			return false;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		s = c->p;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
			c->p++;
		if (c->p == s)
			return false;
	}
	return true;
}

/* An object or array, opening bracket included. */
static bool jc_container(struct jcheck *c, bool obj)
{
	char close = obj ? '}' : ']';

	if (++c->depth > 64)
		return false;
	c->p++;
	jc_ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
		c->depth--;
		return true;
	}
	for (;;) {
		jc_ws(c);
		if (obj) {
			if (!jc_string(c))
				return false;
			jc_ws(c);
			if (c->p >= c->end || *c->p != ':')
				return false;
			c->p++;
		}
		if (!jc_value(c))
			return false;
		jc_ws(c);
		if (c->p >= c->end)
			return false;
		if (*c->p == ',') {
			c->p++;
			continue;
		}
		if (*c->p != close)
			return false;
		c->p++;
		c->depth--;
		return true;
	}
}

static bool jc_value(struct jcheck *c)
{
	jc_ws(c);
	if (c->p >= c->end)
		return false;
	switch (*c->p) {
	case '{':
		return jc_container(c, true);
	case '[':
		return jc_container(c, false);
	case '"':
		return jc_string(c);
	case 't':
		return jc_word(c, "true");
	case 'f':
		return jc_word(c, "false");
	case 'n':
		return jc_word(c, "null");
	default:
		return jc_number(c);
	}
}

/* Is s[0..n) exactly one valid JSON value (whitespace around allowed)? */
static inline bool json_check(const char *s, size_t n)
{
	struct jcheck c = {(const unsigned char *)s, (const unsigned char *)s + n, 0};

	if (!jc_value(&c))
		return false;
	jc_ws(&c);
	return c.p == c.end;
}

#endif
