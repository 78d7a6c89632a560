/* Key files and the self-signed certificate, with OpenSSL 3's EVP/X509. */
#include "server/identity.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coord/auth.h"
#include "crypto/crypto.h"

#define CERT_DAYS 3650

int identity_path(char out[SERVER_PATH_MAX], const char *dir, const char *file)
{
	int n = snprintf(out, SERVER_PATH_MAX, "%s/%s", dir, file);

	return n < 0 || n >= SERVER_PATH_MAX ? -ENAMETOOLONG : 0;
}

/* A new file, 0600, never over an existing one. */
static FILE *create_private(const char *path, char err[SERVER_ERROR_MAX])
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0) {
		snprintf(err, SERVER_ERROR_MAX, "%s: %s", path, strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		snprintf(err, SERVER_ERROR_MAX, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

/* A new 32-byte secret in FILE, base64 (control.key: clamped for X25519;
 * ticket.key: an Ed25519 seed). */
static int write_secret_key(const char *dir, const char *file, bool clamp, char err[SERVER_ERROR_MAX])
{
	uint8_t priv[COORD_KEY_LEN];
	char text[COORD_KEY_B64_LEN + 1], path[SERVER_PATH_MAX];
	FILE *f;
	int r = -EIO;

	if (identity_path(path, dir, file) < 0)
		return -ENAMETOOLONG;
	crypto_random(priv, sizeof(priv));
	if (clamp)
		x25519_clamp(priv);
	coord_b64_encode(text, sizeof(text), priv, sizeof(priv), 0);
	f = create_private(path, err);
	if (!f)
		goto out;
	if (fprintf(f, "%s\n", text) < 0 || fclose(f) != 0)
		snprintf(err, SERVER_ERROR_MAX, "%s: write failed", path);
	else
		r = 0;
out:
	crypto_wipe(priv, sizeof(priv));
	crypto_wipe(text, sizeof(text));
	return r;
}

static int cert_fill(X509 *x, EVP_PKEY *pkey, const char *host)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	X509_NAME *name;
	uint8_t serial[16], addr[16];
	BIGNUM *bn;
	char san[300];
	int ok;

	crypto_random(serial, sizeof(serial));
	serial[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	if (!ok || !X509_set_version(x, 2) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 86400) || !X509_set_pubkey(x, pkey))
		return -EIO;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)host, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		return -EIO;
	/* Clients match the URL's host against subjectAltName, not CN. */
	if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1)
		snprintf(san, sizeof(san), "IP:%s", host);
	else
		snprintf(san, sizeof(san), "DNS:%s", host);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
	if (!ext)
		return -EINVAL;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ok || !X509_sign(x, pkey, EVP_sha256()))
		return -EIO;
	return 0;
}

static int write_tls(const char *dir, const char *host, char err[SERVER_ERROR_MAX])
{
	char key_path[SERVER_PATH_MAX], cert_path[SERVER_PATH_MAX];
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	FILE *f = NULL;
	int r = -EIO;

	if (identity_path(key_path, dir, "tls.key") < 0 || identity_path(cert_path, dir, "tls.crt") < 0)
		return -ENAMETOOLONG;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = X509_new();
	if (!pkey || !x || (r = cert_fill(x, pkey, host)) < 0) {
		snprintf(err, SERVER_ERROR_MAX, "cannot make a certificate for '%s'", host);
		r = r < 0 ? r : -EIO;
		goto out;
	}
	r = -EIO;
	if (!(f = create_private(key_path, err)))
		goto out;
	if (!PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) || fclose(f) != 0) {
		f = NULL;
		snprintf(err, SERVER_ERROR_MAX, "%s: write failed", key_path);
		goto out;
	}
	if (!(f = create_private(cert_path, err)))
		goto out;
	if (!PEM_write_X509(f, x) || fclose(f) != 0) {
		f = NULL;
		snprintf(err, SERVER_ERROR_MAX, "%s: write failed", cert_path);
		goto out;
	}
	f = NULL;
	r = 0;
out:
	if (f)
		fclose(f);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return r;
}

int identity_create(const char *dir, const char *host, char err[SERVER_ERROR_MAX])
{
	int r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, SERVER_ERROR_MAX, "%s: cannot create: %s", dir, strerror(errno));
		return -errno;
	}
	if (chmod(dir, 0700) < 0) {
		snprintf(err, SERVER_ERROR_MAX, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	if ((r = write_secret_key(dir, "control.key", true, err)) < 0 ||
	    (r = write_secret_key(dir, "ticket.key", false, err)) < 0)
		return r;
	return write_tls(dir, host, err);
}

int identity_create_relay(const char *dir, const char *host, char err[SERVER_ERROR_MAX])
{
	int r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, SERVER_ERROR_MAX, "%s: cannot create: %s", dir, strerror(errno));
		return -errno;
	}
	if ((r = write_secret_key(dir, "relay.key", true, err)) < 0)
		return r;
	return write_tls(dir, host, err);
}

