# `make deb`: CPack's DEB generator builds wsfleet_<version>_<arch>.deb from the install rules
# (packaging/CMakeLists.txt), configured with CMAKE_INSTALL_PREFIX=/usr. Depends comes from the
# binaries' shared libraries (dpkg-shlibdeps); the maintainer scripts in packaging/deb create the
# directories and enable and start the unit when systemd runs the machine.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wsfleet)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR wsfleet)
set(CPACK_PACKAGE_CONTACT "wsfleet maintainers <wsfleet@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "supervised WebSocket worker fleet")
set(CPACK_PACKAGE_DESCRIPTION
    "wsfleetd forks and balances wsworker WebSocket processes on shared listening sockets, \
restarts and drains them, and runs under systemd (Type=notify with a watchdog). wsctl drives a \
running fleet; wschaos and wsload run chaos drills and load.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

# The example config is a conffile: an upgrade keeps the administrator's edits.
include(GNUInstallDirs)
file(WRITE ${CMAKE_BINARY_DIR}/packaging/deb/conffiles
     "${CMAKE_INSTALL_FULL_SYSCONFDIR}/wsfleet/wsfleet.ini\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm
    ${CMAKE_BINARY_DIR}/packaging/deb/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
