#include "base/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace cellar {
namespace {

// Runs `fn` with stderr redirected to a temporary file; returns what it wrote.
template <typename F>
std::string CaptureStderr(F fn) {
  std::FILE* tmp = std::tmpfile();
  EXPECT_NE(tmp, nullptr);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(tmp), STDERR_FILENO);
  fn();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string out;
  std::rewind(tmp);
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, tmp)) out.append(buf, n);
  std::fclose(tmp);
  return out;
}

TEST(Log, LinesNameTheNodeOnceOneIsSet) {
  std::string line = CaptureStderr([] { Log(LogLevel::kInfo, "plain", "\"k\":1"); });
  EXPECT_EQ(line.find("\"node\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"msg\":\"plain\",\"k\":1}"), std::string::npos) << line;

  SetLogNode("ci-7 \"east\"");
  line = CaptureStderr([] { Log(LogLevel::kWarn, "named", "\"k\":2"); });
  EXPECT_NE(line.find("\"msg\":\"named\",\"node\":\"ci-7 \\\"east\\\"\",\"k\":2}"), std::string::npos) << line;
  EXPECT_EQ(LogNodeField(), ",\"node\":\"ci-7 \\\"east\\\"\"");

  SetLogNode("");
  EXPECT_TRUE(LogNodeField().empty());
}

TEST(Log, ScopedFieldsGoOnEveryLineOfTheirThreadWhileTheyLive) {
  std::string lines = CaptureStderr([] {
    Log(LogLevel::kInfo, "before");
    {
      ScopedLogFields outer("\"trace_id\":\"t1\"");
      Log(LogLevel::kInfo, "outer", "\"k\":1");
      {
        ScopedLogFields inner("\"trace_id\":\"t2\"");
        Log(LogLevel::kInfo, "inner");
      }
      Log(LogLevel::kInfo, "outer again");
    }
    Log(LogLevel::kInfo, "after");
  });
  EXPECT_NE(lines.find("\"msg\":\"before\"}"), std::string::npos) << lines;
  EXPECT_NE(lines.find("\"msg\":\"outer\",\"k\":1,\"trace_id\":\"t1\"}"), std::string::npos) << lines;
  EXPECT_NE(lines.find("\"msg\":\"inner\",\"trace_id\":\"t2\"}"), std::string::npos) << lines;
  EXPECT_NE(lines.find("\"msg\":\"outer again\",\"trace_id\":\"t1\"}"), std::string::npos) << lines;
  EXPECT_NE(lines.find("\"msg\":\"after\"}"), std::string::npos) << lines;
}

}  // namespace
}  // namespace cellar
