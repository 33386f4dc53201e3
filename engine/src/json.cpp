// pollster::json accessors. Not on the hot path (a caller reads a result
// once), so they use simdjson's DOM API: it lives in libsimdjson, which picks
// its SIMD kernel at run time, and this file needs no -march flags.
#include "pollster/json.hpp"

#include <simdjson.h>

namespace pollster::json {

namespace {
namespace dom = simdjson::dom;

// Finds `key` at the top level of `object` and hands its value to `read`.
template <class T, class Read>
std::optional<T> with_member(std::string_view object, std::string_view key, Read read) {
  thread_local dom::parser parser;
  dom::element doc;
  if (parser.parse(object.data(), object.size()).get(doc)) return std::nullopt;
  dom::object o;
  if (doc.get_object().get(o)) return std::nullopt;
  dom::element v;
  if (o.at_key(key).get(v)) return std::nullopt;
  return read(v);
}

template <class T>
std::optional<T> as(dom::element v) {
  T x;
  if (v.get(x)) return std::nullopt;
  return x;
}
}  // namespace

std::optional<std::int64_t> get_int(std::string_view object, std::string_view key) {
  return with_member<std::int64_t>(object, key, as<std::int64_t>);
}

std::optional<std::uint64_t> get_uint(std::string_view object, std::string_view key) {
  return with_member<std::uint64_t>(object, key, as<std::uint64_t>);
}

std::optional<double> get_double(std::string_view object, std::string_view key) {
  return with_member<double>(object, key, as<double>);
}

std::optional<bool> get_bool(std::string_view object, std::string_view key) {
  return with_member<bool>(object, key, as<bool>);
}

std::optional<std::string> get_string(std::string_view object, std::string_view key) {
  return with_member<std::string>(object, key, [](dom::element v) -> std::optional<std::string> {
    std::string_view x;
    if (v.get(x)) return std::nullopt;
    return std::string(x);
  });
}

std::optional<std::string> get_raw(std::string_view object, std::string_view key) {
  return with_member<std::string>(object, key,
                                  [](dom::element v) { return simdjson::minify(v); });
}

}  // namespace pollster::json
