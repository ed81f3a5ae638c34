#include "tasks/config/config.h"

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "tasks/config/velocity_readme_for_test.h"

namespace cellar::tasks {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) { return FixedEnv(std::move(vars)); }


TEST(ConfigTest, VelocityReadmeExampleParsesUnchanged) {
  auto config = ParseConfig(kVelocityReadme, "velocity.yml", Env({{"VC_AUTH_TOKEN", "secret-token"}}));
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_TRUE(config->remote.enabled);
  EXPECT_EQ(config->remote.url, "http://localhost:8080");
  EXPECT_EQ(config->remote.token, "secret-token");
  EXPECT_FALSE(config->packages.has_value());
  ASSERT_EQ(config->pipeline.size(), 1u);
  const TaskConfig& build = config->pipeline.at("build");
  EXPECT_EQ(build.command, "npm run build");
  EXPECT_EQ(build.inputs, (std::vector<std::string>{"src/**", "package.json"}));
  EXPECT_EQ(build.outputs, (std::vector<std::string>{"dist/**"}));
  EXPECT_EQ(build.depends_on, (std::vector<std::string>{"^build"}));
  EXPECT_TRUE(build.cache);
  EXPECT_EQ(build.line, 8);
  EXPECT_EQ(build.column, 3);
  EXPECT_TRUE(config->warnings.empty());
}

TEST(ConfigTest, CellarExtrasParse) {
  auto config = ParseConfig(R"(
project_id: demo
packages: ["apps/*", "libs/*"]
global_dependencies: [".nvmrc", "tsconfig.base.json"]
global_env: [CI, NODE_ENV]
pipeline:
  build:
    command: make
    env_keys: [API_URL]
    timeout: 10m
  dev:
    command: "vite"
    cache: false
  lint:
  web#build:
    command: "next build"
    outputs: [".next/**", "!.next/cache/**"]
)", "cellar.yml", Env({}));
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->project_id, "demo");
  EXPECT_EQ(*config->packages, (std::vector<std::string>{"apps/*", "libs/*"}));
  EXPECT_EQ(config->global_dependencies.size(), 2u);
  EXPECT_EQ(config->global_env, (std::vector<std::string>{"CI", "NODE_ENV"}));
  EXPECT_EQ(config->pipeline.at("build").timeout_ms, 600000);
  EXPECT_FALSE(config->pipeline.at("dev").cache);
  EXPECT_FALSE(config->pipeline.at("lint").command.has_value());
  EXPECT_EQ(config->Find("web", "build")->command, "next build");
  EXPECT_EQ(config->Find("api", "build")->command, "make");
  EXPECT_EQ(config->Find("api", "test"), nullptr);
  EXPECT_TRUE(config->DefinesTask("lint"));
  EXPECT_FALSE(config->DefinesTask("test"));
}

// Each broken file must name file:line:col of the offending node.
struct BadCase {
  const char* text;
  const char* where;
  const char* says;
};

TEST(ConfigTest, ErrorsNameFileLineAndColumn) {
  const BadCase cases[] = {
      {"pipeline:\n  build:\n    command: [unclosed\n", "cellar.yml:4:1", ""},
      {"pipeline:\n  build:\n    command: make\n    depends_on: \"^build\"\n", "cellar.yml:4:17", "must be a list"},
      {"pipeline:\n  build:\n    command: {a: 1}\n", "cellar.yml:3:14", "command must be a string"},
      {"pipeline:\n  build: [make]\n", "cellar.yml:2:10", "must be a mapping"},
      {"pipeline:\n  build:\n    depends_on: [\"^test\"]\n", "cellar.yml:3:18", "\"test\" is not in the pipeline"},
      {"pipeline:\n  build:\n    cache: maybe\n", "cellar.yml:3:12", "true or false"},
      {"pipeline:\n  build:\n    timeout: soon\n", "cellar.yml:3:14", "duration"},
      {"version: 2\n", "cellar.yml:1:10", "unsupported version"},
      {"pipeline:\n  build: {}\n  build: {}\n", "cellar.yml:3:3", "duplicate key"},
      {"remote:\n  token: \"${UNCLOSED\"\n", "cellar.yml:2:10", "unterminated"},
      {"packages: apps/*\n", "cellar.yml:1:11", "must be a list"},
      {"pipeline:\n  \"#build\": {}\n", "cellar.yml:2:3", "package#task"},
  };
  for (const BadCase& c : cases) {
    auto config = ParseConfig(c.text, "cellar.yml", Env({}));
    ASSERT_FALSE(config.ok()) << c.text;
    const std::string& m = config.error().message();
    EXPECT_EQ(m.rfind(c.where, 0), 0u) << "message: " << m << "\nfor:\n" << c.text;
    EXPECT_NE(m.find(c.says), std::string::npos) << "message: " << m;
  }
}

