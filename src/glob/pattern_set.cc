#include <string>
#include <vector>

#include "glob/glob.h"

namespace cellar::glob {

Result<PatternSet> PatternSet::Parse(const std::vector<std::string>& patterns) {
  PatternSet set;
  for (const std::string& text : patterns) {
    std::string_view body = text;
    bool negative = false;
    if (!body.empty() && body.front() == '!') {
      negative = true;
      body.remove_prefix(1);
    }
    Result<Pattern> pattern = Pattern::Parse(body);
    if (!pattern.ok()) return pattern.error();
    set.entries_.push_back(Entry{std::move(*pattern), negative});
  }
  return set;
}

bool PatternSet::Matches(std::string_view relative_path) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->pattern.Matches(relative_path)) return !it->negative;
  }
  return false;
}

bool PatternSet::MatchesPathOrParent(std::string_view relative_path) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->pattern.MatchesPathOrParent(relative_path)) return !it->negative;
  }
  return false;
}

// Both pruning checks read the patterns from the last: a later pattern
// overrides every earlier one, so the first decisive pattern answers.
bool PatternSet::CouldMatchUnder(std::string_view relative_dir) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->negative) {
      if (it->pattern.MatchesEverythingUnder(relative_dir)) return false;
    } else if (it->pattern.CouldMatchUnder(relative_dir)) {
      return true;
    }
  }
  return false;
}

bool PatternSet::CouldMatchUnderPathOrParent(std::string_view relative_dir) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    // Matching the directory (or a parent) decides every path beneath it.
    if (it->pattern.MatchesPathOrParent(relative_dir)) return !it->negative;
    if (it->negative) {
      if (it->pattern.MatchesEverythingUnder(relative_dir)) return false;
    } else if (it->pattern.CouldMatchUnder(relative_dir)) {
      return true;
    }
  }
  return false;
}

}  // namespace cellar::glob
