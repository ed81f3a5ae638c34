#include "tasks/graph/project.h"

#include <gtest/gtest.h>

#include "tasks/config/velocity_readme_for_test.h"
#include "tasks/graph/task_graph.h"
#include "testing/temp_tree.h"

namespace cellar::tasks {
namespace {

TEST(ProjectTest, OpensFromASubdirectoryAndRunsTheVelocityReadmeConfig) {
  testing::TempTree t;
  // The VelocityCache README's velocity.yml over a pnpm workspace with workspace:* links.
  t.Write("velocity.yml", kVelocityReadme);

  t.Write("pnpm-workspace.yaml", "packages: ['packages/*']\n");
  t.Write("packages/app/package.json", R"({"name": "app", "dependencies": {"lib": "workspace:*"}})");
  t.Write("packages/lib/package.json", R"({"name": "lib"})");
  t.Mkdir("packages/app/src/deep");
  auto project = OpenProject(t.Path("packages/app/src/deep"), FixedEnv({{"VC_AUTH_TOKEN", "tok"}}));
  ASSERT_TRUE(project.ok()) << project.error().ToString();
  EXPECT_EQ(project->config.remote.token, "tok");
  EXPECT_EQ(project->workspace.root, project->config.root);
  auto graph = BuildTaskGraph(project->config, project->workspace, {"build"}, {});
  ASSERT_TRUE(graph.ok()) << graph.error().ToString();
  ASSERT_EQ(graph->nodes().size(), 2u);
  EXPECT_EQ(graph->nodes()[0].id, "lib#build");
  EXPECT_EQ(graph->nodes()[1].id, "app#build");
  EXPECT_EQ(graph->nodes()[1].command, "npm run build");
  EXPECT_EQ(graph->nodes()[1].dir, "packages/app");
}

TEST(ProjectTest, AnExplicitConfigFileSetsTheRoot) {
  testing::TempTree t;
  t.Write("ci/other.yml", "packages: [\"../x/*\"]\n");
  auto bad = OpenProjectFile(t.Path("ci/other.yml"), FixedEnv({}));
  ASSERT_FALSE(bad.ok());  // globs may not leave the root (ci/)
  t.Write("ci/build.yml", "pipeline:\n  build: {command: make}\n");
  t.Write("ci/tools/gen/package.json", R"({"name": "gen"})");
  auto project = OpenProjectFile(t.Path("ci/build.yml"), FixedEnv({}));
  ASSERT_TRUE(project.ok()) << project.error().ToString();
  EXPECT_EQ(project->workspace.root, t.Path("ci"));
  ASSERT_EQ(project->workspace.packages.size(), 1u);
  EXPECT_EQ(project->workspace.packages[0].dir, ".");  // ci/ has no apps/, libs/ or packages/
}

TEST(ProjectTest, NoConfigFileIsNotFound) {
  testing::TempTree t;
  auto above = FindConfigFile(t.root());
  ASSERT_TRUE(above.ok());
  if (above->has_value()) GTEST_SKIP() << "a config file above the temp directory: " << **above;
  auto project = OpenProject(t.root(), FixedEnv({}));
  ASSERT_FALSE(project.ok());
  EXPECT_EQ(project.error().code(), Code::kNotFound);
  EXPECT_NE(project.error().message().find("cellar init"), std::string::npos);
}

}  // namespace
}  // namespace cellar::tasks
