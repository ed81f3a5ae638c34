#include "store/s3/metered_s3_client.h"

#include <gtest/gtest.h>

#include "env/clock.h"
#include "store/s3/fake_s3_client.h"
#include "trace/collecting_exporter.h"
#include "trace/current_span.h"

namespace cellar::s3 {
namespace {

class MeteredS3ClientTest : public ::testing::Test {
 protected:
  std::string Text() { return registry_.RenderText(); }

  env::FakeClock clock_;
  FakeS3Client fake_{clock_};
  metrics::Registry registry_;
  MeteredS3Client client_{fake_, registry_, clock_};
};

bool Has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST_F(MeteredS3ClientTest, CountsRequestsByOperationAndResult) {
  StringBody body("twelve bytes");
  ASSERT_TRUE(client_.PutObject("k", body, {}).ok());
  ASSERT_TRUE(client_.HeadObject("k").ok());
  ASSERT_FALSE(*client_.HeadObject("absent"));
  ASSERT_FALSE(*client_.GetObject("absent", std::nullopt));
  fake_.FailNext(S3Op::kPut, Status::Unavailable("connection refused"));
  ASSERT_FALSE(client_.PutObject("k2", body, {}).ok());
  ASSERT_TRUE(client_.DeleteObject("k").ok());
  const std::string text = Text();
  EXPECT_TRUE(Has(text, R"(cellar_s3_requests_total{operation="put",result="ok"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(cellar_s3_requests_total{operation="put",result="Unavailable"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(cellar_s3_requests_total{operation="head",result="ok"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(cellar_s3_requests_total{operation="head",result="miss"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(cellar_s3_requests_total{operation="get",result="miss"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(cellar_s3_requests_total{operation="delete",result="ok"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(cellar_s3_request_seconds_count{operation="put"} 2)")) << text;
  EXPECT_TRUE(Has(text, R"(cellar_s3_request_seconds_count{operation="head"} 2)")) << text;
}

TEST_F(MeteredS3ClientTest, InATracedScopeEachRequestIsAClientSpan) {
  std::vector<trace::SpanData> exported;
  metrics::Registry trace_registry;
  trace::Tracer tracer(trace::TracerOptions{}, std::make_unique<trace::CollectingExporter>(exported), trace_registry);
  const trace::TraceContext request = tracer.StartServerSpan(std::nullopt);
  StringBody outside("bytes");
  ASSERT_TRUE(client_.PutObject("outside", outside, {}).ok());  // no scope: no span
  {
    trace::CurrentScope scope(&tracer, &request);
    StringBody body("bytes");
    ASSERT_TRUE(client_.PutObject("blobs/abc", body, {}).ok());
    fake_.FailNext(S3Op::kHead, Status::Unavailable("connection refused"));
    ASSERT_FALSE(client_.HeadObject("blobs/def").ok());
  }
  tracer.Flush();
  ASSERT_EQ(exported.size(), 2u);
  EXPECT_EQ(exported[0].name, "S3 put");
  EXPECT_EQ(exported[0].kind, trace::SpanKind::kClient);
  EXPECT_EQ(exported[0].context.trace_id, request.trace_id);
  EXPECT_EQ(exported[0].parent, request.span_id);
  EXPECT_FALSE(exported[0].error);
  bool keyed = false;
  for (const auto& a : exported[0].attributes) keyed |= a.key == "aws.s3.key";
  EXPECT_TRUE(keyed);
  EXPECT_EQ(exported[1].name, "S3 head");
  EXPECT_TRUE(exported[1].error);
  EXPECT_EQ(exported[1].status_message, "connection refused");
}

TEST_F(MeteredS3ClientTest, CountsBytesUploadedAndDownloaded) {
  StringBody body(std::string(1000, 'x'));
  ASSERT_TRUE(client_.PutObject("k", body, {}).ok());
  fake_.FailNext(S3Op::kPut, Status::Unavailable("refused"));
  ASSERT_FALSE(client_.PutObject("k", body, {}).ok());  // not counted: not stored
  auto got = client_.GetObject("k", ByteRange{100, 400});
  ASSERT_TRUE(got.ok() && *got);
  auto bytes = ReadAllObject(***got, 1 << 20);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 400u);
  const std::string text = Text();
  EXPECT_TRUE(Has(text, R"(cellar_s3_bytes_total{direction="upload"} 1000)")) << text;
  EXPECT_TRUE(Has(text, R"(cellar_s3_bytes_total{direction="download"} 400)")) << text;
}

}  // namespace
}  // namespace cellar::s3