int identity_control_key_parse(const char *text, size_t len, struct server_identity *id)
{
	uint8_t priv[COORD_KEY_LEN], pub[COORD_KEY_LEN];
	int r = -EINVAL;

	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (coord_b64_decode(priv, COORD_KEY_LEN, text, len, 0) == 0 && x25519_public(pub, priv) == 0) {
		memcpy(id->control_priv, priv, sizeof(priv));
		memcpy(id->control_pub, pub, sizeof(pub));
		r = 0;
	}
	crypto_wipe(priv, sizeof(priv));
	return r;
}

int identity_ticket_key_parse(const char *text, size_t len, struct server_identity *id)
{
	uint8_t seed[TICKET_SEED_LEN];
	int r = -EINVAL;

	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (coord_b64_decode(seed, sizeof(seed), text, len, 0) == 0)
		r = ticket_keypair_from_seed(id->ticket_pub, id->ticket_sec, seed) < 0 ? -EIO : 0;
	crypto_wipe(seed, sizeof(seed));
	return r;
}

/* control.key or ticket.key through its parser; a missing ticket.key (a
 * state made before relay tickets) is made here, once. */
static int read_key_file(const char *dir, const char *file, struct server_identity *id, char err[SERVER_ERROR_MAX])
{
	bool control = strcmp(file, "ticket.key") != 0; /* control.key, relay.key: X25519 */
	char path[SERVER_PATH_MAX], text[128];
	size_t n;
	FILE *f;
	int r;

	if (identity_path(path, dir, file) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f && errno == ENOENT && !control && (r = write_secret_key(dir, file, false, err)) < 0)
		return r;
	if (!f && !control)
		f = fopen(path, "re");
	if (!f) {
		snprintf(err, SERVER_ERROR_MAX, "%s: %s", path, strerror(errno));
		return -errno;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	r = control ? identity_control_key_parse(text, n, id) : identity_ticket_key_parse(text, n, id);
	if (r < 0)
		snprintf(err, SERVER_ERROR_MAX, "%s: not a base64 %s key (corrupt?)", path, control ? "X25519" : "Ed25519 seed");
	crypto_wipe(text, sizeof(text));
	return r;
}

static int cert_pin_from_bio(BIO *bio, uint8_t pin[COORD_TLS_PIN_LEN])
{
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	int len, r = -EINVAL;

	if (x && (len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der)) > 0 &&
	    EVP_Digest(der, (size_t)len, digest, &mdlen, EVP_sha256(), NULL) && mdlen == COORD_TLS_PIN_LEN) {
		memcpy(pin, digest, COORD_TLS_PIN_LEN);
		r = 0;
	}
	OPENSSL_free(der);
	X509_free(x);
	return r;
}

int identity_cert_pin_parse(const void *pem, size_t len, uint8_t pin[COORD_TLS_PIN_LEN])
{
	BIO *bio = len <= INT_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	int r = cert_pin_from_bio(bio, pin);

	BIO_free(bio);
	return r;
}

static int read_cert_pin(struct server_identity *id, char err[SERVER_ERROR_MAX])
{
	FILE *f = fopen(id->cert_path, "re");
	BIO *bio;
	int r;

	if (!f) {
		snprintf(err, SERVER_ERROR_MAX, "%s: %s", id->cert_path, strerror(errno));
		return -errno;
	}
	bio = BIO_new_fp(f, BIO_CLOSE); /* owns f from here */
	if (!bio)
		fclose(f);
	r = cert_pin_from_bio(bio, id->tls_pin);
	BIO_free(bio);
	if (r < 0)
		snprintf(err, SERVER_ERROR_MAX, "%s: not a PEM certificate (corrupt?)", id->cert_path);
	return r;
}

int identity_load(const char *dir, struct server_identity *out, char err[SERVER_ERROR_MAX])
{
	struct server_identity id;
	int r;

	memset(&id, 0, sizeof(id));
	if ((r = identity_path(id.cert_path, dir, "tls.crt")) < 0 || (r = identity_path(id.key_path, dir, "tls.key")) < 0)
		return r;
	if ((r = read_key_file(dir, "control.key", &id, err)) < 0 || (r = read_key_file(dir, "ticket.key", &id, err)) < 0 ||
	    (r = read_cert_pin(&id, err)) < 0)
		goto out;
	*out = id;
out:
	identity_wipe(&id);
	return r;
}

int identity_load_relay(const char *dir, struct server_identity *out, char err[SERVER_ERROR_MAX])
{
	struct server_identity id;
	int r;

	memset(&id, 0, sizeof(id));
	if ((r = identity_path(id.cert_path, dir, "tls.crt")) < 0 || (r = identity_path(id.key_path, dir, "tls.key")) < 0)
		return r;
	if ((r = read_key_file(dir, "relay.key", &id, err)) == 0 && (r = read_cert_pin(&id, err)) == 0)
		*out = id;
	identity_wipe(&id);
	return r;
}

void identity_wipe(struct server_identity *id)
{
	crypto_wipe(id->control_priv, sizeof(id->control_priv));
	crypto_wipe(id->ticket_sec, sizeof(id->ticket_sec));
}
