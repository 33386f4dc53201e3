#include "pollster/tools/xml_escape.hpp"

namespace pollster::tools {

namespace {

// The predefined entity that stands for `ch`, or nullptr.
const char* entity(char ch) {
  switch (ch) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    case '\'': return "&apos;";
    default: return nullptr;
  }
}

}  // namespace

std::string xml_escaped(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    if (const char* e = entity(ch)) out += e;
    else if (static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t') out += ' ';
    else out += ch;
  }
  return out;
}

}  // namespace pollster::tools
