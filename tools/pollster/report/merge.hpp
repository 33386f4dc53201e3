// Adding up the reports of the shards of one load test.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model.hpp"

namespace pollster::cli {

/// Adds `from` to `into`: counts summed, histograms merged, duration the
/// longest, series aligned on wall-clock seconds. Returns a reason when the
/// two cannot be merged (different modes).
std::optional<std::string> merge_into(load_report& into, const load_report& from);

/// One report given to `report merge`, with the file it came from.
struct shard_input {
  std::string file;
  load_report report;
};

/// Merges the shards of one test into `out`, with a per-shard summary in
/// shard order. Refuses, with a reason naming the files: a report that names
/// no shard, a shard given twice, a report of a different test (mode, target,
/// shard count, duration, handles, rate, purge), and a missing shard unless
/// `allow_partial`.
std::optional<std::string> merge_shards(const std::vector<shard_input>& inputs, bool allow_partial,
                                        load_report& out);

}  // namespace pollster::cli
