#include "report_format.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common.hpp"
#include "pollster/version.hpp"

namespace pollster::cli {

// ---------------------------------------------------------------- JSON value

const json_value* json_value::find(std::string_view key) const {
  if (kind != type::object) return nullptr;
  for (const auto& [k, v] : members)
    if (k == key) return &v;
  return nullptr;
}

double json_value::as_double() const {
  if (kind != type::number) return 0;
  double d = 0;
  std::from_chars(text.data(), text.data() + text.size(), d);
  return d;
}

std::optional<std::uint64_t> json_value::as_u64() const {
  if (kind != type::number) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc() && p == text.data() + text.size()) return v;
  // "1e3" or "12.0": accept integral values that a double holds exactly.
  const double d = as_double();
  if (d >= 0 && d <= 9007199254740992.0 && std::floor(d) == d) return static_cast<std::uint64_t>(d);
  return std::nullopt;
}

namespace {

// A recursive-descent parser of RFC 8259 JSON. Reports are small (kilobytes to
// a few megabytes), so a DOM is fine; depth is bounded.
class json_parser {
 public:
  explicit json_parser(std::string_view s) : s_(s) {}

  std::optional<json_value> document(std::string& why) {
    json_value v;
    skip_ws();
    if (!value(v, 0)) {
      why = error_ + " at byte " + std::to_string(pos_);
      return std::nullopt;
    }
    skip_ws();
    if (pos_ != s_.size()) {
      why = "unexpected text after the JSON value at byte " + std::to_string(pos_);
      return std::nullopt;
    }
    return v;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
  std::string error_;

  bool fail(const char* what) {
    if (error_.empty()) error_ = what;
    return false;
  }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t'))
      ++pos_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool value(json_value& v, int depth) {
    if (depth > 64) return fail("nesting too deep");
    if (pos_ >= s_.size()) return fail("unexpected end of input");
    const char c = s_[pos_];
    if (c == '{') return object(v, depth);
    if (c == '[') return array(v, depth);
    if (c == '"') {
      v.kind = json_value::type::string;
      return string(v.text);
    }
    if (c == 't') {
      v.kind = json_value::type::boolean;
      v.boolean = true;
      return literal("true");
    }
    if (c == 'f') {
      v.kind = json_value::type::boolean;
      return literal("false");
    }
    if (c == 'n') return literal("null");
    if (c == '-' || (c >= '0' && c <= '9')) return number(v);
    return fail("unexpected character");
  }

  bool number(json_value& v) {
    const std::size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      const std::size_t d = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ > d;
    };
    if (!digits()) return fail("invalid number");
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) return fail("invalid number");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) return fail("invalid number");
    }
    v.kind = json_value::type::number;
    v.text.assign(s_.substr(start, pos_ - start));
    return true;
  }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool hex4(unsigned& cp) {
    if (pos_ + 4 > s_.size()) return fail("truncated \\u escape");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9') cp |= h - '0';
      else if (h >= 'a' && h <= 'f') cp |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') cp |= h - 'A' + 10;
      else return fail("invalid \\u escape");
    }
    return true;
  }

  bool string(std::string& out) {
    ++pos_;  // '"'
    out.clear();
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) break;
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            unsigned lo = 0;
            if (!hex4(lo)) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          put_utf8(out, cp);
          break;
        }
        default: return fail("invalid escape");
      }
    }
    return fail("unterminated string");
  }

  bool array(json_value& v, int depth) {
    ++pos_;
    v.kind = json_value::type::array;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      v.items.emplace_back();
      if (!value(v.items.back(), depth + 1)) return false;
      skip_ws();
      if (pos_ >= s_.size()) return fail("unterminated array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected , or ] in array");
    }
  }

  bool object(json_value& v, int depth) {
    ++pos_;
    v.kind = json_value::type::object;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a member name");
      std::string key;
      if (!string(key)) return false;
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected : after a member name");
      ++pos_;
      skip_ws();
      v.members.emplace_back(std::move(key), json_value{});
      if (!value(v.members.back().second, depth + 1)) return false;
      skip_ws();
      if (pos_ >= s_.size()) return fail("unterminated object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected , or } in object");
    }
  }
};

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string us(std::uint64_t ns) { return fixed(static_cast<double>(ns) / 1000.0, 3); }

void key(std::string& out, std::string_view k) {
  append_json_string(out, k);
  out += ": ";
}

void write_buckets(std::string& out, const std::vector<std::pair<std::uint32_t, std::uint64_t>>& b) {
  out += '[';
  bool first = true;
  for (const auto& [i, c] : b) {
    if (!first) out += ',';
    first = false;
    out += '[';
    out += std::to_string(i);
    out += ',';
    out += std::to_string(c);
    out += ']';
  }
  out += ']';
}

