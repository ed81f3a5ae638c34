#include "protocols/goproxy/module_pattern.h"

#include <algorithm>
#include <optional>

#include "base/strings.h"

namespace cellar::goproxy {

namespace {

// Matches one character class starting after '['; returns the position
// after ']' and whether `c` matched, or nullopt when malformed.
std::optional<std::pair<size_t, bool>> MatchClass(std::string_view p, size_t i, char c) {
  bool negated = false;
  if (i < p.size() && p[i] == '^') {
    negated = true;
    ++i;
  }
  bool matched = false;
  bool first = true;
  while (true) {
    if (i >= p.size()) return std::nullopt;
    if (p[i] == ']' && !first) return std::make_pair(i + 1, matched != negated);
    first = false;
    char lo = p[i];
    if (lo == '\\') {
      if (++i >= p.size()) return std::nullopt;
      lo = p[i];
    }
    ++i;
    char hi = lo;
    if (i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']') {
      hi = p[i + 1];
      if (hi == '\\') {
        if (i + 2 >= p.size()) return std::nullopt;
        hi = p[i + 2];
        ++i;
      }
      i += 2;
    }
    if (lo <= c && c <= hi) matched = true;
  }
}

// Recursive matcher; '*' backtracks over non-'/' characters only, so the
// depth is bounded by the name length.
std::optional<bool> Match(std::string_view p, std::string_view s) {
  size_t i = 0;
  size_t j = 0;
  while (i < p.size()) {
    char pc = p[i];
    if (pc == '*') {
      while (i < p.size() && p[i] == '*') ++i;
      std::string_view rest = p.substr(i);
      for (size_t k = j;; ++k) {
        auto m = Match(rest, s.substr(k));
        if (!m) return std::nullopt;
        if (*m) return true;
        if (k >= s.size() || s[k] == '/') return false;
      }
    }
    if (j >= s.size()) return false;
    if (pc == '?') {
      if (s[j] == '/') return false;
      ++i;
      ++j;
    } else if (pc == '[') {
      if (s[j] == '/') return false;
      auto cls = MatchClass(p, i + 1, s[j]);
      if (!cls) return std::nullopt;
      if (!cls->second) return false;
      i = cls->first;
      ++j;
    } else {
      if (pc == '\\') {
        if (++i >= p.size()) return std::nullopt;
        pc = p[i];
      }
      if (s[j] != pc) return false;
      ++i;
      ++j;
    }
  }
  return j == s.size();
}

bool IsWellFormed(std::string_view glob) {
  // Matching against the empty name walks the whole pattern only when it
  // starts with stars, so check classes and escapes directly.
  for (size_t i = 0; i < glob.size(); ++i) {
    if (glob[i] == '\\') {
      if (++i >= glob.size()) return false;
    } else if (glob[i] == '[') {
      auto cls = MatchClass(glob, i + 1, 'a');
      if (!cls) return false;
      i = cls->first - 1;
    }
  }
  return true;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view name) {
  if (!IsWellFormed(pattern)) return false;
  return Match(pattern, name).value_or(false);
}

Result<ModulePatterns> ModulePatterns::Parse(std::string_view list) {
  ModulePatterns out;
  for (auto item : SplitView(list, ',')) {
    std::string_view glob = TrimWhitespace(item);
    while (glob.ends_with("/")) glob.remove_suffix(1);
    if (glob.empty()) continue;
    if (!IsWellFormed(glob)) return Status::InvalidArgument("malformed module pattern '" + std::string(glob) + "'");
    out.globs_.emplace_back(glob);
  }
  return out;
}

bool ModulePatterns::Matches(std::string_view module_path) const {
  for (const auto& glob : globs_) {
    // Compare the glob with as many leading path elements as it has; a
    // path with fewer elements does not match.
    size_t elements = 1;
    for (char c : glob) elements += c == '/';
    size_t end = 0;
    bool enough = true;
    for (size_t n = 0; n < elements; ++n) {
      if (n > 0) {
        if (end >= module_path.size()) {
          enough = false;
          break;
        }
        ++end;  // skip the '/'
      }
      end = std::min(module_path.find('/', end), module_path.size());
    }
    if (enough && GlobMatch(glob, module_path.substr(0, end))) return true;
  }
  return false;
}

}  // namespace cellar::goproxy
