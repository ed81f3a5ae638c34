#include "hash/git_blob_id.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace cellar::hash {
namespace {

std::string Hex(const GitBlobIdBytes& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : id) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

std::span<const std::byte> AsBytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// The ids `git hash-object --stdin` prints for the same content.
TEST(GitBlobIdTest, MatchesGitHashObject) {
  EXPECT_EQ(Hex(GitBlobId({})), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  EXPECT_EQ(Hex(GitBlobId(AsBytes("hello\n"))), "ce013625030ba8dba906f756967f9e9ca394464a");
  const std::string zeros(100000, '\0');
  EXPECT_EQ(Hex(GitBlobId(AsBytes(zeros))), "f18c9a678f421d5c52f6c5acc23670267d5f632f");
}

TEST(GitBlobIdTest, StreamingInPiecesEqualsOneShotAndCountsBytes) {
  const std::string content(70001, 'x');
  GitBlobHasher hasher;
  hasher.Begin(content.size());
  for (size_t at = 0; at < content.size(); at += 4096) {
    hasher.Update(content.data() + at, std::min<size_t>(4096, content.size() - at));
  }
  EXPECT_EQ(hasher.content_bytes(), content.size());
  EXPECT_EQ(hasher.Finalize(), GitBlobId(AsBytes(content)));
  // Reusable after Begin() again.
  hasher.Begin(6);
  hasher.Update("hello\n", 6);
  EXPECT_EQ(Hex(hasher.Finalize()), "ce013625030ba8dba906f756967f9e9ca394464a");
}

}  // namespace
}  // namespace cellar::hash
