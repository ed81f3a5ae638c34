#include "tasks/run/reporter.h"

#include <cstdio>

namespace cellar::tasks {

Result<OutputLogs> ParseOutputLogs(std::string_view text) {
  if (text == "full") return OutputLogs::kFull;
  if (text == "new-only") return OutputLogs::kNewOnly;
  if (text == "errors-only") return OutputLogs::kErrorsOnly;
  if (text == "hash-only") return OutputLogs::kHashOnly;
  if (text == "none") return OutputLogs::kNone;
  return Status::InvalidArgument("--output-logs must be full, new-only, errors-only, hash-only or none, not '" +
                                 std::string(text) + "'");
}

std::string_view CacheSourceName(CacheSource source) {
  return source == CacheSource::kLocal ? "local" : "remote";
}

std::string TaskLabel(std::string_view task_id) {
  std::string label(task_id);
  if (size_t hash = label.rfind('#'); hash != std::string::npos) label[hash] = ':';
  return label;
}

std::string FormatSeconds(std::chrono::milliseconds duration) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03llds", static_cast<long long>(duration.count() / 1000),
                static_cast<long long>(duration.count() % 1000));
  return buf;
}

std::string FormatSummary(const RunTotals& t) {
  std::string out = "\n";
  out += " Tasks:    " + std::to_string(t.succeeded) + " successful, " + std::to_string(t.total) + " total\n";
  out += "Cached:    " + std::to_string(t.cached) + " cached, " + std::to_string(t.total) + " total\n";
  out += "  Time:    " + FormatSeconds(t.wall);
  if (t.total > 0 && t.cached == t.total) out += " >>> ALL CACHED";
  out += "\n";
  if (t.saved.count() > 0) out += " Saved:    " + FormatSeconds(t.saved) + " of task time from the cache\n";
  auto list = [&](const char* title, const std::vector<std::string>& ids) {
    if (ids.empty()) return;
    out += title;
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + ids[i];
    out += "\n";
  };
  list("Failed:    ", t.failed);
  list("Skipped:   ", t.skipped);
  return out;
}

RunReporter::RunReporter(ReporterOptions options, std::function<void(std::string_view)> write)
    : options_(options), write_(std::move(write)) {}

bool RunReporter::ShowsStatus() const {
  return options_.logs == OutputLogs::kFull || options_.logs == OutputLogs::kNewOnly ||
         options_.logs == OutputLogs::kHashOnly;
}

bool RunReporter::ShowsLiveOutput() const {
  return options_.logs == OutputLogs::kFull || options_.logs == OutputLogs::kNewOnly;
}

void RunReporter::AppendLines(std::string& out, std::string_view task_id, std::string_view text) const {
  const std::string prefix = options_.prefix_output ? TaskLabel(task_id) + ": " : "";
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += prefix;
    out += line;
    out += '\n';
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

std::string RunReporter::ProgressLine() const {
  std::string line = "[" + std::to_string(done_) + "/" + std::to_string(options_.total_tasks) + "]";
  if (!running_.empty()) {
    line += " running ";
    bool first = true;
    for (const auto& id : running_) {
      line += (first ? "" : ", ") + TaskLabel(id);
      first = false;
    }
  }
  if (line.size() > options_.width - 1 && options_.width > 4) line = line.substr(0, options_.width - 4) + "...";
  return line;
}

void RunReporter::EmitLocked(const std::string& text) {
  if (!options_.progress) {
    if (!text.empty()) write_(text);
    return;
  }
  // Erase the progress line, write above it, draw it again.
  std::string out = progress_shown_ ? "\r\x1b[2K" : "";
  out += text;
  out += ProgressLine();
  progress_shown_ = true;
  write_(out);
}

void RunReporter::CacheHit(std::string_view task_id, CacheSource source, std::string_view hash,
                           std::string_view log) {
  std::lock_guard<std::mutex> lock(mu_);
  ++done_;
  std::string out;
  if (ShowsStatus()) {
    bool replay = options_.logs == OutputLogs::kFull;
    out = TaskLabel(task_id) + ": cache hit (" + std::string(CacheSourceName(source)) + "), " +
          (replay ? "replaying logs " : "suppressing logs ") + std::string(hash) + "\n";
    if (replay) AppendLines(out, task_id, log);
  }
  EmitLocked(out);
}

void RunReporter::Executing(std::string_view task_id, std::string_view hash, std::string_view bypass) {
  std::lock_guard<std::mutex> lock(mu_);
  running_.emplace(task_id);
  std::string out;
  if (ShowsStatus()) {
    out = TaskLabel(task_id) + ": " +
          (bypass.empty() ? std::string("cache miss") : "cache bypass (" + std::string(bypass) + ")") +
          ", executing " + std::string(hash) + "\n";
  }
  EmitLocked(out);
}

void RunReporter::TaskOutput(std::string_view task_id, std::string_view line) {
  if (!ShowsLiveOutput()) return;
  std::string out = options_.prefix_output ? TaskLabel(task_id) + ": " : "";
  out += line;
  out += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  EmitLocked(out);
}

void RunReporter::TaskFailed(std::string_view task_id, std::string_view reason, std::string_view log) {
  std::string out;
  if (options_.logs == OutputLogs::kErrorsOnly) AppendLines(out, task_id, log);
  out += TaskLabel(task_id) + ": ERROR: " + std::string(reason) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  running_.erase(std::string(task_id));
  ++done_;
  EmitLocked(out);
}

void RunReporter::TaskDone(std::string_view task_id) {
  std::lock_guard<std::mutex> lock(mu_);
  running_.erase(std::string(task_id));
  ++done_;
  EmitLocked("");
}

void RunReporter::Warning(std::string_view text) { Note("cellar: warning: " + std::string(text)); }

void RunReporter::Note(std::string_view text) {
  std::string out(text);
  if (out.empty() || out.back() != '\n') out += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  EmitLocked(out);
}

void RunReporter::Finish(const RunTotals& totals) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out = progress_shown_ ? "\r\x1b[2K" : "";
  progress_shown_ = false;
  out += FormatSummary(totals);
  write_(out);
}

}  // namespace cellar::tasks
