// One SIMD kernel of the answer parser: answer_parser.cpp compiled again,
// here, with one kernel's instruction set (-mavx2 ..., see
// cmake/json_kernels.cmake) and simdjson's on-demand front end for that
// kernel (SIMDJSON_BUILTIN_IMPLEMENTATION). The class lands in namespace
// pollster::detail::POLLSTER_JSON_KERNEL (answer_parser.hpp), and the build
// then makes every symbol of this object local but POLLSTER_JSON_KERNEL_ENTRY:
// the inline functions it instantiates (std::string, simdjson's) compiled
// with AVX2 can never be picked by the linker for code outside this kernel.
#if !defined(POLLSTER_JSON_KERNEL) || !defined(POLLSTER_JSON_KERNEL_ENTRY)
#error "built once per kernel by cmake/json_kernels.cmake"
#endif

// Included rather than compiled on its own: the parse path has one source,
// whatever the number of kernels it is built for.
#include "protocol/answer_parser.cpp"
#include "protocol/json_kernel.hpp"

namespace pollster::detail {
namespace {

using kernel_parser = POLLSTER_JSON_KERNEL::answer_parser;
kernel_parser& self(void* p) { return *static_cast<kernel_parser*>(p); }

}  // namespace

extern "C" const json_kernel POLLSTER_JSON_KERNEL_ENTRY;
extern "C" const json_kernel POLLSTER_JSON_KERNEL_ENTRY = {
    .name = [] () noexcept { return kernel_parser::implementation(); },
    .create = [] () -> void* { return new kernel_parser; },
    .destroy = [](void* p) noexcept { delete static_cast<kernel_parser*>(p); },
    .parse_envelope = [](void* p, const char* data, std::size_t size, std::size_t capacity,
                         envelope_view& out) { return self(p).parse_envelope(data, size, capacity, out); },
    .parse_get_async_result =
        [](void* p, const char* data, std::size_t size, std::size_t capacity, envelope_view& env,
           async_result_view& out) {
          return self(p).parse_get_async_result(data, size, capacity, env, out);
        },
    .parse_async_result = [](void* p, std::string_view raw, const char* buffer_end,
                             async_result_view& out) {
      return self(p).parse_async_result(raw, buffer_end, out);
    },
    .parse_list_async_results =
        [](void* p, const char* data, std::size_t size, std::size_t capacity, envelope_view& env,
           const list_sink& sink, list_summary& summary) {
          return self(p).parse_list_async_results(data, size, capacity, env, sink, summary);
        },
    .percent_complete = [](void* p, std::string_view details_raw, const char* buffer_end) {
      return self(p).percent_complete(details_raw, buffer_end);
    },
    .find_uint = [](void* p, std::string_view raw, const char* buffer_end, std::string_view name,
                    std::uint64_t& out) { return self(p).find_uint(raw, buffer_end, name, out); },
};

}  // namespace pollster::detail