bool read_buckets(const json_value* v, std::vector<std::pair<std::uint32_t, std::uint64_t>>& out,
                  std::string& why) {
  if (!v || v->kind != json_value::type::array) {
    why = "buckets is not an array";
    return false;
  }
  out.clear();
  for (const auto& pair : v->items) {
    if (pair.kind != json_value::type::array || pair.items.size() != 2) {
      why = "a bucket is not an [index, count] pair";
      return false;
    }
    auto i = pair.items[0].as_u64();
    auto c = pair.items[1].as_u64();
    if (!i || !c || *i >= histogram::bucket_count) {
      why = "a bucket index or count is out of range";
      return false;
    }
    out.emplace_back(static_cast<std::uint32_t>(*i), *c);
  }
  return true;
}

void write_counts(std::string& out, const std::map<std::string, std::uint64_t>& counts) {
  out += '{';
  bool first = true;
  for (const auto& [k, v] : counts) {
    if (!first) out += ", ";
    first = false;
    key(out, k);
    out += std::to_string(v);
  }
  out += '}';
}

// A {name: count} object into `out`; false with `why` naming `what` on a bad count.
bool read_counts(const json_value& obj, const std::string& what,
                 std::map<std::string, std::uint64_t>& out, std::string& why) {
  for (const auto& [k, v] : obj.members) {
    auto n = v.as_u64();
    if (!n) {
      why = what + "." + k + " is not a count";
      return false;
    }
    out[k] += *n;
  }
  return true;
}

const char* const wait_keys[] = {"succeeded", "task_failed", "gone", "timed_out", "failed",
                                 "outstanding_at_end"};

}  // namespace

std::optional<json_value> parse_json(std::string_view text, std::string& why) {
  return json_parser(text).document(why);
}

void write_json(std::string& out, const json_value& v) {
  switch (v.kind) {
    case json_value::type::null: out += "null"; break;
    case json_value::type::boolean: out += v.boolean ? "true" : "false"; break;
    case json_value::type::number: out += v.text; break;
    case json_value::type::string: append_json_string(out, v.text); break;
    case json_value::type::array: {
      out += '[';
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ", ";
        write_json(out, v.items[i]);
      }
      out += ']';
      break;
    }
    case json_value::type::object: {
      out += '{';
      for (std::size_t i = 0; i < v.members.size(); ++i) {
        if (i) out += ", ";
        key(out, v.members[i].first);
        write_json(out, v.members[i].second);
      }
      out += '}';
      break;
    }
  }
}

// ---------------------------------------------------------------- the report

histogram interval::latency() const {
  histogram h;
  for (const auto& [i, c] : buckets) h.add_bucket(i, c);
  if (max_ns && h.count() && histogram::index_of(max_ns) == histogram::index_of(h.max()))
    h.set_extremes(h.min(), max_ns, h.sum());
  return h;
}

std::uint64_t load_report::errors_total() const {
  std::uint64_t n = 0;
  for (const auto& [k, v] : errors) n += v;
  return n;
}

double load_report::error_ratio() const {
  const double e = static_cast<double>(errors_total());
  return requests ? e / static_cast<double>(requests) : e;
}

