// The documented GET form of a call, /json-rpc/<version>/?method=X&param=V,
// turned into the JSON-RPC body a POST would carry.
#pragma once

#include <string>
#include <string_view>

namespace pollster::sim::detail {

/// Writes {"method":..,"params":{..},"id":..} for the query string `query`
/// (without the '?') into `body`. Percent escapes and '+' are decoded; a value
/// that is an integer, true, false or null, or starts with '[' or '{', goes in
/// as JSON, anything else as a string. `id` becomes the request id.
void body_from_query(std::string_view query, std::string& body);

}  // namespace pollster::sim::detail
