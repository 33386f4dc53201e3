// Built against the installed package, as an orchestration backend would.
// It waits on a handle at a loopback port where nothing listens: the wait
// must end "failed"/"timeout" on its own, with a reason, within its deadline.
#include <pollster/pollster.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <iostream>

int main() {
  namespace asio = boost::asio;
  using namespace std::chrono_literals;
  asio::io_context ioc;
  // A port that was free a moment ago: connects are refused.
  asio::ip::tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = probe.local_endpoint().port();
  probe.close();

  pollster::engine eng(ioc);
  pollster::client cl(eng, {.url = "https://127.0.0.1:" + std::to_string(port) + "/json-rpc/12.5",
                            .user = "admin",
                            .password = "secret"});
  pollster::wait_options opts;
  opts.deadline = 1s;
  pollster::outcome result;
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { result = co_await cl.wait(389, opts); },
      asio::detached);
  ioc.run();
  // Connect refused is retried until the deadline: timeout, naming the last error.
  std::cout << "consumer: " << pollster::to_string(result.kind) << ": " << result.error_message
            << "\n";
  return result.kind == pollster::outcome_kind::timed_out ? 0 : 1;
}
