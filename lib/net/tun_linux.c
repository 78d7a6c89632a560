#include "net/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TUN_CLONE_PATH "/dev/net/tun"

int tun_open_flags(const char *name_hint, unsigned flags, char name_out[IFNAMSIZ], int *fd_out)
{
	struct ifreq ifr;
	int fd, r;

	if (flags != TUN_OPEN_PLAIN)
		return -EOPNOTSUPP;
	memset(&ifr, 0, sizeof(ifr));
	if (name_hint) {
		size_t len = strlen(name_hint);
		if (len >= IFNAMSIZ)
			return -ENAMETOOLONG;
		memcpy(ifr.ifr_name, name_hint, len);
	}
	/* No packet-info header: every read is exactly one IP packet, and the
	 * version nibble tells v4 from v6. */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;

	fd = open(TUN_CLONE_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
	name_out[IFNAMSIZ - 1] = '\0';
	*fd_out = fd;
	return 0;
}

int tun_open(const char *name_hint, char name_out[IFNAMSIZ], int *fd_out)
{
	return tun_open_flags(name_hint, TUN_OPEN_PLAIN, name_out, fd_out);
}

const char *tun_strerror(int err)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
		return "no permission to create TUN device (need CAP_NET_ADMIN)";
	case -ENOENT:
		return TUN_CLONE_PATH " missing (is the tun module available?)";
	case -ENODEV:
		return "TUN driver not available (modprobe tun)";
	case -ENAMETOOLONG:
		return "interface name too long (at most 15 characters)";
	case -EBUSY:
		return "interface name is in use by another TUN device";
	case -EINVAL:
		return "invalid interface name, or the name belongs to a non-TUN interface";
	default:
		return NULL;
	}
}
