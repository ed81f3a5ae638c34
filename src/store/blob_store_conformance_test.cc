// Runs the BlobStore conformance suite against every implementation in
// src/store. (The suite defines its tests, so it is included only here.)
#include "testing/blob_store_conformance.h"

#include "store/blob_test_util.h"
#include "store/fs_blob_store.h"
#include "store/mem_blob_store.h"

namespace cellar::store {
namespace {

using testing::BlobStoreConformanceTest;
using testing::BlobStoreFactory;

std::unique_ptr<testing::BlobStoreHarness> MakeFsHarness(bool compress) {
  auto dir = std::make_unique<ScopedTempDir>();
  FsBlobStore::Options options;
  options.root = dir->path() + "/store";
  options.compress = compress;
  Result<std::unique_ptr<FsBlobStore>> store = FsBlobStore::Open(options);
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  return std::make_unique<testing::SimpleHarness<ScopedTempDir>>(std::move(*store), std::move(dir));
}

INSTANTIATE_TEST_SUITE_P(
    Stores, BlobStoreConformanceTest,
    ::testing::Values(
        BlobStoreFactory{"Mem",
                         [] { return testing::MakeHarness(std::make_unique<MemBlobStore>()); }},
        BlobStoreFactory{"Fs", [] { return MakeFsHarness(/*compress=*/true); }},
        BlobStoreFactory{"FsUncompressed", [] { return MakeFsHarness(/*compress=*/false); }}),
    testing::BlobStoreFactoryName);

}  // namespace
}  // namespace cellar::store
