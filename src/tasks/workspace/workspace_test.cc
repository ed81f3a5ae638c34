#include "tasks/workspace/workspace.h"

#include <gtest/gtest.h>

#include "tasks/workspace/package_json.h"
#include "testing/temp_tree.h"

namespace cellar::tasks {
namespace {

std::vector<std::string> Names(const Workspace& ws) {
  std::vector<std::string> out;
  for (const Package& p : ws.packages) out.push_back(p.name + "@" + p.dir);
  return out;
}

using Strings = std::vector<std::string>;

TEST(WorkspaceTest, NpmWorkspacesArrayFormLinksPlainSemverRanges) {
  testing::TempTree t;
  t.Write("package.json", R"({"name": "mono", "workspaces": ["packages/*"]})");
  t.Write("packages/app/package.json", R"({"name": "app", "scripts": {"build": "tsc"},
      "dependencies": {"lib": "^1.0.0", "react": "^18"}, "devDependencies": {"tools": "*"}})");
  t.Write("packages/lib/package.json", R"({"name": "lib", "peerDependencies": {"tools": "1.x"}})");
  t.Write("packages/tools/package.json", R"({"name": "tools", "optionalDependencies": {"lib": "file:../lib"}})");
  t.Mkdir("packages/not-a-package/src");
  auto ws = LoadWorkspace(t.root(), std::nullopt);
  ASSERT_TRUE(ws.ok()) << ws.error().ToString();
  EXPECT_EQ(ws->source, "package.json");
  EXPECT_EQ(Names(*ws), (Strings{"app@packages/app", "lib@packages/lib", "tools@packages/tools"}));
  EXPECT_EQ(ws->Find("app")->dependencies, (Strings{"lib", "tools"}));
  EXPECT_EQ(ws->Find("lib")->dependencies, (Strings{"tools"}));
  EXPECT_EQ(ws->Find("tools")->dependencies, (Strings{"lib"}));
  EXPECT_EQ(ws->Find("app")->scripts.at("build"), "tsc");
  EXPECT_EQ(ws->package_manager, "npm");
  EXPECT_EQ(ws->ScriptCommand("build"), "npm run build");
}

TEST(WorkspaceTest, NpmWorkspacesObjectForm) {
  testing::TempTree t;
  t.Write("package.json", R"({"workspaces": {"packages": ["apps/*", "libs/**"], "nohoist": ["x"]}})");
  t.Write("apps/web/package.json", R"({"name": "@acme/web", "dependencies": {"@acme/ui": "workspace:^"}})");
  t.Write("libs/deep/ui/package.json", R"({"name": "@acme/ui"})");
  t.Write("yarn.lock", "");
  auto ws = LoadWorkspace(t.root(), std::nullopt);
  ASSERT_TRUE(ws.ok()) << ws.error().ToString();
  EXPECT_EQ(Names(*ws), (Strings{"@acme/ui@libs/deep/ui", "@acme/web@apps/web"}));
  EXPECT_EQ(ws->Find("@acme/web")->dependencies, (Strings{"@acme/ui"}));
  EXPECT_EQ(ws->package_manager, "yarn");
  EXPECT_EQ(ws->FindByNameOrDir("./apps/web/")->name, "@acme/web");
}

TEST(WorkspaceTest, PnpmWorkspaceWithExclusionsAndWorkspaceProtocol) {
  testing::TempTree t;
  t.Write("package.json", R"({"name": "root", "workspaces": ["ignored/*"], "packageManager": "pnpm@9.1.0"})");
  t.Write("pnpm-workspace.yaml", "packages:\n  - 'packages/*'\n  - '!packages/skip'\n");
  t.Write("packages/a/package.json", R"({"name": "a", "dependencies": {"b": "workspace:*"}})");
  t.Write("packages/b/package.json", R"({"name": "b"})");
  t.Write("packages/skip/package.json", R"({"name": "skip"})");
  t.Write("ignored/x/package.json", R"({"name": "x"})");
  auto ws = LoadWorkspace(t.root(), std::nullopt);
  ASSERT_TRUE(ws.ok()) << ws.error().ToString();
  EXPECT_EQ(ws->source, "pnpm-workspace.yaml");
  EXPECT_EQ(Names(*ws), (Strings{"a@packages/a", "b@packages/b"}));
  EXPECT_EQ(ws->Find("a")->dependencies, (Strings{"b"}));
  EXPECT_EQ(ws->package_manager, "pnpm");
}

TEST(WorkspaceTest, ConfigGlobsTakeDirectoriesWithoutPackageJsonNamedByPath) {
  testing::TempTree t;
  t.Write("package.json", R"({"workspaces": ["web"]})");
  t.Write("services/api/go.mod", "module api\n");
  t.Write("services/web/package.json", R"({"name": "web"})");
  t.Write("services/web/node_modules/dep/package.json", R"({"name": "dep"})");
  auto ws = LoadWorkspace(t.root(), Strings{"services/*/package.json", "services/*"});
  ASSERT_TRUE(ws.ok()) << ws.error().ToString();
  EXPECT_EQ(ws->source, "cellar.yml");
  EXPECT_EQ(Names(*ws), (Strings{"services/api@services/api", "web@services/web"}));
  EXPECT_FALSE(ws->Find("services/api")->has_package_json);
}

TEST(WorkspaceTest, DefaultGlobsApplyOnlyWithoutWorkspaceFiles) {
  testing::TempTree t;
  t.Write("apps/site/package.json", R"({"name": "site", "dependencies": {"kit": "0.0.1"}})");
  t.Write("libs/kit/package.json", R"({"name": "kit"})");
  t.Write("tools/gen/package.json", R"({"name": "gen"})");
  auto ws = LoadWorkspace(t.root(), std::nullopt);
  ASSERT_TRUE(ws.ok()) << ws.error().ToString();
  EXPECT_EQ(ws->source, "default globs");
  EXPECT_EQ(Names(*ws), (Strings{"kit@libs/kit", "site@apps/site"}));
  EXPECT_EQ(ws->Find("site")->dependencies, (Strings{"kit"}));
}

TEST(WorkspaceTest, NoPackagesMakesTheRootTheOnlyPackage) {
  testing::TempTree t;
  t.Write("go.mod", "module x\n");
  auto ws = LoadWorkspace(t.root(), std::nullopt);
  ASSERT_TRUE(ws.ok()) << ws.error().ToString();
  EXPECT_EQ(ws->source, "root");
  EXPECT_EQ(Names(*ws), (Strings{"//@."}));
  t.Write("package.json", R"({"name": "solo", "scripts": {"test": "jest"}})");
  ws = LoadWorkspace(t.root(), std::nullopt);
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(Names(*ws), (Strings{"solo@."}));
  EXPECT_EQ(ws->FindByNameOrDir(".")->scripts.at("test"), "jest");
}

TEST(WorkspaceTest, DuplicateNamesAreRefusedNamingBothDirectories) {
  testing::TempTree t;
  t.Write("package.json", R"({"workspaces": ["a/*"]})");
  t.Write("a/one/package.json", R"({"name": "same"})");
  t.Write("a/two/package.json", R"({"name": "same"})");
  auto ws = LoadWorkspace(t.root(), std::nullopt);
  ASSERT_FALSE(ws.ok());
  EXPECT_NE(ws.error().message().find("two packages are named \"same\": a/one and a/two"), std::string::npos)
      << ws.error().message();
}

TEST(WorkspaceTest, MalformedFilesAreErrorsNamingTheFile) {
  testing::TempTree t;
  t.Write("package.json", R"({"workspaces": ["p/*"]})");
  t.Write("p/bad/package.json", "{not json");
  auto ws = LoadWorkspace(t.root(), std::nullopt);
  ASSERT_FALSE(ws.ok());
  EXPECT_NE(ws.error().message().find("p/bad/package.json: not valid JSON"), std::string::npos) << ws.error().message();

  testing::TempTree p;
  p.Write("pnpm-workspace.yaml", "packages: 'a/*'\n");
  auto pnpm = LoadWorkspace(p.root(), std::nullopt);
  ASSERT_FALSE(pnpm.ok());
  EXPECT_NE(pnpm.error().message().find("pnpm-workspace.yaml:1:11: packages must be a list"), std::string::npos)
      << pnpm.error().message();

  EXPECT_FALSE(ParsePackageJson(R"({"workspaces": "a/*"})", "package.json").ok());
  EXPECT_FALSE(ParsePackageJson(R"({"scripts": {"build": 1}})", "package.json").ok());
  EXPECT_FALSE(LoadWorkspace(t.root(), Strings{"../outside/*"}).ok());
}

TEST(WorkspaceTest, PackageContainingFindsTheInnermostPackageOfADirectory) {
  testing::TempTree t;
  t.Write("package.json", R"({"name": "mono", "workspaces": ["apps/*", "apps/web/plugins/*"]})");
  t.Write("apps/web/package.json", R"({"name": "web"})");
  t.Write("apps/web/src/x.js", "");
  t.Write("apps/web/plugins/p1/package.json", R"({"name": "p1"})");
  t.Write("apps/webby/package.json", R"({"name": "webby"})");
  t.Write("docs/readme.md", "");
  auto ws = LoadWorkspace(t.root(), std::nullopt);
  ASSERT_TRUE(ws.ok()) << ws.error().ToString();
  auto at = [&](const std::string& rel) {
    const Package* p = ws->PackageContaining(rel.empty() ? t.root() : t.root() + "/" + rel);
    return p ? p->name : std::string("-");
  };
  EXPECT_EQ(at("apps/web"), "web");
  EXPECT_EQ(at("apps/web/src"), "web");
  EXPECT_EQ(at("apps/web/plugins/p1"), "p1");
  EXPECT_EQ(at("apps/webby"), "webby");  // not inside apps/web
  EXPECT_EQ(at(""), "-");                // the root is not scoped
  EXPECT_EQ(at("docs"), "-");
  EXPECT_EQ(ws->PackageContaining("/"), nullptr);
}

}  // namespace
}  // namespace cellar::tasks