std::string to_json(const load_report& r_in) {
  // The duration as printed (6 decimals) is the one the rates are computed
  // from, so that requests_per_s == requests / duration_s in the file too.
  load_report r_rounded;
  const load_report* rp = &r_in;
  if (std::round(r_in.duration_s * 1e6) / 1e6 != r_in.duration_s) {
    r_rounded = r_in;
    r_rounded.duration_s = std::round(r_in.duration_s * 1e6) / 1e6;
    rp = &r_rounded;
  }
  const load_report& r = *rp;
  std::string o;
  o.reserve(4096 + r.series.size() * 256);
  o += "{\n  ";
  key(o, "tool"); o += "\"pollster load\",\n  ";
  key(o, "schema_version"); o += std::to_string(r.schema_version); o += ",\n  ";
  key(o, "version"); append_json_string(o, r.version.empty() ? pollster::version() : r.version); o += ",\n  ";
  key(o, "command_line"); append_json_string(o, r.command_line); o += ",\n  ";
  key(o, "mode"); append_json_string(o, r.mode); o += ",\n  ";
  key(o, "started_at_unix"); o += fixed(r.started_at_unix, 3); o += ",\n  ";
  key(o, "duration_s"); o += fixed(r.duration_s, 6); o += ",\n  ";
  key(o, "requests"); o += std::to_string(r.requests); o += ",\n  ";
  key(o, "requests_per_s"); o += fixed(r.requests_per_s(), 3); o += ",\n  ";
  key(o, "completed"); o += std::to_string(r.completed); o += ",\n  ";
  key(o, "completions_per_s"); o += fixed(r.completions_per_s(), 3); o += ",\n  ";
  key(o, "latency_us");
  o += "{\"p50\": " + us(r.latency.percentile(50)) + ", \"p90\": " + us(r.latency.percentile(90)) +
       ", \"p99\": " + us(r.latency.percentile(99)) + ", \"p999\": " + us(r.latency.percentile(99.9)) +
       ", \"max\": " + us(r.latency.max()) + ", \"min\": " + us(r.latency.min()) +
       ", \"mean\": " + fixed(r.latency.mean() / 1000.0, 3) + "},\n  ";
  key(o, "errors");
  write_counts(o, r.errors);
  o += ",\n  ";
  key(o, "errors_total"); o += std::to_string(r.errors_total()); o += ",\n  ";
  key(o, "error_ratio"); o += fixed(r.error_ratio(), 6); o += ",\n  ";
  key(o, "waits");
  const std::uint64_t waits[] = {r.succeeded, r.task_failed, r.gone, r.timed_out, r.failed, r.outstanding};
  o += '{';
  for (std::size_t i = 0; i < 6; ++i) {
    if (i) o += ", ";
    key(o, wait_keys[i]);
    o += std::to_string(waits[i]);
  }
  o += "},\n  ";
  key(o, "failed_by");
  write_counts(o, r.failed_by);
  o += ",\n  ";
  key(o, "connections");
  o += "{\"connects\": " + std::to_string(r.connects) + ", \"reconnects\": " +
       std::to_string(r.reconnects) + ", \"connect_failures\": " + std::to_string(r.connect_failures) +
       "},\n  ";
  key(o, "rate");
  if (r.mode == "rate")
    o += "{\"target_per_s\": " + fixed(r.rate_target, 3) + ", \"scheduled\": " +
         std::to_string(r.scheduled) + ", \"late\": " + std::to_string(r.late) +
         ", \"skipped\": " + std::to_string(r.skipped) + "},\n  ";
  else
    o += "null,\n  ";
  key(o, "releases"); o += std::to_string(r.releases); o += ",\n  ";
  key(o, "achieved_rate"); o += fixed(r.achieved_rate, 3); o += ",\n  ";
  key(o, "rate_shortfall"); o += r.rate_shortfall ? "true" : "false"; o += ",\n  ";
  key(o, "warmup_s"); o += fixed(r.warmup_s, 3); o += ",\n  ";
  key(o, "thresholds");
  o += '[';
  for (std::size_t i = 0; i < r.thresholds.size(); ++i) {
    const threshold_result& t = r.thresholds[i];
    if (i) o += ", ";
    o += "{\"expr\": ";
    append_json_string(o, t.expr);
    o += ", \"metric\": ";
    append_json_string(o, t.metric);
    o += ", \"observed\": " + fixed(t.observed, 6) + ", \"ok\": " + (t.ok ? "true" : "false") + "}";
  }
  o += "],\n  ";
  key(o, "shards"); o += std::to_string(r.shards); o += ",\n  ";
  key(o, "shard_summaries");
  o += '[';
  for (std::size_t i = 0; i < r.shard_summaries.size(); ++i) {
    const shard_summary& sh = r.shard_summaries[i];
    if (i) o += ", ";
    o += "{\"index\": " + std::to_string(sh.index) + ", \"file\": ";
    append_json_string(o, sh.file);
    o += ", \"requests\": " + std::to_string(sh.requests) + ", \"errors\": " +
         std::to_string(sh.errors) + ", \"p99_ns\": " + std::to_string(sh.p99_ns) + "}";
  }
  o += "],\n  ";
  key(o, "parameters");
  if (r.parameters.kind == json_value::type::object) write_json(o, r.parameters);
  else o += "{}";
  o += ",\n  ";
  key(o, "histogram");
  o += "{\"unit\": \"ns\", \"sub_bucket_bits\": " + std::to_string(histogram::sub_bits) +
       ", \"count\": " + std::to_string(r.latency.count()) + ", \"min\": " +
       std::to_string(r.latency.min()) + ", \"max\": " + std::to_string(r.latency.max()) +
       ", \"sum\": " + std::to_string(r.latency.sum()) + ", \"buckets\": ";
  write_buckets(o, r.latency.sparse());
  o += "},\n  ";
  key(o, "series");
  o += '[';
  for (std::size_t i = 0; i < r.series.size(); ++i) {
    const interval& s = r.series[i];
    const histogram h = s.latency();
    o += i ? ",\n    " : "\n    ";
    o += "{\"t\": " + fixed(s.t, 3) + ", \"dt\": " + fixed(s.dt, 3) + ", \"requests\": " +
         std::to_string(s.requests) + ", \"requests_per_s\": " +
         fixed(s.dt > 0 ? s.requests / s.dt : 0, 1) + ", \"completed\": " +
         std::to_string(s.completed) + ", \"errors\": " + std::to_string(s.errors) +
         ", \"open_connections\": " + std::to_string(s.open_connections) +
         ", \"latency_us\": {\"p50\": " + us(h.percentile(50)) + ", \"p90\": " +
         us(h.percentile(90)) + ", \"p99\": " + us(h.percentile(99)) + ", \"max\": " +
         us(h.max()) + "}, \"max_ns\": " + std::to_string(h.max()) + ", \"releases\": " +
         std::to_string(s.releases) + ", \"target_rate\": " + fixed(s.target_rate, 3) +
         ", \"errors_by_kind\": ";
    write_counts(o, s.errors_by_kind);
    o += ", \"buckets\": ";
    write_buckets(o, s.buckets);
    o += '}';
  }
  o += r.series.empty() ? "]\n}\n" : "\n  ]\n}\n";
  return o;
}

