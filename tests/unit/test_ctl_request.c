/* The control server's request framing and command parsing
 * (lib/ctl/request.c), table-driven. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "ctl/request.h"

struct frame_case {
	const char *name;
	const char *chunks[4]; /* as recv() returns them; NULL-terminated */
	size_t sizes[4];       /* 0: strlen */
	bool eof;              /* the client shuts its side after the chunks */
	size_t max;
	int ret;
	const char *line;
};

static const struct frame_case frames[] = {
	{ "one read", { "{\"cmd\":\"status\"}\n" }, { 0 }, false, 64, 0, "{\"cmd\":\"status\"}" },
	{ "split reads", { "{\"cmd\"", ":\"down\"}", "\nrest" }, { 0 }, false, 64, 0, "{\"cmd\":\"down\"}" },
	{ "CRLF", { "{}\r\n" }, { 0 }, false, 64, 0, "{}" },
	{ "EOF without a newline", { "{}" }, { 0 }, true, 64, 0, "{}" },
	{ "EOF before any byte", { NULL }, { 0 }, true, 64, -ECONNRESET, NULL },
	{ "incomplete", { "{\"cmd\"" }, { 0 }, false, 64, -EAGAIN, NULL },
	{ "no newline within the limit", { "0123", "4567" }, { 0 }, false, 8, -EMSGSIZE, NULL },
	{ "newline as the last byte allowed", { "0123456\n" }, { 0 }, false, 8, 0, "0123456" },
	{ "NUL in the line", { "{\"c\0\"}\n" }, { 7 }, false, 64, -EBADMSG, NULL },
	{ "NUL after the line", { "{}\n\0" }, { 4 }, false, 64, 0, "{}" },
};

static void run_frame(const struct frame_case *c)
{
	char in[128];
	size_t len = 0, line_len = 0;
	int ret = -EAGAIN;

	for (size_t i = 0; c->chunks[i] && ret == -EAGAIN; i++) {
		size_t n = c->sizes[i] ? c->sizes[i] : strlen(c->chunks[i]);
		memcpy(in + len, c->chunks[i], n);
		len += n;
		ret = ctl_request_frame(in, len, n, false, c->max, &line_len);
	}
	if (ret == -EAGAIN && c->eof)
		ret = ctl_request_frame(in, len, 0, true, c->max, &line_len);
	if (ret != c->ret)
		fprintf(stderr, "%s: %d\n", c->name, ret);
	CHECK_EQ(ret, c->ret);
	if (c->line && ret == 0) {
		CHECK_EQ(line_len, strlen(c->line));
		CHECK(strcmp(in, c->line) == 0);
	}
}

struct command_case {
	const char *json;
	int ret;
	enum ctl_command_kind kind;
	const char *server, *token, *name, *address, *peer;
};

static const struct command_case commands[] = {
	{ "{\"cmd\":\"status\"}", 0, CTL_CMD_STATUS, NULL, NULL, NULL, NULL, NULL },
	{ "{\"cmd\":\"up\",\"server\":\"https://s:8443\",\"token\":\"roam1.x\",\"name\":\"laptop\"}", 0, CTL_CMD_UP,
	  "https://s:8443", "roam1.x", "laptop", NULL, NULL },
	{ "{\"cmd\":\"up\",\"server\":7,\"name\":null}", 0, CTL_CMD_UP, NULL, NULL, NULL, NULL, NULL },
	{ "{\"cmd\":\"down\"}", 0, CTL_CMD_DOWN, NULL, NULL, NULL, NULL, NULL },
	{ "{\"cmd\":\"whois\",\"address\":\"100.64.0.7\"}", 0, CTL_CMD_WHOIS, NULL, NULL, NULL, "100.64.0.7", NULL },
	{ "{\"cmd\":\"ping\",\"peer\":\"laptop\"}", 0, CTL_CMD_PING, NULL, NULL, NULL, NULL, "laptop" },
	{ "{\"cmd\":\"ping\",\"peer\":[1]}", 0, CTL_CMD_PING, NULL, NULL, NULL, NULL, NULL },
	{ "{\"cmd\":\"reboot\"}", 0, CTL_CMD_UNKNOWN, NULL, NULL, NULL, NULL, NULL },
	{ "{\"cmd\":\"Status\"}", 0, CTL_CMD_UNKNOWN, NULL, NULL, NULL, NULL, NULL },
	{ "{\"cmd\":1}", -EBADMSG, CTL_CMD_UNKNOWN, NULL, NULL, NULL, NULL, NULL },
	{ "{\"CMD\":\"status\"}", -EBADMSG, CTL_CMD_UNKNOWN, NULL, NULL, NULL, NULL, NULL },
	{ "[\"status\"]", -EBADMSG, CTL_CMD_UNKNOWN, NULL, NULL, NULL, NULL, NULL },
	{ "{\"cmd\":\"status\"", -EBADMSG, CTL_CMD_UNKNOWN, NULL, NULL, NULL, NULL, NULL },
	{ "", -EBADMSG, CTL_CMD_UNKNOWN, NULL, NULL, NULL, NULL, NULL },
};

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void run_command(const struct command_case *c)
{
	struct ctl_command cmd = { .kind = CTL_CMD_UNKNOWN };
	int ret = ctl_command_parse(c->json, strlen(c->json), &cmd);

	if (ret != c->ret)
		fprintf(stderr, "%s: %d\n", c->json, ret);
	CHECK_EQ(ret, c->ret);
	if (ret == 0) {
		CHECK_EQ(cmd.kind, c->kind);
		CHECK(same(cmd.server, c->server));
		CHECK(same(cmd.token, c->token));
		CHECK(same(cmd.name, c->name));
		CHECK(same(cmd.address, c->address));
		CHECK(same(cmd.peer, c->peer));
	}
	ctl_command_clear(&cmd);
	CHECK(cmd.server == NULL && cmd.token == NULL);
}

