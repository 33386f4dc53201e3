// The main thread of a run: starts the target (or reaches it), starts the
// workers, samples their counters once a second for the progress line and
// the series, stops them, and writes the report. It never touches the
// per-request path: workers share nothing (see worker.hpp).
#include "load/run.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <random>

#include "command.hpp"
#include "histogram.hpp"
#include "load/output_file.hpp"
#include "load/outputs.hpp"
#include "load/progress.hpp"
#include "load/worker.hpp"
#include "pollster/sim/server.hpp"
#include "sim_jobs.hpp"
#include "pollster/version.hpp"
#include "report_format.hpp"

namespace pollster::cli::load {

using namespace std::chrono_literals;

namespace {

constexpr const char* me = "pollster load: ";

json_value jstr(std::string s) {
  json_value v;
  v.kind = json_value::type::string;
  v.text = std::move(s);
  return v;
}
json_value jnum(double d) {
  json_value v;
  v.kind = json_value::type::number;
  char buf[64];
  if (d == std::floor(d) && std::fabs(d) < 9e15) std::snprintf(buf, sizeof buf, "%.0f", d);
  else std::snprintf(buf, sizeof buf, "%.6g", d);
  v.text = buf;
  return v;
}

std::string random_password() {
  std::random_device rd;
  static constexpr char hex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 24; ++i) s += hex[rd() & 15];
  return s;
}

// One cluster's figures, over every worker.
struct lane_snapshot {
  lane_counters c{};
  histogram detection;
};

struct snapshot {
  counters_block c;
  histogram h;
  histogram detection;
  std::vector<lane_snapshot> lanes;  ///< one per cluster
};

using worker_list = std::vector<std::unique_ptr<worker>>;

void take_snapshot(worker_list& ws, snapshot& out) {
  out.c = counters_block{};
  out.h.clear();
  out.detection.clear();
  const std::size_t clusters = ws.empty() ? 0 : ws.front()->lanes.size();
  out.lanes.assign(clusters, lane_snapshot{});
  histogram tmp;
  for (auto& w : ws) {
    counters_block b;
    b.load_from(w->live);
    out.c.add(b);
    tmp.load_from(w->latency);
    out.h.merge(tmp);
    tmp.load_from(w->detection);
    out.detection.merge(tmp);
    for (std::size_t i = 0; i < clusters; ++i) {
      const worker::lane& l = *w->lanes[i];
      for (std::size_t k = 0; k < lane_counter_count; ++k) out.lanes[i].c[k] += get(l.live[k]);
      tmp.load_from(l.detection);
      out.lanes[i].detection.merge(tmp);
    }
  }
}

// Waits until `until`, a SIGINT/SIGTERM (blocked in every thread, so they
// arrive here), a worker that stopped itself on a fatal error, or (--jobs)
// every worker finished (checked every 100 ms).
enum class woke { time, signal, abort, done };
woke wait_until(steady::time_point until, const sigset_t& set, const worker_list& workers) {
  for (;;) {
    for (const auto& w : workers)
      if (w->aborted()) return woke::abort;
    if (std::all_of(workers.begin(), workers.end(), [](const auto& w) { return w->finished(); })) return woke::done;
    const auto left = until - steady::now();
    if (left <= 0ns) return woke::time;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::min<steady::duration>(left, 100ms)).count();
    timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    if (::sigtimedwait(&set, nullptr, &ts) > 0) return woke::signal;
  }
}

std::string error_label(std::size_t slot) {
  return slot ? std::string(error_name(make_error_code(static_cast<pollster::error>(slot)))) : "other";
}

// The targets: the embedded simulators (started here, one per cluster) or
// the --target URLs; one client configuration per cluster.
struct target {
  std::vector<std::unique_ptr<sim::server>> simulators;
  std::vector<client_config> clusters;
};

