// pollster report merge A.json B.json ...: adds up the reports of the shards
// of one load test (histograms merged bucket by bucket, never percentiles
// averaged) and prints the same table as `pollster load`.
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "command.hpp"
#include "common.hpp"
#include "report_format.hpp"

namespace pollster::cli {

namespace {

struct merge_options {
  std::vector<std::string> inputs;
  std::string json_file, html_file;
  double max_p99_ms = -1;
  double max_error_ratio = -1;
};

int run_merge(const merge_options& opt) {
  const char* me = "pollster report merge: ";
  std::optional<load_report> total;
  std::set<std::string> shards_seen;
  std::string expected_of;  // the N of K/N, when the shards say
  json_value shard_list;
  shard_list.kind = json_value::type::array;
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
    if (const json_value* s = r->parameters.find("shard"); s && s->kind == json_value::type::string) {
      if (!shards_seen.insert(s->text).second)
        std::cerr << me << "warning: shard " << s->text << " appears twice (" << path << ")\n";
      expected_of = s->text.substr(s->text.find('/') + 1);
      json_value v;
      v.kind = json_value::type::string;
      v.text = s->text;
      shard_list.items.push_back(std::move(v));
    }
    if (!total) {
      total = std::move(*r);
    } else if (auto err = merge_into(*total, *r)) {
      std::cerr << me << "'" << path << "': " << *err << "\n";
      return exit_usage;
    }
  }
  if (!expected_of.empty() && std::to_string(shards_seen.size()) != expected_of)
    std::cerr << me << "warning: " << shards_seen.size() << " distinct shards merged, the reports say there are "
              << expected_of << "\n";
  // The merged report's parameters: the first shard's, naming the shards merged.
  json_value& P = total->parameters;
  if (P.kind != json_value::type::object) P.kind = json_value::type::object;
  std::erase_if(P.members, [](const auto& m) {
    return m.first == "shard" || m.first == "shard_handles" || m.first == "shard_connections" ||
           m.first == "merged_shards";
  });
  P.members.emplace_back("merged_shards", shard_list);

  std::cout << to_table(*total);
  std::cout.flush();
  auto write = [&](const std::string& file, const std::string& text) {
    if (file.empty()) return true;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) std::cerr << me << "could not write '" << file << "'\n";
    return static_cast<bool>(out);
  };
  bool ok = write(opt.json_file, to_json(*total));
  ok = write(opt.html_file, to_html(*total)) && ok;
  if (auto reason = check_thresholds(*total, opt.max_p99_ms, opt.max_error_ratio)) {
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
