# Third-party libraries, as pkg-config imported targets.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET libevent_core>=2.1)
pkg_check_modules(LIBEVENT_EXTRA REQUIRED IMPORTED_TARGET libevent_extra>=2.1)
pkg_check_modules(LIBEVENT_OPENSSL REQUIRED IMPORTED_TARGET libevent_openssl>=2.1)
# libevent_pthreads alone: its .pc file adds -levent, a second copy of libevent_core beside the
# one the rest links (two event loops' worth of globals in one process).
find_library(LIBEVENT_PTHREADS_LIB NAMES event_pthreads REQUIRED)
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto>=3.0)
# TLS (wss://) in the worker; the supervisor checks certificates with it.
pkg_check_modules(LIBSSL REQUIRED IMPORTED_TARGET libssl>=3.0)
pkg_check_modules(PROTOBUFC REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(LIBZMQ REQUIRED IMPORTED_TARGET libzmq)
pkg_check_modules(INIH REQUIRED IMPORTED_TARGET inih)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson>=2.8)
# permessage-deflate (RFC 7692) in the worker.
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
# sd_notify for wsfleetd under systemd (Type=notify, watchdog).
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(LIBNATS REQUIRED IMPORTED_TARGET libnats>=3.4)
if(WSF_TESTS)
    pkg_check_modules(CHECK REQUIRED IMPORTED_TARGET check)
    # The broker the NATS tests start (Debian installs it in /usr/sbin, outside a user's PATH).
    find_program(NATS_SERVER nats-server PATHS /usr/sbin /usr/local/sbin REQUIRED)
endif()