// nullopt: the reason is printed and `rc` set.
std::optional<target> reach_target(const load_options& opt, const load_settings& s, int& rc) {
  target t;
  client_config base;
  base.user = opt.user;
  base.pool_size = 0;
  base.request_timeout = s.request_timeout;
  base.check_id = !opt.no_id_check;
  base.fan_in.mode = s.fan_in;
  if (s.embedded) {
    std::string why;
    auto job_dist = sim::duration_dist::parse(opt.sim_job_duration, why);
    if (!job_dist) {
      std::cerr << me << "--sim-job-duration: " << why << "\n";
      rc = exit_usage;
      return std::nullopt;
    }
    sim::config sc;
    sc.user = opt.user;
    sc.password = random_password();
    sc.auto_jobs = true;
    sc.job_duration = *job_dist;
    sc.other_results = s.other_results;
    sc.progress_details = s.sim_progress_details;
    // One simulator per cluster: its own listener, jobs and thread.
    for (std::uint64_t i = 0; i < s.clusters; ++i) {
      sc.seed = static_cast<std::uint64_t>(std::random_device{}()) | 1;
      try {
        t.simulators.push_back(std::make_unique<sim::server>(sc));
        t.simulators.back()->start();
      } catch (const std::exception& e) {
        std::cerr << me << "cannot start the embedded simulator: " << e.what() << "\n";
        rc = exit_incomplete;
        return std::nullopt;
      }
      client_config c = base;
      c.url = t.simulators.back()->url();
      c.password = sc.password;
      c.tls.pin_sha256 = t.simulators.back()->certificate_sha256();
      t.clusters.push_back(std::move(c));
    }
  } else {
    std::string why;
    auto password = read_password(opt.password_file, why);
    if (!password) {
      std::cerr << me << why << "\n";
      rc = exit_usage;
      return std::nullopt;
    }
    base.password = std::move(*password);
    base.tls = opt.tls.to_options();
    for (const std::string& url : s.targets) {
      client_config c = base;
      c.url = url;
      t.clusters.push_back(std::move(c));
    }
    base.password.assign(base.password.size(), '\0');
  }
  return t;
}

// Connections of worker t's client for cluster c of C: its share of the
// worker's, at least one (so that more clusters than connections still run).
std::uint64_t cluster_pool(const load_settings& s, std::uint64_t t, std::uint64_t c, std::uint64_t C) {
  return std::max<std::uint64_t>(1, share(share(s.shard_connections, t, s.threads), c, C));
}

// Constructing the workers' clients checks the URL and the TLS files.
bool make_workers(const load_options& opt, const load_settings& s, target& tgt, worker_list& out) {
  const std::uint64_t T = s.threads;
  const std::size_t C = tgt.clusters.size();
  std::mt19937_64 rng(std::random_device{}());
  std::optional<sim::duration_dist> job_dist;
  if (s.jobs && s.embedded) {
    std::string why;
    job_dist = sim::duration_dist::parse(opt.sim_job_duration, why);  // checked by reach_target
  }
  for (std::uint64_t t = 0; t < T; ++t) {
    worker_plan p;
    p.handles = share(s.shard_handles, t, T);
    for (std::size_t c = 0; c < C; ++c) {
      cluster_plan cp;
      cp.client = tgt.clusters[c];
      cp.client.pool_size = cluster_pool(s, t, c, C);
      if (s.embedded) cp.simulator = tgt.simulators[c].get();
      // Wait i of this worker is on cluster i mod C.
      if (job_dist) cp.jobs = create_jobs(*tgt.simulators[c], *job_dist, share(p.handles, c, C), rng);
      p.clusters.push_back(std::move(cp));
    }
    p.fixed_jobs = s.jobs > 0;
    p.wait.poll = s.backoff;
    p.wait.purge = s.purge;
    p.wait.deadline = std::max<duration>(1h, 2 * s.run_for);
    // One send is one request: a retry backoff longer than the deadline ends
    // the call at its first failure (the open loop's timetable does retries).
    p.call.deadline = s.request_timeout;
    p.call.retry = backoff_policy{.initial = 24h, .multiplier = 1.0, .max_delay = 24h, .jitter = 0, .min_delay = 24h};
    p.purge = s.purge;
    p.rate = s.rate / static_cast<double>(s.shards * T);
    p.run_total = s.warmup + s.run_for;
    if (s.embedded) p.wait.result_type = "Clone";  // what the simulator's jobs are
    p.first_handle = s.first_handle;
    p.shard = s.shard;
    p.shards = s.shards;
    p.thread = t;
    p.threads = T;
    try {
      out.push_back(s.open_loop ? make_open_loop(std::move(p)) : make_closed_loop(std::move(p)));
    } catch (const std::exception& e) {
      std::cerr << me << e.what() << "\n";
      return false;
    }
  }
  return true;
}

