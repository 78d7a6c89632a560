/* Who may use the console and the admin API: admin accounts (passwords as
 * libsodium's argon2id strings), sessions in memory (a cookie and a CSRF
 * token each), API tokens (stored hashed), and the limit on failed logins.
 * No I/O but the store; times are unix seconds given by the caller. */
#ifndef ROAM_SERVER_ADMIN_AUTH_H
#define ROAM_SERVER_ADMIN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"
#include "server/store.h"

#define ADMIN_SECRET_LEN 32
#define ADMIN_SECRET_B64_LEN 43 /* base64url, unpadded */
#define ADMIN_TOKEN_PREFIX "roamadm1."
#define ADMIN_TOKEN_STRLEN (sizeof(ADMIN_TOKEN_PREFIX) - 1 + ADMIN_SECRET_B64_LEN)
#define ADMIN_COOKIE_NAME "roam_session"

#define ADMIN_SESSIONS_MAX 64          /* the oldest goes when a 65th logs in */
#define ADMIN_SESSION_IDLE_S (30 * 60) /* unused this long: over */
#define ADMIN_SESSION_MAX_S (12 * 3600)
#define ADMIN_PASSWORD_MIN 10
#define ADMIN_PASSWORD_MAX 512

/* Failed logins: per source address, this many in the window, then 429
 * until the window ends; and at most this many password checks a second
 * in all (each costs argon2id's memory and time on the main loop). */
#define ADMIN_LOGIN_FAILURES_MAX 5
#define ADMIN_LOGIN_WINDOW_S 300
#define ADMIN_LOGIN_SOURCES_MAX 256
#define ADMIN_LOGIN_CHECKS_PER_S 4

struct admin_session {
	bool live;
	uint8_t id[ADMIN_SECRET_LEN];
	char csrf[ADMIN_SECRET_B64_LEN + 1];
	char admin[COORD_NAME_MAX + 1];
	/* A digest of the admin's password hash at login: a new password
	 * (`roam-server admins passwd`, written to the database) no longer
	 * matches, and the session ends; the admin's API tokens stay. */
	uint8_t password_digest[ADMIN_SECRET_LEN];
	int64_t created, used;
};

struct admin_login_source {
	char addr[48];
	unsigned failures;
	int64_t window_start;
};

struct admin_auth {
	struct admin_session sessions[ADMIN_SESSIONS_MAX];
	struct admin_login_source sources[ADMIN_LOGIN_SOURCES_MAX];
	int64_t checks_second;
	unsigned checks_in_second;
	uint64_t login_ok, login_failed, login_limited, csrf_refused, token_refused;
};

/* libsodium's crypto_pwhash_str (argon2id, interactive limits): 0, -EINVAL
 * (length outside ADMIN_PASSWORD_MIN..MAX), -ENOMEM. */
int admin_password_hash(const char *password, char out[STORE_ADMIN_HASH_MAX + 1]);

/* Login: -EAGAIN rate-limited (nothing checked), -EACCES wrong name or
 * password (the same answer for both), else 0 with a new session whose
 * cookie value (base64url) is in cookie. */
int admin_login(struct admin_auth *a, struct store *st, const char *source, const char *name, const char *password,
		int64_t now, struct admin_session **out, char cookie[ADMIN_SECRET_B64_LEN + 1]);
/* The live session of a cookie value, refreshed; NULL if none (unknown,
 * expired, logged out). */
struct admin_session *admin_session_find(struct admin_auth *a, const char *cookie, int64_t now);
void admin_session_end(struct admin_session *s);
/* Was the session opened under this password hash (the admin's current
 * one)? false once the password has changed. */
bool admin_session_password_current(const struct admin_session *s, const char *password_hash);
/* Constant-time: is this the session's CSRF token? */
bool admin_csrf_ok(const struct admin_session *s, const char *token);

/* A new API token for an admin: stored hashed, returned once as
 * "roamadm1.<base64url>". */
int admin_token_create(struct store *st, uint32_t admin_id, int64_t now, char out[ADMIN_TOKEN_STRLEN + 1],
		       uint32_t *id_out);
/* The admin owning an unrevoked token; -EACCES. */
int admin_token_check(struct store *st, const char *token, struct store_admin *out);

/* A cookie's value from a Cookie: header ("a=b; roam_session=..."): 0, or
 * -ENOENT; -E2BIG if longer than size - 1. A parser of untrusted input
 * (fuzz/fuzz_admin_cookie.c). */
int admin_cookie_find(const char *header, const char *name, char *out, size_t size);

#endif
