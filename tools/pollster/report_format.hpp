// Forwarding header: the report now lives in report/ (model, json, table,
// html, merge). Kept while the load tool still includes this path.
#pragma once

#include "report/html.hpp"
#include "report/json.hpp"
#include "report/merge.hpp"
#include "report/model.hpp"
#include "report/table.hpp"
