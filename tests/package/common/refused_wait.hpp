// What every package consumer does with pollster: wait on a handle at a
// loopback port where nothing listens. Connect refused is retried until the
// deadline: the wait must end timed_out, naming the last error, on its own.
#pragma once

#include <pollster/pollster.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>

namespace consumer {

inline std::string refused_url(boost::asio::io_context& ioc) {
  namespace asio = boost::asio;
  // A port that was free a moment ago: connects are refused.
  asio::ip::tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = probe.local_endpoint().port();
  probe.close();
  return "https://127.0.0.1:" + std::to_string(port) + "/json-rpc/12.5";
}

// The wait is spawned on construction; `result` holds its end once
// ioc.run() has returned.
struct refused_wait {
  refused_wait(pollster::engine& eng, boost::asio::io_context& ioc)
      : client(eng, {.url = refused_url(ioc), .user = "admin", .password = "secret"}) {
    using namespace std::chrono_literals;
    pollster::wait_options opts;
    opts.deadline = 1s;
    boost::asio::co_spawn(
        ioc,
        [this, opts]() -> boost::asio::awaitable<void> { result = co_await client.wait(389, opts); },
        boost::asio::detached);
  }
  pollster::client client;
  pollster::outcome result;
};

}  // namespace consumer
