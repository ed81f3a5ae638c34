#include "trace/tracer.h"

#include <atomic>
#include <future>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "env/fake_http_client.h"
#include "trace/otlp_exporter.h"

namespace cellar::trace {
namespace {

// Collects batches; can be held shut to play a collector that hangs.
class RecordingExporter : public SpanExporter {
 public:
  Status Export(std::span<const SpanData> spans) override {
    gate_.wait();
    if (calls_out_) ++*calls_out_;
    std::lock_guard lock(mu_);
    for (const auto& s : spans) spans_.push_back(s);
    ++batches_;
    return fail_ ? Status::Unavailable("collector down") : Status();
  }
  std::vector<SpanData> spans() {
    std::lock_guard lock(mu_);
    return spans_;
  }
  int batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  std::shared_future<void> gate_ = [] {
    std::promise<void> p;
    p.set_value();
    return p.get_future().share();
  }();
  bool fail_ = false;
  std::atomic<int>* calls_out_ = nullptr;  // outlives the exporter

 private:
  std::mutex mu_;
  std::vector<SpanData> spans_;
  int batches_ = 0;
};

SpanData Finished(const TraceContext& context, std::string name) {
  SpanData span;
  span.context = context;
  span.name = std::move(name);
  return span;
}

double Metric(metrics::Registry& registry, std::string_view series) {
  const std::string text = registry.RenderText();
  auto at = text.find(series);
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + series.size() + 1));
}

TEST(TracerTest, ParentBasedSamplingKeepsTheCallersTraceAndDecision) {
  metrics::Registry registry;
  auto exporter = std::make_unique<RecordingExporter>();
  TracerOptions options;
  options.sampling_ratio = 0.0;  // nothing of our own
  Tracer tracer(options, std::move(exporter), registry);
  auto parent = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  TraceContext joined = tracer.StartServerSpan(parent);
  EXPECT_EQ(joined.trace_id, parent->trace_id);
  EXPECT_NE(joined.span_id, parent->span_id);
  EXPECT_TRUE(joined.sampled);  // the caller sampled it, whatever our ratio
  parent->sampled = false;
  EXPECT_FALSE(tracer.StartServerSpan(parent).sampled);
  EXPECT_FALSE(tracer.StartServerSpan(std::nullopt).sampled);
}

TEST(TracerTest, RatioSamplesAboutThatShareOfNewTraces) {
  metrics::Registry registry;
  TracerOptions options;
  options.sampling_ratio = 0.25;
  Tracer tracer(options, std::make_unique<RecordingExporter>(), registry);
  int sampled = 0;
  for (int i = 0; i < 20000; ++i) sampled += tracer.StartServerSpan(std::nullopt).sampled;
  EXPECT_GT(sampled, 4500);
  EXPECT_LT(sampled, 5500);
  options.sampling_ratio = 1.0;
  Tracer all(options, std::make_unique<RecordingExporter>(), registry);
  EXPECT_TRUE(all.StartServerSpan(std::nullopt).sampled);
}

TEST(TracerTest, ExportsSampledSpansInBatchesAndIgnoresUnsampledOnes) {
  metrics::Registry registry;
  auto owned = std::make_unique<RecordingExporter>();
  RecordingExporter& exporter = *owned;
  TracerOptions options;
  options.max_batch = 4;
  Tracer tracer(options, std::move(owned), registry);
  TraceContext context = tracer.StartServerSpan(std::nullopt);
  for (int i = 0; i < 10; ++i) tracer.Record(Finished(Tracer::StartChildSpan(context), "s" + std::to_string(i)));
  TraceContext unsampled = context;
  unsampled.sampled = false;
  tracer.Record(Finished(unsampled, "not recorded"));
  tracer.Flush();
  auto spans = exporter.spans();
  ASSERT_EQ(spans.size(), 10u);
  EXPECT_EQ(spans.front().name, "s0");
  EXPECT_GE(exporter.batches(), 3);  // at most 4 per batch
  EXPECT_EQ(Metric(registry, "cellar_trace_spans_total{result=\"exported\"}"), 10);
}

TEST(TracerTest, AHungCollectorDropsSpansInsteadOfBlockingTheCaller) {
  metrics::Registry registry;
  auto owned = std::make_unique<RecordingExporter>();
  RecordingExporter& exporter = *owned;
  std::promise<void> release;
  exporter.gate_ = release.get_future().share();
  TracerOptions options;
  options.queue_capacity = 8;
  options.max_batch = 1;
  Tracer tracer(options, std::move(owned), registry);
  TraceContext context = tracer.StartServerSpan(std::nullopt);
  // The thread takes one span and hangs in Export; 8 more fit the queue.
  for (int i = 0; i < 100; ++i) tracer.Record(Finished(Tracer::StartChildSpan(context), "s"));
  const double dropped = Metric(registry, "cellar_trace_spans_total{result=\"dropped\"}");
  EXPECT_GE(dropped, 91);
  EXPECT_LE(dropped, 92);
  release.set_value();
  tracer.Flush();
  EXPECT_EQ(exporter.spans().size() + static_cast<size_t>(dropped), 100u);
}

