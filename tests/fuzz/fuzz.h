/*
 * fuzz.h: what the fuzz targets share with the replay driver.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput, the libFuzzer entry point.
 * Linked with -fsanitize=fuzzer it is driven by libFuzzer (make fuzz);
 * linked with replay.c it replays saved inputs under make check. A target
 * reports a broken property with FUZZ_REQUIRE, which aborts: to libFuzzer
 * that is a crash whose input it saves, to make check a failed test.
 */
#ifndef GILLY_FUZZ_H
#define GILLY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The name of the corpus and regression directories of this target. */
extern const char	*const fuzz_target_name;

/* borrowed: data is valid for the call only. Returns 0. */
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort, saying which property failed and where, unless cond holds. */
#define FUZZ_REQUIRE(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property violated: %s: ",	\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

#endif
