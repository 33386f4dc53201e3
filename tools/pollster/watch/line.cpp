#include "watch/line.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <vector>

#include "common.hpp"
#include "pollster/error.hpp"
#include "pollster/tools/json_escape.hpp"

namespace pollster::cli::watch {

namespace {

constexpr std::string_view last_error_mark = "(last error: ";

std::string_view status_name(outcome_kind k) {
  switch (k) {
    case outcome_kind::timed_out: return "timeout";
    case outcome_kind::cancelled: return "cancelled";
    default: return "failed";
  }
}

// "asyncHandle" -> "serverAsyncHandle".
std::string server_prefixed(const std::string& name) {
  std::string out = "server" + name;
  out[6] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[6])));
  return out;
}

// Length of a key's escaped text, from just after its opening quote to its
// closing quote: simdjson 3.0's on-demand field exposes where the key starts
// (raw_json_string::raw()) but not how long its escaped form is.
std::size_t escaped_length(const char* key) {
  std::size_t i = 0;
  while (key[i] != '"') i += key[i] == '\\' ? 2 : 1;
  return i;
}

}  // namespace

// The engine validated these bytes (the minifier does not).
bool line_formatter::append_minified(std::string& out, std::string_view json) {
  // simdjson::minify may read SIMDJSON_PADDING bytes past the input's end.
  const simdjson::padded_string in(json);
  std::string minified(json.size(), '\0');
  std::size_t n = 0;
  if (simdjson::minify(in.data(), in.size(), minified.data(), n) != simdjson::SUCCESS) return false;
  minified.resize(n);
  out += minified;
  return true;
}

bool line_formatter::append_members(std::string& out, std::string_view object_json,
                                    bool has_cluster) {
  const simdjson::padded_string in(object_json);
  if (buffer_.size() < object_json.size()) buffer_ = simdjson::padded_string(object_json.size());
  std::size_t n = 0;
  if (simdjson::minify(in.data(), in.size(), buffer_.data(), n) != simdjson::SUCCESS) return false;
  const char* base = buffer_.data();
  simdjson::ondemand::document doc;
  if (parser_.iterate(simdjson::padded_string_view(base, n, buffer_.size() + simdjson::SIMDJSON_PADDING))
          .get(doc) != simdjson::SUCCESS)
    return false;
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return false;

  struct collision {
    std::size_t offset, length;  // of the key's escaped text, in the minified object
    std::string name;
  };
  std::set<std::string> names;
  std::vector<collision> collisions;
  for (auto member : obj) {
    simdjson::ondemand::field f;
    if (std::move(member).get(f) != simdjson::SUCCESS) return false;
    const char* raw = f.key().raw();
    std::string_view name;
    if (f.unescaped_key().get(name) != simdjson::SUCCESS) return false;
    names.emplace(name);
    if (name == "asyncHandle" || (has_cluster && name == "cluster"))
      collisions.push_back({static_cast<std::size_t>(raw - base), escaped_length(raw), std::string(name)});
  }

  // Copy the members (the text between the outer braces), renaming collisions.
  std::size_t at = 1;
  const std::size_t end = n - 1;
  for (const collision& c : collisions) {
    std::string renamed = server_prefixed(c.name);
    while (names.count(renamed)) renamed = server_prefixed(renamed);
    names.insert(renamed);
    out.append(base + at, c.offset - at);
    out += renamed;
    at = c.offset + c.length;
  }
  out.append(base + at, end - at);
  return true;
}

std::string line_formatter::format(const outcome& o, std::string_view cluster,
                                   std::string_view last_error) {
  std::string line = "{\"asyncHandle\":" + std::to_string(o.handle);
  if (!cluster.empty()) {
    line += ",\"cluster\":";
    tools::append_json_string(line, cluster);
  }
  if (o.completed()) {
    std::string members;
    if (append_members(members, o.raw_answer, !cluster.empty())) {
      if (!members.empty()) line += ',';
      line += members;
    } else {
      // The engine validated the answer, so this does not happen; if it
      // does, the bytes still reach the reader, as a string.
      line += ",\"status\":\"complete\",\"answer\":";
      tools::append_json_string(line, o.raw_answer);
    }
  } else if (o.kind == outcome_kind::gone) {
    line += ",\"status\":\"gone\",\"error\":";
    const method_error* said = o.method_error();
    if (!said || said->json.empty() || !append_minified(line, said->json)) line += "{}";
  } else {
    line += ",\"status\":\"";
    line += status_name(o.kind);
    line += "\",\"error\":{\"name\":";
    // The cluster's method error when it ended the wait; else pollster's own.
    const method_error* said = o.method_error();
    tools::append_json_string(line, said ? std::string_view(said->name) : error_name(o.ec));
    std::string message = o.message();
    const bool wants_last = o.kind == outcome_kind::timed_out || o.kind == outcome_kind::cancelled;
    if (wants_last && !last_error.empty() && message.find(last_error_mark) == std::string::npos) {
      message += ' ';
      message += last_error_mark;
      message += last_error;
      message += ')';
    }
    line += ",\"message\":";
    tools::append_json_string(line, message);
    if (said && said->code != 0) line += ",\"code\":" + std::to_string(said->code);
    line += '}';
  }
  line += "}\n";
  return line;
}

}  // namespace pollster::cli::watch
