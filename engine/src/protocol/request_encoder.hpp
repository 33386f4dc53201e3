// Builds the bytes of one HTTP/1.1 JSON-RPC POST. The part that never changes
// for a cluster (request line, Host, Authorization, Content-Type) is computed
// once; a poll only writes its numbers in. Header and body go out in one write.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pollster {
struct endpoint;
}

namespace pollster::detail {

std::string base64_encode(std::string_view in);

class request_encoder {
 public:
  request_encoder(const endpoint& ep, std::string_view user, std::string_view password);

  /// GetAsyncResult for `handle`. Appends to `out` after clearing it.
  void get_async_result(std::string& out, std::uint64_t handle, bool keep_result,
                        std::uint64_t id) const;
  /// Any method; `params_json` must be a JSON object (or empty for {}).
  void call(std::string& out, std::string_view method, std::string_view params_json,
            std::uint64_t id) const;

 private:
  void finish(std::string& out, std::string_view body) const;
  std::string head_;  // "POST ... Content-Length: "
};

}  // namespace pollster::detail
