#include "tasks/artifact/output_stamp.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/base64.h"

namespace cellar::artifact {
namespace {

constexpr int kFormat = 2;

int64_t UnixNs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Every entry older than the racy window before `taken_ns`.
bool Trusted(const std::vector<OutputEntryStamp>& entries, int64_t taken_ns) {
  const int64_t limit = taken_ns - std::chrono::nanoseconds(kOutputStampRacyWindow).count();
  for (const OutputEntryStamp& e : entries) {
    if (e.stat.mtime_ns >= limit || e.stat.ctime_ns >= limit) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<OutputEntryStamp>> ReadOutputEntries(const std::string& package_dir,
                                                        const glob::PatternSet& outputs) {
  glob::ExpandOptions options;
  options.files = true;
  options.directories = true;
  Result<std::vector<std::string>> paths = glob::Expand(package_dir, outputs, options);
  if (!paths.ok()) return paths.error();
  std::vector<OutputEntryStamp> entries;
  entries.reserve(paths->size());
  for (std::string& path : *paths) {
    struct stat st;
    if (::lstat((package_dir + "/" + path).c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;  // gone since the walk
      return Status::FromErrno(errno, "cannot stat output " + path);
    }
    entries.push_back(OutputEntryStamp{std::move(path), FileStampOf(st)});
  }
  return entries;
}

Result<std::optional<OutputStamp>> TakeOutputStamp(const std::string& package_dir, const glob::PatternSet& outputs,
                                                   const std::string& artifact_hash,
                                                   std::chrono::system_clock::time_point now,
                                                   const RestoreResult* restored) {
  Result<std::vector<OutputEntryStamp>> entries = ReadOutputEntries(package_dir, outputs);
  if (!entries.ok()) return entries.error();
  OutputStamp stamp;
  stamp.artifact_hash = artifact_hash;
  stamp.package_dir = package_dir;
  stamp.taken_ns = UnixNs(now);
  stamp.entries = std::move(*entries);
  if (!Trusted(stamp.entries, stamp.taken_ns)) return std::optional<OutputStamp>();
  if (restored != nullptr && restored->log.size() <= kStampedLogLimit) {
    RestoreResult head;
    head.metadata = restored->metadata;
    head.log = restored->log;
    head.log_truncated = restored->log_truncated;
    stamp.head = std::move(head);
  }
  return std::optional<OutputStamp>(std::move(stamp));
}

bool OutputsIntact(const OutputStamp& stamp, const std::string& package_dir, const glob::PatternSet& outputs,
                   const std::string& artifact_hash) {
  if (stamp.artifact_hash != artifact_hash || stamp.package_dir != package_dir) return false;
  if (!Trusted(stamp.entries, stamp.taken_ns)) return false;
  Result<std::vector<OutputEntryStamp>> now = ReadOutputEntries(package_dir, outputs);
  return now.ok() && *now == stamp.entries;
}

std::string EncodeOutputStamp(const OutputStamp& stamp) {
  nlohmann::json entries = nlohmann::json::array();
  for (const OutputEntryStamp& e : stamp.entries) {
    const FileStamp& st = e.stat;
    entries.push_back({e.path, st.mode, st.device, st.inode, st.size, st.mtime_ns, st.ctime_ns});
  }
  nlohmann::json j{{"format", kFormat},
                   {"artifact", stamp.artifact_hash},
                   {"package_dir", stamp.package_dir},
                   {"taken_ns", stamp.taken_ns},
                   {"entries", std::move(entries)}};
  if (stamp.head) {
    const ArtifactMetadata& m = stamp.head->metadata;
    // The log in base64: a task may print bytes that are not UTF-8.
    j["head"] = {{"format_version", m.format_version}, {"task_id", m.task_id},
                 {"duration_ms", m.duration_ms},       {"log_bytes", m.log_bytes},
                 {"log", Base64Encode(stamp.head->log)}, {"log_truncated", stamp.head->log_truncated}};
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

std::optional<OutputStamp> DecodeOutputStamp(std::string_view text) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    if (j.at("format").get<int>() != kFormat) return std::nullopt;
    OutputStamp stamp;
    stamp.artifact_hash = j.at("artifact").get<std::string>();
    stamp.package_dir = j.at("package_dir").get<std::string>();
    stamp.taken_ns = j.at("taken_ns").get<int64_t>();
    for (const nlohmann::json& e : j.at("entries")) {
      if (!e.is_array() || e.size() != 7) return std::nullopt;
      FileStamp st;
      st.mode = e[1].get<uint32_t>();
      st.device = e[2].get<uint64_t>();
      st.inode = e[3].get<uint64_t>();
      st.size = e[4].get<uint64_t>();
      st.mtime_ns = e[5].get<int64_t>();
      st.ctime_ns = e[6].get<int64_t>();
      stamp.entries.push_back(OutputEntryStamp{e[0].get<std::string>(), st});
    }
    if (auto h = j.find("head"); h != j.end()) {
      RestoreResult head;
      head.metadata.format_version = h->at("format_version").get<int>();
      head.metadata.task_id = h->at("task_id").get<std::string>();
      head.metadata.duration_ms = h->at("duration_ms").get<int64_t>();
      head.metadata.log_bytes = h->at("log_bytes").get<uint64_t>();
      std::optional<std::string> log = Base64DecodeAny(h->at("log").get<std::string>());
      if (!log) return std::nullopt;
      head.log = std::move(*log);
      head.log_truncated = h->at("log_truncated").get<bool>();
      stamp.head = std::move(head);
    }
    return stamp;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

Status SaveOutputStamp(const std::string& path, const OutputStamp& stamp) {
  const std::string text = EncodeOutputStamp(stamp);
  // Unique per process and call: task threads of one run save at once.
  static std::atomic<uint64_t> counter{0};
  const std::string temp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      ::unlink(temp.c_str());
      return Status::FromErrno(EIO, "cannot write " + temp);
    }
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Status error = Status::FromErrno(errno, "cannot rename " + temp);
    ::unlink(temp.c_str());
    return error;
  }
  return Status::Ok();
}

std::optional<OutputStamp> LoadOutputStamp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return DecodeOutputStamp(text.str());
}

}  // namespace cellar::artifact
