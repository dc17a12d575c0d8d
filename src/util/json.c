/*
 * json.c - a JSON writer into a caller's fixed buffer.
 *
 * Overview: owns nothing but the struct jbuf the caller hands in; writes only
 * into j->buf and never allocates, so the evaluator's hot path and the hook
 * executor can format records with it.  The finished line goes wherever the
 * caller sends it next (output_write(), the executor's socket).
 *
 * Truncation keeps the output valid JSON at every buffer size:
 *   - depth + 2 bytes are always held back, so json_finish() can write every
 *     closing bracket, the '\n' and the NUL;
 *   - a key is only written with 4 more bytes held for its value, so a value
 *     that does not fit becomes `null` (a string is cut at a character
 *     boundary instead, down to "");
 *   - a value inside an array that does not fit is left out;
 *   - a container that cannot be opened (no room, or deeper than the stack) is
 *     skipped whole: its contents are dropped and its close pops the skip.
 * Every such loss sets j->truncated.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "procwarden/json.h"

#define JSON_MAX_DEPTH ((int)sizeof(((struct jbuf *)0)->stack))

void json_init(struct jbuf *j, char *buf, size_t cap)
{
	memset(j, 0, sizeof(*j));
	j->buf = buf;
	j->cap = cap;
	if (cap)
		buf[0] = '\0';
}

/* Bytes free for content: everything but the closers, '\n' and NUL. */
static size_t room(const struct jbuf *j)
{
	size_t held = (size_t)j->depth + 2;

	return j->cap > j->len + held ? j->cap - j->len - held : 0;
}

