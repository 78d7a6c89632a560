/* roam-loadtest: N simulated nodes against a roam-server, with operations
 * and faults at given rates, and a report (docs/man/roam-loadtest.8.scd).
 * The nodes are spread over worker processes (each holds one socket per
 * node on the push channel, two on TLS streams, under the open-files limit); the parent starts them, kills
 * and restarts the server when told how, reads the server's CPU and memory
 * from /proc, and adds up the workers' figures. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

#define LT_PROCS_MAX 64
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

static void usage(FILE *out)
{
	fputs("usage: roam-loadtest --server HOST:PORT --tokens FILE [options]\n"
	      "Simulated roam nodes against a roam-server, with faults; prints a report.\n"
	      "  --server HOST:PORT     the server (numeric address; on 127.x.x.x, nodes come from\n"
	      "                         127.1.0.1, 127.1.0.2, ..., 10 000 each: one address has ~28 000 ports)\n"
	      "  --tokens FILE          join tokens, one a line; group i uses line i mod count\n"
	      "  --nodes N              simulated nodes (default 100)\n"
	      "  --group-size G         nodes per group (default 100)\n"
	      "  --procs P              worker processes (default: enough for the open-files limit)\n"
	      "  --duration S           seconds of load after all nodes hold their view (default 30)\n"
	      "  --move-rate R          endpoint changes per second, measured to every group peer (default 2)\n"
	      "  --relay-rate R         relayed datagrams per second (default 5)\n"
	      "  --rejoin-rate R        logouts per second, each node rejoining at once (default 0)\n"
	      "  --drop-rate R          node connections dropped per second (default 0)\n"
	      "  --stall-rate R         silent TCP connections per second, held --stall seconds (default 0)\n"
	      "  --slow-rate R          nodes per second that stop reading for --stall seconds (default 0)\n"
	      "  --malformed-rate R     malformed requests per second (default 0)\n"
	      "  --replay-rate R        replayed requests per second (default 0)\n"
	      "  --skew-rate R          requests per second with a clock skewed by --skew (default 0)\n"
	      "  --skew S               the skew, seconds (default 300: refused by the server)\n"
	      "  --stall S              seconds a stall or slow reader lasts (default 2)\n"
	      "  --restart-at S         kill and restart the server S seconds into the run:\n"
	      "  --restart-cmd CMD      run CMD (sh -c) to do it, or else\n"
	      "  --pid-file FILE        kill -9 the pid in FILE (a supervisor restarts it); also for figures\n"
	      "  --server-pid PID       the server's pid, for CPU and memory (local server only)\n"
	      "  --lost-after S         a node without its view this long is lost (default 30)\n"
	      "  --settle S             seconds after the run for every node to be back (default 30)\n"
	      "  --setup-timeout S      seconds for all nodes to register and hold a view (default 150)\n"
	      "  --big-group N          N nodes, spread over all workers, form one group (token line 1);\n"
	      "                         the rest groups of G\n"
	      "  --full-views           reconnecting nodes ask for the whole view, not what changed\n"
	      "  --push udp|tcp         how nodes hear from the server: the push channel over their UDP socket\n"
	      "                         (default), or a TLS stream each (as before it, to compare)\n"
	      "  --keep-interval S      push channel: a BINDING and a KEEP every S seconds (default 25)\n"
	      "  --json                 the report as one JSON object\n"
	      "  --help                 this text\n"
	      "Exit status: 0 when no node was lost and every fault got the answer it must get, 1 otherwise, 2 usage.\n",
	      out);
}

static int parse_opts(int argc, char *argv[], struct lt_opts *o)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },      { "tokens", required_argument, NULL, 'T' },
		{ "nodes", required_argument, NULL, 'N' },       { "group-size", required_argument, NULL, 'g' },
		{ "procs", required_argument, NULL, 'p' },       { "duration", required_argument, NULL, 'd' },
		{ "move-rate", required_argument, NULL, 1 },     { "relay-rate", required_argument, NULL, 2 },
		{ "rejoin-rate", required_argument, NULL, 3 },   { "drop-rate", required_argument, NULL, 4 },
		{ "stall-rate", required_argument, NULL, 5 },    { "slow-rate", required_argument, NULL, 6 },
		{ "malformed-rate", required_argument, NULL, 7 }, { "replay-rate", required_argument, NULL, 8 },
		{ "skew-rate", required_argument, NULL, 9 },     { "skew", required_argument, NULL, 10 },
		{ "stall", required_argument, NULL, 11 },        { "restart-at", required_argument, NULL, 12 },
		{ "restart-cmd", required_argument, NULL, 13 },  { "pid-file", required_argument, NULL, 14 },
		{ "server-pid", required_argument, NULL, 15 },   { "lost-after", required_argument, NULL, 16 },
		{ "settle", required_argument, NULL, 17 },       { "setup-timeout", required_argument, NULL, 18 },
		{ "full-views", no_argument, NULL, 19 },        { "big-group", required_argument, NULL, 20 },
		{ "push", required_argument, NULL, 21 },        { "keep-interval", required_argument, NULL, 22 },
		{ "json", no_argument, NULL, 'j' },              { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->server_text = optarg; break;
		case 'T': o->tokens_file = optarg; break;
		case 'N': o->nodes = strtoul(optarg, NULL, 10); break;
		case 'g': o->group_size = strtoul(optarg, NULL, 10); break;
		case 'p': o->procs = strtoul(optarg, NULL, 10); break;
		case 'd': o->duration_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case 1: o->move_rate = strtod(optarg, NULL); break;
		case 2: o->relay_rate = strtod(optarg, NULL); break;
		case 3: o->rejoin_rate = strtod(optarg, NULL); break;
		case 4: o->drop_rate = strtod(optarg, NULL); break;
		case 5: o->stall_rate = strtod(optarg, NULL); break;
		case 6: o->slow_rate = strtod(optarg, NULL); break;
		case 7: o->malformed_rate = strtod(optarg, NULL); break;
		case 8: o->replay_rate = strtod(optarg, NULL); break;
		case 9: o->skew_rate = strtod(optarg, NULL); break;
		case 10: o->skew_s = (int)strtol(optarg, NULL, 10); break;
		case 11: o->stall_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case 12: o->restart_at_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case 13: o->restart_cmd = optarg; break;
		case 14: o->pid_file = optarg; break;
		case 15: o->server_pid = strtol(optarg, NULL, 10); break;
		case 16: o->lost_after_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case 17: o->settle_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case 18: o->setup_timeout_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case 19: o->full_views = true; break;
		case 20: o->big_group = strtoul(optarg, NULL, 10); break;
		case 21:
			if (strcmp(optarg, "udp") != 0 && strcmp(optarg, "tcp") != 0)
				return -EINVAL;
			o->push_tcp = optarg[0] == 't';
			break;
		case 22: o->keep_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'j': o->json = true; break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (optind != argc || !o->server_text || !o->tokens_file || !o->nodes || !o->group_size) {
		fputs("roam-loadtest: --server, --tokens and a positive --nodes and --group-size are needed\n", stderr);
		return -EINVAL;
	}
	if (!o->keep_s) {
		fputs("roam-loadtest: --keep-interval must be positive\n", stderr);
		return -EINVAL;
	}
	if (o->big_group >= o->nodes) {
		fputs("roam-loadtest: --big-group must be below --nodes\n", stderr);
		return -EINVAL;
	}
	if (o->restart_at_s && !o->restart_cmd && !o->pid_file) {
		fputs("roam-loadtest: --restart-at needs --restart-cmd or --pid-file\n", stderr);
		return -EINVAL;
	}
	return 0;
}

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
	if (o->restart_at_s)
		restart_ns = t0 + (uint64_t)o->restart_at_s * 1000000000ull;
	for (size_t i = 0; i < o->procs; i++)
		if (write(w[i].go_fd, &restart_ns, sizeof(restart_ns)) != (ssize_t)sizeof(restart_ns))
			fprintf(stderr, "roam-loadtest: worker %zu is gone\n", i);
	if (restart_ns) {
		while (sim_mono_ns() < restart_ns)
			usleep(10000);
		lt_proc_sample(pid, &cpu1, &rss, &hwm);
		cpu = cpu1 - cpu0;
		cpu0 = 0;
		/* Steady state: the load before the restart. */
		*steady_pct = cpu * 100.0 / (double)o->restart_at_s;
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
	struct lt_opts o = { .nodes = 100, .group_size = 100, .duration_s = 30, .move_rate = 2, .relay_rate = 5,
			     .skew_s = 300, .stall_s = 2, .lost_after_s = 30, .settle_s = 30, .setup_timeout_s = 150,
			     .keep_s = COORD_PUSH_KEEPALIVE_S };
	static struct lt_stats total;
	struct worker w[LT_PROCS_MAX];
	size_t per, base = 0;
	double cpu, run_s = 0, steady_pct = 0;
	int status, rc = 0;

	if (parse_opts(argc, argv, &o) < 0) {
		usage(stderr);
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
	    total.err[LT_ERR_MOVE_TIMEOUT] || total.with_view_end != o.nodes)
		rc = 1;
	return rc;
}
