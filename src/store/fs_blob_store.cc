#include "store/fs_blob_store.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "store/fs_blob_check.h"
#include "store/fs_blob_reader.h"
#include "store/fs_blob_writer.h"
#include "store/fs_store_context.h"

namespace cellar::store {
namespace {

constexpr size_t kVerifyBufferSize = 1 << 20;

Status ValidateOptions(const FsBlobStore::Options& options) {
  if (options.root.empty()) return Status::InvalidArgument("FsBlobStore: empty root");
  if (options.zstd_level < ZSTD_minCLevel() || options.zstd_level > ZSTD_maxCLevel()) {
    return Status::InvalidArgument("FsBlobStore: zstd_level " + std::to_string(options.zstd_level) +
                                   " out of range");
  }
  return Status::Ok();
}

// Temp files left by a crashed or killed process are never committed; they
// would only use disk space.
Status RemoveLeftoverTempFiles(const std::string& tmp_dir) {
  CELLAR_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(tmp_dir));
  for (const std::string& name : names) {
    const std::string path = tmp_dir + '/' + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno(errno, "remove leftover temp file " + path);
    }
  }
  return Status::Ok();
}

bool IsFanoutName(std::string_view name) { return name.size() == 2 && IsLowerHex(name); }

// Blob files are named by the full digest inside the dir of their first two
// hex chars; anything else under blobs/ is not ours.
std::optional<Digest> BlobNameDigest(std::string_view fanout, std::string_view name) {
  if (name.size() != 64 || name.substr(0, 2) != fanout) return std::nullopt;
  Result<Digest> digest = Digest::FromHex(name);
  if (!digest.ok()) return std::nullopt;
  return *digest;
}

// Calls `fn` with the digest of every blob file name under blobs/.
Status ForEachBlobName(const std::string& blobs_dir,
                       const std::function<Status(const Digest&)>& fn) {
  CELLAR_ASSIGN_OR_RETURN(std::vector<std::string> fanouts, ListDir(blobs_dir));
  for (const std::string& fanout : fanouts) {
    if (!IsFanoutName(fanout)) continue;
    Result<std::vector<std::string>> names = ListDir(blobs_dir + '/' + fanout);
    if (!names.ok()) {
      if (names.error().IsNotFound()) continue;
      return names.error();
    }
    for (const std::string& name : *names) {
      std::optional<Digest> digest = BlobNameDigest(fanout, name);
      if (digest.has_value()) CELLAR_RETURN_IF_ERROR(fn(*digest));
    }
  }
  return Status::Ok();
}

// Moves the file it reads to quarantine/ the first time a read finds it
// damaged (a zstd checksum or frame error, a file shorter than its header),
// so the next request for the blob is a miss that refills or re-uploads it
// instead of another broken transfer. Only the file it opened is moved: the
// inode is compared under rename_mu, as the scrub does. The cost is one
// stat and one rename, once, on the failing read.
class QuarantineOnCorruption final : public BlobReader {
 public:
  QuarantineOnCorruption(std::unique_ptr<BlobReader> inner, std::shared_ptr<FsStoreContext> ctx,
                         Digest digest, JudgedFile file)
      : inner_(std::move(inner)), ctx_(std::move(ctx)), digest_(digest), file_(std::move(file)) {}

  uint64_t size() const override { return inner_->size(); }
  std::optional<RawFileRange> RawFile() const override { return inner_->RawFile(); }

  Result<size_t> Read(std::span<std::byte> out) override {
    Result<size_t> n = inner_->Read(out);
    if (!n.ok() && n.error().code() == Code::kCorruption && !quarantined_) {
      quarantined_ = true;
      // A failure to move it changes nothing for this read: it fails anyway.
      (void)QuarantineIfUnchanged(*ctx_, digest_, file_);
    }
    return n;
  }

 private:
  std::unique_ptr<BlobReader> inner_;
  const std::shared_ptr<FsStoreContext> ctx_;
  const Digest digest_;
  const JudgedFile file_;
  bool quarantined_ = false;
};

}  // namespace

Result<std::unique_ptr<FsBlobStore>> FsBlobStore::Open(Options options) {
  CELLAR_RETURN_IF_ERROR(ValidateOptions(options));
  std::error_code ec;
  const bool created_root = std::filesystem::create_directories(options.root, ec);
  if (ec) return Status::FromErrno(ec.value(), "create store root " + options.root);

  auto ctx = std::make_shared<FsStoreContext>();
  ctx->blobs_dir = options.root + "/blobs";
  ctx->tmp_dir = options.root + "/tmp";
  ctx->quarantine_dir = options.root + "/quarantine";
  ctx->options = std::move(options);
  // Up to 64 idle buffers: the uploads of a busy build, at a few hundred KiB
  // of resident memory each.
  ctx->write_buffers =
      std::make_unique<BufferPool<uint8_t>>(FsBlobWriter::BufferSize(ctx->options), 64);
  for (const std::string* dir : {&ctx->blobs_dir, &ctx->tmp_dir, &ctx->quarantine_dir}) {
    CELLAR_RETURN_IF_ERROR(MakeDir(*dir));
  }
  // Commits sync only the directories below blobs/; make the path down to
  // it durable once here, or a crash could lose a whole new store.
  CELLAR_RETURN_IF_ERROR(SyncDir(ctx->options.root, /*faults=*/nullptr));
  if (created_root) {
    const std::filesystem::path parent = std::filesystem::path(ctx->options.root).parent_path();
    CELLAR_RETURN_IF_ERROR(SyncDir(parent.empty() ? "." : parent.string(), /*faults=*/nullptr));
  }
  CELLAR_RETURN_IF_ERROR(RemoveLeftoverTempFiles(ctx->tmp_dir));
  return std::unique_ptr<FsBlobStore>(new FsBlobStore(std::move(ctx)));
}

