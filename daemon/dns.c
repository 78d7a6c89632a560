/* The interface's DNS servers and search domains (wg-quick's DNS key),
 * handed to whatever manages the host's resolver: systemd-resolved through
 * resolvectl when it runs, else resolvconf (openresolv or Debian's). The
 * helper runs from an argument vector, never through a shell, so nothing in
 * the configuration is ever interpreted as a command. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/static_mode.h"
#include "util/log.h"

#define DNS_ARGV_MAX (3 + CONFIG_DNS_SERVERS_MAX + CONFIG_DNS_SEARCH_MAX + 1)
#define DNS_INPUT_MAX (CONFIG_DNS_SERVERS_MAX * (12 + CONFIG_DNS_SERVER_STRLEN) + \
		       8 + CONFIG_DNS_SEARCH_MAX * (CONFIG_DNS_NAME_MAX + 1))

/* execv's type for our strings, which it never writes. */
#define DNS_ARG(s) ((char *)(uintptr_t)(s))

/* Fixed directories, not $PATH: roamd runs as root. */
static const char *const dns_dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin" };

static int dns_find(const char *name, char *path, size_t size)
{
	for (size_t i = 0; i < sizeof(dns_dirs) / sizeof(dns_dirs[0]); i++) {
		snprintf(path, size, "%s/%s", dns_dirs[i], name);
		if (access(path, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* resolved is only used when it runs: resolvectl alone (or Debian's
 * resolvconf shim to it) would fail without the daemon. */
static enum roamd_dns_backend dns_detect(char *path, size_t size)
{
	if (access("/run/systemd/resolve/io.systemd.Resolve", F_OK) == 0 && dns_find("resolvectl", path, size) == 0)
		return ROAMD_DNS_RESOLVECTL;
	if (dns_find("resolvconf", path, size) == 0)
		return ROAMD_DNS_RESOLVCONF;
	return ROAMD_DNS_NONE;
}

static void dns_child(const char *path, char *const argv[], int in_fd)
{
	sigset_t none;

	/* The event loop blocks the signals it takes through signalfd; the
	 * helper must not inherit that mask. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL); /* roamd ignores it; exec would keep that */
	if (in_fd == STDIN_FILENO)
		fcntl(in_fd, F_SETFD, 0); /* dup2 onto itself keeps O_CLOEXEC */
	else if (in_fd >= 0 && dup2(in_fd, STDIN_FILENO) < 0)
		_exit(127);
	execv(path, argv);
	_exit(127);
}

/* Runs path with argv, input (may be NULL) on its standard input; 0 if it
 * exits with status 0. Blocks until it exits. */
static int dns_run(const char *path, char *const argv[], const char *input)
{
	int fds[2] = { -1, -1 }, status, ret = 0;
	pid_t pid;

	if (input && pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto out;
	}
	if (pid == 0)
		dns_child(path, argv, fds[0]);
	if (input) {
		close(fds[0]);
		fds[0] = -1;
		/* Small (< 10 KiB): one write; a helper that exits early gives EPIPE, ignored. */
		if (write(fds[1], input, strlen(input)) < 0 && errno != EPIPE)
			ret = -errno;
		close(fds[1]);
		fds[1] = -1;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ret = -errno;
			goto out;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_warn("dns: %s exited with status %d", path,
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		ret = -EIO;
	}
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return ret;
}

/* resolvectl dns IFACE S...; resolvectl domain IFACE D... */
static int dns_set_resolvectl(const char *path, const char *ifname, const struct roam_config *cfg)
{
	char *argv[DNS_ARGV_MAX];
	size_t n;
	int ret;

	argv[0] = DNS_ARG("resolvectl");
	argv[1] = DNS_ARG("dns");
	argv[2] = DNS_ARG(ifname);
	n = 3;
	for (size_t i = 0; i < cfg->dns_servers_count; i++)
		argv[n++] = DNS_ARG(cfg->dns_servers[i]);
	argv[n] = NULL;
	if ((ret = dns_run(path, argv, NULL)) < 0 || cfg->dns_search_count == 0)
		return ret;
	argv[1] = DNS_ARG("domain");
	n = 3;
	for (size_t i = 0; i < cfg->dns_search_count; i++)
		argv[n++] = DNS_ARG(cfg->dns_search[i]);
	argv[n] = NULL;
	return dns_run(path, argv, NULL);
}

/* resolvconf -a IFACE, with resolv.conf lines on its standard input.
 * resolved's routing-only domains ("~corp") mean nothing to it. */
static int dns_set_resolvconf(const char *path, const char *ifname, const struct roam_config *cfg)
{
	char *argv[] = { DNS_ARG("resolvconf"), DNS_ARG("-a"), DNS_ARG(ifname), NULL };
	char input[DNS_INPUT_MAX];
	size_t off = 0, searches = 0;

	for (size_t i = 0; i < cfg->dns_servers_count; i++)
		off += (size_t)snprintf(input + off, sizeof(input) - off, "nameserver %s\n", cfg->dns_servers[i]);
	for (size_t i = 0; i < cfg->dns_search_count; i++) {
		if (cfg->dns_search[i][0] == '~')
			continue;
		off += (size_t)snprintf(input + off, sizeof(input) - off, "%s%s", searches++ ? " " : "search ",
					cfg->dns_search[i]);
	}
	if (searches)
		snprintf(input + off, sizeof(input) - off, "\n");
	return dns_run(path, argv, input);
}

int roamd_dns_set(const char *ifname, const struct roam_config *cfg, enum roamd_dns_backend *used)
{
	char path[64];
	enum roamd_dns_backend backend;
	int ret;

	*used = ROAMD_DNS_NONE;
	if (cfg->dns_servers_count == 0 && cfg->dns_search_count == 0)
		return 0;
	backend = dns_detect(path, sizeof(path));
	if (backend == ROAMD_DNS_NONE) {
		log_warn("%s: DNS is set in the configuration, but neither systemd-resolved nor resolvconf is "
			 "installed: not configuring DNS", ifname);
		return 0;
	}
	ret = backend == ROAMD_DNS_RESOLVECTL ? dns_set_resolvectl(path, ifname, cfg)
					      : dns_set_resolvconf(path, ifname, cfg);
	if (ret < 0) {
		log_warn("%s: could not set DNS through %s: %s", ifname, path, strerror(-ret));
		return ret;
	}
	*used = backend;
	log_info("%s: DNS set through %s (%zu servers, %zu search domains)", ifname, path,
		 cfg->dns_servers_count, cfg->dns_search_count);
	return 0;
}

void roamd_dns_clear(const char *ifname, enum roamd_dns_backend *used)
{
	char *revert[] = { DNS_ARG("resolvectl"), DNS_ARG("revert"), DNS_ARG(ifname), NULL };
	char *del[] = { DNS_ARG("resolvconf"), DNS_ARG("-d"), DNS_ARG(ifname), NULL };
	char path[64];

	if (*used == ROAMD_DNS_NONE)
		return;
	if (dns_find(*used == ROAMD_DNS_RESOLVECTL ? "resolvectl" : "resolvconf", path, sizeof(path)) == 0 &&
	    dns_run(path, *used == ROAMD_DNS_RESOLVECTL ? revert : del, NULL) == 0)
		log_info("%s: DNS removed", ifname);
	*used = ROAMD_DNS_NONE;
}
