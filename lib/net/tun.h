/* The TUN device: the inner side of the tunnel, one IP packet per read/write.
 *
 * Plain mode (IFF_TUN | IFF_NO_PI): no packet-information header, no virtio
 * header. Read and write the fd directly; it is non-blocking and close-on-exec.
 *
 * Offload mode (TUN_OPEN_VNET_HDR): every read and write starts with a
 * struct virtio_net_hdr, and with TSO on one read may return a TCP
 * super-packet of up to 64 KiB to segment in user space, wireguard-go style;
 * writes may carry coalesced super-packets. See net/tun_offload.h. */
#ifndef ROAM_NET_TUN_H
#define ROAM_NET_TUN_H

#include <net/if.h>

enum tun_open_flags {
	TUN_OPEN_PLAIN = 0,
	/* IFF_VNET_HDR, then TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
	 * TUN_F_TSO_ECN). The header stays on even when the kernel refuses the
	 * offloads: then reads are never GSO, but still carry the header. */
	TUN_OPEN_VNET_HDR = 1 << 0,
	/* Reserved: TUN_OPEN_MULTI_QUEUE = 1 << 1. */
	/* With TUN_OPEN_VNET_HDR: also ask for UDP segmentation (TUN_F_USO4 |
	 * TUN_F_USO6, Linux >= 6.2); silently left off where unsupported. */
	TUN_OPEN_USO = 1 << 2,
};

/* Create (or attach to) a TUN interface. name_hint may be NULL or "" for a
 * kernel-chosen "tunN", may contain "%d", and must be shorter than IFNAMSIZ.
 * On success name_out holds the kernel's name and *fd_out the open fd.
 * Errors: -EPERM/-EACCES (no CAP_NET_ADMIN), -ENOENT/-ENODEV (/dev/net/tun
 * missing or tun module not loaded), -ENAMETOOLONG, -EBUSY (a TUN of that
 * name is held by another process), -EINVAL (name taken by a non-TUN link or
 * invalid), or another -errno. */
int tun_open(const char *name_hint, char name_out[IFNAMSIZ], int *fd_out);

/* As tun_open with flags from enum tun_open_flags; unknown flags: -EOPNOTSUPP,
 * TUN_OPEN_USO without TUN_OPEN_VNET_HDR: -EINVAL. */
int tun_open_flags(const char *name_hint, unsigned flags, char name_out[IFNAMSIZ], int *fd_out);

/* As tun_open_flags, and *offloads_out (may be NULL) = the TUN_F_* bits of
 * <linux/if_tun.h> the kernel accepted: TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
 * TUN_F_TSO_ECN normally, 0 in plain mode or where TUNSETOFFLOAD failed. */
int tun_open_offload(const char *name_hint, unsigned flags, char name_out[IFNAMSIZ], int *fd_out,
		     unsigned *offloads_out);

/* A sentence for a tun_open error that needs one ("no permission to create
 * TUN device (need CAP_NET_ADMIN)"), or NULL: then print strerror(-err). */
const char *tun_strerror(int err);

#endif
