// cellar.yml / velocity.yml text (tasks::ParseConfig). The file comes from
// the repository being built, possibly a fresh clone: any text must give a
// config or a "file:line:col: what" error, never a crash. Accepted configs
// keep the promises the task graph relies on.
#include <map>
#include <string>

#include "fuzz/fuzz_util.h"
#include "tasks/config/config.h"

using namespace cellar;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // Mode '0': cellar.yml, '1': velocity.yml (read unchanged, same parser).
  const std::string path(fuzz::Mode(data[0], 2) == 0 ? tasks::kConfigFileName : tasks::kVelocityConfigFileName);
  static const tasks::EnvLookup env =
      tasks::FixedEnv({{"HOME", "/home/fuzz"}, {"CELLAR_TOKEN", "secret"}, {"EMPTY", ""}});
  auto config = tasks::ParseConfig(fuzz::AsView(data + 1, size - 1), path, env);
  if (!config.ok()) {
    FUZZ_CHECK(config.error().code() == Code::kInvalidArgument);
    FUZZ_CHECK(config.error().message().starts_with(path));
    return 0;
  }
  for (const auto& [key, task] : config->pipeline) {
    FUZZ_CHECK(task.key == key);
    FUZZ_CHECK(task.line >= 1 && task.column >= 1);
    if (task.timeout_ms) FUZZ_CHECK(*task.timeout_ms > 0);
    // "task" or "pkg#task" with a non-empty task name.
    const size_t hash = key.rfind('#');
    const std::string_view name = hash == std::string::npos ? std::string_view(key) : std::string_view(key).substr(hash + 1);
    FUZZ_CHECK(!name.empty() && hash != 0 && name.front() != '^');
    FUZZ_CHECK(config->DefinesTask(name));
    if (hash == std::string::npos) {
      // Unless "p#name" overrides it for that package.
      auto scoped = config->pipeline.find("p#" + key);
      FUZZ_CHECK(config->Find("p", name) == (scoped == config->pipeline.end() ? &task : &scoped->second));
    } else {
      FUZZ_CHECK(config->Find(std::string_view(key).substr(0, hash), name) == &task);
    }
    // Every dependency names a task the pipeline defines.
    for (const auto& ref : task.depends_on) {
      std::string_view dep = ref;
      if (!dep.empty() && dep.front() == '^') dep.remove_prefix(1);
      if (size_t h = dep.rfind('#'); h != std::string_view::npos) dep = dep.substr(h + 1);
      FUZZ_CHECK(!dep.empty());
      FUZZ_CHECK(config->DefinesTask(dep));
    }
  }
  return 0;
}
