#include "watch/clusters.hpp"

#include <simdjson.h>

#include <cstdlib>
#include <set>

#include "pollster/error.hpp"

#include "common.hpp"

namespace pollster::cli::watch {

namespace {

namespace dom = simdjson::dom;

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

// Reads one cluster's object; false with `why` set.
bool read_cluster(std::string_view name, dom::object obj, const client_config& defaults,
                  cluster_spec& out, std::string& why) {
  const std::string where = "cluster \"" + std::string(name) + "\": ";
  out.name = std::string(name);
  out.label = out.name;
  out.config.pool_size = defaults.pool_size;
  out.config.rate_limit = defaults.rate_limit;
  std::string password_file, password_env;
  bool has_password_file = false, has_password_env = false;
  int trust_choices = 0;
  std::set<std::string_view> seen;
  auto string_member = [&](dom::element v, std::string_view key, std::string& dst) {
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS || s.empty()) {
      why = where + "\"" + std::string(key) + "\" must be a non-empty string";
      return false;
    }
    dst = std::string(s);
    return true;
  };
  for (auto [key, value] : obj) {
    if (!seen.insert(key).second) {
      why = where + "\"" + std::string(key) + "\" is given twice";
      return false;
    }
    client_config& c = out.config;
    if (key == "endpoint") {
      if (!string_member(value, key, c.url)) return false;
    } else if (key == "user") {
      if (!string_member(value, key, c.user)) return false;
    } else if (key == "password_file") {
      if (!string_member(value, key, password_file)) return false;
      has_password_file = true;
    } else if (key == "password_env") {
      if (!string_member(value, key, password_env)) return false;
      has_password_env = true;
    } else if (key == "ca_file") {
      if (!string_member(value, key, c.tls.ca_file)) return false;
      ++trust_choices;
    } else if (key == "pin_sha256") {
      if (!string_member(value, key, c.tls.pin_sha256)) return false;
      ++trust_choices;
    } else if (key == "insecure") {
      bool b = false;
      if (value.get(b) != simdjson::SUCCESS) {
        why = where + "\"insecure\" must be true or false";
        return false;
      }
      c.tls.insecure_skip_verify = b;
      if (b) ++trust_choices;
    } else if (key == "pool_size") {
      std::uint64_t n = 0;
      if (value.get(n) != simdjson::SUCCESS || n < 1 || n > 1024) {
        why = where + "\"pool_size\" must be an integer from 1 to 1024";
        return false;
      }
      c.pool_size = n;
    } else if (key == "rate") {
      double r = 0;
      if (value.get(r) != simdjson::SUCCESS || !(r >= 0)) {
        why = where + "\"rate\" must be a number >= 0 (requests per second; 0: unlimited)";
        return false;
      }
      c.rate_limit = r;
    } else {
      why = where + "unknown member \"" + std::string(key) +
            "\" (expected endpoint, user, password_file, password_env, ca_file, pin_sha256, "
            "insecure, pool_size, rate)";
      return false;
    }
  }
  if (out.config.url.empty() || out.config.user.empty()) {
    why = where + (out.config.url.empty() ? "\"endpoint\"" : "\"user\"") + " is required";
    return false;
  }
  if (has_password_file == has_password_env) {
    why = where + "give exactly one of \"password_file\" and \"password_env\"";
    return false;
  }
  if (trust_choices > 1) {
    why = where + "give at most one of \"ca_file\", \"pin_sha256\" and \"insecure\"";
    return false;
  }
  out.config.tls.allow_plaintext = defaults.tls.allow_plaintext;
  if (has_password_env) {
    const char* env = std::getenv(password_env.c_str());
    if (!env || !*env) {
      why = where + "\"password_env\": environment variable " + password_env + " is not set";
      return false;
    }
    out.config.password = env;
  } else {
    std::string reason;
    auto pw = read_password(password_file, reason);
    if (!pw) {
      why = where + "\"password_file\": " + reason;
      return false;
    }
    out.config.password = std::move(*pw);
  }
  return true;
}

}  // namespace

std::optional<std::vector<cluster_spec>> read_clusters_file(const std::string& path,
                                                            const client_config& defaults,
                                                            std::string& why) {
  const std::string where = "--clusters '" + path + "': ";
  dom::parser parser;
  dom::element root;
  if (auto err = parser.load(path).get(root)) {
    why = where + (err == simdjson::IO_ERROR ? std::string("cannot read the file")
                                              : "not JSON (" + std::string(simdjson::error_message(err)) + ")");
    return std::nullopt;
  }
  dom::object top, clusters;
  if (root.get(top) != simdjson::SUCCESS || top.size() != 1 ||
      top["clusters"].get(clusters) != simdjson::SUCCESS) {
    why = where + "expected {\"clusters\": {\"NAME\": {...}, ...}} and nothing else";
    return std::nullopt;
  }
  std::vector<cluster_spec> out;
  std::set<std::string_view> names;
  for (auto [name, value] : clusters) {
    if (!valid_name(name)) {
      why = where + "cluster name \"" + std::string(name) +
            "\" must be letters, digits, '-', '_' or '.' (handles are NAME:HANDLE)";
      return std::nullopt;
    }
    if (!names.insert(name).second) {
      why = where + "cluster \"" + std::string(name) + "\" is given twice";
      return std::nullopt;
    }
    dom::object obj;
    if (value.get(obj) != simdjson::SUCCESS) {
      why = where + "cluster \"" + std::string(name) + "\" must be an object";
      return std::nullopt;
    }
    cluster_spec spec;
    if (!read_cluster(name, obj, defaults, spec, why)) {
      why = where + why;
      return std::nullopt;
    }
    out.push_back(std::move(spec));
  }
  if (out.empty()) {
    why = where + "no clusters";
    return std::nullopt;
  }
  return out;
}

std::string describe_config_error(const cluster_spec& c, const std::system_error& e) {
  const bool named = !c.name.empty();
  auto cite = [&](std::string_view flag, std::string_view member) {
    return named ? "cluster \"" + c.name + "\": \"" + std::string(member) + "\""
                 : std::string(flag);
  };
  const std::string_view what = e.what();
  if (e.code() == error::plaintext_refused)
    return cite("--endpoint", "endpoint") + " '" + c.config.url +
           "' is plain http: the password would cross the network in clear; use https "
           "(or --allow-plaintext, for tests)";
  if (e.code() == error::invalid_endpoint) return cite("--endpoint", "endpoint") + ": " + std::string(what);
  if (what.starts_with("pin_sha256"))
    return cite("--pin-sha256", "pin_sha256") + " '" + c.config.tls.pin_sha256 +
           "' must be 64 hex digits, the SHA-256 of the certificate (colons allowed)";
  if (what.starts_with("cannot load CA file")) return cite("--ca-file", "ca_file") + ": " + std::string(what);
  return (named ? "cluster \"" + c.name + "\": " : std::string()) + std::string(what);
}

}  // namespace pollster::cli::watch
