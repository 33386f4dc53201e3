// One io_context: the backend's own timers (timers.cpp) and a pollster wait
// on a handle at a loopback port where nothing listens. Everything must run
// to its end: both timers fire, the wait ends timed_out naming the connect
// error.
#include <boost/asio/io_service.hpp>
#include <iostream>

#include "refused_wait.hpp"
#include "timers.hpp"

int main() {
  namespace asio = boost::asio;
  // io_service: Asio's deprecated name, which a backend may still use; the
  // package must not turn it off (BOOST_ASIO_NO_DEPRECATED). The macro lets
  // the other failures be seen against a package that does.
#ifndef BACKEND_WITHOUT_IO_SERVICE
  asio::io_service ioc;
#else
  asio::io_context ioc;
#endif
  backend::timer_results timers;
  backend::start_timers(ioc, timers);
  pollster::engine eng(ioc);
  consumer::refused_wait w(eng, ioc);
  ioc.run();
  const pollster::outcome& result = w.result;
  std::cout << "backend: timer callback " << (timers.callback_ran ? "ran" : "did not run")
            << ", timer coroutine " << (timers.coroutine_ran ? "ran" : "did not run")
            << ", pollster: " << pollster::to_string(result.kind) << ": " << result.message()
            << " (json kernel " << pollster::engine::json_implementation() << ")\n";
  const bool ok = timers.callback_ran && timers.coroutine_ran &&
                  result.kind == pollster::outcome_kind::timed_out;
  return ok ? 0 : 1;
}
