/*
 * names.c - signal and severity names, and "did you mean" suggestions.
 *
 * Overview: constant tables only, no state.  Used by the loader (parsing,
 * suggestions in messages) and by the command layer (printing verdicts).
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "policy_int.h"

static const char *const severity_names[] = {"info", "notice", "warning", "error", "critical"};

/* Signal names without the SIG prefix, as the kernel numbers them on Linux. */
static const struct {
	const char *name;
	int sig;
} signal_table[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},   {"IOT", SIGIOT},
    {"POLL", SIGPOLL}, {"CLD", SIGCHLD},
};

#define N_SIGNALS (sizeof(signal_table) / sizeof(signal_table[0]))

const char *pw_severity_name(int sev)
{
	if (sev < SEV_INFO || sev > SEV_CRITICAL)
		return "?";
	return severity_names[sev];
}

int pw_severity_syslog(int sev)
{
	switch (sev) {
	case SEV_INFO:
		return LOG_INFO;
	case SEV_WARNING:
		return LOG_WARNING;
	case SEV_ERROR:
		return LOG_ERR;
	case SEV_CRITICAL:
		return LOG_CRIT;
	default:
		return LOG_NOTICE;
	}
}

int policy_severity_parse(const char *name)
{
	for (int i = 0; i <= SEV_CRITICAL; i++)
		if (strcmp(name, severity_names[i]) == 0)
			return i;
	return -EINVAL;
}

int pw_signal_parse(const char *name)
{
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (size_t i = 0; i < N_SIGNALS; i++)
		if (strcasecmp(name, signal_table[i].name) == 0)
			return signal_table[i].sig;
	return -EINVAL;
}

const char *pw_signal_name(int sig)
{
	/* Canonical names only: the aliases come last in the table. */
	static const char *const full[] = {
	    [SIGHUP] = "SIGHUP",       [SIGINT] = "SIGINT",       [SIGQUIT] = "SIGQUIT",
	    [SIGILL] = "SIGILL",       [SIGTRAP] = "SIGTRAP",     [SIGABRT] = "SIGABRT",
	    [SIGBUS] = "SIGBUS",       [SIGFPE] = "SIGFPE",       [SIGKILL] = "SIGKILL",
	    [SIGUSR1] = "SIGUSR1",     [SIGSEGV] = "SIGSEGV",     [SIGUSR2] = "SIGUSR2",
	    [SIGPIPE] = "SIGPIPE",     [SIGALRM] = "SIGALRM",     [SIGTERM] = "SIGTERM",
	    [SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD",     [SIGCONT] = "SIGCONT",
	    [SIGSTOP] = "SIGSTOP",     [SIGTSTP] = "SIGTSTP",     [SIGTTIN] = "SIGTTIN",
	    [SIGTTOU] = "SIGTTOU",     [SIGURG] = "SIGURG",       [SIGXCPU] = "SIGXCPU",
	    [SIGXFSZ] = "SIGXFSZ",     [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
	    [SIGWINCH] = "SIGWINCH",   [SIGIO] = "SIGIO",         [SIGPWR] = "SIGPWR",
	    [SIGSYS] = "SIGSYS",
	};

	if (sig <= 0 || (size_t)sig >= sizeof(full) / sizeof(full[0]))
		return NULL;
	return full[sig];
}

/* Optimal string alignment distance of a and b (case-insensitive), or a
 * large number when either is too long to be a plausible typo. */
static unsigned edit_distance(const char *a, const char *b)
{
	enum { MAXL = 32 };
	unsigned d[MAXL + 1][MAXL + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > MAXL || lb > MAXL)
		return 1000;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost =
			    tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			unsigned v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 &&
			    tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

const char *policy_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	unsigned best_d = 3;

	for (size_t i = 0; i < n; i++) {
		unsigned dist = edit_distance(word, cands[i]);

		/* Short words allow one typo, longer ones two. */
		if (dist < best_d && dist <= (strlen(cands[i]) <= 4 ? 1u : 2u)) {
			best = cands[i];
			best_d = dist;
		}
	}
	return best;
}

const char *policy_suggest_signal(const char *word)
{
	const char *names[N_SIGNALS];
	const char *w = word;
	const char *best;

	if (strncasecmp(w, "SIG", 3) == 0)
		w += 3;
	for (size_t i = 0; i < N_SIGNALS; i++)
		names[i] = signal_table[i].name;
	best = policy_suggest(w, names, N_SIGNALS);
	if (!best)
		return NULL;
	return pw_signal_name(pw_signal_parse(best));
}