FsBlobStore::FsBlobStore(std::shared_ptr<FsStoreContext> ctx) : ctx_(std::move(ctx)) {}

size_t FsBlobStore::zstd_contexts_created_for_test() const {
  return ctx_->zstd_contexts.created_for_test();
}
FsBlobStore::~FsBlobStore() = default;

std::string FsBlobStore::BlobPath(const Digest& digest) const { return ctx_->BlobPath(digest); }
const std::string& FsBlobStore::root() const { return ctx_->options.root; }

Result<std::unique_ptr<BlobWriter>> FsBlobStore::NewWriter() {
  return std::unique_ptr<BlobWriter>(std::make_unique<FsBlobWriter>(ctx_));
}

Result<std::optional<std::unique_ptr<BlobReader>>> FsBlobStore::Open(const Digest& digest) {
  std::string path = ctx_->BlobPath(digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<std::unique_ptr<BlobReader>>();
    return Status::FromErrno(errno, "open " + path);
  }
  // No descriptor of its own: the reader's keeps the inode from being reused.
  JudgedFile judged;
  judged.path = path;
  if (::fstat(fd.get(), &judged.st) != 0) return Status::FromErrno(errno, "fstat " + path);
  CELLAR_ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader,
                          OpenBlobReader(std::move(fd), std::move(path)));
  return std::optional<std::unique_ptr<BlobReader>>(std::make_unique<QuarantineOnCorruption>(
      std::move(reader), ctx_, digest, std::move(judged)));
}

Result<std::optional<BlobInfo>> FsBlobStore::Stat(const Digest& digest) {
  const std::string path = ctx_->BlobPath(digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<BlobInfo>();
    return Status::FromErrno(errno, "open " + path);
  }
  CELLAR_ASSIGN_OR_RETURN(BlobFileInfo file, ReadBlobFileInfo(fd.get(), path));
  return std::optional<BlobInfo>(
      BlobInfo{digest, file.header.size, file.file_size, file.header.format == BlobFormat::kZstd});
}

Status FsBlobStore::Remove(const Digest& digest) {
  const std::string path = ctx_->BlobPath(digest);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "remove " + path);
  }
  return Status::Ok();
}

Status FsBlobStore::ForEach(const std::function<void(const BlobInfo&)>& fn) {
  return ForEachBlobName(ctx_->blobs_dir, [&](const Digest& digest) {
    Result<std::optional<BlobInfo>> info = Stat(digest);
    if (!info.ok()) {
      // A damaged file is skipped here; Verify() reports it.
      return info.error().code() == Code::kCorruption ? Status::Ok() : info.error();
    }
    if (info->has_value()) fn(**info);  // absent: removed since the listing
    return Status::Ok();
  });
}

Result<VerifyReport> FsBlobStore::Verify(bool quarantine_bad) {
  ScrubOptions options;
  options.quarantine_bad = quarantine_bad;
  return Scrub(options);
}

Result<VerifyReport> FsBlobStore::Scrub(const ScrubOptions& options) {
  VerifyReport report;
  std::vector<std::byte> scratch(kVerifyBufferSize);
  const ReadPace* pace = options.pace ? &options.pace : nullptr;
  CELLAR_RETURN_IF_ERROR(ForEachBlobName(ctx_->blobs_dir, [&](const Digest& digest) {
    const uint64_t bad_before = report.bad;
    const uint64_t judged_before = report.ok + report.bad;
    CELLAR_RETURN_IF_ERROR(VerifyFile(digest, options.quarantine_bad, scratch, report, pace));
    if (options.on_blob && report.ok + report.bad > judged_before) {
      options.on_blob(digest, report.bad == bad_before ? nullptr : &report.bad_blobs.back());
    }
    return Status::Ok();
  }));
  return report;
}

Status FsBlobStore::ReportCorrupt(const Digest& digest) {
  // Small blobs are the ones callers hash; a small buffer will do.
  std::vector<std::byte> scratch(64 * 1024);
  VerifyReport report;
  return VerifyFile(digest, /*quarantine_bad=*/true, scratch, report);
}

uint64_t FsBlobStore::quarantined_total() const {
  return ctx_->quarantined.load(std::memory_order_relaxed);
}

Result<VerifyReport> FsBlobStore::VerifyOne(const Digest& digest, bool quarantine_bad) {
  VerifyReport report;
  std::vector<std::byte> scratch(kVerifyBufferSize);
  CELLAR_RETURN_IF_ERROR(VerifyFile(digest, quarantine_bad, scratch, report));
  return report;
}

}  // namespace cellar::store
