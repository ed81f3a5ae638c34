#include "protocols/goproxy/module_hash.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zip.h>

#include <cstdlib>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "hash/sha256.h"

namespace cellar::goproxy {
namespace {

std::array<uint8_t, 32> Sha(std::string_view s) { return hash::Sha256(std::as_bytes(std::span(s.data(), s.size()))); }

TEST(DirHash1Test, MatchesTheGoCommandsDefinition) {
  // Expected values computed independently (Python hashlib) from the
  // definition in x/mod/sumdb/dirhash: files sorted by name.
  auto h1 = DirHash1({{"xyz", Sha("data for xyz")}, {"abc", Sha("data for abc")}});
  ASSERT_TRUE(h1.ok());
  EXPECT_EQ(*h1, "h1:EP6WfDoQTSk9klnxcjriWJOGztueJUywHNmWeq+efB8=");
  EXPECT_EQ(ModFileHash1("module example.com/x\n"), "h1:cq1Wlc5Q/3TKMd9Nt+I/D/H5kAJrHbzSCzH20/f7O0w=");
}

TEST(DirHash1Test, RefusesNewlineInName) {
  EXPECT_FALSE(DirHash1({{"a\nb", Sha("")}}).ok());
}

// Writes a zip with the given entries (name, content; a name ending in "/"
// is a directory) and returns an open read-only descriptor.
class ZipFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cellar-modzip-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (int fd : fds_) ::close(fd);
    std::system(("rm -rf " + dir_).c_str());
  }

  int MakeZip(const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string path = dir_ + "/z" + std::to_string(fds_.size()) + ".zip";
    int err = 0;
    zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    EXPECT_NE(z, nullptr);
    for (const auto& [name, content] : entries) {
      if (name.ends_with("/")) {
        zip_dir_add(z, name.c_str(), ZIP_FL_ENC_RAW);
        continue;
      }
      // libzip keeps the pointer until zip_close, so keep the bytes alive.
      keep_.push_back(content);
      zip_source_t* src = zip_source_buffer(z, keep_.back().data(), keep_.back().size(), 0);
      EXPECT_GE(zip_file_add(z, name.c_str(), src, ZIP_FL_ENC_RAW), 0) << name;
    }
    EXPECT_EQ(zip_close(z), 0);
    int fd = ::open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    fds_.push_back(fd);
    return fd;
  }

  int MakeFile(std::string_view bytes) {
    std::string path = dir_ + "/f" + std::to_string(fds_.size());
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
    EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    fds_.push_back(fd);
    return fd;
  }

  std::string dir_;
  std::vector<int> fds_;
  std::deque<std::string> keep_;  // stable addresses: libzip reads them at zip_close
};

TEST_F(ZipFixture, ValidZipHashesLikeDirhash) {
  const std::string p = "example.com/Foo@v1.2.3/";
  int fd = MakeZip({{p + "go.mod", "module example.com/Foo\n"}, {p + "a/b.go", "package a\n"}, {p + "LICENSE", "MIT"}});
  auto h1 = CheckModuleZip(fd, "example.com/Foo", "v1.2.3");
  ASSERT_TRUE(h1.ok()) << h1.error().message();
  auto expected = DirHash1({{p + "go.mod", Sha("module example.com/Foo\n")},
                            {p + "a/b.go", Sha("package a\n")},
                            {p + "LICENSE", Sha("MIT")}});
  EXPECT_EQ(*h1, *expected);
}

TEST_F(ZipFixture, HashIgnoresEntryOrder) {
  const std::string p = "m.test/x@v0.1.0/";
  int a = MakeZip({{p + "a.go", "A"}, {p + "b.go", "B"}});
  int b = MakeZip({{p + "b.go", "B"}, {p + "a.go", "A"}});
  EXPECT_EQ(*CheckModuleZip(a, "m.test/x", "v0.1.0"), *CheckModuleZip(b, "m.test/x", "v0.1.0"));
}

TEST_F(ZipFixture, ChangedContentChangesHash) {
  const std::string p = "m.test/x@v0.1.0/";
  int a = MakeZip({{p + "a.go", "A"}});
  int b = MakeZip({{p + "a.go", "A // tampered"}});
  EXPECT_NE(*CheckModuleZip(a, "m.test/x", "v0.1.0"), *CheckModuleZip(b, "m.test/x", "v0.1.0"));
}

struct BadZipCase {
  std::string entry;
  std::string expected_reason;
};

