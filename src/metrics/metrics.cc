#include "metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "base/log.h"
#include "base/strings.h"

namespace cellar::metrics {

namespace {

template <typename A>
void AtomicAdd(A& a, double d) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string LabelText(const std::vector<std::string>& names, const Labels& values,
                      const std::string& extra = {}) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (!out.empty()) out += ",";
    out += names[i] + "=\"" + EscapeLabel(values[i]) + "\"";
  }
  if (!extra.empty()) {
    if (!out.empty()) out += ",";
    out += extra;
  }
  return out.empty() ? out : "{" + out + "}";
}

// Shortest text that reads back as the same double.
std::string FormatDouble(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

}  // namespace

void ReportSeriesCapReached(const std::string& family, size_t cap) {
  Log(LogLevel::kWarn, "metric reached its series cap; new label sets are counted as \"other\"",
      "\"metric\":\"" + JsonEscape(family) + "\",\"max_series\":" + std::to_string(cap));
}

void Gauge::Add(double d) { AtomicAdd(value_, d); }

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_->begin(), bounds_->end(), v) - bounds_->begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::Snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const {
  cumulative->assign(bounds_->size() + 1, 0);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    (*cumulative)[i] = running;
  }
  *sum = sum_.load(std::memory_order_relaxed);
  *count = running;
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> labels, size_t max_series) {
  std::lock_guard lock(mu_);
  counters_.push_back(std::make_unique<Family<Counter>>(std::move(name), std::move(help),
                                                        std::move(labels),
                                                        std::vector<double>{}, max_series));
  return *counters_.back();
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help,
                                  std::vector<std::string> labels, size_t max_series) {
  std::lock_guard lock(mu_);
  gauges_.push_back(std::make_unique<Family<Gauge>>(std::move(name), std::move(help),
                                                    std::move(labels), std::vector<double>{},
                                                    max_series));
  return *gauges_.back();
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<std::string> labels,
                                          std::vector<double> bounds, size_t max_series) {
  std::lock_guard lock(mu_);
  histograms_.push_back(std::make_unique<Family<Histogram>>(
      std::move(name), std::move(help), std::move(labels), std::move(bounds), max_series));
  return *histograms_.back();
}

void Registry::AddCollectHook(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  hooks_.push_back(std::move(hook));
}

std::string Registry::RenderText() const {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lock(mu_);
    hooks = hooks_;
  }
  for (auto& h : hooks) h();
  std::ostringstream out;
  std::lock_guard lock(mu_);
  for (const auto& f : counters_) {
    out << "# HELP " << f->name() << " " << f->help() << "\n# TYPE " << f->name() << " counter\n";
    f->Visit([&](const Labels& l, const Counter& c) {
      out << f->name() << LabelText(f->label_names(), l) << " " << c.value() << "\n";
    });
  }
  for (const auto& f : gauges_) {
    out << "# HELP " << f->name() << " " << f->help() << "\n# TYPE " << f->name() << " gauge\n";
    f->Visit([&](const Labels& l, const Gauge& g) {
      out << f->name() << LabelText(f->label_names(), l) << " " << FormatDouble(g.value()) << "\n";
    });
  }
  for (const auto& f : histograms_) {
    out << "# HELP " << f->name() << " " << f->help() << "\n# TYPE " << f->name()
        << " histogram\n";
    f->Visit([&](const Labels& l, const Histogram& h) {
      std::vector<uint64_t> cumulative;
      double sum;
      uint64_t count;
      h.Snapshot(&cumulative, &sum, &count);
      for (size_t i = 0; i < cumulative.size(); ++i) {
        std::string le = i < f->bounds().size() ? FormatDouble(f->bounds()[i]) : "+Inf";
        out << f->name() << "_bucket" << LabelText(f->label_names(), l, "le=\"" + le + "\"")
            << " " << cumulative[i] << "\n";
      }
      out << f->name() << "_sum" << LabelText(f->label_names(), l) << " " << FormatDouble(sum)
          << "\n";
      out << f->name() << "_count" << LabelText(f->label_names(), l) << " " << count << "\n";
    });
  }
  // Only families that hit their cap appear; the series exists from the
  // first fold on.
  std::string folded;
  auto add_folded = [&folded](const std::string& name, uint64_t n) {
    if (n) folded += "cellar_metric_series_folded_total{metric=\"" + name + "\"} " + std::to_string(n) + "\n";
  };
  for (const auto& f : counters_) add_folded(f->name(), f->folded());
  for (const auto& f : gauges_) add_folded(f->name(), f->folded());
  for (const auto& f : histograms_) add_folded(f->name(), f->folded());
  if (!folded.empty()) {
    out << "# HELP cellar_metric_series_folded_total New label sets counted in a metric's \"other\" "
           "series because the metric holds its maximum number of series.\n"
           "# TYPE cellar_metric_series_folded_total counter\n"
        << folded;
  }
  return out.str();
}

std::vector<double> LatencyBucketsSeconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
}

}  // namespace cellar::metrics
