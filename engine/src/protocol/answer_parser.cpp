// The only engine translation unit that includes simdjson: it is compiled with
// POLLSTER_SIMD_FLAGS so the on-demand front end uses SIMD (see CMakeLists).
#include "protocol/answer_parser.hpp"

#include <simdjson.h>

#include <charconv>

#include "pollster/error.hpp"
#include "protocol/padded_buffer.hpp"

namespace od = simdjson::ondemand;

namespace pollster::detail {

static_assert(padded_buffer::padding >= simdjson::SIMDJSON_PADDING);

struct answer_parser::impl {
  od::parser parser;
};

answer_parser::answer_parser() : impl_(std::make_unique<impl>()) {
  // simdjson sizes its buffers to the largest document seen so far, so
  // answers that grow by a digit would reallocate now and then. Start large
  // enough for any GetAsyncResult answer; only a huge list grows it again.
  if (impl_->parser.allocate(64 * 1024) != simdjson::SUCCESS) {
    // Out of memory here surfaces again, as an error, at the first parse.
  }
}
answer_parser::~answer_parser() = default;

#define POLLSTER_STR2(x) #x
#define POLLSTER_STR(x) POLLSTER_STR2(x)

std::string_view answer_parser::implementation() noexcept {
  // The on-demand code compiled into this file: simdjson::builtin_implementation()
  // would answer for the shared library's own build instead (Debian's: fallback).
  return POLLSTER_STR(SIMDJSON_BUILTIN_IMPLEMENTATION);
}
std::string_view answer_parser::library() noexcept { return "simdjson " POLLSTER_STR(SIMDJSON_VERSION); }

namespace {

std::error_code bad_json() { return make_error_code(error::malformed_json); }
std::error_code bad_shape() { return make_error_code(error::unexpected_answer); }

void trim_trailing_space(std::string_view& s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
}

// Walks a whole value so that every byte of it is checked: on-demand parsing
// only validates what it visits, and raw_json() skips over containers.
// Recursive, so the depth is bounded: an answer nested deeper than
// answer_parser::max_nesting is refused (malformed_json) rather than allowed
// to exhaust the caller's stack (the API's deepest answers nest about 6 deep).
simdjson::error_code walk(od::value v, std::size_t depth = 0) {
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  const bool container = type == od::json_type::object || type == od::json_type::array;
  if (container && depth >= answer_parser::max_nesting) return simdjson::DEPTH_ERROR;
  switch (type) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o)) return e;
      for (auto fr : o) {
        od::field f;
        if (auto e = std::move(fr).get(f)) return e;
        std::string_view key;
        if (auto e = f.unescaped_key().get(key)) return e;
        if (auto e = walk(f.value(), depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a)) return e;
      for (auto er : a) {
        od::value item;
        if (auto e = std::move(er).get(item)) return e;
        if (auto e = walk(item, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: { std::string_view s; return v.get_string().get(s); }
    case od::json_type::number: { double d; return v.get_double().get(d); }
    case od::json_type::boolean: { bool b; return v.get_bool().get(b); }
    case od::json_type::null: {
      bool n;
      if (auto e = v.is_null().get(n)) return e;
      return n ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

// A value's text as sent, without the whitespace after it. Containers are not
// validated here (parse_envelope walks the whole document first).
simdjson::error_code raw_of(od::value v, std::string_view& out) {
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type == od::json_type::object) {
    od::object o;
    if (auto e = v.get_object().get(o)) return e;
    if (auto e = o.raw_json().get(out)) return e;
    trim_trailing_space(out);
    return simdjson::SUCCESS;
  }
  if (type == od::json_type::array) {
    od::array a;
    if (auto e = v.get_array().get(a)) return e;
    if (auto e = a.raw_json().get(out)) return e;
    trim_trailing_space(out);
    return simdjson::SUCCESS;
  }
  out = v.raw_json_token();
  trim_trailing_space(out);
  // Scalars must still be validated: raw_json_token does not look inside.
  switch (type) {
    case od::json_type::string: { std::string_view s; return v.get_string().get(s); }
    case od::json_type::number: { double d; return v.get_double().get(d); }
    case od::json_type::boolean: { bool b; return v.get_bool().get(b); }
    case od::json_type::null: { bool n; if (auto e = v.is_null().get(n)) return e;
                                return n ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE; }
    default: return simdjson::INCORRECT_TYPE;
  }
}

// The contents of a string token without its quotes (escapes left as sent).
simdjson::error_code raw_string(od::value v, std::string_view& out) {
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type != od::json_type::string) return simdjson::INCORRECT_TYPE;
  std::string_view tok = v.raw_json_token();
  std::string_view check;
  if (auto e = v.get_string().get(check)) return e;
  const auto close = tok.rfind('"');
  if (tok.size() < 2 || tok.front() != '"' || close == 0) return simdjson::TAPE_ERROR;
  out = tok.substr(1, close - 1);
  return simdjson::SUCCESS;
}

bool is_key(od::field& f, std::string_view k) {
  // Keys are compared unescaped-raw: the API never escapes its member names.
  return f.key() == k;
}

std::size_t capacity_from(const char* p, const char* buffer_end) {
  return static_cast<std::size_t>(buffer_end - p);
}

}  // namespace

std::error_code answer_parser::parse_envelope(const char* data, std::size_t size,
                                              std::size_t capacity, envelope_view& out) {
  out = {};
  od::document doc;
  {
    // First pass: the whole answer must be valid JSON, byte for byte, since
    // raw members are handed on as sent. A second pass then extracts.
    if (impl_->parser.iterate(data, size, capacity).get(doc)) return bad_json();
    od::value root;
    if (doc.get_value().get(root)) return bad_json();
    if (walk(root)) return bad_json();
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return bad_json();
  }
  if (impl_->parser.iterate(data, size, capacity).get(doc)) return bad_json();
  od::object top;
  if (doc.get_object().get(top)) return bad_json();
  bool have_result = false, have_error = false;
  std::string_view error_raw;
  for (auto field_result : top) {
    od::field field;
    if (std::move(field_result).get(field)) return bad_json();
    if (is_key(field, "result")) {
      if (raw_of(field.value(), out.result_raw)) return bad_json();
      have_result = true;
    } else if (is_key(field, "id")) {
      // Integer, string or null: only a number we can compare is kept.
      od::json_type t;
      if (field.value().type().get(t)) return bad_json();
      if (t == od::json_type::number) {
        std::uint64_t id;
        if (field.value().get_uint64().get(id) == simdjson::SUCCESS) {
          out.has_id = true;
          out.id = id;
        }
      } else if (t == od::json_type::string) {
        std::string_view s;
        if (field.value().get_string().get(s)) return bad_json();
        std::uint64_t id = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
        if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) {
          out.has_id = true;
          out.id = id;
        }
      } else {
        std::string_view ignored;
        if (raw_of(field.value(), ignored)) return bad_json();
      }
    } else if (is_key(field, "error")) {
      od::json_type t;
      if (field.value().type().get(t)) return bad_json();
      if (t == od::json_type::null) {  // {"result":..., "error":null} is seen in the wild
        if (field.value().is_null().error()) return bad_json();
        continue;
      }
      if (t != od::json_type::object) return bad_shape();
      if (raw_of(field.value(), error_raw)) return bad_json();
      have_error = true;
    } else {
      // id, unusedParameters, jsonrpc...: skipped, but still validated.
      std::string_view ignored;
      if (raw_of(field.value(), ignored)) return bad_json();
    }
  }
  // Trailing bytes after the top-level object are not JSON-RPC.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return bad_json();
  if (have_error) {
    out.is_error = true;
    out.error.raw = error_raw;
    const char* end = data + capacity;
    od::document edoc;
    if (impl_->parser.iterate(error_raw.data(), error_raw.size(), capacity_from(error_raw.data(), end))
            .get(edoc))
      return bad_json();
    od::object eo;
    if (edoc.get_object().get(eo)) return bad_json();
    for (auto fr : eo) {
      od::field f;
      if (std::move(fr).get(f)) return bad_json();
      if (is_key(f, "code")) {
        int64_t code;
        if (f.value().get_int64().get(code)) return bad_shape();
        out.error.code = code;
      } else if (is_key(f, "name")) {
        if (f.value().get_string().get(out.error.name)) return bad_shape();
      } else if (is_key(f, "message")) {
        if (f.value().get_string().get(out.error.message)) return bad_shape();
      } else {
        std::string_view ignored;
        if (raw_of(f.value(), ignored)) return bad_json();
      }
    }
    if (out.error.name.empty()) return bad_shape();
    return {};
  }
  if (!have_result) return bad_shape();
  return {};
}

std::error_code answer_parser::parse_async_result(std::string_view raw, const char* buffer_end,
                                                  async_result_view& out) {
  out = {};
  out.raw = raw;
  od::document doc;
  if (impl_->parser.iterate(raw.data(), raw.size(), capacity_from(raw.data(), buffer_end))
          .get(doc))
    return bad_json();
  od::object o;
  if (doc.get_object().get(o)) return bad_shape();
  std::string_view status;
  bool have_status = false;
  for (auto fr : o) {
    od::field f;
    if (std::move(fr).get(f)) return bad_json();
    auto v = f.value();
    auto err = simdjson::SUCCESS;
    if (is_key(f, "status")) {
      err = raw_string(v, status);
      have_status = true;
    } else if (is_key(f, "resultType")) {
      err = raw_string(v, out.result_type);
    } else if (is_key(f, "createTime")) {
      err = raw_string(v, out.create_time);
    } else if (is_key(f, "lastUpdateTime")) {
      err = raw_string(v, out.last_update_time);
    } else if (is_key(f, "result")) {
      err = raw_of(v, out.result_raw);
      out.has_result = true;
    } else if (is_key(f, "error")) {
      od::json_type t;
      err = v.type().get(t);
      if (!err && t == od::json_type::null) {
        err = v.is_null().error();
      } else if (!err) {
        err = raw_of(v, out.error_raw);
        out.has_error = true;
      }
    } else if (is_key(f, "details")) {
      err = raw_of(v, out.details_raw);
    } else {
      std::string_view ignored;
      err = raw_of(v, ignored);
    }
    if (err == simdjson::INCORRECT_TYPE) return bad_shape();
    if (err) return bad_json();
  }
  if (!have_status) return bad_shape();
  if (status == "running") {
    out.complete = false;
  } else if (status == "complete") {
    out.complete = true;
    if (!out.has_result && !out.has_error) return bad_shape();
  } else {
    return bad_shape();
  }
  if (out.has_error) {
    // The task's error: name and message readable, best effort (the raw
    // object is what counts; a task error need not follow the method shape).
    od::document edoc;
    if (impl_->parser
            .iterate(out.error_raw.data(), out.error_raw.size(),
                     capacity_from(out.error_raw.data(), buffer_end))
            .get(edoc))
      return bad_json();
    od::object eo;
    if (edoc.get_object().get(eo) == simdjson::SUCCESS) {
      for (auto fr : eo) {
        od::field f;
        if (std::move(fr).get(f)) break;
        if (is_key(f, "name")) {
          if (f.value().get_string().get(out.error_name)) out.error_name = {};
        } else if (is_key(f, "message")) {
          if (f.value().get_string().get(out.error_message)) out.error_message = {};
        }
      }
    }
  }
  return {};
}

double answer_parser::percent_complete(std::string_view details_raw, const char* buffer_end) {
  if (details_raw.empty() || details_raw.front() != '{') return -1;
  od::document doc;
  if (impl_->parser
          .iterate(details_raw.data(), details_raw.size(),
                   capacity_from(details_raw.data(), buffer_end))
          .get(doc))
    return -1;
  double pct;
  if (doc.find_field_unordered("percentComplete").get_double().get(pct)) return -1;
  return pct;
}

std::error_code answer_parser::find_uint(std::string_view raw, const char* buffer_end,
                                         std::string_view name, std::uint64_t& out) {
  od::document doc;
  if (impl_->parser.iterate(raw.data(), raw.size(), capacity_from(raw.data(), buffer_end))
          .get(doc))
    return bad_json();
  if (doc.find_field_unordered(name).get_uint64().get(out)) return bad_shape();
  return {};
}

}  // namespace pollster::detail
