# Small helpers so every module and test is declared the same way.
#
#   wsgw_library(NAME wsgw_x SOURCES a.cpp b.cpp DEPS wsgw_y fmt::fmt)
#   wsgw_unit_test(NAME x_test SOURCES x_test.cpp DEPS wsgw_x)      -> ctest label "unit"
#   wsgw_fuzz_target(NAME x_fuzz SOURCES x_fuzz.cpp DEPS wsgw_x)     -> only with clang
#
# Includes are always relative to the repository root: #include "common/metrics/registry.h".

set(WSGW_WARNINGS -Wall -Wextra -Wpedantic -Wno-unused-parameter)

function(wsgw_library)
  cmake_parse_arguments(A "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(${A_NAME} STATIC ${A_SOURCES})
  target_include_directories(${A_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(${A_NAME} PRIVATE ${WSGW_WARNINGS})
  target_link_libraries(${A_NAME} PUBLIC ${A_DEPS})
  if(WSGW_FUZZ)
    target_compile_options(${A_NAME} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                           ${WSGW_UBSAN_IGNORELIST})
  endif()
endfunction()

function(wsgw_unit_test)
  cmake_parse_arguments(A "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_executable(${A_NAME} ${A_SOURCES})
  target_compile_options(${A_NAME} PRIVATE ${WSGW_WARNINGS})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  add_test(NAME ${A_NAME} COMMAND ${A_NAME} --gtest_brief=1)
  set_tests_properties(${A_NAME} PROPERTIES LABELS unit TIMEOUT 120)
endfunction()

option(WSGW_FUZZ "Build libFuzzer targets (needs clang; instruments every library)" OFF)
# Known, harmless UB reports inside third-party headers (see the file) are not our findings.
set(WSGW_UBSAN_IGNORELIST -fsanitize-ignorelist=${PROJECT_SOURCE_DIR}/tests/fuzz/ubsan_ignorelist.txt)

function(wsgw_fuzz_target)
  cmake_parse_arguments(A "" "NAME" "SOURCES;DEPS" ${ARGN})
  if(NOT WSGW_FUZZ)
    return()
  endif()
  add_executable(${A_NAME} ${A_SOURCES})
  if(NOT TARGET fuzz_all)
    add_custom_target(fuzz_all)
  endif()
  add_dependencies(fuzz_all ${A_NAME})
  target_compile_options(${A_NAME} PRIVATE -fsanitize=fuzzer,address,undefined ${WSGW_UBSAN_IGNORELIST})
  target_link_options(${A_NAME} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS})
endfunction()
