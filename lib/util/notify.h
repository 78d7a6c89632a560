/* Readiness for the service manager. Type=notify units are "started" only
 * when the program says so, so units ordered after roamd or roam-server
 * wait for a usable interface or a listening port, not just a fork. */
#ifndef ROAM_UTIL_NOTIFY_H
#define ROAM_UTIL_NOTIFY_H

/* Tells systemd we are ready (READY=1). Returns 1 if a notification socket
 * took it, 0 when not run by systemd (nothing to do), or -errno. */
int notify_ready(void);

#endif
