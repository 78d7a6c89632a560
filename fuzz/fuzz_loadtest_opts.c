/* Fuzzes roam-loadtest's options (loadtest/lt_opts.c on lib/util/args,
 * args_long and args_double): the input is argv, NUL-separated. Either
 * refused with a reason, or every value within its range and the options
 * consistent. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "loadtest/lt.h"

#define ARGS_MAX 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *argv[ARGS_MAX + 1], error[ARGS_ERROR_MAX] = "";
	struct lt_opts o;
	int argc = 0, r;

	if (!(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	argv[argc++] = (char *)"roam-loadtest";
	for (char *p = text; argc < ARGS_MAX && p <= text + size; p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	lt_opts_defaults(&o);
	r = lt_opts_parse(argc, argv, &o, error, sizeof(error));
	if (r == 0 && (!o.server_text || !o.tokens_file || !o.nodes || !o.group_size || o.big_group >= o.nodes ||
		       !o.keep_s || o.procs > LT_PROCS_MAX || o.ask > LT_ASK_MAX || o.move_rate < 0 ||
		       (o.group_view_max && o.group_size > o.group_view_max)))
		abort();
	if (r < 0 && (r != -EINVAL || !error[0]))
		abort();
	if (r != 0 && r != LT_OPTS_HELP && r != -EINVAL)
		abort();
	free(text);
	return 0;
}
