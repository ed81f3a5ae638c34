#include "protocols/bazel/action_result.h"

#include <gtest/gtest.h>

namespace cellar::bazel {
namespace {

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Field(uint32_t n, const std::string& bytes) { return Varint(n << 3 | 2) + Varint(bytes.size()) + bytes; }
std::string VarintField(uint32_t n, uint64_t v) { return Varint(n << 3) + Varint(v); }
std::string Digest(char c, uint64_t size) { return Field(1, std::string(64, c)) + VarintField(2, size); }

TEST(ActionResultTest, CollectsEveryCasReference) {
  std::string output_file = Field(1, "bazel-out/foo.o") + Field(2, Digest('a', 10));
  std::string output_dir = Field(1, "bazel-out/dir") + Field(3, Digest('b', 20));
  std::string ar = Field(2, output_file) + Field(3, output_dir) + VarintField(4, 0) +
                   Field(6, Digest('c', 3)) + Field(8, Digest('d', 4)) + Field(5, "inline stdout");
  std::vector<CasRef> refs;
  ASSERT_TRUE(ParseActionResult(ar, &refs).ok());
  ASSERT_EQ(refs.size(), 4u);
  EXPECT_EQ(refs[0].hash, std::string(64, 'a'));
  EXPECT_EQ(refs[0].size_bytes, 10);
  EXPECT_EQ(refs[3].hash, std::string(64, 'd'));
}

TEST(ActionResultTest, EmptyMessageIsValid) {
  std::vector<CasRef> refs;
  EXPECT_TRUE(ParseActionResult("", &refs).ok());
  EXPECT_TRUE(refs.empty());
}

TEST(ActionResultTest, RejectsGarbage) {
  std::vector<CasRef> refs;
  EXPECT_FALSE(ParseActionResult("not a protobuf", &refs).ok());
  EXPECT_FALSE(ParseActionResult(Field(2, Field(2, Field(1, "short") + VarintField(2, 1))), &refs).ok());
  EXPECT_FALSE(ParseActionResult(VarintField(2, 7), &refs).ok());  // message field as varint
  std::string truncated = Field(5, "abcdef");
  EXPECT_FALSE(ParseActionResult(truncated.substr(0, 4), &refs).ok());
}

}  // namespace
}  // namespace cellar::bazel
