#include "load/worker.hpp"

#include "pollster/sim/server.hpp"

namespace pollster::cli::load {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Errors that say the test itself is misconfigured: going on would only
// repeat them (and hammer a cluster with wrong credentials), so the run stops.
const char* fatal_hint(std::error_code ec) {
  if (ec.category() != pollster::category()) return nullptr;
  switch (static_cast<pollster::error>(ec.value())) {
    case pollster::error::unauthorized: return "check --user and the password";
    case pollster::error::certificate_rejected: return "check --ca-file (or pin the certificate with --pin-sha256)";
    case pollster::error::certificate_pin_mismatch: return "check --pin-sha256";
    case pollster::error::unknown_api_version: return "check the API version in --target";
    case pollster::error::permission_denied: return "the user may not call GetAsyncResult";
    case pollster::error::unknown_method: return "the target does not serve GetAsyncResult";
    default: return nullptr;
  }
}

}  // namespace

pollster::error status_error(int status) noexcept {
  if (status == 401) return pollster::error::unauthorized;
  if (status == 404) return pollster::error::unknown_api_version;
  if (status == 408 || status == 429 || (status >= 500 && status <= 599)) return pollster::error::http_server_error;
  return pollster::error::unexpected_http_status;
}

worker::worker(worker_plan p) : plan_(std::move(p)), ioc_(1), guard_(asio::make_work_guard(ioc_)) {
  // One engine per cluster, so that each one's counters are that cluster's.
  try {
    for (cluster_plan& c : plan_.clusters) {
      auto l = std::make_unique<lane>();
      engine_config ec;
      ec.observer = [this](const request_event& ev) { observe(ev); };
      l->eng = std::make_unique<engine>(ioc_, std::move(ec));
      l->cl = std::make_unique<client>(*l->eng, c.client);  // throws on a bad configuration
      l->simulator = c.simulator;
      l->jobs = std::move(c.jobs);
      lanes.push_back(std::move(l));
    }
  } catch (...) {
    lanes.clear();  // before ioc_ (see ~worker)
    throw;
  }
  eng_ = lanes.front()->eng.get();
  cl_ = lanes.front()->cl.get();
}

worker::~worker() {
  join();
  // The clients and engines before the io_context they run on (`lanes` is
  // declared before ioc_, so it would otherwise outlive it).
  lanes.clear();
}

void worker::start(steady::time_point t0) {
  t0_ = t0;
  thread_ = std::thread([this] { run(); });
}

void worker::stop() {
  asio::post(ioc_, [this] { do_stop(); });
}

void worker::join() {
  if (thread_.joinable()) thread_.join();
}

bool worker::abort_if_fatal(std::error_code ec, std::string_view message) {
  const char* hint = fatal_hint(ec);
  if (!hint || stopping_) return hint != nullptr;
  abort_reason_ = "the target answered " + std::string(error_name(ec));
  if (!message.empty()) abort_reason_ += " (" + std::string(message) + ")";
  abort_reason_ += ": ";
  abort_reason_ += hint;
  aborted_.store(true, std::memory_order_release);
  do_stop();
  return true;
}

std::uint64_t worker::next_handle() {
  return plan_.first_handle + plan_.shard + plan_.shards * (plan_.thread + plan_.threads * seq_++);
}

std::uint64_t worker::next_handle(lane& l) {
  return l.next_job < l.jobs.size() ? l.jobs[l.next_job++] : next_handle();
}

void worker::count_delivery(lane& l, std::uint64_t handle) {
  inc(l.live[static_cast<std::size_t>(lane_counter::completed)]);
  if (plan_.fixed_jobs && !l.delivered.insert(handle).second) inc(live[counter::duplicates]);
  if (!l.simulator) return;
  const auto done = l.simulator->completion_time(handle);
  if (!done) return;
  const auto delay = steady::now() - *done;
  // Never expected (an answer says complete only from the completion on):
  // counted apart, so that a clock or model error shows instead of a 0.
  if (delay < steady::duration::zero()) {
    inc(live[counter::detected_early]);
    return;
  }
  const auto ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count());
  detection.record(ns);
  l.detection.record(ns);
}

std::size_t worker::error_slot(std::error_code ec) {
  const auto i = static_cast<std::size_t>(ec.value());
  return ec.category() == pollster::category() && i < error_slots ? i : 0;
}

void worker::count_error(std::error_code ec) { inc(live.error(error_slot(ec))); }

void worker::observe(const request_event& ev) {
  if (stopping_) return;  // cut off by our own shutdown: not the server's doing
  on_exchange(ev);
}

void worker::sample_pool() {
  std::uint64_t open = 0, connects = 0, connect_failures = 0, requests = 0, lists = 0;
  for (auto& l : lanes) {
    const counters& st = l->eng->stats();
    open += l->cl->pool().open;
    connects += st.connects;
    connect_failures += st.connect_failures;
    requests += st.requests;
    lists += st.lists;
    put(l->live[static_cast<std::size_t>(lane_counter::requests)], st.requests);
    put(l->live[static_cast<std::size_t>(lane_counter::lists)], st.lists);
  }
  put(live[counter::open_connections], open);
  put(live[counter::connects], connects);
  put(live[counter::connect_failures], connect_failures);
  put(live[counter::engine_requests], requests);
  put(live[counter::lists], lists);
}

void worker::run() {
  try {
    ticker_ = std::make_unique<asio::steady_timer>(ioc_);
    tick();
    begin();
    ioc_.run();
  } catch (const std::exception& e) {
    failure_ = e.what();
  }
  // The connection counters are the ones sampled at the stop (do_stop):
  // what the engine does while draining is not part of the test.
}

void worker::tick() {
  sample_pool();
  ticker_->expires_after(100ms);
  ticker_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) tick();
  });
}

void worker::do_stop() {
  if (stopping_) return;
  sample_pool();
  stopped_at_ = steady::now();
  stopping_ = true;
  ticker_->cancel();
  on_stop();
  for (auto& l : lanes) l->cl->shutdown();  // every wait and call in flight ends `cancelled`
  guard_.reset();   // and run() returns once they have drained
}

}  // namespace pollster::cli::load
