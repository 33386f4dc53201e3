// Where a report output goes: a file written whole or not at all (via
// tools::atomic_file), or standard output for "-".
#pragma once

#include <string>
#include <utility>

#include "pollster/tools/atomic_file.hpp"

namespace pollster::cli::load {

// Opened before the run so that a typo costs nothing; a merge step waiting
// for FILE never reads half of it. `me` prefixes error lines.
class report_file {
 public:
  report_file(std::string flag, std::string path) : flag_(std::move(flag)), file_(std::move(path)) {}
  bool wanted() const { return !file_.path().empty(); }
  bool to_stdout() const { return file_.path() == "-"; }
  /// Creates the temporary file now (nothing to do for "-" or no file).
  bool open() { return !wanted() || to_stdout() || file_.open(); }
  const std::string& flag() const { return flag_; }
  const std::string& path() const { return file_.path(); }
  /// Writes `text`; false (the reason printed) when it could not.
  bool commit(const std::string& text, const char* me);

 private:
  std::string flag_;
  tools::atomic_file file_;
};

/// The command as typed, shell-quoted where needed, for the report.
std::string command_line();

}  // namespace pollster::cli::load
