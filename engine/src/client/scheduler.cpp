// The wait scheduler: a wait is plain data (a wait_state with its
// wait_machine) that sleeps in the client's timer heap; due waits join the
// ready FIFO; a few worker coroutines, one per pooled connection, poll them
// and ask the wait_machine what next. Also cancellation, the end of a wait
// (finish, deliver) and shutdown.
#include "client/impl.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

namespace pollster {

void client::impl::start_wait(std::unique_ptr<wait_state> owned) {
  wait_state* w = owned.release();
  ++live_waits;
  if (auto slot = w->handler.get_cancellation_slot(); slot.is_connected()) {
    slot.assign([self = weak_from_this(), w](asio::cancellation_type type) {
      if (type == asio::cancellation_type::none) return;
      if (auto c = self.lock()) c->cancel_wait(w);
    });
  }
  count_type(*w, +1);
  if (shut_down) {
    finish(w, w->machine.on_cancelled());
    return;
  }
  // A wait already past its deadline finishes here (timed_out) and leaves
  // nothing ready: ensure_workers() then spawns nothing.
  const time_point now = steady::now();
  if (use_list(now)) {
    if (w->machine.expired(now)) {
      finish(w, w->machine.on_woken(now));  // timed_out, nothing sent
      return;
    }
    // Its first look is the next list (brought forward to the floor).
    list_wait(w);
    fan_in.on_waits_added(now);
    if (lister_timer && lister_timer->expiry() > fan_in.next_list()) lister_timer->cancel();
    ensure_lister();
    return;
  }
  apply(w, w->machine.start(now));
  ensure_workers();
}

void client::impl::apply(wait_state* w, detail::wait_machine::action act) {
  using step = detail::wait_machine::step;
  if (shut_down && act.what != step::finish) act = w->machine.on_cancelled();
  switch (act.what) {
    case step::finish: finish(w, act); break;
    case step::poll: make_ready(w); break;
    case step::sleep:
      w->wake = act.at;
      sleeping.push(w);
      arm_wake_timer();
      break;
  }
}

void client::impl::make_ready(wait_state* w) {
  ready.push_back(w);
  wake_a_worker();
}

void client::impl::wake_a_worker() {
  if (idle_worker* i = idle.pop_front())
    i->timer->cancel();
  else
    ensure_workers();
}

void client::impl::arm_wake_timer() {
  if (sleeping.empty() || shut_down) return;
  const time_point at = sleeping.top()->wake;
  if (!detail::rearm_wake_timer(at, wake_armed_at)) return;  // armed for an earlier time
  if (!wake_timer) wake_timer.emplace(executor());
  wake_armed_at = at;
  wake_timer->expires_at(at);
  wake_timer->async_wait(asio::bind_allocator(
      wake_memory.allocator(),
      [self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec) return;  // re-armed or shut down
        self->wake_armed_at = time_point::max();
        self->on_wake();
      }));
}

void client::impl::on_wake() {
  const time_point now = steady::now();
  while (!sleeping.empty() && sleeping.top()->wake <= now) {
    wait_state* w = sleeping.pop();
    apply(w, w->machine.on_woken(now));
  }
  arm_wake_timer();
}

void client::impl::ensure_workers() {
  // co_spawn starts a worker inline: the rule is asked again after each.
  while (detail::spawn_worker(queues(), workers, shut_down)) {
    ++workers;
    asio::co_spawn(executor(), run_worker(), asio::detached);
  }
}

// Nothing left to poll or release: idle workers end, so the io_context drains.
void client::impl::maybe_drain() {
  if (detail::drained(queues()))
    idle.for_each([](idle_worker* i) { i->timer->cancel(); });
}

asio::awaitable<void> client::impl::run_worker() {
  auto self = shared_from_this();
  co_await asio::this_coro::throw_if_cancelled(false);
  asio::steady_timer timer(executor());
  active_guard guard(*this, timer);
  // Parking, as often as once per poll with few waits, reuses this memory
  // (handler_memory.hpp): Asio's per-thread cache missed it.
  detail::handler_memory_owner park_memory;
  idle_worker parked;
  parked.timer = &timer;
  while (!shut_down) {
    const auto step = detail::next_worker_step(queues());
    if (step == detail::worker_step::poll) {
      co_await poll_once(timer, *ready.pop_front());
      continue;
    }
    if (step == detail::worker_step::release) {
      const std::uint64_t h = releases.front();
      releases.pop_front();
      co_await release_once(timer, h);
      continue;
    }
    if (step == detail::worker_step::end) {
      stop_idle_watchdogs();  // the last waits may have been cancelled, not served
      break;
    }
    idle.push_back(&parked);
    timer.expires_at(time_point::max());
    co_await timer.async_wait(asio::bind_allocator(park_memory.allocator(), use_nothrow));
    idle.erase(&parked);
  }
  --workers;
}

