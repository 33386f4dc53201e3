// Forwarding header: the histogram now lives in report/histogram.hpp. Kept
// while the load tool still includes this path.
#pragma once

#include "report/histogram.hpp"
