// RenderConfig: a Detected pipeline as cellar.yml text.
#include "tasks/init/init.h"

namespace cellar::tasks {

namespace {

// A double-quoted YAML scalar. "${" is written "$${" so that cellar's
// variable expansion gives the text back unchanged.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\x" + std::string(1, "0123456789abcdef"[c >> 4]) + "0123456789abcdef"[c & 15];
    } else if (c == '$' && i + 1 < s.size() && s[i + 1] == '{') {
      out += "$$";
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string List(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + Quote(items[i]);
  return out + "]";
}

void RenderTask(const TaskConfig& t, const std::string& comment, std::string& out) {
  if (!comment.empty()) out += "  # " + comment + "\n";
  std::string body;
  if (t.command) body += "    command: " + Quote(*t.command) + "\n";
  if (!t.inputs.empty()) body += "    inputs: " + List(t.inputs) + "\n";
  if (!t.outputs.empty()) body += "    outputs: " + List(t.outputs) + "\n";
  if (!t.depends_on.empty()) body += "    depends_on: " + List(t.depends_on) + "\n";
  if (!t.env_keys.empty()) body += "    env_keys: " + List(t.env_keys) + "\n";
  if (!t.cache) body += "    cache: false\n";
  out += "  " + Quote(t.key) + ":" + (body.empty() ? " {}\n" : "\n" + body);
}

}  // namespace

std::string RenderConfig(const Detected& d) {
  std::string out = "# Written by `cellar init` from " + d.detected + ". Reference: docs/cellar-yml.md\n";
  for (const std::string& note : d.notes) out += "# Note: " + note + "\n";
  out += "version: 1\n";
  out += "# To share results through a cellar server:\n";
  out += "# remote:\n#   enabled: true\n#   url: \"http://localhost:8080\"\n#   token: \"${CELLAR_TOKEN}\"\n";
  if (d.config.packages) {
    out += "packages: " + List(*d.config.packages);
    out += d.config.packages->empty() ? "  # the repository root is the only package\n" : "\n";
  }
  if (!d.config.global_dependencies.empty()) {
    out += "global_dependencies: " + List(d.config.global_dependencies) + "\n";
  }
  if (!d.config.global_env.empty()) out += "global_env: " + List(d.config.global_env) + "\n";
  out += "pipeline:\n";
  if (d.config.pipeline.empty()) out += "  {}\n";
  for (const auto& [key, task] : d.config.pipeline) {
    auto comment = d.comments.find(key);
    RenderTask(task, comment == d.comments.end() ? "" : comment->second, out);
  }
  return out;
}

}  // namespace cellar::tasks
