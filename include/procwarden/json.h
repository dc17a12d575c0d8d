/*
 * json.h - a JSON writer into a caller's fixed buffer.
 *
 * No allocation: the hot path formats records with it.  When the buffer
 * fills, strings are cut at a character boundary (and the object is still
 * closed validly by json_finish(), which reserves room for it), and
 * truncated is set.  Every string is escaped: quotes, backslash, control
 * characters as \uXXXX, and bytes that are not valid UTF-8 as U+FFFD, so the
 * output is always valid JSON whatever the input bytes.
 */
#ifndef PROCWARDEN_JSON_H
#define PROCWARDEN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jbuf {
	char *buf;
	size_t cap;     /* bytes in buf */
	size_t len;     /* bytes used */
	int depth;      /* open objects/arrays */
	char stack[16]; /* '}' or ']' to close each level */
	bool need_comma;
	bool truncated;
	/* Added: truncation state (see json.c). */
	bool after_key;  /* a key was written; 4 bytes are held for its value */
	bool drop_value; /* the key did not fit: drop the value that follows */
	int skipped;     /* levels not opened (no room or too deep); closes pop these first */
};

/* Start writing into buf (cap >= 64). */
void json_init(struct jbuf *j, char *buf, size_t cap);

void json_obj_open(struct jbuf *j);             /* { */
void json_obj_close(struct jbuf *j);            /* } */
void json_arr_open(struct jbuf *j);             /* [ */
void json_arr_close(struct jbuf *j);            /* ] */
void json_key(struct jbuf *j, const char *key); /* "key": (key is trusted ASCII) */

/* Values (inside an array, or after json_key). */
void json_str(struct jbuf *j, const char *s);              /* NUL-terminated; NULL: null */
void json_strn(struct jbuf *j, const char *s, size_t len); /* any bytes */
void json_int(struct jbuf *j, int64_t v);
void json_uint(struct jbuf *j, uint64_t v);
void json_bool(struct jbuf *j, bool v);
void json_null(struct jbuf *j);
void json_raw(struct jbuf *j, const char *raw); /* pre-formatted value */

/* Shorthands: key + value. */
void json_kv_str(struct jbuf *j, const char *key, const char *s);
void json_kv_int(struct jbuf *j, const char *key, int64_t v);
void json_kv_uint(struct jbuf *j, const char *key, uint64_t v);
void json_kv_bool(struct jbuf *j, const char *key, bool v);
void json_kv_strn(struct jbuf *j, const char *key, const char *s, size_t len); /* added */

/* Hold back reserve bytes for what follows (a record's fields after its
 * argv): until json_unreserve(j, the value returned), values are cut or
 * dropped as if the buffer ended reserve bytes early. */
size_t json_reserve(struct jbuf *j, size_t reserve);
void json_unreserve(struct jbuf *j, size_t cap);

/* Close every open level, append '\n', NUL-terminate.  Returns the length
 * (without the NUL). */
size_t json_finish(struct jbuf *j);

/* Format a CLOCK_REALTIME time as RFC 3339 UTC with microseconds:
 * "2026-11-22T00:25:03.123456Z".  buf needs 28 bytes. */
void pw_time_rfc3339(uint64_t realtime_ns, char *buf, size_t size);

/* v in decimal into buf (at least 21 bytes), not NUL-terminated; returns the
 * length.  For hot paths, where snprintf() shows in profiles. */
size_t pw_fmt_u64(char *buf, uint64_t v);

#endif
