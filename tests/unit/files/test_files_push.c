/* lib/files/push.c: the online PUSH messages (offer, answer, result), the
 * names a receiver accepts, and the "name (n).ext" it picks when a name is
 * taken. With `--corpus DIR` it writes the fuzz target's seeds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "files/push.h"

static struct files_push_offer sample(const char *name)
{
	struct files_push_offer o = { .size = 20000000, .mtime = 1764892800 };
	snprintf(o.name, sizeof(o.name), "%s", name);
	for (int i = 0; i < FILES_HASH_LEN; i++)
		o.hash[i] = (uint8_t)i;
	return o;
}

static void test_offer(void)
{
	uint8_t buf[FILES_PUSH_OFFER_MAX + 8];
	size_t len, total;
	struct files_push_offer o = sample("report.pdf"), back;
	CHECK_EQ(files_push_offer_build(buf, sizeof(buf), &o, &len), 0);
	CHECK_EQ(len, FILES_PUSH_OFFER_FIXED + 10);
	CHECK_EQ(files_push_offer_len(buf, 8, &total), 0);
	CHECK_EQ(total, len);
	CHECK_EQ(files_push_offer_parse(buf, len, &back), 0);
	CHECK(strcmp(back.name, "report.pdf") == 0);
	CHECK_EQ(back.size, o.size);
	CHECK_EQ(back.mtime, o.mtime);
	CHECK_MEM(back.hash, o.hash, FILES_HASH_LEN);
	/* exact length only */
	CHECK_EQ(files_push_offer_parse(buf, len - 1, &back), -EBADMSG);
	CHECK_EQ(files_push_offer_parse(buf, len + 1, &back), -EBADMSG);
	CHECK_EQ(files_push_offer_len(buf, 7, &total), -EBADMSG);
	/* every header byte matters */
	for (size_t i = 0; i < 8; i++) {
		uint8_t bad[sizeof(buf)];
		memcpy(bad, buf, len);
		bad[i] ^= 0x40;
		CHECK(files_push_offer_parse(bad, len, &back) < 0);
	}
	/* a size over the limit */
	uint8_t big[sizeof(buf)];
	memcpy(big, buf, len);
	big[15] = 0xff;
	CHECK_EQ(files_push_offer_parse(big, len, &back), -EBADMSG);
	/* a bad name in a well-formed offer: -EINVAL (answered BAD_NAME) */
	memcpy(big, buf, len);
	big[FILES_PUSH_OFFER_FIXED + 3] = '/';
	CHECK_EQ(files_push_offer_parse(big, len, &back), -EINVAL);
	/* the builder refuses what the parser would */
	struct files_push_offer bad = sample("../x");
	CHECK_EQ(files_push_offer_build(buf, sizeof(buf), &bad, &len), -EINVAL);
	o = sample("a");
	CHECK_EQ(files_push_offer_build(buf, FILES_PUSH_OFFER_FIXED, &o, &len), -ENOBUFS);
}