// What the seconds loop ends with.
struct measured {
  snapshot warm;   ///< at the end of the warm-up (empty without one)
  snapshot final;
  std::vector<interval> series;
  steady::time_point t0, warm_end, stopped;
  bool interrupted = false;
  std::string abort_reason;
};

measured run_seconds(const load_options& opt, const load_settings& s, worker_list& workers,
                     const sigset_t& sigs) {
  measured m;
  progress_line progress(opt.no_progress, std::chrono::duration<double>(s.warmup + s.run_for).count());
  const auto t0 = m.t0 = steady::now();
  m.warm_end = t0;
  for (auto& w : workers) w->start(t0);
  const auto end = t0 + s.warmup + s.run_for;
  const auto warm_end = t0 + s.warmup;
  snapshot older, prev, cur;  // at the start and end of the last interval, and now
  auto older_at = t0, prev_at = t0;
  const double target_rate = s.rate / static_cast<double>(s.shards);
  auto make_interval = [&](const snapshot& from, steady::time_point from_at, const snapshot& to,
                           steady::time_point to_at) {
    interval iv;
    iv.t = std::chrono::duration<double>(to_at - t0).count();
    iv.dt = std::chrono::duration<double>(to_at - from_at).count();
    iv.requests = to.c[counter::requests] - from.c[counter::requests];
    iv.releases = to.c[counter::releases] - from.c[counter::releases];
    iv.completed = to.c[counter::completed] - from.c[counter::completed];
    iv.errors = to.c.errors_total(!s.open_loop) - from.c.errors_total(!s.open_loop);
    for (std::size_t i = 0; i < error_slots; ++i)
      if (to.c.error(i) > from.c.error(i)) iv.errors_by_kind[error_label(i)] += to.c.error(i) - from.c.error(i);
    if (!s.open_loop && to.c[counter::connect_failures] > from.c[counter::connect_failures])
      iv.errors_by_kind["connect_failed"] += to.c[counter::connect_failures] - from.c[counter::connect_failures];
    iv.open_connections = to.c[counter::open_connections];
    iv.target_rate = target_rate;
    const histogram d = to.h.since(from.h);
    iv.buckets = d.sparse();
    iv.max_ns = d.max();
    return iv;
  };
  // Boundaries: every whole second, the end of the warm-up, the end.
  std::vector<steady::time_point> marks;
  for (auto at = t0 + std::chrono::seconds(1); at < end; at += std::chrono::seconds(1)) marks.push_back(at);
  if (s.warmup.count() > 0 && warm_end < end) marks.push_back(warm_end);
  std::sort(marks.begin(), marks.end());
  marks.erase(std::unique(marks.begin(), marks.end()), marks.end());
  bool warm_taken = s.warmup.count() == 0;
  for (const auto next : marks) {
    const woke why_woke = wait_until(next, sigs, workers);
    if (why_woke == woke::signal) {
      m.interrupted = true;
      break;
    }
    if (why_woke == woke::abort || why_woke == woke::done) break;
    take_snapshot(workers, cur);
    m.series.push_back(make_interval(prev, prev_at, cur, next));
    if (!warm_taken && next >= warm_end) {
      m.warm = cur;
      m.warm_end = next;
      warm_taken = true;
    }
    progress.show(m.series.back(), cur.c, s.open_loop, next > warm_end);
    older = std::move(prev);
    older_at = prev_at;
    prev = cur;
    prev_at = next;
  }
  if (!m.interrupted && !std::any_of(workers.begin(), workers.end(), [](auto& w) { return w->aborted(); })) {
    const woke why_woke = wait_until(end, sigs, workers);
    m.interrupted = why_woke == woke::signal;
  }
  for (auto& w : workers) w->stop();
  for (auto& w : workers) w->join();
  for (auto& w : workers)
    if (w->aborted() && m.abort_reason.empty()) m.abort_reason = w->abort_reason();
  m.stopped = t0;
  for (auto& w : workers) m.stopped = std::max(m.stopped, w->stopped_at());

  // The last interval, exact now that the workers have stopped. A short tail
  // (under half a second) is folded into the interval before it, unless that
  // one closes the warm-up.
  take_snapshot(workers, cur);
  if (!m.series.empty() && m.stopped - prev_at < 500ms && prev_at != m.warm_end) {
    m.series.pop_back();
    m.series.push_back(make_interval(older, older_at, cur, m.stopped));
  } else {
    m.series.push_back(make_interval(prev, prev_at, cur, m.stopped));
  }
  if (!warm_taken) {  // stopped during the warm-up: nothing measured after it
    m.warm = cur;
    m.warm_end = m.stopped;
  }
  progress.finish(m.series.back(), cur.c, s.open_loop);
  if (m.interrupted) std::cerr << me << "interrupted: reporting what was measured so far\n";
  for (auto& w : workers)
    if (!w->failure().empty()) std::cerr << me << "a worker failed: " << w->failure() << "\n";
  m.final = std::move(cur);
  return m;
}

