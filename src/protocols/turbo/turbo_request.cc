#include "protocols/turbo/turbo_request.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "base/strings.h"
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

Result<std::string> TeamNamespaceFromQuery(std::string_view query, std::string_view default_team) {
  // The first occurrence of each parameter counts, as in Exchange::QueryParam.
  std::optional<std::string> values[3];
  constexpr std::string_view kNames[3] = {"teamId", "team", "slug"};
  for (auto pair : SplitView(query, '&')) {
    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    for (size_t i = 0; i < 3; ++i) {
      if (name != kNames[i] || values[i]) continue;
      std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      auto decoded = PercentDecode(raw, /*allow_encoded_slash=*/true);
      if (!decoded) {
        return Status::InvalidArgument(std::string(name) +
                                       " is not valid percent-encoding (a bad %XX escape or an encoded NUL)");
      }
      values[i] = std::move(*decoded);
    }
  }
  return TeamNamespace(std::move(values[0]), std::move(values[1]), std::move(values[2]), default_team);
}

Result<std::vector<ClientEvent>> ParseClientEvents(std::string_view body) {
  // allow_exceptions = false: malformed JSON comes back as a discarded value;
  // type checks below keep get<>() from throwing on client data.
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return Status::InvalidArgument("expected a JSON array of events");
  std::vector<ClientEvent> events;
  events.reserve(j.size());
  for (const auto& e : j) {
    if (!e.is_object()) return Status::InvalidArgument("each event must be a JSON object");
    // Absent fields count as "other"; present ones must be strings.
    auto field = [&e](const char* name) -> Result<std::string> {
      auto it = e.find(name);
      if (it == e.end()) return std::string();
      if (!it->is_string()) return Status::InvalidArgument(std::string("event field \"") + name + "\" must be a string");
      return it->get<std::string>();
    };
    CELLAR_ASSIGN_OR_RETURN(std::string source, field("source"));
    CELLAR_ASSIGN_OR_RETURN(std::string event, field("event"));
    events.push_back(ClientEvent{source == "LOCAL" ? "local" : source == "REMOTE" ? "remote" : "other",
                                 event == "HIT" ? "hit" : event == "MISS" ? "miss" : "other"});
  }
  return events;
}

PutAnswer PutAnswerFor(protocols::UploadError error) {
  using protocols::UploadError;
  switch (error) {
    case UploadError::kNone: return {200, "", "stored"};
    case UploadError::kExists: return {200, "", "exists"};
    case UploadError::kClient: return {400, "bad_request", "refused"};
    case UploadError::kTooLarge: return {413, "payload_too_large", "refused"};
    case UploadError::kStoreFull: return {507, "insufficient_storage", "error"};
    case UploadError::kStoreFailure: return {412, "storage_failure", "error"};
  }
  return {412, "storage_failure", "error"};
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
