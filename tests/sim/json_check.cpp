#include "json_check.hpp"

#include <simdjson.h>

namespace simtest {

namespace {
bool parse(simdjson::dom::parser& p, std::string_view json, simdjson::dom::element& doc) {
  return !p.parse(simdjson::padded_string(json)).get(doc);
}
}  // namespace

bool valid_json(std::string_view json) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  return parse(p, json, doc);
}

std::optional<std::string> json_at(std::string_view json, std::string_view pointer) {
  simdjson::dom::parser p;
  simdjson::dom::element doc, el;
  if (!parse(p, json, doc)) return std::nullopt;
  if (doc.at_pointer(pointer).get(el)) return std::nullopt;
  return simdjson::to_string(el);
}

std::vector<std::string> json_keys(std::string_view json, std::string_view pointer) {
  std::vector<std::string> keys;
  simdjson::dom::parser p;
  simdjson::dom::element doc, el;
  if (!parse(p, json, doc) || doc.at_pointer(pointer).get(el)) return keys;
  simdjson::dom::object obj;
  if (el.get(obj)) return keys;
  for (auto field : obj) keys.emplace_back(field.key);
  return keys;
}

namespace {
bool sorted(simdjson::dom::element el) {
  simdjson::dom::object obj;
  simdjson::dom::array arr;
  if (!el.get(obj)) {
    std::string_view prev;
    bool first = true;
    for (auto field : obj) {
      if (!first && !(prev < field.key)) return false;
      first = false;
      prev = field.key;
      if (!sorted(field.value)) return false;
    }
  } else if (!el.get(arr)) {
    for (auto v : arr)
      if (!sorted(v)) return false;
  }
  return true;
}
}  // namespace

bool keys_sorted_everywhere(std::string_view json) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  return parse(p, json, doc) && sorted(doc);
}

bool is_compact(std::string_view json) {
  std::string copy(json);
  std::size_t n = 0;
  if (simdjson::minify(copy.data(), copy.size(), copy.data(), n)) return false;
  return std::string_view(copy.data(), n) == json;
}

long json_array_size(std::string_view json, std::string_view pointer) {
  simdjson::dom::parser p;
  simdjson::dom::element doc, el;
  if (!parse(p, json, doc) || doc.at_pointer(pointer).get(el)) return -1;
  simdjson::dom::array arr;
  if (el.get(arr)) return -1;
  return static_cast<long>(arr.size());
}

}  // namespace simtest