load_report build_report(const load_options& opt, const load_settings& s, const target& tgt, measured& m,
                         double started_unix) {
  load_report rep;
  // The figures leave out the warm-up: counts since its end, except the
  // connection counts (sampled, whole run) and waits outstanding at the stop.
  counters_block c = m.final.c;
  for (std::size_t i = 0; i < c.all.size(); ++i) c.all[i] -= std::min(c.all[i], m.warm.c.all[i]);
  for (counter kept : {counter::open_connections, counter::connects, counter::connect_failures, counter::outstanding})
    c[kept] = m.final.c[kept];
  rep.schema_version = 1;
  rep.version = std::string(pollster::version());
  rep.command_line = command_line();
  rep.series = std::move(m.series);
  rep.warmup_s = s.warmup.count() > 0 ? std::chrono::duration<double>(m.warm_end - m.t0).count() : 0;
  rep.mode = s.open_loop ? "rate" : "closed";
  rep.started_at_unix = started_unix;
  rep.duration_s = std::chrono::duration<double>(m.stopped - m.warm_end).count();
  rep.requests = c[counter::requests];
  rep.releases = c[counter::releases];
  rep.completed = c[counter::completed];
  rep.succeeded = c[counter::succeeded];
  rep.task_failed = c[counter::task_failed];
  rep.gone = c[counter::gone];
  rep.timed_out = c[counter::timed_out];
  rep.failed = c[counter::failed];
  rep.outstanding = c[counter::outstanding];
  for (std::size_t i = 0; i < error_slots; ++i)
    if (c.error(i)) rep.errors[error_label(i)] += c.error(i);
  for (std::size_t i = 0; i < error_slots; ++i)
    if (c.failed_by(i)) rep.failed_by[error_label(i)] += c.failed_by(i);
  if (!s.open_loop) {
    // Connect failures are errors in closed loop; those of the warm-up are not counted.
    const std::uint64_t f = m.final.c[counter::connect_failures] - std::min(m.final.c[counter::connect_failures],
                                                                           m.warm.c[counter::connect_failures]);
    if (f) rep.errors["connect_failed"] += f;
  }
  rep.connects = c[counter::connects];
  rep.connect_failures = c[counter::connect_failures];
  std::uint64_t pools = 0;  // the connections the clients open at first
  for (std::uint64_t t = 0; t < s.threads; ++t)
    for (std::uint64_t k = 0; k < tgt.clusters.size(); ++k) pools += cluster_pool(s, t, k, tgt.clusters.size());
  rep.reconnects = c[counter::connects] > pools ? c[counter::connects] - pools : 0;
  rep.rate_target = s.rate / static_cast<double>(s.shards);
  rep.scheduled = c[counter::scheduled];
  rep.late = c[counter::late];
  rep.skipped = c[counter::skipped];
  rep.latency = m.final.h.since(m.warm.h);
  rep.engine_requests = c[counter::engine_requests];
  rep.lists = c[counter::lists];
  rep.detected_early = c[counter::detected_early];
  rep.jobs = s.jobs ? s.shard_handles : 0;  // this shard's part
  rep.duplicates = c[counter::duplicates];
  rep.detection_measured = s.embedded && !s.open_loop;
  rep.detection = m.final.detection.since(m.warm.detection);
  if (tgt.clusters.size() > 1) {
    for (std::size_t i = 0; i < m.final.lanes.size(); ++i) {
      cluster_summary cs;
      cs.index = i;
      cs.target = tgt.clusters[i].url;
      const lane_snapshot& f = m.final.lanes[i];
      const lane_snapshot* w = i < m.warm.lanes.size() ? &m.warm.lanes[i] : nullptr;
      auto since = [&](lane_counter k) {
        const auto at = static_cast<std::size_t>(k);
        return f.c[at] - (w ? std::min(f.c[at], w->c[at]) : 0);
      };
      cs.requests = since(lane_counter::requests);
      cs.lists = since(lane_counter::lists);
      cs.completed = since(lane_counter::completed);
      cs.detection = w ? f.detection.since(w->detection) : f.detection;
      rep.clusters.push_back(std::move(cs));
    }
  }
  if (s.open_loop) {
    rep.achieved_rate = rep.requests_per_s();
    // More than 5% short of the target, or more than 1% of the sends late.
    rep.rate_shortfall = rep.achieved_rate < 0.95 * rep.rate_target ||
                         (rep.scheduled > 0 && static_cast<double>(rep.late) > 0.01 * static_cast<double>(rep.scheduled));
  }
  json_value& P = rep.parameters;
  P.kind = json_value::type::object;
  std::string target_text = s.embedded ? "embedded simulator" : "";
  if (s.embedded && s.clusters > 1) target_text += " (" + std::to_string(s.clusters) + " clusters)";
  for (const std::string& url : s.targets) target_text += (target_text.empty() ? "" : ", ") + url;
  P.members = {{"target", jstr(target_text)},
               {"handles", jnum(static_cast<double>(s.handles))},
               {"connections", jnum(static_cast<double>(s.connections))},
               {"threads", jnum(static_cast<double>(s.threads))},
               {"duration_s", jnum(std::chrono::duration<double>(s.run_for).count())},
               {"warmup_s", jnum(std::chrono::duration<double>(s.warmup).count())},
               {"rate", jnum(s.rate)},
               {"shard", jstr(std::to_string(s.shard) + "/" + std::to_string(s.shards))},
               {"shard_handles", jnum(static_cast<double>(s.shard_handles))},
               {"shard_connections", jnum(static_cast<double>(s.shard_connections))},
               {"purge", jstr(opt.purge)},
               {"backoff", jstr(opt.backoff)},
               {"request_timeout", jstr(opt.request_timeout)},
               {"first_handle", jnum(static_cast<double>(s.first_handle))},
               {"user", jstr(opt.user)},
               {"fan_in", jstr(opt.fan_in)},
               {"clusters", jnum(static_cast<double>(tgt.clusters.size()))}};
  if (s.jobs) P.members.emplace_back("jobs", jnum(static_cast<double>(s.jobs)));
  if (s.embedded) P.members.emplace_back("other_results", jnum(static_cast<double>(s.other_results)));
  if (s.embedded) P.members.emplace_back("sim_job_duration", jstr(opt.sim_job_duration));
  if (s.embedded && !s.sim_progress_details) P.members.emplace_back("sim_running_details", jstr("empty"));
  if (m.interrupted) P.members.emplace_back("interrupted", json_value{json_value::type::boolean, true, {}, {}, {}});
  if (!m.abort_reason.empty()) P.members.emplace_back("stopped_early", jstr(m.abort_reason));
  rep.thresholds = judge(s.thresholds, rep);
  return rep;
}

}  // namespace

