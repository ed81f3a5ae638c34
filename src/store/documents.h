// Documents: small named objects that change (a git mirror's manifest),
// beside the content-addressed blobs of a BlobStore, which never change.
// In fleet mode they live in the bucket (S3Documents, store/s3); tests use
// MemDocuments. A Put replaces the whole document at once: readers see the
// old one or the new one, never a mix.
// Thread-safety: every method may be called concurrently. Calls that reach
// the network block: run them on worker threads.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/status.h"

namespace cellar::store {

class Documents {
 public:
  virtual ~Documents() = default;
  // nullopt when there is no such document.
  virtual Result<std::optional<std::string>> Get(const std::string& name) = 0;
  virtual Status Put(const std::string& name, const std::string& body) = 0;
};

class MemDocuments final : public Documents {
 public:
  Result<std::optional<std::string>> Get(const std::string& name) override {
    std::lock_guard lock(mu_);
    if (unavailable_) return Status::Unavailable("documents unavailable (test)");
    auto it = docs_.find(name);
    if (it == docs_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Put(const std::string& name, const std::string& body) override {
    std::lock_guard lock(mu_);
    if (unavailable_) return Status::Unavailable("documents unavailable (test)");
    docs_[name] = body;
    return Status();
  }
  void SetUnavailable(bool unavailable) {
    std::lock_guard lock(mu_);
    unavailable_ = unavailable;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> docs_;
  bool unavailable_ = false;
};

}  // namespace cellar::store
