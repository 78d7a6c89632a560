/* roam-loadtest's options on lib/util/args, as roam, roamd and roam-server
 * take theirs: one table, every number checked against its range ("--duration
 * wants a number in 0..86400, not 'abc'"), "did you mean" for a typo. No I/O:
 * the program prints the error and exits 2. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "coord/push.h"
#include "loadtest/lt.h"

enum {
	O_SERVER = 1, O_TOKENS, O_NODES, O_GROUP_SIZE, O_PROCS, O_DURATION, O_MOVE_RATE, O_RELAY_RATE, O_REJOIN_RATE,
	O_DROP_RATE, O_STALL_RATE, O_SLOW_RATE, O_MALFORMED_RATE, O_REPLAY_RATE, O_SKEW_RATE, O_SKEW, O_STALL,
	O_RESTART_AT, O_RESTART_CMD, O_PID_FILE, O_SERVER_PID, O_LOST_AFTER, O_SETTLE, O_SETUP_TIMEOUT, O_FULL_VIEWS,
	O_BIG_GROUP, O_GROUP_VIEW_MAX, O_ASK, O_PUSH, O_KEEP_INTERVAL, O_JSON,
};

const struct args_opt lt_opt_table[] = {
	{ "server", 0, true, O_SERVER },
	{ "tokens", 0, true, O_TOKENS },
	{ "nodes", 0, true, O_NODES },
	{ "group-size", 0, true, O_GROUP_SIZE },
	{ "procs", 0, true, O_PROCS },
	{ "duration", 0, true, O_DURATION },
	{ "move-rate", 0, true, O_MOVE_RATE },
	{ "relay-rate", 0, true, O_RELAY_RATE },
	{ "rejoin-rate", 0, true, O_REJOIN_RATE },
	{ "drop-rate", 0, true, O_DROP_RATE },
	{ "stall-rate", 0, true, O_STALL_RATE },
	{ "slow-rate", 0, true, O_SLOW_RATE },
	{ "malformed-rate", 0, true, O_MALFORMED_RATE },
	{ "replay-rate", 0, true, O_REPLAY_RATE },
	{ "skew-rate", 0, true, O_SKEW_RATE },
	{ "skew", 0, true, O_SKEW },
	{ "stall", 0, true, O_STALL },
	{ "restart-at", 0, true, O_RESTART_AT },
	{ "restart-cmd", 0, true, O_RESTART_CMD },
	{ "pid-file", 0, true, O_PID_FILE },
	{ "server-pid", 0, true, O_SERVER_PID },
	{ "lost-after", 0, true, O_LOST_AFTER },
	{ "settle", 0, true, O_SETTLE },
	{ "setup-timeout", 0, true, O_SETUP_TIMEOUT },
	{ "full-views", 0, false, O_FULL_VIEWS },
	{ "big-group", 0, true, O_BIG_GROUP },
	{ "group-view-max", 0, true, O_GROUP_VIEW_MAX },
	{ "ask", 0, true, O_ASK },
	{ "push", 0, true, O_PUSH },
	{ "keep-interval", 0, true, O_KEEP_INTERVAL },
	{ "json", 0, false, O_JSON },
};
const size_t lt_opt_count = sizeof(lt_opt_table) / sizeof(lt_opt_table[0]);

const char lt_usage_text[] =
	"usage: roam-loadtest --server HOST:PORT --tokens FILE [options]\n"
	"Simulated roam nodes against a roam-server, with faults; prints a report.\n"
	"  --server HOST:PORT     the server (numeric address; on 127.x.x.x, nodes come from\n"
	"                         127.1.0.1, 127.1.0.2, ..., 10 000 each: one address has ~28 000 ports)\n"
	"  --tokens FILE          join tokens, one a line; group i uses line i mod count\n"
	"  --nodes N              simulated nodes (default 100)\n"
	"  --group-size G         nodes per group (default 100)\n"
	"  --procs P              worker processes, 1..64 (default: enough for the open-files limit)\n"
	"  --duration S           seconds of load after all nodes hold their view (default 30)\n"
	"  --move-rate R          endpoint changes per second, measured to every peer holding the node (default 2)\n"
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
	"  --group-view-max M     the server's --group-view-max (default 1000; 0: no limit): a big\n"
	"                         group above M is not in its members' views, they ask (--ask)\n"
	"  --ask K                each member of such a big group asks the server for K members\n"
	"                         of its own worker (GET /v1/peer), spread over the setup (default 4; 0: none)\n"
	"  --full-views           reconnecting nodes ask for the whole view, not what changed\n"
	"  --push udp|tcp         how nodes hear from the server: the push channel over their UDP socket\n"
	"                         (default), or a TLS stream each (as before it, to compare)\n"
	"  --keep-interval S      push channel: a KEEP every S seconds, every 4th with a BINDING (default 25)\n"
	"  --json                 the report as one JSON object\n"
	"  --help                 this text\n"
	"Exit status: 0 when no node was lost, every move and ask reached its peers and every fault got\n"
	"the answer it must get, 1 otherwise, 2 usage.\n";

#define LT_DAY_S 86400
#define LT_NODES_MAX 10000000
#define LT_RATE_MAX 1000000

/* The numbers: each option's range and where it goes. */
enum lt_num_kind { LT_SIZE, LT_UNSIGNED, LT_INT, LT_LONG, LT_RATE };

