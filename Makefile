# patchsync: `make run` starts the server, `make test` runs every test.
# Both install what is missing first (Debian packages as root, Python packages in .venv).

# Swift 6: the one on PATH, else /opt/swift (`make` says how to get one when neither is there).
SWIFT      ?= $(shell command -v swift 2>/dev/null || { test -x /opt/swift/usr/bin/swift && echo /opt/swift/usr/bin/swift; } || echo swift)
export SWIFT
HOST       ?= 127.0.0.1
PORT       ?= 3333
DATA       ?= ./data
TOKEN      ?=
PREFIX     ?= /usr/local
DESTDIR    ?=

BUILD_DEBS := libwebsockets-dev libjansson-dev zlib1g-dev libcap-dev libpq-dev libssl-dev pkg-config
TEST_DEBS  := nodejs node-ws nginx chromium chromium-driver libwebsockets-test-server python3-venv postgresql
VENV       := .venv
PYTHON     := $(VENV)/bin/python

# Release builds (make run, make install, make bench) are linked for a small resident size:
# the Swift runtime statically (only the parts used), by lld with packed relative relocations
# and no exported symbols, and with the functions the server runs laid out together
# (scripts/patchsync.order, made by scripts/make-order-file) so that fewer pages are touched.
RELEASE    := -c release --static-swift-stdlib -Xswiftc -use-ld=lld \
              -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic \
              -Xlinker --symbol-ordering-file=$(CURDIR)/scripts/patchsync.order -Xlinker --no-warn-symbol-ordering

.PHONY: run test bench soak build release deps test-deps swift-test web-test py-test fuzz fuzz-check example install install-files clean

# TOKEN, when set, is required of every client (the page takes it as http://HOST:PORT/#token=TOKEN).
# It reaches the server in its environment, so that neither the echoed recipe nor the server's
# command line shows it (make's own does: for a lasting setup, see docs/deployment.md).
ifneq ($(TOKEN),)
run: export PATCHSYNC_TOKEN := $(TOKEN)
endif
run: deps release
	mkdir -p $(DATA)
	.build/release/patchsync serve --host $(HOST) --port $(PORT) --data $(DATA)

test: test-deps swift-test example web-test py-test fuzz-check

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE) --product patchsync

swift-test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# examples/embedding, a package depending on this one by path, serving a model of its own
# (docs/embedding.md). Its scratch path stays under .build, so that later builds are incremental;
# tests/test_embedding.py runs the result.
example: deps
	cd examples/embedding && $(SWIFT) build --scratch-path $(CURDIR)/.build/embedding

web-test: test-deps
	node --test web/tests/ clients/js/tests/core.test.mjs

# tests/ includes the three clients' scenario runners (tests/client_scenarios.md);
# clients/python/tests holds the Python client's unit tests.
py-test: test-deps build
	$(PYTHON) -m pytest -q --durations=15 tests/ clients/python/tests/

# Coverage-guided fuzzing (libFuzzer + AddressSanitizer, build in .build-fuzz): each target of
# Fuzz/ for FUZZ_SECONDS (default 60). A crash fails the run and leaves the input in
# .build-fuzz/crashes/. `fuzz-check` (part of `make test`) only runs every seed once.
FUZZ_SECONDS ?= 60

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz

fuzz-check: deps
	scripts/fuzz --check

# Core diff/apply, start-up with 100,000 events, per-action engine cost on large lists, the
# validation of a declared type after one change (100 and 10,000 entries), the cost of one
# action on a declared type beside the Todo list's,
# fan-out against the anchors, resident memory, 300 sessions joining a 10,000-row list,
# the page on a 10,000-row list in Chromium, the PostgreSQL store beside the file store,
# a hot document on three instances, actions on 10,000 rows against 100, long ids and SIGTERM,
# and a 10,000-row SQL inbox storm.
bench: test-deps
	$(SWIFT) build $(RELEASE) --product patchsync
	$(SWIFT) build $(RELEASE) --product PatchsyncBench
	.build/release/PatchsyncBench core
	.build/release/PatchsyncBench startup
	.build/release/PatchsyncBench engine
	.build/release/PatchsyncBench validation
	.build/release/PatchsyncBench types
	.build/release/PatchsyncBench tokens
	$(PYTHON) bench/fanout.py --patchsync .build/release/patchsync --runs 3
	$(PYTHON) bench/memory.py --patchsync .build/release/patchsync
	$(PYTHON) bench/joins.py --patchsync .build/release/patchsync
	$(PYTHON) bench/tokens.py --patchsync .build/release/patchsync
	$(PYTHON) bench/page.py --patchsync .build/release/patchsync
	$(PYTHON) bench/database.py --patchsync .build/release/patchsync
	$(PYTHON) bench/hotdocument.py --patchsync .build/release/patchsync
	$(PYTHON) bench/rows.py --patchsync .build/release/patchsync
	$(PYTHON) bench/hardening.py --patchsync .build/release/patchsync
	$(PYTHON) bench/inbox_storm.py --patchsync .build/release/patchsync

