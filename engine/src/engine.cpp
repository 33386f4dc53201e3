#include "pollster/engine.hpp"

#include <random>

#include "engine_impl.hpp"

namespace pollster {

namespace {
std::uint64_t seed_or_random(std::uint64_t seed) {
  if (seed) return seed;
  std::random_device rd;
  return (std::uint64_t(rd()) << 32) ^ rd();
}
}  // namespace

engine::impl::impl(boost::asio::io_context& c, engine_config cfg)
    : ioc(c), rng(seed_or_random(cfg.seed)), observer(std::move(cfg.observer)) {}

engine::engine(boost::asio::io_context& ioc, engine_config cfg)
    : impl_(std::make_shared<impl>(ioc, std::move(cfg))) {}

engine::~engine() = default;

boost::asio::io_context& engine::context() noexcept { return impl_->ioc; }
const counters& engine::stats() const noexcept { return impl_->stats; }
std::string_view engine::json_implementation() noexcept {
  return detail::answer_parser::implementation();
}

std::string_view engine::json_library() noexcept { return detail::answer_parser::library(); }

}  // namespace pollster
