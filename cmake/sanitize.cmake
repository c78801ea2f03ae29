# Sanitizer and fuzzing builds (docs/hardening.md).
#
# TAPEFLOW_SANITIZE=address,undefined (or thread) compiles and links everything configured after
# this file (library, tests, examples) with those sanitizers. UBSan findings abort
# (-fno-sanitize-recover), so a report fails its test instead of scrolling past.
#
# TAPEFLOW_FUZZ=ON (clang only) also compiles the library with -fsanitize=fuzzer-no-link (coverage
# feedback for libFuzzer) and builds the harnesses in test/fuzz/: one ASan+UBSan build then serves
# both the test suite and the fuzzers.
set(TAPEFLOW_SANITIZE "" CACHE STRING
    "Sanitizers for library, tests and examples: empty, address,undefined or thread")
option(TAPEFLOW_FUZZ "Build the libFuzzer harnesses in test/fuzz (clang only)" OFF)

set(TAPEFLOW_SANITIZE_FLAGS "")
if(TAPEFLOW_SANITIZE)
  if(TAPEFLOW_SANITIZE MATCHES "thread" AND TAPEFLOW_SANITIZE MATCHES "address")
    message(FATAL_ERROR "TAPEFLOW_SANITIZE: thread cannot be combined with address")
  endif()
  list(APPEND TAPEFLOW_SANITIZE_FLAGS -fsanitize=${TAPEFLOW_SANITIZE} -fno-omit-frame-pointer)
  if(TAPEFLOW_SANITIZE MATCHES "undefined")
    list(APPEND TAPEFLOW_SANITIZE_FLAGS -fno-sanitize-recover=undefined)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
      # Third-party code only (xsimd's double -> int64 lane conversion); the file says why.
      list(APPEND TAPEFLOW_SANITIZE_FLAGS
           -fsanitize-ignorelist=${PROJECT_SOURCE_DIR}/test/ubsan_ignorelist.txt)
    endif()
  endif()
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${TAPEFLOW_SANITIZE_FLAGS}>")
  add_link_options(${TAPEFLOW_SANITIZE_FLAGS})
endif()

if(TAPEFLOW_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TAPEFLOW_FUZZ=ON needs clang (libFuzzer): configure with "
                        "-DCMAKE_CXX_COMPILER=clang++")
  endif()
  if(NOT TAPEFLOW_SANITIZE MATCHES "address")
    message(WARNING "TAPEFLOW_FUZZ=ON without TAPEFLOW_SANITIZE=address,undefined: the "
                    "harnesses will find crashes only, not memory errors")
  endif()
endif()
