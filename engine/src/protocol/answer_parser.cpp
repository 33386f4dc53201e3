// The parse path, compiled once per SIMD kernel (json_kernel.cpp,
// cmake/json_kernels.cmake); json_dispatch.cpp picks one at start.
#include "protocol/answer_parser.hpp"

#include <simdjson.h>

#include <optional>

#include "pollster/error.hpp"
#include "protocol/padded_buffer.hpp"

namespace od = simdjson::ondemand;

namespace pollster::detail {

static_assert(padded_buffer::padding >= simdjson::SIMDJSON_PADDING);

struct answer_parser::impl {
  od::parser parser;
  // A list's wanted entries are validated on their own, while the list's
  // document is still being iterated by `parser`.
  od::parser entry_parser;
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

// Calls on_member(key, value) for each member of `o`, keys unescaped (which
// validates their escapes), stopping at the first error.
template <class OnMember>
simdjson::error_code each_member(od::object o, OnMember&& on_member) {
  for (auto fr : o) {
    od::field f;
    if (auto e = std::move(fr).get(f)) return e;
    std::string_view key;
    if (auto e = f.unescaped_key().get(key)) return e;
    if (auto e = on_member(key, f.value())) return e;
  }
  return simdjson::SUCCESS;
}

// A scalar validated: `v` is an od::value or a scalar od::document (whose
// get_value() refuses scalars at the root).
template <class Value>
simdjson::error_code walk_scalar(Value& v, od::json_type type) {
  switch (type) {
    case od::json_type::string: { std::string_view s; return v.get_string().get(s); }
    case od::json_type::number: { double d; return v.get_double().get(d); }
    case od::json_type::boolean: { bool b; return v.get_bool().get(b); }
    case od::json_type::null: {
      bool n;
      if (auto e = v.is_null().get(n)) return e;
      return n ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE;
    }
    default: return simdjson::INCORRECT_TYPE;
  }
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
      return each_member(o, [&](std::string_view, od::value m) { return walk(m, depth + 1); });
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
    default: return walk_scalar(v, type);
  }
}

// The contents of a string token without its quotes (escapes left as sent),
// the string validated.
simdjson::error_code raw_string(od::value v, std::string_view& out) {
  std::string_view tok = v.raw_json_token();
  std::string_view check;
  if (auto e = v.get_string().get(check)) return e;
  const auto close = tok.rfind('"');
  if (tok.size() < 2 || tok.front() != '"' || close == 0) return simdjson::TAPE_ERROR;
  out = tok.substr(1, close - 1);
  return simdjson::SUCCESS;
}


bool is(od::value& v, od::json_type want) {
  od::json_type t;
  return v.type().get(t) == simdjson::SUCCESS && t == want;
}

// One pass over an answer: every byte validated (walk) while the members the
// engine needs are picked out, and raw members sliced from the input by where
// the iterator stood before and after them. A wrong shape is remembered, not
// returned at once, so that invalid JSON later in the answer still counts as
// malformed: the verdict is the same as validating first and reading after,
// for a third of the scanning (docs/performance.md).
class reader {
 public:
  reader(od::document& doc, const char* doc_end) : doc_(doc), doc_end_(doc_end) {}

  // Validates `v` whole; `out` is its text as sent, without trailing space.
  simdjson::error_code raw(od::value v, std::size_t depth, std::string_view& out) {
    const char* start = v.raw_json_token().data();
    if (auto e = walk(v, depth)) return e;
    out = slice(start);
    return simdjson::SUCCESS;
  }
  simdjson::error_code skip(od::value v, std::size_t depth) {
    std::string_view ignored;
    return raw(v, depth, ignored);
  }
  // A member of the wrong type or value: noted, and the value still validated.
  simdjson::error_code wrong_shape(od::value v, std::size_t depth) {
    note_shape();
    return skip(v, depth);
  }
  void note_shape() {
    if (!shape_) shape_ = bad_shape();
  }
  std::error_code shape() const { return shape_; }

