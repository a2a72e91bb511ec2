# mk/tools.mk - onion-connect and the onionshim launcher, and the install
# targets (included by the top Makefile; its variables are used here).
#
#   make install          the library, the tools, the man pages and, unless
#                         they exist, example onionshim.conf and onion_map
#   make install-postfix  also smtp_onion into Postfix's daemon_directory
#                         (postconf -h daemon_directory, or POSTFIX_DAEMON_DIR)


TOOLS += $(B)/onion-connect $(B)/onionshim

TOOL_DEPS = $(B)/libonionshim-core.a $(wildcard include/onionshim/*.h) mk/tools.mk

$(B)/onion-connect: tools/onion-connect.c $(TOOL_DEPS)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(B)/libonionshim-core.a $(LDFLAGS) $(LDLIBS_LIB)

# The launcher names the library by absolute path, as smtp_onion does: the
# copy in build/ points into build/ (tests), the install copy into LIBDIR.
$(B)/onionshim: tools/onionshim.c $(TOOL_DEPS)
	$(CC) $(ALL_CFLAGS) -DONIONSHIM_LIB='"$(CURDIR)/$(B)/libonionshim.so"' -o $@ $< \
	    $(B)/libonionshim-core.a $(LDFLAGS) $(LDLIBS_LIB)

# Rebuilt every time: LIBDIR may differ from the last make install.
$(B)/install/onionshim: tools/onionshim.c $(TOOL_DEPS) FORCE
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DONIONSHIM_LIB='"$(LIBDIR)/libonionshim.so"' -o $@ $< \
	    $(B)/libonionshim-core.a $(LDFLAGS) $(LDLIBS_LIB)
$(B)/install/smtp_onion: FORCE

FORCE:

# The integration suites run the tools (tests/integration/tools.sh).
check-integration: $(B)/onion-connect $(B)/onionshim

MAN_PAGES = $(wildcard docs/man/*.[158])
ETC_DIR = $(DESTDIR)$(SYSCONFDIR)/onionshim

install: all $(B)/install/onionshim
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) $(ETC_DIR)
	install -m 644 $(B)/libonionshim.so $(DESTDIR)$(LIBDIR)/libonionshim.so
	install -m 755 $(B)/onion-connect $(DESTDIR)$(BINDIR)/onion-connect
	install -m 755 $(B)/install/onionshim $(DESTDIR)$(BINDIR)/onionshim
	@for page in $(MAN_PAGES); do \
		sec=$${page##*.}; \
		echo "install -m 644 $$page $(DESTDIR)$(MANDIR)/man$$sec/"; \
		install -d $(DESTDIR)$(MANDIR)/man$$sec && \
		install -m 644 $$page $(DESTDIR)$(MANDIR)/man$$sec/ || exit 1; \
	done
	@# A postmaster's own files are never overwritten.
	@for f in onionshim.conf onion_map; do \
		if [ -e $(ETC_DIR)/$$f ]; then \
			echo "kept the existing $(ETC_DIR)/$$f"; \
		else \
			echo "install -m 644 etc/$$f $(ETC_DIR)/$$f"; \
			install -m 644 etc/$$f $(ETC_DIR)/$$f || exit 1; \
		fi; \
	done

install-postfix: install $(B)/install/smtp_onion
	@dir="$(POSTFIX_DAEMON_DIR)"; \
	if [ -z "$$dir" ]; then dir=$$(postconf -h daemon_directory 2>/dev/null); fi; \
	if [ -z "$$dir" ]; then \
		echo "install-postfix: postconf cannot tell Postfix's daemon_directory:" \
		     "is Postfix installed? (or give POSTFIX_DAEMON_DIR=DIR)" >&2; \
		exit 1; \
	fi; \
	echo "install -m 755 $(B)/install/smtp_onion $(DESTDIR)$$dir/smtp_onion"; \
	install -d $(DESTDIR)$$dir && \
	install -m 755 $(B)/install/smtp_onion $(DESTDIR)$$dir/smtp_onion
