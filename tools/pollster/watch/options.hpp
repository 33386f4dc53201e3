// What `pollster watch` was asked to do, as given on the command line (and
// POLLSTER_* environment variables).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common.hpp"

namespace pollster::cli::watch {

struct watch_options {
  std::string endpoint;  ///< --endpoint (one cluster), or:
  std::string clusters_file;  ///< --clusters FILE
  std::string user;
  std::string password_file;
  tls_flags tls;
  std::string timeout = "1h";  ///< as typed: parsed (with the flag's name) by run_watch
  std::string purge = "after-delivery";
  std::size_t connections = 8;
  double rate = 0;
  std::string fan_in = "auto";  ///< --fan-in as typed: checked by run_watch
  bool stats = false;           ///< --stats: the engines' request counts on stderr at exit
  std::vector<std::string> handles;
};

/// Runs a parsed `pollster watch`; returns the exit status.
int run_watch(watch_options& opt);

}  // namespace pollster::cli::watch