  // From `start` to where the iterator stands now, trailing space trimmed.
  std::string_view slice(const char* start) {
    const char* end = doc_end_;
    if (const char* p; doc_.current_location().get(p) == simdjson::SUCCESS) end = p;
    std::string_view out(start, static_cast<std::size_t>(end - start));
    trim_trailing_space(out);
    return out;
  }
  // The whole input read, with nothing after the top-level value.
  bool at_end() { return doc_.current_location().error() == simdjson::OUT_OF_BOUNDS; }

 private:
  od::document& doc_;
  const char* doc_end_;
  std::error_code shape_;
};

// A string member picked out raw; anything but a string is a wrong shape.
simdjson::error_code string_member(reader& r, od::value v, std::size_t depth,
                                   std::string_view& out) {
  if (!is(v, od::json_type::string)) return r.wrong_shape(v, depth);
  return raw_string(v, out);
}

// A string member unescaped (into the parser); anything else leaves `out` empty.
simdjson::error_code unescaped_member(reader& r, od::value v, std::size_t depth,
                                      std::string_view& out) {
  if (!is(v, od::json_type::string)) return r.skip(v, depth);
  return v.get_string().get(out);
}

// The task's error inside a complete result: name and message readable, best
// effort (the raw object is what counts; a task error need not follow the
// method error's shape).
simdjson::error_code read_task_error(reader& r, od::value v, std::size_t depth,
                                     async_result_view& out) {
  const char* start = v.raw_json_token().data();
  od::object o;
  if (auto e = v.get_object().get(o)) return e;
  const std::size_t in = depth + 1;
  auto e = each_member(o, [&](std::string_view key, od::value m) {
    if (key == "name") return unescaped_member(r, m, in, out.error_name);
    if (key == "message") return unescaped_member(r, m, in, out.error_message);
    return r.skip(m, in);
  });
  out.has_error = true;
  out.error_raw = r.slice(start);
  return e;
}

// GetAsyncResult's `result` object, at `depth`.
simdjson::error_code read_async_result(reader& r, od::value v, std::size_t depth,
                                       async_result_view& out) {
  const char* start = v.raw_json_token().data();
  if (!is(v, od::json_type::object)) {
    if (auto e = r.wrong_shape(v, depth)) return e;
    out.raw = r.slice(start);
    return simdjson::SUCCESS;
  }
  od::object o;
  if (auto e = v.get_object().get(o)) return e;
  std::string_view status;
  bool have_status = false;
  const std::size_t in = depth + 1;
  // A member that decides the outcome twice (status, result, error), or
  // both a result and an error: which one is the server's? Refused as at
  // the top level, not guessed (last one wins would be a guess).
  auto once = [&](bool& seen) {
    if (seen) r.note_shape();
    seen = true;
  };
  bool seen_result = false, seen_error = false;
  auto e = each_member(o, [&](std::string_view key, od::value m) {
    if (key == "status") {
      once(have_status);
      return string_member(r, m, in, status);
    }
    if (key == "resultType") return string_member(r, m, in, out.result_type);
    if (key == "createTime") return string_member(r, m, in, out.create_time);
    if (key == "lastUpdateTime") return string_member(r, m, in, out.last_update_time);
    if (key == "result") {
      once(seen_result);
      out.has_result = true;
      return r.raw(m, in, out.result_raw);
    }
    if (key == "error" && is(m, od::json_type::null)) return r.skip(m, in);
    if (key == "error") once(seen_error);
    if (key == "error" && is(m, od::json_type::object)) return read_task_error(r, m, in, out);
    if (key == "error") {
      out.has_error = true;
      return r.raw(m, in, out.error_raw);
    }
    if (key == "details") return r.raw(m, in, out.details_raw);
    return r.skip(m, in);
  });
  if (e) return e;
  out.raw = r.slice(start);
  if (status == "running" && have_status) {
    out.complete = false;
  } else if (status == "complete" && have_status) {
    out.complete = true;
    if (out.has_result == out.has_error) r.note_shape();  // neither, or both
  } else {
    r.note_shape();
  }
  return simdjson::SUCCESS;
}

// The JSON-RPC method error object ({"code":..., "name":..., "message":...}).
simdjson::error_code read_method_error(reader& r, od::value v, std::size_t depth,
                                       method_error_view& out) {
  const char* start = v.raw_json_token().data();
  od::object o;
  if (auto e = v.get_object().get(o)) return e;
  const std::size_t in = depth + 1;
  auto e = each_member(o, [&](std::string_view key, od::value m) {
    if (key == "code") {
      std::int64_t code;
      if (m.get_int64().get(code) != simdjson::SUCCESS) return r.wrong_shape(m, in);
      out.code = code;
      return simdjson::SUCCESS;
    }
    if (key == "name" || key == "message") {
      if (!is(m, od::json_type::string)) return r.wrong_shape(m, in);
      return m.get_string().get(key == "name" ? out.name : out.message);
    }
    return r.skip(m, in);
  });
  if (e) return e;
  out.raw = r.slice(start);
  if (out.name.empty()) r.note_shape();
  return simdjson::SUCCESS;
}

std::size_t capacity_from(const char* p, const char* buffer_end) {
  return static_cast<std::size_t>(buffer_end - p);
}

// The envelope's `error` and `id` members, shared by every answer's reader:
// a second one of either is refused (which answer would it be?), not guessed.
struct envelope_seen {
  bool error = false, id = false;
};
simdjson::error_code envelope_member(reader& r, std::string_view key, od::value v,
                                     envelope_view& out, envelope_seen& seen) {
  // {"result":..., "error":null} is seen in the wild.
  if (key == "error" && is(v, od::json_type::null)) return r.skip(v, 1);
  if (key == "error" && is(v, od::json_type::object)) {
    if (seen.error) r.note_shape();
    seen.error = true;
    out.error = {};
    return read_method_error(r, v, 1, out.error);
  }
  if (key == "error") return r.wrong_shape(v, 1);
  if (key == "id") {
    if (seen.id) r.note_shape();
    seen.id = true;
    // An integer id parses (and so is validated) cheaper than walk's double.
    if (v.get_uint64().get(out.id) == simdjson::SUCCESS) {
      out.has_id = true;
      return simdjson::SUCCESS;
    }
    out.has_id = false;
    return r.skip(v, 1);  // null, a string...: no id the engine sent
  }
  // unusedParameters, jsonrpc...: skipped, but still validated.
  return r.skip(v, 1);
}

// How the walk of an answer's top level ends, for every answer's reader:
// malformed JSON, then trailing bytes after the object (not JSON-RPC), then a
// refused shape; a method error is an answer (is_error), not a failure.
// nullopt when none of these decides: the caller's own checks follow.
std::optional<std::error_code> envelope_end(simdjson::error_code walk, reader& r,
                                            const envelope_seen& seen, envelope_view& out) {
  if (walk) return bad_json();
  if (!r.at_end()) return bad_json();
  if (r.shape()) return r.shape();
  if (seen.error) {
    out.is_error = true;
    return std::error_code{};
  }
  return std::nullopt;
}

// A value's text as sent, skipped over: containers are matched bracket by
// bracket (simdjson's stage 1 has validated the structure and UTF-8), their
// scalars are not validated. For the entries of a list nobody waits for.
simdjson::error_code raw_skip(od::value v, std::string_view& out) {
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type == od::json_type::object) {
    od::object o;
    if (auto e = v.get_object().get(o)) return e;
    return o.raw_json().get(out);
  }
  if (type == od::json_type::array) {
    od::array a;
    if (auto e = v.get_array().get(a)) return e;
    return a.raw_json().get(out);
  }
  out = v.raw_json_token();
  trim_trailing_space(out);
  return simdjson::SUCCESS;
}


