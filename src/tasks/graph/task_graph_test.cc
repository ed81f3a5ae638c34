#include "tasks/graph/task_graph.h"

#include <gtest/gtest.h>

#include "tasks/graph/graph_test_util.h"

namespace cellar::tasks {
namespace {

using Strings = std::vector<std::string>;

Strings Ids(const TaskGraph& g) {
  Strings out;
  for (const TaskNode& n : g.nodes()) out.push_back(n.id);
  return out;
}

Strings DepIds(const TaskGraph& g, const std::string& id) {
  Strings out;
  for (size_t d : g.Find(id)->dependencies) out.push_back(g.nodes()[d].id);
  return out;
}

Strings DependentIds(const TaskGraph& g, const std::string& id) {
  Strings out;
  for (size_t d : g.Find(id)->dependents) out.push_back(g.nodes()[d].id);
  return out;
}

Result<TaskGraph> Build(const std::string& yaml, const Workspace& ws, const Strings& tasks,
                        const TaskSelection& selection = {}) {
  return BuildTaskGraph(MakeConfig(yaml), ws, tasks, selection);
}

constexpr char kBuildCaretBuild[] = "pipeline:\n  build:\n    command: make\n    depends_on: [\"^build\"]\n";

TEST(TaskGraphTest, DiamondSharedDependencyIsOneNode) {
  Workspace ws = MakeWorkspace("app: lib-a lib-b\nlib-a: core\nlib-b: core\ncore:");
  auto g = Build(kBuildCaretBuild, ws, {"build"});
  ASSERT_TRUE(g.ok()) << g.error().ToString();
  EXPECT_EQ(Ids(*g), (Strings{"core#build", "lib-a#build", "lib-b#build", "app#build"}));
  EXPECT_EQ(DepIds(*g, "app#build"), (Strings{"lib-a#build", "lib-b#build"}));
  EXPECT_EQ(DependentIds(*g, "core#build"), (Strings{"lib-a#build", "lib-b#build"}));
  EXPECT_EQ(g->Find("core#build")->dir, "packages/core");
  EXPECT_EQ(g->Find("core#build")->command, "make");
  EXPECT_TRUE(g->Find("core#build")->requested);
}

TEST(TaskGraphTest, SelectingOnePackageStillBuildsItsDependenciesOnce) {
  Workspace ws = MakeWorkspace("app: lib-a lib-b\nlib-a: core\nlib-b: core\ncore:\nother:");
  auto g = Build(kBuildCaretBuild, ws, {"build"}, TaskSelection{{}, "app"});
  ASSERT_TRUE(g.ok()) << g.error().ToString();
  EXPECT_EQ(Ids(*g), (Strings{"core#build", "lib-a#build", "lib-b#build", "app#build"}));
  EXPECT_TRUE(g->Find("app#build")->requested);
  EXPECT_FALSE(g->Find("core#build")->requested);
}

TEST(TaskGraphTest, ThreeLevelChainIsOrderedByDependencies) {
  Workspace ws = MakeWorkspace("a: b\nb: c\nc:");
  auto g = Build(kBuildCaretBuild, ws, {"build"});
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(Ids(*g), (Strings{"c#build", "b#build", "a#build"}));
  EXPECT_EQ(DepIds(*g, "a#build"), (Strings{"b#build"}));  // direct only: c reaches a through b
}

TEST(TaskGraphTest, CaretPassesThroughPackagesWithoutTheTask) {
  // mid has no build script and the pipeline has no command: app's ^build reaches base.
  Workspace ws = MakeWorkspace("app[build]: mid\nmid[test]: base\nbase[build]:", "pnpm");
  auto g = Build("pipeline:\n  build:\n    depends_on: [\"^build\"]\n", ws, {"build"});
  ASSERT_TRUE(g.ok()) << g.error().ToString();
  EXPECT_EQ(Ids(*g), (Strings{"base#build", "app#build"}));
  EXPECT_EQ(DepIds(*g, "app#build"), (Strings{"base#build"}));
  EXPECT_EQ(g->Find("app#build")->command, "pnpm run build");
}

TEST(TaskGraphTest, SamePackageAndExplicitPackageDependencies) {
  Workspace ws = MakeWorkspace("web[build,test]: ui\nui[build,test]:\napi[build,deploy]:");
  auto g = Build(R"(pipeline:
  build: {depends_on: ["^build"]}
  test: {depends_on: ["build"]}
  deploy: {depends_on: ["build", "web#build", "ui#test"]}
)", ws, {"test", "deploy"});
  ASSERT_TRUE(g.ok()) << g.error().ToString();
  EXPECT_EQ(DepIds(*g, "web#test"), (Strings{"web#build"}));
  EXPECT_EQ(DepIds(*g, "web#build"), (Strings{"ui#build"}));
  EXPECT_EQ(DepIds(*g, "api#deploy"), (Strings{"api#build", "ui#test", "web#build"}));
  EXPECT_EQ(g->Find("web#deploy"), nullptr);  // web has no deploy script
  EXPECT_EQ(g->nodes().size(), 6u);
}

TEST(TaskGraphTest, PackageSpecificEntryOverridesTheGeneralOne) {
  Workspace ws = MakeWorkspace("web: ui\nui:");
  auto g = Build(R"(pipeline:
  build: {command: "tsc", depends_on: ["^build"], outputs: ["dist/**"]}
  web#build: {command: "next build", outputs: [".next/**"]}
)", ws, {"build"});
  ASSERT_TRUE(g.ok()) << g.error().ToString();
  EXPECT_EQ(g->Find("web#build")->command, "next build");
  EXPECT_EQ(g->Find("web#build")->definition.outputs, (Strings{".next/**"}));
  EXPECT_TRUE(g->Find("web#build")->dependencies.empty());  // the override has no depends_on
  EXPECT_EQ(g->Find("ui#build")->command, "tsc");
}

TEST(TaskGraphTest, CyclesAreRefusedWithTheCycleSpelledOut) {
  Workspace ws = MakeWorkspace("a: b\nb: a");
  auto g = Build(kBuildCaretBuild, ws, {"build"});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find("a#build -> b#build -> a#build"), std::string::npos) << g.error().message();