/* Append n bytes; the caller has checked room(). */
static void put(struct jbuf *j, const char *s, size_t n)
{
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

/* Append one byte; the caller has checked room(). */
static void put_char(struct jbuf *j, char c)
{
	j->buf[j->len++] = c;
}

/* The separator a value needs here: 1 for a comma, else 0. */
static size_t comma_len(const struct jbuf *j)
{
	return !j->after_key && j->need_comma ? 1 : 0;
}

/* Start a value: false when it must be dropped (skipped level or dropped
 * key). */
static bool value_begin(struct jbuf *j)
{
	if (j->skipped)
		return false;
	if (j->drop_value) {
		j->drop_value = false;
		return false;
	}
	return true;
}

/* Finish a value: the next one needs a comma. */
static void value_end(struct jbuf *j)
{
	j->after_key = false;
	j->need_comma = true;
}

/* A value did not fit: after a key write null (its room is held), inside an
 * array leave it out. */
static void value_lost(struct jbuf *j)
{
	j->truncated = true;
	if (j->after_key) {
		put(j, "null", 4);
		value_end(j);
	}
}

/* Write a pre-formatted scalar of n bytes, or lose it. */
static void emit_scalar(struct jbuf *j, const char *s, size_t n)
{
	size_t c;

	if (!value_begin(j))
		return;
	c = comma_len(j);
	if (c + n > room(j)) {
		value_lost(j);
		return;
	}
	if (c)
		put_char(j, ',');
	put(j, s, n);
	value_end(j);
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if p[0] starts none
 * (overlong, surrogate, above U+10FFFF, stray continuation, cut short). */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* Encode the character at p into out (at most 6 bytes); sets *used to the
 * input bytes consumed and returns the output length. */
static size_t escape_one(const unsigned char *p, size_t n, char out[6], size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c = p[0];
	size_t len;

	*used = 1;
	switch (c) {
	case '"':
		memcpy(out, "\\\"", 2);
		return 2;
	case '\\':
		memcpy(out, "\\\\", 2);
		return 2;
	case '\n':
		memcpy(out, "\\n", 2);
		return 2;
	case '\t':
		memcpy(out, "\\t", 2);
		return 2;
	case '\r':
		memcpy(out, "\\r", 2);
		return 2;
	case '\b':
		memcpy(out, "\\b", 2);
		return 2;
	case '\f':
		memcpy(out, "\\f", 2);
		return 2;
	default:
		break;
	}
	if (c < 0x20 || c == 0x7f) {
		memcpy(out, "\\u00", 4);
		out[4] = hex[c >> 4];
		out[5] = hex[c & 0xf];
		return 6;
	}
	len = utf8_seq_len(p, n);
	if (!len) {
		memcpy(out, "\\ufffd", 6);
		return 6;
	}
	memcpy(out, p, len);
	*used = len;
	return len;
}

/* Write a quoted, escaped string; cut at a character boundary when it does
 * not fit (down to ""), or lose it when even "" does not. */
static void emit_string(struct jbuf *j, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t c, avail;

	if (!value_begin(j))
		return;
	c = comma_len(j);
	if (c + 2 > room(j)) {
		value_lost(j);
		return;
	}
	if (c)
		put_char(j, ',');
	put_char(j, '"');
	avail = room(j) - 1; /* the closing quote */
	while (n) {
		char out[6];
		size_t used, run = 0;

		/* a run of plain printable ASCII is copied as it is */
		while (run < n && run < avail && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' &&
		       p[run] != '\\')
			run++;
		if (run) {
			put(j, (const char *)p, run);
			avail -= run;
			p += run;
			n -= run;
			continue;
		}
		size_t k = escape_one(p, n, out, &used);

		if (k > avail) {
			j->truncated = true;
			break;
		}
		put(j, out, k);
		avail -= k;
		p += used;
		n -= used;
	}
	put_char(j, '"');
	value_end(j);
}

/* Open a container with the given opening and closing brackets. */
static void open_level(struct jbuf *j, char open, char close)
{
	size_t c;

	if (j->skipped) {
		j->skipped++;
		return;
	}
	if (j->drop_value) {
		j->drop_value = false;
		j->skipped++;
		return;
	}
	c = comma_len(j);
	if (j->depth >= JSON_MAX_DEPTH || c + 2 > room(j)) {
		value_lost(j);
		j->skipped++;
		return;
	}
	if (c)
		put_char(j, ',');
	put_char(j, open);
	j->stack[j->depth++] = close;
	j->after_key = false;
	j->need_comma = false;
}

/* Close the innermost level (its closer was held in reserve). */
static void close_level(struct jbuf *j)
{
	if (j->skipped) {
		j->skipped--;
		return;
	}
	if (j->depth <= 0)
		return;
	if (j->after_key)
		put(j, "null", 4); /* a key without a value: room was held */
	j->after_key = false;
	j->drop_value = false;
	put_char(j, j->stack[--j->depth]);
	j->need_comma = true;
}

void json_obj_open(struct jbuf *j)
{
	open_level(j, '{', '}');
}

void json_obj_close(struct jbuf *j)
{
	close_level(j);
}

void json_arr_open(struct jbuf *j)
{
	open_level(j, '[', ']');
}

void json_arr_close(struct jbuf *j)
{
	close_level(j);
}

void json_key(struct jbuf *j, const char *key)
{
	size_t c, n = strlen(key);

	if (j->skipped)
		return;
	c = j->need_comma ? 1 : 0;
	if (j->after_key || c + n + 3 + 4 > room(j)) {
		j->truncated = true;
		j->drop_value = true;
		return;
	}
	if (c)
		put_char(j, ',');
	put_char(j, '"');
	put(j, key, n);
	put(j, "\":", 2);
	j->after_key = true;
	j->need_comma = false;
}

void json_str(struct jbuf *j, const char *s)
{
	if (!s)
		json_null(j);
	else
		emit_string(j, s, strlen(s));
}

void json_strn(struct jbuf *j, const char *s, size_t len)
{
	emit_string(j, s, len);
}

size_t pw_fmt_u64(char *buf, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

void json_int(struct jbuf *j, int64_t v)
{
	char tmp[24];
	size_t n = 0;

	if (v < 0)
		tmp[n++] = '-';
	/* the magnitude, INT64_MIN included */
	n += pw_fmt_u64(tmp + n, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
	emit_scalar(j, tmp, n);
}

void json_uint(struct jbuf *j, uint64_t v)
{
	char tmp[24];

	emit_scalar(j, tmp, pw_fmt_u64(tmp, v));
}

void json_bool(struct jbuf *j, bool v)
{
	if (v)
		emit_scalar(j, "true", 4);
	else
		emit_scalar(j, "false", 5);
}

void json_null(struct jbuf *j)
{
	emit_scalar(j, "null", 4);
}

void json_raw(struct jbuf *j, const char *raw)
{
	emit_scalar(j, raw, strlen(raw));
}

void json_kv_str(struct jbuf *j, const char *key, const char *s)
{
	json_key(j, key);
	json_str(j, s);
}

void json_kv_strn(struct jbuf *j, const char *key, const char *s, size_t len)
{
	json_key(j, key);
	json_strn(j, s, len);
}

void json_kv_int(struct jbuf *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_int(j, v);
}

void json_kv_uint(struct jbuf *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

void json_kv_bool(struct jbuf *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

size_t json_reserve(struct jbuf *j, size_t reserve)
{
	size_t cap = j->cap;

	j->cap = cap > j->len + reserve ? cap - reserve : j->len;
	return cap;
}

void json_unreserve(struct jbuf *j, size_t cap)
{
	if (cap > j->cap)
		j->cap = cap;
}

size_t json_finish(struct jbuf *j)
{
	j->skipped = 0;
	while (j->depth > 0)
		close_level(j);
	if (j->after_key) /* a top-level key: not valid JSON anyway */
		put(j, "null", 4);
	j->after_key = false;
	if (j->len + 2 <= j->cap) {
		put_char(j, '\n');
		j->buf[j->len] = '\0';
	}
	return j->len;
}

void pw_time_rfc3339(uint64_t realtime_ns, char *buf, size_t size)
{
	/* the date and time to the second, formatted once per second per thread */
	static _Thread_local time_t last_secs = -1;
	static _Thread_local char last[32];
	static _Thread_local size_t last_len;
	time_t secs = (time_t)(realtime_ns / 1000000000u);
	unsigned usec = (unsigned)(realtime_ns % 1000000000u / 1000u);
	struct tm tm;

	if (!size)
		return;
	if (secs != last_secs) {
		int n;
		if (!gmtime_r(&secs, &tm) ||
		    (n = snprintf(last, sizeof(last), "%04d-%02d-%02dT%02d:%02d:%02d",
		                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		                  tm.tm_min, tm.tm_sec)) < 0 ||
		    (size_t)n >= sizeof(last)) {
			buf[0] = '\0';
			return;
		}
		last_len = (size_t)n;
		last_secs = secs;
	}
	if (size < last_len + 9) { /* ".uuuuuuZ" and the NUL */
		snprintf(buf, size, "%s", last);
		return;
	}
	memcpy(buf, last, last_len);
	char *p = buf + last_len;
	*p++ = '.';
	for (int i = 5; i >= 0; i--, usec /= 10)
		p[i] = (char)('0' + usec % 10);
	p[6] = 'Z';
	p[7] = '\0';
}
