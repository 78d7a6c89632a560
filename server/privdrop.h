/* roam-server as the owner of its state directory. The unit runs it as the
 * roam-server user; an admin typing `roam-server keys create` as root, or
 * starting `roam-server run` by hand, must not leave root-owned files (the
 * SQLite database, its WAL) that the server can then no longer write. */
#ifndef ROAM_SERVER_PRIVDROP_H
#define ROAM_SERVER_PRIVDROP_H

/* When running as root and the state directory named by the command's
 * arguments (--state DIR, --state=DIR, -s DIR; default
 * SERVER_STATE_DIR_DEFAULT) exists and belongs to another user, become that
 * user and group (no supplementary groups, no capabilities back) before
 * anything is opened. `run` keeps only CAP_NET_BIND_SERVICE, to bind a port
 * below 1024 as a systemd unit with AmbientCapabilities= would. argv[0] is
 * the command's name. Returns 0 (also when nothing was to be done) or
 * -errno, having said why on stderr; then the process must not go on. */
int privdrop_to_state_owner(int argc, char *argv[]);

#endif
