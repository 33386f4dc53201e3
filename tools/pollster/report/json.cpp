#include "json.hpp"

#include <boost/json.hpp>
#include <cmath>

#include "pollster/version.hpp"

namespace pollster::cli {

namespace bj = boost::json;

namespace {

// ------------------------------------------------------------ writing

double rounded(double v, int decimals) {
  if (!std::isfinite(v)) return 0;
  const double m = std::pow(10.0, decimals);
  return std::round(v * m) / m;
}

double us(std::uint64_t ns) { return rounded(static_cast<double>(ns) / 1000.0, 3); }

bj::value from_param(const json_value& v) {
  switch (v.kind) {
    case json_value::type::null: return nullptr;
    case json_value::type::boolean: return v.boolean;
    case json_value::type::number: {
      bj::error_code ec;
      bj::value n = bj::parse(v.text, ec);
      if (!ec && n.is_number()) return n;
      return bj::string(v.text);  // not a number after all: keep the text
    }
    case json_value::type::string: return bj::string(v.text);
    case json_value::type::array: {
      bj::array a;
      for (const json_value& i : v.items) a.push_back(from_param(i));
      return a;
    }
    case json_value::type::object: {
      bj::object o;
      for (const auto& [k, m] : v.members) o[k] = from_param(m);
      return o;
    }
  }
  return nullptr;
}

json_value to_param(const bj::value& v) {
  json_value out;
  switch (v.kind()) {
    case bj::kind::null: break;
    case bj::kind::bool_:
      out.kind = json_value::type::boolean;
      out.boolean = v.get_bool();
      break;
    case bj::kind::int64:
    case bj::kind::uint64:
    case bj::kind::double_:
      out.kind = json_value::type::number;
      out.text = bj::serialize(v);
      break;
    case bj::kind::string:
      out.kind = json_value::type::string;
      out.text = v.get_string();
      break;
    case bj::kind::array:
      out.kind = json_value::type::array;
      for (const bj::value& i : v.get_array()) out.items.push_back(to_param(i));
      break;
    case bj::kind::object:
      out.kind = json_value::type::object;
      for (const auto& m : v.get_object()) out.members.emplace_back(std::string(m.key()), to_param(m.value()));
      break;
  }
  return out;
}

bj::array buckets_json(const std::vector<std::pair<std::uint32_t, std::uint64_t>>& buckets) {
  bj::array a;
  a.reserve(buckets.size());
  for (const auto& [i, c] : buckets) a.push_back(bj::array{i, c});
  return a;
}

bj::object counts_json(const std::map<std::string, std::uint64_t>& counts) {
  bj::object o;
  for (const auto& [k, v] : counts) o[k] = v;
  return o;
}

bj::object percentiles_json(const histogram& h, bool full) {
  bj::object o;
  o["p50"] = us(h.percentile(50));
  o["p90"] = us(h.percentile(90));
  o["p99"] = us(h.percentile(99));
  if (full) o["p999"] = us(h.percentile(99.9));
  o["max"] = us(h.max());
  if (full) {
    o["min"] = us(h.min());
    o["mean"] = rounded(h.mean() / 1000.0, 3);
  }
  return o;
}

// A detection delay histogram: the figures in microseconds, and its buckets
// (so that `report merge` adds them exactly).
bj::object detection_json(const histogram& h) {
  bj::object o;
  o["count"] = h.count();
  o["mean"] = rounded(h.mean() / 1000.0, 3);
  o["p50"] = us(h.percentile(50));
  o["p99"] = us(h.percentile(99));
  o["max"] = us(h.max());
  o["min"] = us(h.min());
  o["sum_ns"] = h.sum();
  o["buckets"] = buckets_json(h.sparse());
  return o;
}

bj::object interval_json(const interval& s) {
  const histogram h = s.latency();
  bj::object o;
  o["t"] = rounded(s.t, 3);
  o["dt"] = rounded(s.dt, 3);
  o["requests"] = s.requests;
  o["requests_per_s"] = rounded(s.dt > 0 ? s.requests / s.dt : 0, 1);
  o["completed"] = s.completed;
  o["errors"] = s.errors;
  o["open_connections"] = s.open_connections;
  o["latency_us"] = percentiles_json(h, false);
  o["max_ns"] = h.max();
  o["releases"] = s.releases;
  o["target_rate"] = rounded(s.target_rate, 3);
  o["errors_by_kind"] = counts_json(s.errors_by_kind);
  o["buckets"] = buckets_json(s.buckets);
  return o;
}

const char* const wait_keys[] = {"succeeded", "task_failed", "gone", "timed_out", "failed",
                                 "outstanding_at_end"};

bj::object report_json(const load_report& r) {
  bj::object o;
  o["tool"] = "pollster load";
  o["schema_version"] = r.schema_version;
  o["version"] = r.version.empty() ? std::string(pollster::version()) : r.version;
  o["command_line"] = r.command_line;
  o["mode"] = r.mode;
  o["started_at_unix"] = rounded(r.started_at_unix, 3);
  o["duration_s"] = r.duration_s;
  o["requests"] = r.requests;
  o["requests_per_s"] = rounded(r.requests_per_s(), 3);
  o["completed"] = r.completed;
  o["completions_per_s"] = rounded(r.completions_per_s(), 3);
  o["latency_us"] = percentiles_json(r.latency, true);
  o["errors"] = counts_json(r.errors);
  o["errors_total"] = r.errors_total();
  o["error_ratio"] = rounded(r.error_ratio(), 6);
  const std::uint64_t waits[] = {r.succeeded, r.task_failed, r.gone, r.timed_out, r.failed, r.outstanding};
  bj::object w;
  for (std::size_t i = 0; i < 6; ++i) w[wait_keys[i]] = waits[i];
  o["waits"] = std::move(w);
  o["failed_by"] = counts_json(r.failed_by);
  o["connections"] = {{"connects", r.connects}, {"reconnects", r.reconnects},
                      {"connect_failures", r.connect_failures}};
  if (r.mode == "rate")
    o["rate"] = {{"target_per_s", rounded(r.rate_target, 3)}, {"scheduled", r.scheduled},
                 {"late", r.late}, {"skipped", r.skipped}};
  else
    o["rate"] = nullptr;
  o["releases"] = r.releases;
  o["achieved_rate"] = rounded(r.achieved_rate, 3);
  o["rate_shortfall"] = r.rate_shortfall;
  o["warmup_s"] = r.warmup_s;
  o["engine_requests"] = r.engine_requests;
  o["lists"] = r.lists;
  o["requests_per_op"] = rounded(r.requests_per_op(), 4);
  if (r.detection_measured) o["detection_delay_us"] = detection_json(r.detection);
  else o["detection_delay_us"] = nullptr;
  o["detected_early"] = r.detected_early;
  if (r.jobs) o["jobs"] = {{"created", r.jobs}, {"undelivered", r.undelivered()}, {"duplicates", r.duplicates}};
  else o["jobs"] = nullptr;
  bj::array clusters;
  for (const cluster_summary& c : r.clusters) {
    bj::object co{{"index", c.index}, {"target", c.target}, {"requests", c.requests}, {"lists", c.lists},
                  {"completed", c.completed}, {"requests_per_op", rounded(c.requests_per_op(), 4)}};
    if (r.detection_measured) co["detection_delay_us"] = detection_json(c.detection);
    else co["detection_delay_us"] = nullptr;
    clusters.push_back(std::move(co));
  }
  o["clusters"] = std::move(clusters);
  bj::array th;
  for (const threshold_result& t : r.thresholds)
    th.push_back(bj::object{{"expr", t.expr}, {"metric", t.metric}, {"observed", t.observed}, {"ok", t.ok}});
  o["thresholds"] = std::move(th);
  o["shards"] = r.shards;
  bj::array sh;
  for (const shard_summary& s : r.shard_summaries)
    sh.push_back(bj::object{{"index", s.index}, {"file", s.file}, {"requests", s.requests},
                            {"errors", s.errors}, {"p99_ns", s.p99_ns}});
  o["shard_summaries"] = std::move(sh);
  o["parameters"] = r.parameters.kind == json_value::type::object ? from_param(r.parameters) : bj::object{};
  o["histogram"] = {{"unit", "ns"}, {"sub_bucket_bits", histogram::sub_bits}, {"count", r.latency.count()},
                    {"min", r.latency.min()}, {"max", r.latency.max()}, {"sum", r.latency.sum()},
                    {"buckets", buckets_json(r.latency.sparse())}};
  bj::array series;
  series.reserve(r.series.size());
  for (const interval& s : r.series) series.push_back(interval_json(s));
  o["series"] = std::move(series);
  return o;
}

// ------------------------------------------------------------ reading

// Reads members of one object; the first problem is kept in `why`, prefixed
// with where it is ("series[3]: ").
class reader {
 public:
  reader(const bj::object& o, std::string where, std::string& why) : o_(o), where_(std::move(where)), why_(why) {}

