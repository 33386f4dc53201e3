// Number and time writers for the answers, which are built by appending
// (a DOM would cost an allocation per node on the polling path).
#include "model.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace pollster::sim::detail {

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_fixed(std::string& out, double v, int precision) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, precision);
  out.append(buf, r.ptr);
}

unsigned api_major(std::string_view version) noexcept {
  unsigned v = 0;
  std::from_chars(version.data(), version.data() + version.size(), v);
  return v;
}

namespace {

// The last two seconds formatted on this thread: an answer names its job's
// createTime and lastUpdateTime, and the next answers mostly name the same.
struct iso8601_cache {
  std::int64_t secs[2] = {INT64_MIN, INT64_MIN};
  char text[2][20];
  unsigned next = 0;
};
thread_local iso8601_cache time_cache;

}  // namespace

void append_iso8601(std::string& out, std::int64_t unix_ms) {
  std::int64_t secs = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
  iso8601_cache& c = time_cache;
  for (unsigned i = 0; i < 2; ++i)
    if (c.secs[i] == secs) {
      out.append(c.text[i], 20);
      return;
    }
  std::int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  std::int64_t sod = secs - days * 86400;
  // civil_from_days (H. Hinnant)
  days += 719468;
  std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  std::int64_t doe = days - era * 146097;
  std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = yoe + era * 400;
  std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::int64_t mp = (5 * doy + 2) / 153;
  std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[20];
  auto two = [](char* p, std::int64_t v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  std::int64_t yy = std::clamp<std::int64_t>(y, 0, 9999);
  buf[0] = static_cast<char>('0' + yy / 1000);
  buf[1] = static_cast<char>('0' + yy / 100 % 10);
  two(buf + 2, yy % 100);
  buf[4] = '-';
  two(buf + 5, m);
  buf[7] = '-';
  two(buf + 8, d);
  buf[10] = 'T';
  two(buf + 11, sod / 3600);
  buf[13] = ':';
  two(buf + 14, sod / 60 % 60);
  buf[16] = ':';
  two(buf + 17, sod % 60);
  buf[19] = 'Z';
  out.append(buf, 20);
  c.secs[c.next] = secs;
  std::copy_n(buf, 20, c.text[c.next]);
  c.next ^= 1u;
}

}  // namespace pollster::sim::detail
