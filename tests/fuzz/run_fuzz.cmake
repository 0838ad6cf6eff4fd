# Runs one libFuzzer target for a fixed time on a fresh copy of its seed corpus in the build tree,
# so that new inputs and crash files never land in the source tree. A finding makes the fuzzer
# exit non-zero, which fails the test.
#
# cmake -DFUZZER=<exe> -DSEEDS=<dir> -DWORK=<dir> -DSECONDS=<n> -P run_fuzz.cmake
foreach(var FUZZER SEEDS WORK SECONDS)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "run_fuzz.cmake: ${var} is not set")
    endif()
endforeach()

set(corpus ${WORK}/corpus)
set(artifacts ${WORK}/artifacts)
file(REMOVE_RECURSE ${corpus})
file(MAKE_DIRECTORY ${corpus} ${artifacts})
file(GLOB seeds ${SEEDS}/*)
file(COPY ${seeds} DESTINATION ${corpus})

execute_process(
    COMMAND ${FUZZER} -max_total_time=${SECONDS} -print_final_stats=1
            -artifact_prefix=${artifacts}/ ${corpus}
    RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${FUZZER} exited with ${rc}; the input that failed is in ${artifacts}")
endif()
