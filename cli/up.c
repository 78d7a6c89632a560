/* roam up: join a roam network (first time: --server and a token as
 * roam-server printed them), or rejoin the one we know. Waits until the
 * node is registered, refused, or waiting for approval, and says which. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "ctl/ctl.h"

#define UP_WAIT_MS 15000
#define UP_TOKEN_MAX 1024 /* a token is ~130 characters; room for white space */

#define UP_PROXY_MAX 511   /* roamd's limit (daemon/proxy.h) */

enum { UP_OPT_SERVER = 1, UP_OPT_TOKEN, UP_OPT_TOKEN_FILE, UP_OPT_NAME, UP_OPT_FORCE, UP_OPT_PROXY, UP_OPT_TLS_INTERCEPTION };

struct up_options {
	const char *server, *token, *token_file, *name, *proxy, *socket_path;
	bool force, allow_tls_interception;
	char token_buf[UP_TOKEN_MAX + 1];
	char proxy_buf[UP_PROXY_MAX + 2];
};

static const char *member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Polls roamd's status until registration settled; prints the outcome. The
 * state names are roamd's ("online" is the name roamd used before
 * "connected"). */
static double number(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Polls roamd's status until our request (seq) settled: roamd says
 * "done" or "failed" in managed.up, and its state and error in its own
 * words. */
static int wait_registered(const struct cli_global *g, const char *socket_path, double seq)
{
	for (long waited = 0; waited <= UP_WAIT_MS; waited += 100) {
		cJSON *root = cli_ctl_call(g, "up", socket_path, "{\"cmd\":\"status\"}");
		if (!root)
			return CLI_EXIT_FAIL;
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "managed");
		const cJSON *up = cJSON_GetObjectItemCaseSensitive(m, "up");
		const char *state = member(m, "state") ? member(m, "state") : "";
		const char *result = member(up, "result") ? member(up, "result") : "";
		bool ours = number(up, "seq") == seq;
		int r = -1;
		if (ours && !strcmp(result, "failed")) {
			fprintf(stderr, "roam up: %s\n", member(m, "error") ? member(m, "error") : "failed");
			r = CLI_EXIT_FAIL;
		} else if (ours && !strcmp(result, "done") && !strcmp(state, "waiting-approval")) {
			printf("registered with %s; waiting for an administrator: roam-server nodes approve NAME\n",
			       member(m, "server"));
			r = CLI_EXIT_OK;
		} else if (ours && !strcmp(result, "done") && member(m, "name")) {
			const char *v6 = member(m, "ipv6"), *v4 = member(m, "ipv4");
			const cJSON *ov = cJSON_GetObjectItemCaseSensitive(m, "overlay");
			printf("joined %s as %s: %s%s%s\n", member(m, "server"), member(m, "name"), v6 ? v6 : "",
			       v6 && v4 ? ", " : "", v4 ? v4 : "");
			if (!v6 && member(ov, "ipv6"))
				printf("note: no IPv6 overlay address (%s): IPv4 only\n", member(ov, "ipv6"));
			if (!v4 && member(ov, "ipv4"))
				printf("note: no IPv4 overlay address (%s): IPv6 only\n", member(ov, "ipv4"));
			if (!v6 && !v4)
				fprintf(stderr, "roam up: no overlay address could be set on this host (see roamd's log)\n");
			r = v6 || v4 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		}
		cJSON_Delete(root);
		if (r >= 0)
			return r;
		sleep_ms(100);
	}
	fprintf(stderr, "roam up: no answer from the server within %d s; roamd keeps trying (see `roam status`)\n",
		UP_WAIT_MS / 1000);
	return CLI_EXIT_FAIL;
}

/* The token from a file or "-" (stdin), bounded and trimmed. */
static int up_read_token(struct up_options *o, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	size_t len;
	char *start;

	if (!f) {
		fprintf(stderr, "roam up: cannot read the token from %s: %s\n", path, strerror(errno));
		return -1;
	}
	len = fread(o->token_buf, 1, UP_TOKEN_MAX, f);
	if (f != stdin)
		fclose(f);
	o->token_buf[len] = '\0';
	while (len && isspace((unsigned char)o->token_buf[len - 1]))
		o->token_buf[--len] = '\0';
	for (start = o->token_buf; isspace((unsigned char)*start); start++)
		;
	if (!*start || len == UP_TOKEN_MAX) {
		fprintf(stderr, "roam up: %s holds no token (or more than %d bytes)\n",
			strcmp(path, "-") ? path : "standard input", UP_TOKEN_MAX);
		return -1;
	}
	o->token = start;
	return 0;
}

