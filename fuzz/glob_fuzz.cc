// Glob patterns (src/glob) from task configs in cloned repositories: one
// pattern against one path, and an ordered pattern set with '!' exclusions.
// Checks what glob.h promises between Matches, CouldMatchUnder (walkers prune
// with it, so a false "nothing below" would silently drop inputs from a task
// hash), MatchesPathOrParent and MatchesEverythingUnder, and the set's
// last-match-wins rule, on clean relative paths.
#include <optional>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "glob/glob.h"

using namespace cellar;

namespace {

// Paths the matchers are specified for: relative, no empty, '.' or '..' segment.
bool IsCleanPath(std::string_view p) {
  if (p.empty() || p.front() == '/' || p.back() == '/' || p.find("//") != std::string_view::npos) return false;
  return fuzz::HasNoDotSegments(p);
}

// "" (the root), then "a", "a/b", ... for "a/b/c".
std::vector<std::string_view> ParentDirs(std::string_view p) {
  std::vector<std::string_view> out{""};
  for (size_t i = p.find('/'); i != std::string_view::npos; i = p.find('/', i + 1)) out.push_back(p.substr(0, i));
  return out;
}

void CheckPattern(const glob::Pattern& pattern, std::string_view path) {
  if (!IsCleanPath(path)) {
    (void)pattern.Matches(path);
    (void)pattern.CouldMatchUnder(path);
    (void)pattern.MatchesPathOrParent(path);
    (void)pattern.MatchesEverythingUnder(path);
    return;
  }
  const auto parents = ParentDirs(path);
  const bool matches = pattern.Matches(path);
  if (matches) {
    for (auto dir : parents) FUZZ_CHECK(pattern.CouldMatchUnder(dir));
    FUZZ_CHECK(pattern.MatchesPathOrParent(path));
  }
  bool parent_matches = false;
  for (auto dir : parents) {
    if (!dir.empty() && pattern.Matches(dir)) parent_matches = true;
  }
  if (pattern.MatchesPathOrParent(path) && !matches && !parent_matches) {
    FUZZ_CHECK(pattern.Matches(""));  // only the root is left
  }
  if (pattern.MatchesEverythingUnder(path)) {
    FUZZ_CHECK(pattern.CouldMatchUnder(path));
    FUZZ_CHECK(pattern.Matches(std::string(path) + "/x"));
    FUZZ_CHECK(pattern.Matches(std::string(path) + "/.y/z"));
  }
}

void CheckSet(const std::vector<std::string>& lines, std::string_view path) {
  auto set = glob::PatternSet::Parse(lines);
  // Last matching pattern wins, computed from the patterns one by one.
  std::optional<bool> expected = false;
  for (const auto& line : lines) {
    const bool negative = !line.empty() && line.front() == '!';
    auto p = glob::Pattern::Parse(negative ? std::string_view(line).substr(1) : std::string_view(line));
    if (!p.ok()) {
      expected.reset();
      break;
    }
    if (IsCleanPath(path) && p->Matches(path)) expected = !negative;
  }
  FUZZ_CHECK(set.ok() == expected.has_value());
  if (!set.ok()) return;
  FUZZ_CHECK(set->empty() == lines.empty());
  const bool matches = set->Matches(path);
  if (!IsCleanPath(path)) {
    (void)set->CouldMatchUnder(path);
    (void)set->MatchesPathOrParent(path);
    (void)set->CouldMatchUnderPathOrParent(path);
    return;
  }
  FUZZ_CHECK(matches == *expected);
  if (matches) {
    for (auto dir : ParentDirs(path)) FUZZ_CHECK(set->CouldMatchUnder(dir));
  }
  if (set->MatchesPathOrParent(path)) {
    for (auto dir : ParentDirs(path)) FUZZ_CHECK(set->CouldMatchUnderPathOrParent(dir));
  }
}

}  // namespace

// Mode '0': "pattern\npath". Mode '1': patterns one per line, the last line the path.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in = fuzz::AsView(data + 1, size - 1);
  switch (fuzz::Mode(data[0], 2)) {
    case 0: {
      auto fields = fuzz::Fields(in, 2);
      std::string_view path = fields.size() > 1 ? fields[1] : "";
      auto pattern = glob::Pattern::Parse(fields[0]);
      if (!pattern.ok()) return 0;
      FUZZ_CHECK(pattern->text() == fields[0]);
      // A clean path without wildcards or escapes names itself.
      if (IsCleanPath(fields[0]) && fields[0].find_first_of("*?[\\") == std::string_view::npos) {
        FUZZ_CHECK(pattern->Matches(fields[0]));
      }
      CheckPattern(*pattern, path);
      break;
    }
    case 1: {
      auto fields = fuzz::Fields(in, 17);
      std::string_view path = fields.back();
      fields.pop_back();
      CheckSet(std::vector<std::string>(fields.begin(), fields.end()), path);
      break;
    }
  }
  return 0;
}
