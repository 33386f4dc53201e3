#include "watch/output.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pollster::cli::watch {

namespace {

// Writes all of `text` to `fd`; errno on failure, 0 on success.
int write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n > 0) {
      text.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Someone else made the descriptor non-blocking: wait until it drains.
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, -1);
    } else {
      return n < 0 ? errno : EIO;
    }
  }
  return 0;
}

std::size_t terminal_columns() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace

status_line::status_line() : live_(::isatty(STDERR_FILENO) == 1) {}

void status_line::draw(std::string_view text) {
  if (!live_) return;
  // One column short of the width: a character in the last column makes some
  // terminals wrap, and then "\r" no longer reaches the line's start.
  const std::size_t width = terminal_columns() - 1;
  if (text.size() > width) text = text.substr(0, width);
  std::string out = "\r\033[K";
  out += text;
  write_all(STDERR_FILENO, out);
  shown_ = true;
}

void status_line::clear() {
  if (!shown_) return;
  write_all(STDERR_FILENO, "\r\033[K");
  shown_ = false;
}

void status_line::finish(std::string_view text) {
  if (!live_) return;
  draw(text);
  write_all(STDERR_FILENO, "\n");
  shown_ = false;
}

void status_line::message(std::string_view text) {
  clear();
  std::string out(text);
  out += '\n';
  write_all(STDERR_FILENO, out);
}

bool line_writer::write(std::string_view line) {
  if (failed()) return false;
  if (const int e = write_all(fd_, line)) {
    error_ = std::strerror(e);
    return false;
  }
  return true;
}

}  // namespace pollster::cli::watch
