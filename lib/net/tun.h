/* The TUN device: the inner side of the tunnel, one IP packet per read/write.
 *
 * Plain mode (IFF_TUN | IFF_NO_PI): no packet-information header, no virtio
 * header. Read and write the fd directly; it is non-blocking and close-on-exec.
 * Offloads come later through tun_open_flags(): TUN_OPEN_VNET_HDR would set
 * IFF_VNET_HDR and TUNSETOFFLOAD (TSO/USO) so one read returns a
 * super-packet to segment in user space, wireguard-go style. */
#ifndef ROAM_NET_TUN_H
#define ROAM_NET_TUN_H

#include <net/if.h>

enum tun_open_flags {
	TUN_OPEN_PLAIN = 0,
	/* Reserved: TUN_OPEN_VNET_HDR = 1 << 0, TUN_OPEN_MULTI_QUEUE = 1 << 1. */
};

/* Create (or attach to) a TUN interface. name_hint may be NULL or "" for a
 * kernel-chosen "tunN", may contain "%d", and must be shorter than IFNAMSIZ.
 * On success name_out holds the kernel's name and *fd_out the open fd.
 * Errors: -EPERM/-EACCES (no CAP_NET_ADMIN), -ENOENT/-ENODEV (/dev/net/tun
 * missing or tun module not loaded), -ENAMETOOLONG, -EBUSY (a TUN of that
 * name is held by another process), -EINVAL (name taken by a non-TUN link or
 * invalid), or another -errno. */
int tun_open(const char *name_hint, char name_out[IFNAMSIZ], int *fd_out);

/* As tun_open with flags from enum tun_open_flags; unknown flags: -EOPNOTSUPP. */
int tun_open_flags(const char *name_hint, unsigned flags, char name_out[IFNAMSIZ], int *fd_out);

/* A sentence for a tun_open error that needs one ("no permission to create
 * TUN device (need CAP_NET_ADMIN)"), or NULL: then print strerror(-err). */
const char *tun_strerror(int err);

#endif
