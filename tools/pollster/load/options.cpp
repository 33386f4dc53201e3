#include "load/options.hpp"

#include <charconv>
#include <cmath>
#include <vector>

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

// A duration > 0; a bare number is seconds (as --duration 10 always was).
std::optional<std::chrono::nanoseconds> positive_duration(const std::string& flag, const std::string& text,
                                                          std::string& why) {
  auto d = tools::parse_duration(text, why, "s");
  if (d && d->count() <= 0) {
    why = "'" + text + "' is not a positive duration";
    d.reset();
  }
  if (!d) why = flag + ": " + why;
  return d;
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
  const std::string form = "wants INITIAL:MULTIPLIER:MAX[:JITTER] like 1s:1.5:20s, or one duration like 500ms";
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
  b.min_delay = std::min<duration>(100ms, b.initial);
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

std::optional<load_settings> check_options(const load_options& o, std::string& why) {
  load_settings s;
  auto run_for = positive_duration("--duration", o.duration, why);
  if (!run_for) return std::nullopt;
  s.run_for = *run_for;
  auto timeout = positive_duration("--request-timeout", o.request_timeout, why);
  if (!timeout) return std::nullopt;
  s.request_timeout = *timeout;
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
  s.shard_handles = share(o.handles, s.shard, s.shards);
  s.shard_connections = share(o.connections, s.shard, s.shards);
  if (s.shard_handles < o.threads) {
    why = "--handles " + std::to_string(o.handles) + " leaves this shard " + std::to_string(s.shard_handles) +
          " handles for " + std::to_string(o.threads) + " threads: give at least one per thread";
    return std::nullopt;
  }
  if (s.shard_connections < o.threads) {
    why = "--connections " + std::to_string(o.connections) + " leaves this shard " +
          std::to_string(s.shard_connections) + " connections for " + std::to_string(o.threads) +
          " threads: give at least one per thread";
    return std::nullopt;
  }
  s.embedded = o.url.empty();
  if (s.embedded && (!o.tls.ca_file.empty() || !o.tls.pin_sha256.empty() || o.tls.insecure ||
                     o.tls.allow_plaintext || !o.password_file.empty())) {
    why = "--ca-file, --pin-sha256, --insecure, --allow-plaintext and --password-file need --target "
          "(the embedded simulator's certificate is pinned and its password generated)";
    return std::nullopt;
  }
  auto purge = parse_purge(o.purge);
  if (!purge) {
    why = "--purge wants after-delivery, never or on-read, not '" + o.purge + "'";
    return std::nullopt;
  }
  s.purge = *purge;
  s.open_loop = o.rate > 0;
  return s;
}

void add_load_flags(CLI::App& app, load_options& o) {
  app.add_option("--target", o.url, "https://HOST[:PORT]/json-rpc/VERSION (default: start the embedded simulator)");
  app.add_option("--user", o.user, "cluster admin user (default admin)");
  app.add_option("--password-file", o.password_file,
                 "file whose first line is the password (default: $POLLSTER_PASSWORD); with --target");
  o.tls.add_to(app);
  app.add_option("--handles", o.handles, "operations kept outstanding, in all shards (default 1000)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10'000'000}));
  app.add_option("--connections", o.connections, "connections in all, over all shards (default 16)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1024}));
  app.add_option("--duration", o.duration, "how long to run: 10s, 500ms, 2m (default 10s)");
  app.add_option("--rate", o.rate, "open loop: requests per second in all, on a fixed timetable (default: closed loop)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--purge", o.purge, "after-delivery (default) | never (no release request) | on-read");
  app.add_option("--backoff", o.backoff,
                 "poll spacing INITIAL:MULTIPLIER:MAX[:JITTER] (default 1s:1.5:20s), or one fixed DURATION");
  app.add_option("--threads", o.threads, "shared-nothing worker threads (default 1)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{256}));
  app.add_option("--shard", o.shard, "K/N: this process is shard K of N (default 0/1)");
  app.add_option("--json", o.json_file, "write the report as JSON to FILE");
  app.add_option("--html", o.html_file, "write a self-contained HTML report with charts to FILE");
  app.add_option("--max-p99", o.max_p99_ms, "exit 1 when the p99 latency is above MS milliseconds")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-error-ratio", o.max_error_ratio,
                 "exit 1 when errors/requests (or failed/ended operations) is above X")
      ->check(CLI::Range(0.0, 1e9));
  app.add_option("--request-timeout", o.request_timeout, "bound on one request (default 10s)");
  app.add_option("--first-handle", o.first_handle, "lowest handle number used (default 1)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 52));
  app.add_option("--sim-job-duration", o.sim_job_duration,
                 "embedded simulator: how long jobs run, 2s | uniform:1s:5s | lognormal:2s:0.5 (default "
                 "lognormal:2s:0.5; 0s answers complete at once: a max-rate test)");
}

}  // namespace pollster::cli::load
