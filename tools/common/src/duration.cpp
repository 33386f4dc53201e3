#include "pollster/tools/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace pollster::tools {
namespace {

struct unit_scale {
  std::string_view name;
  std::int64_t ns;
};

// Longest names first, so "ms" is not read as "m" followed by junk.
constexpr std::array<unit_scale, 7> units{{{"min", 60'000'000'000},
                                           {"ms", 1'000'000},
                                           {"us", 1'000},
                                           {"ns", 1},
                                           {"h", 3'600'000'000'000},
                                           {"m", 60'000'000'000},
                                           {"s", 1'000'000'000}}};

std::optional<std::int64_t> scale_of(std::string_view name) {
  for (const auto& u : units)
    if (u.name == name) return u.ns;
  return std::nullopt;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

// Hand-written rather than std::from_chars on a double: a double loses
// nanoseconds past 2^53 and accepts exponents ("1e3s"); here the integer and
// the fraction are kept exact in 128 bits, so overflow is detected, not rounded.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text, std::string& why,
                                                       std::string_view bare_unit) {
  const std::string quoted = "'" + std::string(text) + "'";
  auto fail = [&](std::string reason) -> std::optional<std::chrono::nanoseconds> {
    why = std::move(reason);
    return std::nullopt;
  };
  const std::string form = " (like 1m30s, 500ms, 2h, 1.5s)";
  if (text.empty()) return fail("an empty value is not a duration" + form);
  if (text.front() == '-') return fail(quoted + " is negative; a duration must be 0 or more" + form);
  if (text == "0") return std::chrono::nanoseconds{0};

  constexpr __int128 max_ns = std::numeric_limits<std::int64_t>::max();
  __int128 total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    // NUMBER: digits, optionally '.' and more digits; at least one digit.
    __int128 whole = 0;
    bool too_big = false, any_digit = false;
    while (i < text.size() && is_digit(text[i])) {
      any_digit = true;
      whole = whole * 10 + (text[i++] - '0');
      if (whole > max_ns) too_big = true, whole = max_ns + 1;  // keep scanning, stay bounded
    }
    __int128 frac = 0, frac_div = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && is_digit(text[i])) {
        any_digit = true;
        if (frac_div < 1'000'000'000'000'000'000) {  // digits past 1e-18 of a unit cannot reach 1 ns
          frac = frac * 10 + (text[i] - '0');
          frac_div *= 10;
        }
        ++i;
      }
    }
    if (!any_digit) return fail(quoted + " is not a duration" + form);
    // UNIT: the letters that follow.
    const std::size_t unit_start = i;
    while (i < text.size() && !is_digit(text[i]) && text[i] != '.') ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      if (bare_unit.empty() || unit_start != text.size() || total != 0)
        return fail(quoted + " needs a unit (h, m, s, ms, us, ns)" + form);
      unit = bare_unit;
    }
    const auto scale = scale_of(unit);
    if (!scale) return fail(quoted + " has an unknown unit '" + std::string(unit) + "' (use h, m, s, ms, us, ns)");
    total += whole * *scale + frac * *scale / frac_div;
    if (too_big || total > max_ns) return fail(quoted + " is too long; the longest duration is about 292 years (2562047h)");
  }
  return std::chrono::nanoseconds{static_cast<std::int64_t>(total)};
}

std::string format_duration(std::chrono::nanoseconds d) {
  if (d.count() == 0) return "0s";
  std::string out;
  if (d.count() < 0) {
    out = "-";
    d = -d;
  }
  std::int64_t ns = d.count();
  const std::int64_t h = ns / 3'600'000'000'000;
  ns %= 3'600'000'000'000;
  const std::int64_t m = ns / 60'000'000'000;
  ns %= 60'000'000'000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (ns == 0) return out;
  // The rest in the largest unit that keeps it whole.
  if (ns % 1'000'000'000 == 0) return out + std::to_string(ns / 1'000'000'000) + "s";
  if (ns % 1'000'000 == 0) return out + std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0) return out + std::to_string(ns / 1'000) + "us";
  return out + std::to_string(ns) + "ns";
}

}  // namespace pollster::tools
