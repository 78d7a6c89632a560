/* roam-server events: the event log, filtered, as a table or JSON lines;
 * --follow goes on with new events from the running server. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/admin/sock.h"
#include "server/cmd.h"
#include "server/events/events.h"

#define EVENTS_LIMIT_DEFAULT 200

struct events_options {
	const char *dir, *node, *kind;
	int64_t since;
	long limit;
	bool json, follow;
	int64_t last_id; /* printed so far */
};

static bool event_matches(const struct events_options *o, const struct store_event *ev)
{
	return ev->id > o->last_id && ev->at >= o->since && (!o->kind || strcmp(o->kind, ev->kind) == 0) &&
	       (!o->node || strcmp(o->node, ev->node) == 0);
}

static int event_print(void *arg, const struct store_event *ev)
{
	struct events_options *o = arg;
	char when[64];
	time_t t = (time_t)ev->at;
	struct tm tm;

	o->last_id = ev->id;
	if (o->json) {
		cJSON *j = events_to_json(ev);
		char *text = j ? cJSON_PrintUnformatted(j) : NULL;
		if (text)
			puts(text);
		cJSON_free(text);
		cJSON_Delete(j);
		return text ? 0 : -ENOMEM;
	}
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s  %-11s %-20s %s%s%s%s\n", when, ev->kind, ev->node[0] ? ev->node : "-", ev->detail,
	       ev->actor[0] ? " (by " : "", ev->actor, ev->actor[0] ? ")" : "");
	return 0;
}

/* A line from the server: {"id", "time", "kind", "node", "actor", "detail"}. */
static int follow_line(struct events_options *o, const char *line)
{
	cJSON *j = cJSON_Parse(line);
	struct store_event ev = { 0 };
	const char *f;
	int r = -EPROTO;

	if (!j)
		return r;
	ev.id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "id"));
	ev.at = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "time"));
	if ((f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "kind"))))
		snprintf(ev.kind, sizeof(ev.kind), "%s", f);
	if ((f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "node"))))
		snprintf(ev.node, sizeof(ev.node), "%s", f);
	if ((f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "actor"))))
		snprintf(ev.actor, sizeof(ev.actor), "%s", f);
	if ((f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "detail"))))
		snprintf(ev.detail, sizeof(ev.detail), "%s", f);
	r = event_matches(o, &ev) ? event_print(o, &ev) : 0;
	cJSON_Delete(j);
	fflush(stdout);
	return r;
}

static int events_follow_run(struct events_options *o, int fd)
{
	FILE *in = fdopen(fd, "r");
	char *line = NULL;
	size_t cap = 0;
	int r = 0;

	if (!in) {
		close(fd);
		return -errno;
	}
	while (r == 0 && getline(&line, &cap, in) > 0)
		r = follow_line(o, line);
	free(line);
	fclose(in);
	if (r == 0)
		fprintf(stderr, "roam-server events: the server stopped\n");
	return r;
}

static int events_parse(struct events_options *o, int argc, char *argv[], int *status)
{
	enum { O_FOLLOW = 1, O_NODE, O_KIND, O_SINCE, O_LIMIT };
	static const struct args_opt opts[] = {
		CMD_STATE_OPTION, CMD_JSON_OPTION, { "follow", 'f', false, O_FOLLOW }, { "node", 'n', true, O_NODE },
		{ "kind", 'k', true, O_KIND }, { "since", 0, true, O_SINCE }, { "limit", 0, true, O_LIMIT },
	};
	struct args_parser p;
	int c;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cmd_next(&cmd_events, &p, status)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return -1;
		case CMD_OPT_STATE: o->dir = p.value; break;
		case CMD_OPT_JSON: o->json = true; break;
		case O_FOLLOW: o->follow = true; break;
		case O_NODE: o->node = p.value; break;
		case O_KIND:
			if (!events_kind_valid(p.value))
				goto usage;
			o->kind = p.value;
			break;
		case O_SINCE: {
			size_t len = strlen(p.value);
			int64_t v;
			if (cmd_parse_duration(p.value, &v) < 0)
				goto usage;
			/* "1h": an hour ago; a plain number: unix seconds */
			o->since = len && p.value[len - 1] >= '0' && p.value[len - 1] <= '9' ? v : (int64_t)time(NULL) - v;
			break;
		}
		case O_LIMIT:
			if (args_long(&p, "--limit", 1, 1000000, &o->limit) < 0)
				goto usage;
			break;
		default: *status = cmd_usage_error(&cmd_events, "unexpected argument '%s'", p.value); return -1;
		}
	}
	return 0;
