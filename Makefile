# Thin wrapper over CMake presets: `make run` and `make test` are the whole setup.
PRESET ?= release
BUILD := build/$(PRESET)
JOBS ?= $(shell nproc)
RUN_FLAGS ?=

.PHONY: all deps build run test bench bench-fleet asan fuzz format clean

all: build

deps:
	@scripts/install-deps

build: deps
	cmake --preset $(PRESET) >/dev/null
	cmake --build --preset $(PRESET) -j$(JOBS)

# The default service: a supervised fleet on 127.0.0.1:8080, in the foreground (Ctrl-C drains it).
run: build
	$(BUILD)/supervisor/wsfleetd --foreground $(RUN_FLAGS)

test: build
	cd tests/integration && npm ci --no-audit --no-fund --loglevel=error
	ctest --preset $(PRESET)

asan:
	@scripts/install-deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j$(JOBS)
	cd tests/integration && npm ci --no-audit --no-fund --loglevel=error
	ctest --preset asan

fuzz:
	@scripts/install-deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j$(JOBS)
	ctest --preset fuzz

bench: build
	@scripts/install-deps libwebsockets-dev valgrind strace util-linux
	bench/run $(BUILD)

bench-fleet: build
	bench/fleet $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
