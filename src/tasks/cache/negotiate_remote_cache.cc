#include "tasks/cache/negotiate_remote_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "base/digest.h"
#include "hash/sha256.h"
#include "tasks/cache/url_origin.h"

namespace cellar::taskcache {

// The outcome of one attempt, and whether another attempt may do better.
template <typename T>
struct NegotiateRemoteCache::Try {
  Result<T> result;
  bool retry = false;
  static Try Done(Result<T> r) { return Try{std::move(r), false}; }
  static Try Again(Status s) { return Try{std::move(s), true}; }
};

namespace {

using Json = nlohmann::json;

bool RetriableStatus(int status) { return status == 408 || status == 429 || status >= 500; }

// A transport failure is worth another attempt unless nobody listens.
bool RetriableFailure(const Status& status) {
  return status.code() == Code::kDeadlineExceeded || status.code() == Code::kAborted;
}

// The server's {"error": "..."} text, or the start of whatever it sent.
std::string ServerMessage(const TransferReply& reply) {
  Json j = Json::parse(reply.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  std::string text = reply.body.substr(0, 200);
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

std::chrono::system_clock::time_point ParseExpiry(const Json& answer) {
  const auto never = std::chrono::system_clock::time_point::max();
  if (!answer.contains("expires_at") || !answer["expires_at"].is_string()) return never;
  const std::string text = answer["expires_at"].get<std::string>();
  std::tm tm{};
  char z = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &z) != 7 || z != 'Z') {
    return never;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

RemoteLookup ParseLookupAnswer(const Json& answer, const std::string& hash) {
  if (!answer.is_object() || !answer.contains("status") || !answer["status"].is_string()) {
    return Status::Aborted("remote cache answered a malformed result for " + hash);
  }
  const std::string status = answer["status"].get<std::string>();
  if (status == "missing") return std::optional<RemoteArtifact>();
  if (status != "found" || !answer.contains("url") || !answer["url"].is_string()) {
    return Status::Aborted("remote cache answered '" + status + "' to a download lookup of " + hash);
  }
  return std::optional<RemoteArtifact>(RemoteArtifact{hash, answer["url"].get<std::string>(), ParseExpiry(answer)});
}

class FileCloser {
 public:
  explicit FileCloser(int fd) : fd_(fd) {}
  ~FileCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileCloser(const FileCloser&) = delete;
  FileCloser& operator=(const FileCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

NegotiateRemoteCache::NegotiateRemoteCache(NegotiateRemoteCacheOptions options) : options_(std::move(options)) {
  while (!options_.server_url.empty() && options_.server_url.back() == '/') options_.server_url.pop_back();
  options_.max_attempts = std::max(1, options_.max_attempts);
  options_.max_batch = std::max<size_t>(1, options_.max_batch);
}

void NegotiateRemoteCache::Authorize(const std::string& url,
                                     std::vector<std::pair<std::string, std::string>>& headers) const {
  if (!options_.token.empty() && SameOrigin(url, options_.server_url)) {
    headers.emplace_back("Authorization", "Bearer " + options_.token);
  }
}

void NegotiateRemoteCache::Backoff(int attempt) const {
  thread_local std::minstd_rand rng{std::random_device{}()};
  auto delay = options_.initial_backoff * (1 << std::min(attempt - 1, 10));
  delay = std::min(delay, options_.max_backoff);
  // Jitter in [50%, 100%] so parallel transfers do not retry in lockstep.
  std::uniform_int_distribution<int64_t> jitter(delay.count() / 2, std::max<int64_t>(delay.count(), 0));
  std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));
}

NegotiateRemoteCache::Try<std::string> NegotiateRemoteCache::PostNegotiate(const std::string& path,
                                                                           const std::string& body,
                                                                           bool upload) const {
  TransferRequest request;
  request.method = "POST";
  request.url = options_.server_url + path;
  request.headers.emplace_back("Content-Type", "application/json");
  Authorize(request.url, request.headers);
  request.body = body;
  request.timeouts = options_.negotiate_timeouts;
  Result<TransferReply> reply = PerformTransfer(request);
  const std::string where = "remote cache " + UrlForMessages(options_.server_url);
  if (!reply.ok()) {
    Status failure = Status::Unavailable(where + " unreachable: " + reply.error().message());
    return RetriableFailure(reply.error()) ? Try<std::string>::Again(failure) : Try<std::string>::Done(failure);
  }
  const int status = reply->status;
  const std::string said = ServerMessage(*reply);
  if (status == 200) return Try<std::string>::Done(std::move(reply->body));
  if (status == 401) {
    return Try<std::string>::Done(Status::Unauthenticated(
        options_.token.empty() ? where + " needs a token (401): set remote.token"
                               : where + " refused the token (401): " + said));
  }
  if (status == 403) {
    return Try<std::string>::Done(Status::PermissionDenied(
        upload ? "token lacks write scope: uploads disabled (" + where + ": " + said + ")"
               : "token lacks read scope: remote cache disabled (" + where + ": " + said + ")"));
  }
  if (status >= 300 && status < 400) {
    return Try<std::string>::Done(Status::Unavailable(where + " redirects to " + UrlForMessages(reply->redirect_url) +
                                                      ": set remote.url to the server's own address"));
  }
  if (status == 404 || status == 405) {
    return Try<std::string>::Done(Status::Unavailable(where + " has no negotiate API (HTTP " +
                                                      std::to_string(status) + "): is remote.url a cellar server?"));
  }
  Status failure = Status::Unavailable(where + " answered HTTP " + std::to_string(status) + ": " + said);
  if (RetriableStatus(status)) return Try<std::string>::Again(failure);
  return Try<std::string>::Done(Status::InvalidArgument(where + " refused the request (HTTP " +
                                                        std::to_string(status) + "): " + said));
}

Result<std::string> NegotiateRemoteCache::Negotiate(const std::string& path, const std::string& body,
                                                    bool upload) const {
  for (int attempt = 1;; ++attempt) {
    Try<std::string> t = PostNegotiate(path, body, upload);
    if (!t.retry || attempt >= options_.max_attempts) return std::move(t.result);
    Backoff(attempt);
  }
}

std::vector<RemoteLookup> NegotiateRemoteCache::LookupChunk(const std::vector<std::string>& hashes) const {
  Json body = Json::object();
  if (!options_.ns.empty()) body["namespace"] = options_.ns;
  Json requests = Json::array();
  for (const std::string& hash : hashes) requests.push_back({{"hash", hash}, {"action", "download"}});
  body["requests"] = std::move(requests);
  Result<std::string> answer = Negotiate("/v1/negotiate/batch", body.dump(), /*upload=*/false);
  if (!answer.ok()) return std::vector<RemoteLookup>(hashes.size(), answer.error());
  Json parsed = Json::parse(*answer, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("results") || !parsed["results"].is_array() ||
      parsed["results"].size() != hashes.size()) {
    Status bad = Status::Unavailable("remote cache " + UrlForMessages(options_.server_url) +
                                     " answered the batch lookup with something else than one result per hash");
    return std::vector<RemoteLookup>(hashes.size(), bad);
  }
  std::vector<RemoteLookup> out;
  out.reserve(hashes.size());
  for (size_t i = 0; i < hashes.size(); ++i) out.push_back(ParseLookupAnswer(parsed["results"][i], hashes[i]));
  return out;
}

std::vector<RemoteLookup> NegotiateRemoteCache::LookupBatch(const std::vector<std::string>& hashes) {
  std::vector<RemoteLookup> out(hashes.size(), Status::Internal("not looked up"));
  std::vector<size_t> valid;
  for (size_t i = 0; i < hashes.size(); ++i) {
    Status ok = CheckArtifactHash(hashes[i]);
    if (ok.ok()) valid.push_back(i);
    else out[i] = ok;
  }
  Status stop;  // once the server is down or refuses, do not ask it again
  for (size_t begin = 0; begin < valid.size(); begin += options_.max_batch) {
    const size_t end = std::min(valid.size(), begin + options_.max_batch);
    if (!stop.ok()) {
      for (size_t k = begin; k < end; ++k) out[valid[k]] = stop;
      continue;
    }
    std::vector<std::string> chunk;
    for (size_t k = begin; k < end; ++k) chunk.push_back(hashes[valid[k]]);
    std::vector<RemoteLookup> answers = LookupChunk(chunk);
    for (size_t k = begin; k < end; ++k) {
      out[valid[k]] = std::move(answers[k - begin]);
      if (!out[valid[k]].ok() && DisablesRemote(out[valid[k]].error())) stop = out[valid[k]].error();
    }
  }
  return out;
}

NegotiateRemoteCache::Try<std::optional<FileDigest>> NegotiateRemoteCache::DownloadOnce(
    const std::string& first_url, const std::string& dest_path, const std::optional<FileDigest>& expected) const {
  using T = Try<std::optional<FileDigest>>;
  int fd = ::open(dest_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return T::Done(LocalFileError(errno, "open " + dest_path));
  FileCloser closer(fd);
  std::string url = first_url;
  for (int hop = 0;; ++hop) {
    hash::Sha256Hasher hasher;
    uint64_t written = 0;
    if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) {
      return T::Done(LocalFileError(errno, "truncate " + dest_path));
    }
    TransferRequest request;
    request.url = url;
    Authorize(url, request.headers);
    request.timeouts = options_.transfer_timeouts;
    request.sink = [&](const char* data, size_t size) -> Status {
      for (size_t done = 0; done < size;) {
        ssize_t n = ::write(fd, data + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return LocalFileError(errno, "write " + dest_path);
        done += static_cast<size_t>(n);
      }
      hasher.Update(data, size);
      written += size;
      return Status();
    };
    Result<TransferReply> reply = PerformTransfer(request);
    if (!reply.ok()) {
      return RetriableFailure(reply.error()) ? T::Again(reply.error()) : T::Done(reply.error());
    }
    const int status = reply->status;
    const std::string what = "download of " + UrlForMessages(url);
    if (status >= 300 && status < 400 && !reply->redirect_url.empty()) {
      if (hop >= options_.max_redirects) return T::Done(Status::Aborted(what + ": too many redirects"));
      url = reply->redirect_url;
      continue;
    }
    if (status == 404) return T::Done(std::optional<FileDigest>());
    if (status == 403) return T::Again(Status::PermissionDenied(what + " refused (403): " + ServerMessage(*reply)));
    if (status != 200) {
      Status failure = Status::Aborted(what + " answered HTTP " + std::to_string(status) + ": " + ServerMessage(*reply));
      return RetriableStatus(status) ? T::Again(failure) : T::Done(failure);
    }
    FileDigest got{written, ToHex(hasher.Finalize())};
    if (reply->content_length && *reply->content_length != written) {
      return T::Again(Status::Aborted(what + ": got " + std::to_string(written) + " of " +
                                      std::to_string(*reply->content_length) + " bytes"));
    }
    if (!reply->content_length && !reply->chunked && !expected) {
      return T::Done(Status::Corruption(what + ": neither a length nor chunked encoding, cannot tell it is complete"));
    }
    if (expected && expected->size != got.size) {
      return T::Done(Status::Corruption(what + ": " + std::to_string(got.size) + " bytes, expected " +
                                        std::to_string(expected->size)));
    }
    if (expected && !expected->sha256.empty() && expected->sha256 != got.sha256) {
      return T::Done(Status::Corruption(what + ": SHA-256 " + got.sha256 + ", expected " + expected->sha256));
    }
    return T::Done(std::optional<FileDigest>(std::move(got)));
  }
}

Result<std::optional<FileDigest>> NegotiateRemoteCache::Download(const RemoteArtifact& artifact,
                                                                 const std::string& dest_path,
                                                                 const std::optional<FileDigest>& expected) {
  std::string url = artifact.url;
  bool renewed = false;
  // A signed URL that expired (or a 403, its symptom) is renewed once.
  auto renew = [&]() -> Result<bool> {
    renewed = true;
    std::vector<RemoteLookup> again = LookupBatch({artifact.hash});
    if (!again.front().ok()) return again.front().error();
    if (!*again.front()) return false;
    url = (*again.front())->url;
    return true;
  };
  Result<std::optional<FileDigest>> result = std::optional<FileDigest>();
  for (int attempt = 1;; ++attempt) {
    if (!renewed && artifact.expires_at <= std::chrono::system_clock::now()) {
      Result<bool> fresh = renew();
      if (!fresh.ok() || !*fresh) {
        ::unlink(dest_path.c_str());
        if (!fresh.ok()) return fresh.error();
        return std::optional<FileDigest>();
      }
    }
    Try<std::optional<FileDigest>> t = DownloadOnce(url, dest_path, expected);
    result = std::move(t.result);
    if (!t.retry || attempt >= options_.max_attempts) break;
    if (!result.ok() && result.error().code() == Code::kPermissionDenied && !renewed) {
      Result<bool> fresh = renew();
      if (!fresh.ok()) {
        result = fresh.error();
        break;
      }
      if (!*fresh) {
        result = std::optional<FileDigest>();
        break;
      }
      continue;  // a fresh URL needs no backoff
    }
    Backoff(attempt);
  }
  if (!result.ok() || !*result) ::unlink(dest_path.c_str());
  if (!result.ok() && result.error().code() == Code::kPermissionDenied) {
    // A refused signed URL says nothing about the token's scopes.
    return Status::Aborted(result.error().message());
  }
  return result;
}

NegotiateRemoteCache::Try<UploadOutcome> NegotiateRemoteCache::PutOnce(
    const std::string& first_url, const std::string& path, const FileDigest& digest,
    const std::vector<std::pair<std::string, std::string>>& headers, bool staged) const {
  using T = Try<UploadOutcome>;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return T::Done(LocalFileError(errno, "open " + path));
  FileCloser closer(fd);
  std::string url = first_url;
  for (int hop = 0;; ++hop) {
    if (::lseek(fd, 0, SEEK_SET) != 0) return T::Done(LocalFileError(errno, "seek " + path));
    TransferRequest request;
    request.method = "PUT";
    request.url = url;
    request.headers.emplace_back("Content-Type", "application/octet-stream");
    for (const auto& header : headers) request.headers.push_back(header);
    Authorize(url, request.headers);
    request.upload_fd = fd;
    request.upload_size = digest.size;
    request.timeouts = options_.transfer_timeouts;
    Result<TransferReply> reply = PerformTransfer(request);
    if (!reply.ok()) return RetriableFailure(reply.error()) ? T::Again(reply.error()) : T::Done(reply.error());
    const int status = reply->status;
    const std::string what = "upload to " + UrlForMessages(url);
    if ((status == 307 || status == 308) && !reply->redirect_url.empty()) {
      if (hop >= options_.max_redirects) return T::Done(Status::Aborted(what + ": too many redirects"));
      url = reply->redirect_url;
      continue;
    }
    if (staged && status >= 200 && status < 300) return T::Done(UploadOutcome::kStored);
    if (status == 201) return T::Done(UploadOutcome::kStored);
    if (status == 200 || status == 204) return T::Done(UploadOutcome::kSkipped);
    const std::string said = what + " answered HTTP " + std::to_string(status) + ": " + ServerMessage(*reply);
    if (status == 403) return T::Again(Status::Aborted(said));  // expired URL: negotiate again
    if (status == 413 || status == 507) return T::Done(Status::ResourceExhausted(said));
    if (RetriableStatus(status)) return T::Again(Status::Aborted(said));
    return T::Done(Status::Aborted(said));
  }
}

NegotiateRemoteCache::Try<UploadOutcome> NegotiateRemoteCache::CommitOnce(const std::string& url) const {
  using T = Try<UploadOutcome>;
  TransferRequest request;
  request.method = "POST";
  request.url = url;
  Authorize(url, request.headers);
  request.timeouts = options_.transfer_timeouts;  // the server reads the upload back
  Result<TransferReply> reply = PerformTransfer(request);
  if (!reply.ok()) return RetriableFailure(reply.error()) ? T::Again(reply.error()) : T::Done(reply.error());
  const int status = reply->status;
  if (status == 201) return T::Done(UploadOutcome::kStored);
  if (status == 200) return T::Done(UploadOutcome::kSkipped);
  const std::string said =
      "commit at " + UrlForMessages(url) + " answered HTTP " + std::to_string(status) + ": " + ServerMessage(*reply);
  // 403: the commit URL expired; 409: the staged upload is gone. Both are
  // cured by negotiating and uploading again.
  if (status == 403 || status == 409 || RetriableStatus(status)) return T::Again(Status::Aborted(said));
  if (status == 413 || status == 507) return T::Done(Status::ResourceExhausted(said));
  return T::Done(Status::Aborted(said));
}

Result<UploadOutcome> NegotiateRemoteCache::Upload(const std::string& hash, const std::string& path,
                                                   const std::optional<FileDigest>& known,
                                                   std::optional<uint64_t> duration_ms) {
  CELLAR_RETURN_IF_ERROR(CheckArtifactHash(hash));
  FileDigest digest;
  if (known && !known->sha256.empty()) {
    digest = *known;
  } else {
    CELLAR_ASSIGN_OR_RETURN(digest, DigestFile(path));
  }
  // "presigned": this client can PUT to an object store and then commit.
  Json body = {{"hash", hash},
               {"action", "upload"},
               {"size", digest.size},
               {"sha256", digest.sha256},
               {"presigned", true}};
  if (duration_ms) body["duration_ms"] = *duration_ms;
  if (!options_.ns.empty()) body["namespace"] = options_.ns;
  const std::string request = body.dump();
  for (int attempt = 1;; ++attempt) {
    // Each attempt negotiates afresh: a retried PUT gets a URL that has not expired.
    CELLAR_ASSIGN_OR_RETURN(std::string answer, Negotiate("/v1/negotiate", request, /*upload=*/true));
    Json parsed = Json::parse(answer, nullptr, false);
    const std::string status =
        parsed.is_object() && parsed.contains("status") && parsed["status"].is_string() ? parsed["status"].get<std::string>() : "";
    if (status == "skipped") return UploadOutcome::kSkipped;
    if (status != "upload_needed" || !parsed.contains("url") || !parsed["url"].is_string()) {
      return Status::Unavailable("remote cache " + UrlForMessages(options_.server_url) +
                                 " answered an upload negotiation with status '" + status + "'");
    }
    std::vector<std::pair<std::string, std::string>> headers;
    if (parsed.contains("headers") && parsed["headers"].is_object()) {
      for (const auto& [name, value] : parsed["headers"].items()) {
        if (value.is_string()) headers.emplace_back(name, value.get<std::string>());
      }
    }
    const std::string commit_url =
        parsed.contains("commit_url") && parsed["commit_url"].is_string() ? parsed["commit_url"].get<std::string>() : "";
    Try<UploadOutcome> t = PutOnce(parsed["url"].get<std::string>(), path, digest, headers, !commit_url.empty());
    if (t.result.ok() && !commit_url.empty()) t = CommitOnce(commit_url);
    if (!t.retry || attempt >= options_.max_attempts) return std::move(t.result);
    Backoff(attempt);
  }
}

}  // namespace cellar::taskcache
