# Third-party libraries, as pkg-config imported targets.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET libevent_core>=2.1)
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto>=3.0)
pkg_check_modules(PROTOBUFC REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(LIBZMQ REQUIRED IMPORTED_TARGET libzmq)
if(WSF_TESTS)
    pkg_check_modules(CHECK REQUIRED IMPORTED_TARGET check)
endif()
