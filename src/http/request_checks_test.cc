#include "http/request_checks.h"

#include <gtest/gtest.h>

#include "base/strings.h"

namespace cellar::http {
namespace {

namespace bhttp = boost::beast::http;

// A header from "Name: value" lines separated by '|'.
bhttp::request_header<> Header(std::string_view fields, unsigned version = 11) {
  bhttp::request_header<> h;
  h.method(bhttp::verb::put);
  h.target("/x");
  h.version(version);
  for (std::string_view line : SplitView(fields, '|')) {
    if (line.empty()) continue;
    size_t colon = line.find(':');
    h.insert(line.substr(0, colon), TrimWhitespace(line.substr(colon + 1)));
  }
  return h;
}

unsigned StatusOf(std::string_view fields, unsigned version = 11) {
  auto r = CheckRequestHeader(Header(fields, version));
  return r ? r->status : 0;
}

TEST(RequestChecksTest, AcceptsPlainAndChunkedRequests) {
  EXPECT_EQ(StatusOf("Host: a|Content-Length: 5"), 0u);
  EXPECT_EQ(StatusOf("Host: a|Transfer-Encoding: chunked"), 0u);
  EXPECT_EQ(StatusOf("Host: a|Transfer-Encoding: Chunked"), 0u);
  EXPECT_EQ(StatusOf("Host: a|Transfer-Encoding:  chunked ,"), 0u);  // empty list element
  EXPECT_EQ(StatusOf("", 10), 0u);  // HTTP/1.0 needs no Host
}

// Issue 13, defect 10: these were accepted, and the body ran as a second
// request.
TEST(RequestChecksTest, TransferCodingsOtherThanChunkedAre400) {
  EXPECT_EQ(StatusOf("Host: a|Transfer-Encoding: xchunked"), 400u);
  EXPECT_EQ(StatusOf("Host: a|Transfer-Encoding: gzip"), 400u);
  EXPECT_EQ(StatusOf("Host: a|Transfer-Encoding: chunked, identity"), 400u);
  EXPECT_EQ(StatusOf("Host: a|Transfer-Encoding: chunked;x=1"), 400u);
  EXPECT_EQ(StatusOf("Host: a|Transfer-Encoding: chunked, chunked"), 400u);
  EXPECT_EQ(StatusOf("Host: a|Transfer-Encoding: ,"), 400u);
  EXPECT_EQ(StatusOf("Host: a|Transfer-Encoding: gzip|Transfer-Encoding: chunked"), 400u);
  EXPECT_EQ(StatusOf("Host: a|Transfer-Encoding: gzip|Content-Length: 5"), 400u);
  EXPECT_EQ(StatusOf("Transfer-Encoding: chunked", 10), 400u);
}

TEST(RequestChecksTest, UnimplementedCodingBeforeChunkedIs501) {
  auto r = CheckRequestHeader(Header("Host: a|Transfer-Encoding: gzip, chunked"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 501u);
  EXPECT_NE(r->reason.find("gzip"), std::string::npos);
}

TEST(RequestChecksTest, Http11NeedsExactlyOneHost) {
  EXPECT_EQ(StatusOf("Content-Length: 0"), 400u);
  EXPECT_EQ(StatusOf("Host: a|Host: b"), 400u);
  EXPECT_EQ(StatusOf("Host: a|Host: b", 10), 400u);
}

}  // namespace
}  // namespace cellar::http
