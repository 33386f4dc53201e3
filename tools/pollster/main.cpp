// pollster: watch, load, sim, report.
#include <openssl/opensslv.h>

#include <boost/version.hpp>
#include <csignal>
#include <iostream>

#include "command.hpp"
#include "pollster/engine.hpp"
#include "pollster/version.hpp"

int main(int argc, char** argv) {
  // A peer closing first must be an error code on that socket, not the end
  // of the process (sim, load and watch all write to sockets).
  std::signal(SIGPIPE, SIG_IGN);
  using namespace pollster::cli;
  CLI::App app{"pollster: watch the asynchronous operations of Element storage clusters"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "print versions (and the JSON parser's SIMD implementation)");
  std::vector<command> commands;
  commands.push_back(add_watch_command(app));
  commands.push_back(add_load_command(app));
  commands.push_back(add_sim_command(app));
  commands.push_back(add_report_command(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line naming what was wrong; exit 2 for every usage error.
    std::cerr << "pollster: " << e.what() << " (see --help)\n";
    return exit_usage;
  }
  if (show_version) {
    std::cout << "pollster " << pollster::version() << "\n"
              << "json: " << pollster::engine::json_library() << " ("
              << pollster::engine::json_implementation() << ")\n"
              << "tls: " << OPENSSL_VERSION_TEXT << "\n"
              << "boost: " << BOOST_LIB_VERSION << "\n";
    return exit_ok;
  }
  for (auto& c : commands)
    if (c.app->parsed()) return c.run();
  std::cerr << "pollster: a subcommand is required (watch, load, sim, report; see --help)\n";
  return exit_usage;
}
