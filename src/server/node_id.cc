#include "server/node_id.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>

namespace cellar::server {

namespace {
bool IsNodeIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-';
}
}  // namespace

std::string DefaultNodeId(std::string_view hostname, std::string_view absolute_data_dir) {
  // FNV-1a: a stable, dependency-free hash; eight hex digits tell the data
  // dirs of one machine apart, which is all this is for.
  uint32_t h = 2166136261u;
  for (unsigned char c : absolute_data_dir) {
    h ^= c;
    h *= 16777619u;
  }
  std::string host;
  for (char c : hostname.substr(0, 48)) host += IsNodeIdChar(c) ? c : '_';
  if (host.empty()) host = "cellar";
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  return host + "-" + hex;
}

Status ValidateNodeId(std::string_view id) {
  if (id.empty() || id.size() > 64) return Status::InvalidArgument("node-id must be 1 to 64 characters");
  for (char c : id) {
    if (!IsNodeIdChar(c)) return Status::InvalidArgument("node-id may hold only letters, digits and . _ : -");
  }
  return Status();
}

std::string ResolveNodeId(const std::string& configured, const std::string& data_dir) {
  if (!configured.empty()) return configured;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(data_dir, ec);
  if (!ec) dir = dir.lexically_normal();
  return DefaultNodeId(host, ec ? data_dir : dir.string());
}

}  // namespace cellar::server
