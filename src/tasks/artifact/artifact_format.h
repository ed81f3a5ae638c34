// Names and rules of the artifact format shared by the writer and the restorer
// (docs/task-artifact.md sections 1 and 4). Internal to src/tasks/artifact.
// Thread-safety: free functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "glob/glob.h"
#include "tasks/artifact/artifact.h"

namespace cellar::artifact {

// Entry names. Package files live under kFilesPrefix, so the two reserved entries can never
// collide with an output, whatever the package holds.
inline constexpr std::string_view kMetadataEntry = "meta.json";
inline constexpr std::string_view kLogEntry = "log";
inline constexpr std::string_view kFilesPrefix = "files/";

inline constexpr size_t kMaxMetadataBytes = 64 * 1024;

std::string EncodeMetadata(const ArtifactMetadata& metadata);
// kCorruption for malformed JSON or an unknown format version.
Result<ArtifactMetadata> DecodeMetadata(std::string_view json);

// The package-relative path of a `files/` entry name, or kPermissionDenied when the name is
// not one (absolute, empty or '.'/'..' segments, outside files/). One trailing '/' is allowed
// (directory entries).
Result<std::string> PackagePathOfEntry(std::string_view entry_name);

// True when `path` (package-relative) is an output: the globs select it or one of its parent
// directories (a glob naming a directory selects everything beneath it).
bool SelectedByOutputs(const glob::PatternSet& outputs, std::string_view path);

}  // namespace cellar::artifact
