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

// Issue 13, defect 2: label values that come from clients (an HTTP method)
// made one permanent series each. Past the cap they share one "other" series.
TEST(MetricsTest, LabelSetsBeyondTheCapFoldIntoOneOtherSeries) {
  Registry r;
  auto& c = r.AddCounter("reqs", "Requests.", {"route", "method"}, /*max_series=*/3);
  c.With({"a", "GET"}).Inc();
  c.With({"a", "PUT"}).Inc();
  c.With({"b", "GET"}).Inc();
  for (int i = 0; i < 10'000; ++i) c.With({"a", "X" + std::to_string(i)}).Inc();
  c.With({"a", "GET"}).Inc();  // existing sets keep counting on their own
  EXPECT_EQ(c.series_count(), 4u);  // three kept plus the overflow series
  EXPECT_EQ(c.folded(), 10'000u);
  std::string text = r.RenderText();
  EXPECT_NE(text.find("reqs{route=\"a\",method=\"GET\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("reqs{route=\"other\",method=\"other\"} 10000"), std::string::npos) << text;
  EXPECT_EQ(text.find("X1"), std::string::npos);
  EXPECT_NE(text.find("cellar_metric_series_folded_total{metric=\"reqs\"} 10000"), std::string::npos)
      << text;
}

TEST(MetricsTest, EveryFamilyHasADefaultCap) {
  Registry r;
  auto& g = r.AddGauge("g", "Gauge.", {"k"});
  auto& h = r.AddHistogram("h", "Histogram.", {"k"}, {1.0});
  for (size_t i = 0; i < kDefaultMaxSeries + 500; ++i) {
    g.With({std::to_string(i)}).Set(1);
    h.With({std::to_string(i)}).Observe(0.5);
  }
  EXPECT_EQ(g.series_count(), kDefaultMaxSeries + 1);
  EXPECT_EQ(h.series_count(), kDefaultMaxSeries + 1);
  EXPECT_EQ(g.folded(), 500u);
}

TEST(MetricsTest, NoFoldedSeriesBelowTheCap) {
  Registry r;
  r.AddCounter("c", "C.", {"k"}).With({"x"}).Inc();
  EXPECT_EQ(r.RenderText().find("cellar_metric_series_folded_total"), std::string::npos);
}

}  // namespace
}  // namespace cellar::metrics
