// MemBlobStore specifics; the contract is covered by the conformance suite
// (blob_store_conformance_test.cc).
#include "store/mem_blob_store.h"

#include <gtest/gtest.h>

#include "store/blob_test_util.h"

namespace cellar::store {
namespace {

TEST(MemBlobStoreTest, BlobsAreNotFileBackedOrCompressed) {
  MemBlobStore store;
  const Bytes data = MakeContent(100000, Content::kText);
  Result<BlobInfo> info = WriteBlob(store, data);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->compressed);
  EXPECT_EQ(info->stored_size, data.size());
  auto reader = store.Open(info->digest);
  ASSERT_TRUE(reader.ok() && reader->has_value());
  EXPECT_FALSE((**reader)->RawFile().has_value());
}

TEST(MemBlobStoreTest, SizeCountsDistinctBlobs) {
  MemBlobStore store;
  EXPECT_EQ(store.size(), 0u);
  ASSERT_TRUE(WriteBlob(store, MakeContent(10, Content::kText, 1)).ok());
  ASSERT_TRUE(WriteBlob(store, MakeContent(10, Content::kText, 1)).ok());
  ASSERT_TRUE(WriteBlob(store, MakeContent(10, Content::kText, 2)).ok());
  EXPECT_EQ(store.size(), 2u);
}

TEST(MemBlobStoreTest, ReadersAndWritersOutliveTheStore) {
  auto store = std::make_unique<MemBlobStore>();
  const Bytes data = MakeContent(1000, Content::kRandom);
  Result<BlobInfo> info = WriteBlob(*store, data);
  ASSERT_TRUE(info.ok());
  auto reader = store->Open(info->digest);
  auto writer = store->NewWriter();
  ASSERT_TRUE(reader.ok() && reader->has_value() && writer.ok());
  store.reset();
  Result<Bytes> got = ReadRest(***reader);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data);
  ASSERT_TRUE((*writer)->Write(data).ok());
  EXPECT_TRUE((*writer)->Commit().ok());
}

TEST(MemBlobStoreTest, ForEachMayCallBackIntoTheStore) {
  MemBlobStore store;
  ASSERT_TRUE(WriteBlob(store, MakeContent(10, Content::kText, 1)).ok());
  ASSERT_TRUE(WriteBlob(store, MakeContent(10, Content::kText, 2)).ok());
  ASSERT_TRUE(
      store.ForEach([&](const BlobInfo& info) { ASSERT_TRUE(store.Remove(info.digest).ok()); })
          .ok());
  EXPECT_EQ(store.size(), 0u);
}

}  // namespace
}  // namespace cellar::store
