#include "lazycurl/lazy_libcurl.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace cellar::lazycurl {
namespace {

bool LibcurlIsMapped() {
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str().find("libcurl") != std::string::npos;
}

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

int g_locks = 0;
void Lock(CURL*, curl_lock_data, curl_lock_access, void*) { ++g_locks; }
void Unlock(CURL*, curl_lock_data, void*) {}

// One test, because the first half is about the process's first libcurl call.
TEST(LazyLibcurlTest, LoadsOnFirstUseAndForwardsEveryKindOfArgument) {
  EXPECT_FALSE(LibcurlIsLoaded());
  EXPECT_FALSE(LibcurlIsMapped()) << "the test binary must not link libcurl itself";

  ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  EXPECT_TRUE(LibcurlIsLoaded());
  EXPECT_TRUE(LibcurlIsMapped());
  EXPECT_EQ(LibcurlLoadError(), "");

  const std::string path = testing::TempDir() + "/lazycurl_" + std::to_string(::getpid());
  std::ofstream(path) << "0123456789abcdef";

  CURLSH* share = curl_share_init();
  ASSERT_NE(share, nullptr);
  EXPECT_EQ(curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS), CURLSHE_OK);  // int
  EXPECT_EQ(curl_share_setopt(share, CURLSHOPT_LOCKFUNC, Lock), CURLSHE_OK);             // callback
  EXPECT_EQ(curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, Unlock), CURLSHE_OK);
  EXPECT_EQ(curl_share_setopt(share, CURLSHOPT_USERDATA, nullptr), CURLSHE_OK);  // pointer

  CURL* curl = curl_easy_init();
  ASSERT_NE(curl, nullptr);
  std::string body;
  struct curl_slist* headers = curl_slist_append(nullptr, "X-Test: 1");
  ASSERT_NE(headers, nullptr);
  EXPECT_EQ(curl_easy_setopt(curl, CURLOPT_URL, ("file://" + path).c_str()), CURLE_OK);  // string
  EXPECT_EQ(curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L), CURLE_OK);                     // long
  EXPECT_EQ(curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append), CURLE_OK);            // callback
  EXPECT_EQ(curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body), CURLE_OK);                 // pointer
  EXPECT_EQ(curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers), CURLE_OK);              // list
  EXPECT_EQ(curl_easy_setopt(curl, CURLOPT_SHARE, share), CURLE_OK);
  // curl_off_t: a resume offset shows it arrived intact.
  EXPECT_EQ(curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(10)), CURLE_OK);
  ASSERT_EQ(curl_easy_perform(curl), CURLE_OK);
  EXPECT_EQ(body, "abcdef");
  curl_off_t downloaded = -1;
  EXPECT_EQ(curl_easy_getinfo(curl, CURLINFO_SIZE_DOWNLOAD_T, &downloaded), CURLE_OK);
  EXPECT_EQ(downloaded, 6);
  EXPECT_STREQ(curl_easy_strerror(CURLE_OK), "No error");

  CURLM* multi = curl_multi_init();
  ASSERT_NE(multi, nullptr);
  body.clear();
  EXPECT_EQ(curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(0)), CURLE_OK);
  ASSERT_EQ(curl_multi_add_handle(multi, curl), CURLM_OK);
  int running = 1;
  while (running > 0) {
    ASSERT_EQ(curl_multi_perform(multi, &running), CURLM_OK);
    if (running > 0) {
      ASSERT_EQ(curl_multi_poll(multi, nullptr, 0, 1000, nullptr), CURLM_OK);
    }
  }
  int left = 0;
  CURLMsg* done = curl_multi_info_read(multi, &left);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->data.result, CURLE_OK);
  EXPECT_EQ(body, "0123456789abcdef");
  EXPECT_EQ(curl_multi_remove_handle(multi, curl), CURLM_OK);
  EXPECT_EQ(curl_multi_cleanup(multi), CURLM_OK);
  EXPECT_STREQ(curl_multi_strerror(CURLM_OK), "No error");

  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  EXPECT_EQ(curl_share_cleanup(share), CURLSHE_OK);
  EXPECT_GT(g_locks, 0) << "the share's lock callback was never called";
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace cellar::lazycurl
