#include "server/s3_storage.h"

#include <chrono>

#include "server/s3_direct_storage.h"
#include "base/log.h"
#include "base/strings.h"
#include "index/outbox/outbox_shared_entries.h"
#include "index/s3/hot_cached_entries.h"
#include "index/s3/s3_shared_entries.h"
#include "store/outbox/outbox.h"
#include "store/outbox/outbox_drainer.h"
#include "store/s3/curl_s3_client.h"
#include "store/s3/metered_s3_client.h"
#include "store/s3/retrying_s3_client.h"
#include "store/s3/s3_blob_store.h"
#include "store/s3/s3_config.h"
#include "store/s3/s3_documents.h"
#include "store/tiered/tiered_blob_store.h"

namespace cellar::server {

// Declaration order is construction order: each part uses the ones above it.
struct S3Storage::Parts {
  s3::S3Config s3_config;
  std::string description;
  std::unique_ptr<s3::CurlS3Client> curl;
  std::unique_ptr<s3::MeteredS3Client> metered;  // under the retries: one count per attempt
  s3::RealSleeper sleeper;
  std::unique_ptr<s3::RetryingS3Client> client;
  std::unique_ptr<s3::S3BlobStore> remote;
  std::unique_ptr<outbox::Outbox> outbox;  // --s3-upload=async
  std::unique_ptr<store::TieredBlobStore> tiered;
  std::unique_ptr<S3DirectStorage> direct;
  std::unique_ptr<s3::S3Documents> documents;
  std::unique_ptr<index::S3SharedEntries> entries;
  std::unique_ptr<index::HotCachedEntries> hot_cached;  // with Redis: entries, with copies in it
  std::unique_ptr<index::OutboxSharedEntries> outbox_entries;  // --s3-upload=async
  // Last: its threads use everything above, so it is destroyed (stopped) first.
  std::unique_ptr<outbox::OutboxDrainer> drainer;
};

S3Storage::S3Storage(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
S3Storage::~S3Storage() = default;

Result<std::unique_ptr<S3Storage>> S3Storage::Open(const Config& config, store::BlobStore& local,
                                                   const env::Clock& clock, const std::string& spool_dir,
                                                   metrics::Registry& registry, index::HotEntries* hot_entries) {
  auto p = std::make_unique<Parts>();
  s3::S3Config& s3 = p->s3_config;
  s3::ApplyEnvironment(s3);  // credentials; the rest is settled by config
  s3.endpoint = config.s3_endpoint;
  s3.bucket = config.s3_bucket;
  s3.prefix = config.s3_prefix;
  s3.region = config.s3_region;
  s3.addressing = config.s3_addressing == "virtual-host" ? s3::Addressing::kVirtualHost : s3::Addressing::kPath;
  p->description = s3.Describe();
  CELLAR_RETURN_IF_ERROR(s3::Validate(s3).WithContext("--storage s3"));
  p->curl = std::make_unique<s3::CurlS3Client>(s3);
  // Refusing to start beats accepting uploads that every commit would then
  // fail to store.
  Status probe = p->curl->CheckBucket();
  if (!probe.ok()) return probe.WithContext("--storage s3: checking the bucket (" + p->description + ")");
  p->metered = std::make_unique<s3::MeteredS3Client>(*p->curl, registry, clock);
  p->client = std::make_unique<s3::RetryingS3Client>(*p->metered, s3::RetryPolicy{}, p->sleeper);
  s3::S3BlobStoreOptions options;
  options.prefix = s3.prefix;
  options.spool_dir = spool_dir;
  p->remote = std::make_unique<s3::S3BlobStore>(*p->client, clock, options);
  store::TieredBlobStore::Options tiered;
  tiered.reads = &registry.AddCounter("cellar_tiered_reads_total",
                                      "Blob reads by source: local (local-tier hit), remote (read through from "
                                      "the bucket), absent, remote_error.",
                                      {"source"});
  if (config.s3_upload == "async") {
    CELLAR_ASSIGN_OR_RETURN(p->outbox, outbox::Outbox::Open({.dir = config.data_dir + "/outbox"}, clock));
    tiered.outbox = p->outbox.get();
    p->description += " upload=async";
  }
  p->tiered = std::make_unique<store::TieredBlobStore>(local, *p->remote, tiered);
  p->entries = std::make_unique<index::S3SharedEntries>(*p->client, s3.prefix);
  index::SharedEntries* shared = p->entries.get();
  if (hot_entries != nullptr) {
    auto& lookups = registry.AddCounter("cellar_hot_entries_total",
                                        "Fleet mode: lookups of the bucket's entries answered from Redis's copies "
                                        "(hot), from the bucket (cold), or from the bucket with Redis down "
                                        "(unavailable).",
                                        {"result"});
    p->hot_cached = std::make_unique<index::HotCachedEntries>(
        *p->entries, *hot_entries, [&lookups](index::HotCachedEntries::Lookup l) {
          using L = index::HotCachedEntries::Lookup;
          lookups.With({l == L::kHot ? "hot" : l == L::kCold ? "cold" : "unavailable"}).Inc();
        });
    shared = p->hot_cached.get();
  }
  if (p->outbox) {
    p->outbox_entries = std::make_unique<index::OutboxSharedEntries>(*shared, *p->outbox);
    outbox::OutboxDrainer::Options drainer;
    drainer.registry = &registry;
    p->drainer = std::make_unique<outbox::OutboxDrainer>(*p->outbox, clock, drainer);
    store::TieredBlobStore* blobs = p->tiered.get();
    index::OutboxSharedEntries* entries = p->outbox_entries.get();
    p->drainer->SetHandler(std::string(store::TieredBlobStore::kBlobRecordKind),
                           [blobs](const outbox::Record& r) { return blobs->DrainBlobRecord(r); });
    p->drainer->SetHandler(std::string(index::OutboxSharedEntries::kPublishRecordKind),
                           [entries](const outbox::Record& r) { return entries->DrainPublishRecord(r); });
  }
  p->direct = std::make_unique<S3DirectStorage>(*p->client, p->s3_config, *p->remote, clock);
  p->documents = std::make_unique<s3::S3Documents>(*p->client, s3.prefix);
  return std::unique_ptr<S3Storage>(new S3Storage(std::move(p)));
}

store::BlobStore& S3Storage::store() { return *parts_->tiered; }
store::BlobStore& S3Storage::bucket_blobs() { return *parts_->remote; }
store::Documents& S3Storage::documents() { return *parts_->documents; }

index::S3SharedEntries& S3Storage::manifests() { return *parts_->entries; }
s3::S3Client& S3Storage::client() { return *parts_->client; }
const std::string& S3Storage::prefix() const { return parts_->s3_config.prefix; }

index::SharedEntries& S3Storage::entries() {
  if (parts_->outbox_entries) return *parts_->outbox_entries;
  if (parts_->hot_cached) return *parts_->hot_cached;
  return *parts_->entries;
}

void S3Storage::StartUploads(std::function<void(const index::Entry&)> on_superseded) {
  if (!parts_->drainer) return;
  parts_->outbox_entries->SetOnSuperseded(std::move(on_superseded));
  Log(LogLevel::kInfo, "outbox draining to the bucket",
      "\"dir\":\"" + JsonEscape(parts_->outbox->dir()) + "\",\"pending\":" +
          std::to_string(parts_->outbox->size()));
  parts_->drainer->Start();
}

void S3Storage::StopUploads() {
  if (parts_->drainer) parts_->drainer->Stop();
}

const std::string& S3Storage::description() const { return parts_->description; }

Status S3Storage::CheckReachable() { return parts_->curl->CheckBucket(); }

Result<int> S3Storage::AbortStaleUploads() {
  return parts_->remote->AbortStaleUploads(std::chrono::hours(24));
}

negotiate::DirectStorage& S3Storage::direct() { return *parts_->direct; }

Result<int> S3Storage::RemoveStaleStaged() { return parts_->direct->RemoveStaleStaged(std::chrono::hours(24)); }

}  // namespace cellar::server
