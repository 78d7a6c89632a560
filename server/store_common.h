/* What both store backends share (store.c); not part of store.h. */
#ifndef ROAM_SERVER_STORE_COMMON_H
#define ROAM_SERVER_STORE_COMMON_H

#include "coord/messages.h"

#define STORE_NAME_SUFFIX_MAX 64 /* "-2" .. "-64", then random suffixes */
#define STORE_NAME_RANDOM_TRIES 8

/* Candidate i (1..) for a wanted node name: the name, then name-2 ..
 * name-STORE_NAME_SUFFIX_MAX, then name-<8 random hex digits>, which no one
 * can have reserved in advance. */
void store_name_candidate(const char *want, int i, char out[COORD_NAME_MAX + 1]);

#endif
