#include "load/output_file.hpp"

#include <fstream>
#include <iostream>
#include <iterator>

namespace pollster::cli::load {

bool report_file::commit(const std::string& text, const char* me) {
  if (!wanted()) return true;
  if (to_stdout()) {
    std::cout << text;
    std::cout.flush();
    if (std::cout) return true;
    std::cerr << me << "cannot write " << flag_ << " to standard output\n";
    return false;
  }
  if (file_.commit(text)) return true;
  std::cerr << me << file_.error() << "\n";
  return false;
}

// The command as typed, for the report (the kernel keeps argv; the
// subcommand is not handed it).
std::string command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string out, arg;
  auto flush = [&] {
    if (!out.empty()) out += ' ';
    const bool plain = !arg.empty() && arg.find_first_of(" \t'\"\\$`*?!;&|<>()[]{}") == std::string::npos;
    if (plain) {
      out += arg;
    } else {
      out += '\'';
      for (char ch : arg) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
      out += '\'';
    }
    arg.clear();
  };
  for (char ch : all) {
    if (ch == '\0') flush();
    else arg += ch;
  }
  if (!arg.empty()) flush();
  // Not the password: it never is on the command line (file or environment).
  return out;
}

}  // namespace pollster::cli::load
