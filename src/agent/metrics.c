/*
 * metrics.c - counters in the Prometheus text format.
 *
 * Overview: formats the evaluator's counters, the listener's and the
 * output's into a buffer and replaces the metrics file atomically (write a
 * temporary file beside it, fsync-free rename), the node_exporter textfile
 * collector convention.  Called from the evaluator thread every few seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "procwarden/gate.h"
#include "procwarden/hookexec.h"
#include "procwarden/nl.h"
#include "procwarden/output.h"
#include "procwarden/policy.h"

/* Print a Prometheus label value escaped (backslash, quote, newline). */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* One counter with HELP and TYPE. */
static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
	        (unsigned long long)v);
}

static void gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name,
	        (unsigned long long)v);
}

int agent_write_metrics(struct agent *a)
{
	const char *path = a->o->metrics_path;
	struct nl_stats ns = {0};
	struct output_stats os = {0};
	char tmp[4096];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int fd, r = 0;

	if (!path)
		return 0;
	if (a->src)
		nl_source_stats(a->src, &ns);
	if (a->out)
		output_get_stats(a->out, &os);
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	counter(f, "procwarden_launches_total", "Program launches evaluated.", a->c.launches);
	fprintf(f, "# HELP procwarden_launches_by_source_total Launches by where they were seen.\n"
	           "# TYPE procwarden_launches_by_source_total counter\n");
	static const char *const src[] = {"netlink", "rescan", "scan"};
	for (int i = 0; i < 3; i++)
		fprintf(f, "procwarden_launches_by_source_total{source=\"%s\"} %llu\n", src[i],
		        (unsigned long long)a->c.by_source[i]);
	fprintf(f, "# HELP procwarden_rule_matches_total Launches matched, per rule (since the "
	           "last reload).\n# TYPE procwarden_rule_matches_total counter\n");
	for (size_t i = 0; i < a->n_rule_matches; i++) {
		fprintf(f, "procwarden_rule_matches_total{rule=\"");
		label_value(f, policy_rule_name(a->pol, (uint32_t)i));
		fprintf(f, "\"} %llu\n", (unsigned long long)a->rule_matches[i]);
	}
	counter(f, "procwarden_records_total", "Exec records written.", a->c.records);
	counter(f, "procwarden_signals_sent_total", "Signals sent.", a->c.signals_sent);
	counter(f, "procwarden_signals_failed_total", "Signals that failed (not gone).",
	        a->c.signals_failed);
	counter(f, "procwarden_signals_gone_total",
	        "Signals not sent because the process was gone.", a->c.signals_gone);
	counter(f, "procwarden_hooks_run_total", "Hooks submitted to the executor.",
	        a->c.hooks_submitted);
	counter(f, "procwarden_hooks_ok_total", "Hooks that exited 0.", a->c.hooks_ok);
	counter(f, "procwarden_hooks_failed_total", "Hooks that failed.", a->c.hooks_failed);
	counter(f, "procwarden_hooks_timed_out_total", "Hooks killed at their timeout.",
	        a->c.hooks_timeout);
	counter(f, "procwarden_hook_executor_lost_total", "1 once the hook executor gave up.",
	        a->c.hook_executor_lost);
	counter(f, "procwarden_hooks_skipped_total",
	        "Hooks skipped (rate limit, concurrency, full queue, hook loops).",
	        a->c.hooks_skipped + a->c.hooks_local_skipped + a->c.hooks_skipped_loop);
	counter(f, "procwarden_overruns_total", "Netlink receive buffer overruns (ENOBUFS).",
	        ns.overruns);
	counter(f, "procwarden_rescans_total", "Rescans of /proc after an overrun.", a->c.rescans);
	counter(f, "procwarden_gone_before_read_total",
	        "Processes gone before /proc could be read.", a->c.gone);
	counter(f, "procwarden_exe_unknown_total",
	        "Launches evaluated without their executable (gone unnamed).", a->c.exe_unknown);
	fprintf(f,
	        "# HELP procwarden_queue_drops_total Items refused by a full queue.\n"
	        "# TYPE procwarden_queue_drops_total counter\n"
	        "procwarden_queue_drops_total{queue=\"events\"} %llu\n"
	        "procwarden_queue_drops_total{queue=\"output\"} %llu\n"
	        "procwarden_queue_drops_total{queue=\"hooks\"} %llu\n",
	        (unsigned long long)ns.ring_drops, (unsigned long long)os.drops,
	        (unsigned long long)a->c.hooks_local_skipped);
	counter(f, "procwarden_output_errors_total", "Log write errors.", os.errors);
	counter(f, "procwarden_syslog_lost_total",
	        "Records syslog did not take (its socket gone, refused or full).", os.syslog_lost);
	counter(f, "procwarden_foreign_messages_total",
	        "Netlink messages not from the kernel, ignored.", ns.foreign);
	counter(f, "procwarden_evaluations_total", "Policy evaluations.", a->c.evals);
	fprintf(f,
	        "# HELP procwarden_evaluation_seconds_total Time spent evaluating the policy.\n"
	        "# TYPE procwarden_evaluation_seconds_total counter\n"
	        "procwarden_evaluation_seconds_total %.9f\n",
	        (double)a->c.eval_ns / 1e9);
	counter(f, "procwarden_regex_match_limit_total", "Regex evaluations that hit a limit.",
	        a->c.match_errors);
	counter(f, "procwarden_reloads_total", "Successful policy reloads.", a->c.reloads);
	counter(f, "procwarden_denied_total", "Launches the gate denied before they ran.",
	        a->c.denials);
	counter(f, "procwarden_deny_fallback_kills_total",
	        "Launches a deny rule matched after they ran (not stopped by the gate): killed.",
	        a->c.deny_fallback_kills);
	if (a->gate) {
		struct gate_stats gs;
		gate_get_stats(a->gate, &gs);
		counter(f, "procwarden_gate_requests_total", "Execs the gate decided.",
		        gs.requests);
		counter(f, "procwarden_gate_errors_total",
		        "Execs the gate allowed because it could not decide (fail open).",
		        gs.errors);
		counter(f, "procwarden_gate_overflows_total",
		        "fanotify queue overflows (the kernel allowed those execs).", gs.overflows);
		counter(f, "procwarden_gate_files_allowed_total",
		        "Files the gate allowed for good (ignore marks: not held again until "
		        "modified or the policy is reloaded).",
		        gs.files_allowed);
	}
	struct pt_stats ps;
	pt_get_stats(a->pt, &ps);
	gauge(f, "procwarden_table_entries", "Processes in the process table (live and lingering).",
	      ps.entries);
	gauge(f, "procwarden_table_bytes", "Memory the process table holds.", ps.bytes);
	counter(f, "procwarden_table_full_total", "Launches the process table had no room for.",
	        ps.full);
	counter(f, "procwarden_reload_failures_total", "Failed policy reloads.",
	        a->c.reload_failures);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	/* a new file of our own: never through a link planted at the name (a
	 * stale one of ours, or anyone's link, is removed and tried once more) */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && (errno == EEXIST || errno == ELOOP) && unlink(tmp) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = -errno;
			close(fd);
			unlink(tmp);
			goto out;
		}
		off += (size_t)n;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
	}
out:
	free(buf);
	return r;
}
