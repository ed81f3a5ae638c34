#include "store/s3/xml.h"

#include <gtest/gtest.h>

#include "base/strings.h"

namespace cellar::s3 {
namespace {

TEST(XmlTest, ElementsByExactName) {
  const std::string doc = R"(<?xml version="1.0"?><ListBucketResult xmlns="http://s3/doc">
<KeyCount>2</KeyCount><IsTruncated>true</IsTruncated>
<Contents><Key>a&amp;b</Key><Size>3</Size></Contents>
<Contents><Key>c</Key><Size>10</Size></Contents>
<NextContinuationToken>tok+/=</NextContinuationToken></ListBucketResult>)";
  auto contents = XmlElements(doc, "Contents");
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(XmlText(contents[0], "Key"), "a&b");
  EXPECT_EQ(XmlText(contents[1], "Size"), "10");
  EXPECT_EQ(XmlText(doc, "KeyCount"), "2");
  EXPECT_EQ(XmlText(doc, "Key"), "a&b");  // not confused with KeyCount
  EXPECT_EQ(XmlText(doc, "NextContinuationToken"), "tok+/=");
  EXPECT_EQ(XmlText(doc, "Missing"), std::nullopt);
}

TEST(XmlTest, SelfClosingAndAttributes) {
  const std::string doc = R"(<Error><Code>SignatureDoesNotMatch</Code><Message/><Tag a="1">x</Tag></Error>)";
  EXPECT_EQ(XmlText(doc, "Code"), "SignatureDoesNotMatch");
  EXPECT_EQ(XmlText(doc, "Message"), "");
  EXPECT_EQ(XmlText(doc, "Tag"), "x");
}

TEST(XmlTest, TruncatedDocumentYieldsWhatIsComplete) {
  EXPECT_EQ(XmlElements("<A>1</A><A>2", "A").size(), 1u);
  EXPECT_EQ(XmlText("<A>1", "A"), std::nullopt);
}

TEST(XmlTest, Entities) {
  EXPECT_EQ(XmlUnescape("&lt;&gt;&quot;&apos;&amp;&#65;&#x42;&#xFC;&bogus;&"), "<>\"'&AB\xc3\xbc&bogus;&");
  EXPECT_EQ(XmlUnescape(XmlEscape("\"etag\"&<>")), "\"etag\"&<>");
}

}  // namespace
}  // namespace cellar::s3
