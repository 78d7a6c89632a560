/* The console's pages: assets embedded in the binary at build time
 * (server/console/, turned into console_assets.h by the build). */
#include <string.h>

#include "server/admin/admin.h"
#include "server/console/console_assets.h"

void admin_console_serve(struct admin_req *r)
{
	const struct console_asset *a = NULL;
	const char *path = r->path;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		admin_reply_error(r, 405, "method not allowed");
		return;
	}
	/* Every page is the one document; its script shows the page the path
	 * names (/nodes, /groups, ...). */
	if (strncmp(path, "/static/", 8) != 0)
		path = "/static/index.html";
	for (size_t i = 0; i < console_assets_count; i++) {
		if (strcmp(console_assets[i].path, path + 7) == 0) {
			a = &console_assets[i];
			break;
		}
	}
	if (!a) {
		admin_reply_error(r, 404, "no such page");
		return;
	}
	admin_reply_bytes(r, 200, a->type, a->data, a->len);
}
