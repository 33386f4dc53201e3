// Where `pollster watch` writes: result lines on stdout, the live status line
// and messages on stderr.
#pragma once

#include <string>
#include <string_view>

namespace pollster::cli::watch {

/// The status line on stderr, drawn only when stderr is a terminal: cut to
/// the terminal's width (so it never wraps), and cleared before anything
/// else is written, so that results and messages never mix with it.
class status_line {
 public:
  status_line();
  bool live() const noexcept { return live_; }
  void draw(std::string_view text);
  void clear();
  /// Draws `text` a last time and leaves it on screen (ends its line).
  void finish(std::string_view text);
  /// A message on stderr, on a line of its own.
  void message(std::string_view text);

 private:
  bool live_ = false;
  bool shown_ = false;
};

/// Writes whole lines to stdout with write(2): a line counts as delivered
/// only once write(2) accepted all of its bytes (nothing stays in a user-space
/// buffer, so there is no separate flush to fail later). After the first
/// error (a full disk, a pipe closed early: SIGPIPE is ignored, so EPIPE comes
/// back here) every later write is refused.
class line_writer {
 public:
  explicit line_writer(int fd) : fd_(fd) {}
  bool write(std::string_view line);
  bool failed() const noexcept { return !error_.empty(); }
  const std::string& error() const noexcept { return error_; }

 private:
  int fd_;
  std::string error_;
};

}  // namespace pollster::cli::watch