std::optional<load_report> from_json(std::string_view text, std::string& why) {
  auto doc = parse_json(text, why);
  if (!doc) return std::nullopt;
  if (doc->kind != json_value::type::object) {
    why = "not a JSON object";
    return std::nullopt;
  }
  const json_value& d = *doc;
  load_report r;
  auto need_u64 = [&](const json_value* obj, const char* name, std::uint64_t& out) {
    const json_value* v = obj ? obj->find(name) : nullptr;
    auto n = v ? v->as_u64() : std::nullopt;
    if (!n) {
      why = std::string("missing or invalid '") + name + "'";
      return false;
    }
    out = *n;
    return true;
  };
  auto opt_u64 = [&](const json_value* obj, const char* name, std::uint64_t& out) {
    const json_value* v = obj ? obj->find(name) : nullptr;
    if (v && v->as_u64()) out = *v->as_u64();
  };
  auto need_double = [&](const json_value* obj, const char* name, double& out) {
    const json_value* v = obj ? obj->find(name) : nullptr;
    if (!v || !v->is_number()) {
      why = std::string("missing or invalid '") + name + "'";
      return false;
    }
    out = v->as_double();
    return true;
  };
  const json_value* tool = d.find("tool");
  if (!tool || tool->text != "pollster load") {
    why = "not a pollster load report (no \"tool\": \"pollster load\")";
    return std::nullopt;
  }
  if (const json_value* v = d.find("schema_version")) {
    auto n = v->as_u64();
    if (!n || *n != 1) {
      why = "schema_version " + (v->text.empty() ? std::string("?") : v->text) +
            " is not one this pollster reads (1)";
      return std::nullopt;
    }
    r.schema_version = static_cast<int>(*n);
  }
  auto opt_string = [&](const char* name, std::string& out) {
    if (const json_value* v = d.find(name); v && v->kind == json_value::type::string) out = v->text;
  };
  opt_string("version", r.version);
  opt_string("command_line", r.command_line);
  if (const json_value* m = d.find("mode"); m && m->kind == json_value::type::string) r.mode = m->text;
  if (!need_double(&d, "started_at_unix", r.started_at_unix) ||
      !need_double(&d, "duration_s", r.duration_s) || !need_u64(&d, "requests", r.requests) ||
      !need_u64(&d, "completed", r.completed))
    return std::nullopt;
  if (const json_value* e = d.find("errors"); e && e->kind == json_value::type::object) {
    if (!read_counts(*e, "errors", r.errors, why)) return std::nullopt;
  } else {
    why = "missing or invalid 'errors'";
    return std::nullopt;
  }
  if (const json_value* f = d.find("failed_by"); f && f->kind == json_value::type::object)
    for (const auto& [k, v] : f->members)
      if (auto n = v.as_u64()) r.failed_by[k] += *n;
  const json_value* w = d.find("waits");
  std::uint64_t* waits[] = {&r.succeeded, &r.task_failed, &r.gone, &r.timed_out, &r.failed, &r.outstanding};
  for (std::size_t i = 0; i < 6; ++i) opt_u64(w, wait_keys[i], *waits[i]);
  const json_value* c = d.find("connections");
  opt_u64(c, "connects", r.connects);
  opt_u64(c, "reconnects", r.reconnects);
  opt_u64(c, "connect_failures", r.connect_failures);
  if (const json_value* rate = d.find("rate"); rate && rate->kind == json_value::type::object) {
    if (const json_value* t = rate->find("target_per_s")) r.rate_target = t->as_double();
    opt_u64(rate, "scheduled", r.scheduled);
    opt_u64(rate, "late", r.late);
    opt_u64(rate, "skipped", r.skipped);
  }
  opt_u64(&d, "shards", r.shards);
  opt_u64(&d, "releases", r.releases);
  if (const json_value* v = d.find("achieved_rate"); v && v->is_number()) r.achieved_rate = v->as_double();
  if (const json_value* v = d.find("rate_shortfall"); v && v->kind == json_value::type::boolean)
    r.rate_shortfall = v->boolean;
  if (const json_value* v = d.find("warmup_s"); v && v->is_number()) r.warmup_s = v->as_double();
  if (const json_value* ts = d.find("thresholds"); ts && ts->kind == json_value::type::array) {
    for (const auto& item : ts->items) {
      threshold_result t;
      const json_value* e = item.find("expr");
      const json_value* m = item.find("metric");
      const json_value* ob = item.find("observed");
      const json_value* ok = item.find("ok");
      if (!e || e->kind != json_value::type::string || !m || m->kind != json_value::type::string ||
          !ob || !ob->is_number() || !ok || ok->kind != json_value::type::boolean) {
        why = "thresholds: each needs expr, metric (strings), observed (a number) and ok (a boolean)";
        return std::nullopt;
      }
      t.expr = e->text;
      t.metric = m->text;
      t.observed = ob->as_double();
      t.ok = ok->boolean;
      r.thresholds.push_back(std::move(t));
    }
  }
  if (const json_value* ss = d.find("shard_summaries"); ss && ss->kind == json_value::type::array) {
    for (const auto& item : ss->items) {
      shard_summary sh;
      if (!need_u64(&item, "index", sh.index) || !need_u64(&item, "requests", sh.requests) ||
          !need_u64(&item, "errors", sh.errors) || !need_u64(&item, "p99_ns", sh.p99_ns)) {
        why = "shard_summaries: " + why;
        return std::nullopt;
      }
      if (const json_value* f = item.find("file"); f && f->kind == json_value::type::string) sh.file = f->text;
      r.shard_summaries.push_back(std::move(sh));
    }
  }
  if (const json_value* p = d.find("parameters"); p && p->kind == json_value::type::object)
    r.parameters = *p;
  const json_value* h = d.find("histogram");
  if (!h || h->kind != json_value::type::object) {
    why = "missing 'histogram'";
    return std::nullopt;
  }
  std::uint64_t bits = 0, count = 0, mn = 0, mx = 0, sum = 0;
  const json_value* unit = h->find("unit");
  if (!need_u64(h, "sub_bucket_bits", bits) || !unit || unit->text != "ns" ||
      bits != static_cast<std::uint64_t>(histogram::sub_bits)) {
    why = "the histogram is not in this version's layout (unit ns, sub_bucket_bits " +
          std::to_string(histogram::sub_bits) + ")";
    return std::nullopt;
  }
  if (!need_u64(h, "count", count) || !need_u64(h, "min", mn) || !need_u64(h, "max", mx) ||
      !need_u64(h, "sum", sum))
    return std::nullopt;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> buckets;
  if (!read_buckets(h->find("buckets"), buckets, why)) {
    why = "histogram: " + why;
    return std::nullopt;
  }
  for (const auto& [i, n] : buckets) r.latency.add_bucket(i, n);
  if (r.latency.count() != count) {
    why = "histogram: its buckets hold " + std::to_string(r.latency.count()) +
          " values but count says " + std::to_string(count);
    return std::nullopt;
  }
  if (count) r.latency.set_extremes(mn, mx, sum);
  if (const json_value* s = d.find("series"); s && s->kind == json_value::type::array) {
    for (const auto& item : s->items) {
      interval iv;
      if (!need_double(&item, "t", iv.t) || !need_double(&item, "dt", iv.dt) ||
          !need_u64(&item, "requests", iv.requests)) {
        why = "series: " + why;
        return std::nullopt;
      }
      opt_u64(&item, "completed", iv.completed);
      opt_u64(&item, "errors", iv.errors);
      opt_u64(&item, "open_connections", iv.open_connections);
      opt_u64(&item, "max_ns", iv.max_ns);
      opt_u64(&item, "releases", iv.releases);
      if (const json_value* v = item.find("target_rate"); v && v->is_number()) iv.target_rate = v->as_double();
      if (const json_value* e = item.find("errors_by_kind"); e && e->kind == json_value::type::object &&
                                                              !read_counts(*e, "series errors_by_kind",
                                                                           iv.errors_by_kind, why))
        return std::nullopt;
      if (!read_buckets(item.find("buckets"), iv.buckets, why)) {
        why = "series: " + why;
        return std::nullopt;
      }
      r.series.push_back(std::move(iv));
    }
  }
  return r;
}

