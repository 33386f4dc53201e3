#pragma once
// Report files that are either whole or absent: a reader (CI, a merge) never
// sees half a file, even after a crash or Ctrl-C mid-write.

#include <string>
#include <string_view>

namespace pollster::tools {

/// A file written in the same directory under a temporary name, then fsync'ed
/// and renamed over `path`. open() early (before a long run) to learn that the
/// place is writable; commit() once the content is known. Destroyed without a
/// commit, the temporary file is removed and `path` is untouched.
/// "-" (standard output) is the caller's business, not handled here.
class atomic_file {
 public:
  explicit atomic_file(std::string path);
  ~atomic_file();
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  /// Creates the temporary file. False, with error() set, when it cannot.
  bool open();
  /// Writes `content`, fsyncs, renames over the path, fsyncs the directory.
  /// Opens first if needed. False, with error() set, on any failure (then
  /// the temporary file is gone and `path` untouched).
  bool commit(std::string_view content);

  const std::string& path() const noexcept { return path_; }
  /// "cannot write 'FILE': REASON" after a failure.
  const std::string& error() const noexcept { return error_; }

 private:
  bool fail(const char* what);
  void discard() noexcept;

  std::string path_, tmp_, error_;
  int fd_ = -1;
};

/// One-shot form: atomic_file(path).commit(content); `why` gets the error.
bool write_file_atomically(const std::string& path, std::string_view content, std::string& why);

}  // namespace pollster::tools
