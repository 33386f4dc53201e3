// Reads JSON-RPC answers in place with simdjson's on-demand parser. Every view
// handed out points into the caller's padded receive buffer, except the
// unescaped error name/message, which live in the parser until its next use.
// Nothing is copied and, once the parser has grown, nothing is allocated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <system_error>

namespace pollster::detail {

/// A JSON-RPC method error: {"code":500,"name":"x...","message":"..."}.
struct method_error_view {
  std::string_view raw;  ///< the whole error object
  long long code = 0;
  std::string_view name;
  std::string_view message;
};

/// The JSON-RPC envelope: either `result` (raw) or `error`.
struct envelope_view {
  bool is_error = false;
  std::string_view result_raw;
  method_error_view error;
  /// The JSON-RPC id, when it is a non-negative integer (the engine sends
  /// only those): has_id is false for a missing, null or string id.
  bool has_id = false;
  std::uint64_t id = 0;
};

/// GetAsyncResult's `result` object.
struct async_result_view {
  bool complete = false;  ///< status "complete" (else "running")
  std::string_view raw;   ///< the whole object, byte for byte
  std::string_view result_type, create_time, last_update_time;  ///< raw string contents
  bool has_result = false;
  std::string_view result_raw;  ///< the `result` member (complete, succeeded)
  bool has_error = false;
  std::string_view error_raw;   ///< the task's `error` member (complete, failed)
  std::string_view error_name, error_message;
  std::string_view details_raw;  ///< the `details` member (running), may be empty
};

/// One entry of ListAsyncResults' `asyncHandles`. Views into the receive
/// buffer, except error_name/error_message (unescaped into the parser, valid
/// during the entry() call only).
struct list_entry_view {
  std::uint64_t id = 0;    ///< asyncResultID
  bool completed = false;
  bool success = false;
  std::string_view raw;          ///< the whole entry
  std::string_view data_raw;     ///< `data`: the result, or the task's error
  std::string_view details_raw;  ///< `details` (running entries of some servers), may be empty
  std::string_view result_type, create_time, last_update_time;  ///< raw string contents
  std::string_view error_name, error_message;  ///< completed, !success: read from data
};

/// Who matches a list's entries to waits. Plain function pointers: the
/// kernels export nothing but their tables (json_kernel.hpp).
struct list_sink {
  void* ctx = nullptr;
  /// Whether the entry is someone's (a wait for `id`): only then is its
  /// data validated whole and entry() called. Must not parse.
  bool (*wants)(void* ctx, std::uint64_t id, bool completed) = nullptr;
  void (*entry)(void* ctx, const list_entry_view& e) = nullptr;
};

/// What a list answer held, beside the entries handed to the sink.
struct list_summary {
  std::size_t entries = 0;
};

// Compiled once per SIMD kernel (json_kernel.cpp): each copy of the class in
// its own namespace; elsewhere this is the dispatcher (json_dispatch.cpp).
#ifdef POLLSTER_JSON_KERNEL
inline namespace POLLSTER_JSON_KERNEL {
#endif
class answer_parser {
 public:
  /// Containers nested deeper than this make an answer malformed_json.
  static constexpr std::size_t max_nesting = 256;

  answer_parser();
  ~answer_parser();
  answer_parser(const answer_parser&) = delete;
  answer_parser& operator=(const answer_parser&) = delete;

  /// `data[0..size)` must be readable up to `capacity` (>= size + 64).
  /// The whole answer is validated; `result` is kept raw.
  std::error_code parse_envelope(const char* data, std::size_t size, std::size_t capacity,
                                 envelope_view& out);
  /// A GetAsyncResult answer in one pass: the envelope and, unless it is a
  /// method error, the result object. Same verdicts as parse_envelope then
  /// parse_async_result, for one scan instead of three (the engine's hot path).
  std::error_code parse_get_async_result(const char* data, std::size_t size,
                                         std::size_t capacity, envelope_view& env,
                                         async_result_view& out);
  /// Parses `raw` (a view from parse_envelope into the same buffer, which
  /// ends at `buffer_end`, padding included) as GetAsyncResult's result.
  std::error_code parse_async_result(std::string_view raw, const char* buffer_end,
                                     async_result_view& out);
  /// A ListAsyncResults answer in one pass, in place: the envelope, and each
  /// entry of result.asyncHandles offered to `sink` (no DOM, no copy, no
  /// allocation per entry). The structure of the whole answer is checked; an
  /// entry's `data` and `details` are validated byte by byte only when the
  /// sink wants the entry. The entries already handed over before an error
  /// are the caller's to discard: act only on a clean return.
  std::error_code parse_list_async_results(const char* data, std::size_t size,
                                           std::size_t capacity, envelope_view& env,
                                           const list_sink& sink, list_summary& summary);
  /// details.percentComplete of a running answer, or -1.
  double percent_complete(std::string_view details_raw, const char* buffer_end);
  /// ListAsyncResults / a start method: the integer member `name` of `raw`.
  std::error_code find_uint(std::string_view raw, const char* buffer_end, std::string_view name,
                            std::uint64_t& out);

  /// The simdjson implementation in use ("haswell", "westmere", ...).
  static std::string_view implementation() noexcept;
  /// "simdjson 3.0.1"
  static std::string_view library() noexcept;

 private:
  std::error_code parse_answer(const char* data, std::size_t size, std::size_t capacity,
                               envelope_view& out, async_result_view* result);
  struct impl;
  std::unique_ptr<impl> impl_;
};
#ifdef POLLSTER_JSON_KERNEL
}  // namespace POLLSTER_JSON_KERNEL
#endif

}  // namespace pollster::detail
