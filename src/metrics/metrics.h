// Prometheus-style metrics: counters, gauges and histograms with labels,
// rendered in the text exposition format at /metrics.
//
// Families are created once at wiring time and held by reference; looking up
// a labelled child takes a mutex, incrementing it is a relaxed atomic.
// Each family holds at most `max_series` label sets: label values can come
// from clients (a method, a path piece), and every new set is kept until the
// process exits. Past the cap, new sets fold into one series whose labels
// are all "other"; the fold is counted (cellar_metric_series_folded_total)
// and logged once per family.
// Thread-safety: everything is safe to call from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <algorithm>
#include <functional>
#include <initializer_list>
#include <string_view>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cellar::metrics {

using Labels = std::vector<std::string>;  // values, in the family's label order

// Label sets a family keeps unless it is given another cap.
constexpr size_t kDefaultMaxSeries = 2000;
// Label value of the series that collects label sets beyond the cap.
inline constexpr std::string_view kOverflowLabel = "other";

// Logs, once per family, that it reached its cap (metrics.cc).
void ReportSeriesCapReached(const std::string& family, size_t cap);

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double v);
  // Snapshot: cumulative bucket counts (one per bound, plus +Inf), sum, count.
  void Snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const;

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

enum class Kind { kCounter, kGauge, kHistogram };

// A named metric with a fixed list of label names and one child per label set.
template <typename T>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {}, size_t max_series = kDefaultMaxSeries)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)),
        bounds_(std::move(bounds)), max_series_(std::max<size_t>(1, max_series)) {}

  // Returns the child for these label values, creating it on first use.
  // Finding an existing child allocates nothing (hot path). When the family
  // already holds max_series label sets, a new set gets the overflow child
  // (every label "other"), which may be one series beyond the cap.
  // REQUIRES: values.size() == label names size.
  T& With(std::initializer_list<std::string_view> values) {
    std::lock_guard lock(mu_);
    auto it = children_.find(values);
    if (it != children_.end()) return *it->second;
    if (children_.size() < max_series_) {
      return *children_.emplace(Labels(values.begin(), values.end()), MakeChild()).first->second;
    }
    if (folded_.fetch_add(1, std::memory_order_relaxed) == 0) ReportSeriesCapReached(name_, max_series_);
    Labels other(values.size(), std::string(kOverflowLabel));
    it = children_.find(other);
    if (it == children_.end()) it = children_.emplace(std::move(other), MakeChild()).first;
    return *it->second;
  }

  void Visit(const std::function<void(const Labels&, const T&)>& fn) const {
    std::lock_guard lock(mu_);
    for (const auto& [labels, child] : children_) fn(labels, *child);
  }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  const std::vector<double>& bounds() const { return bounds_; }
  size_t max_series() const { return max_series_; }
  // Lookups of new label sets that were folded into the overflow series.
  uint64_t folded() const { return folded_.load(std::memory_order_relaxed); }
  size_t series_count() const {
    std::lock_guard lock(mu_);
    return children_.size();
  }

 private:
  std::unique_ptr<T> MakeChild() {
    if constexpr (std::is_same_v<T, Histogram>) {
      return std::make_unique<T>(&bounds_);
    } else {
      return std::make_unique<T>();
    }
  }

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;
  const size_t max_series_;
  std::atomic<uint64_t> folded_{0};
  mutable std::mutex mu_;
  // Orders label lists of strings or string_views alike, so lookups by
  // string_view need no temporary vector<string>.
  struct LabelsLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(),
          [](const auto& x, const auto& y) { return std::string_view(x) < std::string_view(y); });
    }
  };
  std::map<Labels, std::unique_ptr<T>, LabelsLess> children_;  // GUARDED_BY(mu_)
};

// Owns every family; renders them all.
class Registry {
 public:
  // `max_series` caps the label sets of the family (see the top of this file).
  Family<Counter>& AddCounter(std::string name, std::string help, std::vector<std::string> labels,
                              size_t max_series = kDefaultMaxSeries);
  Family<Gauge>& AddGauge(std::string name, std::string help, std::vector<std::string> labels,
                          size_t max_series = kDefaultMaxSeries);
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> labels, std::vector<double> bounds,
                                  size_t max_series = kDefaultMaxSeries);
  // Hooks run before rendering, e.g. to refresh store-size gauges.
  void AddCollectHook(std::function<void()> hook);

  std::string RenderText() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family<Counter>>> counters_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauges_;
  std::vector<std::unique_ptr<Family<Histogram>>> histograms_;
  std::vector<std::function<void()>> hooks_;
};

// Latency buckets in seconds, from 100 µs to 60 s.
std::vector<double> LatencyBucketsSeconds();

}  // namespace cellar::metrics