static const struct lt_num {
	int id;
	enum lt_num_kind kind;
	long min, max;
	size_t off;
} lt_nums[] = {
	{ O_NODES, LT_SIZE, 1, LT_NODES_MAX, offsetof(struct lt_opts, nodes) },
	{ O_GROUP_SIZE, LT_SIZE, 1, LT_NODES_MAX, offsetof(struct lt_opts, group_size) },
	{ O_PROCS, LT_SIZE, 1, LT_PROCS_MAX, offsetof(struct lt_opts, procs) },
	{ O_DURATION, LT_UNSIGNED, 0, LT_DAY_S, offsetof(struct lt_opts, duration_s) },
	{ O_MOVE_RATE, LT_RATE, 0, LT_RATE_MAX, offsetof(struct lt_opts, move_rate) },
	{ O_RELAY_RATE, LT_RATE, 0, LT_RATE_MAX, offsetof(struct lt_opts, relay_rate) },
	{ O_REJOIN_RATE, LT_RATE, 0, LT_RATE_MAX, offsetof(struct lt_opts, rejoin_rate) },
	{ O_DROP_RATE, LT_RATE, 0, LT_RATE_MAX, offsetof(struct lt_opts, drop_rate) },
	{ O_STALL_RATE, LT_RATE, 0, LT_RATE_MAX, offsetof(struct lt_opts, stall_rate) },
	{ O_SLOW_RATE, LT_RATE, 0, LT_RATE_MAX, offsetof(struct lt_opts, slow_rate) },
	{ O_MALFORMED_RATE, LT_RATE, 0, LT_RATE_MAX, offsetof(struct lt_opts, malformed_rate) },
	{ O_REPLAY_RATE, LT_RATE, 0, LT_RATE_MAX, offsetof(struct lt_opts, replay_rate) },
	{ O_SKEW_RATE, LT_RATE, 0, LT_RATE_MAX, offsetof(struct lt_opts, skew_rate) },
	{ O_SKEW, LT_INT, -LT_DAY_S, LT_DAY_S, offsetof(struct lt_opts, skew_s) },
	{ O_STALL, LT_UNSIGNED, 1, 3600, offsetof(struct lt_opts, stall_s) },
	{ O_RESTART_AT, LT_UNSIGNED, 0, LT_DAY_S, offsetof(struct lt_opts, restart_at_s) },
	{ O_SERVER_PID, LT_LONG, 1, 1L << 30, offsetof(struct lt_opts, server_pid) },
	{ O_LOST_AFTER, LT_UNSIGNED, 1, LT_DAY_S, offsetof(struct lt_opts, lost_after_s) },
	{ O_SETTLE, LT_UNSIGNED, 0, LT_DAY_S, offsetof(struct lt_opts, settle_s) },
	{ O_SETUP_TIMEOUT, LT_UNSIGNED, 1, LT_DAY_S, offsetof(struct lt_opts, setup_timeout_s) },
	{ O_BIG_GROUP, LT_SIZE, 0, LT_NODES_MAX, offsetof(struct lt_opts, big_group) },
	{ O_GROUP_VIEW_MAX, LT_SIZE, 0, LT_NODES_MAX, offsetof(struct lt_opts, group_view_max) },
	{ O_ASK, LT_SIZE, 0, LT_ASK_MAX, offsetof(struct lt_opts, ask) },
	{ O_KEEP_INTERVAL, LT_UNSIGNED, 1, 3600, offsetof(struct lt_opts, keep_s) },
};

