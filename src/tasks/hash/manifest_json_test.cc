#include "tasks/hash/manifest_json.h"

#include <gtest/gtest.h>

namespace cellar::taskhash {
namespace {

TaskHash Sample() {
  TaskHash hash;
  hash.hex = "00112233445566778899aabbccddeeff";
  TaskManifest& m = hash.manifest;
  m.task_id = "web#build";
  m.package_dir = "apps/web";
  m.command = "next build";
  m.input_source = InputSource::kGit;
  m.outputs = {".next/**", "!.next/cache/**"};
  m.env = {{"API_TOKEN", "super-secret-value"}, {"UNSET", std::nullopt}};
  m.dependencies = {{"ui#build", "ffff"}};
  FileDigest regular;
  regular.id.fill(0xab);
  FileDigest link;
  link.kind = FileKind::kSymlink;
  link.symlink_target = "../shared/x";
  m.files = {{"src/page.tsx", regular}, {"link", link}};
  m.global_hash = "global";
  return hash;
}

TEST(ManifestJsonTest, ListsEveryInput) {
  nlohmann::json j = TaskHashJson(Sample());
  EXPECT_EQ(j["hash"], "00112233445566778899aabbccddeeff");
  EXPECT_EQ(j["version"], kTaskHashVersion);
  EXPECT_EQ(j["task"], "web#build");
  EXPECT_EQ(j["package"], "apps/web");
  EXPECT_EQ(j["command"], "next build");
  EXPECT_EQ(j["inputSource"], "git");
  EXPECT_EQ(j["outputs"], nlohmann::json({".next/**", "!.next/cache/**"}));
  EXPECT_EQ(j["dependencies"]["ui#build"], "ffff");
  std::string abab;
  for (int i = 0; i < 20; ++i) abab += "ab";  // a 20-byte git blob id
  EXPECT_EQ(j["files"]["src/page.tsx"], abab);
  EXPECT_EQ(j["files"]["link"], "symlink -> ../shared/x");
  EXPECT_EQ(j["globalHash"], "global");
}

TEST(ManifestJsonTest, EnvValuesAreDigestsNeverPlainText) {
  nlohmann::json j = TaskHashJson(Sample());
  std::string text = j.dump();
  EXPECT_EQ(text.find("super-secret-value"), std::string::npos);
  ASSERT_TRUE(j["env"]["API_TOKEN"].is_string());
  EXPECT_EQ(j["env"]["API_TOKEN"].get<std::string>().rfind("blake3:", 0), 0u);
  EXPECT_TRUE(j["env"]["UNSET"].is_null());
  TaskHash other = Sample();
  other.manifest.env[0].value = "another";
  EXPECT_NE(TaskHashJson(other)["env"]["API_TOKEN"], j["env"]["API_TOKEN"]);
}

TEST(ManifestJsonTest, EqualManifestsPrintEqualText) {
  TaskHash a = Sample();
  TaskHash b = Sample();
  std::reverse(b.manifest.files.begin(), b.manifest.files.end());
  EXPECT_EQ(TaskHashJson(a).dump(), TaskHashJson(b).dump());
}

TEST(ManifestJsonTest, InvalidUtf8PathsPrintWithoutThrowing) {
  TaskHash hash = Sample();
  hash.manifest.files.push_back({"bad\xff-name", FileDigest{}});
  hash.manifest.command = "echo \xc3";
  std::string text = JsonText(TaskHashJson(hash), 2);
  EXPECT_NE(text.find("bad\xef\xbf\xbd-name"), std::string::npos);  // U+FFFD
  EXPECT_NE(text.find("\n  \"command\""), std::string::npos);     // indented
}

TEST(ManifestJsonTest, DescribesEachKind) {
  FileDigest d;
  EXPECT_EQ(DescribeFile(d), std::string(40, '0'));
  d.kind = FileKind::kExecutable;
  EXPECT_EQ(DescribeFile(d), std::string(40, '0') + " executable");
  d.kind = FileKind::kDirectory;
  EXPECT_EQ(DescribeFile(d), "directory");
}

TEST(ManifestJsonTest, GlobalManifestHidesDefinitionsTextButNotFiles) {
  GlobalHash g;
  g.hex = "abc";
  g.manifest.task_definitions = "pipeline: {build: {command: 'make TOKEN=x'}}";
  FileDigest d;
  g.manifest.files = {{"package-lock.json", d}};
  nlohmann::json j = GlobalHashJson(g);
  EXPECT_EQ(j["hash"], "abc");
  EXPECT_TRUE(j["files"].contains("package-lock.json"));
  EXPECT_EQ(j.dump().find("TOKEN"), std::string::npos);
}

}  // namespace
}  // namespace cellar::taskhash
