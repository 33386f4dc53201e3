// Header-only Asio (unless BACKEND_OWN_ASIO), compiled without anything
// pollster's package could impose: the layout of Asio's types here must be
// the layout pollster was built with, or the first async_wait crashes.
#include "timers.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>

namespace backend {

void start_timers(boost::asio::io_context& ioc, timer_results& out) {
  namespace asio = boost::asio;
  using namespace std::chrono_literals;
  auto timer = std::make_shared<asio::steady_timer>(ioc, 10ms);
  timer->async_wait([timer, &out](boost::system::error_code ec) { out.callback_ran = !ec; });
  asio::co_spawn(
      ioc,
      [&out]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
        co_await t.async_wait(asio::use_awaitable);
        out.coroutine_ran = true;
      },
      asio::detached);
}

}  // namespace backend
