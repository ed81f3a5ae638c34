#include "protocols/negotiate/negotiate_request.h"

#include <ctime>

#include <nlohmann/json.hpp>

#include "base/digest.h"
#include "protocols/common/keys.h"

namespace cellar::negotiate {

namespace {
using nlohmann::json;

Result<NegotiateItem> ParseItem(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("each request must be a JSON object");
  NegotiateItem item;
  auto hash = j.find("hash");
  if (hash == j.end() || !hash->is_string() || !IsValidBlobKey(hash->get<std::string>())) {
    return Status::InvalidArgument("\"hash\" must be 1..128 characters of [A-Za-z0-9_-]");
  }
  item.hash = hash->get<std::string>();
  auto action = j.find("action");
  std::string a = action != j.end() && action->is_string() ? action->get<std::string>() : "";
  if (a == "upload") item.action = Action::kUpload;
  else if (a == "download") item.action = Action::kDownload;
  else return Status::InvalidArgument("\"action\" must be \"upload\" or \"download\"");
  if (auto size = j.find("size"); size != j.end()) {
    if (!size->is_number_unsigned()) return Status::InvalidArgument("\"size\" must be a non-negative integer");
    item.size = size->get<uint64_t>();
  }
  if (auto digest = j.find("sha256"); digest != j.end()) {
    if (!digest->is_string() || digest->get<std::string>().size() != 64 || !IsLowerHex(digest->get<std::string>())) {
      return Status::InvalidArgument("\"sha256\" must be 64 lowercase hex characters");
    }
    item.sha256 = digest->get<std::string>();
  }
  if (auto duration = j.find("duration_ms"); duration != j.end()) {
    if (!duration->is_number_unsigned() || duration->get<uint64_t>() > kMaxDurationMs) {
      return Status::InvalidArgument("\"duration_ms\" must be a non-negative integer of milliseconds (at most 30 days)");
    }
    if (item.action == Action::kUpload) item.duration_ms = duration->get<uint64_t>();
  }
  return item;
}

// The request's "namespace": absent is the default; present, it must be a
// string (a number or null is refused, not read as "no namespace", which
// would pick the default namespace).
Result<std::string> RequestNamespace(const json& j) {
  auto it = j.find("namespace");
  if (it == j.end()) return ArtifactNamespace(std::nullopt);
  if (!it->is_string()) return Status::InvalidArgument("\"namespace\" must be a string");
  return ArtifactNamespace(it->get<std::string>());
}

// The request's "presigned": absent is false; present, it must be a bool.
Result<bool> RequestPresigned(const json& j) {
  auto it = j.find("presigned");
  if (it == j.end()) return false;
  if (!it->is_boolean()) return Status::InvalidArgument("\"presigned\" must be true or false");
  return it->get<bool>();
}
}  // namespace

bool IsValidBlobKey(std::string_view key) { return protocols::IsOpaqueKey(key, 128); }

Result<std::string> ArtifactNamespace(std::optional<std::string> name) {
  if (!name || name->empty()) return std::string("artifacts");
  if (!protocols::IsSafeKeyPath(*name, 4, 200)) {
    return Status::InvalidArgument("\"namespace\" must be up to 4 segments of [A-Za-z0-9._-]");
  }
  return "artifacts/" + *name;
}

Result<NegotiateRequest> ParseSingle(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::InvalidArgument("expected a JSON object {\"hash\", \"action\"}");
  NegotiateRequest request;
  CELLAR_ASSIGN_OR_RETURN(request.ns, RequestNamespace(j));
  CELLAR_ASSIGN_OR_RETURN(request.presigned_uploads, RequestPresigned(j));
  CELLAR_ASSIGN_OR_RETURN(auto item, ParseItem(j));
  request.items.push_back(std::move(item));
  return request;
}

Result<NegotiateRequest> ParseBatch(std::string_view body, size_t max_items) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("requests") || !j["requests"].is_array()) {
    return Status::InvalidArgument("expected a JSON object {\"requests\": [...]}");
  }
  if (j["requests"].size() > max_items) {
    return Status::InvalidArgument("at most " + std::to_string(max_items) + " requests per batch");
  }
  NegotiateRequest request;
  CELLAR_ASSIGN_OR_RETURN(request.ns, RequestNamespace(j));
  CELLAR_ASSIGN_OR_RETURN(request.presigned_uploads, RequestPresigned(j));
  for (const auto& r : j["requests"]) {
    CELLAR_ASSIGN_OR_RETURN(auto item, ParseItem(r));
    request.items.push_back(std::move(item));
  }
  return request;
}

std::string EntryAttributes(std::optional<uint64_t> duration_ms) {
  if (!duration_ms) return "{}";
  return json{{"duration_ms", *duration_ms}}.dump();
}

uint64_t DurationOf(std::string_view attributes) {
  auto j = json::parse(attributes, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return 0;
  auto it = j.find("duration_ms");
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

UploadAnswer UploadAnswerFor(const protocols::UploadResult& upload, bool declared_size_below_limit) {
  using protocols::UploadError;
  switch (upload.error) {
    case UploadError::kNone: return {201, "stored"};
    case UploadError::kExists: return {200, "skipped"};
    case UploadError::kClient: return {400, "refused"};
    case UploadError::kTooLarge: return {declared_size_below_limit ? 400u : 413u, "refused"};
    case UploadError::kStoreFull: return {507, "error"};
    case UploadError::kStoreFailure: return {protocols::StoreFailureHttpStatus(upload), "error"};
  }
  return {500, "error"};
}

std::string FormatRfc3339(int64_t unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {
json AnswerObject(const NegotiateAnswer& a) {
  json j = json::object();
  j["hash"] = a.hash;
  j["status"] = a.status;
  if (!a.url.empty()) {
    j["url"] = a.url;
    j["expires_at"] = FormatRfc3339(a.expires_unix_s);
  }
  if (!a.headers.empty()) {
    json headers = json::object();
    for (const auto& [name, value] : a.headers) headers[name] = value;
    j["headers"] = headers;
  }
  if (!a.commit_url.empty()) j["commit_url"] = a.commit_url;
  return j;
}
}  // namespace

std::string AnswerJson(const NegotiateAnswer& answer) { return AnswerObject(answer).dump(); }

std::string BatchJson(const std::vector<NegotiateAnswer>& answers) {
  json results = json::array();
  for (const auto& a : answers) results.push_back(AnswerObject(a));
  json j = json::object();
  j["results"] = results;
  return j.dump();
}

}  // namespace cellar::negotiate
