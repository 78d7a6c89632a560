/* The libFuzzer entry point every target defines. */
#ifndef ROAM_FUZZ_H
#define ROAM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
