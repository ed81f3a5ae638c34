#include "tasks/artifact/artifact_format.h"

#include <nlohmann/json.hpp>

namespace cellar::artifact {

std::string EncodeMetadata(const ArtifactMetadata& metadata) {
  // nlohmann::json objects keep keys sorted, so the bytes depend only on the values.
  nlohmann::json j;
  j["format"] = metadata.format_version;
  j["task"] = metadata.task_id;
  j["duration_ms"] = metadata.duration_ms;
  j["log_bytes"] = metadata.log_bytes;
  return j.dump();
}

Result<ArtifactMetadata> DecodeMetadata(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Status::Corruption("artifact: metadata is not a JSON object");
  auto format = j.find("format");
  if (format == j.end() || !format->is_number_integer()) {
    return Status::Corruption("artifact: metadata without a format version");
  }
  ArtifactMetadata m;
  m.format_version = format->get<int>();
  if (m.format_version != kFormatVersion) {
    return Status::Corruption("artifact: unknown format version " +
                              std::to_string(m.format_version));
  }
  auto task = j.find("task");
  auto duration = j.find("duration_ms");
  auto log_bytes = j.find("log_bytes");
  if (task == j.end() || !task->is_string() || duration == j.end() ||
      !duration->is_number_integer() || log_bytes == j.end() ||
      !log_bytes->is_number_unsigned()) {
    return Status::Corruption("artifact: metadata fields missing or mistyped");
  }
  m.task_id = task->get<std::string>();
  m.duration_ms = duration->get<int64_t>();
  m.log_bytes = log_bytes->get<uint64_t>();
  return m;
}

Result<std::string> PackagePathOfEntry(std::string_view name) {
  auto refuse = [&](std::string_view why) {
    return Status::PermissionDenied("artifact: refused entry '" + std::string(name) + "': " +
                                    std::string(why));
  };
  if (!name.starts_with(kFilesPrefix)) return refuse("outside files/");
  std::string_view path = name.substr(kFilesPrefix.size());
  if (path.ends_with('/')) path.remove_suffix(1);
  if (path.empty()) return refuse("empty path");
  if (path.find('\0') != std::string_view::npos) return refuse("NUL in name");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment.empty()) return refuse("empty segment or absolute path");
    if (segment == "." || segment == "..") return refuse("'.' or '..' segment");
    start = end + 1;
  }
  return std::string(path);
}

bool SelectedByOutputs(const glob::PatternSet& outputs, std::string_view path) {
  // The same rule glob::Expand applies when descending matched directories, so restore
  // accepts exactly what the writer could have selected.
  return outputs.MatchesPathOrParent(path);
}

}  // namespace cellar::artifact
