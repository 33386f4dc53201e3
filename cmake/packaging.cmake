# `cpack -G DEB` in the build folder: pollster_<version>_amd64.deb, whose
# Depends come from dpkg-shlibdeps (the shared libraries the binary links).
# The root Dockerfile installs it on debian:bookworm-slim.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pollster)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "pollster")
set(CPACK_PACKAGE_CONTACT "pollster maintainers <maintainers@users.noreply.github.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Polls NetApp SolidFire/Element async results; load tests the API (pollster load, report merge)")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # pollster_0.1.0_amd64.deb (no Debian revision set)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
include(CPack)

# The package's own test: cpack runs, the .deb lists the binary, and the
# binary unpacked from it runs. Needs the whole build (cpack installs it).
if(POLLSTER_BUILD_TESTS AND TARGET pollster)
  add_test(NAME package_deb
           COMMAND ${CMAKE_COMMAND} -E env CPACK=${CMAKE_CPACK_COMMAND}
                   sh ${PROJECT_SOURCE_DIR}/tests/deb/check_deb.sh ${PROJECT_BINARY_DIR} ${PROJECT_VERSION})
  set_tests_properties(package_deb PROPERTIES LABELS package TIMEOUT 600)
endif()
