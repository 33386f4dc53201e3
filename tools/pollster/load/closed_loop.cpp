// Closed loop: N handles outstanding, spread over the clusters (wait i on
// cluster i mod C). Each is one engine wait (its backoff, its purge policy)
// until it ends; then the next handle number is waited on, on the same
// cluster. With --jobs, no next one: the worker is finished once every wait
// ended.
// The latency histogram and the request errors come from the engine's
// observer: every HTTP exchange, polls and releases alike.
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/recycling_allocator.hpp>

#include "load/worker.hpp"

namespace pollster::cli::load {

namespace asio = boost::asio;

namespace {

class closed_loop final : public worker {
 public:
  explicit closed_loop(worker_plan p) : worker(std::move(p)) {}
  ~closed_loop() override { join(); }

 private:
  std::shared_ptr<const wait_options> wait_opts_;
  std::size_t ended_ = 0;  // --jobs: waits ended

  void begin() override {
    wait_opts_ = std::make_shared<const wait_options>(plan_.wait);
    for (std::size_t i = 0; i < plan_.handles; ++i) start_wait(*lanes[i % lanes.size()]);
    if (plan_.fixed_jobs && plan_.handles == 0) set_finished();
  }

  void on_exchange(const request_event& ev) override {
    inc(live[ev.what == request_event::kind::release ? counter::releases : counter::requests]);
    if (ev.ec) {
      count_error(ev.ec);
      return;
    }
    if (ev.http_status < 200 || ev.http_status > 299) count_error(make_error_code(status_error(ev.http_status)));
    latency.record(static_cast<std::uint64_t>(ev.latency.count()));
  }

  // A callback rather than a coroutine: no frame per handle, and the options
  // are shared by every wait of this worker. The recycling allocator: the
  // completion's type-erased box is reused from a per-thread cache instead of
  // a malloc per wait.
  void start_wait(lane& l) {
    l.cl->async_wait(next_handle(l), wait_opts_,
                     asio::bind_allocator(asio::recycling_allocator<void>(),
                                          [this, &l](outcome o) { on_outcome(l, o); }));
  }

  void on_outcome(lane& l, const outcome& o) {
    // Outcomes are posted, so one answered just before the stop arrives just
    // after it: it still counts (its request did), only no new wait starts.
    if (stopping_ && o.kind == outcome_kind::cancelled) {
      inc(live[counter::outstanding]);
      return;
    }
    switch (o.kind) {
      case outcome_kind::succeeded:
        inc(live[counter::completed]);
        inc(live[counter::succeeded]);
        count_delivery(l, o.handle);
        break;
      case outcome_kind::task_failed:
        inc(live[counter::completed]);
        inc(live[counter::task_failed]);
        count_delivery(l, o.handle);
        break;
      case outcome_kind::gone: inc(live[counter::gone]); break;
      case outcome_kind::timed_out: inc(live[counter::timed_out]); break;
      case outcome_kind::failed:
        inc(live[counter::failed]);
        inc(live.failed_by(error_slot(o.ec)));
        if (abort_if_fatal(o.ec, o.message())) return;
        break;
      case outcome_kind::cancelled: break;
      case outcome_kind::start_failed: break;  // never for a plain wait
    }
    if (plan_.fixed_jobs) {
      if (++ended_ == plan_.handles) set_finished();
      return;
    }
    if (!stopping_) start_wait(l);
  }
};

}  // namespace

std::unique_ptr<worker> make_closed_loop(worker_plan p) { return std::make_unique<closed_loop>(std::move(p)); }

}  // namespace pollster::cli::load