/* `--proxy -`: the proxy URL (it may hold a password) from standard
 * input, one line. */
static int up_read_proxy(struct up_options *o)
{
	if (!fgets(o->proxy_buf, sizeof(o->proxy_buf), stdin)) {
		fprintf(stderr, "roam up: no proxy URL on standard input\n");
		return -1;
	}
	size_t len = strcspn(o->proxy_buf, "\r\n");
	if (len > UP_PROXY_MAX) {
		fprintf(stderr, "roam up: the proxy URL is longer than %d bytes\n", UP_PROXY_MAX);
		return -1;
	}
	o->proxy_buf[len] = '\0';
	o->proxy = o->proxy_buf;
	return 0;
}

/* What roamd checks in full, checked early for a clear usage error. */
static bool up_proxy_plausible(const char *p)
{
	return !strcmp(p, "none") || !strcmp(p, "-") || !strncasecmp(p, "http://", 7) || !strncasecmp(p, "https://", 8);
}

static int up_parse(struct up_options *o, int argc, char *argv[], int *status)
{
	static const struct args_opt opts[] = {
		{ "server", 's', true, UP_OPT_SERVER },  { "token", 't', true, UP_OPT_TOKEN },
		{ "token-file", 0, true, UP_OPT_TOKEN_FILE }, { "name", 'n', true, UP_OPT_NAME },
		{ "force", 'f', false, UP_OPT_FORCE },   { "proxy", 0, true, UP_OPT_PROXY },
		{ "allow-tls-interception", 0, false, UP_OPT_TLS_INTERCEPTION },
		CLI_SOCKET_OPTION,
	};
	struct args_parser p;
	int c;

	args_init(&p, opts, sizeof(opts) / sizeof(opts[0]), argc, argv, 1);
	while ((c = cli_next(&cli_up, &p, status)) != ARGS_DONE) {
		switch (c) {
		case ARGS_ERROR: return -1;
		case UP_OPT_SERVER: o->server = p.value; break;
		case UP_OPT_TOKEN: o->token = p.value; break;
		case UP_OPT_TOKEN_FILE: o->token_file = p.value; break;
		case UP_OPT_NAME: o->name = p.value; break;
		case UP_OPT_FORCE: o->force = true; break;
		case UP_OPT_PROXY: o->proxy = p.value; break;
		case UP_OPT_TLS_INTERCEPTION: o->allow_tls_interception = true; break;
		case CLI_OPT_SOCKET: o->socket_path = p.value; break;
		default: *status = cli_usage_error(&cli_up, "unexpected argument '%s'", p.value); return -1;
		}
	}
	if (o->token && o->token_file) {
		*status = cli_usage_error(&cli_up, "give the token once: --token or --token-file");
		return -1;
	}
	if (o->proxy && !up_proxy_plausible(o->proxy)) {
		*status = cli_usage_error(&cli_up, "--proxy takes http://[USER:PASSWORD@]HOST:PORT, `-` or none");
		return -1;
	}
	if (o->proxy && !strcmp(o->proxy, "-") && ((o->token && !strcmp(o->token, "-")) ||
						   (o->token_file && !strcmp(o->token_file, "-")))) {
		*status = cli_usage_error(&cli_up, "standard input gives the token or the proxy, not both");
		return -1;
	}
	if (o->proxy && !strcmp(o->proxy, "-")) {
		*status = CLI_EXIT_FAIL;
		if (up_read_proxy(o) < 0)
			return -1;
	}
	if (o->server && !o->token && !o->token_file)
		o->token = getenv("ROAM_TOKEN");
	if (!o->server != !(o->token || o->token_file)) {
		*status = cli_usage_error(&cli_up, o->server ? "--server needs a token (--token-file FILE, --token -, "
							       "or ROAM_TOKEN), as roam-server printed it"
							     : "a token goes with --server URL");
		return -1;
	}
	if (o->token_file || (o->token && strcmp(o->token, "-") == 0)) {
		*status = CLI_EXIT_FAIL;
		return up_read_token(o, o->token_file ? o->token_file : "-");
	}
	return 0;
}

