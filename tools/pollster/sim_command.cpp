// `pollster sim`: the simulated Element cluster, standalone.
#include "pollster/command.hpp"
#include "pollster/sim/server.hpp"
#include "pollster/tools/atomic_file.hpp"
#include "sim_jobs.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>

namespace pollster::cli {

namespace {

struct sim_options {
  std::string listen;
  std::string user;
  std::string password;
  std::string cert_file;
  std::string key_file;
  std::string write_cert;
  std::string api_version = "12.5";
  std::string job_duration = "2s";
  std::string fail_ratio = "0";
  bool auto_jobs = false;
  std::string auto_job_type = "Clone";
  std::string retention = "1000000";
  std::string body_limit = "1MiB";
  std::string seed = "1";
  std::string other_results = "0";
  std::string service_time = "0";
  std::string service_time_per_kib = "0";
  bool pretty = false;
  std::string running_details = "progress";
  std::string jobs = "0";
  std::string jobs_out;
  // faults
  std::string latency = "0";
  std::string latency_ratio;
  std::string retryable_error_ratio = "0";
  std::string transient_gone_ratio = "0";
  std::string http_503_ratio = "0";
  std::string connection_close_ratio = "0";
  std::string close_after = "0";
  std::string reset_mid_response_ratio = "0";
  std::string drop_after_purge_ratio = "0";
  std::string failover_period = "0";
  std::string slow_handshake = "0";
};

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

double ratio(const std::string& flag, const std::string& text) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || !(v >= 0 && v <= 1))
    throw usage_error(flag + " wants a ratio between 0 and 1, not '" + text + "'");
  return v;
}

template <class T>
T integer(const std::string& flag, const std::string& text) {
  T v{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || text.empty())
    throw usage_error(flag + " wants a non-negative integer, not '" + text + "'");
  return v;
}

std::size_t bytes(const std::string& flag, const std::string& text) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  std::string_view unit(p, static_cast<std::size_t>(text.data() + text.size() - p));
  std::uint64_t mult = 0;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "K" || unit == "KiB" || unit == "k") mult = 1024;
  else if (unit == "M" || unit == "MiB") mult = 1024 * 1024;
  else if (unit == "G" || unit == "GiB") mult = 1024ULL * 1024 * 1024;
  if (ec != std::errc{} || mult == 0 || v == 0 || v > (std::uint64_t{1} << 40) / mult)
    throw usage_error(flag + " wants a positive size in bytes (like 65536, 64KiB, 1MiB), not '" + text + "'");
  return static_cast<std::size_t>(v * mult);
}

sim::duration_dist dist(const std::string& flag, const std::string& text) {
  std::string why;
  auto d = sim::duration_dist::parse(text, why);
  if (!d) throw usage_error(flag + ": " + why);
  return *d;
}

sim::duration fixed_duration(const std::string& flag, const std::string& text) {
  auto d = dist(flag, text);
  if (d.shape != sim::duration_dist::kind::fixed)
    throw usage_error(flag + " wants a single duration (like 30s), not a distribution");
  return d.a;
}

std::string read_file(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw usage_error(flag + ": cannot read '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void parse_listen(const std::string& text, sim::config& cfg) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw usage_error("--listen wants HOST:PORT or [IPV6]:PORT, not '" + text + "'");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon)
      throw usage_error("--listen wants HOST:PORT or [IPV6]:PORT, not '" + text + "'");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty()) host = "127.0.0.1";
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || p > 65535)
    throw usage_error("--listen: '" + port + "' is not a port number (0-65535)");
  cfg.listen_host = host;
  cfg.port = static_cast<std::uint16_t>(p);
}

