#include "tasks/cache/fake_remote_cache.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "base/digest.h"
#include "hash/sha256.h"

namespace cellar::taskcache {

namespace {

FileDigest DigestOf(const std::string& bytes) {
  return FileDigest{bytes.size(), ToHex(hash::Sha256(std::as_bytes(std::span(bytes.data(), bytes.size()))))};
}

}  // namespace

std::vector<RemoteLookup> FakeRemoteCache::LookupBatch(const std::vector<std::string>& hashes) {
  std::lock_guard lock(mu_);
  ++lookup_calls_;
  std::vector<RemoteLookup> out;
  for (const std::string& hash : hashes) {
    looked_up_.push_back(hash);
    if (!down_.ok()) {
      out.emplace_back(down_);
    } else if (Status valid = CheckArtifactHash(hash); !valid.ok()) {
      out.emplace_back(valid);
    } else if (blobs_.count(hash) == 0) {
      out.emplace_back(std::optional<RemoteArtifact>());
    } else {
      out.emplace_back(std::optional<RemoteArtifact>(RemoteArtifact{
          hash, "fake:" + hash, std::chrono::system_clock::now() + std::chrono::minutes(5)}));
    }
  }
  return out;
}

Result<std::optional<FileDigest>> FakeRemoteCache::Download(const RemoteArtifact& artifact,
                                                            const std::string& dest_path,
                                                            const std::optional<FileDigest>& expected) {
  std::string bytes;
  {
    std::lock_guard lock(mu_);
    Status failure = down_;
    if (auto it = fail_next_download_.find(artifact.hash); failure.ok() && it != fail_next_download_.end()) {
      failure = it->second;
      fail_next_download_.erase(it);
    }
    auto blob = blobs_.find(artifact.hash);
    if (!failure.ok() || blob == blobs_.end()) {
      ::unlink(dest_path.c_str());
      if (!failure.ok()) return failure;
      return std::optional<FileDigest>();
    }
    bytes = blob->second;
  }
  FileDigest got = DigestOf(bytes);
  if (expected && (expected->size != got.size || (!expected->sha256.empty() && expected->sha256 != got.sha256))) {
    ::unlink(dest_path.c_str());
    return Status::Corruption("fake download of " + artifact.hash + " does not match what was expected");
  }
  std::ofstream out(dest_path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) {
    ::unlink(dest_path.c_str());
    return Status::Internal("write " + dest_path + " failed");
  }
  std::lock_guard lock(mu_);
  downloaded_.push_back(artifact.hash);
  return std::optional<FileDigest>(got);
}

Result<UploadOutcome> FakeRemoteCache::Upload(const std::string& hash, const std::string& path,
                                              const std::optional<FileDigest>& digest,
                                              std::optional<uint64_t> duration_ms) {
  CELLAR_RETURN_IF_ERROR(CheckArtifactHash(hash));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("open " + path + " failed");
  std::stringstream content;
  content << in.rdbuf();
  std::string bytes = content.str();
  if (digest && digest->size != bytes.size()) {
    return Status::Aborted("fake upload of " + hash + ": declared size differs from the file");
  }
  std::lock_guard lock(mu_);
  if (!down_.ok()) return down_;
  if (!upload_error_.ok()) return upload_error_;
  uploaded_.push_back(hash);
  if (duration_ms) durations_[hash] = *duration_ms;
  if (!blobs_.emplace(hash, std::move(bytes)).second) return UploadOutcome::kSkipped;
  return UploadOutcome::kStored;
}

void FakeRemoteCache::Put(const std::string& hash, std::string bytes) {
  std::lock_guard lock(mu_);
  blobs_[hash] = std::move(bytes);
}

void FakeRemoteCache::SetDown(Status status) {
  std::lock_guard lock(mu_);
  down_ = std::move(status);
}

void FakeRemoteCache::SetUploadError(Status status) {
  std::lock_guard lock(mu_);
  upload_error_ = std::move(status);
}

void FakeRemoteCache::FailNextDownload(const std::string& hash, Status status) {
  std::lock_guard lock(mu_);
  fail_next_download_[hash] = std::move(status);
}

std::optional<std::string> FakeRemoteCache::Get(const std::string& hash) const {
  std::lock_guard lock(mu_);
  auto it = blobs_.find(hash);
  if (it == blobs_.end()) return std::nullopt;
  return it->second;
}

int FakeRemoteCache::lookup_calls() const {
  std::lock_guard lock(mu_);
  return lookup_calls_;
}

std::vector<std::string> FakeRemoteCache::looked_up() const {
  std::lock_guard lock(mu_);
  return looked_up_;
}

std::vector<std::string> FakeRemoteCache::downloaded() const {
  std::lock_guard lock(mu_);
  return downloaded_;
}

std::vector<std::string> FakeRemoteCache::uploaded() const {
  std::lock_guard lock(mu_);
  return uploaded_;
}

std::optional<uint64_t> FakeRemoteCache::duration_of(const std::string& hash) const {
  std::lock_guard lock(mu_);
  auto it = durations_.find(hash);
  if (it == durations_.end()) return std::nullopt;
  return it->second;
}

}  // namespace cellar::taskcache
