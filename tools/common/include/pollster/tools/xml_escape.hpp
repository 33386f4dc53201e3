#pragma once
// Text for XML and HTML (JUnit reports, the HTML report): one escaper for both.

#include <string>
#include <string_view>

namespace pollster::tools {

/// `s` safe as XML or HTML text and attribute values: the five predefined
/// entities; other control characters than newline and tab are not allowed
/// in XML 1.0 at all, so they become spaces.
std::string xml_escaped(std::string_view s);

}  // namespace pollster::tools