  const bj::value* find(const char* name) const { return o_.if_contains(name); }

  bool fail(const std::string& what) {
    why_ = where_ + what;
    return false;
  }
  bool count(const char* name, std::uint64_t& out, bool required) {
    const bj::value* v = find(name);
    if (!v) return !required || fail("missing '" + std::string(name) + "'");
    if (v->is_uint64()) out = v->get_uint64();
    else if (v->is_int64() && v->get_int64() >= 0) out = static_cast<std::uint64_t>(v->get_int64());
    else return fail("'" + std::string(name) + "' is not a count");
    return true;
  }
  bool number(const char* name, double& out, bool required) {
    const bj::value* v = find(name);
    if (!v) return !required || fail("missing '" + std::string(name) + "'");
    if (!v->is_number()) return fail("'" + std::string(name) + "' is not a number");
    out = v->to_number<double>();
    return true;
  }
  bool text(const char* name, std::string& out, bool required) {
    const bj::value* v = find(name);
    if (!v) return !required || fail("missing '" + std::string(name) + "'");
    if (!v->is_string()) return fail("'" + std::string(name) + "' is not a string");
    out = v->get_string();
    return true;
  }
  bool flag(const char* name, bool& out) {
    const bj::value* v = find(name);
    if (!v) return true;
    if (!v->is_bool()) return fail("'" + std::string(name) + "' is not true or false");
    out = v->get_bool();
    return true;
  }
  /// An object member; nullptr (and `why` set when required) when absent or not an object.
  const bj::object* object(const char* name, bool required) {
    const bj::value* v = find(name);
    if (v && v->is_object()) return &v->get_object();
    if (v || required) fail("missing or invalid '" + std::string(name) + "' (an object)");
    return nullptr;
  }
  const bj::array* array(const char* name, bool required) {
    const bj::value* v = find(name);
    if (v && v->is_array()) return &v->get_array();
    if (v || required) fail("missing or invalid '" + std::string(name) + "' (an array)");
    return nullptr;
  }
  bool counts(const char* name, std::map<std::string, std::uint64_t>& out, bool required) {
    const bj::object* o = object(name, required);
    if (!o) return why_.empty();
    for (const auto& m : *o) {
      const bj::value& v = m.value();
      if (v.is_uint64()) out[std::string(m.key())] += v.get_uint64();
      else if (v.is_int64() && v.get_int64() >= 0) out[std::string(m.key())] += static_cast<std::uint64_t>(v.get_int64());
      else return fail(std::string(name) + "." + std::string(m.key()) + " is not a count");
    }
    return true;
  }
  bool buckets(const char* name, std::vector<std::pair<std::uint32_t, std::uint64_t>>& out) {
    const bj::array* a = array(name, true);
    if (!a) return false;
    out.clear();
    for (const bj::value& pair : *a) {
      const bj::array* p = pair.if_array();
      if (!p || p->size() != 2 || !(*p)[0].is_int64() || (*p)[0].get_int64() < 0 ||
          static_cast<std::uint64_t>((*p)[0].get_int64()) >= histogram::bucket_count)
        return fail(std::string(name) + ": a bucket is not an [index, count] pair with an index below " +
                    std::to_string(histogram::bucket_count));
      std::uint64_t c = 0;
      if ((*p)[1].is_uint64()) c = (*p)[1].get_uint64();
      else if ((*p)[1].is_int64() && (*p)[1].get_int64() >= 0) c = static_cast<std::uint64_t>((*p)[1].get_int64());
      else return fail(std::string(name) + ": a bucket's count is not a count");
      out.emplace_back(static_cast<std::uint32_t>((*p)[0].get_int64()), c);
    }
    return true;
  }

