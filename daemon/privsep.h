/* roamd in two processes (OpenSSH's privilege separation is the model):
 *
 *   roamd (monitor, privileged)             roamd-agent (unprivileged)
 *   TUN, UDP socket, WireGuard engine,      managed mode: HTTPS to the
 *   netlink, the node's private key,   <->  server (libcurl, TLS), its JSON
 *   the control socket, state files         and stream, BINDING_ACKs
 *
 * The agent is roamd re-executed as "roamd-agent" (a fresh address space
 * that never held the private key). Before it reads anything from the
 * network it switches to an unprivileged user with no capabilities, sets
 * no_new_privs and installs a seccomp filter. The two exchange the typed,
 * size-checked messages of daemon/privsep_msg.h over a SOCK_SEQPACKET
 * pair; the monitor checks every message before use. If the agent dies the
 * tunnels keep working and the monitor starts a new one (with backoff). */
#ifndef ROAM_DAEMON_PRIVSEP_H
#define ROAM_DAEMON_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/privsep_msg.h"

struct roamd;

#define PRIVSEP_AGENT_ARGV0 "roamd-agent"
#define PRIVSEP_AGENT_FD 3
#define PRIVSEP_RELAY_FD 4 /* the datagram pair (daemon/transport/dgram_pair.h) */
#define PRIVSEP_DEFAULT_USER "nobody"

/* Monitor side (privsep.c). */
int privsep_agent_start(struct roamd *d, const char *user);
void privsep_agent_stop(struct roamd *d, bool logout); /* asks it to log out, then waits (bounded) */
void privsep_agent_send(struct roamd *d, enum ps_type type, const void *payload, size_t len);

/* For a child of roamd (the agent, the file worker): a SOCK_SEQPACKET pair
 * (close-on-exec) with bufsize-byte buffers; roamd re-executed as argv0
 * (signals unblocked; never returns). */
int privsep_seqpacket_pair(int sv[2], int bufsize);
void privsep_exec_self(const char *argv0) __attribute__((noreturn));
/* In the child before that: fd onto the fixed number target, kept across
 * exec (dup2 clears FD_CLOEXEC on the copy); _exit(127) if it cannot. */
void privsep_fd_to(int fd, int target);

/* Agent side (agent.c): main() of the re-executed roamd. */
int roamd_agent_main(void);

/* agent_sandbox.c: switch to user, drop every capability, no_new_privs,
 * seccomp. 0 or -errno with why set. */
int agent_sandbox_enter(const char *user, char *why, size_t why_size);
/* The same with extra system calls allowed, and openat for writing too
 * (the file worker, daemon/files/). */
int privsep_sandbox_enter(const char *user, const int *extra, size_t n_extra, bool write_files, char *why,
			  size_t why_size);

#endif
