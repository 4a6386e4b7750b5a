# netbootd: GNU Make, C11, no autotools.
#
#   make            build ./netbootd (and efi/imgboot/imgboot.efi when gnu-efi is there)
#   make check      every test: layering lint, unit (plain + ASan/UBSan), fuzz smoke, integration, e2e
#   make demo       boot a VM over the network through netbootd
#   make deps       install the Debian packages the build, tests and demo need
#   make install    the daemon, imgboot.efi, man pages, an example config, the systemd
#                   unit, the system user (PREFIX=/usr/local, DESTDIR=, the GNU directory
#                   variables, systemdunitdir; make uninstall)
#   make deb        the Debian package (dpkg-buildpackage -us -uc -b), into build/deb/
#   make CC=clang   the same build with clang (warnings are errors with both)

CC      ?= cc
# Build directory: give each parallel build its own (make B=/tmp/b1 /tmp/b1/netbootd).
B       ?= build
PKGS    := libevent_core libevent_extra libevent_openssl openssl inih
PYTHON  := /usr/bin/python3
PYTEST  := $(PYTHON) -m pytest

VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

WARN    := -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual -Wsign-compare \
           -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 -Wvla -Werror
CFLAGS  ?= -O2 -g
# CPPFLAGS and LDFLAGS from the environment too: a Debian build passes its
# hardening flags (fortify, relro, bindnow) through them.
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CPPFLAGS) $(CFLAGS) -Isrc \
           -DNETBOOTD_VERSION='"$(VERSION)"' \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# Every .c under src/ is part of the daemon; main.c only holds main().
