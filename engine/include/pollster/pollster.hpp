// Everything an embedding program needs: include this one header.
#pragma once

#include "pollster/client.hpp"
#include "pollster/config.hpp"
#include "pollster/endpoint.hpp"
#include "pollster/engine.hpp"
#include "pollster/error.hpp"
#include "pollster/outcome.hpp"
#include "pollster/json.hpp"
#include "pollster/params.hpp"
#include "pollster/version.hpp"
