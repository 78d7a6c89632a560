/* Fuzzes what roamd does with bytes from its control socket
 * (lib/ctl/request.c): the request framing, fed in chunks cut at random
 * places the way recv() returns them, then the command parsing of the line
 * it yields. The framed line must be the bytes before the first newline
 * (less a final '\r'), and the limit must hold.
 *
 * Input: byte 0 picks the read limit (1..255, or CTL_REQUEST_MAX for 0),
 * byte 1 seeds the chunk sizes, the rest is what the client sends before
 * shutting its side. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/request.h"
#include "fuzz/fuzz.h"

static char in[CTL_REQUEST_MAX + 1];

/* What the framing must make of the whole input. */
static int expected(const char *data, size_t size, size_t max, size_t *line_len)
{
	size_t seen = size < max ? size : max;
	const char *nl = memchr(data, '\n', seen);
	size_t len;

	if (nl)
		len = (size_t)(nl - data);
	else if (size >= max)
		return -EMSGSIZE;
	else if (size == 0)
		return -ECONNRESET;
	else
		len = size;
	if (memchr(data, '\0', len))
		return -EBADMSG;
	if (len && data[len - 1] == '\r')
		len--;
	*line_len = len;
	return 0;
}

static void check_command(const char *line, size_t len)
{
	struct ctl_command c;

	if (ctl_command_parse(line, len, &c) < 0)
		return;
	if (c.kind > CTL_CMD_WHOIS)
		abort();
	/* Every argument is a C string no longer than the line. */
	const char *args[] = { c.server, c.token, c.name, c.address };
	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
		if (args[i] && strlen(args[i]) > len)
			abort();
	ctl_command_clear(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max, len = 0, line_len = 0, want_len = 0;
	uint32_t rng;
	int r = -EAGAIN, want;

	if (size < 2)
		return 0;
	max = data[0] ? data[0] : CTL_REQUEST_MAX;
	rng = data[1] * 2654435761u + 1;
	data += 2;
	size -= 2;
	while (r == -EAGAIN) {
		/* What one recv() returns: at most the room left, 0 at the end. */
		size_t room = max - len, left = size - len < room ? size - len : room, fresh;
		rng ^= rng << 13;
		rng ^= rng >> 17;
		rng ^= rng << 5;
		fresh = rng % 7 == 0 ? left : 1 + rng % 16;
		if (fresh > left)
			fresh = left;
		memcpy(in + len, data + len, fresh);
		len += fresh;
		r = ctl_request_frame(in, len, fresh, fresh == 0, max, &line_len);
		if (len > max)
			abort();
	}
	want = expected((const char *)data, size, max, &want_len);
	if (r != want || (r == 0 && (line_len != want_len || memcmp(in, data, line_len) != 0 || in[line_len] != '\0')))
		abort();
	if (r == 0)
		check_command(in, line_len);
	/* The parser alone, over the raw bytes too. */
	check_command((const char *)data, size);
	return 0;
}
