# Installing zoo, so that another project can use it (`cmake --install build`):
#
#   <prefix>/include/zoo/{autograd,nn,models}/...h   the headers, as zoo spells them:
#                                                     #include "autograd/tensor.h"
#   <prefix>/lib/libzoo_{autograd,nn,models}.a       the libraries
#   <prefix>/bin/zoo                                  the command
#   <prefix>/lib/cmake/zoo/                           find_package(zoo) -> zoo::autograd,
#                                                     zoo::nn, zoo::models
#   <prefix>/lib/pkgconfig/zoo.pc                     pkg-config --cflags --libs zoo
#
# examples/consumer is an outside project built against such an install; the CTest test
# `install: consumer` (tests/install/) installs into a scratch prefix and builds it.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ZOO_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/zoo)

# Outside, the targets are zoo::autograd, zoo::nn and zoo::models, the same names as the
# aliases inside this build, so code links the same way on both sides.
set_target_properties(zoo_autograd PROPERTIES EXPORT_NAME autograd)
set_target_properties(zoo_nn PROPERTIES EXPORT_NAME nn)
set_target_properties(zoo_models PROPERTIES EXPORT_NAME models)
set_target_properties(zoo_openblas PROPERTIES EXPORT_NAME openblas)

install(TARGETS zoo_autograd zoo_nn zoo_models zoo_openblas
        EXPORT zooTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The installed command keeps the run path to the OpenMP build of OpenBLAS it was linked
# with, rather than whichever libopenblas.so.0 the system's alternatives point at.
set_target_properties(zoo PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
install(TARGETS zoo RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Every header of the three libraries, keeping its folder; the command line's own header
# (models/cli) is not part of the library.
foreach(dir IN ITEMS autograd nn models)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/zoo
          FILES_MATCHING PATTERN "*.h"
          PATTERN "cli" EXCLUDE)
endforeach()

install(EXPORT zooTargets NAMESPACE zoo:: DESTINATION ${ZOO_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/zooConfig.cmake.in
  ${PROJECT_BINARY_DIR}/zooConfig.cmake
  INSTALL_DESTINATION ${ZOO_INSTALL_CMAKEDIR})
# 0.x: a minor version may change the API, so only the same minor version matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/zooConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/zooConfig.cmake ${PROJECT_BINARY_DIR}/zooConfigVersion.cmake
        DESTINATION ${ZOO_INSTALL_CMAKEDIR})

# pkg-config, for builds without CMake. The libraries are static, so their dependencies
# go in Requires and Libs (not the .private fields): the final link needs them all.
# The prefix is found from the .pc file's own place (pkg-config's ${pcfiledir}), so the
# file stays right under `cmake --install --prefix DIR`, which is decided after configure.
set(ZOO_PC_MPI "")
if(ZOO_HAVE_MPI)
  set(ZOO_PC_MPI "ompi-c")  # Debian's OpenMPI names its C library's .pc file so
endif()
file(RELATIVE_PATH ZOO_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/zoo.pc.in ${PROJECT_BINARY_DIR}/zoo.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/zoo.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
