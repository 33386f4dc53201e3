// Builds the `params` object of a JSON-RPC call safely: keys and string
// values are escaped, numbers written exactly, so no value can break out of
// its member (hand-joined strings were injection-prone).
//
//   client.call("CloneVolume", pollster::params().add("volumeID", 5).add("name", user_text));
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace pollster {

/// A JSON object built member by member; add() returns *this to chain.
class params {
 public:
  /// A string member, escaped.
  params& add(std::string_view key, std::string_view value);
  /// A string member (not a bool: a literal would otherwise pick add(bool)).
  params& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  /// A string member.
  params& add(std::string_view key, const std::string& value) { return add(key, std::string_view(value)); }
  /// An integer member, written exactly.
  params& add(std::string_view key, std::int64_t value);
  /// An unsigned integer member (IDs past 2^63), written exactly.
  params& add(std::string_view key, std::uint64_t value);
  /// An integer member (so that add("volumeID", 5) is not ambiguous).
  params& add(std::string_view key, int value) { return add(key, static_cast<std::int64_t>(value)); }
  /// An unsigned integer member (likewise for 5u).
  params& add(std::string_view key, unsigned value) { return add(key, static_cast<std::uint64_t>(value)); }
  /// Finite values only (JSON has no NaN or infinity): others are written as null.
  params& add(std::string_view key, double value);
  /// A true/false member.
  params& add(std::string_view key, bool value);
  /// An array of strings, each escaped (asyncResultTypes: ["Clone", "BulkVolume"]).
  params& add(std::string_view key, std::initializer_list<std::string_view> values);
  /// A null member (some methods take null for "none").
  params& add_null(std::string_view key);
  /// A value that is already JSON (a nested params().str(), say): written as is.
  params& add_json(std::string_view key, std::string_view json);

  /// The object, "{}" when empty.
  std::string str() const;
  /// So that a params passes where the API takes the params_json string.
  operator std::string() const { return str(); }

  /// `s` as a JSON string literal, quotes included.
  static void append_quoted(std::string& out, std::string_view s);

 private:
  void key(std::string_view k);
  std::string body_;
};

}  // namespace pollster
