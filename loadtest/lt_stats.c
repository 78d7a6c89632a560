/* roam-loadtest's figures: latency histograms (log buckets, so that the
 * workers' can be added), the server's CPU and memory from /proc, and the
 * report, as text or JSON. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loadtest/lt.h"

static const char *const op_names[LT_OP_COUNT] = { "admit", "move",  "rejoin", "reconnect",
						    "relay", "keep", "whois", "move_big", "move_restart" };
static const char *const err_names[LT_ERR_COUNT] = { "connect",  "register",      "id_changed", "move_timeout",
						      "fault_answer", "relay_lost", "lost",       "push_fallback",
						      "whois_404", "whois_busy", "whois" };
static const char *const fault_names[8] = { "drop", "stall", "slow_reader", "malformed",
					    "replay", "skew", "logout", "restart" };

static unsigned bucket_of(uint64_t ns)
{
	double us = (double)ns / 1000.0;
	unsigned b;

	if (us < 1.0)
		return 0;
	b = (unsigned)(log2(us) * 8.0);
	return b < LT_BUCKETS ? b : LT_BUCKETS - 1;
}

void lt_hist_add(struct lt_hist *h, uint64_t ns)
{
	h->bucket[bucket_of(ns)]++;
	h->count++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

/* The upper edge of the bucket holding the pct-th sample, in ms (at most
 * 9 % above the true value), the maximum itself for 100. */
double lt_hist_pct(const struct lt_hist *h, double pct)
{
	uint64_t want, seen = 0;

	if (!h->count)
		return -1.0;
	if (pct >= 100.0)
		return (double)h->max_ns / 1e6;
	want = (uint64_t)ceil((double)h->count * pct / 100.0);
	if (want == 0)
		want = 1;
	for (unsigned b = 0; b < LT_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen >= want) {
			double ms = pow(2.0, (double)(b + 1) / 8.0) / 1000.0;
			double max = (double)h->max_ns / 1e6;
			return ms < max ? ms : max;
		}
	}
	return (double)h->max_ns / 1e6;
}

void lt_stats_merge(struct lt_stats *into, const struct lt_stats *from)
{
	for (int o = 0; o < LT_OP_COUNT; o++) {
		into->op[o].count += from->op[o].count;
		if (from->op[o].max_ns > into->op[o].max_ns)
			into->op[o].max_ns = from->op[o].max_ns;
		for (unsigned b = 0; b < LT_BUCKETS; b++)
			into->op[o].bucket[b] += from->op[o].bucket[b];
	}
	for (int e = 0; e < LT_ERR_COUNT; e++)
		into->err[e] += from->err[e];
	for (int f = 0; f < 8; f++)
		into->faults[f] += from->faults[f];
	into->nodes += from->nodes;
	into->with_view_end += from->with_view_end;
	into->lost += from->lost;
	into->probes_ok += from->probes_ok;
	into->views_full += from->views_full;
	into->views_delta += from->views_delta;
	into->goodbyes += from->goodbyes;
	into->push_udp += from->push_udp;
	into->push_tcp += from->push_tcp;
	into->push_ends += from->push_ends;
	into->push_too_big += from->push_too_big;
	into->od_big |= from->od_big;
	into->od_held += from->od_held;
	into->od_learned += from->od_learned;
	if (from->admit_after_restart_ns > into->admit_after_restart_ns)
		into->admit_after_restart_ns = from->admit_after_restart_ns;
	if (from->setup_ns > into->setup_ns)
		into->setup_ns = from->setup_ns;
}

long lt_server_pid(const struct lt_opts *o)
{
	long pid = o->server_pid;
	FILE *f;

	if (o->pid_file && (f = fopen(o->pid_file, "re"))) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

/* utime + stime of pid, and its resident and peak memory. */
int lt_proc_sample(long pid, double *cpu_s, uint64_t *rss_kb, uint64_t *hwm_kb)
{
	char path[64], line[256];
	unsigned long long ut = 0, st = 0;
	const char *p;
	FILE *f;

	*cpu_s = 0;
	*rss_kb = *hwm_kb = 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (pid <= 0 || !(f = fopen(path, "re")))
		return -ENOENT;
	/* After the command name, which may hold spaces: fields 14 and 15. */
	if (fgets(line, sizeof(line), f) && (p = strrchr(line, ')')))
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
	fclose(f);
	*cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (!(f = fopen(path, "re")))
		return -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		if (sscanf(line, "VmRSS: %llu", &v) == 1)
			*rss_kb = v;
		else if (sscanf(line, "VmHWM: %llu", &v) == 1)
			*hwm_kb = v;
	}
	fclose(f);
	return 0;
}

