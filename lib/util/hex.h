/* Lowercase hex text of fixed-size binary values (keys, ids, PostgreSQL's
 * bytea): one decoder for every parser that reads it. */
#ifndef ROAM_UTIL_HEX_H
#define ROAM_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* text: exactly 2 * len lowercase hex digits (text_len of them) into out.
 * 0, or -EINVAL (out untouched). */
int hex_decode(uint8_t *out, size_t len, const char *text, size_t text_len);
/* 2 * len digits and a NUL into out (2 * len + 1 bytes). */
void hex_encode(char *out, const uint8_t *in, size_t len);

#endif
