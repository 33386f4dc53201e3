// pollster report merge A.json B.json ...: adds up the reports of the shards
// of one load test (histograms merged bucket by bucket, never percentiles
// averaged), refusing sets that are not one whole test, and prints the same
// table as `pollster load` with one line per shard.
#include <fstream>
#include <iostream>
#include <sstream>

#include "command.hpp"
#include "common.hpp"
#include "html.hpp"
#include "pollster/tools/atomic_file.hpp"
#include "json.hpp"
#include "merge.hpp"
#include "table.hpp"

namespace pollster::cli {

namespace {

struct merge_options {
  std::vector<std::string> inputs;
  std::string json_file, html_file;
  bool allow_partial = false;
  double max_p99_ms = -1;
  double max_error_ratio = -1;
};

int run_merge(const merge_options& opt) {
  const char* me = "pollster report merge: ";
  std::vector<shard_input> inputs;
  for (const std::string& path : opt.inputs) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::cerr << me << "cannot read '" << path << "'\n";
      return exit_usage;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string why;
    auto r = from_json(ss.str(), why);
    if (!r) {
      std::cerr << me << "'" << path << "': " << why << "\n";
      return exit_usage;
    }
    inputs.push_back({path, std::move(*r)});
  }
  load_report total;
  if (auto why = merge_shards(inputs, opt.allow_partial, total)) {
    std::cerr << me << *why << "\n";
    return exit_usage;
  }
  // The merged report's parameters: the first shard's, naming the shards merged.
  json_value& P = total.parameters;
  if (P.kind != json_value::type::object) P.kind = json_value::type::object;
  std::erase_if(P.members, [](const auto& m) {
    return m.first == "shard" || m.first == "shard_handles" || m.first == "shard_connections" ||
           m.first == "merged_shards";
  });
  json_value shard_list;
  shard_list.kind = json_value::type::array;
  for (const shard_input& in : inputs) shard_list.items.push_back(*in.report.parameters.find("shard"));
  P.members.emplace_back("merged_shards", std::move(shard_list));

  std::cout << to_table(total);
  std::cout.flush();
  auto write = [&](const std::string& file, const std::string& text) {
    if (file.empty()) return true;
    std::string why;
    if (pollster::tools::write_file_atomically(file, text, why)) return true;
    std::cerr << me << why << "\n";
    return false;
  };
  bool ok = write(opt.json_file, to_json(total));
  ok = write(opt.html_file, to_html(total)) && ok;
  if (auto reason = check_thresholds(total, opt.max_p99_ms, opt.max_error_ratio)) {
    std::cerr << me << "FAILED: " << *reason << "\n";
    return exit_incomplete;
  }
  return ok ? exit_ok : exit_incomplete;
}

}  // namespace

command add_report_command(CLI::App& parent) {
  auto opt = std::make_shared<merge_options>();
  CLI::App* app = parent.add_subcommand("report", "Work with `pollster load` reports");
  app->require_subcommand(0, 1);
  CLI::App* merge = app->add_subcommand(
      "merge", "Merge the JSON reports of the shards of one load test and print the table");
  merge->add_option("reports", opt->inputs, "REPORT.json... written by pollster load --json")
      ->required()
      ->check(CLI::ExistingFile);
  merge->add_flag("--allow-partial", opt->allow_partial,
                  "merge even when some of the test's shards are missing (the table says which are there)");
  merge->add_option("--json", opt->json_file, "write the merged report as JSON to FILE");
  merge->add_option("--html", opt->html_file, "write the merged report as a self-contained HTML page");
  merge->add_option("--max-p99", opt->max_p99_ms, "exit 1 when the merged p99 latency is above MS milliseconds")
      ->check(CLI::PositiveNumber);
  merge->add_option("--max-error-ratio", opt->max_error_ratio,
                    "exit 1 when the merged errors/requests (or failed/ended operations) is above X")
      ->check(CLI::Range(0.0, 1e9));
  return {app, [opt, merge] {
            if (!merge->parsed()) {
              std::cerr << "pollster report: a subcommand is required: merge (see --help)\n";
              return exit_usage;
            }
            return run_merge(*opt);
          }};
}

}  // namespace pollster::cli
