/* Thumbnails for a PUBLISH index (roam ls PEER --thumbs): a JPEG photo
 * scaled to at most THUMB_SIDE pixels on its long side and encoded again as
 * a JPEG of at most FILES_INDEX_THUMB_MAX bytes, with libjpeg-turbo. An
 * image decoder is attack surface: this runs only in the file worker
 * (unprivileged, no capabilities, seccomp), on at most THUMB_MAX_INPUT
 * bytes, and refuses an image that declares more than THUMB_MAX_PIXELS
 * before anything is allocated for it (libjpeg decodes at 1/8 scale where it
 * can, so the buffer is at most ~1/64 of that). */
#ifndef ROAM_DAEMON_FILES_THUMB_H
#define ROAM_DAEMON_FILES_THUMB_H

#include <stddef.h>
#include <stdint.h>

#define THUMB_SIDE 160
#define THUMB_MAX_INPUT (32u << 20)
#define THUMB_MAX_PIXELS (120u * 1000 * 1000)

/* 1 when the bytes start like a JPEG (what is worth trying). */
int thumb_is_jpeg(const uint8_t *in, size_t len);
/* 0 with the thumbnail in out[0..*out_len); -EINVAL (not a JPEG libjpeg
 * can decode), -E2BIG (input or declared size over the caps), -ENOSPC (no
 * thumbnail fits cap), -ENOMEM. */
int thumb_jpeg(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);

#endif
