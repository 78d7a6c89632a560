/* The agent's sandbox: an unprivileged user (libcap-ng), no capabilities,
 * no_new_privs, and a seccomp allow-list (libseccomp) of what an event loop
 * with libcurl, OpenSSL and glibc's resolver needs, and the port-mapping
 * worker thread with libnatpmp and libminiupnpc. Anything else fails
 * with EPERM; starting programs, tracing and new processes kill it. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <cap-ng.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "daemon/privsep.h"

static int switch_user(const char *user, char *why, size_t why_size)
{
	struct passwd *pw = getpwnam(user);
	if (!pw && strcmp(user, PRIVSEP_DEFAULT_USER) != 0) {
		/* A missing service user must not leave us running as root. */
		snprintf(why, why_size, "no user '%s' to run as: create it, or pass --agent-user", user);
		return -ENOENT;
	}
	if (!pw) {
		snprintf(why, why_size, "no user '%s' on this system to run the agent as", user);
		return -ENOENT;
	}
	if (pw->pw_uid == 0) {
		snprintf(why, why_size, "the agent must not run as root (user '%s' has uid 0)", user);
		return -EPERM;
	}
	/* Emptying the bounding set needs CAP_SETPCAP, which a unit that
	 * grants roamd only what it needs does not give; without it the set
	 * stays, harmlessly: no_new_privs and the filter (no exec) mean no
	 * capability can ever be gained back from it. */
	capng_get_caps_process();
	int flags = CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_AMBIENT;
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP))
		flags |= CAPNG_CLEAR_BOUNDING;
	capng_clear(CAPNG_SELECT_ALL); /* ambient ones too: a unit gives roamd ambient capabilities */
	if (capng_change_id((int)pw->pw_uid, (int)pw->pw_gid, flags) < 0) {
		snprintf(why, why_size, "cannot switch to user '%s'", user);
		return -EPERM;
	}
	return 0;
}

static const int allowed[] = {
	/* memory, threads (libcurl's resolver thread), time, signals */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect), SCMP_SYS(madvise),
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(getrandom), SCMP_SYS(uname), SCMP_SYS(prlimit64), SCMP_SYS(sysinfo),
	/* files: reading configuration (resolv.conf, hosts, nsswitch, CA certs) */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64), SCMP_SYS(close),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(lseek), SCMP_SYS(fcntl), SCMP_SYS(dup),
	SCMP_SYS(dup3), SCMP_SYS(getdents64), SCMP_SYS(readlink), SCMP_SYS(faccessat), SCMP_SYS(access),
	SCMP_SYS(getcwd), SCMP_SYS(ioctl), SCMP_SYS(pipe2), SCMP_SYS(eventfd2),
	/* the event loop and the network */
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(poll),
	SCMP_SYS(ppoll), SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(bind),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg),
	SCMP_SYS(recvmmsg), SCMP_SYS(shutdown),
	/* port mapping's worker (daemon/agent_portmap.c): libminiupnpc waits
	 * for a slow connect with select() */
	SCMP_SYS(select), SCMP_SYS(pselect6),
};

static const int fatal[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(setuid), SCMP_SYS(setgid),
};

static int install_seccomp(const int *extra, size_t n_extra, bool write_files, char *why, size_t why_size)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int ret = ctx ? 0 : -ENOMEM;
	for (size_t i = 0; ret == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	for (size_t i = 0; ret == 0 && i < n_extra; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, extra[i], 0);
	for (size_t i = 0; ret == 0 && i < sizeof(fatal) / sizeof(fatal[0]); i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, fatal[i], 0);
	/* Files only for reading (the file worker writes its inbox). */
	if (ret == 0 && write_files)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 0);
	else if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY));
	/* Threads, not processes: clone only with CLONE_THREAD; clone3's
	 * flags are out of a filter's reach, so glibc is told to use clone. */
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (ret == 0)
		ret = seccomp_load(ctx);
	if (ret < 0)
		snprintf(why, why_size, "cannot install the seccomp filter: %s", strerror(-ret));
	seccomp_release(ctx);
	return ret;
}

int privsep_sandbox_enter(const char *user, const int *extra, size_t n_extra, bool write_files, char *why,
			  size_t why_size)
{
	int ret;
	if (geteuid() == 0 && (ret = switch_user(user, why, why_size)) < 0)
		return ret;
	if (geteuid() == 0) {
		snprintf(why, why_size, "still root after switching to '%s'", user);
		return -EPERM;
	}
	if (chdir("/") < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(why, why_size, "cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	return install_seccomp(extra, n_extra, write_files, why, why_size);
}

int agent_sandbox_enter(const char *user, char *why, size_t why_size)
{
	return privsep_sandbox_enter(user, NULL, 0, false, why, why_size);
}
