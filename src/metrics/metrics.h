// Prometheus-style metrics: counters, gauges and histograms with labels,
// rendered in the text exposition format at /metrics.
//
// Families are created once at wiring time and held by reference; looking up
// a labelled child takes a mutex, incrementing it is a relaxed atomic.
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
         std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}

  // Returns the child for these label values, creating it on first use.
  // Finding an existing child allocates nothing (hot path).
  // REQUIRES: values.size() == label names size.
  T& With(std::initializer_list<std::string_view> values) {
    std::lock_guard lock(mu_);
    auto it = children_.find(values);
    if (it == children_.end()) {
      it = children_.emplace(Labels(values.begin(), values.end()), MakeChild()).first;
    }
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
  Family<Counter>& AddCounter(std::string name, std::string help, std::vector<std::string> labels);
  Family<Gauge>& AddGauge(std::string name, std::string help, std::vector<std::string> labels);
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> labels, std::vector<double> bounds);
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