sim::config make_config(const sim_options& o) {
  sim::config cfg;
  if (o.listen.empty()) throw usage_error("--listen HOST:PORT is required");
  if (o.user.empty()) throw usage_error("--user NAME is required");
  if (o.password.empty()) throw usage_error("--password PW is required");
  parse_listen(o.listen, cfg);
  cfg.user = o.user;
  cfg.password = o.password;
  if (o.user.find(':') != std::string::npos) throw usage_error("--user cannot contain ':' (HTTP Basic)");
  if (!o.key_file.empty() && o.cert_file.empty()) throw usage_error("--key needs --cert");
  if (!o.cert_file.empty()) {
    cfg.cert_pem = read_file("--cert", o.cert_file);
    cfg.key_pem = read_file("--key", o.key_file.empty() ? o.cert_file : o.key_file);
  }
  if (o.api_version.empty() || o.api_version.find_first_not_of("0123456789.") != std::string::npos)
    throw usage_error("--api-version wants a version like 12.5, not '" + o.api_version + "'");
  cfg.api_version = o.api_version;
  cfg.job_duration = dist("--job-duration", o.job_duration);
  cfg.fail_ratio = ratio("--fail-ratio", o.fail_ratio);
  cfg.auto_jobs = o.auto_jobs;
  if (o.auto_job_type != "Clone" && o.auto_job_type != "BulkVolume" && o.auto_job_type != "DriveAdd" &&
      o.auto_job_type != "DriveRemoval" && o.auto_job_type != "RtfiPendingNode")
    throw usage_error("--auto-job-type wants Clone, BulkVolume, DriveAdd, DriveRemoval or RtfiPendingNode");
  cfg.auto_job_result_type = o.auto_job_type;
  cfg.retention = integer<std::size_t>("--retention", o.retention);
  cfg.body_limit = bytes("--body-limit", o.body_limit);
  cfg.seed = integer<std::uint64_t>("--seed", o.seed);
  cfg.other_results = integer<std::size_t>("--other-results", o.other_results);
  if (cfg.other_results > 100'000'000) throw usage_error("--other-results wants at most 100000000");
  cfg.service.base = fixed_duration("--service-time", o.service_time);
  cfg.service.per_kib = fixed_duration("--service-time-per-kib", o.service_time_per_kib);
  cfg.pretty = o.pretty;
  if (o.running_details != "progress" && o.running_details != "empty")
    throw usage_error("--running-details wants progress or empty (got '" + o.running_details + "')");
  cfg.progress_details = o.running_details == "progress";

  sim::faults& f = cfg.fault;
  f.latency = dist("--latency", o.latency);
  const bool latency_set = f.latency.shape != sim::duration_dist::kind::fixed || f.latency.a.count() > 0;
  f.latency_ratio = o.latency_ratio.empty() ? (latency_set ? 1.0 : 0.0) : ratio("--latency-ratio", o.latency_ratio);
  f.retryable_error_ratio = ratio("--retryable-error-ratio", o.retryable_error_ratio);
  f.transient_gone_ratio = ratio("--transient-gone-ratio", o.transient_gone_ratio);
  f.http_503_ratio = ratio("--http-503-ratio", o.http_503_ratio);
  f.connection_close_ratio = ratio("--connection-close-ratio", o.connection_close_ratio);
  f.close_after_requests = integer<std::uint32_t>("--close-after", o.close_after);
  f.reset_mid_response_ratio = ratio("--reset-mid-response-ratio", o.reset_mid_response_ratio);
  f.drop_after_purge_ratio = ratio("--drop-after-purge-ratio", o.drop_after_purge_ratio);
  f.failover_period = fixed_duration("--failover-period", o.failover_period);
  f.slow_handshake = fixed_duration("--slow-handshake", o.slow_handshake);
  if (f.failover_period.count() > 0 && f.failover_period < std::chrono::milliseconds(10))
    throw usage_error("--failover-period below 10ms would leave no time to answer anything");
  return cfg;
}

// --jobs-out: one JSON line per job created by --jobs, with the wall-clock
// time (Unix seconds, to the millisecond) its duration ends. A client run
// from outside compares it with when it learned of the outcome: the
// detection delay, as `pollster load` measures it against its embedded
// simulator (bench/gentleness does this for `pollster watch`).
std::string jobs_lines(const sim::server& srv, const std::vector<std::uint64_t>& handles) {
  const auto steady_now = std::chrono::steady_clock::now();
  const auto wall_now = std::chrono::system_clock::now();
  std::string out;
  out.reserve(handles.size() * 48);
  for (auto h : handles) {
    const auto at = wall_now + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                   srv.completion_time(h).value_or(steady_now) - steady_now);
    const double unix_s =
        std::chrono::duration<double>(at.time_since_epoch()).count();
    char line[64];
    std::snprintf(line, sizeof line, "{\"handle\":%llu,\"completes_at\":%.3f}\n",
                  static_cast<unsigned long long>(h), unix_s);
    out += line;
  }
  return out;
}

int run_sim(const sim_options& o) {
  sim::config cfg;
  std::size_t jobs = 0;
  try {
    cfg = make_config(o);
    jobs = integer<std::size_t>("--jobs", o.jobs);
    if (jobs > 10'000'000) throw usage_error("--jobs wants at most 10000000");
    if (!o.jobs_out.empty() && jobs == 0) throw usage_error("--jobs-out needs --jobs N");
  } catch (const usage_error& e) {
    std::cerr << "pollster sim: " << e.what() << "\n";
    return exit_usage;
  }
  try {
    const auto job_duration = cfg.job_duration;
    const auto seed = cfg.seed;
    sim::server srv(std::move(cfg));
    srv.bind();
    if (jobs > 0) {
      std::mt19937_64 rng(seed);
      const auto handles = create_jobs(srv, job_duration, jobs, rng);
      if (!o.jobs_out.empty()) {
        tools::atomic_file out(o.jobs_out);
        if (!out.commit(jobs_lines(srv, handles))) {
          std::cerr << "pollster sim: --jobs-out: " << out.error() << "\n";
          return exit_usage;
        }
      }
    }
    if (!o.write_cert.empty()) {
      std::ofstream out(o.write_cert, std::ios::binary | std::ios::trunc);
      out << srv.certificate_pem();
      if (!out.flush()) {
        std::cerr << "pollster sim: --write-cert: cannot write '" << o.write_cert << "'\n";
        return exit_usage;
      }
    }
    srv.run(true, [&] {
      std::cout << "pollster sim: serving " << srv.url() << "\n"
                << "pollster sim: certificate sha256 " << srv.certificate_sha256() << std::endl;
    });
    std::cerr << "pollster sim: stats " << sim::to_json(srv.snapshot()) << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "pollster sim: " << e.what() << "\n";
    return exit_incomplete;
  }
  return exit_ok;
}

}  // namespace