# 200 clients on 5 documents for SOAK_SECONDS (default 10 minutes), the server killed with
# SIGKILL and restarted every minute; prints its figures and fails on any violation.
# SOAK_VARIANT=hardening runs issue 19's storms instead (presence churn with long names, long
# action ids; the SQL inbox storm joins them there) and reports RSS over time.
SOAK_SECONDS ?= 600
SOAK_VARIANT ?= default
soak: test-deps build
ifeq ($(SOAK_VARIANT),hardening)
	$(PYTHON) tests/soak_hardening.py --seconds $(SOAK_SECONDS)
else
	$(PYTHON) tests/soak.py --seconds $(SOAK_SECONDS)
endif

deps:
	@scripts/ensure-swift $(SWIFT)
	@scripts/ensure-debs $(BUILD_DEBS)

test-deps: deps $(VENV)/.installed
	@scripts/ensure-debs $(TEST_DEBS)

$(VENV)/.installed: tests/requirements.txt clients/python/pyproject.toml
	@scripts/ensure-debs python3-venv
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -r tests/requirements.txt
	touch $@

# Installs the release binary (Swift runtime linked statically), the systemd unit, its settings
# file (once) and the documentation. `install-files` copies BINARY without building it.
BINARY     ?= .build/release/patchsync

install: release install-files

install-files:
	install -D -m 0755 $(BINARY) $(DESTDIR)$(PREFIX)/bin/patchsync
	mkdir -p .build
	sed 's|/usr/local/|$(PREFIX)/|g' deploy/patchsync.service > .build/patchsync.service
	install -D -m 0644 .build/patchsync.service $(DESTDIR)/etc/systemd/system/patchsync.service
	install -D -m 0644 deploy/nginx.conf $(DESTDIR)$(PREFIX)/share/doc/patchsync/nginx.conf
	install -D -m 0644 deploy/nginx-instances.conf $(DESTDIR)$(PREFIX)/share/doc/patchsync/nginx-instances.conf
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/patchsync/README.md
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/doc/patchsync/docs docs/*.md
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/doc/patchsync/docs/decisions docs/decisions/*.md
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/doc/patchsync/docs/images docs/images/*.png
	install -D -m 0644 clients/python/README.md $(DESTDIR)$(PREFIX)/share/doc/patchsync/clients/python/README.md
	install -D -m 0644 clients/js/README.md $(DESTDIR)$(PREFIX)/share/doc/patchsync/clients/js/README.md
	install -D -m 0644 tests/client_scenarios.md $(DESTDIR)$(PREFIX)/share/doc/patchsync/tests/client_scenarios.md
	install -D -m 0644 deploy/patchsync.default $(DESTDIR)$(PREFIX)/share/doc/patchsync/patchsync.default
	@# The settings file is the administrator's: installed once, never overwritten.
	@[ -e $(DESTDIR)/etc/default/patchsync ] || install -D -m 0644 deploy/patchsync.default $(DESTDIR)/etc/default/patchsync
	@if [ -z "$(DESTDIR)" ]; then \
	  id -u patchsync >/dev/null 2>&1 || useradd --system --home-dir /var/lib/patchsync --shell /usr/sbin/nologin patchsync; \
	  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	  echo "installed; start it with: systemctl enable --now patchsync"; \
	fi

clean:
	rm -rf .build $(VENV)
