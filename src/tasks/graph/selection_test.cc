#include <gtest/gtest.h>

#include "tasks/graph/graph_test_util.h"
#include "tasks/graph/task_graph.h"

namespace cellar::tasks {
namespace {

using Strings = std::vector<std::string>;

// app -> ui -> core, api -> core, tool (alone).
const Workspace& Ws() {
  static const Workspace ws = MakeWorkspace("app: ui\nui: core\ncore:\napi: core\ntool:");
  return ws;
}

Result<Strings> Select(Strings filters, std::optional<std::string> package = std::nullopt) {
  auto selected = SelectPackages(Ws(), TaskSelection{std::move(filters), std::move(package)});
  if (!selected.ok()) return selected.error();
  Strings out;
  for (const Package* p : *selected) out.push_back(p->name);
  return out;
}

TEST(SelectionTest, NothingSelectsEverything) {
  EXPECT_EQ(*Select({}), (Strings{"api", "app", "core", "tool", "ui"}));
}

TEST(SelectionTest, NamesDirectoriesAndGlobs) {
  EXPECT_EQ(*Select({"app"}), (Strings{"app"}));
  EXPECT_EQ(*Select({"./packages/ui/"}), (Strings{"ui"}));
  EXPECT_EQ(*Select({"a*"}), (Strings{"api", "app"}));
  EXPECT_EQ(*Select({"{packages/t*}"}), (Strings{"tool"}));
  EXPECT_EQ(*Select({"app", "tool"}), (Strings{"app", "tool"}));
}

TEST(SelectionTest, DependencyAndDependentExpansion) {
  EXPECT_EQ(*Select({"app..."}), (Strings{"app", "core", "ui"}));
  EXPECT_EQ(*Select({"app^..."}), (Strings{"core", "ui"}));
  EXPECT_EQ(*Select({"...core"}), (Strings{"api", "app", "core", "ui"}));
  EXPECT_EQ(*Select({"...^ui"}), (Strings{"app"}));
}

TEST(SelectionTest, ExclusionsApplyLast) {
  EXPECT_EQ(*Select({"!tool"}), (Strings{"api", "app", "core", "ui"}));
  EXPECT_EQ(*Select({"...core", "!app"}), (Strings{"api", "core", "ui"}));
}

TEST(SelectionTest, PackageFlagSelectsOneByNameOrPath) {
  EXPECT_EQ(*Select({}, "packages/api"), (Strings{"api"}));
  EXPECT_EQ(*Select({"tool"}, "ui"), (Strings{"tool", "ui"}));
  auto unknown = Select({}, "nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("package \"nope\" not found (packages: api (packages/api)"),
            std::string::npos) << unknown.error().message();
}

TEST(SelectionTest, AFilterMatchingNothingIsAnError) {
  auto none = Select({"web*"});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("--filter \"web*\" matches no package"), std::string::npos);
  EXPECT_FALSE(Select({"!nothing"}).ok());
}

}  // namespace
}  // namespace cellar::tasks
