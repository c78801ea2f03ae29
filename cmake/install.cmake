# Installs target `tapeflow` with a CMake package so that outside projects can use
# find_package(tapeflow CONFIG REQUIRED) and link tapeflow::tapeflow.
# Include from the top-level CMakeLists.txt after target `tapeflow` is defined (project() must
# give a VERSION). Off by default when tapeflow is pulled in with add_subdirectory().

if(DEFINED PROJECT_IS_TOP_LEVEL)
  set(_tapeflow_top_level ${PROJECT_IS_TOP_LEVEL})
elseif(CMAKE_SOURCE_DIR STREQUAL PROJECT_SOURCE_DIR)
  set(_tapeflow_top_level ON)
else()
  set(_tapeflow_top_level OFF)
endif()
option(TAPEFLOW_INSTALL "Generate the install rules and CMake package for tapeflow"
       ${_tapeflow_top_level})
unset(_tapeflow_top_level)

if(NOT TAPEFLOW_INSTALL)
  return()
endif()

if(NOT TARGET tapeflow)
  message(FATAL_ERROR "cmake/install.cmake: include it after add_library(tapeflow ...)")
endif()

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TAPEFLOW_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/tapeflow"
    CACHE STRING "Where the tapeflow CMake package files are installed, relative to the prefix")

if(PROJECT_VERSION)
  set(_tapeflow_version ${PROJECT_VERSION})
else()
  message(WARNING "project(tapeflow) has no VERSION; the package says 0.0.0")
  set(_tapeflow_version 0.0.0)
endif()

# A static libtapeflow carries its private dependencies to the consumer's link line: the
# config file must find them again, and the private tapeflow_xt bundle must be exported.
get_target_property(_tapeflow_type tapeflow TYPE)
set(_tapeflow_export_targets tapeflow)
if(_tapeflow_type STREQUAL "STATIC_LIBRARY")
  set(TAPEFLOW_CONFIG_STATIC ON)
  if(TARGET tapeflow_xt)
    list(APPEND _tapeflow_export_targets tapeflow_xt)
  endif()
else()
  set(TAPEFLOW_CONFIG_STATIC OFF)
endif()
set(TAPEFLOW_CONFIG_MPI ${TAPEFLOW_HAVE_MPI})
if(TAPEFLOW_CUDA)
  set(TAPEFLOW_CONFIG_CUDA ON)
else()
  set(TAPEFLOW_CONFIG_CUDA OFF)
endif()

install(TARGETS ${_tapeflow_export_targets}
  EXPORT tapeflowTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/tapeflow"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Generated public headers (e.g. an export or version header) go in build/include/tapeflow.
if(EXISTS "${PROJECT_BINARY_DIR}/include/tapeflow")
  install(DIRECTORY "${PROJECT_BINARY_DIR}/include/tapeflow"
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()

install(EXPORT tapeflowTargets
  NAMESPACE tapeflow::
  DESTINATION ${TAPEFLOW_INSTALL_CMAKEDIR})

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/tapeflowConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/tapeflowConfig.cmake"
  INSTALL_DESTINATION ${TAPEFLOW_INSTALL_CMAKEDIR})
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/tapeflowConfigVersion.cmake"
  VERSION ${_tapeflow_version}
  COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/tapeflowConfig.cmake"
  "${PROJECT_BINARY_DIR}/tapeflowConfigVersion.cmake"
  DESTINATION ${TAPEFLOW_INSTALL_CMAKEDIR})

unset(_tapeflow_version)
unset(_tapeflow_type)
unset(_tapeflow_export_targets)
