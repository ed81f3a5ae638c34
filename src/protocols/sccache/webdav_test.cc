#include "protocols/sccache/webdav.h"

#include <gtest/gtest.h>

namespace cellar::sccache {
namespace {

TEST(WebDav, FileResource) {
  std::string xml = MultiStatusXml({"/sccache/a/b/c/abc", false, 12, 1'800'000'000'000, "application/octet-stream"});
  EXPECT_NE(xml.find("<D:href>/sccache/a/b/c/abc</D:href>"), std::string::npos);
  EXPECT_NE(xml.find("<D:resourcetype/>"), std::string::npos);
  EXPECT_NE(xml.find("<D:getcontentlength>12</D:getcontentlength>"), std::string::npos);
  EXPECT_NE(xml.find("<D:getlastmodified>Fri, 15 Jan 2027 08:00:00 GMT</D:getlastmodified>"), std::string::npos);
  EXPECT_NE(xml.find("HTTP/1.1 200 OK"), std::string::npos);
}

TEST(WebDav, CollectionResourceAndEscaping) {
  std::string xml = MultiStatusXml({"/sccache/a&b/", true, std::nullopt, 0, ""});
  EXPECT_NE(xml.find("<D:collection/>"), std::string::npos);
  EXPECT_EQ(xml.find("getcontentlength"), std::string::npos);
  EXPECT_NE(xml.find("/sccache/a&amp;b/"), std::string::npos);
}

}  // namespace
}  // namespace cellar::sccache
