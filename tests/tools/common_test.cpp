// tools/common: the duration parser, JSON escaping, atomic file writes and
// splitmix64, each once for every tool.
#include "pollster/tools/atomic_file.hpp"
#include "pollster/tools/duration.hpp"
#include "pollster/tools/json_escape.hpp"
#include "pollster/tools/splitmix64.hpp"
#include "pollster/tools/xml_escape.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/stat.h>

using namespace std::chrono;
using pollster::tools::parse_duration;

namespace {

nanoseconds ok(std::string_view text, std::string_view bare_unit = {}) {
  std::string why;
  auto d = parse_duration(text, why, bare_unit);
  EXPECT_TRUE(d.has_value()) << text << ": " << why;
  return d.value_or(nanoseconds{-1});
}

std::string refused(std::string_view text, std::string_view bare_unit = {}) {
  std::string why;
  auto d = parse_duration(text, why, bare_unit);
  EXPECT_FALSE(d.has_value()) << text << " parsed as " << d->count() << "ns";
  EXPECT_FALSE(why.empty());
  return why;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pollster-common-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST(Duration, AcceptsSingleAndCompoundForms) {
  EXPECT_EQ(ok("1m30s"), 90s);
  EXPECT_EQ(ok("500ms"), 500ms);
  EXPECT_EQ(ok("2h"), 2h);
  EXPECT_EQ(ok("1.5s"), 1500ms);
  EXPECT_EQ(ok("10us"), 10us);
  EXPECT_EQ(ok("250ns"), 250ns);
  EXPECT_EQ(ok("2min"), 2min);
  EXPECT_EQ(ok("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
  EXPECT_EQ(ok("0"), 0ns);
  EXPECT_EQ(ok("0s"), 0ns);
  EXPECT_EQ(ok(".5s"), 500ms);
  EXPECT_EQ(ok("0.000000001s"), 1ns);
}

TEST(Duration, FractionsAreExact) {
  // A double would round 2^53+1 ns; the parser keeps integers exact.
  EXPECT_EQ(ok("9007199254740993ns").count(), 9007199254740993LL);
  EXPECT_EQ(ok("1.999999999s"), 1999999999ns);
}

TEST(Duration, BareNumberOnlyWithABareUnit) {
  EXPECT_EQ(ok("10", "s"), 10s);
  EXPECT_EQ(ok("250", "ms"), 250ms);
  EXPECT_EQ(ok("1.5", "ms"), 1500us);
  refused("10");
  // The bare unit is for a lone number, not the tail of a compound.
  refused("1m30", "s");
}

TEST(Duration, RefusesJunkAndQuotesItAsWritten) {
  for (std::string_view junk : {"", "s", "abc", "5x", "1e3s", " 5s", "5s ", "5 s", "+5s", "1..5s", "5ss", "ms5"}) {
    const std::string why = refused(junk);
    if (!junk.empty()) {
      EXPECT_NE(why.find("'" + std::string(junk) + "'"), std::string::npos) << why;
    }
  }
  EXPECT_NE(refused("5x").find("unknown unit 'x'"), std::string::npos);
}

TEST(Duration, RefusesNegatives) {
  const std::string why = refused("-5s");
  EXPECT_NE(why.find("'-5s'"), std::string::npos) << why;
  EXPECT_NE(why.find("negative"), std::string::npos) << why;
}

TEST(Duration, RefusesWhatNanosecondsCannotHoldWithoutPrintingHugeNumbers) {
  const std::string long_text(309, '9');
  for (std::string text : {long_text + "s", std::string("2562048h"), std::string("9223372036854775808ns"),
                           std::string("1e308s"), std::string("300000000000000000000000ms")}) {
    const std::string why = refused(text);
    if (text.find('e') == std::string::npos) {
      EXPECT_NE(why.find("too long"), std::string::npos) << why;
    }
    // The message quotes the text as written; no other run of 20 digits.
    std::string rest = why;
    const auto at = rest.find(text);
    ASSERT_NE(at, std::string::npos) << why;
    rest.erase(at, text.size());
    EXPECT_EQ(rest.find("00000000000000000000"), std::string::npos) << why;
  }
  EXPECT_EQ(ok("2562047h"), 2562047h);
  EXPECT_EQ(ok("9223372036854775807ns").count(), 9223372036854775807LL);
}

TEST(Duration, FormatReadsBack) {
  using pollster::tools::format_duration;
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(500ms), "500ms");
  EXPECT_EQ(format_duration(2h), "2h");
  EXPECT_EQ(format_duration(0s), "0s");
  for (nanoseconds d : {nanoseconds{1}, nanoseconds{1500ms}, nanoseconds{1h + 1ns}, nanoseconds{10us}})
    EXPECT_EQ(ok(format_duration(d)), d) << format_duration(d);
}

TEST(JsonEscape, EscapesQuotesBackslashesAndControls) {
  using pollster::tools::json_quoted;
  EXPECT_EQ(json_quoted("plain"), "\"plain\"");
  EXPECT_EQ(json_quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_quoted(std::string_view("\n\t\x01\x1f\0", 5)), "\"\\u000a\\u0009\\u0001\\u001f\\u0000\"");
  EXPECT_EQ(json_quoted("h\xc3\xa9llo"), "\"h\xc3\xa9llo\"");  // UTF-8 passes through
  std::string out = "x=";
  pollster::tools::append_json_escaped(out, "\"");
  EXPECT_EQ(out, "x=\\\"");
}

TEST(JsonEscape, AppendsAWholeString) {
  std::string out = "[";
  pollster::tools::append_json_string(out, "a\"b");
  EXPECT_EQ(out, "[\"a\\\"b\"");
}

TEST(XmlEscape, EntitiesForMarkupSpacesForControls) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"plain", "plain"},
      {"a<b>&\"c\"'d'", "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;"},
      // XML 1.0 allows no other control characters: they become spaces; newline and tab stay.
      {std::string_view("x\x01y\n\tz\0", 7), "x y\n\tz "},
      {"h\xc3\xa9", "h\xc3\xa9"},  // UTF-8 passes through
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(pollster::tools::xml_escaped(in), want) << in;
}

TEST(AtomicFile, WritesWholeFileAndLeavesNoTemporary) {
  temp_dir dir;
  const auto file = dir.path / "report.json";
  std::string why;
  ASSERT_TRUE(pollster::tools::write_file_atomically(file.string(), "{\"a\":1}\n", why)) << why;
  EXPECT_EQ(slurp(file), "{\"a\":1}\n");
  EXPECT_EQ(files_in(dir.path), 1u);
  // Replaces an existing file whole.
  ASSERT_TRUE(pollster::tools::write_file_atomically(file.string(), "second", why)) << why;
  EXPECT_EQ(slurp(file), "second");
  EXPECT_EQ(files_in(dir.path), 1u);
}

TEST(AtomicFile, PermissionsFollowTheUmaskNotMkstemp) {
  temp_dir dir;
  const auto file = dir.path / "r.csv";
  const mode_t old = ::umask(022);
  std::string why;
  const bool written = pollster::tools::write_file_atomically(file.string(), "x", why);
  ::umask(old);
  ASSERT_TRUE(written) << why;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(AtomicFile, WithoutCommitTheTargetIsUntouched) {
  temp_dir dir;
  const auto file = dir.path / "keep.txt";
  std::ofstream(file) << "old";
  {
    pollster::tools::atomic_file f(file.string());
    ASSERT_TRUE(f.open()) << f.error();
    EXPECT_EQ(files_in(dir.path), 2u);  // the temporary exists while open
  }
  EXPECT_EQ(slurp(file), "old");
  EXPECT_EQ(files_in(dir.path), 1u);
}

TEST(AtomicFile, UnwritablePlaceNamesTheFile) {
  temp_dir dir;
  const auto file = dir.path / "no-such-dir" / "r.json";
  pollster::tools::atomic_file f(file.string());
  EXPECT_FALSE(f.open());
  EXPECT_NE(f.error().find("'" + file.string() + "'"), std::string::npos) << f.error();
  std::string why;
  EXPECT_FALSE(pollster::tools::write_file_atomically(file.string(), "x", why));
  EXPECT_NE(why.find("cannot write"), std::string::npos) << why;
}

TEST(Splitmix64, MatchesTheReferenceSequence) {
  // First outputs for seed 0 from the reference implementation (Vigna's splitmix64.c).
  std::uint64_t s = 0;
  EXPECT_EQ(pollster::tools::splitmix64(s), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(pollster::tools::splitmix64(s), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(pollster::tools::splitmix64(s), 0x06c45d188009454fULL);
  static_assert(pollster::tools::unit_interval(0) == 0.0);
  static_assert(pollster::tools::unit_interval(~0ULL) < 1.0);
  EXPECT_GE(pollster::tools::unit_interval(~0ULL), 0.999999);
}
