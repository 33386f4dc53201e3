#include "load/options.hpp"

#include <charconv>
#include <cmath>
#include <algorithm>
#include <vector>

#include "fan_in_flag.hpp"
#include "pollster/tools/duration.hpp"

namespace pollster::cli::load {

using namespace std::chrono_literals;

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t from = 0;
  for (;;) {
    const auto at = text.find(sep, from);
    parts.push_back(text.substr(from, at == std::string::npos ? std::string::npos : at - from));
    if (at == std::string::npos) return parts;
    from = at + 1;
  }
}

}  // namespace

std::optional<backoff_policy> parse_backoff(const std::string& text, std::string& why) {
  const std::vector<std::string> parts = split(text, ':');
  auto number = [](const std::string& s, double& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && !s.empty() && std::isfinite(out);
  };
  auto duration_of = [](const std::string& s) {
    std::string ignored;
    return tools::parse_duration(s, ignored, "s");
  };
  const std::string form =
      "wants 'learned', INITIAL:MULTIPLIER:MAX[:JITTER] like 1s:1.5:20s, or one duration like 500ms";
  if (text == "learned") return wait_options{}.poll;  // the engine's default
  backoff_policy b;
  b.jitter = 1.0;
  if (parts.size() == 1) {
    auto d = duration_of(parts[0]);
    if (!d || d->count() <= 0) {
      why = "'" + text + "' " + form;
      return std::nullopt;
    }
    b.initial = b.max_delay = *d;
    b.multiplier = 1.0;
    b.jitter = 0.0;  // fixed: exactly this spacing
  } else if (parts.size() == 3 || parts.size() == 4) {
    auto i = duration_of(parts[0]);
    auto m = duration_of(parts[2]);
    if (!i || i->count() <= 0) {
      why = "initial delay '" + parts[0] + "' is not a positive duration (" + form + ")";
      return std::nullopt;
    }
    if (!number(parts[1], b.multiplier) || b.multiplier < 1.0) {
      why = "multiplier '" + parts[1] + "' must be a number >= 1 (" + form + ")";
      return std::nullopt;
    }
    if (!m || *m < *i) {
      why = "maximum '" + parts[2] + "' must be a duration at least the initial delay (" + form + ")";
      return std::nullopt;
    }
    if (parts.size() == 4 && (!number(parts[3], b.jitter) || b.jitter < 0 || b.jitter > 1)) {
      why = "jitter '" + parts[3] + "' must be within [0, 1] (" + form + ")";
      return std::nullopt;
    }
    b.initial = *i;
    b.max_delay = *m;
  } else {
    why = "'" + text + "' " + form;
    return std::nullopt;
  }
  // Fixed: never closer than the spacing asked for (a 2 s loop is a 2 s loop).
  b.min_delay = parts.size() == 1 ? b.initial : std::min<duration>(100ms, b.initial);
  return b;
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_shard(const std::string& text, std::string& why) {
  const auto slash = text.find('/');
  std::uint64_t k = 0, n = 0;
  auto num = [](std::string_view s, std::uint64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
  };
  if (slash == std::string::npos || !num(std::string_view(text).substr(0, slash), k) ||
      !num(std::string_view(text).substr(slash + 1), n) || n == 0 || k >= n || n > 100000) {
    why = "'" + text + "' is not K/N with 0 <= K < N (like 0/4)";
    return std::nullopt;
  }
  return std::pair{k, n};
}

std::uint64_t share(std::uint64_t total, std::uint64_t k, std::uint64_t n) {
  return total / n + (k < total % n ? 1 : 0);
}

std::string load_options::name(const std::string& canonical) const {
  const auto it = typed.find(canonical);
  return it == typed.end() ? canonical : it->second;
}

std::string nearest_flag(const std::string& unknown, const std::vector<std::string>& known) {
  // Levenshtein distance, two rows. CLI11 2.1 suggests nothing, hence this.
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  const std::string bare = unknown.substr(0, unknown.find('='));
  std::string best;
  std::size_t best_d = std::max<std::size_t>(2, bare.size() / 3) + 1;
  for (const auto& k : known) {
    if (k.size() < 3) continue;  // -c, -d: too short to be a useful guess
    // A prefix ("--conn") is the likeliest meaning.
    const std::size_t d = k.rfind(bare, 0) == 0 && bare.size() >= 4 ? 1 : distance(bare, k);
    if (d < best_d) best_d = d, best = k;
  }
  return best;
}

namespace {

struct checker {
  const load_options& o;
  std::string& why;

  bool fail(std::string text) {
    why = std::move(text);
    return false;
  }
  // A whole number in [lo, hi], quoted as written when it is not.
  bool whole(const std::string& flag, const std::string& text, std::uint64_t lo, std::uint64_t hi,
             std::uint64_t& out) {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (text.empty() || ec != std::errc() || p != text.data() + text.size() || out < lo || out > hi)
      return fail(o.name(flag) + " wants a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                  ", not '" + text + "'");
    return true;
  }
  bool duration(const std::string& flag, const std::string& text, bool allow_zero, std::chrono::nanoseconds& out) {
    std::string inner;
    auto d = tools::parse_duration(text, inner, "s");
    if (!d) return fail(o.name(flag) + ": " + inner);
    if (!allow_zero && d->count() <= 0)
      return fail(o.name(flag) + " wants a positive duration (like 10s, 1m30s), not '" + text + "'");
    out = *d;
    return true;
  }
};

}  // namespace

std::optional<load_settings> check_options(const load_options& o, std::string& why) {
  load_settings s;
  checker c{o, why};
  if (!o.extras.empty()) {
    const std::string& bad = o.extras.front();
    why = bad.rfind("-", 0) == 0 ? "unknown flag '" + bad + "'" : "unexpected argument '" + bad + "'";
    const std::string near = bad.rfind("-", 0) == 0 ? nearest_flag(bad, o.flag_names) : "";
    if (!near.empty()) why += "; did you mean " + near + "?";
    else why += " (see pollster load --help)";
    return std::nullopt;
  }
  if (!c.whole("--handles", o.handles, 1, 10'000'000, s.handles)) return std::nullopt;
  if (!c.whole("--connections", o.connections, 1, 1024, s.connections)) return std::nullopt;
  if (!c.whole("--threads", o.threads, 1, 256, s.threads)) return std::nullopt;
  if (!c.whole("--first-handle", o.first_handle, 1, std::uint64_t{1} << 52, s.first_handle)) return std::nullopt;
  if (!o.rate.empty()) {
    auto [p, ec] = std::from_chars(o.rate.data(), o.rate.data() + o.rate.size(), s.rate, std::chars_format::fixed);
    if (ec != std::errc() || p != o.rate.data() + o.rate.size() || !std::isfinite(s.rate) || s.rate < 0 ||
        s.rate > 1e8 || o.rate.front() == '-') {
      why = o.name("--rate") + " wants polls per second, a number from 0 to 100000000 (like 500 or 2.5), not '" +
            o.rate + "'";
      return std::nullopt;
    }
  }
  if (!c.duration("--duration", o.duration, false, s.run_for)) return std::nullopt;
  if (!c.duration("--warmup", o.warmup, true, s.warmup)) return std::nullopt;
  if (!c.duration("--request-timeout", o.request_timeout, false, s.request_timeout)) return std::nullopt;
  auto backoff = parse_backoff(o.backoff, why);
  if (!backoff) {
    why = "--backoff: " + why;
    return std::nullopt;
  }
  s.backoff = *backoff;
  auto shard = parse_shard(o.shard, why);
  if (!shard) {
    why = "--shard: " + why;
    return std::nullopt;
  }
  std::tie(s.shard, s.shards) = *shard;
  s.shard_handles = share(s.handles, s.shard, s.shards);
  s.shard_connections = share(s.connections, s.shard, s.shards);
  if (s.shard_handles < s.threads) {
    why = o.name("--handles") + " " + o.handles + " leaves this shard " + std::to_string(s.shard_handles) +
          " handles for " + o.threads + " threads: give at least one per thread";
    return std::nullopt;
  }
  if (s.shard_connections < s.threads) {
    why = o.name("--connections") + " " + o.connections + " leaves this shard " +
          std::to_string(s.shard_connections) + " connections for " + o.threads +
          " threads: give at least one per thread";
    return std::nullopt;
  }
  s.embedded = o.url.empty();
  if (!s.embedded) s.targets = o.urls.empty() ? std::vector<std::string>{o.url} : o.urls;
  const auto fan_in = parse_fan_in(o.fan_in);
  if (!fan_in) {
    why = fan_in_error(o.name("--fan-in"), o.fan_in);
    return std::nullopt;
  }
  s.fan_in = *fan_in;
  s.clusters = s.embedded ? 1 : s.targets.size();
  if (!o.clusters.empty()) {
    if (!c.whole("--clusters", o.clusters, 1, 1000, s.clusters)) return std::nullopt;
    if (!s.embedded && s.clusters != s.targets.size()) {
      why = o.name("--clusters") + " " + o.clusters + " with " + std::to_string(s.targets.size()) + " " +
            o.name("--endpoint") + ": give one " + o.name("--endpoint") + " per cluster (or leave out " +
            o.name("--clusters") + ")";
      return std::nullopt;
    }
  }
  if (!c.whole("--other-results", o.other_results, 0, 10'000'000, s.other_results)) return std::nullopt;
  if (!s.embedded && s.other_results > 0) {
    why = o.name("--other-results") + " is for the embedded simulator; a --target keeps what it keeps";
    return std::nullopt;
  }
  if (!o.sim_running_details.empty()) {
    if (o.sim_running_details != "progress" && o.sim_running_details != "empty") {
      why = o.name("--sim-running-details") + " wants progress or empty (got '" + o.sim_running_details + "')";
      return std::nullopt;
    }
    if (!s.embedded) {
      why = o.name("--sim-running-details") + " is for the embedded simulator; a --target answers as it answers";
      return std::nullopt;
    }
    s.sim_progress_details = o.sim_running_details == "progress";
  }
  if (!o.jobs.empty()) {
    if (!c.whole("--jobs", o.jobs, 1, 10'000'000, s.jobs)) return std::nullopt;
    if (o.typed.count("--handles")) {
      why = o.name("--jobs") + " starts every job at once: leave out " + o.name("--handles");
      return std::nullopt;
    }
    if (!o.rate.empty()) {
      why = o.name("--jobs") + " is a closed-loop run: leave out " + o.name("--rate");
      return std::nullopt;
    }
    if (s.warmup.count() > 0) {
      why = o.name("--jobs") + " measures every job from the start: leave out " + o.name("--warmup");
      return std::nullopt;
    }
    s.handles = s.jobs;
    s.shard_handles = share(s.handles, s.shard, s.shards);
  }
  if (s.clusters > 1 && !o.rate.empty()) {
    why = "several clusters (" + o.name("--clusters") + " or several " + o.name("--endpoint") +
          ") need the closed loop: leave out " + o.name("--rate");
    return std::nullopt;
  }
  if (s.shard_handles < s.threads * s.clusters) {
    why = o.name(s.jobs ? "--jobs" : "--handles") + " " + std::to_string(s.handles) + " leaves this shard " +
          std::to_string(s.shard_handles) + " for " + std::to_string(s.threads) + " threads and " +
          std::to_string(s.clusters) + " clusters: give at least one per thread and cluster";
    return std::nullopt;
  }
  if (s.embedded && (!o.tls.ca_file.empty() || !o.tls.pin_sha256.empty() || o.tls.insecure ||
                     o.tls.allow_plaintext || !o.password_file.empty())) {
    why = "--ca-file, --pin-sha256, --insecure, --allow-plaintext and --password-file need --endpoint "
          "(also --target; the embedded simulator's certificate is pinned and its password generated)";
    return std::nullopt;
  }
  auto purge = parse_purge(o.purge);
  if (!purge) {
    why = "--purge wants after-delivery, never or on-read, not '" + o.purge + "'";
    return std::nullopt;
  }
  s.purge = *purge;
  s.open_loop = s.rate > 0;
  for (const auto& expr : o.thresholds) {
    auto t = parse_threshold(expr, why);
    if (!t) {
      why = "--threshold: " + why;
      return std::nullopt;
    }
    if (needs_simulator(*t) && !s.embedded) {
      why = "--threshold '" + expr + "': " + t->metric +
            " is measured only against the embedded simulator (it knows when each job completed)";
      return std::nullopt;
    }
    s.thresholds.push_back(std::move(*t));
  }
  // The old flags, kept as thresholds: --max-p99 MS (a bare number is ms)
  // and --max-error-ratio X (requests and operations alike).
  if (!o.max_p99.empty()) {
    std::chrono::nanoseconds limit{};
    std::string inner;
    auto d = tools::parse_duration(o.max_p99, inner, "ms");
    if (!d || d->count() <= 0) {
      why = "--max-p99 wants a positive latency (a bare number is milliseconds, like 250 or 1.5s), not '" +
            o.max_p99 + "'";
      return std::nullopt;
    }
    limit = *d;
    threshold t{.expr = "p99<=" + tools::format_duration(limit), .flag = "--max-p99 " + o.max_p99,
                .metric = "p99", .cmp = threshold::op::le, .limit = static_cast<double>(limit.count()) / 1e6};
    s.thresholds.push_back(std::move(t));
  }
  if (!o.max_error_ratio.empty()) {
    for (const char* metric : {"error_ratio", "operation_error_ratio"}) {
      auto t = parse_threshold(std::string(metric) + "<=" + o.max_error_ratio, why);
      if (!t) {
        why = "--max-error-ratio wants a fraction like 0.01 or a percentage like 1%, not '" + o.max_error_ratio + "'";
        return std::nullopt;
      }
      t->flag = "--max-error-ratio " + o.max_error_ratio;
      s.thresholds.push_back(std::move(*t));
    }
  }
  // Outputs: only one may take standard output.
  int to_stdout = 0;
  for (const std::string* f : {&o.json_file, &o.csv_file, &o.openmetrics_file, &o.junit_file}) to_stdout += *f == "-";
  if (to_stdout > 1) {
    why = "only one of --json, --csv, --openmetrics and --junit may be '-' (standard output)";
    return std::nullopt;
  }
  if (o.html_file == "-") {
    why = "--html wants a file name; '-' (standard output) is for --json, --csv, --openmetrics or --junit";
    return std::nullopt;
  }
  return s;
}

namespace {

// A flag with aliases: the first name is shown in --help (naming the others),
// the others are hidden options writing the same value. Each records the
// name used, so that messages say "-c", not "--connections", when -c was typed.
CLI::Option* text_flag(CLI::App& app, load_options& o, std::vector<std::string> names, std::string& value,
                       std::string help, const char* env = nullptr) {
  const std::string canonical = names.front();
  if (names.size() > 1) {
    help += " (also";
    for (std::size_t i = 1; i < names.size(); ++i) help += " " + names[i];
    help += ")";
  }
  if (env) help += std::string(" [env ") + env + "]";
  CLI::Option* main = nullptr;
  for (const auto& n : names) {
    CLI::Option* opt = app.add_option(n, value, n == canonical ? help : "");
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // "-d 2s ... -d 5s": the last one
    opt->each([&o, canonical, n](const std::string&) { o.typed[canonical] = n; });
    if (n == canonical) main = opt;
    else opt->group("");
    o.flag_names.push_back(n);
  }
  if (env) main->envname(env);
  return main;
}

}  // namespace

void add_load_flags(CLI::App& app, load_options& o) {
  // Unknown arguments reach check_options, which suggests the nearest flag.
  app.allow_extras();
  text_flag(app, o, {"--endpoint", "--target"}, o.url,
            "https://HOST[:PORT]/json-rpc/VERSION (default: start the embedded simulator); repeat it for "
            "several clusters, the handles spread over them",
            "POLLSTER_ENDPOINT");
  // Every value, not only the last: several targets are several clusters.
  for (const char* n : {"--endpoint", "--target"})
    app.get_option(n)->each([&o](const std::string& v) { o.urls.push_back(v); });
  text_flag(app, o, {"--user"}, o.user, "cluster admin user (default admin)", "POLLSTER_USER");
  text_flag(app, o, {"--password-file"}, o.password_file,
            "file whose first line is the password (default: $POLLSTER_PASSWORD); with --endpoint");
  o.tls.add_to(app);
  for (auto [flag, env] : {std::pair{"--ca-file", "POLLSTER_CA_FILE"}, {"--pin-sha256", "POLLSTER_PIN_SHA256"}})
    if (auto* opt = app.get_option_no_throw(flag)) opt->envname(env);
  for (const char* f : {"--ca-file", "--pin-sha256", "--insecure", "--allow-plaintext"}) o.flag_names.push_back(f);
  text_flag(app, o, {"--handles"}, o.handles, "operations kept outstanding, in all shards (default 1000)");
  text_flag(app, o, {"--connections", "-c", "--pool-size"}, o.connections,
            "connections in all, over all shards (default 16)", "POLLSTER_CONNECTIONS");
  text_flag(app, o, {"--duration", "-d"}, o.duration, "how long to measure: 10s, 500ms, 1m30s (default 10s)");
  text_flag(app, o, {"--warmup"}, o.warmup,
            "run this long first, left out of the figures (greyed on the charts; default 0s)");
  text_flag(app, o, {"--rate", "-R"}, o.rate,
            "open loop: polls per second in all, on a fixed timetable; releases come on top and are "
            "reported apart (default: closed loop)");
  text_flag(app, o, {"--purge"}, o.purge, "after-delivery (default) | never (no release request) | on-read");
  text_flag(app, o, {"--backoff"}, o.backoff,
            "poll spacing: learned (default: where the cluster's completions say polls are due, "
            "within 100ms..20s), INITIAL:MULTIPLIER:MAX[:JITTER] (e.g. 1s:1.5:20s), or one fixed DURATION");
  text_flag(app, o, {"--threads", "-t"}, o.threads, "shared-nothing worker threads (default 1)");
  text_flag(app, o, {"--shard"}, o.shard, "K/N: this process is shard K of N (default 0/1)");
  text_flag(app, o, {"--json"}, o.json_file, "write the report as JSON to FILE ('-': standard output)");
  text_flag(app, o, {"--html"}, o.html_file, "write a self-contained HTML report with charts to FILE");
  text_flag(app, o, {"--csv"}, o.csv_file, "write the per-second series as CSV to FILE ('-': standard output)");
  text_flag(app, o, {"--openmetrics"}, o.openmetrics_file,
            "write the final figures as OpenMetrics text to FILE ('-': standard output)");
  text_flag(app, o, {"--junit"}, o.junit_file,
            "write one JUnit test case per threshold to FILE ('-': standard output)");
  app.add_option("--threshold", o.thresholds,
                 "pass/fail rule, repeatable: p99<250ms, p99.9<=1s, max<2s, error_ratio<1%, rate>=950, "
                 "completed_rate>100; exit 1 when one fails")
      ->allow_extra_args(false);
  o.flag_names.push_back("--threshold");
  text_flag(app, o, {"--max-p99"}, o.max_p99, "same as --threshold 'p99<=MS' (a bare number is milliseconds)");
  text_flag(app, o, {"--max-error-ratio"}, o.max_error_ratio,
            "same as --threshold 'error_ratio<=X' --threshold 'operation_error_ratio<=X'");
  text_flag(app, o, {"--request-timeout", "--timeout"}, o.request_timeout, "bound on one request (default 10s)",
            "POLLSTER_REQUEST_TIMEOUT");
  text_flag(app, o, {"--first-handle"}, o.first_handle, "lowest handle number used (default 1)");
  text_flag(app, o, {"--sim-job-duration"}, o.sim_job_duration,
            "embedded simulator: how long jobs run, 2s | uniform:1s:5s | lognormal:2s:0.5 (default "
            "lognormal:2s:0.5; 0s answers complete at once: a max-rate test)");
  text_flag(app, o, {"--fan-in"}, o.fan_in,
            "how each cluster's waits learn of their operations: auto (default: one ListAsyncResults or "
            "per-handle polls, whichever costs the cluster less) | list | per-handle",
            "POLLSTER_FAN_IN");
  // The fan-in and embedded-simulator flags: name, where it goes, help.
  const struct {
    const char* name;
    std::string* value;
    const char* help;
  } sim_flags[] = {
      {"--clusters", &o.clusters,
       "embedded simulator: N simulated clusters, each on its own listener with its own jobs; the handles "
       "spread over them, one engine client each (default 1; with several --target: their count)"},
      {"--jobs", &o.jobs,
       "N operations in all, every one outstanding from the start and none replaced; the run ends when "
       "they all ended (or --duration passes). Embedded simulator: the jobs are created at the start with "
       "--sim-job-duration (default: the plain closed loop)"},
      {"--other-results", &o.other_results,
       "embedded simulator: N completed results of other clients kept on each cluster, listed by "
       "ListAsyncResults like ours (default 0)"},
      {"--sim-running-details", &o.sim_running_details,
       "embedded simulator: details of a running result: progress (percentComplete; default) | empty "
       "({}: the engine has no progress to predict from)"},
  };
  for (const auto& f : sim_flags) text_flag(app, o, {f.name}, *f.value, f.help);
  app.add_flag("--no-progress", o.no_progress, "no progress line on standard error");
  o.flag_names.push_back("--no-progress");
  app.add_flag("--no-id-check", o.no_id_check,
               "accept answers whose JSON-RPC id is not the request's (static test servers that "
               "always answer \"id\":1, e.g. nginx in bench/compare); never against a cluster");
  o.flag_names.push_back("--no-id-check");
  o.flag_names.push_back("--help");
}

}  // namespace pollster::cli::load
