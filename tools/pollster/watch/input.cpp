#include "watch/input.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>

#include "common.hpp"

namespace pollster::cli::watch {

namespace asio = boost::asio;

std::optional<handle_ref> parse_handle_ref(std::string_view text,
                                           const std::vector<cluster_spec>& clusters,
                                           std::string& why) {
  const bool named = !clusters.empty() && !clusters.front().name.empty();
  const std::string quoted = "'" + std::string(text) + "'";
  handle_ref ref;
  std::string_view number = text;
  if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    if (!named) {
      why = quoted + ": NAME:HANDLE needs --clusters (with --endpoint, handles are plain numbers)";
      return std::nullopt;
    }
    const std::string_view name = text.substr(0, colon);
    std::size_t i = 0;
    while (i < clusters.size() && clusters[i].name != name) ++i;
    if (i == clusters.size()) {
      std::string known;
      for (const auto& c : clusters) known += (known.empty() ? "" : ", ") + c.name;
      why = quoted + ": unknown cluster '" + std::string(name) + "' (the clusters file has " +
            known + ")";
      return std::nullopt;
    }
    ref.cluster = i;
    number = text.substr(colon + 1);
  } else if (named && clusters.size() > 1) {
    why = quoted + ": give the cluster as NAME:HANDLE (the clusters file has several)";
    return std::nullopt;
  }
  auto h = parse_handle(number);
  if (!h) {
    why = quoted + " is not a positive integer handle";
    return std::nullopt;
  }
  ref.handle = *h;
  return ref;
}

std::string_view strip_input_line(std::string_view line) {
  if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
  constexpr std::string_view blanks = " \t\r\n\f\v";
  const auto first = line.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return line.substr(first, line.find_last_not_of(blanks) - first + 1);
}

stdin_reader::stdin_reader(asio::io_context& ioc, on_line_fn on_line, on_end_fn on_end)
    : in_(ioc), on_line_(std::move(on_line)), on_end_(std::move(on_end)) {}

stdin_reader::~stdin_reader() {
  boost::system::error_code ec;
  in_.close(ec);
  if (saved_flags_ != -1) ::fcntl(STDIN_FILENO, F_SETFL, saved_flags_);
}

void stdin_reader::start() {
  saved_flags_ = ::fcntl(STDIN_FILENO, F_GETFL);
  // A duplicate, so that closing ours leaves fd 0 itself alone. Asio accepts
  // a regular file here too (epoll refuses it; Asio then reads it directly).
  const int fd = saved_flags_ == -1 ? -1 : ::dup(STDIN_FILENO);
  boost::system::error_code ec;
  if (fd >= 0) in_.assign(fd, ec);
  if (fd < 0 || ec) {
    if (fd >= 0) ::close(fd);
    saved_flags_ = -1;
    asio::post(in_.get_executor(), [this] { end({}); });  // no stdin: no handles from it
    return;
  }
  read_more();
}

void stdin_reader::stop() {
  stopped_ = true;
  boost::system::error_code ec;
  in_.close(ec);
}

void stdin_reader::read_more() {
  // At most 64 KiB without a newline: a handle line is a few bytes.
  asio::async_read_until(in_, asio::dynamic_buffer(buffer_, 64 * 1024), '\n',
                         [this](const boost::system::error_code& ec, std::size_t n) {
                           if (stopped_) return;
                           if (!ec) {
                             on_line_(std::string_view(buffer_).substr(0, n - 1), ++line_number_);
                             buffer_.erase(0, n);
                             if (!stopped_) read_more();
                             return;
                           }
                           // End of input (or an error, or a line too long): the
                           // last line may lack its newline.
                           std::string why;
                           if (ec == asio::error::eof) {
                             if (!buffer_.empty()) on_line_(buffer_, ++line_number_);
                           } else if (ec == asio::error::not_found) {
                             why = "standard input line " + std::to_string(line_number_ + 1) +
                                   " is longer than 64 KiB";
                           } else {
                             why = "cannot read standard input: " + ec.message();
                           }
                           end(std::move(why));
                         });
}

void stdin_reader::end(std::string why) {
  if (stopped_) return;
  stopped_ = true;
  on_end_(std::move(why));
}

}  // namespace pollster::cli::watch
