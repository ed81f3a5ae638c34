// Parsing and validation of Turborepo v8 requests: which team namespace a
// request belongs to, which artifact it names, and the artifact metadata
// headers turbo sends. Wire details: docs/protocols/turbo.md
// sections 3, 5 and 6.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "protocols/common/protocol.h"

namespace cellar::turbo {

// The store namespace of a request: "turbo/<team>", where the team is the
// first of the teamId, team and slug query parameters that is present.
// Without any of them `default_team` is used; an empty default means a team
// is required (kInvalidArgument). Team names are limited to [A-Za-z0-9._-],
// 1..100 characters, so no value can escape its namespace.
Result<std::string> TeamNamespace(std::optional<std::string> team_id, std::optional<std::string> team,
                                  std::optional<std::string> slug, std::string_view default_team);

// TeamNamespace for a raw query string ("teamId=x&slug=y", not decoded). A
// team parameter that is present but not valid percent-encoding (a bad
// escape such as %zz, or an encoded NUL) is kInvalidArgument naming the
// parameter, never read as "no team" (which would pick the default team).
Result<std::string> TeamNamespaceFromQuery(std::string_view query, std::string_view default_team);

// Artifact hashes: 1..128 characters of [A-Za-z0-9_-] (turbo sends 16
// lowercase hex characters; other values are treated as opaque).
bool IsValidArtifactHash(std::string_view hash);

// What turbo attaches to an artifact and gets back on GET/HEAD.
struct ArtifactMetadata {
  std::optional<uint64_t> duration_ms;  // x-artifact-duration
  std::string tag;                      // x-artifact-tag (base64 HMAC), empty if unsigned
};

// Validates the PUT headers: duration a non-negative integer, tag at most
// 600 base64 characters (the API's own limits). kInvalidArgument otherwise.
Result<ArtifactMetadata> ParseArtifactHeaders(std::optional<std::string_view> duration,
                                              std::optional<std::string_view> tag);

// One event of turbo's telemetry (POST /v8/artifacts/events), folded into
// fixed labels so clients cannot invent metric series: source "local",
// "remote" or "other"; event "hit", "miss" or "other".
struct ClientEvent {
  std::string_view source;
  std::string_view event;
};

// Parses the events body: a JSON array of objects whose "source" and
// "event", when present, are strings. kInvalidArgument with the reason
// otherwise (a number where a string belongs, not JSON, not an array).
Result<std::vector<ClientEvent>> ParseClientEvents(std::string_view body);

// The answer to an artifact PUT by upload outcome: any 2xx is success to
// turbo (a repeated PUT is 200 too: first write wins, silently); a failing
// disk is 412, never 5xx, because turbo retries 5xx and a retry only
// multiplies the upload traffic. `code` is the error code of turbo's error
// body (empty on success), `result` the metric label.
struct PutAnswer {
  unsigned status;
  std::string_view code;
  std::string_view result;
};
PutAnswer PutAnswerFor(protocols::UploadError error);

// Entry attributes (JSON object text) and back. Unknown or malformed
// attributes read as empty metadata.
std::string MetadataToAttributes(const ArtifactMetadata& metadata);
ArtifactMetadata MetadataFromAttributes(std::string_view attributes);

}  // namespace cellar::turbo
