// The S3 backend against a real S3 server (Ceph RGW, started by
// tests/integration/s3_rgw_test.sh with scripts/s3-rgw.sh): the BlobStore
// conformance suite, multipart and listing on the real thing, presigned URLs
// (accepted, expired -> 403, altered -> 403), and credential errors.
// Reads AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_REGION and CELLAR_S3_BUCKET; without them every test fails (this
// binary is not meant to run on its own).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>

#include "env/clock.h"
#include "env/curl_http_client.h"
#include "store/s3/curl_s3_client.h"
#include "store/s3/retrying_s3_client.h"
#include "store/s3/s3_blob_store.h"
#include "store/s3/sigv4.h"
#include "store/fs_blob_store.h"
#include "store/tiered/tiered_blob_store.h"
#include "testing/blob_store_conformance.h"

namespace cellar::s3 {
namespace {

using store::Bytes;
using store::Content;

std::optional<S3Config> ConfigFromEnv() {
  S3Config config;
  ApplyEnvironment(config);
  const char* bucket = std::getenv("CELLAR_S3_BUCKET");
  if (bucket == nullptr || config.endpoint.empty()) return std::nullopt;
  config.bucket = bucket;
  return config;
}

// A prefix no other test (or run) uses.
std::string UniquePrefix() {
  static std::atomic<int> n{0};
  return "it-" + std::to_string(::getpid()) + "-" + std::to_string(time(nullptr)) + "-" +
         std::to_string(n++);
}

// A real client with retries, a store under a fresh prefix, and clean-up of
// everything under that prefix afterwards.
struct RgwBackend {
  explicit RgwBackend(const S3Config& config) : curl(config), s3(curl, RetryPolicy{}, sleeper) {}
  ~RgwBackend() {
    std::optional<std::string> token;
    do {
      Result<ListPage> page = s3.ListObjectsV2(prefix, token, 1000);
      if (!page.ok()) return;
      for (const ObjectInfo& o : page->objects) (void)s3.DeleteObject(o.key);
      token = page->next_token;
    } while (token.has_value());
  }
  env::SystemClock clock;
  RealSleeper sleeper;
  CurlS3Client curl;
  RetryingS3Client s3;
  std::string prefix = UniquePrefix();
};

std::unique_ptr<testing::BlobStoreHarness> MakeRgwHarness(uint64_t multipart_threshold) {
  std::optional<S3Config> config = ConfigFromEnv();
  if (!config.has_value()) {
    ADD_FAILURE() << "AWS_ENDPOINT_URL / CELLAR_S3_BUCKET not set: run tests/integration/s3_rgw_test.sh";
    return nullptr;
  }
  auto backend = std::make_unique<RgwBackend>(*config);
  S3BlobStoreOptions options;
  options.prefix = backend->prefix;
  options.multipart_threshold = multipart_threshold;
  options.part_size = 5 << 20;
  auto store = std::make_unique<S3BlobStore>(backend->s3, backend->clock, options);
  return std::make_unique<testing::SimpleHarness<RgwBackend>>(std::move(store), std::move(backend));
}

using testing::BlobStoreConformanceTest;
INSTANTIATE_TEST_SUITE_P(
    Rgw, BlobStoreConformanceTest,
    ::testing::Values(
        testing::BlobStoreFactory{"Rgw", [] { return MakeRgwHarness(8 << 20); }},
        testing::BlobStoreFactory{"RgwMultipart", [] { return MakeRgwHarness(64 * 1024); }}),
    testing::BlobStoreFactoryName);

// A local FsBlobStore in a temporary directory in front of the bucket.
struct TieredRgw {
  explicit TieredRgw(const S3Config& config, const std::string& prefix = "") : backend(config) {
    if (!prefix.empty()) backend.prefix = prefix;
    store::FsBlobStore::Options fs;
    fs.root = dir.path() + "/local";
    auto opened = store::FsBlobStore::Open(fs);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (opened.ok()) local = std::move(*opened);
    S3BlobStoreOptions options;
    options.prefix = backend.prefix;
    options.spool_dir = dir.path();
    options.part_size = 5 << 20;
    remote = std::make_unique<S3BlobStore>(backend.s3, backend.clock, options);
    tiered = std::make_unique<store::TieredBlobStore>(*local, *remote);
  }
  store::ScopedTempDir dir;
  RgwBackend backend;
  std::unique_ptr<store::FsBlobStore> local;
  std::unique_ptr<S3BlobStore> remote;
  std::unique_ptr<store::TieredBlobStore> tiered;
};

class TieredRgwHarness final : public testing::BlobStoreHarness {
 public:
  explicit TieredRgwHarness(std::unique_ptr<TieredRgw> t) : t_(std::move(t)) {}
  store::BlobStore& store() override { return *t_->tiered; }

