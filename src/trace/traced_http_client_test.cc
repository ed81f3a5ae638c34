#include "trace/traced_http_client.h"

#include <gtest/gtest.h>

#include "env/fake_http_client.h"
#include "trace/collecting_exporter.h"
#include "trace/current_span.h"
#include "trace/tracer.h"

namespace cellar::trace {
namespace {

const Attribute* Find(const SpanData& span, std::string_view key) {
  for (const auto& a : span.attributes) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

TEST(TracedHttpClientTest, InAScopeTheUpstreamCallIsAChildSpanAndCarriesItsTraceparent) {
  std::vector<SpanData> exported;
  metrics::Registry registry;
  Tracer tracer(TracerOptions{}, std::make_unique<CollectingExporter>(exported), registry);
  env::FakeHttpClient upstream;
  upstream.Set("http://registry.test/left-pad", env::FakeReply::Ok("{\"name\":\"left-pad\"}"));
  upstream.Set("http://registry.test/down", env::FakeReply::WithStatus(503));
  TracedHttpClient client(upstream);
  const TraceContext request = tracer.StartServerSpan(std::nullopt);
  {
    CurrentScope scope(&tracer, &request);
    auto response = client.Send(env::GetRequest("http://registry.test/left-pad"));
    ASSERT_TRUE(response.ok());
    ASSERT_TRUE(env::ReadAll(**response, 1024).ok());
    response->reset();  // the span ends with the body
    ASSERT_TRUE(client.Send(env::GetRequest("http://registry.test/down")).ok());
    EXPECT_FALSE(client.Send(env::GetRequest("http://registry.test/refused")).ok());
  }
  tracer.Flush();
  ASSERT_EQ(exported.size(), 3u);
  const SpanData& fetch = exported[0];
  EXPECT_EQ(fetch.name, "upstream GET");
  EXPECT_EQ(fetch.kind, SpanKind::kClient);
  EXPECT_EQ(fetch.context.trace_id, request.trace_id);
  EXPECT_EQ(fetch.parent, request.span_id);
  EXPECT_FALSE(fetch.error);
  EXPECT_EQ(std::get<int64_t>(Find(fetch, "http.response.body.size")->value), 19);
  auto sent = upstream.calls()[0].Header("traceparent");
  ASSERT_TRUE(sent);
  auto parsed = ParseTraceparent(*sent);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->trace_id, request.trace_id);
  EXPECT_EQ(parsed->span_id, fetch.context.span_id);  // the upstream's parent is the client span
  EXPECT_TRUE(parsed->sampled);
  EXPECT_TRUE(exported[1].error);  // 503
  EXPECT_EQ(std::get<int64_t>(Find(exported[1], "http.response.status_code")->value), 503);
  EXPECT_TRUE(exported[2].error);  // refused
}

TEST(CurrentScopeTest, LogLinesOfASampledTraceCarryItsIds) {
  std::vector<SpanData> exported;
  metrics::Registry registry;
  Tracer tracer(TracerOptions{}, std::make_unique<CollectingExporter>(exported), registry);
  TraceContext sampled = *ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  TraceContext unsampled = sampled;
  unsampled.sampled = false;
  EXPECT_EQ(CurrentLogFields(), "");
  {
    CurrentScope scope(&tracer, &sampled);
    EXPECT_EQ(CurrentLogFields(),
              "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"span_id\":\"00f067aa0ba902b7\"");
    {
      CurrentScope inner(&tracer, &unsampled);
      EXPECT_EQ(CurrentLogFields(), "");
    }
    {
      CurrentScope hidden(nullptr, nullptr);
      EXPECT_EQ(CurrentLogFields(), "");
    }
    EXPECT_NE(CurrentLogFields().find("4bf92f35"), std::string_view::npos);
  }
  EXPECT_EQ(CurrentLogFields(), "");
}

TEST(TracedHttpClientTest, OutsideAScopeNothingIsAddedAndUnsampledTracesStillPropagate) {
  std::vector<SpanData> exported;
  metrics::Registry registry;
  Tracer tracer(TracerOptions{}, std::make_unique<CollectingExporter>(exported), registry);
  env::FakeHttpClient upstream;
  upstream.Set("http://registry.test/x", env::FakeReply::Ok("x"));
  TracedHttpClient client(upstream);
  ASSERT_TRUE(client.Send(env::GetRequest("http://registry.test/x")).ok());
  EXPECT_FALSE(upstream.calls()[0].Header("traceparent"));
  TraceContext unsampled = tracer.StartServerSpan(std::nullopt);
  unsampled.sampled = false;
  {
    CurrentScope scope(&tracer, &unsampled);
    ASSERT_TRUE(client.Send(env::GetRequest("http://registry.test/x")).ok());
    CurrentScope hidden(nullptr, nullptr);
    EXPECT_EQ(Current(), nullptr);
  }
  EXPECT_EQ(Current(), nullptr);
  tracer.Flush();
  EXPECT_TRUE(exported.empty());
  auto sent = upstream.calls()[1].Header("traceparent");
  ASSERT_TRUE(sent);
  EXPECT_TRUE(sent->ends_with("-00"));
}

}  // namespace
}  // namespace cellar::trace
