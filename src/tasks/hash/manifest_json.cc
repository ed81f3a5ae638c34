#include "tasks/hash/manifest_json.h"

#include "base/digest.h"
#include "hash/blake3.h"

namespace cellar::taskhash {
namespace {

nlohmann::json EnvJson(const std::vector<EnvValue>& env) {
  nlohmann::json out = nlohmann::json::object();
  for (const EnvValue& e : env) {
    if (!e.value) {
      out[e.name] = nullptr;
      continue;
    }
    auto digest = hash::Blake3(std::as_bytes(std::span(e.value->data(), e.value->size())));
    out[e.name] = "blake3:" + ToHex(std::span(digest.data(), 8));
  }
  return out;
}

nlohmann::json FilesJson(const std::vector<InputFile>& files) {
  nlohmann::json out = nlohmann::json::object();
  for (const InputFile& f : files) out[f.path] = DescribeFile(f.digest);
  return out;
}

nlohmann::json StringList(const std::vector<std::string>& items) {
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& item : items) out.push_back(item);
  return out;
}

}  // namespace

std::string DescribeFile(const FileDigest& digest) {
  switch (digest.kind) {
    case FileKind::kRegular:
      return ToHex(digest.id);
    case FileKind::kExecutable:
      return ToHex(digest.id) + " executable";
    case FileKind::kSymlink:
      return "symlink -> " + digest.symlink_target;
    case FileKind::kDirectory:
      return "directory";
  }
  return "unknown";
}

std::string JsonText(const nlohmann::json& json, int indent) {
  return json.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json TaskHashJson(const TaskHash& hash) {
  const TaskManifest& m = hash.manifest;
  nlohmann::json deps = nlohmann::json::object();
  for (const auto& [id, hex] : m.dependencies) deps[id] = hex;
  return nlohmann::json{
      {"hash", hash.hex},
      {"version", m.version},
      {"task", m.task_id},
      {"package", m.package_dir},
      {"command", m.command},
      {"inputSource", std::string(InputSourceName(m.input_source))},
      {"inputGlobs", StringList(m.input_globs)},
      {"outputs", StringList(m.outputs)},
      {"env", EnvJson(m.env)},
      {"dependencies", deps},
      {"files", FilesJson(m.files)},
      {"globalHash", m.global_hash},
  };
}

nlohmann::json GlobalHashJson(const GlobalHash& hash) {
  const GlobalManifest& m = hash.manifest;
  auto digest = hash::Blake3(
      std::as_bytes(std::span(m.task_definitions.data(), m.task_definitions.size())));
  return nlohmann::json{
      {"hash", hash.hex},
      {"version", m.version},
      {"taskDefinitions", "blake3:" + ToHex(std::span(digest.data(), 16))},
      {"files", FilesJson(m.files)},
      {"env", EnvJson(m.env)},
  };
}

}  // namespace cellar::taskhash
