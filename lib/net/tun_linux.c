#include "net/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TUN_CLONE_PATH "/dev/net/tun"

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20 /* Linux 6.2; Debian 12's headers predate it */
#define TUN_F_USO6 0x40
#endif

#define TUN_OFFLOADS_TSO (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

/* Ask for the most we can use and step down: an older kernel answers
 * EINVAL to bits it does not know (USO), a stripped one may refuse all. */
static unsigned tun_set_offloads(int fd, unsigned flags)
{
	const unsigned tries[] = {
		(flags & TUN_OPEN_USO) ? TUN_OFFLOADS_TSO | TUN_F_USO4 | TUN_F_USO6 : TUN_OFFLOADS_TSO,
		TUN_OFFLOADS_TSO,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6,
		TUN_F_CSUM,
	};

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0)
			return tries[i];
	}
	/* Nothing on: the kernel checksums and segments everything itself. */
	(void)ioctl(fd, TUNSETOFFLOAD, 0UL);
	return 0;
}

int tun_open_offload(const char *name_hint, unsigned flags, char name_out[IFNAMSIZ], int *fd_out,
		     unsigned *offloads_out)
{
	const int vnet_hdr_len = (int)sizeof(struct virtio_net_hdr);
	unsigned offloads = 0;
	struct ifreq ifr;
	int fd, r;

	if (flags & ~(unsigned)(TUN_OPEN_VNET_HDR | TUN_OPEN_USO))
		return -EOPNOTSUPP;
	if ((flags & TUN_OPEN_USO) && !(flags & TUN_OPEN_VNET_HDR))
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	if (name_hint) {
		size_t len = strlen(name_hint);
		if (len >= IFNAMSIZ)
			return -ENAMETOOLONG;
		memcpy(ifr.ifr_name, name_hint, len);
	}
	/* No packet-info header: every read is exactly one IP packet (behind
	 * the virtio header in offload mode), the version nibble tells v4 from v6. */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (flags & TUN_OPEN_VNET_HDR)
		ifr.ifr_flags |= IFF_VNET_HDR;

	fd = open(TUN_CLONE_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto fail;
	if (flags & TUN_OPEN_VNET_HDR) {
		/* 10 bytes is the default, but a persistent device may have been
		 * left with another size (12, mergeable buffers) by its last user. */
		if (ioctl(fd, TUNSETVNETHDRSZ, &vnet_hdr_len) < 0)
			goto fail;
		offloads = tun_set_offloads(fd, flags);
	}
	memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
	name_out[IFNAMSIZ - 1] = '\0';
	*fd_out = fd;
	if (offloads_out)
		*offloads_out = offloads;
	return 0;

fail:
	r = -errno;
	close(fd);
	return r;
}

int tun_open_flags(const char *name_hint, unsigned flags, char name_out[IFNAMSIZ], int *fd_out)
{
	return tun_open_offload(name_hint, flags, name_out, fd_out, NULL);
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
