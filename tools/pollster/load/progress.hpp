// The progress line on standard error: one line a second, redrawn in place
// on a terminal (cut to its width), plain lines otherwise.
#pragma once

#include <string>
#include <vector>

#include "load/counters.hpp"
#include "report_format.hpp"

namespace pollster::cli::load {

class progress_line {
 public:
  /// `total_s`: warm-up plus duration, shown as "elapsed/total".
  progress_line(bool off, double total_s);
  /// One interval just ended; `measuring` false during the warm-up.
  void show(const interval& iv, const counters_block& c, bool open_loop, bool measuring);
  /// The run ended: the last interval's line, then a newline on a terminal.
  void finish(const interval& iv, const counters_block& c, bool open_loop);

 private:
  void print(const interval& iv, const counters_block& c, bool open_loop, const char* tag);

  bool off_, tty_;
  double total_s_;
  unsigned width_ = 80;
};

/// The fields of one line, most important first, joined while they fit in
/// `width` columns (the first always). Exposed for the unit test.
std::string fit_fields(const std::vector<std::string>& fields, unsigned width);

}  // namespace pollster::cli::load
