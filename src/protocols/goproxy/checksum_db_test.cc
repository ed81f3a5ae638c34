#include "protocols/goproxy/checksum_db.h"

#include <gtest/gtest.h>

namespace cellar::goproxy {
namespace {

TEST(ParseSumdbListTest, NamesAndUrls) {
  auto dbs = ParseSumdbList("sum.golang.org, sum.example.test=http://127.0.0.1:9000/");
  ASSERT_TRUE(dbs.ok());
  ASSERT_EQ(dbs->size(), 2u);
  EXPECT_EQ((*dbs)[0].name, "sum.golang.org");
  EXPECT_EQ((*dbs)[0].base_url, "https://sum.golang.org");
  EXPECT_EQ((*dbs)[1].name, "sum.example.test");
  EXPECT_EQ((*dbs)[1].base_url, "http://127.0.0.1:9000");
  EXPECT_TRUE(ParseSumdbList("")->empty());
  EXPECT_FALSE(ParseSumdbList("Bad_Name").ok());
  EXPECT_FALSE(ParseSumdbList("x.test=ftp://a").ok());
}

// Found by fuzz/sumdb_fuzz: "http://" lost its slashes to the trailing-slash
// trim and became the base URL "http:".
TEST(ParseSumdbListTest, UrlWithoutHostIsRefused) {
  EXPECT_FALSE(ParseSumdbList("sum.example=http://").ok());
  EXPECT_FALSE(ParseSumdbList("sum.example=https:///").ok());
  auto dbs = ParseSumdbList("sum.example=https://h//");
  ASSERT_TRUE(dbs.ok());
  EXPECT_EQ((*dbs)[0].base_url, "https://h");
}

TEST(ParseSumdbPathTest, Endpoints) {
  auto s = ParseSumdbPath("sum.golang.org/supported");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->file, SumdbFile::kSupported);
  EXPECT_EQ(s->name, "sum.golang.org");
  EXPECT_EQ(ParseSumdbPath("sum.golang.org/latest")->file, SumdbFile::kLatest);

  auto l = ParseSumdbPath("sum.golang.org/lookup/github.com/!azure/sdk@v1.2.3");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->file, SumdbFile::kLookup);
  EXPECT_EQ(l->module, "github.com/!azure/sdk");
  EXPECT_EQ(l->version, "v1.2.3");
  EXPECT_EQ(l->tail, "lookup/github.com/!azure/sdk@v1.2.3");

  auto full = ParseSumdbPath("sum.golang.org/tile/8/0/x001/x234/067");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->file, SumdbFile::kTile);
  EXPECT_TRUE(full->full_tile);
  EXPECT_EQ(full->tile_height, 8u);
  EXPECT_FALSE(full->data_tile);
  auto data = ParseSumdbPath("sum.golang.org/tile/8/data/000");
  ASSERT_TRUE(data);
  EXPECT_TRUE(data->full_tile);
  EXPECT_TRUE(data->data_tile);
  auto partial = ParseSumdbPath("sum.golang.org/tile/8/1/x001/234.p/17");
  EXPECT_FALSE(ParseSumdbPath("sum.golang.org/tile/8/0/005.p/9")->full_tile);
  ASSERT_TRUE(partial);
  EXPECT_FALSE(partial->full_tile);
}

TEST(ParseSumdbPathTest, RefusesMalformed) {
  for (const char* bad : {"", "sum.golang.org", "sum.golang.org/", "sum.golang.org/other",
                          "../x/latest", "Sum.Golang.org/latest", "sum.golang.org/lookup/github.com/x",
                          "sum.golang.org/lookup/github.com/X@v1.0.0", "sum.golang.org/lookup/../../x@v1",
                          "sum.golang.org/tile/8/0/12", "sum.golang.org/tile/8/0/x12/345",
                          "sum.golang.org/tile/8/0/001/002", "sum.golang.org/tile/8/zz/001",
                          "sum.golang.org/tile/8/0/001.p/", "sum.golang.org/tile/8/0/001.p/x"}) {
    EXPECT_FALSE(ParseSumdbPath(bad)) << bad;
  }
}

TEST(ParseLookupRecordTest, ExtractsBothLines) {
  const char* body =
      "7093412\n"
      "golang.org/x/text v0.3.0 h1:g61tztE5qeGQ89tm6NTjjM9VPIm088od1l6aSorWRWg=\n"
      "golang.org/x/text v0.3.0/go.mod h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=\n"
      "\n"
      "go.sum database tree\n7283095\nabc=\n\n\xe2\x80\x94 sum.golang.org Az3grk...\n";
  auto sums = ParseLookupRecord(body, "golang.org/x/text", "v0.3.0");
  ASSERT_TRUE(sums.ok()) << sums.error().message();
  EXPECT_EQ(sums->zip_h1, "h1:g61tztE5qeGQ89tm6NTjjM9VPIm088od1l6aSorWRWg=");
  EXPECT_EQ(sums->mod_h1, "h1:NqM8EUOU14njkJ3fqMW+pc6Ldnwhi/IjpwHt7yyuwOQ=");
  // Another module's record is not accepted for this one.
  EXPECT_FALSE(ParseLookupRecord(body, "golang.org/x/tex", "v0.3.0").ok());
  EXPECT_FALSE(ParseLookupRecord(body, "golang.org/x/text", "v0.3.1").ok());
  EXPECT_FALSE(ParseLookupRecord("not a record", "golang.org/x/text", "v0.3.0").ok());
}

}  // namespace
}  // namespace cellar::goproxy
