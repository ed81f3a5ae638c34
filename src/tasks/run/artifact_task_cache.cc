#include "tasks/run/artifact_task_cache.h"

#include <unistd.h>

#include <filesystem>
#include <span>

#include "base/digest.h"
#include "glob/glob.h"
#include "hash/blake3.h"
#include "tasks/artifact/artifact.h"
#include "tasks/artifact/output_stamp.h"

namespace cellar::tasks {

ArtifactTaskCache::ArtifactTaskCache(taskcache::LocalCache& local, taskcache::GuardedRemoteCache* remote,
                                     ArtifactTaskCacheOptions options,
                                     std::function<void(const std::string&)> note)
    : local_(local), remote_(remote), options_(options), note_(std::move(note)) {
  if (remote_ && options_.write_remote) uploads_ = std::make_unique<BackgroundJobs>(options_.upload_threads);
}

void ArtifactTaskCache::Prepare(const std::vector<RunTask>& tasks) {
  if (!remote_ || !options_.read_remote || !remote_->enabled()) return;
  std::vector<std::string> hashes;
  for (const auto& t : tasks) {
    if (!t.cacheable) continue;
    if (options_.read_local) {
      auto hit = local_.Lookup(t.hash);
      if (hit.ok() && *hit) continue;  // no need to ask the remote
    }
    hashes.push_back(t.hash);
  }
  if (hashes.empty()) return;
  // One request for the whole run (the client splits only past the server's batch limit).
  std::vector<taskcache::RemoteLookup> found = remote_->LookupBatch(hashes);
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < found.size() && i < hashes.size(); ++i) {
    if (!found[i].ok() || !*found[i]) continue;
    if (!downloads_) downloads_ = std::make_unique<BackgroundJobs>(options_.download_threads);
    auto promise = std::make_shared<std::promise<Fetched>>();
    fetches_[hashes[i]] = promise->get_future().share();
    downloads_->Add([this, artifact = **found[i], promise] { promise->set_value(Fetch(artifact)); });
  }
}

std::string ArtifactTaskCache::StampPath(const RunTask& task) const {
  const auto id = hash::Blake3(std::as_bytes(std::span(task.id.data(), task.id.size())));
  return options_.output_stamp_dir + "/" + ToHex(std::span(id.data(), 16));
}

std::optional<Restored> ArtifactTaskCache::RestoreFrom(const std::string& artifact_path, const RunTask& task,
                                                      CacheSource source, std::string* warning) {
  auto outputs = glob::PatternSet::Parse(task.outputs);
  if (!outputs.ok()) {
    *warning = "bad outputs: " + outputs.error().message();
    return std::nullopt;
  }
  auto restored_as = [source](artifact::RestoreResult&& result, bool outputs_untouched) {
    Restored r;
    r.source = source;
    r.log = std::move(result.log);
    r.recorded_duration = std::chrono::milliseconds(result.metadata.duration_ms);
    r.outputs_untouched = outputs_untouched;
    return r;
  };
  const std::string stamp_path = options_.output_stamp_dir.empty() ? "" : StampPath(task);
  if (!stamp_path.empty() && source == CacheSource::kLocal) {
    // The outputs are exactly as they were when last found equal to this
    // artifact: only the log is needed, and the stamp usually holds it.
    auto stamp = artifact::LoadOutputStamp(stamp_path);
    if (stamp && artifact::OutputsIntact(*stamp, task.package_dir, *outputs, task.hash)) {
      if (stamp->head) return restored_as(std::move(*stamp->head), true);
      auto head = artifact::ReadArtifactHead(artifact_path);
      if (head.ok()) return restored_as(std::move(*head), true);
      // An unreadable artifact: the full restore below reports it.
    }
  }
  auto restored = artifact::RestoreArtifact(artifact_path, task.package_dir, *outputs);
  if (!restored.ok()) {
    *warning = std::string(CacheSourceName(source)) + " artifact " + task.hash +
               " could not be restored, running the task: " + restored.error().message();
    return std::nullopt;
  }
  if (!stamp_path.empty()) {
    // Best effort: nothing is stamped while the outputs are too fresh to
    // trust (a restore that wrote them); a later run stamps them.
    auto stamp = artifact::TakeOutputStamp(task.package_dir, *outputs, task.hash, std::chrono::system_clock::now(),
                                           &*restored);
    if (stamp.ok() && stamp->has_value()) {
      std::error_code ec;
      std::filesystem::create_directories(options_.output_stamp_dir, ec);
      (void)artifact::SaveOutputStamp(stamp_path, **stamp);
    } else {
      ::unlink(stamp_path.c_str());  // an older stamp no longer describes the outputs
    }
  }
  return restored_as(std::move(*restored), false);
}

