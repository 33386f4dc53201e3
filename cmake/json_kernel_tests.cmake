# Tests of the runtime SIMD dispatch (cmake/json_kernels.cmake), label simd.
#
# json_kernels_isolated: each kernel object exports only its entry, and no
#   other object of the engine (or the simulator) needs more than baseline
#   x86-64 (cmake/check_json_kernels.sh).
# json_kernel_K_parser / _version: the parser's unit tests, and `pollster
#   --version`, with kernel K forced (SIMDJSON_FORCE_IMPLEMENTATION, which
#   json_dispatch.cpp follows when the CPU runs K): every kernel is tested on
#   this machine, not only the one it would pick.
# The same on a CPU model without AVX2 (qemu-user) is in .ci/run.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(_archives $<TARGET_FILE:pollster_engine>)
  if(TARGET pollster_sim)
    list(APPEND _archives $<TARGET_FILE:pollster_sim>)
  endif()
  add_test(NAME json_kernels_isolated
    COMMAND ${PROJECT_SOURCE_DIR}/cmake/check_json_kernels.sh ${CMAKE_NM} ${CMAKE_OBJDUMP}
            ${_archives} -- ${POLLSTER_JSON_KERNELS})
  set_tests_properties(json_kernels_isolated PROPERTIES LABELS simd TIMEOUT 120
                       PASS_REGULAR_EXPRESSION "^ok: ")
endif()
foreach(k IN LISTS POLLSTER_JSON_KERNELS)
  # icelake and haswell are only tested where the CPU runs them (the
  # dispatcher refuses a forced kernel the CPU lacks: the test would then
  # test another); westmere and fallback run on any CI machine.
  if(NOT k MATCHES "^(westmere|fallback)$")
    continue()
  endif()
  if(TARGET unit_tests)
    add_test(NAME json_kernel_${k}_parser
      COMMAND unit_tests --gtest_filter=AnswerParser*:-*ImplementationIsNotFallback*)
    set_tests_properties(json_kernel_${k}_parser PROPERTIES LABELS "simd;unit" TIMEOUT 120
                         ENVIRONMENT SIMDJSON_FORCE_IMPLEMENTATION=${k})
  endif()
  if(TARGET pollster)
    add_test(NAME json_kernel_${k}_version COMMAND pollster --version)
    set_tests_properties(json_kernel_${k}_version PROPERTIES LABELS simd TIMEOUT 60
                         ENVIRONMENT SIMDJSON_FORCE_IMPLEMENTATION=${k}
                         PASS_REGULAR_EXPRESSION "json: simdjson [0-9.]+ \\(${k}\\)")
  endif()
endforeach()
