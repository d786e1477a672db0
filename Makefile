# Thin wrapper over CMake and the scripts: the README's two commands live here.
MAKEFLAGS += --no-print-directory
BUILD ?= build
JOBS  ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8080

.PHONY: all deps build run test bench bench-scale install deb format clean

all: build

deps:
	@scripts/install-deps

# Builds only; `make deps` (or the README's two commands) installs what it needs first.
build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# Installs dependencies, builds and starts rtauthd with its embedded default (SQLite in ./var).
run: deps build
	./$(BUILD)/rtauthd --listen $(LISTEN) --data-dir var

# Normal and ASan+UBSan builds, unit/server/sdk/interop tests, valgrind, fuzz smoke.
test: deps
	@scripts/test

bench: deps build
	@scripts/bench

# 100,000 connections on this machine (issue 19, docs/performance.md): part of neither
# `make test` nor `make bench`; about 8 minutes and most of the machine.
bench-scale: deps build
	@scripts/bench-scale

# Installs rtauthd, rtauth, librtauth (.so.1 and .a), its headers, rtauth.pc and the CMake
# package under PREFIX (default /usr/local); DESTDIR is honoured for staging (packagers).
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

# The Debian package rtauth (docs/operations.md): a release build configured for /usr in
# $(DEB_BUILD), staged and packed by scripts/build-deb into dist/rtauth_<version>_<arch>.deb.
DEB_BUILD ?= build-deb
deb: deps
	@cmake -S . -B $(DEB_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
	       -DRTA_TESTS=OFF >/dev/null
	@cmake --build $(DEB_BUILD) -j$(JOBS)
	@scripts/build-deb $(DEB_BUILD) dist

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-tsan build-deb dist
