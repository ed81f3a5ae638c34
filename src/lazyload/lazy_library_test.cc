#include "lazyload/lazy_library.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>
#include <zip.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lazyload/libraries.h"

namespace cellar::lazyload {
namespace {

// Whether a shared object whose name contains `name` is mapped into this
// process. This test binary links none of the three libraries itself.
bool Mapped(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str().find(name) != std::string::npos;
}

std::string Hex(const unsigned char* data, size_t size) {
  std::string out;
  char digits[3];
  for (size_t i = 0; i < size; ++i) {
    std::snprintf(digits, sizeof digits, "%02x", data[i]);
    out += digits;
  }
  return out;
}

// ctest runs each test in a process of its own (gtest_discover_tests), so
// each can check that nothing loaded its library before its first call.

TEST(LazyLibcryptoTest, LoadsOnFirstUseAndForwardsDigestsHmacAndRandomness) {
  EXPECT_FALSE(Libcrypto().IsLoaded());
  EXPECT_FALSE(Mapped("libcrypto")) << "the test binary must not link libcrypto itself";

  const std::string abc = "abc";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  ASSERT_EQ(EVP_Digest(abc.data(), abc.size(), md, &size, EVP_sha256(), nullptr), 1);
  EXPECT_TRUE(Libcrypto().IsLoaded());
  EXPECT_TRUE(Mapped("libcrypto"));
  EXPECT_EQ(Libcrypto().Error(), "");
  EXPECT_EQ(Hex(md, size), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2

  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_NE(ctx, nullptr);
  EVP_MD* sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  ASSERT_NE(sha1, nullptr);
  ASSERT_EQ(EVP_DigestInit_ex(ctx, sha1, nullptr), 1);
  ASSERT_EQ(EVP_DigestUpdate(ctx, "a", 1), 1);
  ASSERT_EQ(EVP_DigestUpdate(ctx, "bc", 2), 1);
  ASSERT_EQ(EVP_DigestFinal_ex(ctx, md, &size), 1);
  EXPECT_EQ(Hex(md, size), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(sha1);
  EXPECT_EQ(EVP_MD_get_size(EVP_sha1()), 20);
  EXPECT_EQ(EVP_MD_get_size(EVP_sha384()), 48);
  EXPECT_EQ(EVP_MD_get_size(EVP_sha512()), 64);

  // RFC 4231 test case 2.
  const std::string key = "Jefe";
  const std::string data = "what do ya want for nothing?";
  ASSERT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &size),
            nullptr);
  EXPECT_EQ(Hex(md, size), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

  unsigned char random[32] = {};
  ASSERT_EQ(RAND_bytes(random, sizeof random), 1);
  EXPECT_NE(Hex(random, sizeof random), std::string(64, '0'));
  EXPECT_EQ(CRYPTO_memcmp("same", "same", 4), 0);
  EXPECT_NE(CRYPTO_memcmp("same", "sane", 4), 0);
}

struct Memory {
  std::string bytes;
  size_t read = 0;
};

la_ssize_t WriteToMemory(struct archive*, void* client, const void* buffer, size_t size) {
  static_cast<Memory*>(client)->bytes.append(static_cast<const char*>(buffer), size);
  return static_cast<la_ssize_t>(size);
}

la_ssize_t ReadFromMemory(struct archive*, void* client, const void** buffer) {
  Memory* memory = static_cast<Memory*>(client);
  *buffer = memory->bytes.data() + memory->read;
  la_ssize_t n = static_cast<la_ssize_t>(memory->bytes.size() - memory->read);
  memory->read = memory->bytes.size();
  return n;
}

TEST(LazyLibarchiveTest, LoadsOnFirstUseAndRoundTripsATar) {
  EXPECT_FALSE(Libarchive().IsLoaded());
  EXPECT_FALSE(Mapped("libarchive")) << "the test binary must not link libarchive itself";

  Memory memory;
  struct archive* writer = archive_write_new();
  ASSERT_NE(writer, nullptr);
  EXPECT_TRUE(Libarchive().IsLoaded());
  EXPECT_TRUE(Mapped("libarchive"));
  ASSERT_EQ(archive_write_set_format_pax_restricted(writer), ARCHIVE_OK);
  ASSERT_EQ(archive_write_set_bytes_in_last_block(writer, 1), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open2(writer, &memory, nullptr, WriteToMemory, nullptr, nullptr), ARCHIVE_OK);
  struct archive_entry* entry = archive_entry_new();
  archive_entry_copy_pathname(entry, "bin/run");
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_perm(entry, 0755);
  archive_entry_set_size(entry, 5);
  archive_entry_set_uid(entry, 0);
  archive_entry_set_gid(entry, 0);
  archive_entry_set_mtime(entry, 0, 0);
  ASSERT_EQ(archive_write_header(writer, entry), ARCHIVE_OK);
  ASSERT_EQ(archive_write_data(writer, "hello", 5), 5);
  archive_entry_free(entry);
  entry = archive_entry_new();
  archive_entry_copy_pathname(entry, "bin/link");
  archive_entry_set_filetype(entry, AE_IFLNK);
  archive_entry_copy_symlink(entry, "run");
  ASSERT_EQ(archive_write_header(writer, entry), ARCHIVE_OK);
  archive_entry_free(entry);
  ASSERT_EQ(archive_write_close(writer), ARCHIVE_OK);
  ASSERT_EQ(archive_write_free(writer), ARCHIVE_OK);

  struct archive* reader = archive_read_new();
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(archive_read_support_format_tar(reader), ARCHIVE_OK);
  ASSERT_EQ(archive_read_open(reader, &memory, nullptr, ReadFromMemory, nullptr), ARCHIVE_OK);
  struct archive_entry* read = nullptr;
  ASSERT_EQ(archive_read_next_header(reader, &read), ARCHIVE_OK);
  EXPECT_STREQ(archive_entry_pathname(read), "bin/run");
  EXPECT_EQ(archive_entry_filetype(read), static_cast<__LA_MODE_T>(AE_IFREG));
  EXPECT_EQ(archive_entry_perm(read), 0755u);
  EXPECT_EQ(archive_entry_size(read), 5);
  EXPECT_EQ(archive_entry_hardlink(read), nullptr);
  char data[16] = {};
  EXPECT_EQ(archive_read_data(reader, data, sizeof data), 5);
  EXPECT_STREQ(data, "hello");
  ASSERT_EQ(archive_read_next_header(reader, &read), ARCHIVE_OK);
  EXPECT_STREQ(archive_entry_symlink(read), "run");
  EXPECT_EQ(archive_read_next_header(reader, &read), ARCHIVE_EOF);
  // The variadic setter: formatted by the forwarder, shown by libarchive.
  archive_set_error(reader, EIO, "%s went %d", "source", 42);
  EXPECT_STREQ(archive_error_string(reader), "source went 42");
  ASSERT_EQ(archive_read_free(reader), ARCHIVE_OK);
}

// A zip holding one stored file, "m@v1/hello.txt" = "hello\n".
const unsigned char kZip[] = {
    0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x50, 0x20, 0x30, 0x3a, 0x36,
    0x06, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x6d, 0x40, 0x76, 0x31, 0x2f, 0x68,
    0x65, 0x6c, 0x6c, 0x6f, 0x2e, 0x74, 0x78, 0x74, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0a, 0x50, 0x4b, 0x01, 0x02,
    0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x50, 0x20, 0x30, 0x3a, 0x36, 0x06, 0x00,
    0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x6d, 0x40, 0x76, 0x31, 0x2f, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x2e, 0x74,
    0x78, 0x74, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x3c, 0x00, 0x00, 0x00,
    0x32, 0x00, 0x00, 0x00, 0x00, 0x00};

TEST(LazyLibzipTest, LoadsOnFirstUseAndReadsAZip) {
  EXPECT_FALSE(Libzip().IsLoaded());
  EXPECT_FALSE(Mapped("libzip")) << "the test binary must not link libzip itself";

  const std::string path = testing::TempDir() + "/lazyzip_" + std::to_string(::getpid()) + ".zip";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(kZip), sizeof kZip);
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  int error = 0;
  zip_t* archive = zip_fdopen(fd, ZIP_CHECKCONS, &error);
  ASSERT_NE(archive, nullptr) << error;
  EXPECT_TRUE(Libzip().IsLoaded());
  ASSERT_EQ(zip_get_num_entries(archive, 0), 1);
  zip_stat_t stat;
  zip_stat_init(&stat);
  ASSERT_EQ(zip_stat_index(archive, 0, ZIP_FL_ENC_RAW, &stat), 0);
  EXPECT_STREQ(stat.name, "m@v1/hello.txt");
  EXPECT_EQ(stat.size, 6u);
  zip_file_t* file = zip_fopen_index(archive, 0, 0);
  ASSERT_NE(file, nullptr) << zip_strerror(archive);
  char data[16] = {};
  EXPECT_EQ(zip_fread(file, data, sizeof data), 6);
  EXPECT_STREQ(data, "hello\n");
  EXPECT_NE(std::string(zip_file_strerror(file)), "");
  EXPECT_EQ(zip_fclose(file), 0);
  zip_discard(archive);

  zip_error_t why;
  zip_error_init_with_code(&why, ZIP_ER_NOZIP);
  EXPECT_EQ(std::string(zip_error_strerror(&why)), "Not a zip archive");
  zip_error_fini(&why);
  ::unlink(path.c_str());
}

TEST(LazyLibraryTest, AMissingLibraryOrSymbolIsNullAndSaysWhy) {
  LazyLibrary missing("libcellar-no-such-library.so.0");
  EXPECT_EQ(missing.Error(), "");  // not tried yet
  EXPECT_EQ(missing.Find("anything"), nullptr);
  EXPECT_FALSE(missing.IsLoaded());
  EXPECT_NE(missing.Error().find("cannot load libcellar-no-such-library.so.0"), std::string::npos)
      << missing.Error();

  EXPECT_EQ(Libcrypto().Find("cellar_no_such_function"), nullptr);
  EXPECT_NE(Libcrypto().Error().find("has no cellar_no_such_function"), std::string::npos)
      << Libcrypto().Error();
}

}  // namespace
}  // namespace cellar::lazyload
