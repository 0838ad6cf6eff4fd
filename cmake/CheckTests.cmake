# One Check executable and one ctest entry per tested module.
#
# wsf_check_test(NAME SOURCE LIBS...) builds tests/.../test_NAME.c, which exports
# `Suite *NAME_suite(void)`, with a generated main, and registers it as ctest test NAME.
function(wsf_check_test name source)
    set(main ${CMAKE_CURRENT_BINARY_DIR}/check_main_${name}.c)
    set(WSF_SUITE ${name}_suite)
    configure_file(${PROJECT_SOURCE_DIR}/tests/unit/check_main.c.in ${main} @ONLY)
    add_executable(test_${name} ${source} ${main})
    target_include_directories(test_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
    target_link_libraries(test_${name} PRIVATE ${ARGN} PkgConfig::CHECK)
    wsf_warnings(test_${name})
    add_test(NAME ${name} COMMAND test_${name})
    set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 120)
endfunction()