// A wanted entry's `data` (or `details`), validated whole on its own
// parser; a task error's name and message are read on the way.
simdjson::error_code check_entry_member(od::parser& p, std::string_view raw, const char* buffer_end,
                                        bool task_error, list_entry_view& e) {
  od::document doc;
  if (auto er = p.iterate(raw.data(), raw.size(), static_cast<std::size_t>(buffer_end - raw.data()))
                    .get(doc))
    return er;
  od::json_type type;
  if (auto er = doc.type().get(type)) return er;
  simdjson::error_code er = simdjson::SUCCESS;
  if (type == od::json_type::object && task_error) {
    od::object o;
    if ((er = doc.get_object().get(o))) return er;
    er = each_member(o, [&](std::string_view key, od::value m) -> simdjson::error_code {
      if ((key == "name" || key == "message") && is(m, od::json_type::string))
        return m.get_string().get(key == "name" ? e.error_name : e.error_message);
      return walk(m, 2);
    });
  } else if (type == od::json_type::object || type == od::json_type::array) {
    od::value root;
    if ((er = doc.get_value().get(root))) return er;
    er = walk(root, 1);
  } else {
    er = walk_scalar(doc, type);
  }
  if (er) return er;
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS ? simdjson::SUCCESS
                                                                    : simdjson::TAPE_ERROR;
}