std::optional<std::string> merge_into(load_report& into, const load_report& from) {
  if (into.mode != from.mode)
    return "cannot merge a '" + from.mode + "' report into a '" + into.mode +
           "' one (closed loop and --rate runs measure different things)";
  // Series: align each interval on the wall-clock second it ended in.
  const double start = std::min(into.started_at_unix, from.started_at_unix);
  std::map<long long, interval> by_second;
  auto add_series = [&](const load_report& r) {
    for (const interval& iv : r.series) {
      const long long k = std::llround(r.started_at_unix + iv.t - start);
      interval& m = by_second[k];
      m.t = static_cast<double>(k);
      m.dt = std::max(m.dt, iv.dt);
      m.requests += iv.requests;
      m.completed += iv.completed;
      m.errors += iv.errors;
      m.open_connections += iv.open_connections;
      m.releases += iv.releases;
      m.target_rate += iv.target_rate;
      for (const auto& [k, v] : iv.errors_by_kind) m.errors_by_kind[k] += v;
      histogram h = m.latency();
      h.merge(iv.latency());
      m.buckets = h.sparse();
      m.max_ns = h.max();
    }
  };
  add_series(into);
  add_series(from);
  into.series.clear();
  for (auto& [k, iv] : by_second) into.series.push_back(std::move(iv));
  into.started_at_unix = start;
  into.duration_s = std::max(into.duration_s, from.duration_s);
  into.requests += from.requests;
  into.completed += from.completed;
  into.succeeded += from.succeeded;
  into.task_failed += from.task_failed;
  into.gone += from.gone;
  into.timed_out += from.timed_out;
  into.failed += from.failed;
  into.outstanding += from.outstanding;
  for (const auto& [k, v] : from.errors) into.errors[k] += v;
  for (const auto& [k, v] : from.failed_by) into.failed_by[k] += v;
  into.connects += from.connects;
  into.reconnects += from.reconnects;
  into.connect_failures += from.connect_failures;
  into.rate_target += from.rate_target;
  into.scheduled += from.scheduled;
  into.late += from.late;
  into.skipped += from.skipped;
  into.releases += from.releases;
  into.achieved_rate += from.achieved_rate;
  into.rate_shortfall = into.rate_shortfall || from.rate_shortfall;
  into.warmup_s = std::max(into.warmup_s, from.warmup_s);
  into.shards += from.shards;
  into.latency.merge(from.latency);
  return std::nullopt;
}