 private:
  std::unique_ptr<TieredRgw> t_;
};

std::unique_ptr<testing::BlobStoreHarness> MakeTieredRgwHarness() {
  std::optional<S3Config> config = ConfigFromEnv();
  if (!config.has_value()) {
    ADD_FAILURE() << "AWS_ENDPOINT_URL / CELLAR_S3_BUCKET not set: run tests/integration/s3_rgw_test.sh";
    return nullptr;
  }
  return std::make_unique<TieredRgwHarness>(std::make_unique<TieredRgw>(*config));
}

// Remove() frees the local tier only, so a removed blob still reads (from
// the bucket): the suite checks it is unlisted instead.
INSTANTIATE_TEST_SUITE_P(
    RgwTiered, BlobStoreConformanceTest,
    ::testing::Values(testing::BlobStoreFactory{"RgwTiered", [] { return MakeTieredRgwHarness(); },
                                                /*remove_hides_blob=*/false}),
    testing::BlobStoreFactoryName);

class RgwTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::optional<S3Config> config = ConfigFromEnv();
    ASSERT_TRUE(config.has_value()) << "run through tests/integration/s3_rgw_test.sh";
    config_ = *config;
    backend_ = std::make_unique<RgwBackend>(config_);
  }
  std::string Key(const std::string& name) { return backend_->prefix + "/" + name; }
  Status Put(const std::string& key, std::string bytes) {
    StringBody body(std::move(bytes));
    return backend_->s3.PutObject(key, body, {});
  }
  // Sends a request to a presigned URL; returns (status, body).
  std::pair<int, std::string> Fetch(const std::string& method, const std::string& url,
                                    std::string body = "", env::HeaderList headers = {}) {
    env::HttpRequest req;
    req.method = method;
    req.url = url;
    req.body = std::move(body);
    req.headers = std::move(headers);
    Result<std::unique_ptr<env::HttpResponse>> resp = http_.Send(req);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    if (!resp.ok()) return {0, ""};
    Result<std::string> all = env::ReadAll(**resp, 64 << 20);
    return {(*resp)->head().status, all.ok() ? *all : ""};
  }
  int64_t Now() const { return time(nullptr); }

  S3Config config_;
  std::unique_ptr<RgwBackend> backend_;
  env::CurlHttpClient http_;
};

TEST_F(RgwTest, PresignedGetAndPutAreAccepted) {
  const std::string key = Key("presigned/get me+now");
  ASSERT_TRUE(Put(key, "presigned bytes").ok());
  Result<std::string> get = PresignUrl(config_, "GET", key, Now(), std::chrono::seconds(300));
  ASSERT_TRUE(get.ok());
  auto [code, body] = Fetch("GET", *get);
  EXPECT_EQ(code, 200) << body;
  EXPECT_EQ(body, "presigned bytes");

  const std::string put_key = Key("presigned/put");
  Result<std::string> put = PresignUrl(config_, "PUT", put_key, Now(), std::chrono::seconds(300));
  auto [put_code, put_body] = Fetch("PUT", *put, "uploaded through a URL");
  EXPECT_EQ(put_code, 200) << put_body;
  auto object = backend_->s3.GetObject(put_key, std::nullopt);
  ASSERT_TRUE(object.ok() && object->has_value());
  EXPECT_EQ(*ReadAllObject(***object, 1 << 20), "uploaded through a URL");

  // HEAD is signed as its own method.
  Result<std::string> head = PresignUrl(config_, "HEAD", key, Now(), std::chrono::seconds(300));
  EXPECT_EQ(Fetch("HEAD", *head).first, 200);
  EXPECT_EQ(Fetch("GET", *head).first, 403);
}

