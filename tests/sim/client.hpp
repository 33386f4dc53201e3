// A small blocking HTTPS client for the simulator's conformance tests. Every
// operation is bounded by a timeout (async operations run with run_for).
#pragma once

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace simtest {

struct reply {
  boost::system::error_code ec;  ///< transport failure (reset, eof, timeout...)
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
  bool keep_alive = true;
  std::chrono::milliseconds elapsed{0};
  bool ok() const { return !ec; }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct client_options {
  std::uint16_t port = 0;
  std::string user = "admin";
  std::string password = "admin";
  std::string ca_pem;           ///< non-empty: verify the peer against it
  std::string host = "127.0.0.1";  ///< name checked against the certificate (SNI too)
  std::chrono::milliseconds timeout{5000};
  bool tls12_only = false;      ///< cap the client at TLS 1.2
};

class client {
 public:
  explicit client(client_options o);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// TCP connect to 127.0.0.1:port and TLS handshake.
  boost::system::error_code connect();
  bool is_open() const;
  void close();
  /// SHA-256 of the peer certificate (hex), after connect.
  std::string peer_sha256() const;

  /// POST `body`; connects first when not connected. `authorization`:
  /// nullopt = Basic with the configured credentials, "" = no header.
  reply post(std::string_view body, std::string_view target = "/json-rpc/12.5",
             std::optional<std::string> authorization = std::nullopt, std::string_view method = "POST",
             bool chunked = false);
  /// Writes raw bytes on the TLS stream and reads one response.
  reply raw(std::string_view bytes);
  /// Reads one more response (after pipelined requests).
  reply read_next();
  /// The negotiated protocol ("TLSv1.3"...), after connect.
  std::string protocol() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

std::string basic_auth(const std::string& user, const std::string& password);

}  // namespace simtest
