// A tiny raw TLS server for hostile-answer tests: it reads each HTTP request
// properly and answers with whatever bytes the test scripted — truncated,
// malformed, oversized, dripped one byte at a time, or nothing at all.
//
// It runs on its own thread and io_context; the engine under test runs on the
// test's. Scripted answers are consumed in order by the requests that are not
// releases (GetAsyncResult with keepResult=false is the engine's release after
// delivery); when the script is empty, or for a release, the default answer is
// a valid "complete" GetAsyncResult answer for the handle asked about.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pollster::hostile {

using namespace std::chrono_literals;

struct answer {
  enum class then {
    keep,   ///< write the bytes, keep the connection for the next request
    close,  ///< write the bytes, then close the TCP connection (no close_notify)
    close_notify,  ///< write the bytes, then a TLS close_notify, then close
    reset,  ///< write the bytes, then reset the connection (RST)
    hang,   ///< write the bytes (maybe none), then never write or close again
    drip,   ///< write the bytes one at a time, `drip_every` apart, then keep
  };
  std::string bytes;
  then after = then::keep;
  std::chrono::milliseconds drip_every{100};
  /// Real clusters echo the request's JSON-RPC id: the server puts it in
  /// place of the scripted one (sized or chunked bodies). Off: sent as is.
  bool echo_id = true;
};

/// A whole HTTP/1.1 answer with Content-Length.
std::string http_answer(const std::string& body, int status = 200,
                        const std::string& extra_headers = "");
/// GetAsyncResult's success answer for `handle`, with its `result` member.
std::string complete_body(std::uint64_t handle);
/// The `result` member complete_body() carries (what outcome::raw_json holds).
std::string complete_result(std::uint64_t handle);
std::string running_body();

struct request_seen {
  std::string body;
  bool release = false;  ///< GetAsyncResult with keepResult=false
};

class server {
 public:
  server();
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Answers for the next non-release requests, in order.
  void script(std::vector<answer> answers);
  /// Every request after the script ran out gets `a` (instead of the valid default).
  void set_fallback(answer a);
  void clear_fallback();
  /// A replaying proxy: `after` each answer, the connection also gets the
  /// previous answer it carried again (another request's, with its id),
  /// unasked. Zero: off.
  void set_replay(std::chrono::milliseconds after);
  /// Every ListAsyncResults gets `a` (taken before the script).
  void set_list_answer(answer a);
  /// Every release (keepResult=false) gets `a` instead of a valid answer.
  void set_release_answer(answer a);

  std::string url() const;
  const std::string& pin_sha256() const { return pin_; }
  std::size_t connections() const { return connections_.load(); }
  std::vector<request_seen> requests() const;
  std::size_t polls() const;  ///< non-release requests read
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string pin_;
  std::atomic<std::size_t> connections_{0};
  friend struct impl;
};

}  // namespace pollster::hostile
