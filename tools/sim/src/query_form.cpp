#include "query_form.hpp"

#include "model.hpp"  // append_escaped

namespace pollster::sim::detail {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding (hand-written: Beast has none
// and Boost.URL is not among the dependencies).
std::string decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool is_integer(std::string_view s) {
  std::size_t i = !s.empty() && s[0] == '-' ? 1 : 0;
  if (i == s.size() || s.size() - i > 19) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

void append_value(std::string& body, const std::string& v) {
  if (is_integer(v) || v == "true" || v == "false" || v == "null" ||
      (!v.empty() && (v.front() == '[' || v.front() == '{'))) {
    body.append(v);
    return;
  }
  body.push_back('"');
  append_escaped(body, v);
  body.push_back('"');
}

}  // namespace

void body_from_query(std::string_view query, std::string& body) {
  std::string method, id, params;
  bool has_method = false;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    std::string key = decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? std::string() : decode(pair.substr(eq + 1));
    if (key == "method") {
      method = std::move(value);
      has_method = true;
    } else if (key == "id") {
      id.clear();
      append_value(id, value);
    } else {
      if (!params.empty()) params.push_back(',');
      params.push_back('"');
      append_escaped(params, key);
      params.append("\":");
      append_value(params, value);
    }
  }
  body.clear();  // not assign("{"): GCC 12 warns falsely (-Wrestrict)
  body.push_back('{');
  if (has_method) {
    body.append("\"method\":\"");
    append_escaped(body, method);
    body.append("\",");
  }
  body.append("\"params\":{").append(params).push_back('}');
  if (!id.empty()) body.append(",\"id\":").append(id);
  body.push_back('}');
}

}  // namespace pollster::sim::detail
