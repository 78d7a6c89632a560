#include "cli/cli.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

void cli_usage(FILE *out, const struct cli_command *cmd)
{
	fputs(cmd->usage, out);
}

int cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

void cli_key_to_base64(char out[CLI_KEY_B64_LEN + 1], const uint8_t key[CLI_KEY_LEN])
{
	sodium_bin2base64(out, CLI_KEY_B64_LEN + 1, key, CLI_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

int cli_key_from_base64(uint8_t key[CLI_KEY_LEN], const char *text)
{
	uint8_t tmp[CLI_KEY_LEN];
	char check[CLI_KEY_B64_LEN + 1];
	const char *end = NULL;
	size_t len = 0;
	int r = -EINVAL;

	if (strlen(text) != CLI_KEY_B64_LEN)
		return -EINVAL;
	if (sodium_base642bin(tmp, sizeof(tmp), text, CLI_KEY_B64_LEN, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != sizeof(tmp) || end != text + CLI_KEY_B64_LEN)
		goto out;
	/* Stray bits in the last character would give two texts for one key. */
	cli_key_to_base64(check, tmp);
	if (strcmp(check, text) != 0)
		goto out;
	memcpy(key, tmp, sizeof(tmp));
	r = 0;
out:
	sodium_memzero(tmp, sizeof(tmp));
	sodium_memzero(check, sizeof(check));
	return r;
}
