/* Fuzzes what the admin listener reads from a browser before it knows who
 * it is (server/admin/auth.c): the Cookie: header's parser, the session
 * lookup by its value, and the CSRF token check. The input is the header. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "server/admin/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct admin_auth auth;
	char header[4096], value[ADMIN_SECRET_B64_LEN + 2];
	struct admin_session *s;

	if (size >= sizeof(header))
		return 0;
	memcpy(header, data, size);
	header[size] = '\0';
	if (!auth.sessions[0].live) {
		auth.sessions[0].live = true;
		memset(auth.sessions[0].id, 0xfb, sizeof(auth.sessions[0].id)); /* "-_-_..." in base64url */
		memset(auth.sessions[0].csrf, 'A', ADMIN_SECRET_B64_LEN);
		auth.sessions[0].created = auth.sessions[0].used = 1000;
	}
	if (admin_cookie_find(header, ADMIN_COOKIE_NAME, value, sizeof(value)) == 0) {
		if (strlen(value) >= sizeof(value))
			abort();
		s = admin_session_find(&auth, value, 1000);
		if (s && s != &auth.sessions[0])
			abort();
	}
	(void)admin_csrf_ok(&auth.sessions[0], header);
	return 0;
}
