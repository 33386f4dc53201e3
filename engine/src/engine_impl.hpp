// What the engine shares with its clients.
#pragma once

#include <boost/asio/io_context.hpp>

#include "pollster/engine.hpp"
#include "poller/rng.hpp"
#include "protocol/answer_parser.hpp"

namespace pollster {

struct engine::impl {
  impl(boost::asio::io_context& c, engine_config cfg);
  boost::asio::io_context& ioc;
  detail::answer_parser parser;  // one, reused: the io_context has one thread
  detail::rng rng;
  counters stats;
  std::function<void(const request_event&)> observer;
};

}  // namespace pollster
