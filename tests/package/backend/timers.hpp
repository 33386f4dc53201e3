// The backend's own Asio work: a timer with a callback and a coroutine that
// waits on a timer, on the caller's io_context.
#pragma once

#include <boost/asio/io_context.hpp>

namespace backend {
struct timer_results {
  bool callback_ran = false;
  bool coroutine_ran = false;
};
void start_timers(boost::asio::io_context& ioc, timer_results& out);
}  // namespace backend
