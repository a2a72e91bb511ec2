/*
 * fuzz.h - what every fuzz target in tests/fuzz shares.
 *
 * A target is one function, LLVMFuzzerTestOneInput, that feeds one input
 * to a pure module of the library and checks the result against the
 * module's contract. The same source builds two ways: with clang and
 * -fsanitize=fuzzer, where libFuzzer supplies main() and mutates inputs
 * (make fuzz), and with gcc and tests/fuzz/replay.c, which replays the
 * stored corpus and regression inputs under ASan and UBSan (make
 * check-fuzz-replay).
 *
 * A broken contract is a crash: FUZZ_CHECK prints the condition and calls
 * abort(), which libFuzzer reports and saves as a crash input, and which
 * the replay driver counts as a failure.
 */
#ifndef ONIONSHIM_FUZZ_H
#define ONIONSHIM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void __attribute__((noreturn))
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	abort();
}

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

/* No byte that could end or forge a log line. */
static inline int
fuzz_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

#endif
