/* roam pubkey: private key on stdin, its public key on stdout. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* Longest stdin we look at: a key plus generous surrounding white space. */
#define PUBKEY_INPUT_MAX 1024

/* Read all of stdin (bounded) and trim white space around it. */
static int pubkey_read_stdin(char buf[PUBKEY_INPUT_MAX + 1], const char **out)
{
	size_t len = 0, n;
	char *start;

	while (len < PUBKEY_INPUT_MAX && (n = fread(buf + len, 1, PUBKEY_INPUT_MAX - len, stdin)) > 0)
		len += n;
	if (ferror(stdin) || (len == PUBKEY_INPUT_MAX && fgetc(stdin) != EOF))
		return -1;
	buf[len] = '\0';
	while (len && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	start = buf;
	while (isspace((unsigned char)*start))
		start++;
	*out = start;
	return 0;
}

static int pubkey_main(const struct cli_global *g, int argc, char *argv[])
{
	uint8_t priv[CLI_KEY_LEN], pub[CLI_KEY_LEN];
	char input[PUBKEY_INPUT_MAX + 1];
	char text[CLI_KEY_B64_LEN + 1];
	const char *key_text;
	int r = CLI_EXIT_FAIL;

	struct cli_args args;

	(void)g;
	if ((r = cli_parse(&cli_pubkey, 0, argc, argv, &args)) >= 0)
		return r;
	r = CLI_EXIT_FAIL;
	if (sodium_init() < 0) {
		fputs("roam pubkey: cannot initialise libsodium\n", stderr);
		return CLI_EXIT_FAIL;
	}
	if (pubkey_read_stdin(input, &key_text) < 0 || crypto_key_from_base64(priv, key_text) < 0) {
		fputs("roam pubkey: expected a private key on stdin: 44 characters of base64\n", stderr);
		goto out;
	}
	/* libsodium clamps the scalar itself, so an unclamped key gives the same
	 * public key as its clamped form, as in WireGuard. */
	if (crypto_scalarmult_base(pub, priv) != 0) {
		fputs("roam pubkey: invalid private key\n", stderr);
		goto out;
	}
	crypto_key_to_base64(text, pub);
	puts(text);
	r = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(input, sizeof(input));
	return r;
}

const struct cli_command cli_pubkey = {
	.name = "pubkey",
	.run = pubkey_main,
	.summary = "Read a private key from stdin and write its public key to stdout",
	.usage = "Usage: roam pubkey < private.key\n"
		 "\n"
		 "Reads a base64 private key from stdin and writes the matching public key,\n"
		 "base64-encoded, to stdout.\n"
		 "Example: roam genkey | tee private.key | roam pubkey > public.key\n"
		 "\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 success, 1 not a private key on stdin, 2 bad usage.\n",
};
