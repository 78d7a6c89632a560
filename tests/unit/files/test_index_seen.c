/* daemon/files/index_seen.c and publish_state.c: what the file worker keeps
 * in its state directory across restarts.
 * - index_seen: a reader refuses an index with a sequence below the highest
 *   it accepted for that (publisher, group) (the server handing back an
 *   older one), accepts the same or higher, keeps groups and publishers
 *   apart, remembers across a restart (the table reloaded from the
 *   directory), and holds at most INDEX_SEEN_MAX pairs.
 * - publish_state: the published directory, group, --cache and the highest
 *   sequence come back after a restart; unpublish forgets the directory but
 *   keeps the sequence (a later index still goes higher). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"
#include "daemon/files/index_seen.h"
#include "daemon/files/publish_state.h"

static void test_seen(int dirfd)
{
	index_seen_reset();
	index_seen_init(dirfd);
	CHECK_EQ(index_seen_accept(7, 1, 100), 0);
	CHECK_EQ(index_seen_accept(7, 1, 100), 0);         /* the same index again */
	CHECK_EQ(index_seen_accept(7, 1, 99), -ESTALE);    /* rolled back */
	CHECK_EQ(index_seen_accept(7, 1, 200), 0);
	CHECK_EQ(index_seen_accept(7, 1, 150), -ESTALE);
	CHECK_EQ(index_seen_accept(7, 2, 5), 0);           /* another group of 7's */
	CHECK_EQ(index_seen_accept(8, 1, 5), 0);           /* another publisher */
	/* A restart: loaded from the directory. */
	index_seen_reset();
	index_seen_init(dirfd);
	CHECK_EQ(index_seen_accept(7, 1, 199), -ESTALE);
	CHECK_EQ(index_seen_accept(7, 2, 4), -ESTALE);
	CHECK_EQ(index_seen_accept(7, 1, 200), 0);
	/* The cap: the least recently raised pair goes first. */
	index_seen_reset();
	index_seen_init(-1);
	CHECK_EQ(index_seen_accept(1, 1, 50), 0);
	for (uint32_t i = 0; i < INDEX_SEEN_MAX; i++)
		CHECK_EQ(index_seen_accept(1000 + i, 1, 10), 0);
	CHECK_EQ(index_seen_accept(1000, 1, 9), -ESTALE); /* still held */
	CHECK_EQ(index_seen_accept(1, 1, 49), 0);          /* forgotten: the cap */
}

static void test_published(int dirfd)
{
	char dir[256], group[64];
	bool cache = false;
	uint64_t seq = 1;
	CHECK_EQ(publish_state_init(dirfd, dir, sizeof(dir), group, sizeof(group), &cache, &seq), -ENOENT);
	CHECK_EQ(seq, 0);
	CHECK_EQ(publish_state_set("/srv/pub", "g", true), 0);
	CHECK_EQ(publish_state_seq("g", 1764940000000001ull), 0);
	CHECK_EQ(publish_state_seq("h", 1764940000000000ull), 0);
	CHECK_EQ(publish_state_init(dirfd, dir, sizeof(dir), group, sizeof(group), &cache, &seq), 0);
	CHECK(strcmp(dir, "/srv/pub") == 0 && strcmp(group, "g") == 0 && cache);
	CHECK_EQ(seq, 1764940000000001ull);
	/* Published again elsewhere: the sequences stay. */
	CHECK_EQ(publish_state_set("/srv/other", "", false), 0);
	CHECK_EQ(publish_state_init(dirfd, dir, sizeof(dir), group, sizeof(group), &cache, &seq), 0);
	CHECK(strcmp(dir, "/srv/other") == 0 && group[0] == '\0' && !cache);
	CHECK_EQ(seq, 1764940000000001ull);
	/* Unpublished: nothing to publish at start, the sequence kept. */
	CHECK_EQ(publish_state_clear(), 0);
	CHECK_EQ(publish_state_init(dirfd, dir, sizeof(dir), group, sizeof(group), &cache, &seq), -ENOENT);
	CHECK_EQ(seq, 1764940000000001ull);
	/* A damaged record is refused, not published. */
	int fd = openat(dirfd, PUBLISH_STATE_FILE, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "{\"dir\":\"rel\",\"group\":\"\",\"seq\":{}}", 33) == 33);
	close(fd);
	CHECK_EQ(publish_state_init(dirfd, dir, sizeof(dir), group, sizeof(group), &cache, &seq), -EBADMSG);
}

int main(void)
{
	char tmpl[] = "/tmp/test_index_seen.XXXXXX";
	CHECK(mkdtemp(tmpl) != NULL);
	int dirfd = open(tmpl, O_RDONLY | O_DIRECTORY);
	CHECK(dirfd >= 0);
	test_seen(dirfd);
	test_published(dirfd);
	unlinkat(dirfd, INDEX_SEEN_FILE, 0);
	unlinkat(dirfd, PUBLISH_STATE_FILE, 0);
	close(dirfd);
	rmdir(tmpl);
	printf("ok\n");
	return 0;
}
