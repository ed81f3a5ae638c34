// JSON views of task and global hash manifests, for `cellar run --dry=json`
// and the `--summarize` run summary: every input that went into a hash, so
// two runs' files can be diffed to see why a task missed. Keys are sorted
// (nlohmann::json objects are ordered maps), so equal manifests print equal
// text. Env values are shown as the BLAKE3 of the value, never the value
// itself: env_keys often hold tokens. Field list: docs/task-hash.md section 6.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "tasks/hash/task_hash.h"

namespace cellar::taskhash {

nlohmann::json TaskHashJson(const TaskHash& hash);
nlohmann::json GlobalHashJson(const GlobalHash& hash);

// The JSON as text. Paths, link targets and commands are bytes, not always
// UTF-8: invalid sequences print as U+FFFD here, where a plain dump() would
// throw.
std::string JsonText(const nlohmann::json& json, int indent = -1);

// "<hex>" for a regular file, "<hex> executable", "symlink -> <target>",
// "directory".
std::string DescribeFile(const FileDigest& digest);

}  // namespace cellar::taskhash
