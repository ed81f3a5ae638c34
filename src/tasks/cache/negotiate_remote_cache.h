// NegotiateRemoteCache: the RemoteCache of a cellar server. Lookups are
// `POST /v1/negotiate/batch` (1000 hashes per request, the server's limit);
// an upload negotiates `upload` with its size and SHA-256 and then PUTs the
// file to the signed URL (for a presigned object-store URL, with the headers
// the answer lists, then POSTs the answer's commit_url); downloads GET the signed URL into a file. Every
// step has connect, total and low-speed timeouts and a bounded number of
// retries with backoff. The token is sent only to URLs whose scheme, host
// and port are the configured server's, so a signed URL on another host
// (an object store) or a redirect elsewhere never receives it.
// API and client rules: docs/protocols/negotiate.md ("Client").
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "tasks/cache/curl_transfer.h"
#include "tasks/cache/remote_cache.h"

namespace cellar::taskcache {

struct NegotiateRemoteCacheOptions {
  std::string server_url;  // "http://cache.internal:8080"; a path prefix is kept
  std::string token;       // sent as "Authorization: Bearer <token>"; empty: none
  std::string ns;          // optional namespace (e.g. the config's project_id)
  TransferTimeouts negotiate_timeouts{std::chrono::milliseconds(5'000), std::chrono::milliseconds(30'000),
                                      1024, std::chrono::seconds(10)};
  TransferTimeouts transfer_timeouts{};  // downloads and uploads
  int max_attempts = 3;                  // per operation, first try included
  std::chrono::milliseconds initial_backoff{200};  // doubled per retry, with jitter
  std::chrono::milliseconds max_backoff{2'000};
  int max_redirects = 5;
  size_t max_batch = 1000;
};

class NegotiateRemoteCache : public RemoteCache {
 public:
  explicit NegotiateRemoteCache(NegotiateRemoteCacheOptions options);

  std::vector<RemoteLookup> LookupBatch(const std::vector<std::string>& hashes) override;
  Result<std::optional<FileDigest>> Download(const RemoteArtifact& artifact, const std::string& dest_path,
                                             const std::optional<FileDigest>& expected = std::nullopt) override;
  Result<UploadOutcome> Upload(const std::string& hash, const std::string& path,
                               const std::optional<FileDigest>& digest = std::nullopt,
                               std::optional<uint64_t> duration_ms = std::nullopt) override;

 private:
  template <typename T>
  struct Try;

  // One negotiate POST (no retries): the parsed JSON answer or a failure.
  Try<std::string> PostNegotiate(const std::string& path, const std::string& body, bool upload) const;
  Result<std::string> Negotiate(const std::string& path, const std::string& body, bool upload) const;
  std::vector<RemoteLookup> LookupChunk(const std::vector<std::string>& hashes) const;
  Try<std::optional<FileDigest>> DownloadOnce(const std::string& url, const std::string& dest_path,
                                               const std::optional<FileDigest>& expected) const;
  // PUTs the file; `headers` are sent as they are (a presigned URL signs
  // them). With `staged`, any 2xx means the bytes are up and the commit
  // follows.
  Try<UploadOutcome> PutOnce(const std::string& url, const std::string& path, const FileDigest& digest,
                             const std::vector<std::pair<std::string, std::string>>& headers, bool staged) const;
  // POSTs the commit URL of a presigned upload.
  Try<UploadOutcome> CommitOnce(const std::string& url) const;
  // Adds the token when `url` is on the configured server's origin.
  void Authorize(const std::string& url, std::vector<std::pair<std::string, std::string>>& headers) const;
  void Backoff(int attempt) const;

  NegotiateRemoteCacheOptions options_;
};

}  // namespace cellar::taskcache
