#include "daemon/node_state.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord/auth.h"
#include "crypto/crypto.h"

#define STATE_FILE_MAX (64 * 1024)

int node_state_write_atomic(const char *dir, const char *name, const char *data, size_t len, mode_t mode)
{
	char path[512], tmp[512];
	int fd, ret = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
		ret = errno ? -errno : -EIO;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

int node_state_read_small(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char *buf = malloc(STATE_FILE_MAX + 1);
	ssize_t n = buf ? read(fd, buf, STATE_FILE_MAX + 1) : -1;
	int err = errno;
	close(fd);
	if (!buf)
		return -ENOMEM;
	if (n < 0 || n > STATE_FILE_MAX) {
		free(buf);
		return n < 0 ? -err : -EFBIG;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return 0;
}

static int load_key(const char *dir, uint8_t key[32], char *why, size_t why_size)
{
	char path[512], *text = NULL;
	size_t len;
	snprintf(path, sizeof(path), "%s/node.key", dir);
	int ret = node_state_read_small(path, &text, &len);
	if (ret == -ENOENT) {
		/* First start: the key is born here and never leaves. */
		char b64[CRYPTO_KEY_B64_LEN + 2];
		crypto_random(key, 32);
		x25519_clamp(key);
		crypto_key_to_base64(b64, key);
		strcat(b64, "\n");
		ret = node_state_write_atomic(dir, "node.key", b64, strlen(b64), 0600);
		crypto_wipe(b64, sizeof(b64));
		if (ret < 0)
			snprintf(why, why_size, "%s: cannot write: %s", path, strerror(-ret));
		return ret;
	}
	if (ret < 0) {
		snprintf(why, why_size, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = node_key_parse(text, len, key);
	crypto_wipe(text, len);
	free(text);
	if (ret < 0)
		snprintf(why, why_size, "%s: not a base64 private key (remove it to make a new identity)", path);
	return ret;
}

int node_key_parse(const char *text, size_t len, uint8_t key[32])
{
	char b64[CRYPTO_KEY_B64_LEN + 1];
	int ret;

	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	/* A NUL ends the text, as it did when the key was read as a C string. */
	const char *nul = memchr(text, '\0', len);
	if (nul)
		len = (size_t)(nul - text);
	if (len != CRYPTO_KEY_B64_LEN)
		return -EINVAL;
	memcpy(b64, text, len);
	b64[len] = '\0';
	ret = crypto_key_from_base64(key, b64); /* writes key only on success */
	crypto_wipe(b64, sizeof(b64));
	return ret;
}

int node_state_parse(const char *text, size_t len, struct node_state *st)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(root, "server");
	const cJSON *token = cJSON_GetObjectItemCaseSensitive(root, "token");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "node_id");
	const cJSON *joined = cJSON_GetObjectItemCaseSensitive(root, "joined");
	const cJSON *proxy = cJSON_GetObjectItemCaseSensitive(root, "proxy");
	struct coord_token tok;
	int ret = -EINVAL;
	if (!cJSON_IsString(url) || strlen(url->valuestring) >= sizeof(st->server_url) || !cJSON_IsString(token) ||
	    coord_token_decode(token->valuestring, &tok) < 0 || !cJSON_IsNumber(id) || id->valuedouble < 0 ||
	    id->valuedouble > UINT32_MAX || (proxy && (!cJSON_IsString(proxy) || strlen(proxy->valuestring) >= sizeof(st->proxy))))
		goto out;
	snprintf(st->server_url, sizeof(st->server_url), "%s", url->valuestring);
	st->token = tok;
	if (cJSON_IsString(name))
		snprintf(st->name, sizeof(st->name), "%s", name->valuestring);
	st->node_id = (uint32_t)id->valuedouble;
	st->joined = cJSON_IsTrue(joined);
	st->allow_tls_interception = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "allow_tls_interception"));
	snprintf(st->proxy, sizeof(st->proxy), "%s", proxy ? proxy->valuestring : "");
	memset(&st->servers, 0, sizeof(st->servers));
	const cJSON *url_item;
	cJSON_ArrayForEach(url_item, cJSON_GetObjectItemCaseSensitive(root, "servers"))
	{
		if (cJSON_IsString(url_item))
			(void)coord_servers_add(&st->servers, url_item->valuestring); /* a bad one: skipped */
	}
	ret = 0;
out:
	crypto_wipe(&tok, sizeof(tok));
	cJSON_Delete(root);
	return ret;
}

int node_state_load(const char *dir, struct node_state *out, char *why, size_t why_size)
{
	struct node_state st;
	char path[512], *text = NULL;
	size_t len;
	int ret;

	memset(&st, 0, sizeof(st));
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		snprintf(why, why_size, "%s: cannot create state directory: %s", dir, strerror(errno));
		return ret;
	}
	if ((ret = load_key(dir, st.private_key, why, why_size)) < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/state.json", dir);
	ret = node_state_read_small(path, &text, &len);
	if (ret == 0) {
		ret = node_state_parse(text, len, &st);
		free(text);
		if (ret < 0) {
			/* Never guess: a damaged file is reported, not replaced. */
			snprintf(why, why_size, "%s: damaged (not the JSON roamd writes); fix or remove it and run roam up again",
				 path);
			node_state_wipe(&st);
			return ret;
		}
	} else if (ret != -ENOENT) {
		snprintf(why, why_size, "%s: %s", path, strerror(-ret));
		node_state_wipe(&st);
		return ret;
	}
	*out = st;
	node_state_wipe(&st);
	return 0;
}

int node_state_save(const char *dir, const struct node_state *st)
{
	char token[COORD_TOKEN_STRLEN + 1];
	cJSON *root = cJSON_CreateObject();
	if (coord_token_encode(&st->token, token, sizeof(token)) < 0) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	cJSON_AddStringToObject(root, "server", st->server_url);
	cJSON_AddStringToObject(root, "token", token);
	cJSON_AddStringToObject(root, "name", st->name);
	cJSON_AddNumberToObject(root, "node_id", st->node_id);
	cJSON_AddBoolToObject(root, "joined", st->joined);
	if (st->allow_tls_interception)
		cJSON_AddBoolToObject(root, "allow_tls_interception", true);
	if (st->proxy[0])
		cJSON_AddStringToObject(root, "proxy", st->proxy);
	if (st->servers.count) {
		cJSON *list = cJSON_AddArrayToObject(root, "servers");
		for (size_t i = 0; list && i < st->servers.count; i++)
			cJSON_AddItemToArray(list, cJSON_CreateString(st->servers.url[i]));
	}
	char *text = cJSON_Print(root);
	if (st->proxy[0]) /* the tree's copy may hold the proxy's password */
		crypto_wipe(cJSON_GetObjectItemCaseSensitive(root, "proxy")->valuestring, strlen(st->proxy));
	cJSON_Delete(root);
	if (!text)
		return -ENOMEM;
	int ret = node_state_write_atomic(dir, "state.json", text, strlen(text), 0600);
	crypto_wipe(text, strlen(text));
	free(text);
	return ret;
}

void node_state_wipe(struct node_state *st)
{
	crypto_wipe(st, sizeof(*st));
}