static void test_names(void)
{
	static const struct {
		const char *name;
		int ok;
	} cases[] = {
		{ "report.pdf", 1 }, { "a", 1 }, { "with space (2).txt", 1 }, { "Ünïcode.txt", 1 },
		{ "", 0 }, { ".", 0 }, { "..", 0 }, { "../etc", 0 }, { "a/b", 0 }, { "/abs", 0 },
		{ ".hidden", 0 }, { "tab\there", 0 }, { "new\nline", 0 }, { "del\x7f", 0 }, { "esc\x1b[2J", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK_EQ(files_push_name_ok(cases[i].name, strlen(cases[i].name)), cases[i].ok);
	char longname[FILES_NAME_MAX + 2];
	memset(longname, 'x', sizeof(longname));
	CHECK_EQ(files_push_name_ok(longname, FILES_NAME_MAX), 1);
	CHECK_EQ(files_push_name_ok(longname, FILES_NAME_MAX + 1), 0);
	CHECK_EQ(files_push_name_ok("a\0b", 3), 0);
}

static void test_answer_result(void)
{
	uint8_t a[FILES_PUSH_ANSWER_LEN], r[FILES_PUSH_RESULT_LEN];
	enum files_push_status st;
	uint64_t off;
	files_push_answer_build(a, FILES_PUSH_OK, 12345);
	CHECK_EQ(files_push_answer_parse(a, sizeof(a), &st, &off), 0);
	CHECK_EQ(st, FILES_PUSH_OK);
	CHECK_EQ(off, 12345);
	files_push_answer_build(a, FILES_PUSH_NO_SPACE, 99); /* a refusal carries no offset */
	CHECK_EQ(files_push_answer_parse(a, sizeof(a), &st, &off), 0);
	CHECK_EQ(st, FILES_PUSH_NO_SPACE);
	CHECK_EQ(off, 0);
	a[8] = 1; /* ... and one that does is nonsense */
	CHECK_EQ(files_push_answer_parse(a, sizeof(a), &st, &off), -EBADMSG);
	files_push_answer_build(a, FILES_PUSH_OK, 0);
	a[5] = FILES_PUSH_STATUS_MAX + 1;
	CHECK_EQ(files_push_answer_parse(a, sizeof(a), &st, &off), -EBADMSG);
	files_push_answer_build(a, FILES_PUSH_OK, 0);
	CHECK_EQ(files_push_answer_parse(a, sizeof(a) - 1, &st, &off), -EBADMSG);
	CHECK_EQ(files_push_result_parse(a, FILES_PUSH_RESULT_LEN, &st), -EBADMSG); /* wrong type */
	files_push_result_build(r, FILES_PUSH_BAD_HASH);
	CHECK_EQ(files_push_result_parse(r, sizeof(r), &st), 0);
	CHECK_EQ(st, FILES_PUSH_BAD_HASH);
	r[7] = 1;
	CHECK_EQ(files_push_result_parse(r, sizeof(r), &st), -EBADMSG);
	for (int s = 0; s <= FILES_PUSH_STATUS_MAX; s++)
		CHECK(strcmp(files_push_status_text((enum files_push_status)s), "unknown") != 0);
}

static void test_hash_msg(void)
{
	uint8_t m[FILES_PUSH_HASH_LEN], h[FILES_HASH_LEN], got[FILES_HASH_LEN];
	for (size_t i = 0; i < sizeof(h); i++)
		h[i] = (uint8_t)(i * 7 + 1);
	files_push_hash_build(m, h);
	CHECK_EQ(files_push_hash_parse(m, sizeof(m), got), 0);
	CHECK(memcmp(got, h, sizeof(h)) == 0);
	CHECK_EQ(files_push_hash_parse(m, sizeof(m) - 1, got), -EBADMSG);
	m[6] = 1;
	CHECK_EQ(files_push_hash_parse(m, sizeof(m), got), -EBADMSG);
	files_push_hash_build(m, h);
	m[4] = FILES_PUSH_RESULT;
	CHECK_EQ(files_push_hash_parse(m, sizeof(m), got), -EBADMSG);
}

static void test_alt_names(void)
{
	char out[FILES_NAME_MAX + 1];
	CHECK_EQ(files_push_alt_name("note.txt", 1, out, sizeof(out)), 0);
	CHECK(strcmp(out, "note (1).txt") == 0);
	CHECK_EQ(files_push_alt_name("archive.tar.gz", 12, out, sizeof(out)), 0);
	CHECK(strcmp(out, "archive.tar (12).gz") == 0);
	CHECK_EQ(files_push_alt_name("README", 2, out, sizeof(out)), 0);
	CHECK(strcmp(out, "README (2)") == 0);
	/* a long name is cut before the suffix, so it stays a valid name */
	char longname[FILES_NAME_MAX + 1];
	memset(longname, 'x', FILES_NAME_MAX);
	memcpy(longname + FILES_NAME_MAX - 4, ".bin", 5);
	CHECK_EQ(files_push_alt_name(longname, 999, out, sizeof(out)), 0);
	CHECK_EQ(strlen(out), FILES_NAME_MAX);
	CHECK(strcmp(out + FILES_NAME_MAX - 10, " (999).bin") == 0);
	CHECK_EQ(files_push_name_ok(out, strlen(out)), 1);
	CHECK_EQ(files_push_alt_name("note.txt", 1, out, 8), -ENAMETOOLONG);
}

static int write_seed(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -errno;
	size_t n = fwrite(buf, 1, len, f);
	return fclose(f) == 0 && n == len ? 0 : -EIO;
}

static int write_corpus(const char *dir)
{
	uint8_t buf[FILES_PUSH_OFFER_MAX];
	size_t len;
	struct files_push_offer o = sample("report.pdf");
	int r = files_push_offer_build(buf, sizeof(buf), &o, &len);
	if (r == 0)
		r = write_seed(dir, "offer", buf, len);
	files_push_answer_build(buf, FILES_PUSH_OK, 4096);
	if (r == 0)
		r = write_seed(dir, "answer", buf, FILES_PUSH_ANSWER_LEN);
	files_push_result_build(buf, FILES_PUSH_OK);
	if (r == 0)
		r = write_seed(dir, "result", buf, FILES_PUSH_RESULT_LEN);
	files_push_hash_build(buf, o.hash);
	if (r == 0)
		r = write_seed(dir, "hash", buf, FILES_PUSH_HASH_LEN);
	return r;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--corpus") == 0)
		return write_corpus(argv[2]) < 0;
	test_offer();
	test_names();
	test_answer_result();
	test_alt_names();
	test_hash_msg();
	return check_report("test_files_push");
}
