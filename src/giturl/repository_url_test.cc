#include "giturl/repository_url.h"

#include <gtest/gtest.h>

namespace cellar::giturl {
namespace {

TEST(ParseHostAndPath, NamesHostPathAndMirrorKey) {
  auto loc = ParseHostAndPath("GitHub.com/Org/Repo.git");
  ASSERT_TRUE(loc.ok()) << loc.error().ToString();
  EXPECT_EQ(loc->host, "github.com");
  EXPECT_EQ(loc->path, "Org/Repo.git");
  EXPECT_EQ(loc->name, "Org/Repo");
  EXPECT_EQ(loc->repo_key, "github.com/Org/Repo");
  EXPECT_FALSE(loc->had_credentials);
  EXPECT_EQ(ParseHostAndPath("127.0.0.1:8080/a/b")->repo_key, "127.0.0.1:8080/a/b");
}

TEST(ParseHostAndPath, RefusesPathsThatCouldLeaveTheirDirectory) {
  for (const char* bad : {"h/../x", "h/./x", "h/a//b", "h/", "/a", "h", "h/.git", "h/a/.git", "h/a%2e", "h_x/a",
                          "h/a b", "h/a\\b", "h/a?b", "h/a#b", "../a/b", "./a/b", "h../a", ".h/a", "-h/a",
                          "h:/a", "h:80x/a", "h:123456/a", "h@x/a"}) {
    EXPECT_FALSE(ParseHostAndPath(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseHostAndPath("h/" + std::string(513, 'a')).ok());
  EXPECT_FALSE(ParseHostAndPath(std::string(254, 'h') + "/a").ok());
  std::string deep = "h";
  for (int i = 0; i < 32; ++i) deep += "/a";
  EXPECT_TRUE(ParseHostAndPath(deep).ok());  // GitLab subgroups nest 20 deep
  EXPECT_FALSE(ParseHostAndPath(deep + "/a").ok());
}

TEST(ParseRepositoryUrl, AgreesWithTheProxyPath) {
  auto loc = ParseRepositoryUrl("https://GitHub.com/org/repo.git/");
  ASSERT_TRUE(loc.ok()) << loc.error().ToString();
  EXPECT_EQ(loc->repo_key, "github.com/org/repo");
  EXPECT_EQ(loc->path, "org/repo.git");
  EXPECT_EQ(ParseRepositoryUrl("http://127.0.0.1:8080/a/b")->repo_key, ParseHostAndPath("127.0.0.1:8080/a/b")->repo_key);
}

TEST(ParseRepositoryUrl, DropsCredentialsAndNeverQuotesThem) {
  auto loc = ParseRepositoryUrl("https://user:p@ss@github.com/org/repo");
  ASSERT_TRUE(loc.ok()) << loc.error().ToString();
  EXPECT_TRUE(loc->had_credentials);
  EXPECT_EQ(loc->host, "github.com");
  for (const char* url : {"https://user:secret@github.com/org/../x", "https://user:sec/ret@github.com/org/x",
                          "ftp://user:secret@github.com/org/x"}) {
    auto bad = ParseRepositoryUrl(url);
    ASSERT_FALSE(bad.ok()) << url;
    EXPECT_EQ(bad.error().message().find("ret"), std::string::npos) << bad.error().message();
  }
  EXPECT_EQ(WithoutCredentials("https://u:p@ss@h/a"), "https://h/a");
  EXPECT_EQ(WithoutCredentials("https://h/a"), "https://h/a");
  EXPECT_EQ(WithoutCredentials("git@h:a/b"), "git@h:a/b");  // not a URL: nothing to strip
}

TEST(ParseRepositoryUrl, RefusesOtherSchemesAndBarePaths) {
  for (const char* bad : {"git@github.com:org/repo.git", "ssh://github.com/org/repo", "file:///srv/repo",
                          "https://github.com", "https://github.com/", "https:///org/repo", "github.com/org/repo"}) {
    EXPECT_FALSE(ParseRepositoryUrl(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace cellar::giturl