  Workspace one = MakeWorkspace("x:");
  auto tasks = Build("pipeline:\n  build: {command: b, depends_on: [test]}\n  test: {command: t, depends_on: [build]}\n",
                     one, {"build"});
  ASSERT_FALSE(tasks.ok());
  EXPECT_NE(tasks.error().message().find("x#build -> x#test -> x#build"), std::string::npos)
      << tasks.error().message();
}

TEST(TaskGraphTest, CycleThroughAPassThroughPackageIsStillACycle) {
  Workspace ws = MakeWorkspace("a[build]: b\nb: a");
  auto g = Build("pipeline:\n  build: {depends_on: [\"^build\"]}\n", ws, {"build"});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find("a#build -> b#build -> a#build"), std::string::npos) << g.error().message();
}

TEST(TaskGraphTest, UnknownTasksAndPackagesAreErrors) {
  Workspace ws = MakeWorkspace("a:");
  auto missing = Build(kBuildCaretBuild, ws, {"lint"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("task \"lint\" is not in the pipeline of cellar.yml (tasks: build)"),
            std::string::npos) << missing.error().message();
  auto bad_ref = Build("pipeline:\n  build: {command: m, depends_on: [\"nope#build\"]}\n", ws, {"build"});
  ASSERT_FALSE(bad_ref.ok());
  EXPECT_NE(bad_ref.error().message().find("no package named \"nope\""), std::string::npos);
  EXPECT_FALSE(Build(kBuildCaretBuild, ws, {"nope#build"}).ok());
}

TEST(TaskGraphTest, ExplicitNodeRequestAndEmptyGraph) {
  Workspace ws = MakeWorkspace("a: b\nb:\nc:");
  auto g = Build(kBuildCaretBuild, ws, {"a#build"});
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(Ids(*g), (Strings{"b#build", "a#build"}));
  auto none = Build("pipeline:\n  lint: {}\n", ws, {"lint"});  // no command and no package has the script
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(TaskGraphTest, RenderingsListEveryNodeAndEdge) {
  Workspace ws = MakeWorkspace("app: lib\nlib:");
  auto g = Build(kBuildCaretBuild, ws, {"build"});
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->RenderText(),
            "lib#build  (make in packages/lib)\n"
            "app#build  (make in packages/app)\n"
            "  depends on lib#build\n");
  EXPECT_EQ(g->RenderDot(),
            "digraph tasks {\n"
            "  \"lib#build\";\n"
            "  \"app#build\" -> \"lib#build\";\n"
            "}\n");
}

}  // namespace
}  // namespace cellar::tasks
