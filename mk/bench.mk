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
