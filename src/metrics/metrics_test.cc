#include "metrics/metrics.h"

#include <gtest/gtest.h>

namespace cellar::metrics {
namespace {

TEST(MetricsTest, RendersCountersWithLabels) {
  Registry r;
  auto& c = r.AddCounter("cellar_requests_total", "Requests.", {"route", "status"});
  c.With({"bazel", "200"}).Inc(3);
  std::string text = r.RenderText();
  EXPECT_NE(text.find("# TYPE cellar_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("cellar_requests_total{route=\"bazel\",status=\"200\"} 3"),
            std::string::npos);
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Registry r;
  auto& h = r.AddHistogram("lat", "Latency.", {}, {0.1, 1});
  h.With({}).Observe(0.05);
  h.With({}).Observe(0.5);
  h.With({}).Observe(5);
  std::string text = r.RenderText();
  EXPECT_NE(text.find("lat_bucket{le=\"0.1\"} 1"), std::string::npos);
  EXPECT_NE(text.find("lat_bucket{le=\"1\"} 2"), std::string::npos);
  EXPECT_NE(text.find("lat_bucket{le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("lat_count 3"), std::string::npos);
}

TEST(MetricsTest, CollectHooksRunBeforeRender) {
  Registry r;
  auto& g = r.AddGauge("store_bytes", "Bytes.", {});
  r.AddCollectHook([&] { g.With({}).Set(42); });
  EXPECT_NE(r.RenderText().find("store_bytes 42"), std::string::npos);
}

}  // namespace
}  // namespace cellar::metrics
