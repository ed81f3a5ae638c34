// The dashboard (docs/dashboard.md): /ui/ serves the page's files from the
// binary (public: they hold no data), and the JSON it reads, which scripts
// can use too, behind the admin scope:
//   GET /api/v1/history?range=1h|24h|7d   requests, hit rate, bytes served
//       from cache and fetched upstream, per protocol and over time
//   GET /api/v1/upstreams                 per upstream host: requests,
//       errors, bytes, latency p50/p99, last success and last error
// (/api/v1/stats, the store per namespace, is in ops_routes.h.)
#pragma once

#include "http/router.h"
#include "protocols/common/protocol.h"
#include "stats/history.h"

namespace cellar::server {

void RegisterDashboardRoutes(http::Router& router, const protocols::ProtocolContext& ctx, stats::History& history);

}  // namespace cellar::server
