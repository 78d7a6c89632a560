/* notify_ready() through libsystemd: sd_notify() handles $NOTIFY_SOCKET
 * (abstract and path sockets, credentials) so we do not reimplement it. */
#include <systemd/sd-daemon.h>

#include "util/notify.h"

int notify_ready(void)
{
	return sd_notify(0, "READY=1");
}