 private:
  const bj::object& o_;
  std::string where_;
  std::string& why_;
};

// A detection_delay_us object back into a histogram; true when absent or null.
bool read_detection(reader& in, const char* name, histogram& out, bool& present) {
  const bj::value* v = in.find(name);
  present = v && v->is_object();
  if (!v || v->is_null()) return true;
  const bj::object* o = in.object(name, true);
  if (!o) return false;
  std::string why;
  reader d(*o, std::string(name) + ": ", why);
  std::vector<std::pair<std::uint32_t, std::uint64_t>> buckets;
  double mn = 0, mx = 0;
  std::uint64_t sum = 0;
  if (!d.buckets("buckets", buckets) || !d.number("min", mn, false) || !d.number("max", mx, false) ||
      !d.count("sum_ns", sum, false))
    return in.fail(why);
  for (const auto& [i, n] : buckets) out.add_bucket(i, n);
  if (out.count())
    out.set_extremes(static_cast<std::uint64_t>(std::llround(mn * 1000)), static_cast<std::uint64_t>(std::llround(mx * 1000)), sum);
  return true;
}

bool read_interval(reader& in, interval& iv) {
  return in.number("t", iv.t, true) && in.number("dt", iv.dt, true) && in.count("requests", iv.requests, true) &&
         in.count("completed", iv.completed, false) && in.count("errors", iv.errors, false) &&
         in.count("open_connections", iv.open_connections, false) && in.count("max_ns", iv.max_ns, false) &&
         in.count("releases", iv.releases, false) && in.number("target_rate", iv.target_rate, false) &&
         in.counts("errors_by_kind", iv.errors_by_kind, false) && in.buckets("buckets", iv.buckets);
}

// Reads each object of the array member `name` (absent: none) with `one`.
template <class T, class Fn>
bool read_list(reader& in, const char* name, std::vector<T>& out, std::string& why, Fn one) {
  const bj::array* a = in.array(name, false);
  if (!a) return why.empty();
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string where = std::string(name) + "[" + std::to_string(i) + "]: ";
    const bj::object* o = (*a)[i].if_object();
    if (!o) {
      why = where + "not an object";
      return false;
    }
    reader item(*o, where, why);
    T t;
    if (!one(item, t)) return false;
    out.push_back(std::move(t));
  }
  return true;
}

}  // namespace

