/* Admin accounts, sessions, tokens and the login limit (auth.h). */
#include "server/admin/auth.h"

#include <blake2.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "coord/auth.h"
#include "crypto/crypto.h"

int admin_password_hash(const char *password, char out[STORE_ADMIN_HASH_MAX + 1])
{
	size_t len = strlen(password);
	char hash[crypto_pwhash_STRBYTES];

	_Static_assert(crypto_pwhash_STRBYTES <= STORE_ADMIN_HASH_MAX + 1, "hash text fits the store");
	if (len < ADMIN_PASSWORD_MIN || len > ADMIN_PASSWORD_MAX)
		return -EINVAL;
	if (crypto_pwhash_str_alg(hash, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return -ENOMEM;
	memcpy(out, hash, sizeof(hash));
	return 0;
}

/* The source's entry, made (or the stalest one reused) if new. */
static struct admin_login_source *login_source(struct admin_auth *a, const char *addr, int64_t now)
{
	struct admin_login_source *oldest = &a->sources[0];

	for (size_t i = 0; i < ADMIN_LOGIN_SOURCES_MAX; i++) {
		struct admin_login_source *src = &a->sources[i];
		if (strcmp(src->addr, addr) == 0) {
			if (now >= src->window_start + ADMIN_LOGIN_WINDOW_S) {
				src->failures = 0;
				src->window_start = now;
			}
			return src;
		}
		if (src->window_start < oldest->window_start)
			oldest = src;
	}
	snprintf(oldest->addr, sizeof(oldest->addr), "%s", addr);
	oldest->failures = 0;
	oldest->window_start = now;
	return oldest;
}

/* A wrong name costs what a wrong password does: no telling them apart by
 * the time taken. */
static bool password_check(const struct store_admin *who, const char *password)
{
	static char dummy[crypto_pwhash_STRBYTES];
	size_t len = strlen(password);

	if (len > ADMIN_PASSWORD_MAX)
		return false;
	if (who)
		return crypto_pwhash_str_verify(who->password_hash, password, len) == 0;
	if (!dummy[0] && crypto_pwhash_str_alg(dummy, "not a password at all", 21, crypto_pwhash_OPSLIMIT_INTERACTIVE,
					       crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return false;
	if (crypto_pwhash_str_verify(dummy, password, len) == 0)
		return false; /* cannot be: nobody knows it */
	return false;
}

static void secret_b64(const uint8_t *bin, char out[ADMIN_SECRET_B64_LEN + 1])
{
	coord_b64_encode(out, ADMIN_SECRET_B64_LEN + 1, bin, ADMIN_SECRET_LEN, 1);
}

static void password_digest(const char *password_hash, uint8_t out[ADMIN_SECRET_LEN])
{
	crypto_generichash(out, ADMIN_SECRET_LEN, (const unsigned char *)password_hash, strlen(password_hash), NULL, 0);
}

static struct admin_session *session_new(struct admin_auth *a, const struct store_admin *who, int64_t now,
					 char cookie[ADMIN_SECRET_B64_LEN + 1])
{
	struct admin_session *s = &a->sessions[0];
	uint8_t csrf[ADMIN_SECRET_LEN];

	for (size_t i = 0; i < ADMIN_SESSIONS_MAX; i++) {
		if (!a->sessions[i].live) {
			s = &a->sessions[i];
			break;
		}
		if (a->sessions[i].used < s->used)
			s = &a->sessions[i];
	}
	memset(s, 0, sizeof(*s));
	crypto_random(s->id, sizeof(s->id));
	crypto_random(csrf, sizeof(csrf));
	secret_b64(csrf, s->csrf);
	secret_b64(s->id, cookie);
	snprintf(s->admin, sizeof(s->admin), "%s", who->name);
	password_digest(who->password_hash, s->password_digest);
	s->created = s->used = now;
	s->live = true;
	crypto_wipe(csrf, sizeof(csrf));
	return s;
}

int admin_login(struct admin_auth *a, struct store *st, const char *source, const char *name, const char *password,
		int64_t now, struct admin_session **out, char cookie[ADMIN_SECRET_B64_LEN + 1])
{
	struct admin_login_source *src = login_source(a, source, now);
	struct store_admin who;
	bool found, ok;

	if (now != a->checks_second) {
		a->checks_second = now;
		a->checks_in_second = 0;
	}
	if (src->failures >= ADMIN_LOGIN_FAILURES_MAX || a->checks_in_second >= ADMIN_LOGIN_CHECKS_PER_S) {
		a->login_limited++;
		return -EAGAIN;
	}
	a->checks_in_second++;
	found = strlen(name) <= COORD_NAME_MAX && store_admin_by_name(st, name, &who) == 0;
	ok = password_check(found ? &who : NULL, password);
	if (!ok) {
		crypto_wipe(&who, sizeof(who));
		src->failures++;
		a->login_failed++;
		return -EACCES;
	}
	a->login_ok++;
	*out = session_new(a, &who, now, cookie);
	crypto_wipe(&who, sizeof(who));
	return 0;
}

struct admin_session *admin_session_find(struct admin_auth *a, const char *cookie, int64_t now)
{
	uint8_t id[ADMIN_SECRET_LEN];
	struct admin_session *found = NULL;

	if (!cookie || coord_b64_decode(id, sizeof(id), cookie, strlen(cookie), 1) < 0)
		return NULL;
	for (size_t i = 0; i < ADMIN_SESSIONS_MAX; i++) {
		struct admin_session *s = &a->sessions[i];
		if (!s->live)
			continue;
		if (now >= s->used + ADMIN_SESSION_IDLE_S || now >= s->created + ADMIN_SESSION_MAX_S) {
			admin_session_end(s);
			continue;
		}
		if (sodium_memcmp(s->id, id, sizeof(id)) == 0)
			found = s;
	}
	crypto_wipe(id, sizeof(id));
	if (found)
		found->used = now;
	return found;
}

void admin_session_end(struct admin_session *s)
{
	crypto_wipe(s, sizeof(*s));
	s->live = false;
}

bool admin_session_password_current(const struct admin_session *s, const char *password_hash)
{
	uint8_t now[ADMIN_SECRET_LEN];
	bool same;

	password_digest(password_hash, now);
	same = sodium_memcmp(now, s->password_digest, sizeof(now)) == 0;
	crypto_wipe(now, sizeof(now));
	return same;
}

bool admin_csrf_ok(const struct admin_session *s, const char *token)
{
	return token && strlen(token) == ADMIN_SECRET_B64_LEN &&
	       sodium_memcmp(s->csrf, token, ADMIN_SECRET_B64_LEN) == 0;
}

static void token_hash(const uint8_t secret[ADMIN_SECRET_LEN], uint8_t hash[32])
{
	blake2s(hash, secret, NULL, 32, ADMIN_SECRET_LEN, 0);
}

int admin_token_create(struct store *st, uint32_t admin_id, int64_t now, char out[ADMIN_TOKEN_STRLEN + 1],
		       uint32_t *id_out)
{
	uint8_t secret[ADMIN_SECRET_LEN], hash[32];
	char text[ADMIN_SECRET_B64_LEN + 1];
	int r;

	crypto_random(secret, sizeof(secret));
	token_hash(secret, hash);
	secret_b64(secret, text);
	crypto_wipe(secret, sizeof(secret));
	if ((r = store_admin_token_add(st, admin_id, hash, now, id_out)) == 0)
		snprintf(out, ADMIN_TOKEN_STRLEN + 1, ADMIN_TOKEN_PREFIX "%s", text);
	crypto_wipe(text, sizeof(text));
	return r;
}

int admin_token_check(struct store *st, const char *token, struct store_admin *out)
{
	const size_t plen = sizeof(ADMIN_TOKEN_PREFIX) - 1;
	uint8_t secret[ADMIN_SECRET_LEN], hash[32];
	int r = -EACCES;

	if (strlen(token) != ADMIN_TOKEN_STRLEN || strncmp(token, ADMIN_TOKEN_PREFIX, plen) != 0 ||
	    coord_b64_decode(secret, sizeof(secret), token + plen, ADMIN_SECRET_B64_LEN, 1) < 0)
		return r;
	token_hash(secret, hash);
	crypto_wipe(secret, sizeof(secret));
	if (store_admin_token_check(st, hash, out) == 0)
		r = 0;
	return r;
}

int admin_cookie_find(const char *header, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);
	const char *p = header;

	while (p && *p) {
		size_t len;
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		len = strcspn(p, ";");
		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t vlen = len - nlen - 1;
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= size)
				return -E2BIG;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p += len;
	}
	return -ENOENT;
}
