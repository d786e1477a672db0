# install.cmake: what `make install` (cmake --install) puts where, for C users and operators
# (issue 17). PREFIX and DESTDIR are honoured as CMake does (--prefix, the DESTDIR variable).
#
#   bin/rtauth                      the command-line tool
#   sbin/rtauthd                    the server
#   include/rtauth/*.h              the public headers (and nothing of src/)
#   lib/<arch>/librtauth.so.0.1.0   the SDK, soname librtauth.so.1 (SOVERSION: bump it on an
#                                   incompatible ABI change), librtauth.so for the linker
#   lib/<arch>/librtauth.a          the same, static
#   lib/<arch>/pkgconfig/rtauth.pc  pkg-config --cflags --libs rtauth (--static for the .a)
#   lib/<arch>/cmake/rtauth/        find_package(rtauth): rtauth::rtauth (shared) and
#                                   rtauth::rtauth_static
# scripts/check-install (CTest install/consumers) installs into a temporary prefix and builds
# examples/ against it both ways.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(librtauth_shared PROPERTIES EXPORT_NAME rtauth)
set_target_properties(librtauth PROPERTIES EXPORT_NAME rtauth_static)

install(TARGETS rtauth RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS rtauthd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS librtauth_shared librtauth EXPORT rtauthTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/rtauth DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

set(RTA_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/rtauth)
install(EXPORT rtauthTargets NAMESPACE rtauth:: DESTINATION ${RTA_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/rtauthConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/rtauthConfig.cmake
                              INSTALL_DESTINATION ${RTA_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/rtauthConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/rtauthConfig.cmake ${CMAKE_BINARY_DIR}/rtauthConfigVersion.cmake
        DESTINATION ${RTA_CMAKE_DIR})

# pkg-config: the prefix is found from the .pc file's own place (${pcfiledir}), so the files
# work wherever --prefix or DESTDIR put them
file(RELATIVE_PATH RTA_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" RTA_PC_TO_PREFIX "${RTA_PC_TO_PREFIX}")
configure_file(${CMAKE_SOURCE_DIR}/cmake/rtauth.pc.in ${CMAKE_BINARY_DIR}/rtauth.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/rtauth.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# Man pages (man/*.[0-9], mdoc): rtauth(1), librtauth(3), rtauthd(8) under share/man,
# compressed as Debian ships them (gzip -9n: no name or time stamp, reproducible), with one
# link per function librtauth(3) documents (`man rta_auth_authorize`). scripts/check-man
# (CTest docs/man) lints them and checks them against `--help` and the headers.
file(GLOB RTA_MAN_PAGES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/man/*.[0-9])
set(RTA_MAN_GZ)
foreach(page ${RTA_MAN_PAGES})
  get_filename_component(name ${page} NAME)
  set(gz ${CMAKE_BINARY_DIR}/man/${name}.gz)
  add_custom_command(OUTPUT ${gz} DEPENDS ${page}
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
                     COMMAND gzip -9n -c ${page} > ${gz} VERBATIM)
  list(APPEND RTA_MAN_GZ ${gz})
  string(REGEX MATCH "[0-9]$" section ${name})
  install(FILES ${gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man ALL DEPENDS ${RTA_MAN_GZ})
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/man)
file(STRINGS ${CMAKE_SOURCE_DIR}/man/librtauth.3 RTA_MAN_FUNCTIONS REGEX "^\\.Nm rta_")
foreach(line ${RTA_MAN_FUNCTIONS})
  string(REGEX MATCH "rta_[a-z0-9_]+" fn ${line})
  file(CREATE_LINK librtauth.3.gz ${CMAKE_BINARY_DIR}/man/${fn}.3.gz SYMBOLIC)
  install(FILES ${CMAKE_BINARY_DIR}/man/${fn}.3.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)
endforeach()
