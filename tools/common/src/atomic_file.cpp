#include "pollster/tools/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pollster::tools {
namespace {

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

atomic_file::atomic_file(std::string path) : path_(std::move(path)) {}

atomic_file::~atomic_file() { discard(); }

bool atomic_file::fail(const char* what) {
  error_ = "cannot write '" + path_ + "': " + what + ": " + std::strerror(errno);
  discard();
  return false;
}

void atomic_file::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!tmp_.empty()) {
    ::unlink(tmp_.c_str());
    tmp_.clear();
  }
}

bool atomic_file::open() {
  if (fd_ >= 0) return true;
  // A unique name, so two writers of the same path cannot share a temporary.
  std::string name = path_ + ".partial.XXXXXX";
  std::vector<char> buf(name.begin(), name.end());
  buf.push_back('\0');
  fd_ = ::mkstemp(buf.data());
  if (fd_ < 0) return fail("create");
  tmp_.assign(buf.data());
  // mkstemp makes 0600; a report is an ordinary file (0666 less the umask).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd_, 0666 & ~mask) != 0) return fail("chmod");
  return true;
}

bool atomic_file::commit(std::string_view content) {
  if (!open()) return false;
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd_) != 0) return fail("fsync");
  if (::close(fd_) != 0) {
    fd_ = -1;
    return fail("close");
  }
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) return fail("rename");
  tmp_.clear();
  // The rename itself survives a crash only once the directory is synced.
  const int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return true;
}

bool write_file_atomically(const std::string& path, std::string_view content, std::string& why) {
  atomic_file f(path);
  if (f.commit(content)) return true;
  why = f.error();
  return false;
}

}  // namespace pollster::tools
