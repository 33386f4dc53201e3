// How one wait ended. Owns its strings: it is the one copy made of an answer
// the caller keeps.
//
// The parts of an outcome exist only for the endings that have them, and
// each of their members means one thing (docs/reliability.md, "The error
// model"):
//   result()        succeeded, task_failed: the completed task's record
//   task_error()    task_failed: the task's own error
//   method_error()  gone, and failed / start_failed when the cluster
//                   answered a method error
//   message()       every ending but succeeded: why, in words
//   diagnostics     every ending: how the wait went
// An accessor returns nullptr where its part does not exist, so reading a
// task error as a result (or a method error as either) cannot happen quietly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

namespace pollster {

/// How a wait ended: says which parts of its outcome exist.
enum class outcome_kind {
  succeeded,    ///< status "complete" with a `result` member
  task_failed,  ///< status "complete" with an `error` member: the task failed
  gone,         ///< the handle does not exist or was purged (confirmed)
  timed_out,    ///< the wait's deadline passed
  cancelled,    ///< the caller cancelled, or the client shut down
  failed,       ///< the wait could not go on: a non-retryable error (ec says which)
  start_failed, ///< start_and_wait only: the start method failed, no operation exists (handle 0)
};

/// The kind's name as `pollster watch` prints it ("timeout" for timed_out).
std::string_view to_string(outcome_kind k) noexcept;

/// A completed task's record: GetAsyncResult's `result` object (or the
/// ListAsyncResults entry it was rebuilt from), parsed.
struct task_result {
  /// `resultType`: the method that started the task ("CloneVolume").
  std::string result_type;
  /// `createTime` as the cluster wrote it (ISO 8601 text, not parsed).
  std::string create_time;
  /// `lastUpdateTime` as the cluster wrote it.
  std::string last_update_time;
  /// succeeded: the `result` member, the original method's return value,
  /// byte for byte. Empty when the task failed (its error is task_error()).
  std::string json;
};

/// A task that ran and failed (task_failed): the `error` member of a
/// complete GetAsyncResult answer.
struct task_error {
  std::string name;     ///< the error's `name` ("xSliceNotRegistered")
  std::string message;  ///< the error's `message`, for people
  std::string json;     ///< the whole `error` object, byte for byte
};

/// A JSON-RPC method error that ended the wait: GetAsyncResult's (gone,
/// failed) or the start method's (start_failed).
struct method_error {
  std::string name;        ///< `name` ("xDBNoSuchPath", "xPermissionDenied")
  std::string message;     ///< `message`, for people
  std::string json;        ///< the whole `error` object, byte for byte
  std::int64_t code = 0;   ///< `code` (500 for the cluster's system errors)
};

/// How a wait went, whatever its ending: for logs and tuning, not for
/// deciding what the operation did.
struct wait_diagnostics {
  int polls = 0;    ///< GetAsyncResult requests sent for this wait
  int retries = 0;  ///< of which were retries after transient errors
  /// The completion came from a ListAsyncResults entry (fan-in); raw_answer
  /// is then the GetAsyncResult-shaped object rebuilt from it.
  bool from_list = false;
  /// The last status seen: "complete" for the completed kinds; otherwise
  /// "running", or empty when no answer said.
  std::string last_status;
  /// timed_out, cancelled: the last `details` object seen while running, raw.
  std::string last_details;
};

/// How one wait ended: what every wait, and start_and_wait, completes with.
struct outcome {
  /// How the wait ended: which parts below exist.
  outcome_kind kind = outcome_kind::failed;
  /// The asyncHandle waited on (0 for a start_and_wait whose start failed).
  std::uint64_t handle = 0;
  /// Empty only for `succeeded`: `if (o.ec)` catches every other ending.
  /// task_failed: error::task_failed; gone: error::handle_gone; timed_out:
  /// error::deadline_exceeded; cancelled: error::cancelled; failed and
  /// start_failed: why (the classified error).
  std::error_code ec;
  /// succeeded, task_failed: the whole `result` object of the GetAsyncResult
  /// answer, byte for byte (status, resultType, times, result or error, and
  /// anything else). From a list (diagnostics.from_list): the same shape
  /// rebuilt from the entry, createTime, result or error (the entry's
  /// `data`, byte for byte), lastUpdateTime, resultType, status "complete",
  /// keys sorted as a cluster sorts them.
  std::string raw_answer;
  /// start_and_wait: the start method's `result` object, raw (BulkVolume's
  /// `key` and `url`, CloneVolume's `cloneID`...); empty for plain waits.
  std::string start_json;
  /// Every ending: polls, retries, where the completion came from, the last
  /// status and details seen.
  wait_diagnostics diagnostics;

  /// The operation completed on the cluster (succeeded or task_failed).
  bool completed() const noexcept {
    return kind == outcome_kind::succeeded || kind == outcome_kind::task_failed;
  }

  /// succeeded, task_failed: the task's record; nullptr otherwise.
  const task_result* result() const noexcept { return result_ ? &*result_ : nullptr; }
  /// task_failed: the task's error; nullptr otherwise.
  const pollster::task_error* task_error() const noexcept {
    return std::get_if<pollster::task_error>(&error_);
  }
  /// gone, and failed / start_failed from a method error: the cluster's
  /// error; nullptr otherwise (a transport failure, a timeout, a success).
  const pollster::method_error* method_error() const noexcept {
    return std::get_if<pollster::method_error>(&error_);
  }
  /// Why the wait did not succeed, in words: the task's or the method
  /// error's message, or pollster's own ("HTTP 401: authentication failed",
  /// "deadline exceeded (last error: connection refused)"). Empty for
  /// succeeded.
  const std::string& message() const noexcept {
    if (const auto* t = task_error()) return t->message;
    if (const auto* m = method_error()) return m->message;
    if (const auto* own = std::get_if<std::string>(&error_)) return *own;
    static const std::string none;
    return none;
  }

  // Writers, for the engine and for tests or fakes that build an outcome.
  // Each error setter replaces whichever error part was there.

  /// Sets the completed task's record.
  void set_result(task_result r) { result_ = std::move(r); }
  /// Sets the task's error (task_failed).
  void set_task_error(pollster::task_error e) { error_ = std::move(e); }
  /// Sets the method error that ended the wait.
  void set_method_error(pollster::method_error e) { error_ = std::move(e); }
  /// Sets pollster's own words for an ending with no error part of the
  /// cluster's (transport failures, timeouts, cancellation).
  void set_message(std::string m) { error_ = std::move(m); }
  /// Drops the error part, whichever it was (a task that succeeded after
  /// transient errors).
  void clear_error() noexcept { error_ = std::monostate{}; }

 private:
  std::optional<task_result> result_;
  // One error part at most: the three are never true of one ending at once.
  std::variant<std::monostate, pollster::task_error, pollster::method_error, std::string> error_;
};

}  // namespace pollster
