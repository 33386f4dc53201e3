// pollster watch, running: every cluster on one io_context, one engine per
// cluster (so that each engine's observer tells that cluster's errors), one
// wait per handle, one line per outcome.
#include <signal.h>  // pthread_sigmask
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <iostream>
#include <memory>
#include <set>

#include "command.hpp"
#include "fan_in_flag.hpp"
#include "pollster/tools/json_escape.hpp"
#include "pollster/pollster.hpp"
#include "pollster/tools/duration.hpp"
#include "watch/clusters.hpp"
#include "watch/input.hpp"
#include "watch/line.hpp"
#include "watch/options.hpp"
#include "watch/output.hpp"

namespace pollster::cli::watch {

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr std::string_view prefix = "pollster watch: ";


struct cluster_state {
  cluster_spec spec;
  std::unique_ptr<engine> eng;
  std::unique_ptr<client> cl;
  /// The cause of failure last reported; empty once an answer arrived.
  std::string cause;
  std::uint64_t connect_failures_seen = 0;
};

class session {
 public:
  session(asio::io_context& ioc, std::shared_ptr<const wait_options> wopts, purge_policy purge)
      : ioc_(ioc), wopts_(std::move(wopts)), purge_(purge), signals_(ioc, SIGINT, SIGTERM),
        ticker_(ioc) {
    if (wopts_->deadline.count() > 0) deadline_ = std::chrono::steady_clock::now() + wopts_->deadline;
  }

  /// Builds the cluster's engine and client; false (reason on stderr) when
  /// the client refuses its configuration.
  bool add_cluster(cluster_spec spec) {
    auto c = std::make_unique<cluster_state>();
    c->spec = std::move(spec);
    cluster_state* raw = c.get();
    engine_config ecfg;
    ecfg.observer = [this, raw](const request_event& ev) { on_request(*raw, ev); };
    c->eng = std::make_unique<engine>(ioc_, std::move(ecfg));
    if (!c->spec.name.empty() && c->spec.config.tls.insecure_skip_verify)
      status_.message("pollster: WARNING: cluster \"" + c->spec.name +
                      "\": insecure: its certificate is not verified; anyone on the network "
                      "path can impersonate it and read the password");
    try {
      c->cl = std::make_unique<client>(*c->eng, c->spec.config);
    } catch (const std::system_error& e) {
      status_.message(std::string(prefix) + describe_config_error(c->spec, e));
      return false;
    }
    c->spec.config.password.assign(c->spec.config.password.size(), '\0');
    clusters_.push_back(std::move(c));
    specs_.push_back(clusters_.back()->spec);
    return true;
  }

  const std::vector<cluster_spec>& specs() const { return specs_; }

  void add(const handle_ref& ref) {
    if (stopping_ || !seen_.emplace(ref.cluster, ref.handle).second) return;  // each handle once
    ++pending_;
    cluster_state& c = *clusters_[ref.cluster];
    c.cl->async_wait(ref.handle, wopts_, [this, &c](outcome o) { on_outcome(c, std::move(o)); });
  }

  // --stats: what each cluster was sent, for judging how gentle a run was
  // from the client's side (the engine's counters, as `pollster load` reports them).
  void print_stats() const {
    for (const auto& c : clusters_) {
      const auto st = c->eng->stats();
      std::string line = "{\"cluster\":";
      tools::append_json_string(line, c->spec.label);
      for (auto [name, v] : {std::pair<const char*, std::uint64_t>{"requests", st.requests},
                             {"lists", st.lists}, {"list_entries", st.list_entries},
                             {"running_answers", st.running_answers}, {"releases", st.releases},
                             {"transient_errors", st.transient_errors},
                             {"list_fallbacks", st.list_fallbacks}, {"connects", st.connects}})
        line += ",\"" + std::string(name) + "\":" + std::to_string(v);
      line += "}\n";
      std::cerr << line;
    }
  }

  /// Runs until every handle is reported; returns the exit status.
  int run(bool read_stdin) {
    arm_signals();
    if (read_stdin) {
      reader_.emplace(
          ioc_, [this](std::string_view line, std::size_t n) { on_input_line(line, n); },
          [this](std::string why) { on_input_end(std::move(why)); });
      reading_ = true;
      reader_->start();
    }
    tick();
    maybe_finish();
    ioc_.run();
    status_.finish(status_text());
    if (out_.failed()) {
      status_.message(std::string(prefix) + std::to_string(undelivered_) +
                      " outcome(s) not written; their results were not released");
      return exit_incomplete;
    }
    if (interrupted_) return exit_interrupted;
    if (usage_errors_ > 0) return exit_usage;
    if (not_completed_ > 0) return exit_incomplete;
    if (task_failed_ > 0) return exit_task_failed;
    return exit_ok;
  }

  static constexpr int exit_task_failed = 3;

