// Built against the installed package, as an orchestration backend would.
// It waits on a handle at a loopback port where nothing listens: the wait
// must end "failed"/"timeout" on its own, with a reason, within its deadline.
#include <iostream>
#include <string>

#include "refused_wait.hpp"

// How a caller reads an outcome. Each part exists only for the endings that
// have it, and its accessor is nullptr otherwise, so the checks below cannot
// take a task's error, or the cluster's, for a result.
std::string describe(const pollster::outcome& o) {
  const std::string kind(pollster::to_string(o.kind));
  if (o.kind == pollster::outcome_kind::succeeded)  // result() exists, its json is the answer
    return kind + ": " + o.result()->result_type + " returned " + o.result()->json;
  if (const pollster::task_error* t = o.task_error())  // the task ran and failed
    return kind + ": the task failed: " + t->name + ": " + t->message;
  if (const pollster::method_error* m = o.method_error())  // the cluster refused the poll
    return kind + ": the cluster answered " + m->name + " (" + std::to_string(m->code) + "): " +
           m->message;
  // Anything else is pollster's own account: a timeout, a cancellation, a
  // transport or HTTP failure (o.ec names it).
  return kind + ": " + o.message() + " [" + std::to_string(o.diagnostics.polls) + " polls, " +
         std::to_string(o.diagnostics.retries) + " retries]";
}

int main() {
  boost::asio::io_context ioc;
  pollster::engine eng(ioc);
  consumer::refused_wait w(eng, ioc);
  ioc.run();
  // Connect refused is retried until the deadline: timeout, naming the last error.
  std::cout << "consumer: " << describe(w.result) << "\n";
  return w.result.kind == pollster::outcome_kind::timed_out ? 0 : 1;
}
