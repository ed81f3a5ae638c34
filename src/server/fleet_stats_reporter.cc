#include "server/fleet_stats_reporter.h"

#include "base/log.h"

namespace cellar::server {

FleetStatsReporter::FleetStatsReporter(redis::FleetStats& stats, TotalsFn totals, metrics::Registry& registry,
                                       std::chrono::milliseconds interval)
    : stats_(stats),
      totals_(std::move(totals)),
      nodes_(registry.AddGauge("cellar_fleet_nodes",
                               "Nodes whose totals are in Redis (fleet mode); 0 while Redis does not answer.", {})
                 .With({})),
      entries_(registry.AddGauge("cellar_fleet_entries", "Entries in the local tiers of every node, summed.", {})
                   .With({})),
      stored_bytes_(registry
                        .AddGauge("cellar_fleet_stored_bytes",
                                  "Bytes stored in the local tiers of every node, summed.", {})
                        .With({})),
      ticker_(interval, Ticker::First::kAtOnce, [this] { ReportOnce(); }) {}

FleetStatsReporter::~FleetStatsReporter() { Stop(); }

void FleetStatsReporter::Start() { ticker_.Start(); }

void FleetStatsReporter::Stop() { ticker_.Stop(); }

void FleetStatsReporter::ReportOnce() {
  Result<redis::NodeTotals> mine = totals_();
  if (mine.ok()) {
    // A failed publish shows in the read below (Redis down) or is this
    // node's index failing, which the node's own stats report.
    (void)stats_.Publish(*mine);
  }
  Result<std::vector<redis::NodeTotals>> nodes = stats_.Read();
  nlohmann::json view;
  if (!nodes.ok()) {
    view = {{"available", false}, {"error", nodes.error().message()}};
    nodes_.Set(0);
  } else {
    const redis::NodeTotals sum = redis::SumOf(*nodes);
    view = {{"available", true},          {"nodes", nodes->size()},           {"entries", sum.entries},
            {"blobs", sum.blobs},         {"stored_bytes", sum.stored_bytes}, {"max_bytes", sum.max_bytes},
            {"per_node", nlohmann::json::array()}};
    for (const redis::NodeTotals& n : *nodes) {
      view["per_node"].push_back({{"node", n.node},
                                  {"entries", n.entries},
                                  {"blobs", n.blobs},
                                  {"stored_bytes", n.stored_bytes},
                                  {"max_bytes", n.max_bytes},
                                  {"reported_ms", n.at_ms}});
    }
    nodes_.Set(static_cast<double>(nodes->size()));
    entries_.Set(static_cast<double>(sum.entries));
    stored_bytes_.Set(static_cast<double>(sum.stored_bytes));
  }
  std::lock_guard lock(mu_);
  view_ = std::move(view);
}

nlohmann::json FleetStatsReporter::View() const {
  std::lock_guard lock(mu_);
  return view_;
}

}  // namespace cellar::server
