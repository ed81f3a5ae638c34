// CurlS3Client against a scripted HTTP server on loopback: what it sends
// (signature, x-amz-content-sha256, canonical query strings) and how it
// reads answers and errors. Credentials must never reach a message.
#include "store/s3/curl_s3_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

namespace cellar::s3 {
namespace {

constexpr char kSecret[] = "SuperSecretKey123";
constexpr char kToken[] = "SessionToken999";

// Answers each connection with the next scripted response, then closes it.
class ScriptedServer {
 public:
  ScriptedServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] { Loop(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void Respond(std::string raw) {
    std::lock_guard lock(mu_);
    responses_.push_back(std::move(raw));
  }
  void Respond(int status, const std::string& body, const std::string& extra_headers = "") {
    Respond("HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body);
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string req;
      char buf[65536];
      size_t head_end = std::string::npos;
      while (head_end == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, n);
        head_end = req.find("\r\n\r\n");
      }
      size_t want = 0;
      if (size_t cl = req.find("Content-Length: "); cl != std::string::npos && cl < head_end) {
        want = std::stoul(req.substr(cl + 16));
      }
      while (head_end != std::string::npos && req.size() < head_end + 4 + want) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, n);
      }
      std::string response;
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
        if (!responses_.empty()) {
          response = responses_.front();
          responses_.pop_front();
        }
      }
      for (size_t off = 0; off < response.size();) {
        ssize_t n = ::write(c, response.data() + off, response.size() - off);
        if (n <= 0) break;
        off += n;
      }
      ::close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::deque<std::string> responses_;  // GUARDED_BY(mu_)
  std::vector<std::string> requests_;  // GUARDED_BY(mu_)
};

std::string ErrorXml(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>" + message +
         "</Message><RequestId>r1</RequestId></Error>";
}

class CurlS3ClientTest : public ::testing::Test {
 protected:
  CurlS3ClientTest() {
    config_.endpoint = server_.endpoint();
    config_.bucket = "bkt";
    config_.credentials = {"AKID", kSecret, kToken};
  }
  CurlS3Client Client() { return CurlS3Client(config_, CurlS3Options{std::chrono::milliseconds(2000), std::chrono::milliseconds(2000)}); }

  static void ExpectNoSecrets(const std::string& text) {
    EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
    EXPECT_EQ(text.find(kToken), std::string::npos) << text;
  }

  ScriptedServer server_;
  S3Config config_;
};

TEST_F(CurlS3ClientTest, PutIsSignedAndDeclaresItsPayloadHash) {
  server_.Respond(200, "", "ETag: \"e\"\r\n");
  CurlS3Client client = Client();
  StringBody body("hello world");
  ASSERT_TRUE(client.PutObject("dir/a b", body, PutOptions{true}).ok());
  ASSERT_EQ(server_.requests().size(), 1u);
  const std::string req = server_.requests()[0];
  EXPECT_EQ(req.rfind("PUT /bkt/dir/a%20b HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("x-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("Authorization: AWS4-HMAC-SHA256 Credential=AKID/"), std::string::npos) << req;
  EXPECT_NE(req.find("/us-east-1/s3/aws4_request"), std::string::npos) << req;
  EXPECT_NE(req.find("x-amz-security-token: SessionToken999\r\n"), std::string::npos);
  EXPECT_NE(req.find("If-None-Match: *\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\n\r\nhello world"), std::string::npos);
  EXPECT_EQ(req.find(kSecret), std::string::npos);
}

TEST_F(CurlS3ClientTest, ErrorCodeAndMessageComeFromTheXmlBodyNeverCredentials) {
  server_.Respond(403, ErrorXml("SignatureDoesNotMatch", std::string("signature for ") + kSecret + " is wrong"));
  CurlS3Client client = Client();
  StringBody body("x");
  Status s = client.PutObject("k1", body, {});
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_NE(s.message().find("PutObject k1"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("HTTP 403 SignatureDoesNotMatch: signature for [redacted] is wrong"),
            std::string::npos) << s.ToString();
  ExpectNoSecrets(s.ToString());

  server_.Respond(503, ErrorXml("SlowDown", "Please reduce your request rate."));
  Result<std::optional<ObjectInfo>> head = client.HeadObject("k1");
  EXPECT_EQ(head.status().code(), Code::kUnavailable);
  EXPECT_TRUE(IsRetryable(head.status()));
  server_.Respond(412, ErrorXml("PreconditionFailed", ""));
  ASSERT_TRUE(body.Rewind().ok());
  EXPECT_EQ(client.PutObject("k1", body, PutOptions{true}).code(), Code::kAlreadyExists);
}

TEST_F(CurlS3ClientTest, UnreachableServerIsUnavailableWithoutCredentials) {
  config_.endpoint = "http://127.0.0.1:1";
  CurlS3Client client = Client();
  Result<std::optional<ObjectInfo>> head = client.HeadObject("k");
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.error().code(), Code::kUnavailable);
  EXPECT_NE(head.error().message().find("HeadObject k"), std::string::npos);
  ExpectNoSecrets(head.error().ToString());
  EXPECT_EQ(client.CheckBucket().code(), Code::kUnavailable);
}

TEST_F(CurlS3ClientTest, ListSendsACanonicalQueryAndReadsThePage) {
  server_.Respond(200, R"(<ListBucketResult><IsTruncated>true</IsTruncated>
<Contents><Key>p/a</Key><LastModified>2026-12-02T15:00:00.250Z</LastModified><ETag>&quot;x&quot;</ETag><Size>7</Size></Contents>
<Contents><Key>p/b&amp;c</Key><Size>0</Size></Contents>
<NextContinuationToken>1/tok=</NextContinuationToken></ListBucketResult>)");
  CurlS3Client client = Client();
  Result<ListPage> page = client.ListObjectsV2("p/", std::string("0/prev="), 2);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a");
  EXPECT_EQ(page->objects[0].size, 7u);
  EXPECT_EQ(page->objects[0].etag, "\"x\"");
  EXPECT_EQ(page->objects[0].last_modified_unix_ms, 1'796'223'600'250);
  EXPECT_EQ(page->objects[1].key, "p/b&c");
  EXPECT_EQ(page->next_token, "1/tok=");
  EXPECT_EQ(server_.requests()[0].rfind(
                "GET /bkt?continuation-token=0%2Fprev%3D&list-type=2&max-keys=2&prefix=p%2F HTTP/1.1",
                0),
            0u)
      << server_.requests()[0];
}

TEST_F(CurlS3ClientTest, GetStreamsTheBodyAndTellsMissesFromMissingBuckets) {
  std::string big(3 << 20, 'z');
  for (size_t i = 0; i < big.size(); i += 4099) big[i] = static_cast<char>('a' + i % 26);
  server_.Respond(206, big);
  server_.Respond(404, ErrorXml("NoSuchKey", "gone"));
  server_.Respond(404, ErrorXml("NoSuchBucket", "no bucket"));
  CurlS3Client client = Client();
  auto got = client.GetObject("k", ByteRange{10, 20});
  ASSERT_TRUE(got.ok() && got->has_value()) << got.status().ToString();
  EXPECT_EQ((**got)->size(), big.size());
  Result<std::string> all = ReadAllObject(***got, 16 << 20);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_TRUE(*all == big);
  EXPECT_NE(server_.requests()[0].find("Range: bytes=10-29\r\n"), std::string::npos);

  auto miss = client.GetObject("k", std::nullopt);
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());
  auto no_bucket = client.GetObject("k", std::nullopt);
  ASSERT_FALSE(no_bucket.ok());
  EXPECT_EQ(no_bucket.error().code(), Code::kNotFound);
  EXPECT_NE(no_bucket.error().message().find("NoSuchBucket"), std::string::npos);
}

TEST_F(CurlS3ClientTest, BodyCutShortIsAnError) {
  server_.Respond("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\nonly a little");
  CurlS3Client client = Client();
  auto got = client.GetObject("k", std::nullopt);
  ASSERT_TRUE(got.ok() && got->has_value());
  Result<std::string> all = ReadAllObject(***got, 1 << 20);
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error().code(), Code::kUnavailable);
}