LIB_SRC := $(sort $(filter-out src/main.c,$(wildcard src/*.c src/*/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
ASAN_OBJ := $(LIB_SRC:%.c=$(B)/asan/%.o)
# NETBOOTD_SANITIZERS: the seccomp allow-list adds what LeakSanitizer needs at exit.
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
           -DNETBOOTD_SANITIZERS

UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
UNIT_ASAN  := $(UNIT_SRC:tests/unit/%.c=$(B)/asan/unit/%)
TEST_HELPERS := $(sort $(wildcard tests/tools/*.c bench/*.c))
HELPER_BIN := $(TEST_HELPERS:%.c=$(B)/%)
FUZZ_SRC   := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN   := $(FUZZ_SRC:fuzz/%.c=$(B)/fuzz/%)

EFI_DIR := efi/imgboot
EFI_APP := $(EFI_DIR)/imgboot.efi

.PHONY: all check lint unit unit-asan fuzz-smoke integration e2e demo deps deps-check \
        asan clean bench fuzz helpers efi install install-user uninstall deb
all: netbootd helpers efi

netbootd: $(B)/netbootd
	cp $< $@
$(B)/netbootd: $(B)/src/main.o $(LIB_OBJ)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/asan/netbootd: $(B)/asan/src/main.o $(ASAN_OBJ)
	$(CC) $(ALL_CFLAGS) $(SAN) -o $@ $^ $(LIBS)
asan: $(B)/asan/netbootd

$(B)/%.o: %.c $(wildcard src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/asan/%.o: %.c $(wildcard src/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN) -c -o $@ $<

$(B)/unit/%: tests/unit/%.c $(LIB_OBJ) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter-out %.h,$^) $(LIBS) -lcmocka

$(B)/asan/unit/%: tests/unit/%.c $(ASAN_OBJ) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SAN) -o $@ $(filter-out %.h,$^) $(LIBS) -lcmocka

# Test and benchmark clients of our own (e.g. a windowsize-capable TFTP client).
$(B)/tests/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBS)
$(B)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBS)
helpers: $(HELPER_BIN)

# libFuzzer harnesses need clang; they link the library objects built with
# coverage instrumentation.
FUZZ_CC := clang
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -g -O1
$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -g -O1 -c -o $@ $<
$(B)/fuzz/%: fuzz/%.c $(LIB_SRC:%.c=$(B)/fuzz/obj/%.o)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CFLAGS) $(FUZZ_FLAGS) -o $@ $^ $(LIBS)
fuzz: $(FUZZ_BIN)

# imgbootaa64.efi too, when the cross compiler and gnu-efi's arm64 files
# (make deps: build/deps/gnu-efi-arm64) are there.
efi:
	@if [ -f /usr/include/efi/efi.h ] && [ -f $(EFI_DIR)/Makefile ]; then \
		$(MAKE) -C $(EFI_DIR); \
	fi
	@if command -v aarch64-linux-gnu-gcc >/dev/null && \
	    [ -f build/deps/gnu-efi-arm64/lib/crt0-efi-aarch64.o ]; then \
		$(MAKE) -C $(EFI_DIR) ARCH=aarch64 EFIROOT=$(CURDIR)/build/deps/gnu-efi-arm64; \
	fi

# ---- tests -------------------------------------------------------------
unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done
unit-asan: $(UNIT_ASAN)
	@set -e; for t in $(UNIT_ASAN); do echo "== $$t"; $$t; done

# The include graph points down: util < wire, image < model < boot < servers < main;
# no function over 80 lines without a comment saying why.
lint:
	$(PYTHON) tests/lint/layers.py
	$(PYTHON) tests/lint/funclen.py

# Each harness runs over its committed corpus plus a short random run.
FUZZ_SECONDS ?= 20
fuzz-smoke: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
		echo "== $$n ($(FUZZ_SECONDS)s)"; mkdir -p $(B)/fuzz/work/$$n; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
		    $(B)/fuzz/work/$$n fuzz/corpus/$$n 2>&1 | tail -n 2; \
	done

# Integration tests run against the ASan+UBSan daemon; e2e against the plain one.
integration: $(B)/asan/netbootd all
	NETBOOTD=$(abspath $(B))/asan/netbootd $(PYTEST) -q -ra tests/integration

E2E_JOBS ?= 2
e2e: all
	NETBOOTD=$(CURDIR)/netbootd $(PYTEST) -q -ra -n $(E2E_JOBS) tests/e2e

check: deps-check
	$(MAKE) lint
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) unit-asan
	$(MAKE) fuzz-smoke
	$(MAKE) integration
	$(MAKE) e2e

demo: deps-check all
	$(PYTHON) tests/lib/demo.py

bench: all
	@for b in bench/*.sh; do [ -x "$$b" ] && "$$b"; done; true

deps:
	./tests/lib/deps.sh install
deps-check:
	@./tests/lib/deps.sh check || ./tests/lib/deps.sh install

# ---- install (GNU directory variables; DESTDIR for staging) --------------
PREFIX        ?= /usr/local
exec_prefix   ?= $(PREFIX)
sbindir       ?= $(exec_prefix)/sbin
libdir        ?= $(exec_prefix)/lib
pkglibdir     ?= $(libdir)/netbootd
datarootdir   ?= $(PREFIX)/share
systemdunitdir ?= $(exec_prefix)/lib/systemd/system
mandir        ?= $(datarootdir)/man
sysconfdir    ?= /etc
localstatedir ?= /var
NETBOOTD_USER ?= netbootd
INSTALL       ?= install

# The daemon finds imgboot.efi at ../lib/netbootd beside its sbin directory,
# so pkglibdir must stay $(exec_prefix)/lib/netbootd for that (or pass --imgboot-efi).
install: netbootd efi
	$(INSTALL) -D -m 0755 netbootd $(DESTDIR)$(sbindir)/netbootd
	@if [ -f $(EFI_APP) ]; then \
		echo "$(INSTALL) -D -m 0644 $(EFI_APP) $(DESTDIR)$(pkglibdir)/imgboot.efi"; \
		$(INSTALL) -D -m 0644 $(EFI_APP) $(DESTDIR)$(pkglibdir)/imgboot.efi; \
	fi
	@if [ -f $(EFI_DIR)/imgbootaa64.efi ]; then \
		echo "$(INSTALL) -D -m 0644 $(EFI_DIR)/imgbootaa64.efi $(DESTDIR)$(pkglibdir)/imgbootaa64.efi"; \
		$(INSTALL) -D -m 0644 $(EFI_DIR)/imgbootaa64.efi $(DESTDIR)$(pkglibdir)/imgbootaa64.efi; \
	fi
	$(INSTALL) -D -m 0644 docs/netbootd.8 $(DESTDIR)$(mandir)/man8/netbootd.8
	$(INSTALL) -D -m 0644 docs/netbootd.conf.5 $(DESTDIR)$(mandir)/man5/netbootd.conf.5
	$(INSTALL) -d $(DESTDIR)$(systemdunitdir)
	sed -e 's|@SBINDIR@|$(sbindir)|g' -e 's|@SYSCONFDIR@|$(sysconfdir)|g' \
	    -e 's|@NETBOOTD_USER@|$(NETBOOTD_USER)|g' dist/netbootd.service \
	    > $(DESTDIR)$(systemdunitdir)/netbootd.service
	chmod 0644 $(DESTDIR)$(systemdunitdir)/netbootd.service
	@if [ -e $(DESTDIR)$(sysconfdir)/netbootd/netbootd.conf ]; then \
		echo "$(DESTDIR)$(sysconfdir)/netbootd/netbootd.conf exists: left as it is"; \
	else \
		echo "$(INSTALL) -D -m 0644 docs/examples/netbootd.conf $(DESTDIR)$(sysconfdir)/netbootd/netbootd.conf"; \
		$(INSTALL) -D -m 0644 docs/examples/netbootd.conf $(DESTDIR)$(sysconfdir)/netbootd/netbootd.conf; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory install-user; \
	else echo "(staged or not root: no system user; run 'make install-user' as root on the target)"; fi

# The system user netbootd runs as (docs/security.md): no login, no home but
# its state directory. Lease and cache directories are the user's, as the
# systemd unit (which runs as that user from the start) has them; a manual
# run as root needs a cache-dir only root can write (docs/install.md).
install-user:
	@getent passwd $(NETBOOTD_USER) >/dev/null || \
		{ echo "useradd --system $(NETBOOTD_USER)"; \
		  useradd --system --user-group --no-create-home --home-dir $(localstatedir)/lib/netbootd \
		          --shell /usr/sbin/nologin --comment "netbootd network boot server" $(NETBOOTD_USER); }
	$(INSTALL) -d -m 0750 -o $(NETBOOTD_USER) -g $(NETBOOTD_USER) $(localstatedir)/lib/netbootd
	$(INSTALL) -d -m 0750 -o $(NETBOOTD_USER) -g $(NETBOOTD_USER) $(localstatedir)/cache/netbootd

uninstall:
	rm -f $(DESTDIR)$(sbindir)/netbootd $(DESTDIR)$(pkglibdir)/imgboot.efi \
	      $(DESTDIR)$(pkglibdir)/imgbootaa64.efi \
	      $(DESTDIR)$(mandir)/man8/netbootd.8 $(DESTDIR)$(mandir)/man5/netbootd.conf.5 \
	      $(DESTDIR)$(systemdunitdir)/netbootd.service
	-rmdir $(DESTDIR)$(pkglibdir) 2>/dev/null
	@echo "kept: $(DESTDIR)$(sysconfdir)/netbootd/, $(localstatedir)/lib/netbootd, $(localstatedir)/cache/netbootd and the user $(NETBOOTD_USER) (your configuration and leases)"

# The Debian package, built from a copy of the tracked files (dpkg-buildpackage
# cleans its tree and writes beside it); the .deb lands in build/deb/.
DEB_SRC := build/deb/src/netbootd
deb:
	rm -rf build/deb && mkdir -p $(DEB_SRC)
	git ls-files --cached --others --exclude-standard | \
		while read -r f; do if [ -e "$$f" ]; then echo "$$f"; fi; done | \
		tar -cf - -T - | tar -xf - -C $(DEB_SRC)
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b
	mv build/deb/src/netbootd_* build/deb/
	@ls -l build/deb/*.deb

clean:
	rm -rf build netbootd
	@if [ -f $(EFI_DIR)/Makefile ]; then $(MAKE) -C $(EFI_DIR) clean; fi
