# Thin wrapper over CMake presets: `make run` and `make test` are the whole setup.
PRESET ?= release
BUILD := build/$(PRESET)
JOBS ?= $(shell nproc)
RUN_FLAGS ?=

.PHONY: all deps build run test chaos chaos-quick bench bench-fleet bench-channels bench-backend bench-tls bench-cluster asan fuzz install deb format clean

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
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	ctest --preset $(PRESET)

# Chaos drills (chaos/drills), each against a fleet of its own on 127.0.0.1: the full set, and the
# quick set CI runs. DRILLS picks others; WSCHAOS_FLAGS adds options such as --json or --keep.
CHAOS_QUICK := kill-one hang error-spike supervisor-kill garbage-clients channel-resume \
               supervisor-restart supervisor-stall
WSCHAOS_FLAGS ?=

chaos: build
	$(BUILD)/chaos/wschaos run $(WSCHAOS_FLAGS) $(if $(DRILLS),$(DRILLS),--all)

chaos-quick: build
	$(BUILD)/chaos/wschaos run --quick $(WSCHAOS_FLAGS) $(CHAOS_QUICK)

asan:
	@scripts/install-deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j$(JOBS)
	cd tests/integration && npm ci --no-audit --no-fund --loglevel=error
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	ctest --preset asan

fuzz:
	@scripts/install-deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j$(JOBS)
	ctest --preset fuzz

# UWS_DIR=/path/to/uWebSockets (with its uSockets in UWS_DIR/uSockets) adds uWebSockets as a peer,
# built outside the source tree into $(BUILD)/bench/uws; without it the bench says it was skipped.
bench: build
	@scripts/install-deps libwebsockets-dev valgrind strace util-linux $(if $(UWS_DIR),g++)
	bench/run $(BUILD)

bench-fleet: build
	bench/fleet $(BUILD)

bench-channels: build
	@scripts/install-deps util-linux
	bench/channels $(BUILD)

bench-backend: build
	@scripts/install-deps util-linux
	bench/backend $(BUILD)

bench-tls: build
	@scripts/install-deps libwebsockets-dev nginx util-linux
	bench/tls $(BUILD)

bench-cluster: build
	bench/cluster $(BUILD)

# Installs the release build under PREFIX (binaries, man pages, the systemd unit and tmpfiles
# naming PREFIX's paths, the example config in PREFIX/etc/wsfleet, or /etc/wsfleet for /usr);
# DESTDIR stages it elsewhere.
PREFIX ?= /usr/local

install: deps
	cmake --preset release -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build --preset release -j$(JOBS)
	DESTDIR="$(DESTDIR)" cmake --install build/release

# build/release/wsfleet_<version>_<arch>.deb for /usr (CPack; packaging/check-deb tries it).
deb: deps
	cmake --preset release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
	cmake --build --preset release -j$(JOBS)
	cd build/release && cpack -G DEB

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