TEST_F(RgwTest, ExpiredPresignedUrlIsRefused) {
  const std::string key = Key("presigned/expired");
  ASSERT_TRUE(Put(key, "x").ok());
  Result<std::string> url = PresignUrl(config_, "GET", key, Now() - 120, std::chrono::seconds(60));
  EXPECT_EQ(Fetch("GET", *url).first, 403);
  Result<std::string> fresh = PresignUrl(config_, "GET", key, Now() - 120, std::chrono::seconds(600));
  EXPECT_EQ(Fetch("GET", *fresh).first, 200);
}

TEST_F(RgwTest, AlteredPresignedUrlIsRefused) {
  const std::string key = Key("presigned/altered");
  ASSERT_TRUE(Put(key, "x").ok());
  const std::string url = *PresignUrl(config_, "GET", key, Now(), std::chrono::seconds(300));
  std::string altered = url;
  char& last = altered.back();
  last = last == '0' ? '1' : '0';
  EXPECT_EQ(Fetch("GET", altered).first, 403);
  std::string other_key = url;
  other_key.replace(other_key.find("/altered?"), 9, "/alterex?");
  EXPECT_EQ(Fetch("GET", other_key).first, 403);
  EXPECT_EQ(Fetch("PUT", url, "overwrite").first, 403);  // signed for GET
  EXPECT_EQ(Fetch("GET", url).first, 200);
}

TEST_F(RgwTest, PresignedCreateOnlyPutPinsSizeAndRefusesOverwrite) {
  const std::string key = Key("presigned/create-only");
  auto url = PresignUrl(config_, "PUT", key, Now(), std::chrono::seconds(300),
                        {{"content-length", "5"}, {"if-none-match", "*"}});
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(Fetch("PUT", *url, "hello").first, 403);  // header left out
  EXPECT_EQ(Fetch("PUT", *url, "hello!", {{"If-None-Match", "*"}}).first, 403);  // wrong size
  EXPECT_EQ(Fetch("PUT", *url, "hello", {{"If-None-Match", "*"}}).first, 200);
  EXPECT_EQ(Fetch("PUT", *url, "HELLO", {{"If-None-Match", "*"}}).first, 412);
}

// Signing x-amz-content-sha256 with the body's real digest makes RGW hash
// the body and refuse one that does not match (400 XAmzContentSHA256Mismatch),
// so a presigned upload can pin its bytes, not only its size.
TEST_F(RgwTest, PresignedPutWithSignedContentSha256IsVerified) {
  const std::string key = Key("presigned/sha256");
  const std::string digest = Sha256Hex("hello");
  auto url = PresignUrl(config_, "PUT", key, Now(), std::chrono::seconds(300),
                        {{"content-length", "5"}, {"x-amz-content-sha256", digest}});
  ASSERT_TRUE(url.ok());
  auto [wrong, wrong_body] = Fetch("PUT", *url, "HELLO", {{"x-amz-content-sha256", digest}});
  EXPECT_EQ(wrong, 400) << wrong_body;
  EXPECT_NE(wrong_body.find("XAmzContentSHA256Mismatch"), std::string::npos) << wrong_body;
  EXPECT_FALSE(*backend_->s3.HeadObject(key));
  EXPECT_EQ(Fetch("PUT", *url, "hello").first, 403);  // header left out
  auto [ok, ok_body] = Fetch("PUT", *url, "hello", {{"x-amz-content-sha256", digest}});
  EXPECT_EQ(ok, 200) << ok_body;
}

TEST_F(RgwTest, WrongSecretIsPermissionDeniedAndNeverQuoted) {
  S3Config wrong = config_;
  wrong.credentials.secret_access_key = "WrongSecretValue42";
  CurlS3Client client(wrong);
  StringBody body("x");
  Status put = client.PutObject(Key("denied"), body, {});
  EXPECT_EQ(put.code(), Code::kPermissionDenied) << put.ToString();
  EXPECT_NE(put.message().find("SignatureDoesNotMatch"), std::string::npos) << put.ToString();
  EXPECT_EQ(put.ToString().find("WrongSecretValue42"), std::string::npos);
  EXPECT_EQ(client.CheckBucket().code(), Code::kPermissionDenied);
  EXPECT_EQ(client.CheckBucket().ToString().find("WrongSecretValue42"), std::string::npos);

  S3Config no_bucket = config_;
  no_bucket.bucket = "no-such-bucket-" + std::to_string(::getpid());
  EXPECT_EQ(CurlS3Client(no_bucket).CheckBucket().code(), Code::kNotFound);
  EXPECT_TRUE(backend_->curl.CheckBucket().ok());
}