TEST_F(CurlS3ClientTest, HeadReadsSizeEtagAndDate) {
  server_.Respond("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nETag: \"abc\"\r\n"
                  "Last-Modified: Wed, 02 Dec 2026 15:00:00 GMT\r\nConnection: close\r\n\r\n");
  server_.Respond("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  CurlS3Client client = Client();
  auto info = client.HeadObject("k");
  ASSERT_TRUE(info.ok() && info->has_value()) << info.status().ToString();
  EXPECT_EQ((*info)->size, 1234u);
  EXPECT_EQ((*info)->etag, "\"abc\"");
  EXPECT_EQ((*info)->last_modified_unix_ms, 1'796'223'600'000);
  auto miss = client.HeadObject("k");
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());
}

TEST_F(CurlS3ClientTest, MultipartRequestsAndAnErrorInsideA200) {
  server_.Respond(200, "<InitiateMultipartUploadResult><UploadId>id/1+</UploadId></InitiateMultipartUploadResult>");
  server_.Respond(200, "", "ETag: \"p1\"\r\n");
  server_.Respond(200, ErrorXml("InternalError", "try again"));
  CurlS3Client client = Client();
  Result<std::string> id = client.CreateMultipartUpload("big");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, "id/1+");
  StringBody part("part-bytes");
  Result<std::string> etag = client.UploadPart("big", *id, 1, part);
  ASSERT_TRUE(etag.ok());
  EXPECT_EQ(*etag, "\"p1\"");
  Status complete = client.CompleteMultipartUpload("big", *id, {{1, *etag}});
  EXPECT_EQ(complete.code(), Code::kUnavailable) << complete.ToString();
  const auto reqs = server_.requests();
  EXPECT_EQ(reqs[0].rfind("POST /bkt/big?uploads= HTTP/1.1", 0), 0u) << reqs[0];
  EXPECT_EQ(reqs[1].rfind("PUT /bkt/big?partNumber=1&uploadId=id%2F1%2B HTTP/1.1", 0), 0u) << reqs[1];
  EXPECT_NE(reqs[2].find("<Part><PartNumber>1</PartNumber><ETag>&quot;p1&quot;</ETag></Part>"),
            std::string::npos);
  // A small body is hashed: its SHA-256 is declared, not UNSIGNED-PAYLOAD.
  EXPECT_NE(reqs[2].find("x-amz-content-sha256: "), std::string::npos);
  EXPECT_EQ(reqs[2].find("UNSIGNED-PAYLOAD"), std::string::npos);
}

TEST(ParseS3TimeTest, IsoAndHttpDates) {
  EXPECT_EQ(ParseS3Time("2026-12-02T15:00:00.000Z"), 1'796'223'600'000);
  EXPECT_EQ(ParseS3Time("2026-12-02T15:00:00Z"), 1'796'223'600'000);
  EXPECT_EQ(ParseS3Time("Wed, 02 Dec 2026 15:00:00 GMT"), 1'796'223'600'000);
  EXPECT_EQ(ParseS3Time("garbage"), 0);
}

}  // namespace
}  // namespace cellar::s3
