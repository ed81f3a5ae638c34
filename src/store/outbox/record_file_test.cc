#include "store/outbox/record_file.h"

#include <gtest/gtest.h>

namespace cellar::outbox {
namespace {

using namespace std::string_literals;

Record MakeRecord() {
  Record r;
  r.kind = "publish";
  r.subject = "entry:9:turbo/acme\nkey with spaces\0and a NUL"s;
  r.after = {"blob:" + std::string(64, 'a'), r.subject};
  r.payload = "\x00\x01\xff binary\n"s;
  r.created_ms = 1'700'000'000'123;
  return r;
}

TEST(RecordFileTest, RoundTripKeepsEveryFieldWhateverItsBytes) {
  const Record in = MakeRecord();
  Record out;
  out.seq = 42;
  ASSERT_TRUE(DecodeRecordFile(EncodeRecordFile(in), out).ok());
  EXPECT_EQ(out.seq, 42u);  // the file's name, not its content
  EXPECT_EQ(out.kind, in.kind);
  EXPECT_EQ(out.subject, in.subject);
  EXPECT_EQ(out.after, in.after);
  EXPECT_EQ(out.payload, in.payload);
  EXPECT_EQ(out.created_ms, in.created_ms);
}

TEST(RecordFileTest, DamagedOrTruncatedFileIsCorruption) {
  const std::string good = EncodeRecordFile(MakeRecord());
  Record out;
  for (size_t i = 0; i < good.size(); i += 7) {
    std::string bad = good;
    bad[i] ^= 0x20;
    EXPECT_EQ(DecodeRecordFile(bad, out).code(), Code::kCorruption) << "byte " << i;
  }
  for (size_t n : {size_t{0}, good.size() / 2, good.size() - 1}) {
    EXPECT_EQ(DecodeRecordFile(good.substr(0, n), out).code(), Code::kCorruption) << n << " bytes";
  }
  // Well-formed fields, but not a record: no checksum, or another format.
  EXPECT_EQ(DecodeRecordFile(EncodeFields({{"kind", "blob"}}), out).code(), Code::kCorruption);
}

TEST(RecordFileTest, DecodeFieldsRejectsMalformedHeaders) {
  EXPECT_TRUE(DecodeFields("").ok());
  EXPECT_FALSE(DecodeFields("name\n").ok());
  EXPECT_FALSE(DecodeFields("name x\nabc\n").ok());
  EXPECT_FALSE(DecodeFields("name 3\nabcd").ok());
  EXPECT_FALSE(DecodeFields(" 1\na\n").ok());
  EXPECT_FALSE(DecodeFields("name 99999999999\na\n").ok());
  auto fields = DecodeFields("a 1\nx\nb 0\n\n");
  ASSERT_TRUE(fields.ok());
  ASSERT_EQ(fields->size(), 2u);
  EXPECT_EQ(*FindField(*fields, "a"), "x");
  EXPECT_EQ(*FindField(*fields, "b"), "");
  EXPECT_EQ(FindField(*fields, "c"), nullptr);
}

}  // namespace
}  // namespace cellar::outbox
