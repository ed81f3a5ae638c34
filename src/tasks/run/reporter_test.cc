#include "tasks/run/reporter.h"

#include <gtest/gtest.h>

#include <thread>

namespace cellar::tasks {
namespace {

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(text.substr(start, nl - start));
  }
  return lines;
}

struct Capture {
  std::string text;
  std::function<void(std::string_view)> Fn() {
    return [this](std::string_view s) { text += s; };
  }
};

TEST(ReporterTest, HitReplaysTheStoredLogWithPrefixes) {
  Capture c;
  RunReporter r({.logs = OutputLogs::kFull, .prefix_output = true, .total_tasks = 2}, c.Fn());
  r.CacheHit("core#build", CacheSource::kLocal, "abc123", "compiling\r\ndone\n");
  EXPECT_EQ(c.text,
            "core:build: cache hit (local), replaying logs abc123\n"
            "core:build: compiling\n"
            "core:build: done\n");
}

TEST(ReporterTest, SingleTaskOutputIsNotPrefixedButStatusIs) {
  Capture c;
  RunReporter r({.logs = OutputLogs::kFull, .prefix_output = false, .total_tasks = 1}, c.Fn());
  r.Executing("app#build", "ff00");
  r.TaskOutput("app#build", "hello");
  r.TaskDone("app#build");
  r.CacheHit("app#test", CacheSource::kRemote, "ee11", "last line without newline");
  EXPECT_EQ(c.text,
            "app:build: cache miss, executing ff00\n"
            "hello\n"
            "app:test: cache hit (remote), replaying logs ee11\n"
            "last line without newline\n");
}

TEST(ReporterTest, BypassNamesTheFlag) {
  Capture c;
  RunReporter r({}, c.Fn());
  r.Executing("a#build", "h1", "--force");
  EXPECT_EQ(c.text, "a:build: cache bypass (--force), executing h1\n");
}

TEST(ReporterTest, NewOnlySuppressesReplayedLogs) {
  Capture c;
  RunReporter r({.logs = OutputLogs::kNewOnly}, c.Fn());
  r.CacheHit("a#build", CacheSource::kLocal, "h1", "old output\n");
  r.Executing("b#build", "h2");
  r.TaskOutput("b#build", "new output");
  EXPECT_EQ(c.text,
            "a:build: cache hit (local), suppressing logs h1\n"
            "b:build: cache miss, executing h2\n"
            "b:build: new output\n");
}

TEST(ReporterTest, HashOnlyShowsStatusLinesOnly) {
  Capture c;
  RunReporter r({.logs = OutputLogs::kHashOnly}, c.Fn());
  r.CacheHit("a#build", CacheSource::kLocal, "h1", "old output\n");
  r.Executing("b#build", "h2");
  r.TaskOutput("b#build", "new output");
  EXPECT_EQ(c.text,
            "a:build: cache hit (local), suppressing logs h1\n"
            "b:build: cache miss, executing h2\n");
}

TEST(ReporterTest, ErrorsOnlyShowsTheFailedTasksLogWhenItFails) {
  Capture c;
  RunReporter r({.logs = OutputLogs::kErrorsOnly}, c.Fn());
  r.CacheHit("a#build", CacheSource::kLocal, "h1", "old output\n");
  r.Executing("b#build", "h2");
  r.TaskOutput("b#build", "line 1");
  r.TaskDone("b#build");
  r.Executing("c#build", "h3");
  r.TaskOutput("c#build", "oops");
  r.TaskFailed("c#build", "exited with code 2", "oops\nstack\n");
  EXPECT_EQ(c.text,
            "c:build: oops\n"
            "c:build: stack\n"
            "c:build: ERROR: exited with code 2\n");
}

TEST(ReporterTest, NoneShowsOnlyErrorsAndWarnings) {
  Capture c;
  RunReporter r({.logs = OutputLogs::kNone}, c.Fn());
  r.CacheHit("a#build", CacheSource::kLocal, "h1", "x\n");
  r.Executing("b#build", "h2");
  r.TaskOutput("b#build", "y");
  r.TaskFailed("b#build", "exited with code 1", "y\n");
  r.Warning("remote cache unreachable");
  EXPECT_EQ(c.text, "b:build: ERROR: exited with code 1\ncellar: warning: remote cache unreachable\n");
}

TEST(ReporterTest, ProgressLineIsRedrawnUnderTheOutput) {
  Capture c;
  RunReporter r({.logs = OutputLogs::kFull, .progress = true, .total_tasks = 2, .width = 80}, c.Fn());
  r.Executing("a#build", "h1");
  EXPECT_EQ(c.text, "a:build: cache miss, executing h1\n[0/2] running a:build");
  c.text.clear();
  r.TaskOutput("a#build", "hi");
  EXPECT_EQ(c.text, "\r\x1b[2Ka:build: hi\n[0/2] running a:build");
  c.text.clear();
  r.TaskDone("a#build");
  EXPECT_EQ(c.text, "\r\x1b[2K[1/2]");
  c.text.clear();
  r.Finish({.total = 2, .succeeded = 2});
  EXPECT_EQ(c.text.rfind("\r\x1b[2K\n Tasks:", 0), 0u) << c.text;
}

TEST(ReporterTest, ParallelLinesNeverInterleave) {
  Capture c;
  RunReporter r({.logs = OutputLogs::kFull}, c.Fn());
  auto spam = [&](std::string id) {
    for (int i = 0; i < 200; ++i) r.TaskOutput(id, std::string(50, id[0]));
  };
  std::thread t1(spam, "x#build"), t2(spam, "y#build");
  t1.join();
  t2.join();
  size_t lines = 0;
  for (auto line : SplitLines(c.text)) {
    ++lines;
    EXPECT_TRUE(line == "x:build: " + std::string(50, 'x') || line == "y:build: " + std::string(50, 'y')) << line;
  }
  EXPECT_EQ(lines, 400u);
}

TEST(ReporterTest, SummaryCountsAndTimes) {
  RunTotals t{.total = 6, .succeeded = 5, .cached = 4, .failed = {"app#build"}, .skipped = {"app#test"},
              .wall = std::chrono::milliseconds(1234), .saved = std::chrono::milliseconds(61005)};
  EXPECT_EQ(FormatSummary(t),
            "\n"
            " Tasks:    5 successful, 6 total\n"
            "Cached:    4 cached, 6 total\n"
            "  Time:    1.234s\n"
            " Saved:    61.005s of task time from the cache\n"
            "Failed:    app#build\n"
            "Skipped:   app#test\n");
}

TEST(ReporterTest, SummaryMarksAnAllCachedRun) {
  RunTotals t{.total = 3, .succeeded = 3, .cached = 3, .wall = std::chrono::milliseconds(45)};
  EXPECT_NE(FormatSummary(t).find("  Time:    0.045s >>> ALL CACHED\n"), std::string::npos);
}

TEST(ReporterTest, OutputLogsParsing) {
  EXPECT_EQ(*ParseOutputLogs("errors-only"), OutputLogs::kErrorsOnly);
  EXPECT_EQ(*ParseOutputLogs("hash-only"), OutputLogs::kHashOnly);
  EXPECT_FALSE(ParseOutputLogs("verbose").ok());
  EXPECT_EQ(TaskLabel("@scope/web#build"), "@scope/web:build");
}

}  // namespace
}  // namespace cellar::tasks