TEST(ConfigTest, UnknownKeysAreWarningsWithPositionAndSuggestion) {
  auto config = ParseConfig("pipeline:\n  build:\n    command: make\n    dependsOn: [\"^build\"]\nextra: 1\n",
                            "velocity.yml", Env({}));
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  ASSERT_EQ(config->warnings.size(), 2u);
  EXPECT_EQ(config->warnings[0].rfind("velocity.yml:5:1: unknown key \"extra\"", 0), 0u) << config->warnings[0];
  EXPECT_EQ(config->warnings[1].rfind("velocity.yml:4:5: unknown key \"dependsOn\"", 0), 0u) << config->warnings[1];
  EXPECT_NE(config->warnings[1].find("did you mean \"depends_on\""), std::string::npos);
}

TEST(ConfigTest, EnvironmentExpandsInValuesButNotBareDollarInCommands) {
  auto config = ParseConfig(R"(project_id: $PROJECT
remote: {enabled: "${ON:-true}", url: "$URL", token: "${TOKEN}"}
pipeline:
  build:
    command: "echo ${GREETING} $$HOME $f"
    outputs: ["${OUT:-dist}/**"]
)", "cellar.yml", Env({{"PROJECT", "p1"}, {"URL", "http://h:1"}, {"TOKEN", "t"}, {"GREETING", "hi"}}));
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->project_id, "p1");
  EXPECT_TRUE(config->remote.enabled);
  EXPECT_EQ(config->remote.url, "http://h:1");
  EXPECT_EQ(config->remote.token, "t");
  EXPECT_EQ(config->pipeline.at("build").command, "echo hi $$HOME $f");
  EXPECT_EQ(config->pipeline.at("build").outputs[0], "dist/**");
}

TEST(ConfigTest, AnExpandedValueCannotChangeTheFileStructure) {
  // Expanding the text before parsing (VelocityCache) would let this value end the string.
  auto config = ParseConfig("remote:\n  token: \"${TOKEN}\"\n", "cellar.yml", Env({{"TOKEN", "a\"\nb: [c"}}));
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->remote.token, "a\"\nb: [c");
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) / ("cellar-config-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "apps/web/src");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(root_ / rel) << text;
  }
  std::filesystem::path root_;
};

TEST_F(ConfigFileTest, FindsTheNearestConfigUpwardPreferringCellarYml) {
  auto none = FindConfigFile((root_ / "apps/web/src").string());
  ASSERT_TRUE(none.ok());
  if (none->has_value()) {
    EXPECT_NE((*none)->rfind(root_.string(), 0), 0u);  // only a file above the temp dir
  }
  Write("velocity.yml", "version: 1\n");
  auto found = FindConfigFile((root_ / "apps/web/src").string());
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(**found, (root_ / "velocity.yml").string());
  Write("cellar.yml", "version: 1\n");
  EXPECT_EQ(**FindConfigFile((root_ / "apps/web").string()), (root_ / "cellar.yml").string());
}

TEST_F(ConfigFileTest, LoadSetsRootAndReportsTheFileInErrors) {
  Write("cellar.yml", "pipeline:\n  build:\n    inputs: 3\n");
  auto bad = LoadConfig((root_ / "cellar.yml").string(), Env({}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().rfind((root_ / "cellar.yml").string() + ":3:13:", 0), 0u) << bad.error().message();
  Write("cellar.yml", "pipeline:\n  build:\n    command: make\n");
  auto good = LoadConfig((root_ / "cellar.yml").string(), Env({}));
  ASSERT_TRUE(good.ok()) << good.error().ToString();
  EXPECT_EQ(good->root, root_.lexically_normal().string());
  EXPECT_FALSE(LoadConfig((root_ / "missing.yml").string(), Env({})).ok());
}

}  // namespace
}  // namespace cellar::tasks
