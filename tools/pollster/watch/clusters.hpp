// The clusters `pollster watch` serves: one from the --endpoint flags, or
// several from a --clusters file.
#pragma once

#include <optional>
#include <system_error>
#include <string>
#include <vector>

#include "pollster/config.hpp"

namespace pollster::cli::watch {

struct cluster_spec {
  std::string name;    ///< empty for the --endpoint cluster (its lines carry no "cluster")
  std::string label;   ///< in messages: the name, or HOST:PORT of --endpoint
  client_config config;
};

/// Reads a clusters file:
///   {"clusters": {"NAME": {"endpoint": URL, "user": U,
///                          "password_file": PATH | "password_env": VAR,
///                          "ca_file": PATH | "pin_sha256": HEX | "insecure": true,
///                          "pool_size": N, "rate": R}}}
/// Passwords are read here. Unknown members are refused (a typo must not be
/// ignored silently). `defaults` gives what an entry leaves out (pool_size,
/// rate) and allow_plaintext. nullopt with `why` naming the file, cluster and
/// member.
std::optional<std::vector<cluster_spec>> read_clusters_file(const std::string& path,
                                                            const client_config& defaults,
                                                            std::string& why);

/// What a client refused to be built with (std::system_error from its
/// constructor), in the words the user wrote: the flag (--pin-sha256) for the
/// --endpoint cluster, the file's member (pin_sha256) for a named one; never
/// the engine's field names.
std::string describe_config_error(const cluster_spec& c, const std::system_error& e);

}  // namespace pollster::cli::watch