// The members of a list entry the engine reads.
enum class entry_member { other, id, completed, success, data, details, result_type, create_time, last_update_time };

entry_member entry_member_named(std::string_view k) noexcept {
  switch (k.size()) {
    case 4: return k == "data" ? entry_member::data : entry_member::other;
    case 7: return k == "success" ? entry_member::success : k == "details" ? entry_member::details : entry_member::other;
    case 9: return k == "completed" ? entry_member::completed : entry_member::other;
    case 10: return k == "resultType" ? entry_member::result_type : k == "createTime" ? entry_member::create_time : entry_member::other;
    case 13: return k == "asyncResultID" ? entry_member::id : entry_member::other;
    case 14: return k == "lastUpdateTime" ? entry_member::last_update_time : entry_member::other;
    default: return entry_member::other;
  }
}

// Which member a key names, told from its raw bytes: unescaped_key() copies
// every key of every entry into the string buffer, and most of a long list's
// entries are nobody's (bench: ListAsyncResults). A key holding an escape is
// unescaped, which validates it, and may still spell a name.
simdjson::error_code member_of(od::field& f, entry_member& out) {
  const char* k = f.key().raw();
  for (std::size_t n = 0;; ++n) {
    if (k[n] == '"') {
      out = entry_member_named({k, n});
      return simdjson::SUCCESS;
    }
    if (k[n] == '\\') {
      std::string_view u;
      if (auto e = f.unescaped_key().get(u)) return e;
      out = entry_member_named(u);
      return simdjson::SUCCESS;
    }
  }
}

// A string's contents as sent, between its quotes, not yet validated: the
// entry may be nobody's. Stage 1 has checked its UTF-8 and found its end.
std::string_view raw_text(od::value v) {
  std::string_view tok = v.raw_json_token();
  trim_trailing_space(tok);
  return tok.size() >= 2 ? tok.substr(1, tok.size() - 2) : std::string_view{};
}

// A wanted entry's string, validated: without a backslash there is nothing
// stage 1 has not checked; with one, its escapes are read on `p`.
bool text_valid(od::parser& p, std::string_view text, const char* buffer_end) {
  if (text.find('\\') == std::string_view::npos) return true;
  const char* open = text.data() - 1;
  od::document doc;
  std::string_view out;
  return p.iterate(open, text.size() + 2, static_cast<std::size_t>(buffer_end - open)).get(doc) ==
             simdjson::SUCCESS &&
         doc.get_string().get(out) == simdjson::SUCCESS;
}