TEST(TracerTest, FailedExportsAreCounted) {
  metrics::Registry registry;
  auto owned = std::make_unique<RecordingExporter>();
  owned->fail_ = true;
  Tracer tracer(TracerOptions{}, std::move(owned), registry);
  TraceContext context = tracer.StartServerSpan(std::nullopt);
  tracer.Record(Finished(context, "a"));
  tracer.Record(Finished(context, "b"));
  tracer.Flush();
  EXPECT_EQ(Metric(registry, "cellar_trace_spans_total{result=\"failed\"}"), 2);
}

TEST(TracerTest, ShutdownWithAFailingCollectorMakesOneAttempt) {
  metrics::Registry registry;
  auto owned = std::make_unique<RecordingExporter>();
  std::atomic<int> calls{0};
  owned->calls_out_ = &calls;
  owned->fail_ = true;
  std::promise<void> release;
  owned->gate_ = release.get_future().share();
  TracerOptions options;
  options.max_batch = 10;
  {
    Tracer tracer(options, std::move(owned), registry);
    TraceContext context = tracer.StartServerSpan(std::nullopt);
    for (int i = 0; i < 100; ++i) tracer.Record(Finished(Tracer::StartChildSpan(context), "s"));
    std::thread([&release] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      release.set_value();
    }).detach();
  }  // the destructor: the first batch fails, the rest is given up
  EXPECT_LE(calls.load(), 2);  // the tracer and its exporter are gone
  EXPECT_EQ(Metric(registry, "cellar_trace_spans_total{result=\"failed\"}"), 100);
}

TEST(TracerTest, ScopedSpansAreChildrenAndUntracedOnesCostNothing) {
  metrics::Registry registry;
  auto owned = std::make_unique<RecordingExporter>();
  RecordingExporter& exporter = *owned;
  Tracer tracer(TracerOptions{}, std::move(owned), registry);
  TraceContext request = tracer.StartServerSpan(std::nullopt);
  {
    ScopedSpan fetch(&tracer, &request, "upstream fetch", SpanKind::kClient);
    ASSERT_NE(fetch.context(), nullptr);
    EXPECT_EQ(fetch.context()->trace_id, request.trace_id);
    fetch.Set("http.response.status_code", int64_t{502});
    fetch.SetError("bad gateway");
    ScopedSpan untraced(&tracer, nullptr, "no parent");
    EXPECT_EQ(untraced.context(), nullptr);
    untraced.Set("ignored", "x");
    // An unsampled trace: nothing recorded, but a context to send upstream.
    TraceContext unsampled = request;
    unsampled.sampled = false;
    ScopedSpan quiet(&tracer, &unsampled, "unsampled");
    ASSERT_NE(quiet.context(), nullptr);
    EXPECT_EQ(quiet.context()->trace_id, request.trace_id);
    EXPECT_FALSE(quiet.context()->sampled);
    EXPECT_NE(quiet.context()->span_id, request.span_id);
    quiet.Set("ignored", "x");
  }
  tracer.Flush();
  auto spans = exporter.spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "upstream fetch");
  EXPECT_EQ(spans[0].parent, request.span_id);
  EXPECT_EQ(spans[0].kind, SpanKind::kClient);
  EXPECT_TRUE(spans[0].error);
  EXPECT_LE(spans[0].start_unix_ns, spans[0].end_unix_ns);
}

TEST(OtlpHttpExporterTest, PostsJsonToTheTracesPathAndReportsRefusals) {
  EXPECT_EQ(OtlpTracesUrl("http://collector:4318"), "http://collector:4318/v1/traces");
  EXPECT_EQ(OtlpTracesUrl("http://collector:4318/"), "http://collector:4318/v1/traces");
  EXPECT_EQ(OtlpTracesUrl("http://c:4318/v1/traces"), "http://c:4318/v1/traces");
  env::FakeHttpClient client;
  const std::string url = "http://collector:4318/v1/traces";
  client.Set(url, env::FakeReply::Ok("{}"));
  OtlpHttpExporter exporter(client, url, Resource{});
  SpanData span = Finished(Tracer::StartChildSpan({NewTraceId(), NewSpanId(), true}), "GET npm");
  const SpanData spans[] = {span};
  ASSERT_TRUE(exporter.Export(spans).ok());
  auto calls = client.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "POST");
  EXPECT_EQ(calls[0].Header("Content-Type"), "application/json");
  auto body = nlohmann::json::parse(calls[0].body);
  EXPECT_EQ(body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"], "GET npm");

  client.Set(url, env::FakeReply::WithStatus(503));
  auto refused = exporter.Export(spans);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("HTTP 503"), std::string::npos);
  client.Set(url, env::FakeReply::Refuse());
  EXPECT_FALSE(exporter.Export(spans).ok());
}

}  // namespace
}  // namespace cellar::trace
