// The entry of one SIMD kernel of the answer parser. answer_parser.cpp is
// compiled once per kernel (json_kernel.cpp, cmake/json_kernels.cmake), each
// copy in its own namespace and object file, and that object exports nothing
// but one of these tables: the dispatcher (json_dispatch.cpp) picks one table
// at start and forwards every call to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "protocol/answer_parser.hpp"

namespace pollster::detail {

struct json_kernel {
  /// simdjson's name of the implementation compiled in ("haswell", ...).
  std::string_view (*name)() noexcept;
  void* (*create)();
  void (*destroy)(void* parser) noexcept;
  std::error_code (*parse_envelope)(void* parser, const char* data, std::size_t size,
                                    std::size_t capacity, envelope_view& out);
  std::error_code (*parse_get_async_result)(void* parser, const char* data, std::size_t size,
                                            std::size_t capacity, envelope_view& env,
                                            async_result_view& out);
  std::error_code (*parse_async_result)(void* parser, std::string_view raw,
                                        const char* buffer_end, async_result_view& out);
  std::error_code (*parse_list_async_results)(void* parser, const char* data, std::size_t size,
                                              std::size_t capacity, envelope_view& env,
                                              const list_sink& sink, list_summary& summary);
  double (*percent_complete)(void* parser, std::string_view details_raw, const char* buffer_end);
  std::error_code (*find_uint)(void* parser, std::string_view raw, const char* buffer_end,
                               std::string_view name, std::uint64_t& out);
};

}  // namespace pollster::detail
