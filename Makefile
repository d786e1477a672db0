# Thin wrapper over CMake and the scripts: the README's two commands live here.
MAKEFLAGS += --no-print-directory
BUILD ?= build
JOBS  ?= $(shell nproc)
LISTEN ?= 127.0.0.1:8080

.PHONY: all deps build run test bench install format clean

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

# Installs rtauthd, rtauth, librtauth (.so.1 and .a), its headers, rtauth.pc and the CMake
# package under PREFIX (default /usr/local); DESTDIR is honoured for staging (packagers).
PREFIX ?= /usr/local
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-tsan
