#include "protocols/turbo/turbo_request.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "protocols/common/keys.h"

namespace cellar::turbo {

namespace {
bool IsTeamChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}
bool IsBase64Char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '=' || c == '-' || c == '_';
}
}  // namespace

Result<std::string> TeamNamespace(std::optional<std::string> team_id, std::optional<std::string> team,
                                  std::optional<std::string> slug, std::string_view default_team) {
  std::string chosen;
  if (team_id && !team_id->empty()) chosen = *team_id;
  else if (team && !team->empty()) chosen = *team;
  else if (slug && !slug->empty()) chosen = *slug;
  else if (!default_team.empty()) chosen = std::string(default_team);
  else return Status::InvalidArgument("a team is required: pass ?teamId=, ?team= or ?slug= (TURBO_TEAM)");
  if (chosen.size() > 100 || chosen == "." || chosen == "..") {
    return Status::InvalidArgument("team name must be 1..100 characters of [A-Za-z0-9._-]");
  }
  for (char c : chosen) {
    if (!IsTeamChar(c)) return Status::InvalidArgument("team name must be 1..100 characters of [A-Za-z0-9._-]");
  }
  return "turbo/" + chosen;
}

bool IsValidArtifactHash(std::string_view hash) { return protocols::IsOpaqueKey(hash, 128); }

Result<ArtifactMetadata> ParseArtifactHeaders(std::optional<std::string_view> duration,
                                              std::optional<std::string_view> tag) {
  ArtifactMetadata m;
  if (duration && !duration->empty()) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(duration->data(), duration->data() + duration->size(), v);
    if (ec != std::errc() || end != duration->data() + duration->size()) {
      return Status::InvalidArgument("x-artifact-duration must be a non-negative integer (milliseconds)");
    }
    m.duration_ms = v;
  }
  if (tag && !tag->empty()) {
    if (tag->size() > 600) return Status::InvalidArgument("x-artifact-tag is longer than 600 characters");
    for (char c : *tag) {
      if (!IsBase64Char(c)) return Status::InvalidArgument("x-artifact-tag must be base64");
    }
    m.tag = std::string(*tag);
  }
  return m;
}

std::string MetadataToAttributes(const ArtifactMetadata& metadata) {
  nlohmann::json j = nlohmann::json::object();
  if (metadata.duration_ms) j["duration_ms"] = *metadata.duration_ms;
  if (!metadata.tag.empty()) j["tag"] = metadata.tag;
  return j.dump();
}

ArtifactMetadata MetadataFromAttributes(std::string_view attributes) {
  ArtifactMetadata m;
  auto j = nlohmann::json::parse(attributes, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return m;
  if (auto it = j.find("duration_ms"); it != j.end() && it->is_number_unsigned()) {
    m.duration_ms = it->get<uint64_t>();
  }
  if (auto it = j.find("tag"); it != j.end() && it->is_string()) m.tag = it->get<std::string>();
  return m;
}

}  // namespace cellar::turbo