 private:
  void on_outcome(cluster_state& c, outcome o) {
    --pending_;
    if (o.kind == outcome_kind::succeeded)
      ++succeeded_;
    else if (o.kind == outcome_kind::task_failed)
      ++task_failed_;
    else
      ++not_completed_;
    if (!out_.failed()) {
      const std::string line = lines_.format(o, c.spec.name, c.cause);
      status_.clear();  // a terminal shows results, never a status line mixed in
      if (out_.write(line)) {
        // Released only now that the line is written: a result whose line
        // could not be written stays on the cluster.
        if (o.completed() && purge_ == purge_policy::after_delivery) c.cl->release(o.handle);  // the line is written and flushed: delivered
      } else {
        status_.message(std::string(prefix) + "cannot write to standard output: " + out_.error() +
                        "; stopping (results not written stay on the cluster)");
        stop();
      }
    }
    if (out_.failed()) ++undelivered_;
    maybe_finish();
  }

  // Reports the cause of a retry on stderr, once per change of cause.
  void note_cause(cluster_state& c, std::string cause) {
    if (cause == c.cause) return;
    c.cause = std::move(cause);
    if (!stopping_) status_.message(std::string(prefix) + c.spec.label + ": " + c.cause + "; retrying");
  }

  void on_request(cluster_state& c, const request_event& ev) {
    if (ev.what == request_event::kind::release) return;  // best effort, never retried for long
    if (ev.ec) {
      if (is_retryable(ev.ec)) note_cause(c, std::string(error_name(ev.ec)) + ": " + ev.ec.message());
    } else if (ev.http_status >= 500 || ev.http_status == 429 || ev.http_status == 408) {
      note_cause(c, "HTTP " + std::to_string(ev.http_status));
    } else if (ev.http_status == 200) {
      c.cause.clear();
    }
  }

  void on_input_line(std::string_view text, std::size_t number) {
    const std::string_view line = strip_input_line(text);
    if (line.empty()) return;
    std::string why;
    if (auto ref = parse_handle_ref(line, specs_, why)) {
      add(*ref);
    } else {
      ++usage_errors_;
      status_.message(std::string(prefix) + "standard input line " + std::to_string(number) + ": " + why);
    }
  }

  void on_input_end(std::string why) {
    reading_ = false;
    if (!why.empty()) {
      ++usage_errors_;
      status_.message(std::string(prefix) + why);
    }
    maybe_finish();
  }

  // Stops reading stdin and ends every wait (each still reported, as
  // cancelled, if stdout still takes lines).
  void stop() {
    if (stopping_) return;
    stopping_ = true;
    if (reader_ && reading_) {
      reader_->stop();
      reading_ = false;
    }
    for (auto& c : clusters_) c->cl->shutdown();
  }

  // SIGINT and SIGTERM stay handled until the process exits: a second one
  // while waits end is noted, not fatal; one after the last line cuts the
  // releases still pending (the results stay on the cluster: nothing lost).
  void arm_signals() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
      if (finished_) {
        interrupted_ = true;
        status_.message(std::string(prefix) + name + ": not waiting for the releases still pending");
        end_releases();
        return;
      }
      if (!interrupted_) {
        interrupted_ = true;
        status_.message(std::string(prefix) + name + ": stopping; every handle is still reported");
        stop();
      }
      arm_signals();
    });
  }

  // After the last line: releases go on until none is pending, or until the
  // grace ends (the run never waits past --timeout for them, nor past 10 s).
  bool releases_pending() const {
    for (const auto& c : clusters_)
      if (c->cl->pool().releases > 0) return true;
    return false;
  }
  void end_releases() {
    if (releases_ended_) return;
    releases_ended_ = true;
    for (auto& c : clusters_) c->cl->shutdown();
    signals_.cancel();
    ticker_.cancel();
  }

  void tick() {
    if (finished_) {
      if (!releases_pending() || std::chrono::steady_clock::now() >= release_grace_end_) {
        end_releases();
        return;
      }
      ticker_.expires_after(50ms);
      ticker_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) tick();
      });
      return;
    }
    // The engine's observer hears of exchanges, not of failed connects: the
    // connect failure counter tells those.
    for (auto& c : clusters_) {
      const std::uint64_t n = c->eng->stats().connect_failures;
      if (n > c->connect_failures_seen) {
        c->connect_failures_seen = n;
        note_cause(*c, "connect_failed: " + make_error_code(error::connect_failed).message());
      }
    }
    status_.draw(status_text());
    ticker_.expires_after(250ms);
    ticker_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  }

  std::string status_text() const {
    std::string s = std::to_string(succeeded_ + task_failed_ + not_completed_) + " done (" +
                    std::to_string(succeeded_) + " ok, " + std::to_string(task_failed_) +
                    " task failed, " + std::to_string(not_completed_) + " not completed), " +
                    std::to_string(pending_) + " waiting";
    if (reading_) s += ", reading stdin";
    return s;
  }

  void maybe_finish() {
    if (finished_ || reading_ || pending_ > 0) return;
    finished_ = true;
    release_grace_end_ = std::min(deadline_, std::chrono::steady_clock::now() + 10s);
    ticker_.cancel();  // tick() now watches the releases
    asio::post(ioc_, [this] { tick(); });
  }

  asio::io_context& ioc_;
  std::shared_ptr<const wait_options> wopts_;
  purge_policy purge_;
  asio::signal_set signals_;
  asio::steady_timer ticker_;
  std::vector<std::unique_ptr<cluster_state>> clusters_;
  std::vector<cluster_spec> specs_;  // names, for parsing NAME:HANDLE
  std::optional<stdin_reader> reader_;
  std::set<std::pair<std::size_t, std::uint64_t>> seen_;
  status_line status_;
  line_writer out_{STDOUT_FILENO};
  line_formatter lines_;
  std::size_t pending_ = 0, succeeded_ = 0, task_failed_ = 0, not_completed_ = 0;
  std::size_t usage_errors_ = 0, undelivered_ = 0;
  bool reading_ = false, stopping_ = false, interrupted_ = false, finished_ = false;
  bool releases_ended_ = false;
  // The run's end: --timeout from the start (releases never keep it longer).
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point release_grace_end_{};
};

