/* The network's settings in the store's meta table (written by
 * `roam-server init`), checked as `roam-server run` reads them: the state
 * file may be damaged or edited, so a value is never trusted unparsed. */
#ifndef ROAM_SERVER_META_H
#define ROAM_SERVER_META_H

#include <stdint.h>

#include "net/addr.h"


/* "network6": an IPv6 prefix ("fd12:3456:789a::/48"). 0 or -EBADMSG. */
int server_meta_network6(const char *text, struct ip_prefix *out);
/* "port": decimal 1..65535, nothing else. 0 or -EBADMSG. */
int server_meta_port(const char *text, uint16_t *out);

#endif
