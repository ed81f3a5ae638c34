#include "protocols/npm/packument.h"

#include <gtest/gtest.h>

#include <sstream>

namespace cellar::npm {
namespace {

std::string RewriteInChunks(const std::string& doc, size_t chunk) {
  TarballUrlRewriter r("https://registry.npmjs.org/", "http://cellar:8080/npm/");
  std::string out;
  for (size_t i = 0; i < doc.size(); i += chunk) r.Feed(std::string_view(doc).substr(i, chunk), out);
  r.Finish(out);
  return out;
}

const std::string kDoc =
    R"({"name":"@acme/widget","versions":{"2.0.0":{"name":"@acme/widget","version":"2.0.0",)"
    R"("readme":"see \"tarball\":\"https://registry.npmjs.org/evil\" here",)"
    R"("dist":{"integrity":"sha512-AAA=","shasum":"abc","tarball":"https://registry.npmjs.org/@acme/widget/-/widget-2.0.0.tgz"}},)"
    R"("2.1.0":{"dist": {"tarball": "https://registry.npmjs.org/@acme/widget/-/widget-2.1.0.tgz","integrity":"sha512-BBB="},)"
    R"("deps":[{"dist":{"tarball":"https://x/ignored.tgz"}}]},)"
    R"("3.0.0":{"dist":{"tarball":"https://elsewhere.example/widget-3.0.0.tgz"}}}})";

TEST(TarballUrlRewriterTest, RewritesOnlyDistTarballKeysOfTheUpstream) {
  const std::string expected =
      R"({"name":"@acme/widget","versions":{"2.0.0":{"name":"@acme/widget","version":"2.0.0",)"
      R"("readme":"see \"tarball\":\"https://registry.npmjs.org/evil\" here",)"
      R"("dist":{"integrity":"sha512-AAA=","shasum":"abc","tarball":"http://cellar:8080/npm/@acme/widget/-/widget-2.0.0.tgz"}},)"
      R"("2.1.0":{"dist": {"tarball": "http://cellar:8080/npm/@acme/widget/-/widget-2.1.0.tgz","integrity":"sha512-BBB="},)"
      R"("deps":[{"dist":{"tarball":"https://x/ignored.tgz"}}]},)"
      R"("3.0.0":{"dist":{"tarball":"https://elsewhere.example/widget-3.0.0.tgz"}}}})";
  EXPECT_EQ(RewriteInChunks(kDoc, kDoc.size()), expected);
  // Every chunking gives the same bytes (matches across chunk boundaries).
  for (size_t chunk : {1, 2, 3, 7, 13, 40, 64}) EXPECT_EQ(RewriteInChunks(kDoc, chunk), expected) << chunk;
}

TEST(DistIndexTest, ExtractsVersionsDist) {
  std::istringstream in(kDoc);
  auto index = ExtractDistIndex(in);
  ASSERT_TRUE(index.ok()) << index.error().message();
  ASSERT_EQ(index->size(), 3u);
  const DistInfo& a = index->at("widget-2.0.0.tgz");
  EXPECT_EQ(a.version, "2.0.0");
  EXPECT_EQ(a.integrity, "sha512-AAA=");
  EXPECT_EQ(a.shasum, "abc");
  EXPECT_EQ(a.url, "https://registry.npmjs.org/@acme/widget/-/widget-2.0.0.tgz");
  EXPECT_EQ(index->at("widget-2.1.0.tgz").integrity, "sha512-BBB=");
  EXPECT_EQ(index->at("widget-3.0.0.tgz").url, "https://elsewhere.example/widget-3.0.0.tgz");
  EXPECT_EQ(index->count("ignored.tgz"), 0u);  // not versions.<v>.dist

  auto round = ParseDistIndex(SerializeDistIndex(*index));
  ASSERT_EQ(round.size(), 3u);
  EXPECT_EQ(round.at("widget-2.0.0.tgz").url, a.url);
  EXPECT_EQ(round.at("widget-2.0.0.tgz").shasum, "abc");
}

// Found by fuzz/npm_packument_fuzz: a tarball URL with "\n" and "\t" in it
// was stored as several lines, one of them an entry for another version's
// file with no integrity and a URL of the document's choosing.
TEST(DistIndexTest, FieldsWithSeparatorsCannotForgeEntries) {
  std::istringstream in(
      R"({"versions":{"1.0.0":{"dist":{"integrity":"sha512-AAA=","tarball":"https://r.example/w/-/w-1.0.0.tgz"}},)"
      R"("1.0.1":{"dist":{"tarball":"https://r.example/w/-/w-1.0.1.tgz\nw-1.0.0.tgz\t1.0.0\t\t\thttp:evil\nx"}},)"
      R"("1.0.2":{"dist":{"shasum":"a\tb","tarball":"https://r.example/w/-/w-1.0.2.tgz"}}}})");
  auto index = ExtractDistIndex(in);
  ASSERT_TRUE(index.ok()) << index.error().message();
  ASSERT_EQ(index->size(), 3u);
  auto round = ParseDistIndex(SerializeDistIndex(*index));
  ASSERT_EQ(round.size(), 1u);
  EXPECT_EQ(round.at("w-1.0.0.tgz").integrity, "sha512-AAA=");
  EXPECT_EQ(round.at("w-1.0.0.tgz").url, "https://r.example/w/-/w-1.0.0.tgz");
}

TEST(DistIndexTest, RefusesInvalidJson) {
  std::istringstream in(R"({"versions":{"1.0.0":{"dist":{"tarball":"x"}})");
  EXPECT_FALSE(ExtractDistIndex(in).ok());
}

TEST(PickVersionTest, PicksOneVersionAndResolvesTags) {
  // "versions" after "time", whose members share names with versions: only
  // versions.<v> may be picked.
  const std::string doc =
      R"({"name":"w","time":{"1.0.0":"2020","2.0.0":"2021"},"versions":{"1.0.0":{"name":"w","version":"1.0.0",)"
      R"("dist":{"tarball":"t1"}},"2.0.0":{"name":"w","version":"2.0.0","dist":{"tarball":"t2"}}},)"
      R"("dist-tags":{"latest":"2.0.0","next":"3.0.0"}})";
  std::istringstream in1(doc);
  auto v1 = PickVersionDocument(in1, "1.0.0");
  ASSERT_TRUE(v1.ok()) << v1.error().message();
  EXPECT_EQ(*v1, R"({"dist":{"tarball":"t1"},"name":"w","version":"1.0.0"})");
  std::istringstream in2(doc);
  EXPECT_TRUE(PickVersionDocument(in2, "9.9.9").error().IsNotFound());
  std::istringstream in3(doc);
  EXPECT_EQ(*ResolveDistTag(in3, "latest"), "2.0.0");
  std::istringstream in4(doc);
  EXPECT_TRUE(ResolveDistTag(in4, "beta").error().IsNotFound());
  std::istringstream in5(R"({"versions":{"1.0.0":)");
  EXPECT_EQ(PickVersionDocument(in5, "1.0.0").error().code(), Code::kCorruption);
}

}  // namespace
}  // namespace cellar::npm
