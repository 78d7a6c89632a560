/* The delivery receipt: the recipient proves to the sender, through the
 * server, that it decrypted and verified exactly the plaintext sent. The MAC
 * covers the plaintext hash, which is not in the receipt (the server never
 * learns it); only sender and recipient hold the MAC key. */
#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "files/files_internal.h"

enum {
	FR_MAGIC = 0, /* then 4 reserved zero bytes */
	FR_ID = 8,
	FR_SENDER = FR_ID + FILES_ID_LEN,
	FR_RECIPIENT = FR_SENDER + FILES_KEY_LEN,
	FR_MAC = FR_RECIPIENT + FILES_KEY_LEN,
};
_Static_assert(FR_MAC + FILES_MAC_LEN == FILES_RECEIPT_LEN, "receipt layout");

static int files_receipt_mac(uint8_t mac[FILES_MAC_LEN], const uint8_t r[FR_MAC], const uint8_t self_sec[FILES_KEY_LEN],
			     const uint8_t peer_pub[FILES_KEY_LEN], const uint8_t hash[FILES_HASH_LEN])
{
	uint8_t key[FILES_KEY_LEN];
	crypto_generichash_state st;
	int ret = files_pair_key(key, self_sec, peer_pub, FILES_LABEL_RECEIPT, r + FR_SENDER, r + FR_RECIPIENT);

	if (ret == 0) {
		crypto_generichash_init(&st, key, sizeof(key), FILES_MAC_LEN);
		crypto_generichash_update(&st, r, FR_MAC);
		crypto_generichash_update(&st, hash, FILES_HASH_LEN);
		crypto_generichash_final(&st, mac, FILES_MAC_LEN);
	}
	crypto_wipe(key, sizeof(key));
	crypto_wipe(&st, sizeof(st));
	return ret;
}

int files_receipt_build(uint8_t out[FILES_RECEIPT_LEN], const struct files_keypair *recipient,
			const uint8_t sender_pub[FILES_KEY_LEN], const uint8_t file_id[FILES_ID_LEN],
			const uint8_t hash[FILES_HASH_LEN])
{
	uint8_t r[FILES_RECEIPT_LEN];
	int ret;

	memcpy(r + FR_MAGIC, FILES_RECEIPT_MAGIC, 4);
	memset(r + 4, 0, 4);
	memcpy(r + FR_ID, file_id, FILES_ID_LEN);
	memcpy(r + FR_SENDER, sender_pub, FILES_KEY_LEN);
	memcpy(r + FR_RECIPIENT, recipient->pub, FILES_KEY_LEN);
	ret = files_receipt_mac(r + FR_MAC, r, recipient->sec, sender_pub, hash);
	if (ret == 0)
		memcpy(out, r, sizeof(r));
	return ret;
}

int files_receipt_peek(const uint8_t *buf, size_t len, uint8_t file_id[FILES_ID_LEN],
		       uint8_t sender_pub[FILES_KEY_LEN], uint8_t recipient_pub[FILES_KEY_LEN])
{
	if (len != FILES_RECEIPT_LEN || memcmp(buf + FR_MAGIC, FILES_RECEIPT_MAGIC, 4) != 0 ||
	    !crypto_is_zero(buf + 4, 4))
		return -EBADMSG;
	memcpy(file_id, buf + FR_ID, FILES_ID_LEN);
	memcpy(sender_pub, buf + FR_SENDER, FILES_KEY_LEN);
	memcpy(recipient_pub, buf + FR_RECIPIENT, FILES_KEY_LEN);
	return 0;
}

int files_receipt_verify(const uint8_t *buf, size_t len, const struct files_keypair *sender,
			 const uint8_t recipient_pub[FILES_KEY_LEN], const uint8_t file_id[FILES_ID_LEN],
			 const uint8_t hash[FILES_HASH_LEN])
{
	uint8_t id[FILES_ID_LEN], s[FILES_KEY_LEN], rcpt[FILES_KEY_LEN], mac[FILES_MAC_LEN];

	if (files_receipt_peek(buf, len, id, s, rcpt) < 0 || !crypto_equal(id, file_id, sizeof(id)) ||
	    !crypto_equal(s, sender->pub, sizeof(s)) || !crypto_equal(rcpt, recipient_pub, sizeof(rcpt)))
		return -EBADMSG;
	if (files_receipt_mac(mac, buf, sender->sec, recipient_pub, hash) < 0 ||
	    !crypto_equal(mac, buf + FR_MAC, sizeof(mac)))
		return -EBADMSG;
	return 0;
}
