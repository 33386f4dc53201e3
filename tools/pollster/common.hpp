// Small pieces the subcommands share: the password, TLS flags, JSON output.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "pollster/config.hpp"

namespace pollster::cli {

/// Reads the password from `file` (first line) or, when `file` is empty,
/// from POLLSTER_PASSWORD. Warns on stderr when the file is readable by group
/// or others. nullopt with `why` set when there is none.
std::optional<std::string> read_password(const std::string& file, std::string& why);

/// The TLS flags every client subcommand takes.
struct tls_flags {
  std::string ca_file;
  std::string pin_sha256;
  bool insecure = false;
  bool allow_plaintext = false;
  void add_to(CLI::App& app);
  /// Applies them; prints the --insecure warning.
  tls_options to_options() const;
};

/// Parses a positive integer handle ("389"); nullopt otherwise.
std::optional<std::uint64_t> parse_handle(std::string_view text);

/// Parses a purge policy name: after-delivery, never, on-read.
std::optional<purge_policy> parse_purge(std::string_view text);

}  // namespace pollster::cli
