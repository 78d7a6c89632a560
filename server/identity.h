/* The server's identity in its state directory (mode 0700, files 0600):
 *   control.key  X25519 control key, base64 (the node side derives K from its
 *                public half, which every join token pins)
 *   tls.key      TLS private key (ECDSA P-256), PEM
 *   tls.crt      TLS certificate, PEM: self-signed by init, or one from a real
 *                CA put in its place (tokens then pin that key)
 *   ticket.key   Ed25519 seed of the relay ticket key, base64 (lib/coord/ticket.h;
 *                made by init, or at the first run of an older state)
 *   state.db     the store (store.h) */
#ifndef ROAM_SERVER_IDENTITY_H
#define ROAM_SERVER_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "coord/messages.h"
#include "coord/ticket.h"

#define SERVER_STATE_DIR_DEFAULT "/var/lib/roam-server"
#define SERVER_PATH_MAX 1024
#define SERVER_ERROR_MAX 2048

struct server_identity {
	uint8_t control_priv[COORD_KEY_LEN];
	uint8_t control_pub[COORD_KEY_LEN];
	uint8_t tls_pin[COORD_TLS_PIN_LEN]; /* SHA-256 of tls.crt's SubjectPublicKeyInfo */
	uint8_t ticket_sec[TICKET_SECRET_LEN];
	uint8_t ticket_pub[TICKET_PUB_LEN];
	char cert_path[SERVER_PATH_MAX];
	char key_path[SERVER_PATH_MAX];
};

/* "<dir>/<file>" into out; -ENAMETOOLONG. */
int identity_path(char out[SERVER_PATH_MAX], const char *dir, const char *file);

/* Make the directory (0700; an existing one must be empty of our files) and
 * the three key files. host goes into the certificate (CN and
 * subjectAltName, IP or DNS). On error err says what and where. */
int identity_create(const char *dir, const char *host, char err[SERVER_ERROR_MAX]);
int identity_load(const char *dir, struct server_identity *out, char err[SERVER_ERROR_MAX]);
/* A relay-only server's state (roam-server relay): relay.key (X25519, in
 * control_priv/control_pub), tls.key, tls.crt; made on first start. */
int identity_create_relay(const char *dir, const char *host, char err[SERVER_ERROR_MAX]);
int identity_load_relay(const char *dir, struct server_identity *out, char err[SERVER_ERROR_MAX]);
void identity_wipe(struct server_identity *id);

/* The parsers identity_load() runs on the files' contents, without I/O.
 * control.key: base64 of the private key, trailing newlines ignored; fills
 * control_priv and control_pub. tls.crt: a PEM certificate (the first one of
 * a chain); fills tls_pin. 0 or -EINVAL; nothing is written on error. */
int identity_control_key_parse(const char *text, size_t len, struct server_identity *id);
/* ticket.key: base64 of the seed; fills ticket_sec and ticket_pub. */
int identity_ticket_key_parse(const char *text, size_t len, struct server_identity *id);
int identity_cert_pin_parse(const void *pem, size_t len, uint8_t pin[COORD_TLS_PIN_LEN]);

#endif