ArtifactTaskCache::Fetched ArtifactTaskCache::Fetch(const taskcache::RemoteArtifact& artifact) {
  Fetched f;
  auto temp = local_.NewTempFile();
  if (!temp.ok()) {
    f.warning = "remote artifact not downloaded: " + temp.error().message();
    return f;
  }
  auto digest = remote_->Download(artifact, *temp);
  if (!digest.ok() || !*digest) {
    // The client removed the partial file; a disabling error was already reported once.
    if (!digest.ok() && !taskcache::DisablesRemote(digest.error())) {
      f.warning = "remote artifact " + artifact.hash + " not downloaded: " + digest.error().message();
    }
    taskcache::LocalCache::RemoveTemp(*temp);
    return f;
  }
  if (!options_.write_local) {
    f.path = *temp;
    f.is_temp = true;
    return f;
  }
  auto entry = local_.Insert(artifact.hash, *temp, **digest);
  if (!entry.ok()) {
    f.warning = "remote artifact not kept locally: " + entry.error().message();  // Insert consumed the temp file
    return f;
  }
  f.path = entry->path;
  return f;
}

std::optional<Restored> ArtifactTaskCache::Restore(const RunTask& task, std::string* warning) {
  // A download started by Prepare first: the local cache lacked the hash
  // then, and the entry it finds now is the one the download inserted.
  std::shared_future<Fetched> fetch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = fetches_.find(task.hash); it != fetches_.end()) fetch = it->second;
  }
  if (fetch.valid()) {
    Fetched fetched;
    try {
      fetched = fetch.get();
    } catch (const std::exception&) {  // the download was dropped: the run is stopping
      return std::nullopt;
    }
    if (!fetched.path) {
      if (!fetched.warning.empty()) *warning = fetched.warning;
      return std::nullopt;
    }
    auto r = RestoreFrom(*fetched.path, task, CacheSource::kRemote, warning);
    if (fetched.is_temp) taskcache::LocalCache::RemoveTemp(*fetched.path);
    return r;
  }
  if (!options_.read_local) return std::nullopt;
  auto hit = local_.Lookup(task.hash);
  if (hit.ok() && *hit) return RestoreFrom((*hit)->path, task, CacheSource::kLocal, warning);
  if (!hit.ok()) *warning = "local cache: " + hit.error().message();
  return std::nullopt;
}

Status ArtifactTaskCache::Save(const RunTask& task, const std::string& log_path, std::chrono::milliseconds duration) {
  const bool upload = uploads_ && options_.write_remote && remote_->uploads_enabled();
  if (!options_.write_local && !upload) return Status::Ok();
  CELLAR_ASSIGN_OR_RETURN(glob::PatternSet outputs, glob::PatternSet::Parse(task.outputs));
  CELLAR_ASSIGN_OR_RETURN(std::string temp, local_.NewTempFile());
  artifact::WriteOptions w;
  w.task_id = task.id;
  w.duration_ms = duration.count();
  w.log_file = log_path;
  auto info = artifact::WriteArtifact(task.package_dir, outputs, w, temp);
  if (!info.ok()) {
    taskcache::LocalCache::RemoveTemp(temp);
    return info.error();
  }
  taskcache::FileDigest digest{info->size_bytes, info->Sha256Hex()};
  std::string path = temp;
  if (options_.write_local) {
    CELLAR_ASSIGN_OR_RETURN(taskcache::LocalArtifact entry, local_.Insert(task.hash, temp, digest));
    path = entry.path;
  }
  if (upload) Upload(task.hash, path, digest, static_cast<uint64_t>(duration.count()), !options_.write_local);
  return Status::Ok();
}

void ArtifactTaskCache::Upload(const std::string& hash, const std::string& path, const taskcache::FileDigest& digest,
                               uint64_t duration_ms, bool remove_after) {
  uploads_->Add([this, hash, path, digest, duration_ms, remove_after] {
    auto outcome = remote_->Upload(hash, path, digest, duration_ms);
    if (remove_after) taskcache::LocalCache::RemoveTemp(path);
    std::lock_guard<std::mutex> lock(mu_);
    if (outcome.ok()) {
      (*outcome == taskcache::UploadOutcome::kStored ? stored_ : skipped_)++;
    } else if (!taskcache::DisablesRemote(outcome.error()) && outcome.error().code() != Code::kPermissionDenied) {
      upload_errors_.push_back("upload of " + hash + " failed: " + outcome.error().message());
    }
  });
}

std::vector<std::string> ArtifactTaskCache::Finish(bool interrupted) {
  std::vector<std::string> warnings;
  // Downloads nobody waited for (their tasks were skipped or the run stopped).
  if (downloads_ && downloads_->WaitFor(interrupted ? options_.interrupted_wait : options_.upload_wait) > 0) {
    abandoned_ = true;
  }
  if (uploads_) {
    size_t left = uploads_->WaitFor(interrupted ? options_.interrupted_wait : options_.upload_wait);
    if (left > 0) abandoned_ = true;
    if (left > 0) warnings.push_back(std::to_string(left) + " upload(s) to the remote cache did not finish in time");
  }
  std::lock_guard<std::mutex> lock(mu_);
  // A few lines are enough to see what goes wrong.
  for (size_t i = 0; i < upload_errors_.size() && i < 3; ++i) warnings.push_back(upload_errors_[i]);
  if (upload_errors_.size() > 3) warnings.push_back(std::to_string(upload_errors_.size() - 3) + " more upload errors");
  return warnings;
}

size_t ArtifactTaskCache::uploads_stored() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stored_;
}

size_t ArtifactTaskCache::uploads_skipped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return skipped_;
}

}  // namespace cellar::tasks
