// Request and answer shapes of cellar's negotiate API (VelocityCache
// compatible: {"hash", "action"} in, {"status", "url", "expires_at"} out),
// plus what VelocityCache lacked: a declared size and SHA-256 that the
// signed upload URL binds and the upload must match, per-request
// namespaces, and batches.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "protocols/common/protocol.h"

namespace cellar::negotiate {

enum class Action { kUpload, kDownload };

struct NegotiateItem {
  std::string hash;                   // 1..128 of [A-Za-z0-9_-]
  Action action = Action::kDownload;
  std::optional<uint64_t> size;       // uploads: exact size the upload must have
  std::optional<std::string> sha256;  // uploads: 64 lowercase hex the body must hash to
  // uploads: how long the build that made the artifact took (`cellar run`
  // sends it); a later download counts it as build time saved.
  std::optional<uint64_t> duration_ms;
};
inline constexpr uint64_t kMaxDurationMs = 30ULL * 24 * 3600 * 1000;

struct NegotiateRequest {
  std::string ns;  // "artifacts" or "artifacts/<namespace>"
  std::vector<NegotiateItem> items;
  // "presigned": true: the client can upload to an object-store URL and then
  // call the answer's commit_url. Older clients leave it out and keep
  // getting uploads through cellar (downloads are presigned for all).
  bool presigned_uploads = false;
};

// Parses a single request {"hash", "action", "size"?, "sha256"?,
// "duration_ms"?, "namespace"?}.
Result<NegotiateRequest> ParseSingle(std::string_view body);
// Parses a batch {"namespace"?, "requests": [{"hash", "action", ...}, ...]}
// of at most `max_items` requests.
Result<NegotiateRequest> ParseBatch(std::string_view body, size_t max_items);

bool IsValidBlobKey(std::string_view key);
// "artifacts" plus an optional "/<namespace>" of up to 4 safe segments.
Result<std::string> ArtifactNamespace(std::optional<std::string> name);

// One answer: status is skipped, upload_needed, found or missing.
struct NegotiateAnswer {
  std::string hash;
  std::string status;
  std::string url;          // empty when there is nothing to transfer
  int64_t expires_unix_s = 0;
  // Presigned uploads only: headers the PUT must carry verbatim, and the URL
  // to POST once the PUT succeeded.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string commit_url;
  // Not sent: build time a found download spares the client (the entry's
  // recorded duration), for the dashboard.
  uint64_t time_saved_ms = 0;
};
std::string AnswerJson(const NegotiateAnswer& answer);
std::string BatchJson(const std::vector<NegotiateAnswer>& answers);

// The answer to a signed-URL upload by its outcome: 201 stored, 200 skipped
// (the key exists: first upload wins), 400 for a body that broke its
// declaration (also a body longer than a declared size below the server's
// limit), 413 beyond the server's limit, 507 store full, 503 storage
// unavailable for now (the S3 bucket down, SQLite busy: worth a retry), 500
// any other storage failure. `result` is the metric label.
struct UploadAnswer {
  unsigned status;
  std::string_view result;
};
UploadAnswer UploadAnswerFor(const protocols::UploadResult& upload, bool declared_size_below_limit);

// An entry's attributes (JSON object text) recording the build's duration,
// and the duration read back (0 when none was recorded).
std::string EntryAttributes(std::optional<uint64_t> duration_ms);
uint64_t DurationOf(std::string_view attributes);

// RFC 3339 UTC ("2026-11-30T09:00:00Z").
std::string FormatRfc3339(int64_t unix_s);

}  // namespace cellar::negotiate