// One entry of asyncHandles. An entry without an integer asyncResultID, a
// boolean `completed` (and, completed, a boolean `success`) is nobody's: a
// wait whose entry cannot be read finds itself absent, and is confirmed per
// handle (never guessed). Its strings are validated only when it is wanted.
simdjson::error_code read_list_entry(reader& r, od::parser& entry_parser, od::value v,
                                     const char* buffer_end, const list_sink& sink) {
  const char* start = v.raw_json_token().data();
  if (!is(v, od::json_type::object)) {
    std::string_view ignored;
    return raw_skip(v, ignored);
  }
  od::object o;
  if (auto e = v.get_object().get(o)) return e;
  list_entry_view e;
  bool have_id = false, have_completed = false, have_success = false, readable = true;
  bool have_data = false, have_details = false;
  // A member that decides the entry twice: which one is the server's? The
  // entry is unreadable (confirmed per handle), as at the other levels.
  auto once = [&readable](bool& seen) {
    if (seen) readable = false;
    seen = true;
  };
  auto member = [&](entry_member which, od::value m) -> simdjson::error_code {
    std::string_view ignored;
    switch (which) {
      case entry_member::id:
        if (have_id) readable = false;
        if (m.get_uint64().get(e.id) == simdjson::SUCCESS) return have_id = true, simdjson::SUCCESS;
        readable = false;
        return raw_skip(m, ignored);
      case entry_member::completed:
      case entry_member::success: {
        const bool is_completed = which == entry_member::completed;
        if (is_completed ? have_completed : have_success) readable = false;
        bool b;
        if (m.get_bool().get(b) != simdjson::SUCCESS) {
          readable = false;
          return raw_skip(m, ignored);
        }
        (is_completed ? (have_completed = true, e.completed) : (have_success = true, e.success)) = b;
        return simdjson::SUCCESS;
      }
      case entry_member::data: return once(have_data), raw_skip(m, e.data_raw);
      case entry_member::details: return once(have_details), raw_skip(m, e.details_raw);
      case entry_member::result_type:
      case entry_member::create_time:
      case entry_member::last_update_time: {
        if (!is(m, od::json_type::string)) return readable = false, raw_skip(m, ignored);
        (which == entry_member::result_type   ? e.result_type
         : which == entry_member::create_time ? e.create_time
                                              : e.last_update_time) = raw_text(m);
        return simdjson::SUCCESS;
      }
      case entry_member::other: break;
    }
    return raw_skip(m, ignored);
  };
  for (auto fr : o) {
    od::field f;
    if (auto er = std::move(fr).get(f)) return er;
    entry_member which;
    if (auto er = member_of(f, which)) return er;
    if (auto er = member(which, f.value())) return er;
  }
  e.raw = r.slice(start);
  if (!readable || !have_id || !have_completed || (e.completed && !have_success)) return simdjson::SUCCESS;
  if (!sink.wants(sink.ctx, e.id, e.completed)) return simdjson::SUCCESS;
  // A wanted entry's strings with an escape that does not read: unreadable,
  // so its wait is confirmed per handle, as with any entry that cannot be read.
  for (std::string_view text : {e.result_type, e.create_time, e.last_update_time})
    if (!text_valid(entry_parser, text, buffer_end)) return simdjson::SUCCESS;
  // details first, data last: the task error's name and message, unescaped
  // into entry_parser, must outlive every other use of it until entry().
  // A wanted entry whose data or details do not validate is not the whole
  // list's failure: a completed one is handed over without data (its wait
  // is then confirmed per handle), a running one not at all.
  if (!e.details_raw.empty() &&
      check_entry_member(entry_parser, e.details_raw, buffer_end, false, e) != simdjson::SUCCESS) {
    if (!e.completed) return simdjson::SUCCESS;
    e.details_raw = {};
  }
  if (!e.data_raw.empty() &&
      check_entry_member(entry_parser, e.data_raw, buffer_end, e.completed && !e.success, e) !=
          simdjson::SUCCESS) {
    if (!e.completed) return simdjson::SUCCESS;
    e.data_raw = {};
    e.error_name = e.error_message = {};
  }
  sink.entry(sink.ctx, e);
  return simdjson::SUCCESS;
}

}  // namespace