command add_sim_command(CLI::App& parent) {
  auto o = std::make_shared<sim_options>();
  CLI::App* app = parent.add_subcommand(
      "sim", "Run a simulated Element cluster: HTTPS JSON-RPC on this machine, with jobs and faults");

  app->add_option("--listen", o->listen, "HOST:PORT or [IPV6]:PORT to serve on (port 0: any free port)");
  app->add_option("--user", o->user, "HTTP Basic user name the simulator accepts");
  app->add_option("--password", o->password, "HTTP Basic password the simulator accepts");
  app->add_option("--cert", o->cert_file, "PEM certificate (chain) to serve; default: a fresh self-signed one");
  app->add_option("--key", o->key_file, "PEM private key of --cert (default: read from the --cert file)");
  app->add_option("--write-cert", o->write_cert, "save the served certificate (PEM) here, to use as a CA file");
  app->add_option("--api-version", o->api_version, "API version served at /json-rpc/<version> (default 12.5)");

  // The options of one --help group, the group named once.
  auto option_in = [app](const char* group) {
    return [app, group](const char* flag, auto& into, const char* help) { app->add_option(flag, into, help)->group(group); };
  };
  auto* jobs = "Jobs";
  const auto job = option_in(jobs);
  job("--job-duration", o->job_duration, "how long jobs run: 2s | uniform:1s:5s | lognormal:MEDIAN:SIGMA (default 2s)");
  job("--fail-ratio", o->fail_ratio, "share of jobs that complete with an error (0..1)");
  app->add_flag("--auto-jobs", o->auto_jobs,
                "any unknown positive handle queried becomes a job starting at its first query")
      ->group(jobs);
  job("--auto-job-type", o->auto_job_type, "resultType of --auto-jobs jobs (default Clone)");
  job("--retention", o->retention, "completed results kept unpurged at most; the oldest are evicted (0: no bound)");
  job("--body-limit", o->body_limit, "largest request body accepted, else HTTP 413 (default 1MiB)");
  job("--seed", o->seed, "seed of every random decision (default 1)");
  job("--other-results", o->other_results, "completed results of other clients kept on the cluster, listed like ours (default 0)");
  job("--jobs", o->jobs, "jobs created at start, durations from --job-duration (default 0)");
  job("--jobs-out", o->jobs_out,
      "write each --jobs job as a JSON line: its handle and when it completes (Unix seconds)");
  job("--running-details", o->running_details,
      "details of a running result: progress (percentComplete, bytes; default) | empty ({}: no progress to predict from)");

  auto* cost = "Cost to the cluster (off by default)";
  const auto costs = option_in(cost);
  costs("--service-time", o->service_time, "cost of each answer; answers are served one at a time (like one MVIP)");
  costs("--service-time-per-kib", o->service_time_per_kib, "added cost per KiB of answer: a long ListAsyncResults costs more");
  app->add_flag("--pretty", o->pretty, "indent the JSON answers (as some servers and proxies do)")->group(cost);

  const auto fault = option_in("Faults (ratios are per request, 0..1)");
  fault("--latency", o->latency, "added before answering: 50ms | uniform:10ms:200ms | lognormal:M:S");
  fault("--latency-ratio", o->latency_ratio, "share of answers delayed (default 1 when --latency is set)");
  fault("--retryable-error-ratio", o->retryable_error_ratio, "answer xDBVersionMismatch or xNotPrimary instead");
  fault("--transient-gone-ratio", o->transient_gone_ratio, "answer xDBNoSuchPath for a live handle (nothing is purged)");
  fault("--http-503-ratio", o->http_503_ratio, "answer HTTP 503 with an HTML body and Retry-After: 1");
  fault("--connection-close-ratio", o->connection_close_ratio, "answer with Connection: close, then close the connection");
  fault("--close-after", o->close_after, "close each connection, unannounced, after N requests");
  fault("--reset-mid-response-ratio", o->reset_mid_response_ratio, "send half the answer, then reset the connection");
  fault("--drop-after-purge-ratio", o->drop_after_purge_ratio, "an answer that purged a result is never sent: the connection is reset");
  fault("--failover-period", o->failover_period, "reset every connection every T (MVIP failover)");
  fault("--slow-handshake", o->slow_handshake, "delay before each TLS handshake");

  return {app, [o] { return run_sim(*o); }};
}

}  // namespace pollster::cli
