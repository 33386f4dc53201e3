#include "client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <functional>

#include <openssl/x509.h>

namespace simtest {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

std::string basic_auth(const std::string& user, const std::string& password) {
  std::string cred = user + ":" + password;
  std::string out(beast::detail::base64::encoded_size(cred.size()), '\0');
  out.resize(beast::detail::base64::encode(out.data(), cred.data(), cred.size()));
  return "Basic " + out;
}

struct client::impl {
  client_options opt;
  asio::io_context ioc{1};
  ssl::context ctx{ssl::context::tls_client};
  std::optional<ssl::stream<tcp::socket>> stream;
  beast::flat_buffer buf;
  bool open = false;

  explicit impl(client_options o) : opt(std::move(o)) {
    if (!opt.ca_pem.empty()) {
      ctx.add_certificate_authority(asio::buffer(opt.ca_pem));
      ctx.set_verify_mode(ssl::verify_peer);
    } else {
      ctx.set_verify_mode(ssl::verify_none);
    }
    if (opt.tls12_only) SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  }

  // Runs the pending operation to completion or until the timeout; on
  // timeout, closes the socket (which completes the operation) and reports it.
  error_code wait(const bool& done, error_code& ec) {
    ioc.restart();
    ioc.run_for(opt.timeout);
    if (!done) {
      error_code ignored;
      stream->next_layer().close(ignored);
      ioc.restart();
      ioc.run();
      ec = asio::error::timed_out;
    }
    if (ec) open = false;
    return ec;
  }

  error_code connect() {
    stream.emplace(ioc, ctx);
    buf.clear();
    if (!opt.ca_pem.empty()) stream->set_verify_callback(ssl::host_name_verification(opt.host));
    SSL_set_tlsext_host_name(stream->native_handle(), opt.host.c_str());
    bool done = false;
    error_code ec;
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), opt.port);
    stream->next_layer().async_connect(ep, [&](error_code e) {
      if (e) {
        ec = e;
        done = true;
        return;
      }
      error_code ignored;
      stream->next_layer().set_option(tcp::no_delay(true), ignored);
      stream->async_handshake(ssl::stream_base::client, [&](error_code e2) {
        ec = e2;
        done = true;
      });
    });
    wait(done, ec);
    open = !ec;
    return ec;
  }

  reply exchange(const std::function<void(std::function<void(error_code)>)>& write) {
    reply r;
    auto t0 = std::chrono::steady_clock::now();
    if (!open) {
      r.ec = connect();
      if (r.ec) return r;
    }
    bool done = false;
    error_code ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ULL << 31);
    parser.header_limit(64 * 1024);
    write([&](error_code e) {
      if (e) {
        ec = e;
        done = true;
        return;
      }
      http::async_read(*stream, buf, parser, [&](error_code e2, std::size_t) {
        ec = e2;
        done = true;
      });
    });
    wait(done, ec);
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    if (ec) {
      r.ec = ec;
      open = false;
      return r;
    }
    auto& res = parser.get();
    r.status = static_cast<int>(res.result_int());
    r.body = res.body();
    r.keep_alive = res.keep_alive();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    return r;
  }
};

client::client(client_options o) : impl_(std::make_unique<impl>(std::move(o))) {}
client::~client() = default;

error_code client::connect() { return impl_->connect(); }
bool client::is_open() const { return impl_->open; }
void client::close() {
  if (impl_->stream) {
    error_code ignored;
    impl_->stream->next_layer().close(ignored);
  }
  impl_->open = false;
}

std::string client::peer_sha256() const {
  if (!impl_->stream) return {};
  X509* cert = SSL_get1_peer_certificate(impl_->stream->native_handle());
  if (!cert) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  X509_free(cert);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

reply client::post(std::string_view body, std::string_view target, std::optional<std::string> authorization,
                   std::string_view method, bool chunked) {
  auto req = std::make_shared<http::request<http::string_body>>();
  req->method_string(method);
  req->target(target);
  req->version(11);
  req->set(http::field::host, impl_->opt.host);
  req->set(http::field::content_type, "application/json-rpc");
  std::string auth = authorization ? *authorization : basic_auth(impl_->opt.user, impl_->opt.password);
  if (!auth.empty()) req->set(http::field::authorization, auth);
  req->body() = std::string(body);
  if (chunked) req->chunked(true);
  else req->prepare_payload();
  return impl_->exchange([this, req](std::function<void(error_code)> next) {
    http::async_write(*impl_->stream, *req, [req, next](error_code e, std::size_t) { next(e); });
  });
}

reply client::raw(std::string_view bytes) {
  auto data = std::make_shared<std::string>(bytes);
  return impl_->exchange([this, data](std::function<void(error_code)> next) {
    asio::async_write(*impl_->stream, asio::buffer(*data), [data, next](error_code e, std::size_t) { next(e); });
  });
}

reply client::read_next() {
  return impl_->exchange([](std::function<void(error_code)> next) { next({}); });
}

std::string client::protocol() const {
  if (!impl_->stream) return {};
  return SSL_get_version(impl_->stream->native_handle());
}

}  // namespace simtest
