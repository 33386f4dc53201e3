// How one wait ended. Owns its strings: it is the one copy made of an answer
// the caller keeps.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace pollster {

enum class outcome_kind {
  succeeded,    ///< status "complete" with a `result` member
  task_failed,  ///< status "complete" with an `error` member: the task failed
  gone,         ///< the handle does not exist or was purged (confirmed)
  timed_out,    ///< the wait's deadline passed
  cancelled,    ///< the caller cancelled, or the client shut down
  failed,       ///< the wait could not go on: a non-retryable error (ec says which)
  start_failed, ///< start_and_wait only: the start method failed, no operation exists (handle 0)
};

std::string_view to_string(outcome_kind k) noexcept;

struct outcome {
  outcome_kind kind = outcome_kind::failed;
  std::uint64_t handle = 0;

  // succeeded, task_failed: from GetAsyncResult's `result` object.
  std::string result_type;
  std::string create_time;
  std::string last_update_time;
  /// The whole `result` object of the GetAsyncResult answer, byte for byte
  /// (status, resultType, times, result or error, and anything else).
  std::string raw_answer;
  /// succeeded: the `result` member (the original method's return value).
  /// task_failed: the task's `error` member. gone: the method error object.
  std::string raw_json;

  /// task_failed, gone, failed: the error's name/message (and code for method
  /// errors); for transport failures a pollster name and a readable message.
  std::string error_name;
  std::string error_message;
  std::int64_t error_code = 0;
  /// Empty only for `succeeded`: `if (o.ec)` catches every other ending.
  /// task_failed: error::task_failed; gone: error::handle_gone; timed_out:
  /// error::deadline_exceeded; cancelled: error::cancelled; failed and
  /// start_failed: why (the classified error).
  std::error_code ec;

  /// start_and_wait: the start method's `result` object, raw (BulkVolume's
  /// `key` and `url`, CloneVolume's `cloneID`...); empty for plain waits.
  std::string start_json;

  /// timed_out, cancelled: the last status seen ("running", or empty when no
  /// answer arrived), and the last `details` object seen.
  std::string last_status;
  std::string last_details;

  /// succeeded, task_failed: the outcome came from a ListAsyncResults entry
  /// (fan-in). raw_answer is then the GetAsyncResult-shaped object rebuilt
  /// from it: createTime, result or error (the entry's `data`, byte for
  /// byte), lastUpdateTime, resultType, status "complete", keys sorted as a
  /// cluster sorts them.
  bool from_list = false;

  int polls = 0;    ///< GetAsyncResult requests sent for this wait
  int retries = 0;  ///< of which were retries after transient errors

  bool completed() const noexcept {
    return kind == outcome_kind::succeeded || kind == outcome_kind::task_failed;
  }
};

}  // namespace pollster