static int up_main(const struct cli_global *g, int argc, char *argv[])
{
	struct up_options o = { 0 };
	int status = CLI_EXIT_FAIL;

	if (up_parse(&o, argc, argv, &status) < 0)
		return status;
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "up");
	if (o.server) {
		cJSON_AddStringToObject(req, "server", o.server);
		cJSON_AddStringToObject(req, "token", o.token);
	}
	if (o.name)
		cJSON_AddStringToObject(req, "name", o.name);
	if (o.force)
		cJSON_AddBoolToObject(req, "force", true);
	/* Kept with the network: a new join without the flag turns it off. */
	if (o.allow_tls_interception || o.server)
		cJSON_AddBoolToObject(req, "allow_tls_interception", o.allow_tls_interception);
	if (o.proxy)
		cJSON_AddStringToObject(req, "proxy", o.proxy);
	char *text = cJSON_PrintUnformatted(req);
	cJSON *proxy_copy = cJSON_GetObjectItemCaseSensitive(req, "proxy");
	if (proxy_copy)
		crypto_wipe(proxy_copy->valuestring, strlen(proxy_copy->valuestring));
	cJSON_Delete(req);
	crypto_wipe(o.token_buf, sizeof(o.token_buf));
	crypto_wipe(o.proxy_buf, sizeof(o.proxy_buf));
	if (!text)
		return CLI_EXIT_FAIL;
	cJSON *reply = cli_ctl_call(g, "up", o.socket_path, text);
	crypto_wipe(text, strlen(text));
	free(text);
	if (!reply)
		return CLI_EXIT_FAIL;
	double seq = number(reply, "seq");
	cJSON_Delete(reply);
	return wait_registered(g, o.socket_path, seq);
}

const struct cli_command cli_up = {
	.name = "up",
	.run = up_main,
	.summary = "Join a roam network, or rejoin the one this node knows",
	.usage = "Usage: roam [-i IFACE] up [--server URL --token-file FILE|--token -|--token TOKEN]\n"
		 "                          [--name NAME] [--force] [--proxy URL|-|none]\n"
		 "                          [--allow-tls-interception] [--socket PATH]\n"
		 "\n"
		 "Tells roamd to join the network of a roam-server. The first time, give the\n"
		 "--server URL and the token as `roam-server init` or `roam-server keys create`\n"
		 "printed them; the token pins the server's identity and may carry a pre-auth\n"
		 "key (without one the node waits for `roam-server nodes approve`). Later runs\n"
		 "need no arguments: roamd remembers the network, its overlay addresses and\n"
		 "its key (which never leaves this machine). Waits up to 15 s for the outcome.\n"
		 "\n"
		 "The token is a secret: rather than on the command line (where other users see\n"
		 "it in ps), give it in a file, on standard input, or in the environment.\n"
		 "\n"
		 "  -s, --server URL       the roam-server, https://HOST:PORT\n"
		 "      --token-file FILE  read the token from FILE\n"
		 "  -t, --token TOKEN      the token itself; `--token -` reads it from standard input\n"
		 "                         (without either, the variable ROAM_TOKEN is used)\n"
		 "  -n, --name NAME        this node's name in the network (default: the hostname)\n"
		 "  -f, --force            switch a node joined to another server to this one\n"
		 "                         (otherwise `roam down` first)\n"
		 "      --proxy URL        reach the server (requests and relay links) through this\n"
		 "                         HTTP CONNECT proxy, http://[USER:PASSWORD@]HOST:PORT,\n"
		 "                         kept with the network; `--proxy -` reads the URL from\n"
		 "                         standard input (a password on the command line shows in\n"
		 "                         ps); `--proxy none` forgets it. Without one, roamd's\n"
		 "                         HTTPS_PROXY/https_proxy/ALL_PROXY and NO_PROXY apply\n"
		 "      --allow-tls-interception\n"
		 "                         go on through a proxy that intercepts TLS (the server's\n"
		 "                         key is not the token's): the server then proves every\n"
		 "                         reply with the key this node shares with it, and the\n"
		 "                         proxy sees only ciphertext. Kept with the network (a new\n"
		 "                         --server without it turns it off); off by default\n"
		 "      --socket PATH      roamd's control socket (default: " CTL_SOCKET_DIR "/IFACE.sock)\n"
		 "  -h, --help             this text\n"
		 "\n"
		 "Exit status: 0 joined (or waiting for approval), 1 refused, unreachable or\n"
		 "roamd not running, 2 bad usage.\n",
};
