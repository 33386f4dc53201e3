#include "pollster/version.hpp"

namespace pollster {
std::string_view version() noexcept { return POLLSTER_VERSION; }
}  // namespace pollster