static void report_json(const struct lt_stats *s, double cpu_s, double run_s, double steady, uint64_t rss,
			uint64_t hwm)
{
	printf("{\"nodes\":%llu,\"with_view_end\":%llu,\"lost\":%llu,\"setup_s\":%.2f,\"run_s\":%.1f,",
	       (unsigned long long)s->nodes, (unsigned long long)s->with_view_end, (unsigned long long)s->lost,
	       (double)s->setup_ns / 1e9, run_s);
	printf("\"admit_after_restart_s\":%.2f,\"faults_ok\":%llu,\"ops\":{", (double)s->admit_after_restart_ns / 1e9,
	       (unsigned long long)s->probes_ok);
	for (int o = 0; o < LT_OP_COUNT; o++)
		printf("%s\"%s\":{\"count\":%llu,\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f}",
		       o ? "," : "", op_names[o], (unsigned long long)s->op[o].count, lt_hist_pct(&s->op[o], 50),
		       lt_hist_pct(&s->op[o], 90), lt_hist_pct(&s->op[o], 99), lt_hist_pct(&s->op[o], 100));
	printf("},\"errors\":{");
	for (int e = 0; e < LT_ERR_COUNT; e++)
		printf("%s\"%s\":%llu", e ? "," : "", err_names[e], (unsigned long long)s->err[e]);
	printf("},\"faults\":{");
	for (int f = 0; f < 8; f++)
		printf("%s\"%s\":%llu", f ? "," : "", fault_names[f], (unsigned long long)s->faults[f]);
	printf("},\"views\":{\"full\":%llu,\"delta\":%llu},\"goodbyes\":%llu", (unsigned long long)s->views_full,
	       (unsigned long long)s->views_delta, (unsigned long long)s->goodbyes);
	printf(",\"push\":{\"udp\":%llu,\"tcp\":%llu,\"ends\":%llu,\"too_big\":%llu,\"fallbacks\":%llu}",
	       (unsigned long long)s->push_udp, (unsigned long long)s->push_tcp, (unsigned long long)s->push_ends,
	       (unsigned long long)s->push_too_big, (unsigned long long)s->err[LT_ERR_PUSH_FALLBACK]);
	printf(",\"on_demand\":{\"big\":%s,\"held\":%llu,\"learned\":%llu}", s->od_big ? "true" : "false",
	       (unsigned long long)s->od_held, (unsigned long long)s->od_learned);
	printf(",\"server\":{\"cpu_s\":%.2f,\"cpu_pct\":%.1f,\"steady_cpu_pct\":%.1f,\"setup_cpu_s\":%.2f,"
	       "\"setup_cpu_pct\":%.1f,\"rss_kb\":%llu,\"peak_rss_kb\":%llu,\"kb_per_node\":%.1f}}\n",
	       cpu_s, run_s > 0 ? cpu_s * 100.0 / run_s : 0.0, steady, s->setup_cpu_s,
	       s->setup_ns ? s->setup_cpu_s * 1e11 / (double)s->setup_ns : 0.0, (unsigned long long)rss,
	       (unsigned long long)hwm, s->nodes ? (double)rss / (double)s->nodes : 0.0);
}

void lt_report(const struct lt_opts *o, const struct lt_stats *s, long pid, double cpu_s, double run_s,
	       double steady_pct)
{
	double c;
	uint64_t rss = 0, hwm = 0;

	lt_proc_sample(pid, &c, &rss, &hwm);
	if (o->json) {
		report_json(s, cpu_s, run_s, steady_pct, rss, hwm);
		return;
	}
	printf("nodes %llu, holding their view at the end %llu, lost %llu; setup %.2f s, run %.1f s\n",
	       (unsigned long long)s->nodes, (unsigned long long)s->with_view_end, (unsigned long long)s->lost,
	       (double)s->setup_ns / 1e9, run_s);
	if (s->faults[LT_F_RESTART])
		printf("all nodes back %.2f s after the server restart\n", (double)s->admit_after_restart_ns / 1e9);
	printf("%-12s %8s %9s %9s %9s %9s\n", "operation", "count", "p50_ms", "p90_ms", "p99_ms", "max_ms");
	for (int i = 0; i < LT_OP_COUNT; i++)
		printf("%-12s %8llu %9.2f %9.2f %9.2f %9.2f\n", op_names[i], (unsigned long long)s->op[i].count,
		       lt_hist_pct(&s->op[i], 50), lt_hist_pct(&s->op[i], 90), lt_hist_pct(&s->op[i], 99),
		       lt_hist_pct(&s->op[i], 100));
	printf("faults:");
	for (int f = 0; f < 8; f++)
		printf(" %s=%llu", fault_names[f], (unsigned long long)s->faults[f]);
	printf(" (answered as expected: %llu)\nviews: %llu whole, %llu as deltas; %llu reconnects when a goodbye said\nerrors:",
	       (unsigned long long)s->probes_ok, (unsigned long long)s->views_full, (unsigned long long)s->views_delta,
	       (unsigned long long)s->goodbyes);
	for (int e = 0; e < LT_ERR_COUNT; e++)
		printf(" %s=%llu", err_names[e], (unsigned long long)s->err[e]);
	printf("\nstreams at the end: %llu over the push channel (udp), %llu over TLS; %llu push streams ended, "
	       "%llu of them TOO_BIG; %llu fallbacks to TLS",
	       (unsigned long long)s->push_udp, (unsigned long long)s->push_tcp, (unsigned long long)s->push_ends,
	       (unsigned long long)s->push_too_big, (unsigned long long)s->err[LT_ERR_PUSH_FALLBACK]);
	if (s->od_big)
		printf("\nthe big group is big: its members asked for %llu pairs on demand; %llu asked nodes learned "
		       "their asker from a pushed line",
		       (unsigned long long)s->od_held, (unsigned long long)s->od_learned);
	if (pid > 0)
		printf("\nserver pid %ld: cpu %.2f s over the run (%.1f %% of a core; %.1f %% steady: the second half before the restart), "
		       "rss %.1f MB (peak %.1f MB), %.1f KB per node\n",
		       pid, cpu_s, run_s > 0 ? cpu_s * 100.0 / run_s : 0.0, steady_pct, (double)rss / 1024.0,
		       (double)hwm / 1024.0,
		       s->nodes ? (double)rss / (double)s->nodes : 0.0);
	else
		printf("\nserver: no --server-pid or --pid-file, no CPU or memory figures\n");
}
