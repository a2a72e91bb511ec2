# mk/bench.mk - `make bench`: measure what onionshim costs next to torsocks
# and proxychains-ng, and write docs/benchmarks.md. Not part of make check:
# timings are noisy, and no test asserts a time. Needs root the first time
# (bench/deps.sh installs valgrind, strace, torsocks, proxychains4, gnuplot).

BENCH_BIN = $(B)/bench/client $(B)/bench/sink $(B)/bench/mapbench $(B)/bench/trivial

.PHONY: bench bench-tools
bench-tools: $(B)/libonionshim.so $(BENCH_BIN)

bench: bench-tools
	@sh bench/deps.sh
	python3 bench/run.py --build $(B)

$(B)/bench/mapbench: bench/mapbench.c $(B)/libonionshim-core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libonionshim-core.a $(LDFLAGS) $(LDLIBS_LIB)

# The workload programs link nothing of ours: a preload library is what
# they are measured under.
$(B)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LDFLAGS)

# `make bench-tor` (issue 7 part 5): 30 and 50 messages to one onion domain
# through a real Tor network in the e2e world, for smtp_onion, the torsocks
# recipe and direct delivery (the floor). As root; about 5 to 8 minutes.
# Writes build/bench/tor.json and the markdown section build/bench/tor.md.
.PHONY: bench-tor
bench-tor: all
	@sh bench/deps.sh
	bash bench/tor.sh $(B)/bench
	python3 bench/tor_render.py $(B)/bench/tor.json $(B)/bench/tor.md
