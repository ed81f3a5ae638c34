#include "tasks/run/run_record.h"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

namespace cellar::tasks {

namespace {

nlohmann::json PairsToObject(const std::vector<std::pair<std::string, std::string>>& pairs) {
  nlohmann::json obj = nlohmann::json::object();
  for (const auto& [k, v] : pairs) obj[k] = v;
  return obj;
}

nlohmann::json TaskJson(const TaskRecord& t) {
  nlohmann::json j;
  j["taskId"] = t.id;
  j["package"] = t.package;
  j["task"] = t.task;
  j["directory"] = t.directory;
  j["command"] = t.command;
  j["hash"] = t.hash;
  j["outputs"] = t.outputs;
  j["dependencies"] = t.dependencies;
  j["dependents"] = t.dependents;
  j["envKeys"] = t.env_keys;
  j["inputs"] = PairsToObject(t.inputs);
  if (!t.hash_inputs.is_null()) j["hashInputs"] = t.hash_inputs;
  if (t.cache_status) {
    nlohmann::json cache;
    cache["status"] = *t.cache_status;
    if (t.cache_source) cache["source"] = *t.cache_source;
    cache["timeSavedMs"] = t.saved.count();
    j["cache"] = cache;
    j["exitCode"] = t.exit_code ? nlohmann::json(*t.exit_code) : nlohmann::json(nullptr);
    j["durationMs"] = t.duration.count();
  }
  return j;
}

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

}  // namespace

std::string NewRunId(std::chrono::system_clock::time_point now) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%06x", rd() & 0xffffff);
  return std::string(stamp) + "-" + suffix;
}

std::string RenderRunJson(const RunRecord& r) {
  nlohmann::json j;
  j["id"] = r.id;
  j["startedAtUnixMs"] = r.started_unix_ms;
  j["requested"] = r.requested;
  nlohmann::json tasks = nlohmann::json::array();
  for (const auto& t : r.tasks) tasks.push_back(TaskJson(t));
  j["tasks"] = tasks;
  if (r.totals) {
    const RunTotals& t = *r.totals;
    j["totals"] = {{"total", t.total},         {"successful", t.succeeded}, {"cached", t.cached},
                   {"failed", t.failed},       {"skipped", t.skipped},      {"wallMs", t.wall.count()},
                   {"timeSavedMs", t.saved.count()}};
  }
  if (r.exit_code) j["exitCode"] = *r.exit_code;
  return j.dump(2) + "\n";
}

std::string RenderDryText(const RunRecord& r) {
  std::string out = "Tasks to run (" + std::to_string(r.tasks.size()) + "):\n";
  for (const auto& t : r.tasks) {
    out += "\n" + t.id + "\n";
    out += "  directory     " + (t.directory.empty() ? std::string(".") : t.directory) + "\n";
    out += "  command       " + t.command + "\n";
    out += "  hash          " + t.hash + "\n";
    if (t.cache_status) out += "  cache         " + *t.cache_status + "\n";
    out += "  inputs        " + std::to_string(t.inputs.size()) + " files\n";
    out += "  outputs       " + Join(t.outputs, ", ") + "\n";
    out += "  env keys      " + Join(t.env_keys, ", ") + "\n";
    out += "  depends on    " + Join(t.dependencies, ", ") + "\n";
    out += "  dependents    " + Join(t.dependents, ", ") + "\n";
  }
  return out;
}

Result<std::string> WriteRunSummary(const std::string& root, const RunRecord& record) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::path(root) / ".cellar" / "runs";
  fs::create_directories(dir, ec);
  if (ec) return Status::Internal("create " + dir.string() + ": " + ec.message());
  fs::path final_path = dir / (record.id + ".json");
  fs::path tmp = dir / (record.id + ".json.tmp");
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << RenderRunJson(record);
    f.close();
    if (!f) {
      fs::remove(tmp, ec);
      return Status::Internal("write " + tmp.string());
    }
  }
  fs::rename(tmp, final_path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::Internal("rename " + final_path.string() + ": " + ec.message());
  }
  return final_path.string();
}

}  // namespace cellar::tasks
