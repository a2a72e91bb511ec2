# onionshim - top-level Makefile. Plain GNU make, no configure step.
#
#   make              build/libonionshim.so and the tools
#   make check        install missing test packages, build, run every test
#   make check-unit | check-integration | check-asan | check-e2e
#   make install      PREFIX, DESTDIR, LIBDIR honoured

PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation -Werror
BASE     = -std=gnu11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -Iinclude \
           -fno-strict-aliasing -D_FORTIFY_SOURCE=2 -fstack-protector-strong
ALL_CFLAGS = $(BASE) $(WARN) $(CFLAGS)
LDLIBS_LIB = -ldl -lpthread

B ?= build
O  = $(B)/obj

LIB_SRC  = $(wildcard lib/*.c)
# The core: everything but the libc-facing hooks and the constructor. Tools
# and unit tests link it without preloading anything.
HOOK_SRC = $(wildcard lib/hook_*.c) lib/init.c
CORE_SRC = $(filter-out $(HOOK_SRC),$(LIB_SRC))
LIB_OBJ  = $(LIB_SRC:%.c=$(O)/%.o)
CORE_OBJ = $(CORE_SRC:%.c=$(O)/%.o)

UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
ITEST_SRC = $(wildcard tests/integration/*.c)
ITEST_BIN = $(ITEST_SRC:tests/integration/%.c=$(B)/tests/%)
SOCKS5D  = $(B)/tests/socks5d

TOOLS = $(B)/smtp_onion

.DEFAULT_GOAL := all

# The tools, benchmarks and fuzzing add their targets in mk/*.mk, one file
# each (TOOLS += ..., their own rules), so that each reads on its own.
include $(sort $(wildcard mk/*.mk))

.PHONY: all lib tools tests check check-deps check-unit check-integration \
        check-asan check-e2e demo install install-postfix clean
all: lib tools

lib: $(B)/libonionshim.so
tools: $(TOOLS)

# smtp_onion knows the library by absolute path: Postfix's master gives its
# daemons no environment. The copy in build/ points into build/ (tests);
# make install builds one that points into LIBDIR.
$(B)/smtp_onion: tools/smtp_onion.c Makefile
	$(CC) $(ALL_CFLAGS) -DONIONSHIM_LIB='"$(CURDIR)/$(B)/libonionshim.so"' -o $@ $< $(LDFLAGS)

$(B)/install/smtp_onion: tools/smtp_onion.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DONIONSHIM_LIB='"$(LIBDIR)/libonionshim.so"' -o $@ $< $(LDFLAGS)
tests: $(UNIT_BIN) $(ITEST_BIN) $(SOCKS5D)

$(O)/%.o: %.c $(wildcard include/onionshim/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -c -o $@ $<

$(B)/libonionshim.so: $(LIB_OBJ) lib/onionshim.sym
	$(CC) $(ALL_CFLAGS) -shared -o $@ $(LIB_OBJ) \
	    -Wl,--version-script=lib/onionshim.sym -Wl,-z,relro,-z,now \
	    -Wl,--no-undefined $(LDFLAGS) $(LDLIBS_LIB)

$(B)/libonionshim-core.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/tests/test_%: tests/unit/test_%.c $(B)/libonionshim-core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(B)/libonionshim-core.a \
	    $(LDFLAGS) -lcmocka $(LDLIBS_LIB)

$(B)/tests/%: tests/integration/%.c $(B)/libonionshim-core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(B)/libonionshim-core.a \
	    $(LDFLAGS) $(LDLIBS_LIB) $(LDLIBS_EXTRA)

# the resolver test client parses answers with ns_initparse (libresolv)
$(B)/tests/resolver: LDLIBS_EXTRA = -lresolv

$(SOCKS5D): tests/socks5d.c $(B)/libonionshim-core.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(B)/libonionshim-core.a \
	    $(LDFLAGS) $(LDLIBS_LIB)

# --- tests ---------------------------------------------------------------

check-deps:
	@sh tests/deps.sh

check: check-deps
	@sh tests/run-all.sh

check-unit: $(UNIT_BIN)
	@sh tests/unit/run.sh $(B)

check-integration: $(B)/libonionshim.so $(ITEST_BIN) $(SOCKS5D)
	@bash tests/integration/all.sh $(B)

# The same unit and integration tests, built with ASan and UBSan into
# build/asan (the library too), so that a memory error fails make check.
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
check-asan:
	ONIONSHIM_SANITIZE=1 $(MAKE) B=build/asan CFLAGS="-O1 -g $(SAN)" \
	    LDFLAGS="$(SAN)" check-unit check-integration

check-e2e: all
	@bash tests/e2e/exim.sh fetch || { apt-get update -qq && bash tests/e2e/exim.sh fetch; }
	@bash tests/e2e/run.sh

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
