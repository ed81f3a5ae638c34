// The dashboard (docs/dashboard.md): /ui/ serves the page's files from the
// binary (public: they hold no data), and the JSON it reads, which scripts
// can use too, behind the admin scope:
//   GET /api/v1/history?range=1h|24h|7d   requests, hit rate, bytes served
//       from cache and fetched upstream, per protocol and over time
//   GET /api/v1/upstreams                 per upstream host: requests,
//       errors, bytes, latency p50/p99, last success and last error
//   GET /api/v1/git                       mirrors (size, last fetch, clones
//       served), the warm-up schedule and its last run
//   GET /api/v1/fleet                     this node's storage tiers and,
//       with Redis, every node's
// (/api/v1/stats, the store per namespace, is in ops_routes.h.)
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "http/router.h"
#include "protocols/common/protocol.h"
#include "protocols/git/mirror_store.h"
#include "protocols/git/warmup.h"
#include "server/fleet_stats_reporter.h"
#include "stats/history.h"

namespace cellar::server {

// What the git and fleet pages read besides the history; each may be null
// (git off, no warm-up file, no Redis). All must outlive the routes.
struct DashboardSources {
  const git::MirrorStore* mirrors = nullptr;
  const git::Warmer* warmer = nullptr;
  const FleetStatsReporter* fleet = nullptr;
  std::string node_id;
  // This node's tiers beyond the local disk, as /api/v1/fleet shows them
  // ({"shared": ..., "coordination": ...}); never credentials.
  nlohmann::json tiers = nlohmann::json::object();
};

void RegisterDashboardRoutes(http::Router& router, const protocols::ProtocolContext& ctx, stats::History& history,
                             DashboardSources sources = {});

// The JSON of /api/v1/git (blocks on the disk: worker threads only).
nlohmann::json GitJson(const git::MirrorStore* mirrors, const git::Warmer* warmer, int64_t now_ms);

}  // namespace cellar::server
