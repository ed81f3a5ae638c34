// The name a node goes by in its log lines, /metrics (cellar_node_info) and
// /api/v1/stats, so that the logs and numbers of a fleet's nodes can be put
// side by side. `--node-id` sets it; the default is the host name plus a
// short hash of the data dir's absolute path: stable across restarts, and
// different for two nodes on one machine.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace cellar::server {

// "<hostname>-<8 hex digits of the path's FNV-1a hash>".
std::string DefaultNodeId(std::string_view hostname, std::string_view absolute_data_dir);

// 1 to 64 characters of [A-Za-z0-9._:-] (it goes into log lines and metric
// labels as is); kInvalidArgument otherwise.
Status ValidateNodeId(std::string_view id);

// `configured` when set, else DefaultNodeId() for this machine's host name
// and `data_dir` made absolute.
std::string ResolveNodeId(const std::string& configured, const std::string& data_dir);

}  // namespace cellar::server
