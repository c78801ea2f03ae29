# The CUDA backend as a plugin, libtapeflow_cuda.so, placed (and installed) next to
# libtapeflow.so. The core opens it with dlopen() on first use (src/backend/cuda_loader.cpp), so
# one libtapeflow binary runs on machines without the NVIDIA driver or without a GPU.
# Included from the top-level CMakeLists.txt after target `tapeflow`, when TAPEFLOW_CUDA is ON.

file(GLOB TAPEFLOW_CUDA_KERNEL_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/cuda/kernels/*.cu)
if(NOT TAPEFLOW_CUDA_KERNEL_SOURCES)
  # The kernels (cuda/kernels/*.cu) land separately from the backend class; until they do, the
  # plugin cannot link, and the core reports "built without the CUDA plugin".
  message(STATUS "tapeflow: cuda/kernels/*.cu not present yet; CUDA plugin not built")
  return()
endif()

# CUDA sources follow CXX_STANDARD (20), but CMake 3.25 has no C++20 flag on record for nvcc
# 13 and refuses to generate; nvcc takes -std=c++20 (with g++ 12 as host compiler).
if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
endif()

file(GLOB TAPEFLOW_CUDA_SOURCES CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/cuda/*.cu ${PROJECT_SOURCE_DIR}/cuda/*.cpp)
add_library(tapeflow_cuda MODULE ${TAPEFLOW_CUDA_SOURCES} ${TAPEFLOW_CUDA_KERNEL_SOURCES})
target_include_directories(tapeflow_cuda PRIVATE
  ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/cuda)
# cudart is linked statically: the plugin then needs only libcuda (the driver) at run time, and
# without it cudaGetDeviceCount reports "insufficient driver" instead of failing to load.
# tapeflow (shared) provides the error classes, so exceptions thrown here are caught as tf::Error.
target_link_libraries(tapeflow_cuda PRIVATE tapeflow CUDA::cudart_static CUDA::cublas CUDA::cusolver)
target_compile_options(tapeflow_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra>
  $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -Xcompiler=-Wall>)
set_target_properties(tapeflow_cuda PROPERTIES
  PREFIX "lib"
  CXX_VISIBILITY_PRESET hidden
  CUDA_VISIBILITY_PRESET hidden
  VISIBILITY_INLINES_HIDDEN ON
  CUDA_SEPARABLE_COMPILATION OFF
  CUDA_RUNTIME_LIBRARY Static
  # Same folder as libtapeflow.so: the loader looks there (dladdr) first.
  LIBRARY_OUTPUT_DIRECTORY $<TARGET_FILE_DIR:tapeflow>
  # Installed beside libtapeflow.so; finds it and cuBLAS without LD_LIBRARY_PATH.
  INSTALL_RPATH "$ORIGIN;${CUDAToolkit_LIBRARY_DIR}")
# NCCL (shipped with the CUDA toolkit here) for MirroredStrategy's all-reduce across GPUs;
# optional: without it the plugin's tapeflow_cuda_all_reduce says so, and MirroredStrategy
# reduces through host copies.
find_path(TAPEFLOW_NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
find_library(TAPEFLOW_NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
if(TAPEFLOW_NCCL_INCLUDE_DIR AND TAPEFLOW_NCCL_LIBRARY)
  message(STATUS "tapeflow: NCCL found (${TAPEFLOW_NCCL_LIBRARY}): MirroredStrategy over GPUs")
  target_include_directories(tapeflow_cuda PRIVATE ${TAPEFLOW_NCCL_INCLUDE_DIR})
  target_link_libraries(tapeflow_cuda PRIVATE ${TAPEFLOW_NCCL_LIBRARY})
  target_compile_definitions(tapeflow_cuda PRIVATE TAPEFLOW_HAVE_NCCL=1)
else()
  message(STATUS "tapeflow: NCCL not found: MirroredStrategy over GPUs reduces through the host")
endif()

# The interface digest (top-level CMakeLists.txt), on the one file that reports it.
set_source_files_properties(${PROJECT_SOURCE_DIR}/cuda/backend.cpp PROPERTIES
  COMPILE_DEFINITIONS "TAPEFLOW_CUDA_PLUGIN_DIGEST=\"${TAPEFLOW_CUDA_PLUGIN_DIGEST}\"")
# Every kernels.hpp function must be defined: an unresolved symbol fails here, not at dlopen().
target_link_options(tapeflow_cuda PRIVATE -Wl,--no-undefined)

if(TAPEFLOW_INSTALL)
  include(GNUInstallDirs)
  install(TARGETS tapeflow_cuda LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
