// Handles as `pollster watch` is given them: arguments, and lines on stdin
// read as they arrive.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "watch/clusters.hpp"

namespace pollster::cli::watch {

struct handle_ref {
  std::size_t cluster = 0;  ///< index into the clusters
  std::uint64_t handle = 0;
};

/// "389" or "east:389". With named clusters a bare handle is accepted only
/// when there is just one cluster. nullopt with `why` (quoting the text).
std::optional<handle_ref> parse_handle_ref(std::string_view text,
                                           const std::vector<cluster_spec>& clusters,
                                           std::string& why);

/// A line of stdin without its `#` comment and surrounding blanks; empty when
/// nothing is left (a blank or comment-only line, skipped).
std::string_view strip_input_line(std::string_view line);

/// Reads stdin line by line on the io_context, so that each handle is polled
/// as soon as its line arrives (a pipe, a terminal, a file alike).
class stdin_reader {
 public:
  using on_line_fn = std::function<void(std::string_view line, std::size_t number)>;
  /// Called once at the end of input: `why` is empty at a clean end.
  using on_end_fn = std::function<void(std::string why)>;
  stdin_reader(boost::asio::io_context& ioc, on_line_fn on_line, on_end_fn on_end);
  /// Restores stdin's file status flags (Asio makes it non-blocking, and a
  /// terminal's flags are shared with the shell).
  ~stdin_reader();
  void start();
  /// Stops reading (pending read aborted); on_end is not called.
  void stop();

 private:
  void read_more();
  void end(std::string why);

  boost::asio::posix::stream_descriptor in_;
  on_line_fn on_line_;
  on_end_fn on_end_;
  std::string buffer_;
  std::size_t line_number_ = 0;
  int saved_flags_ = -1;
  bool stopped_ = false;
};

}  // namespace pollster::cli::watch