std::error_code answer_parser::parse_list_async_results(const char* data, std::size_t size,
                                                        std::size_t capacity, envelope_view& out,
                                                        const list_sink& sink,
                                                        list_summary& summary) {
  out = {};
  summary = {};
  od::document doc;
  if (impl_->parser.iterate(data, size, capacity).get(doc)) return bad_json();
  reader r(doc, data + size);
  const char* buffer_end = data + capacity;
  od::object top;
  if (doc.get_object().get(top)) return bad_json();
  bool have_result = false, have_list = false;
  envelope_seen seen;
  auto e = each_member(top, [&](std::string_view key, od::value v) -> simdjson::error_code {
    if (key == "result") {
      if (have_result) r.note_shape();
      have_result = true;
      const char* start = v.raw_json_token().data();
      if (!is(v, od::json_type::object)) return r.wrong_shape(v, 1);
      od::object res;
      if (auto er = v.get_object().get(res)) return er;
      auto er = each_member(res, [&](std::string_view k, od::value m) -> simdjson::error_code {
        if (k != "asyncHandles") return r.skip(m, 2);
        if (have_list) r.note_shape();
        have_list = true;
        if (!is(m, od::json_type::array)) return r.wrong_shape(m, 2);
        od::array entries;
        if (auto ae = m.get_array().get(entries)) return ae;
        for (auto item : entries) {
          od::value entry;
          if (auto ie = std::move(item).get(entry)) return ie;
          ++summary.entries;
          if (auto ie = read_list_entry(r, impl_->entry_parser, entry, buffer_end, sink)) return ie;
        }
        return simdjson::SUCCESS;
      });
      out.result_raw = r.slice(start);
      return er;
    }
    return envelope_member(r, key, v, out, seen);
  });
  if (auto end = envelope_end(e, r, seen, out)) return *end;
  if (!have_result || !have_list) return bad_shape();
  return {};
}

std::error_code answer_parser::parse_answer(const char* data, std::size_t size,
                                            std::size_t capacity, envelope_view& out,
                                            async_result_view* result) {
  out = {};
  od::document doc;
  if (impl_->parser.iterate(data, size, capacity).get(doc)) return bad_json();
  reader r(doc, data + size);
  od::object top;
  if (doc.get_object().get(top)) return bad_json();
  bool have_result = false;
  envelope_seen seen;
  // The result object's own shape counts only if the answer is not an error.
  std::error_code result_shape;
  auto e = each_member(top, [&](std::string_view key, od::value v) {
    if (key == "result") {
      // Two `result` members: which is the server's? Refused, not guessed.
      if (have_result) r.note_shape();
      have_result = true;
      if (!result) return r.raw(v, 1, out.result_raw);
      *result = {};
      reader inner(doc, data + size);  // its shape noted apart: see result_shape
      auto re = read_async_result(inner, v, 1, *result);
      result_shape = inner.shape();
      out.result_raw = result->raw;
      return re;
    }
    return envelope_member(r, key, v, out, seen);
  });
  if (auto end = envelope_end(e, r, seen, out)) return *end;
  if (!have_result) return bad_shape();
  return result_shape;
}

std::error_code answer_parser::parse_envelope(const char* data, std::size_t size,
                                              std::size_t capacity, envelope_view& out) {
  return parse_answer(data, size, capacity, out, nullptr);
}

std::error_code answer_parser::parse_get_async_result(const char* data, std::size_t size,
                                                      std::size_t capacity, envelope_view& env,
                                                      async_result_view& out) {
  out = {};
  return parse_answer(data, size, capacity, env, &out);
}

std::error_code answer_parser::parse_async_result(std::string_view raw, const char* buffer_end,
                                                  async_result_view& out) {
  out = {};
  od::document doc;
  if (impl_->parser.iterate(raw.data(), raw.size(), capacity_from(raw.data(), buffer_end))
          .get(doc))
    return bad_json();
  reader r(doc, raw.data() + raw.size());
  // `raw` comes from parse_envelope, validated: anything but an object is
  // the wrong shape (and get_value() refuses a scalar document).
  od::json_type type;
  if (doc.type().get(type)) return bad_json();
  if (type != od::json_type::object) return bad_shape();
  od::value root;
  if (doc.get_value().get(root)) return bad_json();
  if (read_async_result(r, root, 0, out)) return bad_json();
  if (!r.at_end()) return bad_json();
  return r.shape();
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
