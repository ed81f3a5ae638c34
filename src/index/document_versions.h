// DocumentVersions: which version of each mutable document (npm packument,
// Go list, checksum-database latest) the fleet fetched last, so a node that
// holds an older copy stops serving it as fresh when another node has
// revalidated the document and found it changed (docs/redis.md).
// Implementations: redis::RedisDocumentVersions; MemDocumentVersions below
// for tests. Like every fleet accelerator, a version that cannot be read is
// "none known": the node then goes by its own copy's age.
// Thread-safety: every method may be called concurrently. Calls may block on
// the network: worker or upstream threads only, never an I/O thread.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/digest.h"
#include "base/status.h"

namespace cellar::index {

struct DocumentVersion {
  Digest digest;           // of the document's bytes as stored
  int64_t fetched_ms = 0;  // when that node fetched or revalidated it
};

class DocumentVersions {
 public:
  virtual ~DocumentVersions() = default;
  // This node just fetched or revalidated (ns, key) and holds `version`.
  virtual Status Announce(const std::string& ns, const std::string& key, const DocumentVersion& version) = 0;
  // The version announced last for (ns, key), nullopt when none.
  virtual Result<std::optional<DocumentVersion>> Latest(const std::string& ns, const std::string& key) = 0;
};

class MemDocumentVersions final : public DocumentVersions {
 public:
  Status Announce(const std::string& ns, const std::string& key, const DocumentVersion& version) override {
    std::lock_guard lock(mu_);
    latest_[{ns, key}] = version;
    return Status::Ok();
  }
  Result<std::optional<DocumentVersion>> Latest(const std::string& ns, const std::string& key) override {
    std::lock_guard lock(mu_);
    auto it = latest_.find({ns, key});
    if (it == latest_.end()) return std::optional<DocumentVersion>();
    return std::optional<DocumentVersion>(it->second);
  }

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, DocumentVersion> latest_;  // GUARDED_BY(mu_)
};

}  // namespace cellar::index
