// --pretty: answers indented, as some servers and proxies send them.
#pragma once

#include <string>
#include <string_view>

namespace pollster::sim::detail {

/// Appends `json` (valid, compact, as the model writes it) to `out` indented
/// by two spaces per level, one member or element per line, `": "` after
/// keys. Empty objects and arrays stay `{}` and `[]`. Strings are copied
/// byte for byte. Hand-written: Boost.JSON 1.81 has no pretty printer, and
/// re-indenting our own compact output needs no parse.
void append_pretty(std::string& out, std::string_view json);

}  // namespace pollster::sim::detail
