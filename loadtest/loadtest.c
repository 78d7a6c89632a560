/* roam-loadtest: N simulated nodes against a roam-server, with operations
 * and faults at given rates, and a report (docs/man/roam-loadtest.8.scd).
 * The nodes are spread over worker processes (each holds one socket per
 * node on the push channel, two on TLS streams, under the open-files limit); the parent starts them, kills
 * and restarts the server when told how, reads the server's CPU and memory
 * from /proc, and adds up the workers' figures. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/coord_sim.h"
#include "crypto/crypto.h"
#include "loadtest/lt.h"

/* --push tcp: TLS + UDP (the UDP one closes after the ack); udp: the UDP
 * socket alone (TLS only while registering, in a window of 128), planned
 * as 5 for 4 nodes: room for a fifth of them on TLS for a while (TOO_BIG,
 * a fallback) without running out of descriptors. */
#define LT_FDS_PER_4_NODES_TCP 8
#define LT_FDS_PER_4_NODES_UDP 5

struct worker {
	pid_t pid;
	int ready_fd, go_fd, result_fd;
};

/* Workers enough that each stays under the open-files limit, whole groups
 * each (a move is measured inside one process). */
static void plan_procs(struct lt_opts *o)
{
	struct rlimit rl = { 0 };
	size_t per, groups = (o->nodes + o->group_size - 1) / o->group_size;

	if (!o->procs) {
		getrlimit(RLIMIT_NOFILE, &rl);
		per = rl.rlim_max > 512 ? (size_t)(rl.rlim_max - 256) * 4 /
						 (o->push_tcp ? LT_FDS_PER_4_NODES_TCP : LT_FDS_PER_4_NODES_UDP)
					 : 128;
		o->procs = (o->nodes + per - 1) / per;
	}
	if (o->procs > groups)
		o->procs = groups;
	if (o->procs > LT_PROCS_MAX)
		o->procs = LT_PROCS_MAX;
	if (!o->procs)
		o->procs = 1;
}

static int start_worker(const struct lt_opts *o, struct worker *all, size_t i, size_t base, size_t count)
{
	struct worker *w = &all[i];
	int ready[2], go[2], result[2];

	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 || pipe2(result, O_CLOEXEC) < 0)
		return -errno;
	if ((w->pid = fork()) < 0)
		return -errno;
	if (w->pid == 0) {
		int r;
		/* The earlier workers' pipe ends: holding their go pipe open would
		 * keep them from seeing the parent close it at the end. */
		for (size_t j = 0; j < i; j++) {
			close(all[j].ready_fd);
			close(all[j].go_fd);
			close(all[j].result_fd);
		}
		close(ready[0]);
		close(go[1]);
		close(result[0]);
		fcntl(go[0], F_SETFL, O_NONBLOCK);
		g_sim.epfd = epoll_create1(EPOLL_CLOEXEC);
		g_sim.ctx = sim_http_ctx();
		r = (g_sim.epfd < 0 || !g_sim.ctx) ? 1 : lt_run(o, base, count, ready[1], go[0]);
		close(ready[1]); /* a worker that failed its setup: the parent reads EOF */
		if (write(result[1], &g_lt, sizeof(g_lt)) != (ssize_t)sizeof(g_lt))
			r = 1;
		/* Hold the nodes until the parent has read the server's memory. */
		fcntl(go[0], F_SETFL, 0);
		while (read(go[0], &base, sizeof(base)) > 0)
			;
		_exit(r);
	}
	close(ready[1]);
	close(go[0]);
	close(result[1]);
	w->ready_fd = ready[0];
	w->go_fd = go[1];
	w->result_fd = result[0];
	return 0;
}

static void restart_server(const struct lt_opts *o)
{
	long pid;

	if (o->restart_cmd) {
		int r = system(o->restart_cmd);
		if (r != 0)
			fprintf(stderr, "roam-loadtest: --restart-cmd exited with %d\n", r);
		return;
	}
	if ((pid = lt_server_pid(o)) > 0 && kill((pid_t)pid, SIGKILL) < 0)
		fprintf(stderr, "roam-loadtest: kill %ld: %s\n", pid, strerror(errno));
}

/* Go, restart when due, collect. Returns the CPU seconds the server used
 * during the run (the old process's up to the restart, the new one's after). */