std::string to_json(const load_report& r_in) {
  // The duration as written (6 decimals) is the one the rates are computed
  // from, so that requests_per_s == requests / duration_s in the file too.
  load_report r_rounded;
  const load_report* rp = &r_in;
  if (rounded(r_in.duration_s, 6) != r_in.duration_s) {
    r_rounded = r_in;
    r_rounded.duration_s = rounded(r_in.duration_s, 6);
    rp = &r_rounded;
  }
  const bj::object doc = report_json(*rp);
  // Laid out one top-level member per line and one interval per line, so that
  // two runs diff and grep well; every key and value is Boost.JSON's text.
  std::string out = "{";
  bool first = true;
  for (const auto& m : doc) {
    out += first ? "\n  " : ",\n  ";
    first = false;
    out += bj::serialize(m.key());
    out += ": ";
    if (m.key() == "series" && !m.value().get_array().empty()) {
      out += '[';
      bool first_entry = true;
      for (const bj::value& entry : m.value().get_array()) {
        out += first_entry ? "\n    " : ",\n    ";
        first_entry = false;
        out += bj::serialize(entry);
      }
      out += "\n  ]";
    } else {
      out += bj::serialize(m.value());
    }
  }
  out += "\n}\n";
  return out;
}

std::optional<load_report> from_json(std::string_view text, std::string& why) {
  why.clear();
  bj::stream_parser parser;
  bj::error_code ec;
  const std::size_t used = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    why = "not valid JSON (" + ec.message() + ", near byte " + std::to_string(used) + ")";
    return std::nullopt;
  }
  const bj::value doc = parser.release();
  if (!doc.is_object()) {
    why = "not a JSON object";
    return std::nullopt;
  }
  const bj::object& d = doc.get_object();
  reader in(d, "", why);
  std::string tool;
  if (!in.text("tool", tool, false) || tool != "pollster load") {
    why = "not a pollster load report (no \"tool\": \"pollster load\")";
    return std::nullopt;
  }
  load_report r;
  if (const bj::value* v = d.if_contains("schema_version")) {
    if (!v->is_int64() || v->get_int64() != 1) {
      why = "schema_version " + bj::serialize(*v) + " is not one this pollster reads (1)";
      return std::nullopt;
    }
  }
  std::uint64_t* waits[] = {&r.succeeded, &r.task_failed, &r.gone, &r.timed_out, &r.failed, &r.outstanding};
  bool ok = in.text("version", r.version, false) && in.text("command_line", r.command_line, false) &&
            in.text("mode", r.mode, false) && in.number("started_at_unix", r.started_at_unix, true) &&
            in.number("duration_s", r.duration_s, true) && in.count("requests", r.requests, true) &&
            in.count("completed", r.completed, true) && in.counts("errors", r.errors, true) &&
            in.counts("failed_by", r.failed_by, false) && in.count("shards", r.shards, false) &&
            in.count("releases", r.releases, false) && in.number("achieved_rate", r.achieved_rate, false) &&
            in.flag("rate_shortfall", r.rate_shortfall) && in.number("warmup_s", r.warmup_s, false);
  if (ok) {
    if (const bj::object* w = in.object("waits", false)) {
      reader win(*w, "waits: ", why);
      for (std::size_t i = 0; ok && i < 6; ++i) ok = win.count(wait_keys[i], *waits[i], false);
    }
    ok = ok && why.empty();
  }
  if (ok) {
    if (const bj::object* c = in.object("connections", false)) {
      reader cin(*c, "connections: ", why);
      ok = cin.count("connects", r.connects, false) && cin.count("reconnects", r.reconnects, false) &&
           cin.count("connect_failures", r.connect_failures, false);
    }
    ok = ok && why.empty();
  }
  if (ok) {
    if (const bj::value* rate = d.if_contains("rate"); rate && rate->is_object()) {
      reader rin(rate->get_object(), "rate: ", why);
      ok = rin.number("target_per_s", r.rate_target, false) && rin.count("scheduled", r.scheduled, false) &&
           rin.count("late", r.late, false) && rin.count("skipped", r.skipped, false);
    }
  }
  ok = ok && read_list(in, "thresholds", r.thresholds, why, [](reader& t, threshold_result& tr) {
         return t.text("expr", tr.expr, true) && t.text("metric", tr.metric, true) &&
                t.number("observed", tr.observed, true) && (t.find("ok") || t.fail("missing 'ok'")) &&
                t.flag("ok", tr.ok);
       });
  ok = ok && read_list(in, "shard_summaries", r.shard_summaries, why, [](reader& t, shard_summary& sh) {
         return t.count("index", sh.index, true) && t.text("file", sh.file, false) &&
                t.count("requests", sh.requests, true) && t.count("errors", sh.errors, true) &&
                t.count("p99_ns", sh.p99_ns, true);
       });
  ok = ok && in.count("engine_requests", r.engine_requests, false) && in.count("lists", r.lists, false) &&
       in.count("detected_early", r.detected_early, false) &&
       read_detection(in, "detection_delay_us", r.detection, r.detection_measured);
  if (ok) {
    if (const bj::value* j = d.if_contains("jobs"); j && j->is_object()) {
      reader jin(j->get_object(), "jobs: ", why);
      ok = jin.count("created", r.jobs, true) && jin.count("duplicates", r.duplicates, false);
    }
  }
  ok = ok && read_list(in, "clusters", r.clusters, why, [](reader& t, cluster_summary& c) {
         bool present = false;
         return t.count("index", c.index, true) && t.text("target", c.target, false) &&
                t.count("requests", c.requests, true) && t.count("lists", c.lists, false) &&
                t.count("completed", c.completed, true) && read_detection(t, "detection_delay_us", c.detection, present);
       });
  if (!ok) return std::nullopt;
  if (const bj::value* p = d.if_contains("parameters"); p && p->is_object()) r.parameters = to_param(*p);

  const bj::object* h = in.object("histogram", true);
  if (!h) return std::nullopt;
  reader hin(*h, "histogram: ", why);
  std::uint64_t bits = 0, count = 0, mn = 0, mx = 0, sum = 0;
  std::string unit;
  if (!hin.text("unit", unit, false) || !hin.count("sub_bucket_bits", bits, false) || unit != "ns" ||
      bits != static_cast<std::uint64_t>(histogram::sub_bits)) {
    why = "the histogram is not in this version's layout (unit ns, sub_bucket_bits " +
          std::to_string(histogram::sub_bits) + ")";
    return std::nullopt;
  }
  std::vector<std::pair<std::uint32_t, std::uint64_t>> buckets;
  if (!hin.count("count", count, true) || !hin.count("min", mn, true) || !hin.count("max", mx, true) ||
      !hin.count("sum", sum, true) || !hin.buckets("buckets", buckets))
    return std::nullopt;
  for (const auto& [i, n] : buckets) r.latency.add_bucket(i, n);
  if (r.latency.count() != count) {
    why = "histogram: its buckets hold " + std::to_string(r.latency.count()) + " values but count says " +
          std::to_string(count);
    return std::nullopt;
  }
  if (count) r.latency.set_extremes(mn, mx, sum);

  if (!read_list(in, "series", r.series, why, read_interval)) return std::nullopt;
  return r;
}

std::string to_json_text(const json_value& v) { return bj::serialize(from_param(v)); }

}  // namespace pollster::cli