asio::awaitable<void> client::impl::poll_once(asio::steady_timer& timer, wait_state& w) {
  w.in_flight = true;
  attempt a = co_await send(timer, w.machine.deadline(), request_event::kind::poll,
                            [&](std::string& buf, std::uint64_t id) {
                              encoder.get_async_result(buf, w.handle, w.machine.keep_result(), id);
                            },
                            &w);
  w.in_flight = false;
  detail::wait_machine::action act;
  if (shut_down || w.cancel_requested || a.ec == error::cancelled) {
    act = w.machine.on_cancelled();
  } else if (a.ec) {
    note_error(w.out(), a.ec, a.detail);
    act = failed(w, steady::now(), detail::classify_failure(a.ec).what);
  } else {
    act = on_answer(a, w);
  }
  a.held.reset();  // the connection goes back before the wait sleeps or ends
  if (w.cancel_requested && act.what != detail::wait_machine::step::finish)
    act = w.machine.on_cancelled();  // cancelled from its progress callback
  const bool running = std::exchange(w.running_answer, false);
  if (running && act.what == detail::wait_machine::step::sleep && !shut_down &&
      use_list(steady::now())) {
    list_wait(&w);  // confirmed running: the lists watch it again
    ensure_lister();
    co_return;
  }
  apply(&w, act);
}

void client::impl::cancel_wait(wait_state* w) {
  const bool in_heap = detail::intrusive_heap<wait_state>::contains(w);
  switch (detail::where_to_cancel(w->in_flight, w->listed, in_heap, w->linked)) {
    case detail::cancel_step::cut_request:
      w->cancel_requested = true;
      cut_request(*w);
      return;
    case detail::cancel_step::leave_index:
      unlist(w);
      if (in_heap) sleeping.erase(w);
      break;
    case detail::cancel_step::leave_heap: sleeping.erase(w); break;
    case detail::cancel_step::leave_ready: ready.erase(w); break;
    case detail::cancel_step::mark:
      w->cancel_requested = true;  // poll_once sees the flag and ends it cancelled
      return;
  }
  finish(w, w->machine.on_cancelled());
}

// Every ending is counted here once, so the counters add up to the outcomes.
void client::impl::count(outcome_kind k) {
  switch (k) {
    case outcome_kind::succeeded:
    case outcome_kind::task_failed: ++eng->stats.completed; break;
    case outcome_kind::gone: ++eng->stats.gone; break;
    case outcome_kind::timed_out: ++eng->stats.timed_out; break;
    case outcome_kind::cancelled: ++eng->stats.cancelled; break;
    case outcome_kind::failed: ++eng->stats.failed; break;
    case outcome_kind::start_failed: ++eng->stats.start_failed; break;
  }
}

// Never inline: any_completion_executor has no blocking.never in Boost
// 1.81 (prefer() was a no-op), so the outcome is first posted to the
// io_context — the initiating call has returned and the stack is flat —
// then dispatched to the handler's own executor. The release follows the
// handler's return, unless a cancellation arrived while the outcome was on
// its way: the caller may then have dropped it (awaitable operator|| does),
// and the result stays on the cluster rather than being lost.
void client::impl::deliver(asio::any_completion_handler<void(outcome)> handler, outcome out, bool release) {
  auto d = std::make_unique<delivery>();
  d->handler.swap(handler);  // not operator=: Boost 1.81's recurses forever
  d->out = std::move(out);
  d->release = release;
  deliver(std::move(d));
}

void client::impl::deliver(std::unique_ptr<delivery> d) {
  count(d->out.kind);
  ++deliveries_pending;
  if (auto slot = d->handler.get_cancellation_slot(); slot.is_connected())
    slot.assign([p = d.get()](asio::cancellation_type t) {
      if (t != asio::cancellation_type::none) p->cancel_seen = true;
    });
  asio::post(eng->ioc, asio::bind_allocator(detail::frame_allocator<void>(), [self = shared_from_this(),
                                                                              d = std::move(d)]() mutable {
    // The candidate is the io_context's own executor type, not
    // any_io_executor: converting that to the handler's
    // any_completion_executor would allocate.
    const auto io = self->eng->ioc.get_executor();
    auto ex = asio::get_associated_executor(d->handler, io);
    // A handler without an executor of its own runs here, as dispatch would
    // run it (this is that executor's thread), without the type-erased hop.
    if (const auto* own = ex.template target<asio::io_context::executor_type>(); own && *own == io)
      self->hand_over(*d);
    else
      asio::dispatch(ex, [self, d = std::move(d)] { self->hand_over(*d); });
    // Handed over (or on its way to the handler's own executor): a worker
    // kept for what the handler might start may now end.
    --self->deliveries_pending;
    self->maybe_drain();
  }));
}

