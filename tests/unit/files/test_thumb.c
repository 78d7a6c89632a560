/* daemon/files/thumb.c: a photo made here with libjpeg (1200x800, and a
 * tall 90x3000) becomes a JPEG of at most 160 pixels on its long side and
 * 16 KiB; garbage, a truncated file, and a header declaring a huge image
 * are refused without crashing; nothing fits a too-small buffer. With
 * `--corpus DIR` it writes the fuzz target's seed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "../check.h"
#include "seed.h"
#include "daemon/files/thumb.h"
#include "files/files.h"

static uint8_t *make_jpeg(unsigned w, unsigned h, unsigned long *len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	uint8_t *out = NULL, *row = malloc((size_t)w * 3);
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, len);
	c.image_width = w;
	c.image_height = h;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 90, TRUE);
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < h) {
		for (unsigned x = 0; x < w; x++) {
			row[x * 3] = (uint8_t)(x * 255 / w);
			row[x * 3 + 1] = (uint8_t)(c.next_scanline * 255 / h);
			row[x * 3 + 2] = (uint8_t)((x ^ c.next_scanline) & 0xff);
		}
		JSAMPROW r = row;
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(row);
	return out;
}

static void dims(const uint8_t *buf, size_t len, unsigned *w, unsigned *h)
{
	struct jpeg_decompress_struct d;
	struct jpeg_error_mgr e;
	d.err = jpeg_std_error(&e);
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, buf, (unsigned long)len);
	jpeg_read_header(&d, TRUE);
	*w = d.image_width;
	*h = d.image_height;
	jpeg_destroy_decompress(&d);
}

static void test_photo(unsigned w, unsigned h, unsigned want_w, unsigned want_h)
{
	unsigned long len;
	uint8_t *img = make_jpeg(w, h, &len), out[FILES_INDEX_THUMB_MAX];
	size_t olen = 0;
	unsigned tw, th;
	CHECK(thumb_is_jpeg(img, len));
	CHECK_EQ(thumb_jpeg(img, len, out, sizeof(out), &olen), 0);
	CHECK(olen > 0 && olen <= FILES_INDEX_THUMB_MAX);
	dims(out, olen, &tw, &th);
	CHECK_EQ(tw, want_w);
	CHECK_EQ(th, want_h);
	/* nothing fits 100 bytes */
	CHECK_EQ(thumb_jpeg(img, len, out, 100, &olen), -ENOSPC);
	/* truncated: refused or a (partly grey) thumbnail, never a crash */
	int r = thumb_jpeg(img, len / 2, out, sizeof(out), &olen);
	CHECK(r == 0 || r == -EINVAL);
	free(img);
}

static void test_refused(void)
{
	uint8_t junk[4096], out[FILES_INDEX_THUMB_MAX];
	size_t olen;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37);
	CHECK_EQ(thumb_jpeg(junk, sizeof(junk), out, sizeof(out), &olen), -EINVAL);
	junk[0] = 0xff, junk[1] = 0xd8, junk[2] = 0xff; /* a JPEG's start, then garbage */
	CHECK_EQ(thumb_jpeg(junk, sizeof(junk), out, sizeof(out), &olen), -EINVAL);
	CHECK_EQ(thumb_jpeg(junk, THUMB_MAX_INPUT + 1u, out, sizeof(out), &olen), -E2BIG);
	/* a header declaring 60000 x 60000: refused before decoding */
	unsigned long len;
	uint8_t *img = make_jpeg(16, 16, &len);
	for (unsigned long i = 0; i + 9 < len; i++)
		if (img[i] == 0xff && (img[i + 1] == 0xc0 || img[i + 1] == 0xc2)) {
			img[i + 5] = 0xea, img[i + 6] = 0x60; /* height */
			img[i + 7] = 0xea, img[i + 8] = 0x60; /* width */
			break;
		}
	CHECK_EQ(thumb_jpeg(img, len, out, sizeof(out), &olen), -E2BIG);
	free(img);
}

/* --corpus DIR: a small photo as the fuzz target's seed */
static int write_corpus(const char *dir)
{
	unsigned long len;
	uint8_t *img = make_jpeg(64, 48, &len);
	int ret = write_seed(dir, "photo_64x48.jpg", img, len);
	free(img);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--corpus") == 0)
		return write_corpus(argv[2]) < 0;
	test_photo(1200, 800, 160, 106);
	test_photo(90, 3000, 5, 160); /* via the 1/8 scale: 12 x 375, then 5 x 160 */
	test_photo(100, 50, 100, 50); /* small: not enlarged */
	test_refused();
	return check_report("test_thumb");
}