void lt_opts_defaults(struct lt_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->nodes = 100;
	o->group_size = 100;
	o->duration_s = 30;
	o->move_rate = 2;
	o->relay_rate = 5;
	o->skew_s = 300;
	o->stall_s = 2;
	o->lost_after_s = 30;
	o->settle_s = 30;
	o->setup_timeout_s = 150;
	o->keep_s = COORD_PUSH_KEEPALIVE_S;
	o->group_view_max = LT_GROUP_VIEW_MAX_DEFAULT;
	o->ask = LT_ASK_DEFAULT;
}

/* p->value into the field of o that option n names. */
static int lt_num_set(struct args_parser *p, const struct lt_num *n, struct lt_opts *o)
{
	char option[40];
	void *field = (char *)o + n->off;
	double d;
	long v;

	for (size_t i = 0; i < lt_opt_count; i++)
		if (lt_opt_table[i].id == n->id)
			snprintf(option, sizeof(option), "--%s", lt_opt_table[i].name);
	if (n->kind == LT_RATE) {
		if (args_double(p, option, (double)n->min, (double)n->max, &d) < 0)
			return -EINVAL;
		*(double *)field = d;
		return 0;
	}
	if (args_long(p, option, n->min, n->max, &v) < 0)
		return -EINVAL;
	switch (n->kind) {
	case LT_SIZE: *(size_t *)field = (size_t)v; break;
	case LT_UNSIGNED: *(unsigned *)field = (unsigned)v; break;
	case LT_INT: *(int *)field = (int)v; break;
	default: *(long *)field = v; break;
	}
	return 0;
}

static int lt_fail(struct args_parser *p, const char *msg)
{
	snprintf(p->error, sizeof(p->error), "%s", msg);
	return -EINVAL;
}

/* The options that are not numbers. */
static int lt_other_set(struct args_parser *p, int c, struct lt_opts *o)
{
	switch (c) {
	case O_SERVER: o->server_text = p->value; break;
	case O_TOKENS: o->tokens_file = p->value; break;
	case O_RESTART_CMD: o->restart_cmd = p->value; break;
	case O_PID_FILE: o->pid_file = p->value; break;
	case O_FULL_VIEWS: o->full_views = true; break;
	case O_JSON: o->json = true; break;
	case O_PUSH:
		if (strcmp(p->value, "udp") != 0 && strcmp(p->value, "tcp") != 0) {
			snprintf(p->error, sizeof(p->error), "--push wants udp or tcp, not '%s'", p->value);
			return -EINVAL;
		}
		o->push_tcp = p->value[0] == 't';
		break;
	case ARGS_OPERAND:
		snprintf(p->error, sizeof(p->error), "unexpected argument '%s'", p->value);
		return -EINVAL;
	default:
		return lt_fail(p, "unknown option");
	}
	return 0;
}

/* What no single option's range says. */
static int lt_opts_check(struct args_parser *p, const struct lt_opts *o)
{
	if (!o->server_text || !o->tokens_file)
		return lt_fail(p, "--server and --tokens are needed");
	if (o->big_group >= o->nodes)
		return lt_fail(p, "--big-group must be below --nodes");
	if (o->group_view_max && o->group_size > o->group_view_max)
		return lt_fail(p, "--group-size above --group-view-max: those groups would be big too (only "
				  "--big-group's members ask for their peers)");
	if (o->restart_at_s && !o->restart_cmd && !o->pid_file)
		return lt_fail(p, "--restart-at needs --restart-cmd or --pid-file");
	return 0;
}

int lt_opts_parse(int argc, char **argv, struct lt_opts *o, char *error, size_t error_len)
{
	struct args_parser p;
	struct lt_opts t = *o; /* committed only when every option is right */
	int c, r = 0;

	args_init(&p, lt_opt_table, lt_opt_count, argc, argv, 1);
	while (r == 0 && (c = args_next(&p)) != ARGS_DONE) {
		const struct lt_num *n = NULL;
		if (c == ARGS_HELP)
			return LT_OPTS_HELP;
		if (c == ARGS_ERROR) {
			r = -EINVAL;
			break;
		}
		for (size_t i = 0; i < sizeof(lt_nums) / sizeof(lt_nums[0]) && !n; i++)
			if (lt_nums[i].id == c)
				n = &lt_nums[i];
		r = n ? lt_num_set(&p, n, &t) : lt_other_set(&p, c, &t);
	}
	if (r == 0)
		r = lt_opts_check(&p, &t);
	if (r < 0) {
		snprintf(error, error_len, "%s", p.error);
		return r;
	}
	*o = t;
	return 0;
}
