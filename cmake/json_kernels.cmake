# Runtime SIMD dispatch of the answer parser (issue 12).
#
# engine/src/protocol/answer_parser.cpp is compiled once per kernel simdjson
# 3.0 offers for the target (POLLSTER_JSON_KERNELS), through json_kernel.cpp,
# with that kernel's instruction set; json_dispatch.cpp picks one at start.
#
# Why each kernel goes through `ld -r` + `objcopy --keep-global-symbol`: a
# translation unit compiled with -mavx2 also emits its own (COMDAT, weak)
# copies of every inline function it uses (std::string, simdjson's shared
# helpers), and the linker keeps one copy per name for the whole program,
# perhaps the AVX2 one: SIGILL on a CPU without AVX2, far from the parser.
# simdjson 3.0's on-demand front end cannot be put in a target("avx2") region
# from outside (it is compiled for the builtin kernel only, with the TU's
# flags), so instead each kernel object is made self-contained: its COMDAT
# groups are dissolved (--force-group-allocation) and every symbol it defines
# is made local except its entry table. Nothing it defines can then stand for
# a symbol used elsewhere, whatever the link order.

# The kernels and their flags: the instruction sets of simdjson's own target
# regions (SIMDJSON_TARGET_HASWELL, ...) plus BMI2, which its run-time test
# requires too, so that everything a kernel is compiled with is checked on the
# CPU before the kernel is chosen (json_dispatch.cpp).
set(_pollster_kernel_flags_icelake
    -mavx512f -mavx512dq -mavx512cd -mavx512bw -mavx512vbmi -mavx512vbmi2 -mavx512vl
    -mavx2 -mbmi -mbmi2 -mpclmul -mlzcnt -mtune=icelake-server)
set(_pollster_kernel_flags_haswell -mavx2 -mbmi -mbmi2 -mpclmul -mlzcnt -mtune=haswell)
set(_pollster_kernel_flags_westmere -msse4.2 -mpclmul -mtune=westmere)
set(_pollster_kernel_flags_fallback "")
set(_pollster_kernel_flags_arm64 "")

include(CheckCXXCompilerFlag)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(_default_kernels haswell westmere fallback)
  check_cxx_compiler_flag("-mavx512vbmi2 -mavx512vl -mavx512bw" POLLSTER_CXX_HAS_AVX512VBMI2)
  if(POLLSTER_CXX_HAS_AVX512VBMI2)
    list(PREPEND _default_kernels icelake)
  endif()
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64|ARM64")
  set(_default_kernels arm64)
else()
  set(_default_kernels fallback)
endif()
set(POLLSTER_JSON_KERNELS "${_default_kernels}" CACHE STRING
    "simdjson kernels the answer parser is built for, most preferred first; the last must run on any CPU of the target")

# pollster_json_kernels(TARGET): builds each kernel and adds it, and the
# dispatcher, to TARGET.
function(pollster_json_kernels target)
  set(src ${PROJECT_SOURCE_DIR}/engine/src)
  set(inc ${CMAKE_CURRENT_BINARY_DIR}/json_kernels/${target})
  set(list_text "")
  foreach(k IN LISTS POLLSTER_JSON_KERNELS)
    if(NOT DEFINED _pollster_kernel_flags_${k})
      message(FATAL_ERROR "POLLSTER_JSON_KERNELS: unknown kernel '${k}' (icelake, haswell, westmere, arm64, fallback)")
    endif()
    string(APPEND list_text "POLLSTER_JSON_KERNEL_ITEM(${k})\n")
    set(obj ${target}_json_${k})
    add_library(${obj} OBJECT ${src}/protocol/json_kernel.cpp)
    target_compile_features(${obj} PRIVATE cxx_std_20)
    target_compile_definitions(${obj} PRIVATE
      POLLSTER_JSON_KERNEL=${k} POLLSTER_JSON_KERNEL_ENTRY=pollster_json_kernel_${k}
      SIMDJSON_BUILTIN_IMPLEMENTATION=${k})
    target_compile_options(${obj} PRIVATE ${_pollster_kernel_flags_${k}} ${ARGN})
    target_include_directories(${obj} PRIVATE ${src} ${PROJECT_SOURCE_DIR}/engine/include)
    target_link_libraries(${obj} PRIVATE simdjson::simdjson)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/json_kernels/${target}/json_kernel_${k}.o)
    add_custom_command(OUTPUT ${out}
      COMMAND ${CMAKE_LINKER} -r --force-group-allocation -o ${out}.tmp $<TARGET_OBJECTS:${obj}>
      COMMAND ${CMAKE_OBJCOPY} --keep-global-symbol=pollster_json_kernel_${k} ${out}.tmp ${out}
      COMMAND ${CMAKE_COMMAND} -E rm -f ${out}.tmp
      DEPENDS ${obj} $<TARGET_OBJECTS:${obj}>
      COMMENT "Making the ${k} JSON kernel self-contained"
      COMMAND_EXPAND_LISTS VERBATIM)
    target_sources(${target} PRIVATE ${out})
    set_source_files_properties(${out} DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
                                PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  endforeach()
  file(CONFIGURE OUTPUT ${inc}/json_kernels.inc CONTENT "${list_text}")
  target_sources(${target} PRIVATE ${src}/protocol/json_dispatch.cpp)
  set_source_files_properties(${src}/protocol/json_dispatch.cpp DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
                              PROPERTIES INCLUDE_DIRECTORIES ${inc})
endfunction()
