# mk/e2e.mk - `make demo` (issue 5). Included by the Makefile, which runs
# the end-to-end tests themselves with `make check-e2e`.
#
#   make demo   as root on Debian 12: install what is missing (tests/deps.sh:
#               tor, postfix unconfigured, swaks, build tools), build, then
#               send one mail across an onion service in a private Tor
#               network and print its story (tests/e2e/demo.sh). The host's
#               own Postfix and Tor are left alone; nothing keeps running.

# Read before the top Makefile names its first target.
.DEFAULT_GOAL := all

# No prerequisites: the compiler may be among what deps.sh installs.
demo:
	@sh tests/deps.sh
	@$(MAKE) -s all
	@bash tests/e2e/demo.sh
