/*
 * output.h - where records go: a log file or stdout, and syslog.
 *
 * output_write() never blocks and never does I/O: it copies the line into a
 * bounded byte ring and returns; a writer thread writes the file and syslog.
 * A full ring refuses the line and counts it (a slow disk never stalls the
 * evaluator).  The writer writes in batches: a line reaches the file within
 * OUTPUT_FLUSH_INTERVAL_MS of being queued, an urgent one (a syslog priority
 * of LOG_WARNING or more severe) at once.  output_reopen() asks the writer to
 * reopen the log file (logrotate); output_flush() waits until everything
 * queued is written.
 */
#ifndef PROCWARDEN_OUTPUT_H
#define PROCWARDEN_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct output;

/* The longest a line that is not urgent waits in the ring before the writer
 * writes it (the writer wakes once per interval, not once per line). */
#define OUTPUT_FLUSH_INTERVAL_MS 25

struct output_opts {
	const char *log_path; /* append to this file; NULL or "-": standard output */
	bool syslog;          /* also to syslog */
	bool journal;         /* with syslog: as native entries to the systemd journal */
	int syslog_facility;  /* LOG_* facility; 0: LOG_AUTHPRIV */
	int syslog_max_prio;  /* lines less severe than this go to the file only; 0: all */
	/* fields put first in every line that is a JSON object, with "seq" (the
	 * order lines were queued, from 1; one refused or lost leaves a gap)
	 * after them: e.g. "\"host\":\"h\",\"boot_id\":\"...\","; NULL: none */
	const char *record_prefix;
	size_t ring_bytes; /* 0: 512 KiB */
	bool set_nice;     /* the writer thread runs at nice (whatever it inherited) */
	int nice;
};

/* Open the log and start the writer thread.  0 and *ret, or negative errno
 * (the log file could not be opened: nothing started). */
int output_new(const struct output_opts *o, struct output **ret);
/* Queue one line (len bytes, ending in '\n') with a syslog priority (LOG_*;
 * -1: none; sent to syslog only when the output has it).  A priority of
 * LOG_WARNING or more severe (0..LOG_WARNING) is urgent: the writer is woken
 * at once; other lines are written within OUTPUT_FLUSH_INTERVAL_MS, or as
 * soon as a quarter of the ring is used.  0, or -ENOBUFS when the ring is
 * full (counted). */
int output_write(struct output *o, const char *line, size_t len, int syslog_prio);
/* Ask the writer to reopen the log file; returns at once. */
void output_reopen(struct output *o);
/* Wait until every queued line is written (bounded by timeout_ms; 0 = 5 s).
 * Returns 0, or -ETIMEDOUT. */
int output_flush(struct output *o, unsigned timeout_ms);
/* Flush, stop the writer, close the file.  Accepts NULL. */
void output_free(struct output *o);

struct output_stats {
	uint64_t lines;  /* written */
	uint64_t drops;  /* refused: ring full */
	uint64_t errors; /* write errors (disk full, ...) */
	uint64_t reopens;
	uint64_t batches; /* writes of a batch of lines (lines / batches: how well they batch) */
	uint64_t syslog_lost; /* messages syslog did not take (socket gone, refused, full) */
};
void output_get_stats(const struct output *o, struct output_stats *ret);

#endif
