# patchsync: `make run` starts the server, `make test` runs every test.
# Both install what is missing first (Debian packages as root, Python packages in .venv).

SWIFT      ?= swift
HOST       ?= 127.0.0.1
PORT       ?= 3333
DATA       ?= ./data
PREFIX     ?= /usr/local

BUILD_DEBS := libwebsockets-dev libjansson-dev libcap-dev pkg-config
TEST_DEBS  := nodejs nginx chromium chromium-driver libwebsockets-test-server python3-venv
VENV       := .venv
PYTHON     := $(VENV)/bin/python

.PHONY: run test bench build release deps test-deps swift-test web-test py-test install clean

run: deps release
	mkdir -p $(DATA)
	.build/release/patchsync serve --host $(HOST) --port $(PORT) --data $(DATA)

test: test-deps swift-test web-test py-test

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product patchsync

swift-test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

web-test: test-deps
	node --test web/tests/

py-test: test-deps build
	$(PYTHON) -m pytest -q tests/

bench: test-deps
	$(SWIFT) build -c release --product patchsync
	$(SWIFT) build -c release --product PatchsyncBench
	.build/release/PatchsyncBench
	$(PYTHON) bench/fanout.py --patchsync .build/release/patchsync

deps:
	@scripts/ensure-debs $(BUILD_DEBS)

test-deps: deps $(VENV)/.installed
	@scripts/ensure-debs $(TEST_DEBS)

$(VENV)/.installed: tests/requirements.txt
	@scripts/ensure-debs python3-venv
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -r tests/requirements.txt
	touch $@

clean:
	rm -rf .build $(VENV)