/* `roam up --proxy`: the URL (it may hold a password) or "none". */
static void run_proxy(void)
{
	struct ctl_command cmd = { .kind = CTL_CMD_UNKNOWN };
	const char *json = "{\"cmd\":\"up\",\"proxy\":\"http://roam:lab-pass@10.2.0.1:3128\"}";
	CHECK_EQ(ctl_command_parse(json, strlen(json), &cmd), 0);
	CHECK(same(cmd.proxy, "http://roam:lab-pass@10.2.0.1:3128"));
	ctl_command_clear(&cmd);
	CHECK(cmd.proxy == NULL);
	json = "{\"cmd\":\"up\",\"proxy\":false}";
	CHECK_EQ(ctl_command_parse(json, strlen(json), &cmd), 0);
	CHECK(cmd.proxy == NULL);
	ctl_command_clear(&cmd);
}

/* `roam up --allow-tls-interception`: true, false (a new --server without
 * it), absent (keep the network's). */
static void run_tls_interception(void)
{
	static const struct {
		const char *json;
		uint8_t want;
	} cases[] = {
		{ "{\"cmd\":\"up\",\"allow_tls_interception\":true}", CTL_TLS_INTERCEPTION_ALLOW },
		{ "{\"cmd\":\"up\",\"allow_tls_interception\":false}", CTL_TLS_INTERCEPTION_OFF },
		{ "{\"cmd\":\"up\"}", CTL_TLS_INTERCEPTION_KEEP },
		{ "{\"cmd\":\"up\",\"allow_tls_interception\":\"yes\"}", CTL_TLS_INTERCEPTION_KEEP },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctl_command cmd = { .kind = CTL_CMD_UNKNOWN };
		CHECK_EQ(ctl_command_parse(cases[i].json, strlen(cases[i].json), &cmd), 0);
		CHECK_EQ(cmd.tls_interception, cases[i].want);
		ctl_command_clear(&cmd);
	}
}

/* `roam set`: the "settings" object as JSON text; none (or not an object): NULL. */
static void run_set(void)
{
	struct ctl_command cmd;
	const char *json = "{\"cmd\":\"set\",\"settings\":{\"tuning\":{\"loss_enter\":400}}}";
	CHECK_EQ(ctl_command_parse(json, strlen(json), &cmd), 0);
	CHECK_EQ(cmd.kind, CTL_CMD_SET);
	CHECK(same(cmd.settings, "{\"tuning\":{\"loss_enter\":400}}"));
	ctl_command_clear(&cmd);
	CHECK(cmd.settings == NULL);
	json = "{\"cmd\":\"set\",\"settings\":\"x\"}";
	CHECK_EQ(ctl_command_parse(json, strlen(json), &cmd), 0);
	CHECK(cmd.settings == NULL);
	ctl_command_clear(&cmd);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++)
		run_frame(&frames[i]);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		run_command(&commands[i]);
	run_proxy();
	run_tls_interception();
	run_set();
	return check_report("test_ctl_request");
}
