# add_klaxon_test(NAME SOURCES... [LIBS libs...] [LABELS labels...])
# One GoogleTest executable per test file, registered with CTest by gtest_discover_tests.
include(GoogleTest)
function(add_klaxon_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} klaxon_test_support GTest::gtest_main GTest::gmock)
  gtest_discover_tests(${name}
    PROPERTIES LABELS "${ARG_LABELS}"
               ENVIRONMENT "KLAXON_CORPUS=${KLAXON_CORPUS_DIR};KLAXON_BIN_DIR=${CMAKE_BINARY_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()

# add_klaxon_benchmark(NAME SOURCES... [LIBS libs...])
function(add_klaxon_benchmark name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} benchmark::benchmark)
endfunction()