int run_load(const load_options& opt) {
  auto usage = [&](const std::string& why) {
    std::cerr << me << why << "\n";
    return exit_usage;
  };
  // --- the command line, checked before anything starts ---
  std::string why;
  auto settings = check_options(opt, why);
  if (!settings) return usage(why);
  const load_settings& s = *settings;

  // Files are opened now, so that a typo costs nothing.
  std::deque<report_file> outs;  // not moved: each holds an open temporary file
  outs.emplace_back("--json", opt.json_file);
  outs.emplace_back("--html", opt.html_file);
  outs.emplace_back("--csv", opt.csv_file);
  outs.emplace_back("--openmetrics", opt.openmetrics_file);
  outs.emplace_back("--junit", opt.junit_file);
  bool table_to_stderr = false;
  for (auto& f : outs) {
    if (!f.open()) return usage("cannot write " + f.flag() + " file '" + f.path() + "'");
    table_to_stderr = table_to_stderr || f.to_stdout();
  }

  // SIGINT/SIGTERM: blocked in every thread (the simulator's and the workers'
  // inherit the mask); the main thread takes them with sigtimedwait and stops
  // the run early, still reporting.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  // A peer that closed first must be an error code, not the end of the
  // process: OpenSSL's close_notify goes out with a plain write().
  ::signal(SIGPIPE, SIG_IGN);

  int rc = exit_ok;
  auto tgt = reach_target(opt, s, rc);
  if (!tgt) return rc;
  worker_list workers;
  if (!make_workers(opt, s, *tgt, workers)) return exit_usage;
  for (auto& c : tgt->clusters) c.password.assign(c.password.size(), '\0');

  const double started_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  measured m = run_seconds(opt, s, workers, sigs);
  const load_report rep = build_report(opt, s, *tgt, m, started_unix);

  // The table goes to standard error when standard output carries a report.
  std::ostream& table = table_to_stderr ? std::cerr : std::cout;
  table << to_table(rep);
  table.flush();
  bool written = true;
  written = outs[0].commit(to_json(rep), me) && written;
  written = outs[1].commit(to_html(rep), me) && written;
  written = outs[2].commit(to_csv(rep), me) && written;
  written = outs[3].commit(to_openmetrics(rep), me) && written;
  written = outs[4].commit(to_junit(rep), me) && written;
  for (auto& sim : tgt->simulators) sim->stop();

  rc = written ? exit_ok : exit_incomplete;
  if (!m.abort_reason.empty()) {
    std::cerr << me << "FAILED: stopped early: " << m.abort_reason << "\n";
    rc = exit_incomplete;
  } else if (rep.requests == 0) {
    std::cerr << me << "FAILED: no request was answered (see the errors above)\n";
    rc = exit_incomplete;
  }
  if (rep.rate_shortfall) {
    char line[200];
    std::snprintf(line, sizeof line,
                  "WARNING: the open loop fell short: %.0f polls/s of %.0f asked for, %llu of %llu sends late",
                  rep.achieved_rate, rep.rate_target, static_cast<unsigned long long>(rep.late),
                  static_cast<unsigned long long>(rep.scheduled));
    std::cerr << me << line << " (more --connections or --threads, or a lower --rate)\n";
  }
  for (const auto& line : failures(s.thresholds, rep.thresholds)) {
    std::cerr << me << "FAILED: threshold " << line << "\n";
    rc = exit_incomplete;
  }
  // The reports of an interrupted run are written, but a script must not
  // take the run for a finished one.
  if (m.interrupted) rc = exit_interrupted;
  return rc;
}

}  // namespace pollster::cli::load
