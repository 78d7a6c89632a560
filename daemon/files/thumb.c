/* JPEG thumbnails with libjpeg-turbo (thumb.h). libjpeg reports fatal
 * errors through error_exit, which must not return: it longjmps back here,
 * and everything the decoder allocated is released by jpeg_destroy. */
#include "daemon/files/thumb.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

struct thumb_err {
	struct jpeg_error_mgr mgr;
	jmp_buf jmp;
};

static void on_error(j_common_ptr cinfo)
{
	struct thumb_err *e = (struct thumb_err *)cinfo->err;
	longjmp(e->jmp, 1);
}

static void on_message(j_common_ptr cinfo)
{
	(void)cinfo; /* library code prints nothing */
}

int thumb_is_jpeg(const uint8_t *in, size_t len)
{
	return len >= 3 && in[0] == 0xff && in[1] == 0xd8 && in[2] == 0xff;
}

/* Decoded at the smallest libjpeg scale that still covers THUMB_SIDE. */
static int decode(const uint8_t *in, size_t len, uint8_t **rgb, unsigned *w, unsigned *h)
{
	struct jpeg_decompress_struct d;
	struct thumb_err err;
	uint8_t *volatile buf = NULL;
	volatile int ret = -EINVAL;

	d.err = jpeg_std_error(&err.mgr);
	err.mgr.error_exit = on_error;
	err.mgr.output_message = on_message;
	if (setjmp(err.jmp)) {
		free(buf);
		jpeg_destroy_decompress(&d);
		return ret;
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, in, (unsigned long)len);
	jpeg_read_header(&d, TRUE);
	if ((uint64_t)d.image_width * d.image_height > THUMB_MAX_PIXELS) {
		ret = -E2BIG;
		longjmp(err.jmp, 1);
	}
	unsigned longest = d.image_width > d.image_height ? d.image_width : d.image_height;
	d.scale_num = 1;
	d.scale_denom = 1;
	while (d.scale_denom < 8 && longest / (d.scale_denom * 2) >= THUMB_SIDE)
		d.scale_denom *= 2;
	d.out_color_space = JCS_RGB;
	jpeg_start_decompress(&d);
	size_t stride = (size_t)d.output_width * 3;
	buf = malloc(stride * d.output_height);
	if (!buf) {
		ret = -ENOMEM;
		longjmp(err.jmp, 1);
	}
	while (d.output_scanline < d.output_height) {
		JSAMPROW row = buf + stride * d.output_scanline;
		jpeg_read_scanlines(&d, &row, 1);
	}
	jpeg_finish_decompress(&d);
	*w = d.output_width;
	*h = d.output_height;
	*rgb = buf; /* ownership to the caller */
	jpeg_destroy_decompress(&d);
	return 0;
}

/* Box filter down to fit THUMB_SIDE (never up). */
static uint8_t *shrink(const uint8_t *rgb, unsigned w, unsigned h, unsigned *tw, unsigned *th)
{
	unsigned longest = w > h ? w : h;
	unsigned nw = w, nh = h;
	if (longest > THUMB_SIDE) {
		nw = (unsigned)((uint64_t)w * THUMB_SIDE / longest);
		nh = (unsigned)((uint64_t)h * THUMB_SIDE / longest);
	}
	nw = nw ? nw : 1;
	nh = nh ? nh : 1;
	uint8_t *out = malloc((size_t)nw * nh * 3);
	if (!out)
		return NULL;
	for (unsigned y = 0; y < nh; y++) {
		unsigned y0 = (unsigned)((uint64_t)y * h / nh), y1 = (unsigned)((uint64_t)(y + 1) * h / nh);
		for (unsigned x = 0; x < nw; x++) {
			unsigned x0 = (unsigned)((uint64_t)x * w / nw), x1 = (unsigned)((uint64_t)(x + 1) * w / nw);
			uint64_t sum[3] = { 0, 0, 0 }, n = (uint64_t)(x1 - x0) * (y1 - y0);
			for (unsigned yy = y0; yy < y1; yy++)
				for (unsigned xx = x0; xx < x1; xx++)
					for (int c = 0; c < 3; c++)
						sum[c] += rgb[((size_t)yy * w + xx) * 3 + (size_t)c];
			for (int c = 0; c < 3; c++)
				out[((size_t)y * nw + x) * 3 + (size_t)c] = (uint8_t)(sum[c] / (n ? n : 1));
		}
	}
	*tw = nw;
	*th = nh;
	return out;
}

static int encode(const uint8_t *rgb, unsigned w, unsigned h, int quality, uint8_t **out, unsigned long *len)
{
	struct jpeg_compress_struct c;
	struct thumb_err err;

	c.err = jpeg_std_error(&err.mgr);
	err.mgr.error_exit = on_error;
	err.mgr.output_message = on_message;
	*out = NULL;
	*len = 0;
	if (setjmp(err.jmp)) {
		jpeg_destroy_compress(&c);
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, out, len);
	c.image_width = w;
	c.image_height = h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(uintptr_t)(rgb + (size_t)c.next_scanline * w * 3);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return 0;
}

int thumb_jpeg(const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	static const int qualities[] = { 75, 50, 30 };
	uint8_t *rgb = NULL, *small = NULL;
	unsigned w, h, tw, th;
	int ret;

	if (len > THUMB_MAX_INPUT)
		return -E2BIG;
	if (!thumb_is_jpeg(in, len))
		return -EINVAL;
	ret = decode(in, len, &rgb, &w, &h);
	if (ret < 0)
		return ret;
	small = shrink(rgb, w, h, &tw, &th);
	ret = small ? -ENOSPC : -ENOMEM;
	for (size_t i = 0; small && i < sizeof(qualities) / sizeof(qualities[0]); i++) {
		uint8_t *enc;
		unsigned long elen;
		ret = encode(small, tw, th, qualities[i], &enc, &elen);
		if (ret == 0 && elen <= cap) {
			memcpy(out, enc, elen);
			*out_len = elen;
			free(enc);
			break;
		}
		free(enc);
		ret = ret < 0 ? ret : -ENOSPC;
	}
	free(rgb);
	free(small);
	return ret;
}