// Only here, on the handler's own executor (a strand may have queued it
// behind the caller's other work), is the outcome really handed over: a
// cancellation up to this point may mean it is dropped.
void client::impl::hand_over(delivery& d) {
  if (auto slot = d.handler.get_cancellation_slot(); slot.is_connected()) slot.clear();
  const bool release = d.release && !d.cancel_seen;
  const std::uint64_t handle = d.out.handle;
  std::move(d.handler)(std::move(d.out));
  if (!release) return;
  if (eng->ioc.get_executor().running_in_this_thread())
    queue_release(handle);
  else  // the handler ran elsewhere: the client lives on its io_context
    asio::post(eng->ioc, [self = shared_from_this(), handle] { self->queue_release(handle); });
}

void client::impl::note_ending(outcome& out, error why) {
  // Keep the last error seen: "deadline exceeded (last error: connect refused)".
  std::string message = err(why).message();
  if (!out.message().empty()) message += " (last error: " + out.message() + ")";
  note_error(out, err(why), message);
}

// Builds the outcome, frees the wait, and delivers it.
void client::impl::finish(wait_state* w, detail::wait_machine::action act) {
  std::unique_ptr<wait_state> owned(w);
  const bool was_listed = w->listed;
  if (w->listed) {
    // An entry seen in a list and not complete: it was running.
    auto it = listed.find(w->handle);
    if (it != listed.end() && it->second.seen > it->second.since) w->seen_running = true;
    unlist(w);
  }
  count_type(*w, -1);
  --live_waits;
  // Nothing left to wake for, or to list: no timer may keep the io_context
  // running (a listed wait sleeps in the heap until its deadline).
  if (sleeping.empty() && wake_timer && wake_armed_at != time_point::max()) {
    wake_armed_at = time_point::max();
    wake_timer->cancel();
  }
  if (listed.empty() && lister_timer) lister_timer->cancel();
  maybe_drain();
  if (was_listed && !w->result && !last_list_error.empty() &&
      (act.kind == outcome_kind::timed_out || act.kind == outcome_kind::cancelled))
    note_error(w->out(), err(error::unexpected_answer), last_list_error);
  w->out();  // the delivery, filled in place
  std::unique_ptr<delivery> delivered = std::move(w->result);
  outcome& out = delivered->out;
  out.handle = w->handle;
  out.kind = act.kind;
  wait_diagnostics& d = out.diagnostics;
  d.polls = w->machine.polls();
  d.retries = w->machine.retries();
  if (!out.completed()) {
    d.last_status = w->seen_running ? "running" : "";
    d.last_details = std::move(w->last_details);
  } else {
    d.last_status = "complete";
  }
  switch (out.kind) {
    case outcome_kind::succeeded: out.ec.clear(); break;
    case outcome_kind::task_failed: out.ec = err(error::task_failed); break;
    case outcome_kind::gone: out.ec = err(error::handle_gone); break;
    case outcome_kind::timed_out: note_ending(out, error::deadline_exceeded); break;
    case outcome_kind::cancelled: note_ending(out, error::cancelled); break;
    case outcome_kind::failed:
    case outcome_kind::start_failed: break;
  }
  // A list never purges: a result it delivered is released after delivery
  // also under on_read (which would have purged on the read).
  const bool release = out.completed() && !shut_down &&
                       (w->opts->purge == purge_policy::after_delivery ||
                        (out.diagnostics.from_list && w->opts->purge == purge_policy::on_read));
  delivered->handler.swap(w->handler);  // not operator=: Boost 1.81's recurses forever
  delivered->release = release;
  deliver(std::move(delivered));
}

void client::impl::queue_release(std::uint64_t handle) {
  if (shut_down) return;
  releases.push_back(handle);
  if (release_ready()) wake_a_worker();
}

void client::impl::shutdown() {
  if (shut_down) return;
  shut_down = true;
  if (wake_timer) wake_timer->cancel();
  while (!sleeping.empty()) {
    wait_state* w = sleeping.pop();
    finish(w, w->machine.on_cancelled());
  }
  // Listed waits without a deadline sleep in no heap.
  while (!listed.empty()) {
    wait_state* w = listed.begin()->second.head;
    finish(w, w->machine.on_cancelled());
  }
  if (lister_timer) lister_timer->cancel();
  while (wait_state* w = ready.pop_front()) finish(w, w->machine.on_cancelled());
  // Releases not yet sent are dropped: the outcomes were delivered, and the
  // results stay on the cluster (its retention cleans up). Shutdown does
  // not wait for them.
  eng->stats.releases_dropped += releases.size();
  releases.clear();
  // Waits in a worker's hands end when their request does: it is cancelled
  // by closing the connections below.
  active.for_each([](active_node* n) { n->timer->cancel(); });
  waiters.for_each([](slot_waiter* w) { w->timer->cancel(); });
  close_connections();
}

}  // namespace pollster
