#include "gitclient/local_clone.h"

#include <gtest/gtest.h>

namespace cellar::gitclient {
namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

TEST(LocalClone, ArgumentsAndDefaults) {
  auto o = ParseCloneArgs({"https://github.com/org/repo.git", "--branch", "dev", "--depth=5"},
                          Env{{"HOME", "/home/ci"}, {"CELLAR_SERVER", "http://cellar:8080/"}});
  ASSERT_TRUE(o.ok()) << o.error().message();
  EXPECT_EQ(o->directory, "repo");
  EXPECT_EQ(o->branch, "dev");
  EXPECT_EQ(o->depth, 5);
  EXPECT_EQ(o->server, "http://cellar:8080");
  EXPECT_EQ(o->cache_dir, "/home/ci/.cache/cellar/git");
  auto x = ParseCloneArgs({"https://h/r", "dir", "--server", "http://s", "--cache-dir", "/c"},
                          Env{{"XDG_CACHE_HOME", "/x"}});
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->directory, "dir");
  EXPECT_EQ(x->cache_dir, "/c");
  auto xdg = ParseCloneArgs({"https://h/r"}, Env{{"XDG_CACHE_HOME", "/x"}, {"HOME", "/h"}});
  EXPECT_EQ(xdg->cache_dir, "/x/cellar/git");
  EXPECT_TRUE(xdg->server.empty());
}

TEST(LocalClone, BadArguments) {
  Env env{{"HOME", "/h"}};
  EXPECT_FALSE(ParseCloneArgs({}, env).ok());
  EXPECT_FALSE(ParseCloneArgs({"https://h/r", "--depth", "0"}, env).ok());
  EXPECT_FALSE(ParseCloneArgs({"https://h/r", "--bogus"}, env).ok());
  EXPECT_FALSE(ParseCloneArgs({"git@github.com:org/repo.git"}, env).ok());
  EXPECT_FALSE(ParseCloneArgs({"https://h/r", "--server", "cellar:8080"}, env).ok());
}

TEST(LocalClone, MirrorPathsStayInsideTheCache) {
  EXPECT_EQ(*LocalMirrorPath("/c", "https://GitHub.com/org/repo.git/"), "/c/github.com/org/repo.git");
  EXPECT_EQ(*LocalMirrorPath("/c", "http://user@127.0.0.1:8080/a/b"), "/c/127.0.0.1:8080/a/b.git");
  EXPECT_FALSE(LocalMirrorPath("/c", "https://h/../etc").ok());
  EXPECT_FALSE(LocalMirrorPath("/c", "https://h/a//b").ok());
  EXPECT_FALSE(LocalMirrorPath("/c", "https://h/a/%2e%2e").ok());
  EXPECT_FALSE(LocalMirrorPath("/c", "https://h").ok());
}

TEST(LocalClone, UpdatesComeFromTheServerWhenThereIsOne) {
  CloneOptions o;
  o.url = "https://github.com/org/repo";
  EXPECT_EQ(*UpdateUrl(o), "https://github.com/org/repo");
  o.server = "http://cellar:8080";
  EXPECT_EQ(*UpdateUrl(o), "http://cellar:8080/git/github.com/org/repo.git");
}

}  // namespace
}  // namespace cellar::gitclient
