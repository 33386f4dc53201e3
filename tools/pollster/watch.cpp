// pollster watch: polls handles until each ends, one JSON line per handle.
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <iostream>
#include <set>

#include "command.hpp"
#include "common.hpp"
#include "pollster/pollster.hpp"

namespace pollster::cli {

namespace asio = boost::asio;

namespace {

struct watch_options {
  std::string url;
  std::string user;
  std::string password_file;
  tls_flags tls;
  double timeout_s = 3600;
  std::string purge = "after-delivery";
  std::size_t pool_size = 8;
  double rate = 0;
  std::vector<std::string> handles;
};

// One line per handle. Complete: the GetAsyncResult `result` object exactly
// as the server sent it, with asyncHandle put first.
std::string outcome_line(const outcome& o) {
  std::string line = "{\"asyncHandle\": " + std::to_string(o.handle);
  if (o.completed()) {
    std::string_view inner = o.raw_answer;
    inner.remove_prefix(1);  // the object's '{'
    while (!inner.empty() && (inner.front() == ' ' || inner.front() == '\n' ||
                              inner.front() == '\r' || inner.front() == '\t'))
      inner.remove_prefix(1);
    if (inner.front() != '}') line += ", ";
    line += inner;
  } else if (o.kind == outcome_kind::gone) {
    line += ", \"status\": \"gone\", \"error\": ";
    line += o.raw_json.empty() ? std::string("{}") : o.raw_json;
    line += '}';
  } else {
    line += o.kind == outcome_kind::timed_out ? ", \"status\": \"timeout\"" : ", \"status\": \"failed\"";
    line += ", \"error\": {\"name\": ";
    append_json_string(line, o.error_name);
    line += ", \"message\": ";
    append_json_string(line, o.error_message);
    line += "}}";
  }
  line += '\n';
  return line;
}

int run_watch(watch_options& opt) {
  // Handles: from the arguments, or one per line from standard input.
  std::vector<std::uint64_t> handles;
  std::set<std::uint64_t> seen;
  auto add = [&](std::string_view text, const std::string& where) {
    auto h = parse_handle(text);
    if (!h) {
      std::cerr << "pollster watch: " << where << "'" << text
                << "' is not a positive integer handle\n";
      return false;
    }
    if (seen.insert(*h).second) handles.push_back(*h);  // each handle once
    return true;
  };
  for (const auto& arg : opt.handles) {
    if (arg == "-") {
      std::string line;
      for (int n = 1; std::getline(std::cin, line); ++n) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (line.empty()) continue;
        if (!add(line, "standard input line " + std::to_string(n) + ": ")) return exit_usage;
      }
    } else if (!add(arg, "")) {
      return exit_usage;
    }
  }
  if (handles.empty()) {
    std::cerr << "pollster watch: no handles given\n";
    return exit_usage;
  }
  std::string why;
  auto password = read_password(opt.password_file, why);
  if (!password) {
    std::cerr << "pollster watch: " << why << "\n";
    return exit_usage;
  }

  asio::io_context ioc(1);
  engine eng(ioc);
  std::unique_ptr<client> cl;
  try {
    cl = std::make_unique<client>(
        eng, client_config{.url = opt.url,
                           .user = opt.user,
                           .password = *password,
                           .tls = opt.tls.to_options(),
                           .pool_size = opt.pool_size,
                           .rate_limit = opt.rate});
  } catch (const std::exception& e) {
    std::cerr << "pollster watch: " << e.what() << "\n";
    return exit_usage;
  }
  password->assign(password->size(), '\0');

  wait_options wopts;
  wopts.deadline = std::chrono::duration_cast<duration>(std::chrono::duration<double>(opt.timeout_s));
  wopts.purge = *parse_purge(opt.purge);

  const bool live = ::isatty(STDERR_FILENO);
  std::size_t remaining = handles.size(), completed = 0, other = 0;
  asio::steady_timer ticker(ioc);
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) cl->shutdown();  // every wait ends and is still reported
  });
  auto show = [&] {
    std::fprintf(stderr, "\r%zu/%zu done (%zu completed, %zu not), %zu waiting  ",
                 handles.size() - remaining, handles.size(), completed, other, remaining);
  };
  std::function<void()> tick = [&] {
    show();
    ticker.expires_after(std::chrono::milliseconds(250));
    ticker.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  };
  if (live) tick();

  for (std::uint64_t h : handles) {
    asio::co_spawn(
        ioc,
        [&, h]() -> asio::awaitable<void> {
          outcome o = co_await cl->wait(h, wopts);
          const std::string line = outcome_line(o);
          std::fwrite(line.data(), 1, line.size(), stdout);
          std::fflush(stdout);
          (o.completed() ? completed : other)++;
          if (--remaining == 0) {
            signals.cancel();
            ticker.cancel();
          }
        },
        asio::detached);
  }
  ioc.run();
  if (live) {
    show();
    std::fputc('\n', stderr);
  }
  return other == 0 ? exit_ok : exit_incomplete;
}

}  // namespace

command add_watch_command(CLI::App& parent) {
  auto opt = std::make_shared<watch_options>();
  CLI::App* app = parent.add_subcommand(
      "watch", "Poll asyncHandles until each ends; one JSON line per handle on stdout");
  app->add_option("--endpoint", opt->url, "https://HOST[:PORT]/json-rpc/VERSION")->required();
  app->add_option("--user", opt->user, "cluster admin user")->required();
  app->add_option("--password-file", opt->password_file,
                  "file whose first line is the password (default: $POLLSTER_PASSWORD)");
  opt->tls.add_to(*app);
  app->add_option("--timeout", opt->timeout_s, "give up on a handle after SECONDS (default 3600)")
      ->check(CLI::PositiveNumber);
  app->add_option("--purge", opt->purge,
                  "after-delivery (default, nothing lost) | never | on-read (lossy)")
      ->check(CLI::IsMember({"after-delivery", "never", "on-read"}));
  app->add_option("--pool-size", opt->pool_size, "connections to the cluster at most (default 8)")
      ->check(CLI::Range(1, 1024));
  app->add_option("--rate", opt->rate, "requests per second at most (default: unlimited)")
      ->check(CLI::NonNegativeNumber);
  app->add_option("handles", opt->handles, "HANDLE... (positive integers), or - to read stdin")
      ->required();
  return {app, [opt] { return run_watch(*opt); }};
}

}  // namespace pollster::cli
