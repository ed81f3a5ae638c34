// RemoteCache: what `cellar run` needs from a remote artifact cache. The
// real one (NegotiateRemoteCache) talks to a cellar server's negotiate API
// and moves the bytes through signed URLs; FakeRemoteCache keeps artifacts in
// memory for the runner's tests; GuardedRemoteCache turns a failing remote
// off for the rest of a run. Behaviour (timeouts, retries, token rule):
// docs/protocols/negotiate.md, "Client".
//
// Error codes are part of the contract, so a caller can decide without
// parsing messages:
//   kUnavailable       the server cannot be reached or keeps failing: stop
//                      using the remote for this run
//   kUnauthenticated   the server refused the token (or needs one): stop
//   kPermissionDenied  the token lacks a scope: from Upload, stop uploading
//                      (downloads may still work); from LookupBatch, stop
//   anything else      this one artifact failed (timeout, broken or
//                      unverifiable transfer, local file trouble): a miss
// A failed download is never a hit: the destination file is removed.
// Thread-safety: every method may be called concurrently from many threads;
// each transfer has its own connection.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tasks/cache/artifact_key.h"

namespace cellar::taskcache {

// A remote hit: where to download the artifact, until when.
struct RemoteArtifact {
  std::string hash;
  std::string url;
  std::chrono::system_clock::time_point expires_at;
};

// Per hash: a hit, nullopt for a miss, or an error.
using RemoteLookup = Result<std::optional<RemoteArtifact>>;

enum class UploadOutcome {
  kStored,   // this upload committed the artifact
  kSkipped,  // the server already had it (or another upload won the race)
};

class RemoteCache {
 public:
  virtual ~RemoteCache() = default;

  // Looks every hash up at once (the real cache sends one batch request per
  // 1000 hashes). Returns one entry per input, in input order; an invalid
  // hash gets kInvalidArgument without failing the others.
  virtual std::vector<RemoteLookup> LookupBatch(const std::vector<std::string>& hashes) = 0;

  // Streams the artifact into dest_path (created or truncated) and returns
  // the size and SHA-256 of what arrived. When `expected` is given, any
  // difference is kCorruption. nullopt when the artifact is gone (404). On
  // nullopt or error dest_path no longer exists: nothing partial survives.
  // An expired URL is renewed once through a new lookup.
  virtual Result<std::optional<FileDigest>> Download(const RemoteArtifact& artifact,
                                                     const std::string& dest_path,
                                                     const std::optional<FileDigest>& expected = std::nullopt) = 0;

  // Uploads the file at `path` as `hash`, declaring its size and SHA-256
  // (`digest` when the caller knows them, computed otherwise) and, when
  // given, how long the task that made it took (the server's dashboard
  // counts it as build time saved when the artifact is downloaded).
  virtual Result<UploadOutcome> Upload(const std::string& hash, const std::string& path,
                                       const std::optional<FileDigest>& digest = std::nullopt,
                                       std::optional<uint64_t> duration_ms = std::nullopt) = 0;
};

// True for the codes that mean "stop using the remote for this run".
bool DisablesRemote(const Status& status);

}  // namespace cellar::taskcache
