// Operational endpoints: /healthz (process alive), /readyz (accepting work;
// 503 while draining or, with --storage s3, while the bucket cannot be
// reached), /metrics (Prometheus text) and /api/v1/stats (JSON view of the
// store). Admin scope is required for /api/ when tokens exist.
#pragma once

#include <functional>

#include "core/cache_service.h"
#include "http/router.h"
#include "metrics/metrics.h"
#include "protocols/common/protocol.h"
#include "server/reachability_probe.h"

namespace cellar::server {

class FleetStatsReporter;

struct OpsOptions {
  std::function<bool()> draining;
  std::string node_id;  // reported by /api/v1/stats
  // With --storage s3: whether the bucket answers. A node that cannot reach
  // it acknowledges no write and misses everything its disk lacks, so it is
  // not ready; the probe's checks run on ctx.workers. Null: no bucket.
  ReachabilityProbe* bucket = nullptr;
  // With --redis-url: the fleet's totals, reported by /api/v1/stats as
  // "fleet" (from memory; the reporter's own thread talks to Redis).
  const FleetStatsReporter* fleet = nullptr;
};

void RegisterOpsRoutes(http::Router& router, const protocols::ProtocolContext& ctx, metrics::Registry& registry,
                       OpsOptions options);

}  // namespace cellar::server
