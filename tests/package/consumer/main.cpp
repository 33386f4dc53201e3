// Built against the installed package, as an orchestration backend would.
// It waits on a handle at a loopback port where nothing listens: the wait
// must end "failed"/"timeout" on its own, with a reason, within its deadline.
#include <iostream>

#include "refused_wait.hpp"

int main() {
  boost::asio::io_context ioc;
  pollster::engine eng(ioc);
  consumer::refused_wait w(eng, ioc);
  ioc.run();
  // Connect refused is retried until the deadline: timeout, naming the last error.
  std::cout << "consumer: " << pollster::to_string(w.result.kind) << ": " << w.result.error_message
            << "\n";
  return w.result.kind == pollster::outcome_kind::timed_out ? 0 : 1;
}
