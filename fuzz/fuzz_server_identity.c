/* Fuzzes roam-server's readers of its identity files (server/identity.c):
 * control.key (base64 X25519 key; identity_load() reads at most 127 bytes)
 * and tls.crt (PEM; the pin nodes check is the SHA-256 of its public key).
 * Each input is tried as both. */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "server/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server_identity id, before;
	uint8_t pin[COORD_TLS_PIN_LEN], pin_before[COORD_TLS_PIN_LEN];

	memset(&id, 0x5a, sizeof(id));
	before = id;
	if (identity_control_key_parse((const char *)data, size < 127 ? size : 127, &id) < 0) {
		if (memcmp(&id, &before, sizeof(id)) != 0) /* nothing written on error */
			abort();
	} else if (memcmp(id.cert_path, before.cert_path, sizeof(id.cert_path)) != 0) {
		abort();
	}
	identity_wipe(&id);

	memset(pin, 0xa5, sizeof(pin));
	memcpy(pin_before, pin, sizeof(pin));
	if (identity_cert_pin_parse(data, size, pin) < 0 && memcmp(pin, pin_before, sizeof(pin)) != 0)
		abort();
	return 0;
}
