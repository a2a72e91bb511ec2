# mk/fuzz.mk - fuzzing and stress (issue 8). Included by the Makefile.
#
#   make fuzz               each fuzz target under libFuzzer (clang, ASan,
#                           UBSan) for FUZZ_SECONDS (default 60) in turn;
#                           summary in $(B)/fuzz/summary.txt
#   make fuzz-merge         fold what make fuzz found into the stored corpus
#   make check-fuzz-replay  the same targets built with gcc, ASan and UBSan,
#                           replaying tests/fuzz/corpus and tests/fuzz/regress
#   make fuzz-coverage      lines and branches of lib/ that the stored inputs
#                           reach (gcov)
#   make check-stress       64 threads of resolve+connect+close cycles and
#                           forks through the test SOCKS5 server (STRESS_CYCLES
#                           per thread, default 100; the documented run is 1000)
#   make check-tsan         the threads-only stress run, library and program
#                           built with ThreadSanitizer into build/tsan

# The Makefile includes this file before its own first rule: without this,
# the first rule here would become what a bare `make` builds.
.DEFAULT_GOAL := all

.PHONY: fuzz fuzz-merge fuzz-coverage check-fuzz-replay check-stress check-tsan

FUZZ_TARGETS = config map onion socks5 dnsmsg
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
# The pure modules the targets reach; nothing with hooks or I/O.
FUZZ_LIB_SRC = lib/config.c lib/dnsmsg.c lib/fake.c lib/map.c lib/onion.c \
               lib/sha3.c lib/socks5.c lib/util.c
FUZZ_DEPS = $(wildcard include/onionshim/*.h) tests/fuzz/fuzz.h mk/fuzz.mk
FUZZ_BASE = -std=gnu11 -D_GNU_SOURCE -Iinclude -Itests/fuzz -g -O1 \
            -fno-omit-frame-pointer $(WARN)
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all

# --- libFuzzer build (clang) ------------------------------------------------

FUZZ_BIN = $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)
FUZZ_LIB_OBJ = $(FUZZ_LIB_SRC:%.c=$(B)/fuzz/obj/%.o)

$(B)/fuzz/obj/%.o: %.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_BASE) -Wno-unknown-warning-option $(FUZZ_SAN) \
	    -fsanitize=fuzzer-no-link -c -o $@ $<

# SHA3 is no parser (its unit test holds it to the FIPS 202 vectors), and
# libFuzzer's comparison tracing in its rounds would take most of the time
# of every onion check: it is built with the sanitizers but without
# coverage instrumentation.
$(B)/fuzz/obj/lib/sha3.o: lib/sha3.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_BASE) -Wno-unknown-warning-option $(FUZZ_SAN) -c -o $@ $<

$(B)/fuzz/fuzz_%: $(B)/fuzz/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -lresolv

# Keep the targets' own objects (make would delete them as intermediates).
.SECONDARY: $(FUZZ_TARGETS:%=$(B)/fuzz/obj/tests/fuzz/fuzz_%.o) \
            $(FUZZ_TARGETS:%=$(B)/fuzz-replay/obj/tests/fuzz/fuzz_%.o)

fuzz: $(FUZZ_BIN)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(B) $(FUZZ_TARGETS)

fuzz-merge: $(FUZZ_BIN)
	@sh tests/fuzz/run.sh --merge $(B) $(FUZZ_TARGETS)

# --- replay build (gcc) ----------------------------------------------------

REPLAY_BIN = $(FUZZ_TARGETS:%=$(B)/fuzz-replay/fuzz_%)
REPLAY_LIB_OBJ = $(FUZZ_LIB_SRC:%.c=$(B)/fuzz-replay/obj/%.o)

$(B)/fuzz-replay/obj/%.o: %.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_BASE) $(FUZZ_SAN) -c -o $@ $<

$(B)/fuzz-replay/fuzz_%: $(B)/fuzz-replay/obj/tests/fuzz/fuzz_%.o \
                         $(B)/fuzz-replay/obj/tests/fuzz/replay.o $(REPLAY_LIB_OBJ)
	$(CC) $(FUZZ_SAN) -o $@ $^ -lresolv

check-fuzz-replay: $(REPLAY_BIN)
	@sh tests/fuzz/replay.sh $(B) $(FUZZ_TARGETS)

# --- line coverage of the stored corpus (gcc --coverage, gcov) --------------

COV_BIN = $(FUZZ_TARGETS:%=$(B)/fuzz-cov/fuzz_%)
COV_LIB_OBJ = $(FUZZ_LIB_SRC:%.c=$(B)/fuzz-cov/obj/%.o)

$(B)/fuzz-cov/obj/%.o: %.c $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O1,$(FUZZ_BASE)) -O0 --coverage -c -o $@ $<

$(B)/fuzz-cov/fuzz_%: $(B)/fuzz-cov/obj/tests/fuzz/fuzz_%.o \
                      $(B)/fuzz-cov/obj/tests/fuzz/replay.o $(COV_LIB_OBJ)
	$(CC) --coverage -o $@ $^ -lresolv

.SECONDARY: $(FUZZ_TARGETS:%=$(B)/fuzz-cov/obj/tests/fuzz/fuzz_%.o)

fuzz-coverage: $(COV_BIN)
	@sh tests/fuzz/coverage.sh $(B) $(FUZZ_TARGETS)

# --- stress -----------------------------------------------------------------

STRESS_BIN = $(B)/tests/stress

$(STRESS_BIN): tests/stress/stress.c mk/fuzz.mk
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS) -lpthread

check-stress: $(B)/libonionshim.so $(STRESS_BIN) $(SOCKS5D)
	@bash tests/stress/run.sh $(B)

# ThreadSanitizer: threads only (TSan is unreliable across fork). The test
# SOCKS5 server is the plain one: it is not under test.
TSAN = -fsanitize=thread -fno-omit-frame-pointer
check-tsan: $(SOCKS5D)
	@$(MAKE) -s B=build/tsan CFLAGS="-O1 -g $(TSAN)" LDFLAGS="$(TSAN)" \
	    build/tsan/libonionshim.so build/tsan/tests/stress
	@STRESS_SOCKS5D=$(SOCKS5D) bash tests/stress/run.sh build/tsan --tsan
