#include "protocols/npm/npm_path.h"

#include <gtest/gtest.h>

namespace cellar::npm {
namespace {

TEST(NpmPathTest, PlainAndScopedPackuments) {
  auto p = ParseNpmPath("lodash");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, NpmRequestKind::kPackument);
  EXPECT_EQ(p->name, "lodash");
  for (const char* spelling : {"@babel%2fcore", "@babel%2Fcore", "@babel/core", "%40babel%2fcore"}) {
    auto s = ParseNpmPath(spelling);
    ASSERT_TRUE(s) << spelling;
    EXPECT_EQ(s->kind, NpmRequestKind::kPackument) << spelling;
    EXPECT_EQ(s->name, "@babel/core") << spelling;
  }
  EXPECT_EQ(ParseNpmPath("JSONStream")->name, "JSONStream");  // legacy uppercase names exist
}

TEST(NpmPathTest, VersionsAndTarballs) {
  auto v = ParseNpmPath("@babel/core/7.24.0");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->kind, NpmRequestKind::kVersion);
  EXPECT_EQ(v->name, "@babel/core");
  EXPECT_EQ(v->version, "7.24.0");
  auto tag = ParseNpmPath("@babel%2fcore/latest");
  ASSERT_TRUE(tag);
  EXPECT_EQ(tag->version, "latest");

  for (const char* spelling : {"@acme/widget/-/widget-2.0.0.tgz", "@acme%2fwidget/-/widget-2.0.0.tgz",
                               "@acme%2Fwidget/-/widget-2.0.0.tgz"}) {
    auto t = ParseNpmPath(spelling);
    ASSERT_TRUE(t) << spelling;
    EXPECT_EQ(t->kind, NpmRequestKind::kTarball);
    EXPECT_EQ(t->name, "@acme/widget");
    EXPECT_EQ(t->file, "widget-2.0.0.tgz");
  }
  auto plain = ParseNpmPath("lodash/-/lodash-4.17.21.tgz");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->file, "lodash-4.17.21.tgz");
}

TEST(NpmPathTest, Specials) {
  auto ping = ParseNpmPath("-/ping");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->kind, NpmRequestKind::kSpecial);
  EXPECT_EQ(ping->special, "ping");
  EXPECT_EQ(ParseNpmPath("-/npm/v1/security/advisories/bulk")->special, "npm/v1/security/advisories/bulk");
  // Scoped names in attestation paths stay encoded, as npm sends them.
  EXPECT_EQ(ParseNpmPath("-/npm/v1/attestations/@s%2fn@1.0.0")->special, "npm/v1/attestations/@s%2fn@1.0.0");
}

TEST(NpmPathTest, RefusesMalformed) {
  const std::string overlong(215, 'a');
  for (std::string bad : {std::string(""), std::string(".."), std::string("../etc/passwd"), std::string("a/../b"),
                          std::string("lodash%2f..%2fx"), std::string("a%2fb"), std::string("@scope"),
                          std::string("@scope/"), std::string("@/name"), std::string(".hidden"),
                          std::string("_private"), std::string("a b"), std::string("a%20b"),
                          std::string("name/-/../x.tgz"), std::string("name/-/x.zip"),
                          std::string("name/-/sub/x.tgz"), std::string("name//x"), overlong,
                          std::string("name/1.0.0/extra"), std::string("na<me"), std::string("-/a/../../b"),
                          std::string("@scope%2fname%2fextra"), std::string("%2d/whoami"), std::string("-"),
                          std::string("-/npm/v1/attestations/%2e%2e/%2E%2E/x"), std::string("-/a%5c..%5cb")}) {
    EXPECT_FALSE(ParseNpmPath(bad)) << bad;
  }
}

TEST(NpmPathTest, EscapedName) {
  EXPECT_EQ(EscapedName("@scope/name"), "@scope%2fname");
  EXPECT_EQ(EscapedName("lodash"), "lodash");
}

}  // namespace
}  // namespace cellar::npm
