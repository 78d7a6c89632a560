/* roam genkey: a new X25519 private key, base64, on stdout. */
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

static int genkey_main(const struct cli_global *g, int argc, char *argv[])
{
	uint8_t key[CLI_KEY_LEN];
	char text[CLI_KEY_B64_LEN + 1];
	struct stat st;
	int r;

	struct cli_args args;

	(void)g;
	if ((r = cli_parse(&cli_genkey, 0, argc, argv, &args)) >= 0)
		return r;
	if (sodium_init() < 0) {
		fputs("roam genkey: cannot initialise libsodium\n", stderr);
		return CLI_EXIT_FAIL;
	}
	/* A key file others can read defeats the point; say so, as wg does. */
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO))
		fputs("Warning: writing to a world accessible file.\n"
		      "Consider setting the umask to 077 and trying again.\n", stderr);

	randombytes_buf(key, sizeof(key));
	/* RFC 7748 5: clamp so the key is a multiple of the cofactor, bit 254 set. */
	key[0] &= 248;
	key[31] &= 127;
	key[31] |= 64;
	crypto_key_to_base64(text, key);
	sodium_memzero(key, sizeof(key));
	puts(text);
	sodium_memzero(text, sizeof(text));
	if (fflush(stdout) != 0) {
		perror("roam genkey: stdout");
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

const struct cli_command cli_genkey = {
	.name = "genkey",
	.run = genkey_main,
	.summary = "Generate a new private key and write it to stdout",
	.usage = "Usage: roam genkey\n"
		 "\n"
		 "Writes a new random X25519 private key, base64-encoded, to stdout.\n"
		 "Example: umask 077; roam genkey > private.key\n"
		 "\n"
		 "  -h, --help      this text\n"
		 "\n"
		 "Exit status: 0 success, 1 failure, 2 bad usage.\n",
};