std::optional<std::string> check_thresholds(const load_report& r, double max_p99_ms,
                                            double max_error_ratio) {
  std::string reasons;
  auto add = [&](const std::string& s) {
    if (!reasons.empty()) reasons += "; ";
    reasons += s;
  };
  if (max_p99_ms >= 0) {
    const double p99_ms = static_cast<double>(r.latency.percentile(99)) / 1e6;
    if (p99_ms > max_p99_ms)
      add("p99 latency " + fixed(p99_ms, 3) + " ms is above --max-p99 " + fixed(max_p99_ms, 3) + " ms");
  }
  if (max_error_ratio >= 0) {
    if (r.error_ratio() > max_error_ratio)
      add("error ratio " + fixed(r.error_ratio(), 6) + " (" + std::to_string(r.errors_total()) +
          " errors / " + std::to_string(r.requests) + " requests) is above --max-error-ratio " +
          fixed(max_error_ratio, 6));
    const std::uint64_t bad = r.gone + r.timed_out + r.failed;
    const std::uint64_t ended = bad + r.completed;
    if (ended && static_cast<double>(bad) / ended > max_error_ratio)
      add(std::to_string(bad) + " of " + std::to_string(ended) +
          " operations ended without completing (gone, timed out or failed), above --max-error-ratio " +
          fixed(max_error_ratio, 6));
  }
  if (reasons.empty()) return std::nullopt;
  return reasons;
}

