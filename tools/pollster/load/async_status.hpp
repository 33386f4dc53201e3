// What the load tool needs from a GetAsyncResult `result` object.
#pragma once

#include <string>

namespace pollster::cli::load {

struct async_status {
  bool complete = false;  ///< "status": "complete"
  bool task_error = false;  ///< an "error" member: the task failed
};

/// Reads the top-level `status` and `error` members of `result_json` with
/// simdjson (pads the string in place when its capacity is short). An answer
/// that is not an object reads as running: the send is counted, not the
/// completion. One parser per thread.
async_status read_async_status(std::string& result_json);

}  // namespace pollster::cli::load
