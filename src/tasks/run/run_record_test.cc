#include "tasks/run/run_record.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <unistd.h>

namespace cellar::tasks {
namespace {

RunRecord Sample() {
  RunRecord r;
  r.id = "20261202T102600Z-abcdef";
  r.started_unix_ms = 1764670000000;
  r.requested = {"build"};
  TaskRecord core{.id = "core#build", .package = "core", .task = "build", .directory = "packages/core",
                  .command = "node build.js", .hash = "c0ffee"};
  core.outputs = {"dist/**"};
  core.dependents = {"app#build"};
  core.inputs = {{"package.json", "h-pkg"}, {"src/index.js", "h-src"}};
  core.hash_inputs = {{"command", "node build.js"}, {"env", {{"NODE_ENV", "h-env"}}}};
  core.env_keys = {"NODE_ENV"};
  TaskRecord app{.id = "app#build", .package = "app", .task = "build", .directory = "apps/app",
                 .command = "node build.js", .hash = "beef"};
  app.dependencies = {"core#build"};
  r.tasks = {core, app};
  return r;
}

TEST(RunRecordTest, DryJsonListsEveryInputOfTheHash) {
  auto j = nlohmann::json::parse(RenderRunJson(Sample()));
  ASSERT_EQ(j["tasks"].size(), 2u);
  const auto& core = j["tasks"][0];
  EXPECT_EQ(core["taskId"], "core#build");
  EXPECT_EQ(core["hash"], "c0ffee");
  EXPECT_EQ(core["inputs"]["src/index.js"], "h-src");
  EXPECT_EQ(core["hashInputs"]["env"]["NODE_ENV"], "h-env");
  EXPECT_EQ(core["dependents"][0], "app#build");
  EXPECT_EQ(j["tasks"][1]["dependencies"][0], "core#build");
  // A plan has no results.
  EXPECT_FALSE(core.contains("cache"));
  EXPECT_FALSE(j.contains("totals"));
}

TEST(RunRecordTest, SummaryJsonHasResultsAndTotals) {
  RunRecord r = Sample();
  r.tasks[0].cache_status = "hit";
  r.tasks[0].cache_source = "remote";
  r.tasks[0].exit_code = 0;
  r.tasks[0].saved = std::chrono::milliseconds(900);
  r.tasks[1].cache_status = "miss";
  r.tasks[1].exit_code = 1;
  r.tasks[1].duration = std::chrono::milliseconds(1500);
  r.totals = RunTotals{.total = 2, .succeeded = 1, .cached = 1, .failed = {"app#build"},
                       .wall = std::chrono::milliseconds(1600), .saved = std::chrono::milliseconds(900)};
  r.exit_code = 1;
  auto j = nlohmann::json::parse(RenderRunJson(r));
  EXPECT_EQ(j["tasks"][0]["cache"]["status"], "hit");
  EXPECT_EQ(j["tasks"][0]["cache"]["source"], "remote");
  EXPECT_EQ(j["tasks"][0]["cache"]["timeSavedMs"], 900);
  EXPECT_EQ(j["tasks"][1]["exitCode"], 1);
  EXPECT_EQ(j["tasks"][1]["durationMs"], 1500);
  EXPECT_EQ(j["totals"]["cached"], 1);
  EXPECT_EQ(j["totals"]["failed"][0], "app#build");
  EXPECT_EQ(j["exitCode"], 1);
}

TEST(RunRecordTest, DryTextNamesHashAndCommand) {
  std::string text = RenderDryText(Sample());
  EXPECT_NE(text.find("Tasks to run (2):"), std::string::npos);
  EXPECT_NE(text.find("core#build\n  directory     packages/core\n  command       node build.js\n"
                      "  hash          c0ffee\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  inputs        2 files\n"), std::string::npos);
}

TEST(RunRecordTest, RunIdsSortByTimeAndDiffer) {
  auto t = std::chrono::system_clock::from_time_t(1764670000);
  std::string a = NewRunId(t), b = NewRunId(t);
  EXPECT_EQ(a.substr(0, 17), "20251202T100640Z-");
  EXPECT_NE(a, b);
}

TEST(RunRecordTest, SummaryIsWrittenUnderDotCellarRuns) {
  auto root = std::filesystem::temp_directory_path() / ("cellar-run-record-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  auto path = WriteRunSummary(root.string(), Sample());
  ASSERT_TRUE(path.ok()) << path.error().message();
  EXPECT_EQ(*path, (root / ".cellar/runs/20261202T102600Z-abcdef.json").string());
  std::ifstream f(*path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(nlohmann::json::parse(ss.str())["id"], "20261202T102600Z-abcdef");
  EXPECT_FALSE(std::filesystem::exists(*path + ".tmp"));
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace cellar::tasks
