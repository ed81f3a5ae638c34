// Operational endpoints: /healthz (process alive), /readyz (accepting work;
// 503 while draining), /metrics (Prometheus text) and /api/v1/stats (JSON
// view of the store). Admin scope is required for /api/ when tokens exist.
#pragma once

#include <functional>

#include "core/cache_service.h"
#include "http/router.h"
#include "metrics/metrics.h"
#include "protocols/common/protocol.h"

namespace cellar::server {

void RegisterOpsRoutes(http::Router& router, const protocols::ProtocolContext& ctx,
                       metrics::Registry& registry, std::function<bool()> draining);

}  // namespace cellar::server
