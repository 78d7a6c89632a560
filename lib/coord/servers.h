/* The list of control servers of one network (issue 14, several servers on
 * one PostgreSQL): carried by the stream line {"type":"servers","servers":
 * ["https://HOST:PORT", ...]}, kept by the node, and used to choose where to
 * go when its server dies. Pure: no I/O. */
#ifndef ROAM_COORD_SERVERS_H
#define ROAM_COORD_SERVERS_H

#include <stddef.h>

#define COORD_SERVERS_MAX 8     /* a remote party's list: capped */
#define COORD_SERVER_URL_MAX 256 /* as a membership's server_url */

struct coord_servers {
	size_t count;
	char url[COORD_SERVERS_MAX][COORD_SERVER_URL_MAX];
};

/* Adds url (an https:// URL) unless already there: 0, or -EINVAL (not
 * https://, too long, control characters), -ENOSPC (full). */
int coord_servers_add(struct coord_servers *l, const char *url);
/* The server to try after `current` failed: the one following it in the
 * list (wrapping), never `current` itself; NULL when there is no other.
 * A current not in the list gives the list's first. */
const char *coord_servers_next(const struct coord_servers *l, const char *current);

/* The stream line, "\n"-terminated (malloc'd; NULL: no memory). */
char *coord_line_servers(const struct coord_servers *l);

#endif