usage:
	*status = cmd_usage_error(&cmd_events, "bad value '%s' (see --help)", p.value);
	return -1;
}

static int events_main(int argc, char *argv[])
{
	struct events_options o = { .dir = SERVER_STATE_DIR_DEFAULT, .limit = EVENTS_LIMIT_DEFAULT };
	struct store_event_filter f;
	struct store *st;
	int r = CMD_EXIT_FAIL, fd = -1;

	if (events_parse(&o, argc, argv, &r) < 0)
		return r;
	if (cmd_open_store(&cmd_events, o.dir, &st) < 0)
		return CMD_EXIT_FAIL;
	/* Follow first, then read the log: nothing falls between the two
	 * (what both give is printed once, by id). */
	if (o.follow && (r = admin_sock_follow(o.dir, &fd)) < 0) {
		fprintf(stderr, "roam-server events: cannot follow: no server answers on %s/" ADMIN_SOCK_NAME " (%s)\n",
			o.dir, strerror(-r));
		store_close(st);
		return CMD_EXIT_FAIL;
	}
	f = (struct store_event_filter){ .since = o.since, .kind = o.kind, .node = o.node, .limit = (size_t)o.limit,
					 .newest_first = true };
	r = store_events_foreach(st, &f, event_print, &o);
	if (r < 0)
		fprintf(stderr, "roam-server events: %s\n", store_error(st));
	store_close(st);
	fflush(stdout);
	if (r == 0 && fd >= 0)
		r = events_follow_run(&o, fd);
	else if (fd >= 0)
		close(fd);
	return r < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

const struct server_cmd cmd_events = {
	.name = "events",
	.summary = "Show (and follow) the event log",
	.usage = "Usage: roam-server events [--state DIR] [--json] [--follow] [--node NAME]\n"
		 "                           [--kind KIND] [--since TIME] [--limit N]\n"
		 "\n"
		 "The event log: nodes joining, going online and offline, moving endpoints and\n"
		 "relay links; admin changes (who did what), console logins, failed\n"
		 "authentications and refused requests. Kept for 30 days (roam-server run has\n"
		 "an option to keep them longer). Oldest first; the last N (default 200) that match.\n"
		 "\n"
		 "  -s, --state DIR  the server's state (default " SERVER_STATE_DIR_DEFAULT ")\n"
		 "  -j, --json       one JSON object a line: {\"id\", \"time\" (unix seconds), \"kind\",\n"
		 "                   \"node\", \"actor\", \"detail\"} (an export: --limit 1000000)\n"
		 "  -f, --follow     then new events as they happen (needs the running server)\n"
		 "  -n, --node NAME  only this node's\n"
		 "  -k, --kind KIND  only this kind: join, approve, login, logout, endpoint, online,\n"
		 "                   offline, path, relay, admin, auth_failed, refused\n"
		 "      --since T    only from T on: a duration ago (90s, 30m, 24h, 7d) or unix seconds\n"
		 "      --limit N    at most the last N (default 200)\n"
		 "  -h, --help       this text\n"
		 "\n"
		 "Exit status: 0 done (or the server stopped while following), 1 failure, 2 bad usage.\n",
	.run = events_main,
};
