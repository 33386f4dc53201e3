// The `pollster watch` flags. Names and meanings match `pollster load`
// (issue 13): --endpoint (alias --target), --connections (alias
// --pool-size), --timeout DURATION; POLLSTER_* variables stand in for flags.
#include "watch/options.hpp"

#include "command.hpp"

namespace pollster::cli {

command add_watch_command(CLI::App& parent) {
  auto opt = std::make_shared<watch::watch_options>();
  CLI::App* app = parent.add_subcommand(
      "watch", "Poll asyncHandles until each ends; one JSON line per handle on stdout");
  auto* endpoint = app->add_option("--endpoint", opt->endpoint, "https://HOST[:PORT]/json-rpc/VERSION")
                       ->envname("POLLSTER_ENDPOINT");
  // A second name for the same flag, as `pollster load` spells it; hidden
  // from --help. Separate options so that messages name what was typed.
  auto* target = app->add_option("--target", opt->endpoint)->group("");
  auto* clusters = app->add_option("--clusters", opt->clusters_file,
                                   "JSON file of named clusters; handles are then NAME:HANDLE")
                       ->envname("POLLSTER_CLUSTERS");
  endpoint->excludes(target)->excludes(clusters);
  target->excludes(clusters);
  app->add_option("--user", opt->user, "cluster admin user")->envname("POLLSTER_USER");
  app->add_option("--password-file", opt->password_file,
                  "file whose first line is the password (default: $POLLSTER_PASSWORD)")
      ->envname("POLLSTER_PASSWORD_FILE");
  opt->tls.add_to(*app);
  app->add_option("--timeout", opt->timeout,
                  "give up on a handle after DURATION: 1m30s, 500ms, 2h; a bare number is seconds "
                  "(default 1h)")
      ->envname("POLLSTER_TIMEOUT")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later --timeout overrides
  app->add_option("--purge", opt->purge,
                  "after-delivery (default, nothing lost) | never | on-read (lossy)")
      ->check(CLI::IsMember({"after-delivery", "never", "on-read"}));
  auto* conns = app->add_option("--connections", opt->connections,
                                "connections to each cluster at most (default 8)")
                    ->check(CLI::Range(1, 1024))
                    ->envname("POLLSTER_CONNECTIONS");
  auto* pool = app->add_option("--pool-size", opt->connections)->check(CLI::Range(1, 1024))->group("");
  conns->excludes(pool);
  app->add_option("--rate", opt->rate, "requests per second to each cluster at most (default: unlimited)")
      ->check(CLI::NonNegativeNumber);
  // Checked in run_watch, so that the message names the flag and quotes the value.
  app->add_option("--fan-in", opt->fan_in,
                  "how each cluster's waits learn of their operations: auto (default: one "
                  "ListAsyncResults or per-handle polls, whichever costs the cluster less) | list | per-handle")
      ->envname("POLLSTER_FAN_IN")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app->add_flag("--stats", opt->stats,
                "at exit, one JSON line per cluster on stderr: the requests sent (polls, lists, releases)");
  app->add_option("handles", opt->handles,
                  "HANDLE... (NAME:HANDLE with --clusters), or - to read them from stdin as they come")
      ->required();
  return {app, [opt] { return watch::run_watch(*opt); }};
}

}  // namespace pollster::cli
