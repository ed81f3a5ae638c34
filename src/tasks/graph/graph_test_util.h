// Test-only: workspaces and configs for the graph tests, from readable text.
#pragma once

#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "tasks/config/config.h"
#include "tasks/workspace/workspace.h"

namespace cellar::tasks {

// One package per line: "name[script,script]: dep dep". Each package lives
// in packages/<name>; the brackets list its package.json scripts.
inline Workspace MakeWorkspace(const std::string& spec, const std::string& package_manager = "npm") {
  Workspace ws;
  ws.root = "/repo";
  ws.source = "package.json";
  ws.package_manager = package_manager;
  std::istringstream lines(spec);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" ") == std::string::npos) continue;
    Package p;
    std::string head = line.substr(0, line.find(':'));
    std::string deps = line.find(':') == std::string::npos ? "" : line.substr(line.find(':') + 1);
    head = head.substr(head.find_first_not_of(' '));
    if (size_t open = head.find('['); open != std::string::npos) {
      std::istringstream scripts(head.substr(open + 1, head.find(']') - open - 1));
      std::string s;
      while (std::getline(scripts, s, ',')) p.scripts[s] = "script " + s;
      head.resize(open);
    }
    p.name = head;
    p.dir = "packages/" + head;
    p.has_package_json = true;
    std::istringstream words(deps);
    std::string d;
    while (words >> d) p.dependencies.push_back(d);
    ws.packages.push_back(std::move(p));
  }
  std::sort(ws.packages.begin(), ws.packages.end(), [](const Package& a, const Package& b) { return a.name < b.name; });
  return ws;
}

inline Config MakeConfig(const std::string& yaml) {
  auto config = ParseConfig(yaml, "cellar.yml", FixedEnv({}));
  EXPECT_TRUE(config.ok()) << config.error().ToString();
  return config.ok() ? *config : Config{};
}

}  // namespace cellar::tasks
