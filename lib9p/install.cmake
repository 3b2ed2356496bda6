# The installed lib9p: every layer's objects in one libninep.a and one
# libninep.so, the public headers under include/ninep/, and ninep.pc.
# `make install` installs them with `cmake --install --component lib9p`.
#
# What the version promises. The soname is libninep.so.MAJOR.MINOR while the
# major is 0: a program built against 0.1.x runs against any later 0.1.y,
# because a patch release changes no public header in a way that moves the
# ABI (no class layout, virtual function, inline function, template or
# signature changes). Any such change bumps MINOR, and with it the soname,
# so an old binary fails to load rather than misbehaving. From 1.0 on the
# soname is MAJOR alone. Only the declarations in include/ninep/ are the
# ABI; the library's other symbols are visible but internal, and are not
# part of the promise.
set(NINEP_OBJECTS)
foreach(layer ${NINEP_LAYERS})
  list(APPEND NINEP_OBJECTS $<TARGET_OBJECTS:${layer}_obj>)
endforeach()

add_library(ninep_static STATIC ${NINEP_OBJECTS})
add_library(ninep_shared SHARED ${NINEP_OBJECTS})
target_link_libraries(ninep_shared PRIVATE PkgConfig::UV OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
if(NINEP_NO_UNDEFINED)
  target_link_options(ninep_shared PRIVATE -Wl,--no-undefined)
endif()
set_target_properties(ninep_static ninep_shared PROPERTIES
  OUTPUT_NAME ninep
  ARCHIVE_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
set_target_properties(ninep_shared PROPERTIES
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})

install(TARGETS ninep_static ninep_shared
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib9p
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT lib9p NAMELINK_COMPONENT lib9p)
install(DIRECTORY ${NINEP_INCLUDE_DIR}/ninep DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT lib9p FILES_MATCHING PATTERN "*.h")
# ninep.pc is written at install time, so it names the prefix the library
# is installed under (cmake --install --prefix may differ from the
# configured one). libuv is Requires, not Requires.private, because
# server.h and transport.h include <uv.h>. OpenSSL (libssl, libcrypto) is
# Requires.private: no public header names it, and libninep.so links it.
install(CODE "
  set(NINEP_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${CMAKE_CURRENT_SOURCE_DIR}/ninep.pc.in\"
    \"${CMAKE_CURRENT_BINARY_DIR}/ninep.pc\" @ONLY)
" COMPONENT lib9p)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ninep.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT lib9p)
