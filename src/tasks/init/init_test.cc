#include "tasks/init/init.h"

#include <gtest/gtest.h>

#include "tasks/graph/task_graph.h"
#include "tasks/workspace/package_json.h"
#include "tasks/workspace/workspace.h"
#include "testing/temp_tree.h"

namespace cellar::tasks {
namespace {

using Strings = std::vector<std::string>;

// Loads the cellar.yml InitWorkspace wrote, the way `cellar run` does.
struct Loaded {
  Config config;
  Workspace ws;
};

Loaded Load(const std::string& root) {
  auto config = LoadConfig(root + "/cellar.yml", FixedEnv({}));
  EXPECT_TRUE(config.ok()) << config.error().ToString();
  if (!config.ok()) return {};
  auto ws = LoadWorkspace(root, config->packages);
  EXPECT_TRUE(ws.ok()) << ws.error().ToString();
  if (!ws.ok()) return {};
  return {*config, *ws};
}

// "id <- dep dep" per node, in topological order.
Strings Edges(const Loaded& l, const std::string& task) {
  auto g = BuildTaskGraph(l.config, l.ws, {task}, {});
  EXPECT_TRUE(g.ok()) << g.error().ToString();
  Strings out;
  if (!g.ok()) return out;
  for (const TaskNode& n : g->nodes()) {
    std::string line = n.id + " <-";
    for (size_t d : n.dependencies) line += " " + g->nodes()[d].id;
    out.push_back(line + " [" + n.command + "]");
  }
  return out;
}

bool AnyNoteHas(const InitResult& r, const std::string& text) {
  for (const std::string& n : r.notes) if (n.find(text) != std::string::npos) return true;
  return false;
}

void WriteNpmMonorepo(testing::TempTree& t) {
  t.Write("package.json", R"({"name": "mono", "workspaces": ["packages/*"]})");
  t.Write("package-lock.json", "{}");
  t.Write("packages/a/package.json",
          R"({"name": "a", "scripts": {"build": "tsc", "test": "jest", "dev": "vite"}, "dependencies": {"b": "^1.0.0"}})");
  t.Write("packages/b/package.json", R"({"name": "b", "scripts": {"build": "tsc", "lint": "eslint ."}})");
}

TEST(InitTest, TurboV1PipelineWithCommentsAndLegacyEnvSpelling) {
  testing::TempTree t;
  WriteNpmMonorepo(t);
  t.Write("turbo.json", R"({
  // turbo.json may carry comments
  "$schema": "https://turbo.build/schema.json",
  "globalDependencies": [".env", "$CI"],
  "pipeline": {
    "build": {"dependsOn": ["^build", "$NODE_ENV"], "outputs": ["dist/**"]},
    "test": {"dependsOn": ["build"], "outputs": [], "inputs": ["src/**", "../../shared/**"]},
    "dev": {"cache": false, "persistent": true},
    "a#build": {"dependsOn": ["^build", "//#format"], "outputs": ["out/**"]},
    "//#format": {}
  }
})");
  auto r = InitWorkspace(t.root(), {});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->detected, "turbo.json (v1 \"pipeline\")");
  EXPECT_TRUE(AnyNoteHas(*r, "\"../../shared/**\" points outside the package"));
  EXPECT_TRUE(AnyNoteHas(*r, "//#format: root tasks are not carried over"));
  EXPECT_TRUE(AnyNoteHas(*r, "dev is persistent"));
  EXPECT_EQ(**ReadFileIfExists(t.root() + "/cellar.yml"), r->text);
  Loaded l = Load(t.root());
  EXPECT_EQ(l.config.global_dependencies, Strings{".env"});
  EXPECT_EQ(l.config.global_env, Strings{"CI"});
  EXPECT_EQ(l.config.pipeline.at("build").env_keys, Strings{"NODE_ENV"});
  EXPECT_EQ(l.config.pipeline.at("test").inputs, Strings{"src/**"});
  EXPECT_FALSE(l.config.pipeline.at("dev").cache);
  EXPECT_EQ(l.config.pipeline.at("a#build").depends_on, Strings{"^build"});
  // turbo's graph: a#build after b#build, each package's script run by npm.
  EXPECT_EQ(Edges(l, "build"), (Strings{"b#build <- [npm run build]", "a#build <- b#build [npm run build]"}));
  EXPECT_EQ(Edges(l, "test"),
            (Strings{"b#build <- [npm run build]", "a#build <- b#build [npm run build]", "a#test <- a#build [npm run test]"}));
}

TEST(InitTest, TurboV2TasksWithDefaultInputsAndPnpm) {
  testing::TempTree t;
  t.Write("package.json", R"({"name": "acme", "private": true})");
  t.Write("pnpm-workspace.yaml", "packages:\n  - apps/*\n  - packages/*\n");
  t.Write("pnpm-lock.yaml", "lockfileVersion: '9.0'\n");
  t.Write("apps/web/package.json",
          R"({"name": "web", "scripts": {"build": "next build", "lint": "eslint"}, "dependencies": {"@acme/ui": "workspace:*"}})");
  t.Write("packages/ui/package.json", R"({"name": "@acme/ui", "scripts": {"build": "tsup"}, "devDependencies": {"@acme/config": "workspace:*"}})");
  t.Write("packages/config/package.json", R"({"name": "@acme/config"})");
  t.Write("turbo.json", R"({
  "$schema": "https://turbo.build/schema.json",
  "globalEnv": ["NODE_ENV"],
  "tasks": {
    "build": {"dependsOn": ["^build"], "inputs": ["$TURBO_DEFAULT$", ".env*"],
              "outputs": [".next/**", "!.next/cache/**", "dist/**"], "env": ["API_URL"]},
    "lint": {"dependsOn": ["^lint"]},
    "check-types": {"dependsOn": ["^check-types"]}
  }
})");
  // A package turbo.json extends the root's: lists replace, unless they say $TURBO_EXTENDS$.
  t.Write("apps/web/turbo.json", R"({"extends": ["//"],
    "tasks": {"build": {"outputs": ["$TURBO_EXTENDS$", "out/**"], "env": ["WEB_ONLY"]}}})");
  auto r = InitWorkspace(t.root(), {});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->detected, "turbo.json (v2 \"tasks\")");
  EXPECT_NE(r->text.find("pnpm run build"), std::string::npos) << r->text;
  Loaded l = Load(t.root());
  EXPECT_TRUE(l.config.pipeline.at("build").inputs.empty());  // $TURBO_DEFAULT$: every file of the package
  EXPECT_EQ(l.config.pipeline.at("build").outputs, (Strings{".next/**", "!.next/cache/**", "dist/**"}));
  EXPECT_EQ(l.config.pipeline.at("build").env_keys, Strings{"API_URL"});
  EXPECT_EQ(l.config.global_env, Strings{"NODE_ENV"});
  const TaskConfig& web = l.config.pipeline.at("web#build");
  EXPECT_EQ(web.outputs, (Strings{".next/**", "!.next/cache/**", "dist/**", "out/**"}));
  EXPECT_EQ(web.env_keys, Strings{"WEB_ONLY"});
  EXPECT_EQ(web.depends_on, Strings{"^build"});  // inherited from the root
  EXPECT_EQ(Edges(l, "build"), (Strings{"@acme/ui#build <- [pnpm run build]", "web#build <- @acme/ui#build [pnpm run build]"}));
  EXPECT_EQ(Edges(l, "lint"), (Strings{"web#lint <- [pnpm run lint]"}));
  EXPECT_TRUE(Edges(l, "check-types").empty());  // no package has the script
}

TEST(InitTest, WorkspacesWithoutTurboGetAPipelineFromTheirScripts) {
  testing::TempTree t;
  WriteNpmMonorepo(t);
  auto r = InitWorkspace(t.root(), {});
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->detected, "package.json workspaces (npm)");
  EXPECT_TRUE(AnyNoteHas(*r, "\"dev\" looks long-running"));
  Loaded l = Load(t.root());
  EXPECT_EQ(l.config.pipeline.size(), 3u);  // build, lint, test
  EXPECT_EQ(Edges(l, "test"), (Strings{"b#build <- [npm run build]", "a#test <- b#build [npm run test]"}));
}

TEST(InitTest, RootLanguagesRunAtTheRoot) {
  struct Case {
    const char* file;
    const char* text;
    Strings build_edges;
    bool has_test;
  };
  const Case cases[] = {
      {"go.mod", "module example.com/x\n", {"//#build <- [go build ./...]"}, true},
      {"Cargo.toml", "[package]\nname = \"x\"\n", {"//#build <- [cargo build]"}, true},
      {"requirements.txt", "requests\n", {"//#build <- [python3 -m compileall -q .]"}, false},
      {"requirements.txt", "pytest==8\n", {"//#build <- [python3 -m compileall -q .]"}, true},
  };
  for (const Case& c : cases) {
    testing::TempTree t;
    t.Write(c.file, c.text);
    t.Write("apps/tool/main.go", "package main\n");  // would be a package under the default globs
    auto r = InitWorkspace(t.root(), {});
    ASSERT_TRUE(r.ok()) << c.file << ": " << r.error().ToString();
    EXPECT_EQ(r->detected, c.file);
    Loaded l = Load(t.root());
    EXPECT_EQ(Edges(l, "build"), c.build_edges) << c.file;
    EXPECT_EQ(l.config.pipeline.count("test") > 0, c.has_test) << c.file << c.text;
  }
}

TEST(InitTest, RefusesToOverwriteUnlessForced) {
  testing::TempTree t;
  t.Write("go.mod", "module x\n");
  ASSERT_TRUE(InitWorkspace(t.root(), {}).ok());
  auto again = InitWorkspace(t.root(), {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);
  EXPECT_TRUE(InitWorkspace(t.root(), {.force = true}).ok());

  testing::TempTree v;
  v.Write("go.mod", "module x\n");
  v.Write("velocity.yml", "version: 1\n");
  auto velocity = InitWorkspace(v.root(), {});
  ASSERT_FALSE(velocity.ok());
  EXPECT_NE(velocity.error().message().find("velocity.yml exists"), std::string::npos);
}

TEST(InitTest, DryRunWritesNothingAndEmptyRepositoriesAreNotFound) {
  testing::TempTree t;
  t.Write("go.mod", "module x\n");
  auto r = InitWorkspace(t.root(), {.write = false});
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->text.find("go build ./..."), std::string::npos);
  EXPECT_FALSE(ReadFileIfExists(t.root() + "/cellar.yml")->has_value());

  testing::TempTree empty;
  auto none = InitWorkspace(empty.root(), {});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), Code::kNotFound);
}

TEST(InitTest, BrokenInputsAreErrorsNamingTheFile) {
  testing::TempTree t;
  t.Write("turbo.json", "{\"pipeline\": ");
  auto r = InitWorkspace(t.root(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("turbo.json: not a valid JSON object"), std::string::npos);

  testing::TempTree cycle;
  WriteNpmMonorepo(cycle);
  cycle.Write("turbo.json", R"({"tasks": {"build": {"dependsOn": ["test"]}, "test": {"dependsOn": ["build"]}}})");
  auto refused = InitWorkspace(cycle.root(), {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("would not run"), std::string::npos);
  EXPECT_NE(refused.error().message().find("cycle"), std::string::npos) << refused.error().message();
  EXPECT_FALSE(ReadFileIfExists(cycle.root() + "/cellar.yml")->has_value());
}

TEST(InitTest, RenderedValuesRoundTripThroughTheParser) {
  Detected d;
  d.detected = "a test";
  TaskConfig t;
  t.key = "@scope/web#build";
  t.command = "echo \"${HOME}\" 'x' \\ $PATH\ttab";
  t.outputs = {"dist/**", "!dist/cache/**"};
  d.config.pipeline[t.key] = t;
  TaskConfig plain;
  plain.key = "build";
  d.config.pipeline["build"] = plain;
  auto config = ParseConfig(RenderConfig(d), "cellar.yml", FixedEnv({{"HOME", "/wrong"}}));
  ASSERT_TRUE(config.ok()) << config.error().ToString() << "\n" << RenderConfig(d);
  EXPECT_EQ(config->pipeline.at("@scope/web#build").command, t.command);
  EXPECT_EQ(config->pipeline.at("@scope/web#build").outputs, t.outputs);
  EXPECT_FALSE(config->pipeline.at("build").command.has_value());
}

}  // namespace
}  // namespace cellar::tasks
