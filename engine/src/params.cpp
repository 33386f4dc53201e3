#include "pollster/params.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace pollster {

void params::append_quoted(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += esc;
        } else {
          out += c;  // UTF-8 passes through as sent
        }
    }
  }
  out += '"';
}

void params::key(std::string_view k) {
  body_ += body_.empty() ? "" : ",";
  append_quoted(body_, k);
  body_ += ':';
}

params& params::add(std::string_view k, std::string_view value) {
  key(k);
  append_quoted(body_, value);
  return *this;
}

namespace {
template <class T>
void append_number(std::string& out, T v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}
}  // namespace

params& params::add(std::string_view k, std::int64_t value) {
  key(k);
  append_number(body_, value);
  return *this;
}

params& params::add(std::string_view k, std::uint64_t value) {
  key(k);
  append_number(body_, value);
  return *this;
}

params& params::add(std::string_view k, double value) {
  key(k);
  if (std::isfinite(value))
    append_number(body_, value);  // shortest form that reads back exactly
  else
    body_ += "null";
  return *this;
}

params& params::add(std::string_view k, bool value) {
  key(k);
  body_ += value ? "true" : "false";
  return *this;
}

params& params::add(std::string_view k, std::initializer_list<std::string_view> values) {
  key(k);
  body_ += '[';
  bool first = true;
  for (auto v : values) {
    if (!first) body_ += ',';
    first = false;
    append_quoted(body_, v);
  }
  body_ += ']';
  return *this;
}

params& params::add_null(std::string_view k) {
  key(k);
  body_ += "null";
  return *this;
}

params& params::add_json(std::string_view k, std::string_view json) {
  key(k);
  body_ += json;
  return *this;
}

std::string params::str() const { return "{" + body_ + "}"; }

}  // namespace pollster
