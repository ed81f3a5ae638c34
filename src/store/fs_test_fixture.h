// Test-only fixture for FsBlobStore tests: a store in a scoped temporary
// directory, plus helpers to inspect and damage its files.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "store/blob_test_util.h"
#include "store/fs_blob_store.h"

namespace cellar::store {

class FsBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    options_.root = dir_.path() + "/store";
    Reopen();
  }

  void Reopen() {
    store_.reset();
    Result<std::unique_ptr<FsBlobStore>> store = FsBlobStore::Open(options_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  BlobInfo MustPut(const Bytes& data) {
    Result<BlobInfo> info = WriteBlob(*store_, data);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? *info : BlobInfo{};
  }

  std::string Path(const std::string& relative) const { return options_.root + "/" + relative; }

  // Regular files under root/`relative`, as paths relative to root, sorted.
  std::vector<std::string> FilesUnder(const std::string& relative) const {
    std::vector<std::string> files;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(Path(relative), ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file()) {
        files.push_back(std::filesystem::relative(it->path(), options_.root).string());
      }
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  static std::vector<uint8_t> ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }

  static void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path;
  }

  static void SetByte(const std::string& path, size_t offset, uint8_t value) {
    std::vector<uint8_t> bytes = ReadFile(path);
    ASSERT_LT(offset, bytes.size());
    bytes[offset] = value;
    WriteFile(path, bytes);
  }

  static void FlipByte(const std::string& path, size_t offset) {
    std::vector<uint8_t> bytes = ReadFile(path);
    ASSERT_LT(offset, bytes.size());
    bytes[offset] ^= 0x01;
    WriteFile(path, bytes);
  }

  static void Truncate(const std::string& path, uint64_t size) {
    std::filesystem::resize_file(path, size);
  }

  ScopedTempDir dir_;
  FsBlobStore::Options options_;
  std::unique_ptr<FsBlobStore> store_;
};

}  // namespace cellar::store
