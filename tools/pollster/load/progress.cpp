#include "load/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace pollster::cli::load {

namespace {

unsigned terminal_width() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    const long v = std::strtol(c, nullptr, 10);
    if (v > 0 && v < 10000) return static_cast<unsigned>(v);
  }
  return 80;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0fs", s);
  return buf;
}

std::string field(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

}  // namespace

std::string fit_fields(const std::vector<std::string>& fields, unsigned width) {
  std::string line;
  for (const auto& f : fields) {
    if (line.empty()) {
      line = f;
    } else if (line.size() + 2 + f.size() <= width) {
      line += "  " + f;
    }
  }
  return line;
}

progress_line::progress_line(bool off, double total_s)
    : off_(off), tty_(::isatty(STDERR_FILENO) != 0), total_s_(total_s) {
  if (tty_) width_ = terminal_width();
}

void progress_line::print(const interval& iv, const counters_block& c, bool open_loop, const char* tag) {
  if (off_) return;
  const histogram d = iv.latency();
  const double dt = iv.dt > 0 ? iv.dt : 1;
  std::vector<std::string> fields;
  fields.push_back(seconds_text(iv.t) + "/" + seconds_text(total_s_) + tag);
  fields.push_back(field("%.0f req/s", iv.requests / dt));
  fields.push_back("p99 " + format_latency(d.percentile(99)));
  fields.push_back("errors " + std::to_string(c.errors_total(!open_loop)));
  fields.push_back(field("%.0f completed/s", iv.completed / dt));
  if (open_loop) fields.push_back("late " + std::to_string(c[counter::late]));
  fields.push_back("p50 " + format_latency(d.percentile(50)));
  if (iv.releases) fields.push_back(field("%.0f releases/s", iv.releases / dt));
  fields.push_back("conns " + std::to_string(iv.open_connections));
  // One column spare: a line exactly as wide as the terminal wraps on some.
  const std::string line = fit_fields(fields, tty_ ? (width_ > 1 ? width_ - 1 : 1) : 1000);
  if (tty_) std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
  else std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

void progress_line::show(const interval& iv, const counters_block& c, bool open_loop, bool measuring) {
  print(iv, c, open_loop, measuring ? "" : " warm-up");
}

void progress_line::finish(const interval& iv, const counters_block& c, bool open_loop) {
  print(iv, c, open_loop, "");
  if (tty_ && !off_) std::fputc('\n', stderr);
}

}  // namespace pollster::cli::load