int usage_error(const std::string& why) {
  std::cerr << prefix << why << "\n";
  return exit_usage;
}

}  // namespace

int run_watch(watch_options& opt) {
  // --- the wait options ---
  std::string why;
  const auto timeout = tools::parse_duration(opt.timeout, why, "s");
  if (!timeout) return usage_error("--timeout: " + why);
  // The deadline is now + timeout on steady_clock: it must not overflow.
  if (*timeout > std::chrono::steady_clock::time_point::max() - std::chrono::steady_clock::now())
    return usage_error("--timeout: '" + opt.timeout + "' is too long for the clock");
  auto wopts = std::make_shared<wait_options>();
  wopts->deadline = *timeout;  // 0: no deadline
  const purge_policy purge = *parse_purge(opt.purge);
  // Released here after each line is written (session::on_outcome), not by
  // the engine after the handler returns: a line may fail to be written.
  wopts->purge = purge == purge_policy::after_delivery ? purge_policy::never : purge;

  const auto fan_in = parse_fan_in(opt.fan_in);
  if (!fan_in) return usage_error(fan_in_error("--fan-in", opt.fan_in));

  // --- the clusters ---
  std::vector<cluster_spec> specs;
  if (!opt.clusters_file.empty()) {
    client_config defaults;
    defaults.pool_size = opt.connections;
    defaults.rate_limit = opt.rate;
    defaults.tls.allow_plaintext = opt.tls.allow_plaintext;
    auto file = read_clusters_file(opt.clusters_file, defaults, why);
    if (!file) return usage_error(why);
    specs = std::move(*file);
  } else {
    if (opt.endpoint.empty())
      return usage_error("give --endpoint URL (or POLLSTER_ENDPOINT), or --clusters FILE");
    if (opt.user.empty()) return usage_error("--user is required (or POLLSTER_USER)");
    auto password = read_password(opt.password_file, why);
    if (!password) return usage_error(why);
    cluster_spec s;
    s.label = opt.endpoint;
    s.config = client_config{.url = opt.endpoint,
                             .user = opt.user,
                             .password = std::move(*password),
                             .tls = opt.tls.to_options(),  // warns about --insecure
                             .pool_size = opt.connections,
                             .rate_limit = opt.rate};
    specs.push_back(std::move(s));
  }

  for (auto& spec : specs) spec.config.fan_in.mode = *fan_in;

  // --- the handles on the command line: all checked before anything starts ---
  std::vector<handle_ref> refs;
  bool read_stdin = false;
  for (const auto& arg : opt.handles) {
    if (arg == "-") {
      read_stdin = true;
      continue;
    }
    auto ref = parse_handle_ref(arg, specs, why);
    if (!ref) return usage_error(why);
    refs.push_back(*ref);
  }

  asio::io_context ioc(1);
  session s(ioc, wopts, purge);
  for (auto& spec : specs)
    if (!s.add_cluster(std::move(spec))) return exit_usage;
  for (const auto& ref : refs) s.add(ref);
  const int status = s.run(read_stdin);
  if (opt.stats) s.print_stats();
  // The session's signal_set restores SIG_DFL when it is destroyed: a second
  // SIGTERM sent right after the first would then kill the process (exit 143)
  // after the run ended well. Blocked here, a late one stays pending and is
  // discarded at exit (asio's own threads block every signal already).
  sigset_t late;
  sigemptyset(&late);
  sigaddset(&late, SIGINT);
  sigaddset(&late, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &late, nullptr);
  return status;
}

}  // namespace pollster::cli::watch
