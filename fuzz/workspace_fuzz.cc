// Workspace files from the repository being built: package.json
// (tasks::ParsePackageJson) and, through tasks::LoadWorkspace on a small
// fixed tree, pnpm-workspace.yaml and the root package.json `workspaces`.
// Any text must give a workspace or an error naming the file; accepted
// workspaces keep what the task graph relies on (unique sorted names,
// package dirs inside the root, dependencies naming workspace packages).
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz/fuzz_util.h"
#include "tasks/workspace/package_json.h"
#include "tasks/workspace/workspace.h"

using namespace cellar;
namespace fs = std::filesystem;

namespace {

void WriteFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  FUZZ_CHECK(out.good());
}

// <tmp>/ with packages/a and packages/b (b depends on a) and apps/web.
const std::string& Root() {
  static const std::string root = [] {
    const char* tmp = getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/cellar-workspace-fuzz.XXXXXX";
    FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr);
    for (const char* dir : {"packages/a", "packages/b", "apps/web", "node_modules/x"}) {
      fs::create_directories(tmpl + "/" + dir);
    }
    WriteFile(tmpl + "/packages/a/package.json", R"({"name": "a", "scripts": {"build": "tsc"}})");
    WriteFile(tmpl + "/packages/b/package.json", R"({"name": "b", "dependencies": {"a": "workspace:*"}})");
    WriteFile(tmpl + "/apps/web/package.json", R"({"name": "web", "devDependencies": {"b": "*", "react": "18"}})");
    WriteFile(tmpl + "/node_modules/x/package.json", R"({"name": "x"})");
    static std::string to_remove = tmpl;
    atexit([] { fs::remove_all(to_remove); });
    return tmpl;
  }();
  return root;
}

void CheckWorkspace(const tasks::Workspace& ws) {
  FUZZ_CHECK(!ws.packages.empty());
  for (size_t i = 0; i < ws.packages.size(); ++i) {
    const tasks::Package& p = ws.packages[i];
    if (i > 0) FUZZ_CHECK(ws.packages[i - 1].name < p.name);
    FUZZ_CHECK(ws.Find(p.name) == &p);
    FUZZ_CHECK(!p.dir.empty() && p.dir.front() != '/' && p.dir.back() != '/');
    FUZZ_CHECK(p.dir == "." || fuzz::HasNoDotSegments(p.dir));
    FUZZ_CHECK(std::is_sorted(p.dependencies.begin(), p.dependencies.end()));
    FUZZ_CHECK(std::adjacent_find(p.dependencies.begin(), p.dependencies.end()) == p.dependencies.end());
    for (const auto& dep : p.dependencies) FUZZ_CHECK(ws.Find(dep) != nullptr);
  }
}

}  // namespace

// Mode '0': package.json text alone. '1': pnpm-workspace.yaml of the fixed
// tree. '2': the fixed tree's root package.json.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in = fuzz::AsView(data + 1, size - 1);
  const unsigned mode = fuzz::Mode(data[0], 3);
  if (mode == 0) {
    auto json = tasks::ParsePackageJson(std::string(in), "package.json");
    if (!json.ok()) FUZZ_CHECK(json.error().message().find("package.json") != std::string::npos);
    return 0;
  }
  const std::string& root = Root();
  const std::string pnpm = root + "/pnpm-workspace.yaml";
  const std::string package_json = root + "/package.json";
  if (mode == 1) {
    WriteFile(pnpm, in);
    WriteFile(package_json, R"({"name": "root", "packageManager": "pnpm@9.1.0"})");
  } else {
    std::remove(pnpm.c_str());
    WriteFile(package_json, in);
  }
  auto ws = tasks::LoadWorkspace(root, std::nullopt);
  if (ws.ok()) CheckWorkspace(*ws);
  return 0;
}
