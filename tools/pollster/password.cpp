#include <sys/stat.h>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "common.hpp"

namespace pollster::cli {

std::optional<std::string> read_password(const std::string& file, std::string& why) {
  if (file.empty()) {
    const char* env = std::getenv("POLLSTER_PASSWORD");
    if (!env || !*env) {
      why = "no password: set POLLSTER_PASSWORD or pass --password-file FILE";
      return std::nullopt;
    }
    return std::string(env);
  }
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    why = "cannot read password file '" + file + "'";
    return std::nullopt;
  }
  if (st.st_mode & (S_IRGRP | S_IROTH))
    std::cerr << "pollster: warning: password file '" << file
              << "' is readable by other users (chmod 600 it)\n";
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) {
    why = "password file '" + file + "' is empty or unreadable";
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    why = "password file '" + file + "' has an empty first line";
    return std::nullopt;
  }
  return line;
}

void tls_flags::add_to(CLI::App& app) {
  auto* ca = app.add_option("--ca-file", ca_file, "PEM file of the CAs to trust (default: system store)")
                 ->check(CLI::ExistingFile);
  auto* pin = app.add_option("--pin-sha256", pin_sha256,
                             "trust only the certificate with this SHA-256 fingerprint (hex)");
  auto* insec = app.add_flag("--insecure", insecure,
                             "do not verify the server's certificate (DANGEROUS: prints a warning)");
  ca->excludes(pin)->excludes(insec);
  pin->excludes(insec);
  app.add_flag("--allow-plaintext", allow_plaintext, "allow an http:// endpoint (tests only)");
}

tls_options tls_flags::to_options() const {
  if (insecure)
    std::cerr << "pollster: WARNING: --insecure: the cluster's certificate is not verified; "
                 "anyone on the network path can impersonate it and read the password\n";
  return tls_options{.ca_file = ca_file,
                     .pin_sha256 = pin_sha256,
                     .insecure_skip_verify = insecure,
                     .allow_plaintext = allow_plaintext};
}

std::optional<std::uint64_t> parse_handle(std::string_view text) {
  std::uint64_t v = 0;
  if (text.empty() || text.front() == '+' || text.front() == '-') return std::nullopt;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v == 0 ||
      v > static_cast<std::uint64_t>(INT64_MAX))
    return std::nullopt;
  return v;
}

std::optional<purge_policy> parse_purge(std::string_view text) {
  if (text == "after-delivery") return purge_policy::after_delivery;
  if (text == "never") return purge_policy::never;
  if (text == "on-read") return purge_policy::on_read;
  return std::nullopt;
}

}  // namespace pollster::cli
