#include <string>
#include <vector>

#include "base/strings.h"
#include "glob/glob.h"

namespace cellar::glob {
namespace {

// Path segments with "", "." and repeated '/' dropped ("./a//b/" -> a, b).
std::vector<std::string_view> PathSegments(std::string_view path) {
  std::vector<std::string_view> out;
  for (std::string_view part : SplitView(path, '/')) {
    if (!part.empty() && part != ".") out.push_back(part);
  }
  return out;
}

}  // namespace

Result<Pattern> Pattern::Parse(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("glob: empty pattern");
  if (text.front() == '/') {
    return Status::InvalidArgument("glob: absolute pattern: " + std::string(text));
  }
  Pattern pattern;
  pattern.text_ = std::string(text);
  for (std::string_view part : PathSegments(text)) {
    if (part == "..") {
      return Status::InvalidArgument("glob: '..' in pattern: " + std::string(text));
    }
    Result<Segment> segment = Segment::Compile(part);
    if (!segment.ok()) return segment.error();
    pattern.segments_.push_back(std::move(*segment));
  }
  size_t first = pattern.segments_.size();
  while (first > 0 && pattern.segments_[first - 1].globstar()) --first;
  pattern.trailing_globstars_ = first;
  return pattern;
}

void Pattern::Close(std::vector<char>& states) const {
  // '**' may match zero segments: being before it also means being after it.
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (states[i] && segments_[i].globstar()) states[i + 1] = 1;
  }
}

template <typename Visit>
bool Pattern::Walk(std::string_view relative_path, Visit visit) const {
  const size_t n = segments_.size();
  std::vector<char> states(n + 1, 0);
  std::vector<char> next(n + 1, 0);
  states[0] = 1;
  Close(states);
  if (visit(states)) return true;
  for (std::string_view name : PathSegments(relative_path)) {
    std::fill(next.begin(), next.end(), 0);
    bool alive = false;
    for (size_t i = 0; i < n; ++i) {
      if (!states[i]) continue;
      if (segments_[i].globstar()) {
        next[i] = 1;
        alive = true;
      } else if (segments_[i].Matches(name)) {
        next[i + 1] = 1;
        alive = true;
      }
    }
    states.swap(next);
    if (!alive) {
      // Dead: tell the visitor (its answer for a longer path is "no").
      visit(states);
      return false;
    }
    Close(states);
    if (visit(states)) return true;
  }
  return false;
}

bool Pattern::Matches(std::string_view relative_path) const {
  const size_t n = segments_.size();
  bool matched = false;
  Walk(relative_path, [&](const std::vector<char>& states) {
    matched = states[n] != 0;
    return false;
  });
  return matched;
}

bool Pattern::CouldMatchUnder(std::string_view relative_dir) const {
  const size_t n = segments_.size();
  bool could = false;
  Walk(relative_dir, [&](const std::vector<char>& states) {
    // Some segment is still left to match a child name. (A trailing "**" is
    // covered: its state index is below n.)
    could = false;
    for (size_t i = 0; i < n; ++i) could = could || states[i] != 0;
    return false;
  });
  return could;
}

bool Pattern::MatchesPathOrParent(std::string_view relative_path) const {
  const size_t n = segments_.size();
  return Walk(relative_path, [&](const std::vector<char>& states) { return states[n] != 0; });
}

bool Pattern::MatchesEverythingUnder(std::string_view relative_dir) const {
  if (trailing_globstars_ == segments_.size()) return false;
  return Walk(relative_dir,
              [&](const std::vector<char>& states) { return states[trailing_globstars_] != 0; });
}

}  // namespace cellar::glob
