#include "ctl/request.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

static int ctl_request_finish(char *in, size_t line_len, size_t *out)
{
	if (memchr(in, '\0', line_len))
		return -EBADMSG;
	if (line_len && in[line_len - 1] == '\r')
		line_len--;
	in[line_len] = '\0';
	*out = line_len;
	return 0;
}

int ctl_request_frame(char *in, size_t len, size_t fresh, bool eof, size_t max, size_t *line_len)
{
	const char *nl;

	if (eof) /* the request is whatever came, if anything did */
		return len ? ctl_request_finish(in, len, line_len) : -ECONNRESET;
	nl = memchr(in + len - fresh, '\n', fresh);
	if (nl)
		return ctl_request_finish(in, (size_t)(nl - in), line_len);
	return len >= max ? -EMSGSIZE : -EAGAIN;
}

static const struct {
	const char *name;
	enum ctl_command_kind kind;
} ctl_command_names[] = {
	{ "status", CTL_CMD_STATUS },
	{ "up", CTL_CMD_UP },
	{ "down", CTL_CMD_DOWN },
	{ "whois", CTL_CMD_WHOIS },
	{ "ping", CTL_CMD_PING },
	{ "netcheck", CTL_CMD_NETCHECK },
	{ "push", CTL_CMD_PUSH },
	{ "files", CTL_CMD_FILES },
	{ "files_cancel", CTL_CMD_FILES_CANCEL },
	{ "publish", CTL_CMD_PUBLISH },
	{ "unpublish", CTL_CMD_UNPUBLISH },
	{ "set", CTL_CMD_SET },
	{ "path_use", CTL_CMD_PATH_USE },
	{ "pull", CTL_CMD_PULL },
	{ "ls", CTL_CMD_LS },
};

/* A copy of root's string member name in *out, NULL if absent or not a string. */
static int ctl_string_member(const cJSON *root, const char *name, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

	*out = NULL;
	if (!cJSON_IsString(v))
		return 0;
	*out = strdup(v->valuestring);
	return *out ? 0 : -ENOMEM;
}

int ctl_command_parse(const char *line, size_t len, struct ctl_command *out)
{
	struct ctl_command c = { .kind = CTL_CMD_UNKNOWN };
	cJSON *root = cJSON_ParseWithLength(line, len);
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(root, "cmd");
	int ret = -EBADMSG;

	if (!cJSON_IsString(cmd))
		goto out;
	for (size_t i = 0; i < sizeof(ctl_command_names) / sizeof(ctl_command_names[0]); i++)
		if (strcmp(cmd->valuestring, ctl_command_names[i].name) == 0)
			c.kind = ctl_command_names[i].kind;
	if ((ret = ctl_string_member(root, "server", &c.server)) < 0 ||
	    (ret = ctl_string_member(root, "token", &c.token)) < 0 ||
	    (ret = ctl_string_member(root, "name", &c.name)) < 0 ||
	    (ret = ctl_string_member(root, "proxy", &c.proxy)) < 0 ||
	    (ret = ctl_string_member(root, "address", &c.address)) < 0 ||
	    (ret = ctl_string_member(root, "peer", &c.peer)) < 0 ||
	    (ret = ctl_string_member(root, "path", &c.path)) < 0 ||
	    (ret = ctl_string_member(root, "id", &c.id)) < 0 ||
	    (ret = ctl_string_member(root, "group", &c.group)) < 0)
		goto out;
	const cJSON *settings = cJSON_GetObjectItemCaseSensitive(root, "settings");
	if (cJSON_IsObject(settings) && !(c.settings = cJSON_PrintUnformatted(settings))) {
		ret = -ENOMEM;
		goto out;
	}
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(root, "args");
	if (cJSON_IsObject(args) && !(c.args = cJSON_PrintUnformatted(args))) {
		ret = -ENOMEM;
		goto out;
	}
	c.force = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "force"));
	c.thumbs = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "thumbs"));
	c.cache = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "cache"));
	const cJSON *tls = cJSON_GetObjectItemCaseSensitive(root, "allow_tls_interception");
	c.tls_interception = cJSON_IsTrue(tls) ? CTL_TLS_INTERCEPTION_ALLOW
			     : cJSON_IsFalse(tls) ? CTL_TLS_INTERCEPTION_OFF : CTL_TLS_INTERCEPTION_KEEP;
	*out = c; /* ownership of the strings to the caller */
	memset(&c, 0, sizeof(c));
out:
	ctl_command_clear(&c);
	cJSON_Delete(root);
	return ret;
}

void ctl_command_clear(struct ctl_command *c)
{
	if (!c)
		return;
	free(c->server);
	if (c->token) /* it may carry a pre-auth key */
		crypto_wipe(c->token, strlen(c->token));
	free(c->token);
	if (c->proxy) /* it may carry the proxy's password */
		crypto_wipe(c->proxy, strlen(c->proxy));
	free(c->proxy);
	free(c->name);
	free(c->address);
	free(c->peer);
	free(c->path);
	free(c->id);
	free(c->settings);
	free(c->args);
	free(c->group);
	memset(c, 0, sizeof(*c));
}