TEST_F(ZipFixture, RefusesUnsafeOrForeignPaths) {
  const std::string p = "m.test/x@v0.1.0/";
  const std::vector<BadZipCase> cases = {
      {"other.test/y@v0.1.0/a.go", "does not have prefix"},
      {"m.test/x@v0.1.1/a.go", "does not have prefix"},
      {p + "../../etc/passwd", "not clean"},
      {p + "a//b.go", "not clean"},
      {p + "./a.go", "not clean"},
      {p + "a/./b.go", "not clean"},
      {p + "a\\b.go", "invalid character"},
      {p + "a:b.go", "invalid character"},
      {p + "tab\there.go", "invalid character"},
      {p + "dir./a.go", "trailing dot"},
      {p + "CON.go", "reserved"},
      {p + "sub/go.mod", "not in module root"},
      {p + "GO.MOD", "wrong case"},
      {p + "PROGRA~1/a.go", "short name"},
  };
  for (const auto& c : cases) {
    int fd = MakeZip({{p + "ok.go", "x"}, {c.entry, "y"}});
    auto r = CheckModuleZip(fd, "m.test/x", "v0.1.0");
    ASSERT_FALSE(r.ok()) << c.entry;
    EXPECT_EQ(r.error().code(), Code::kCorruption) << c.entry;
    EXPECT_NE(r.error().message().find(c.expected_reason), std::string::npos)
        << c.entry << ": " << r.error().message();
  }
}

TEST_F(ZipFixture, RefusesCaseInsensitiveDuplicates) {
  const std::string p = "m.test/x@v0.1.0/";
  int fd = MakeZip({{p + "README.md", "a"}, {p + "readme.md", "b"}});
  auto r = CheckModuleZip(fd, "m.test/x", "v0.1.0");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("collision"), std::string::npos) << r.error().message();
}

TEST_F(ZipFixture, AcceptsDirectoryEntriesAndSafePunctuation) {
  const std::string p = "m.test/x@v0.1.0/";
  int fd = MakeZip({{p + "sub/", ""}, {p + "sub/a-b_c+d~e@f (1).go", "x"}, {p + ".github/workflow.yml", "y"}});
  auto r = CheckModuleZip(fd, "m.test/x", "v0.1.0");
  EXPECT_TRUE(r.ok()) << r.error().message();
}

TEST_F(ZipFixture, EnforcesSizeLimits) {
  const std::string p = "m.test/x@v0.1.0/";
  int fd = MakeZip({{p + "a.go", std::string(3000, 'a')}, {p + "b.go", std::string(3000, 'b')}});
  ZipLimits small;
  small.max_unpacked_bytes = 5000;
  auto r = CheckModuleZip(fd, "m.test/x", "v0.1.0", small);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("uncompressed size"), std::string::npos) << r.error().message();

  ZipLimits tiny_zip;
  tiny_zip.max_zip_bytes = 10;
  r = CheckModuleZip(fd, "m.test/x", "v0.1.0", tiny_zip);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("too large"), std::string::npos) << r.error().message();

  int gomod = MakeZip({{p + "go.mod", std::string(100, 'm')}});
  ZipLimits mod_limit;
  mod_limit.max_go_mod_bytes = 50;
  r = CheckModuleZip(gomod, "m.test/x", "v0.1.0", mod_limit);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("go.mod file too large"), std::string::npos) << r.error().message();
}

TEST_F(ZipFixture, RefusesNonZipAndTruncatedZip) {
  auto r = CheckModuleZip(MakeFile("this is not a zip file at all"), "m.test/x", "v0.1.0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kCorruption);
  EXPECT_NE(r.error().message().find("not a valid zip"), std::string::npos) << r.error().message();

  const std::string p = "m.test/x@v0.1.0/";
  int fd = MakeZip({{p + "a.go", std::string(10000, 'q')}});
  std::string bytes(20000, '\0');
  ssize_t n = ::pread(fd, bytes.data(), bytes.size(), 0);
  ASSERT_GT(n, 40);
  bytes.resize(static_cast<size_t>(n) - 30);  // cut into the central directory
  r = CheckModuleZip(MakeFile(bytes), "m.test/x", "v0.1.0");
  EXPECT_FALSE(r.ok());
}

TEST_F(ZipFixture, DetectsCorruptedContent) {
  const std::string p = "m.test/x@v0.1.0/";
  // Stored uncompressed so the content bytes can be flipped in place.
  std::string path = dir_ + "/stored.zip";
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  std::string content(1000, 'k');
  zip_source_t* src = zip_source_buffer(z, content.data(), content.size(), 0);
  zip_int64_t idx = zip_file_add(z, (p + "a.go").c_str(), src, 0);
  zip_set_file_compression(z, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0);
  ASSERT_EQ(zip_close(z), 0);
  int fd = ::open(path.c_str(), O_RDWR);
  fds_.push_back(fd);
  std::string all(4096, '\0');
  ssize_t n = ::pread(fd, all.data(), all.size(), 0);
  all.resize(static_cast<size_t>(n));
  size_t at = all.find("kkkk");
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(::pwrite(fd, "X", 1, static_cast<off_t>(at + 10)), 1);
  auto r = CheckModuleZip(fd, "m.test/x", "v0.1.0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kCorruption);
}

}  // namespace
}  // namespace cellar::goproxy