TEST_F(RgwTest, ListingPagesWithContinuationAndRangedGet) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Put(Key("list/" + std::to_string(i)), std::string(i + 1, 'a' + i)).ok());
  std::vector<std::string> keys;
  std::optional<std::string> token;
  int pages = 0;
  do {
    Result<ListPage> page = backend_->s3.ListObjectsV2(Key("list/"), token, 2);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const ObjectInfo& o : page->objects) keys.push_back(o.key);
    token = page->next_token;
    ++pages;
  } while (token.has_value());
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_EQ(keys.front(), Key("list/0"));

  auto part = backend_->s3.GetObject(Key("list/4"), ByteRange{1, 3});
  ASSERT_TRUE(part.ok() && part->has_value()) << part.status().ToString();
  EXPECT_EQ(*ReadAllObject(***part, 100), "eee");
  EXPECT_EQ(backend_->s3.GetObject(Key("list/4"), ByteRange{50, std::nullopt}).status().code(),
            Code::kInvalidArgument);
}

TEST_F(RgwTest, LargeBlobUsesParallelMultipartAndStaleUploadsAreAborted) {
  S3BlobStoreOptions options;
  options.prefix = backend_->prefix;
  options.part_size = 5 << 20;
  S3BlobStore store(backend_->s3, backend_->clock, options);
  const Bytes data = store::MakeContent((21 << 20) + 5, Content::kRandom);
  Result<store::BlobInfo> info = store::WriteBlob(store, data, std::nullopt, 1 << 20);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  Result<std::optional<ObjectInfo>> head = backend_->s3.HeadObject(store.KeyFor(info->digest));
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_NE((*head)->etag.find("-5"), std::string::npos) << (*head)->etag;  // five parts
  Result<std::optional<Bytes>> back = store::ReadBlob(store, info->digest);
  ASSERT_TRUE(back.ok() && back->has_value());
  EXPECT_TRUE(**back == data);

  // An upload a crashed writer left behind.
  Result<std::string> id = backend_->s3.CreateMultipartUpload(store.KeyFor(info->digest) + "x");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*store.AbortStaleUploads(std::chrono::hours(1)), 0);
  sleep(2);  // RGW stamps uploads with whole seconds
  Result<int> aborted = store.AbortStaleUploads(std::chrono::seconds(1));
  ASSERT_TRUE(aborted.ok()) << aborted.status().ToString();
  EXPECT_EQ(*aborted, 1);
  Result<UploadsPage> left = backend_->s3.ListMultipartUploads(backend_->prefix, std::nullopt, std::nullopt);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->uploads.empty());
}

// Two nodes on one bucket: what the first writes through, the second (an
// empty local disk) reads through, once, into its own local tier.
TEST_F(RgwTest, TieredNodeWithAnEmptyDiskReadsThroughWhatAnotherWrote) {
  TieredRgw first(config_, backend_->prefix);
  TieredRgw second(config_, backend_->prefix);
  const Bytes data = store::MakeContent((9 << 20) + 7, Content::kRandom);  // multipart
  Result<store::BlobInfo> info = store::WriteBlob(*first.tiered, data, std::nullopt, 1 << 20);
  ASSERT_TRUE(info.ok()) << info.status().ToString();

  ASSERT_FALSE(*second.local->Stat(info->digest));
  auto reader = second.tiered->Open(info->digest);
  ASSERT_TRUE(reader.ok() && reader->has_value()) << reader.status().ToString();
  Result<Bytes> got = store::ReadRest(***reader);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == data);
  EXPECT_TRUE(second.local->Stat(info->digest)->has_value());

  // A write of the same bytes on the second node finds the object in the
  // bucket (no upload: counted in tiered_blob_store_test.cc) and succeeds.
  Result<store::BlobInfo> again = store::WriteBlob(*second.tiered, data);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->digest, info->digest);
}

}  // namespace
}  // namespace cellar::s3