std::string format_latency(std::uint64_t ns) {
  const double v = static_cast<double>(ns);
  auto sig = [](double x) { return fixed(x, x < 10 ? 2 : x < 100 ? 1 : 0); };
  if (ns < 1'000'000) return sig(v / 1e3) + " us";
  if (ns < 10'000'000'000ull) return sig(v / 1e6) + " ms";
  return sig(v / 1e9) + " s";
}

// ---------------------------------------------------------------- the table

namespace {

std::string param_text(const load_report& r, const char* name) {
  const json_value* v = r.parameters.find(name);
  if (!v) return {};
  if (v->kind == json_value::type::string || v->kind == json_value::type::number) return v->text;
  if (v->kind == json_value::type::boolean) return v->boolean ? "true" : "false";
  return {};
}

std::string with_commas(std::uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string pad(std::string s, std::size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

std::string rate_text(double per_s) { return fixed(per_s, per_s < 100 ? 1 : 0); }

}  // namespace

std::string describe(const load_report& r) {
  std::string s = "target " + (param_text(r, "target").empty() ? "?" : param_text(r, "target"));
  const std::string handles = param_text(r, "handles"), conns = param_text(r, "connections"),
                    threads = param_text(r, "threads");
  if (!handles.empty()) s += ", " + handles + " handles";
  if (!conns.empty()) s += ", " + conns + " connections";
  if (!threads.empty()) s += ", " + threads + (threads == "1" ? " thread" : " threads");
  if (r.mode == "rate") s += ", open loop at " + rate_text(r.rate_target) + " requests/s";
  if (r.shards > 1)
    s += ", " + std::to_string(r.shards) + " shards merged";
  else if (const std::string sh = param_text(r, "shard"); !sh.empty() && sh != "0/1")
    s += ", shard " + sh;
  return s;
}

std::string to_table(const load_report& r) {
  std::string o;
  auto row = [&](const char* name, const std::string& value) {
    o += "  ";
    o += pad(name, 14);
    o += value;
    o += '\n';
  };
  o += "pollster load: " + describe(r) + "\n";
  row("duration", fixed(r.duration_s, 2) + " s");
  row("requests", pad(with_commas(r.requests), 12) + rate_text(r.requests_per_s()) + " /s");
  row("completed", pad(with_commas(r.completed), 12) + rate_text(r.completions_per_s()) + " /s" +
                       (r.task_failed ? "   (" + with_commas(r.task_failed) + " of them task failed)" : ""));
  const histogram& h = r.latency;
  if (h.count() == 0) row("latency", "-   (no answer)");
  else row("latency", "p50 " + format_latency(h.percentile(50)) + "   p90 " + format_latency(h.percentile(90)) +
                     "   p99 " + format_latency(h.percentile(99)) + "   p99.9 " +
                     format_latency(h.percentile(99.9)) + "   max " + format_latency(h.max()));
  const std::uint64_t et = r.errors_total();
  row("errors", with_commas(et) + (et && r.requests ? "   (" + fixed(100.0 * r.error_ratio(), 3) + "% of requests)"
                                   : et ? "   (and no request answered)" : ""));
  for (const auto& [k, v] : r.errors) row("", pad(k, 26) + with_commas(v));
  if (r.gone + r.timed_out + r.failed) {
    std::string why;
    for (const auto& [k, v] : r.failed_by) why += (why.empty() ? " (" : ", ") + k + " " + with_commas(v);
    if (!why.empty()) why += ')';
    row("not completed", "gone " + with_commas(r.gone) + ", timed out " + with_commas(r.timed_out) +
                             ", failed " + with_commas(r.failed) + why);
  }
  if (r.mode == "closed") row("at the end", with_commas(r.outstanding) + " operations still running (cancelled)");
  row("connections", with_commas(r.connects) + " opened, " + with_commas(r.reconnects) + " reconnects, " +
                         with_commas(r.connect_failures) + " failed to open");
  if (r.mode == "rate")
    row("open loop", with_commas(r.scheduled) + " sends scheduled at " + rate_text(r.rate_target) +
                         "/s: " + with_commas(r.late) + " late, " + with_commas(r.skipped) + " skipped");
  return o;
}

// ---------------------------------------------------------------- HTML

namespace {

std::string html_escape(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

struct line_series {
  std::string name, color;
  std::vector<double> y;
};

// A round axis maximum: 1, 2 or 5 times a power of ten, at least `v`.
double nice_ceiling(double v) {
  if (!(v > 0)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= v) return m * p;
  return 10 * p;
}

std::string axis_number(double v) {
  if (v >= 100 || v == std::floor(v)) return fixed(v, 0);
  if (v >= 1) return fixed(v, 1);
  if (v >= 0.01) return fixed(v, 2);
  return fixed(v, 3);
}

// A line chart of per-second values. `log_scale`: a logarithmic y axis (for
// latencies, whose max can be a hundred times the median).
std::string svg_chart(const std::string& title, const std::string& unit, const std::vector<double>& x,
                      const std::vector<line_series>& lines, bool log_scale = false) {
  const double W = 860, H = 280, left = 70, right = 20, top = 30, bottom = 40;
  const double pw = W - left - right, ph = H - top - bottom;
  double ymax = 0, xmax = 0, ymin_pos = 0;
  for (const auto& l : lines)
    for (double v : l.y) {
      ymax = std::max(ymax, v);
      if (v > 0 && (ymin_pos == 0 || v < ymin_pos)) ymin_pos = v;
    }
  for (double v : x) xmax = std::max(xmax, v);
  if (xmax <= 0) xmax = 1;
  // Linear: 0..a round maximum. Log: whole decades around the values.
  double lo_dec = 0, hi_dec = 1;
  if (log_scale) {
    if (ymin_pos <= 0) ymin_pos = ymax > 0 ? ymax : 1;
    lo_dec = std::floor(std::log10(ymin_pos));
    hi_dec = std::ceil(std::log10(std::max(ymax, ymin_pos)));
    if (hi_dec <= lo_dec) hi_dec = lo_dec + 1;
  } else {
    ymax = nice_ceiling(ymax);
  }
  auto yfrac = [&](double v) {
    if (!log_scale) return v / ymax;
    if (v <= 0) return 0.0;
    return std::clamp((std::log10(v) - lo_dec) / (hi_dec - lo_dec), 0.0, 1.0);
  };
  auto px = [&](double v) { return fixed(left + pw * v / xmax, 1); };
  auto py = [&](double v) { return fixed(top + ph - ph * yfrac(v), 1); };
  std::string s = "<svg width=\"" + fixed(W, 0) + "\" height=\"" + fixed(H, 0) + "\" viewBox=\"0 0 " +
                  fixed(W, 0) + " " + fixed(H, 0) + "\" role=\"img\" aria-label=\"" + html_escape(title) +
                  "\">\n";
  s += "<text x=\"" + fixed(left, 0) + "\" y=\"18\" class=\"title\">" + html_escape(title) + "</text>\n";
  std::vector<double> ticks;
  if (log_scale)
    for (double d = lo_dec; d <= hi_dec + 1e-9; ++d) ticks.push_back(std::pow(10.0, d));
  else
    for (int i = 0; i <= 4; ++i) ticks.push_back(ymax * i / 4);
  for (double v : ticks) {
    s += "<line x1=\"" + fixed(left, 0) + "\" x2=\"" + fixed(W - right, 0) + "\" y1=\"" + py(v) +
         "\" y2=\"" + py(v) + "\" class=\"grid\"/>";
    s += "<text x=\"" + fixed(left - 6, 0) + "\" y=\"" + py(v) + "\" dy=\"4\" text-anchor=\"end\">" +
         axis_number(v) + "</text>\n";
  }
  const double xstep = nice_ceiling(xmax / 10);
  for (double v = 0; v <= xmax + 1e-9; v += xstep)
    s += "<text x=\"" + px(v) + "\" y=\"" + fixed(H - bottom + 16, 0) + "\" text-anchor=\"middle\">" +
         axis_number(v) + "</text>";
  s += "\n<text x=\"" + fixed(left + pw / 2, 0) + "\" y=\"" + fixed(H - 4, 0) +
       "\" text-anchor=\"middle\">seconds since the start</text>";
  s += "<text x=\"14\" y=\"" + fixed(top + ph / 2, 0) + "\" transform=\"rotate(-90 14 " +
       fixed(top + ph / 2, 0) + ")\" text-anchor=\"middle\">" + html_escape(unit) + "</text>\n";
  s += "<rect x=\"" + fixed(left, 0) + "\" y=\"" + fixed(top, 0) + "\" width=\"" + fixed(pw, 0) +
       "\" height=\"" + fixed(ph, 0) + "\" class=\"frame\"/>\n";
  double lx = left + 10;
  for (const auto& l : lines) {
    s += "<polyline fill=\"none\" stroke=\"" + l.color + "\" stroke-width=\"2\" points=\"";
    for (std::size_t i = 0; i < l.y.size() && i < x.size(); ++i) {
      if (i) s += ' ';
      s += px(x[i]) + "," + py(l.y[i]);
    }
    s += "\"/>\n";
    if (x.size() == 1)
      s += "<circle cx=\"" + px(x[0]) + "\" cy=\"" + py(l.y[0]) + "\" r=\"3\" fill=\"" + l.color + "\"/>";
    s += "<rect x=\"" + fixed(lx, 0) + "\" y=\"" + fixed(top + 6, 0) + "\" width=\"12\" height=\"4\" fill=\"" +
         l.color + "\"/><text x=\"" + fixed(lx + 16, 0) + "\" y=\"" + fixed(top + 12, 0) + "\">" +
         html_escape(l.name) + "</text>\n";
    lx += 24 + 8.0 * static_cast<double>(l.name.size());
  }
  s += "</svg>\n";
  return s;
}

}  // namespace

std::string to_html(const load_report& r) {
  std::vector<double> x;
  line_series req{"requests/s", "#1f77b4", {}}, done{"completions/s", "#2ca02c", {}},
      err{"errors/s", "#d62728", {}};
  line_series p50{"p50", "#2ca02c", {}}, p90{"p90", "#1f77b4", {}}, p99{"p99", "#ff7f0e", {}},
      mx{"max", "#d62728", {}};
  bool any_errors = false;
  for (const interval& iv : r.series) {
    const double dt = iv.dt > 0 ? iv.dt : 1;
    x.push_back(iv.t);
    req.y.push_back(iv.requests / dt);
    done.y.push_back(iv.completed / dt);
    err.y.push_back(iv.errors / dt);
    any_errors = any_errors || iv.errors;
    const histogram h = iv.latency();
    p50.y.push_back(h.percentile(50) / 1e6);
    p90.y.push_back(h.percentile(90) / 1e6);
    p99.y.push_back(h.percentile(99) / 1e6);
    mx.y.push_back(h.max() / 1e6);
  }
  std::vector<line_series> rates{req, done};
  if (any_errors) rates.push_back(err);
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>pollster load report</title>\n<style>\n"
      "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:920px}\n"
      "table{border-collapse:collapse;margin:1em 0}td,th{padding:3px 12px;text-align:left;"
      "border-bottom:1px solid #ddd}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
      "svg{display:block;margin:1.5em 0;font-size:12px}svg .title{font-weight:bold;font-size:14px}\n"
      "svg .grid{stroke:#e5e5e5}svg .frame{fill:none;stroke:#999}\n"
      "pre{background:#f6f6f6;padding:1em;overflow:auto}\n</style>\n</head>\n<body>\n";
  o += "<h1>pollster load</h1>\n<p>" + html_escape(describe(r)) + "</p>\n<table>\n";
  auto row = [&](const std::string& k, const std::string& v) {
    o += "<tr><th>" + html_escape(k) + "</th><td class=\"n\">" + html_escape(v) + "</td></tr>\n";
  };
  const histogram& h = r.latency;
  row("duration", fixed(r.duration_s, 2) + " s");
  row("requests", std::to_string(r.requests));
  row("requests/s", fixed(r.requests_per_s(), 1));
  row("completed", std::to_string(r.completed));
  row("completions/s", fixed(r.completions_per_s(), 1));
  row("latency p50", format_latency(h.percentile(50)));
  row("latency p90", format_latency(h.percentile(90)));
  row("latency p99", format_latency(h.percentile(99)));
  row("latency p99.9", format_latency(h.percentile(99.9)));
  row("latency max", format_latency(h.max()));
  row("errors", std::to_string(r.errors_total()));
  for (const auto& [k, v] : r.errors) row("  " + k, std::to_string(v));
  row("connections opened", std::to_string(r.connects));
  row("reconnects", std::to_string(r.reconnects));
  if (r.mode == "rate") {
    row("sends scheduled", std::to_string(r.scheduled));
    row("sends late", std::to_string(r.late));
  }
  o += "</table>\n";
  if (r.series.empty()) {
    o += "<p>No per-second series in this report.</p>\n";
  } else {
    o += svg_chart("Requests and completions per second", "per second", x, rates);
    o += svg_chart("Latency percentiles per second (log scale)", "milliseconds", x, {p50, p90, p99, mx}, true);
  }
  o += "<h2>Report</h2>\n<pre>" + html_escape(to_table(r)) + "</pre>\n";
  o += "<h2>Parameters</h2>\n<pre>";
  std::string params;
  for (const auto& [k, v] : r.parameters.members) {
    params += pad(k, 20);
    write_json(params, v);
    params += '\n';
  }
  o += html_escape(params) + "</pre>\n</body>\n</html>\n";
  return o;
}

}  // namespace pollster::cli
