// Git's object id of a blob: SHA-1 over "blob <size>\0" followed by the
// content, the id `git hash-object` prints and git's index records for every
// tracked file. The task runner names input files by it, so a clean tracked
// file is known from the index without being read (docs/task-hash.md).
// Only git's default object format (SHA-1) is covered; repositories in the
// SHA-256 format get their files hashed with this too, which is consistent
// within any one run and across checkouts.
// Thread-safety: one GitBlobHasher per thread; GitBlobId() is thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

struct evp_md_ctx_st;

namespace cellar::hash {

inline constexpr size_t kGitBlobIdLen = 20;
using GitBlobIdBytes = std::array<uint8_t, kGitBlobIdLen>;

// Streaming form: Begin(size) with the content's exact size, then the
// content through Update(), then Finalize(). git's header states the size
// before the content, so a caller reading a file that may change compares
// content_bytes() with the size it announced before trusting the id.
// OpenSSL failures throw std::runtime_error.
class GitBlobHasher {
 public:
  GitBlobHasher();
  GitBlobHasher(GitBlobHasher&&) noexcept = default;
  GitBlobHasher& operator=(GitBlobHasher&&) noexcept = default;
  GitBlobHasher(const GitBlobHasher&) = delete;
  GitBlobHasher& operator=(const GitBlobHasher&) = delete;
  ~GitBlobHasher() = default;

  void Begin(uint64_t size);
  void Update(const void* data, size_t len);
  // Bytes given to Update() since Begin().
  uint64_t content_bytes() const { return content_bytes_; }
  // The id; the hasher must be given Begin() again before reuse.
  GitBlobIdBytes Finalize();

 private:
  struct CtxDeleter {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxDeleter> ctx_;
  uint64_t content_bytes_ = 0;
};

// One-shot: the blob id of `content`.
GitBlobIdBytes GitBlobId(std::span<const std::byte> content);

}  // namespace cellar::hash
