// The receive buffer simdjson parses in place, and the engine's reports of
// what it was built with.
#include <gtest/gtest.h>

#include <cstdlib>

#include <string>

#include "pollster/engine.hpp"
#include "pollster/version.hpp"
#include "protocol/padded_buffer.hpp"

using pollster::detail::padded_buffer;

TEST(PaddedBuffer, StartsEmpty) {
  padded_buffer b;
  EXPECT_EQ(b.size(), 0u);
  EXPECT_TRUE(b.view().empty());
}

TEST(PaddedBuffer, AppendKeepsContentsAndPadding) {
  padded_buffer b;
  std::string want;
  for (int i = 0; i < 2000; ++i) {
    const std::string piece = "chunk-" + std::to_string(i) + ";";
    b.append(piece.data(), piece.size());
    want += piece;
    ASSERT_EQ(b.size(), want.size());
    ASSERT_GE(b.capacity(), b.size() + padded_buffer::padding) << i;
  }
  EXPECT_EQ(b.view(), want);
}

TEST(PaddedBuffer, ExactFitStillHasPadding) {
  // Sizes right at the growth thresholds.
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{4096 - 64},
                        std::size_t{4096 - 63}, std::size_t{4096}, std::size_t{8192 - 64},
                        std::size_t{8192 - 63}}) {
    padded_buffer b;
    const std::string s(n, 'x');
    b.append(s.data(), s.size());
    EXPECT_EQ(b.size(), n);
    if (n) {
      EXPECT_GE(b.capacity(), n + padded_buffer::padding) << n;
    }
  }
}

TEST(PaddedBuffer, ClearKeepsCapacityForReuse) {
  padded_buffer b;
  const std::string big(100000, 'a');
  b.append(big.data(), big.size());
  const std::size_t cap = b.capacity();
  const char* data = b.data();
  b.clear();
  EXPECT_EQ(b.size(), 0u);
  b.append("xyz", 3);
  EXPECT_EQ(b.view(), "xyz");
  EXPECT_EQ(b.capacity(), cap);
  EXPECT_EQ(b.data(), data);  // no reallocation: the buffer is reused
}

TEST(PaddedBuffer, ReserveGrowsOnceAndKeepsContents) {
  padded_buffer b;
  b.append("abc", 3);
  b.reserve(50000);
  EXPECT_GE(b.capacity(), 50000 + padded_buffer::padding);
  EXPECT_EQ(b.view(), "abc");
  const char* data = b.data();
  const std::string more(40000, 'm');
  b.append(more.data(), more.size());
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(b.size(), 40003u);
}

TEST(PaddedBuffer, ABigAnswerGetsItsExactSizeAndIsGivenBack) {
  padded_buffer b;
  b.append("{", 1);
  const std::size_t big = 3 * padded_buffer::mapped_from + 17;  // mapped pages of its own
  b.reserve_exact(big);
  EXPECT_EQ(b.capacity(), big + padded_buffer::padding);
  EXPECT_EQ(b.view(), "{");
  const std::string rest(big - 1, 'x');
  b.append(rest.data(), rest.size());
  EXPECT_EQ(b.size(), big);
  EXPECT_EQ(b.view().back(), 'x');
  padded_buffer moved = std::move(b);  // the pages change hands, once
  EXPECT_EQ(moved.size(), big);
  EXPECT_EQ(b.capacity(), 0u);
  moved.clear_and_trim(64 * 1024);
  EXPECT_EQ(moved.capacity(), 0u);
  EXPECT_EQ(moved.size(), 0u);
  moved.append("ok", 2);  // usable again, from a small buffer
  EXPECT_EQ(moved.view(), "ok");
  EXPECT_LT(moved.capacity(), padded_buffer::mapped_from);
  // A small buffer is kept by the trim: polls reuse it.
  const char* data = moved.data();
  moved.clear_and_trim(64 * 1024);
  moved.append("again", 5);
  EXPECT_EQ(moved.data(), data);
}

TEST(EngineInfo, VersionAndJsonImplementation) {
  EXPECT_EQ(pollster::version(), POLLSTER_TEST_PROJECT_VERSION);
  EXPECT_FALSE(pollster::engine::json_implementation().empty());
#if defined(__x86_64__) && POLLSTER_TEST_EXPECT_SIMD
  if (__builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul") &&
      !std::getenv("SIMDJSON_FORCE_IMPLEMENTATION"))
    EXPECT_NE(pollster::engine::json_implementation(), "fallback");
#endif
  EXPECT_EQ(pollster::engine::json_library().rfind("simdjson ", 0), 0u);
}