static double run_workers(const struct lt_opts *o, struct worker *w, struct lt_stats *total, double *run_s,
			  double *steady_pct)
{
	uint64_t t0, restart_ns = 0;
	double cpu0 = 0, cpu1 = 0, cpu = 0;
	uint64_t rss, hwm;
	char byte;
	long pid;

	for (size_t i = 0; i < o->procs; i++)
		if (read(w[i].ready_fd, &byte, 1) != 1)
			fprintf(stderr, "roam-loadtest: worker %zu failed its setup\n", i);
	t0 = sim_mono_ns();
	pid = lt_server_pid(o);
	lt_proc_sample(pid, &cpu0, &rss, &hwm);
	total->setup_cpu_s = cpu0;
	/* Progress: a big setup is minutes without a word. */
	fprintf(stderr, "roam-loadtest: %zu nodes hold their view: %u s of load%s\n", o->nodes, o->duration_s,
		o->restart_at_s ? ", with the server's restart" : "");
	if (o->restart_at_s)
		restart_ns = t0 + (uint64_t)o->restart_at_s * 1000000000ull;
	for (size_t i = 0; i < o->procs; i++)
		if (write(w[i].go_fd, &restart_ns, sizeof(restart_ns)) != (ssize_t)sizeof(restart_ns))
			fprintf(stderr, "roam-loadtest: worker %zu is gone\n", i);
	if (restart_ns) {
		/* Steady state: the second half of the time before the restart
		 * (the first holds the setup's tail: asks, catch-ups, the first
		 * KEEPs' new streams). */
		uint64_t half_ns = t0 + (uint64_t)o->restart_at_s * 500000000ull;
		double cpu_half = cpu0;
		while (sim_mono_ns() < half_ns)
			usleep(10000);
		lt_proc_sample(pid, &cpu_half, &rss, &hwm);
		while (sim_mono_ns() < restart_ns)
			usleep(10000);
		lt_proc_sample(pid, &cpu1, &rss, &hwm);
		cpu = cpu1 - cpu0;
		cpu0 = 0;
		*steady_pct = (cpu1 - cpu_half) * 100.0 / ((double)o->restart_at_s / 2.0);
		restart_server(o);
		total->faults[LT_F_RESTART]++;
		for (int i = 0; i < 100 && (pid = lt_server_pid(o)) > 0 && kill((pid_t)pid, 0) < 0; i++)
			usleep(50000);
	}
	for (size_t i = 0; i < o->procs; i++) {
		struct lt_stats s;
		if (read(w[i].result_fd, &s, sizeof(s)) == (ssize_t)sizeof(s))
			lt_stats_merge(total, &s);
		else
			fprintf(stderr, "roam-loadtest: worker %zu sent no figures\n", i);
	}
	*run_s = (double)(sim_mono_ns() - t0) / 1e9;
	pid = lt_server_pid(o);
	if (lt_proc_sample(pid, &cpu1, &rss, &hwm) == 0)
		cpu += cpu1 - cpu0;
	if (!restart_ns && *run_s > 0)
		*steady_pct = cpu * 100.0 / *run_s;
	return cpu;
}

int main(int argc, char *argv[])
{
	struct lt_opts o;
	char error[ARGS_ERROR_MAX];
	static struct lt_stats total;
	struct worker w[LT_PROCS_MAX];
	size_t per, base = 0;
	double cpu, run_s = 0, steady_pct = 0;
	int status, rc = 0;

	lt_opts_defaults(&o);
	switch (lt_opts_parse(argc, argv, &o, error, sizeof(error))) {
	case 0:
		break;
	case LT_OPTS_HELP:
		fputs(lt_usage_text, stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	default:
		fprintf(stderr, "roam-loadtest: %s\n(`roam-loadtest --help` lists its options)\n", error);
		return 2;
	}
	if (sim_parse_server(o.server_text) < 0) {
		fputs("roam-loadtest: --server wants a numeric HOST:PORT\n", stderr);
		return 2;
	}
	if (crypto_init() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	plan_procs(&o);
	/* Whole groups per worker when there is no big group; its members
	 * are spread over all of them (sim_group_of), each worker holding
	 * its share. */
	per = o.big_group ? (o.nodes + o.procs - 1) / o.procs
			  : (o.nodes / o.group_size + o.procs - 1) / o.procs * o.group_size;
	if (per == 0)
		per = o.nodes;
	for (size_t i = 0; i < o.procs; i++) {
		size_t count = base + per > o.nodes || i == o.procs - 1 ? o.nodes - base : per;
		if (!count) {
			o.procs = i; /* fewer workers than planned: no empty one */
			break;
		}
		if (start_worker(&o, w, i, base, count) < 0) {
			perror("roam-loadtest: worker");
			return 1;
		}
		base += count;
	}
	cpu = run_workers(&o, w, &total, &run_s, &steady_pct);
	lt_report(&o, &total, lt_server_pid(&o), cpu, run_s, steady_pct);
	for (size_t i = 0; i < o.procs; i++) {
		close(w[i].go_fd);
		if (waitpid(w[i].pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			rc = 1;
	}
	if (total.lost || total.err[LT_ERR_ID_CHANGED] || total.err[LT_ERR_PROBE_UNEXPECTED] ||
	    total.err[LT_ERR_MOVE_TIMEOUT] || total.err[LT_ERR_WHOIS_404] || total.err[LT_ERR_WHOIS] ||
	    total.with_view_end != o.nodes)
		rc = 1;
	return rc;
}
