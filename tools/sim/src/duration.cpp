// Job and latency durations: fixed, uniform:LOW:HIGH, lognormal:MEDIAN:SIGMA.
// Each duration is read by the tools' one parser (tools/common).
#include "model.hpp"

#include "pollster/tools/duration.hpp"

#include <charconv>
#include <cmath>

namespace pollster::sim {

namespace {

bool parse_one_duration(std::string_view s, duration& out, std::string& why) {
  auto d = tools::parse_duration(s, why);
  if (!d) return false;
  out = *d;
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

}  // namespace

std::optional<duration_dist> duration_dist::parse(const std::string& text, std::string& why) {
  auto parts = split(text, ':');
  duration_dist d;
  auto bad_duration = [&](std::string_view) -> std::optional<duration_dist> { return std::nullopt; };
  if (parts.size() == 1 || (parts.size() == 2 && parts[0] == "fixed")) {
    std::string_view v = parts.back();
    d.shape = kind::fixed;
    if (!parse_one_duration(v, d.a, why)) return bad_duration(v);
    return d;
  }
  if (parts.size() == 3 && parts[0] == "uniform") {
    d.shape = kind::uniform;
    if (!parse_one_duration(parts[1], d.a, why)) return bad_duration(parts[1]);
    if (!parse_one_duration(parts[2], d.b, why)) return bad_duration(parts[2]);
    if (d.b < d.a) {
      why = "uniform:LOW:HIGH needs LOW <= HIGH";
      return std::nullopt;
    }
    return d;
  }
  if (parts.size() == 3 && parts[0] == "lognormal") {
    d.shape = kind::lognormal;
    if (!parse_one_duration(parts[1], d.a, why)) return bad_duration(parts[1]);
    double sigma = 0;
    auto [p, ec] = std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), sigma);
    if (ec != std::errc{} || p != parts[2].data() + parts[2].size() || !std::isfinite(sigma) || sigma < 0 ||
        sigma > 10) {
      why = "lognormal:MEDIAN:SIGMA needs a SIGMA between 0 and 10";
      return std::nullopt;
    }
    d.sigma = sigma;
    return d;
  }
  why = "'" + text + "' is not a duration distribution (2s, uniform:1s:5s, lognormal:2s:0.5)";
  return std::nullopt;
}

namespace detail {

duration sample(const duration_dist& d, double u1, double u2) noexcept {
  switch (d.shape) {
    case duration_dist::kind::fixed:
      return d.a;
    case duration_dist::kind::uniform:
      return d.a + duration(static_cast<std::int64_t>(u1 * static_cast<double>((d.b - d.a).count())));
    case duration_dist::kind::lognormal: {
      constexpr double two_pi = 6.283185307179586;
      double z = std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(two_pi * u2);
      double ns = static_cast<double>(d.a.count()) * std::exp(d.sigma * z);
      if (!(ns < 4e18)) ns = 4e18;
      return duration(static_cast<std::int64_t>(ns));
    }
  }
  return d.a;
}

}  // namespace detail

}  // namespace pollster::sim
