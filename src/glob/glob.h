// Glob patterns over '/'-separated paths relative to a root, ordered pattern
// sets with '!' exclusions, and expansion of a set against a directory tree.
// Used by the task runner for task inputs and outputs, package globs and
// globalDependencies; general purpose otherwise. The syntax and the selection
// rules are described in docs/globs.md.
//
// Pattern syntax: '*' matches any run of characters within one segment, '?'
// one character, '[abc]' / '[a-z]' / '[!a]' (or '[^a]') a class, '\' escapes
// the next character, and '**' as a whole segment matches zero or more
// segments. Wildcards match names starting with '.' too. A leading "./",
// repeated '/' and a trailing '/' are ignored; "." alone names the root.
// Absolute paths and '..' segments are refused (kInvalidArgument).
// Thread-safety: Pattern and PatternSet are immutable values; Expand() is
// reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "glob/segment.h"

namespace cellar::glob {

class Pattern {
 public:
  static Result<Pattern> Parse(std::string_view text);

  // True when the whole path matches (segment by segment).
  bool Matches(std::string_view relative_path) const;
  // False only when nothing strictly under relative_dir can match (walkers
  // prune with it). "" is the root.
  bool CouldMatchUnder(std::string_view relative_dir) const;

  // True when the pattern matches the path or one of its parent directories
  // (the root included): a pattern naming a directory selects everything
  // beneath it.
  bool MatchesPathOrParent(std::string_view relative_path) const;
  // True when every path strictly under relative_dir matches: the pattern
  // ends in '**' and the part before it matches the directory or a parent.
  bool MatchesEverythingUnder(std::string_view relative_dir) const;

  // The pattern as given to Parse().
  const std::string& text() const { return text_; }

 private:
  Pattern() = default;
  // Runs the pattern over the path's segments; calls visit(states) on the
  // state set before any segment and after each one (states[i]: segments_[i..]
  // remain to match). Stops early when visit returns true (then returns true)
  // or when no state is left (after visiting the empty set).
  template <typename Visit>
  bool Walk(std::string_view relative_path, Visit visit) const;
  void Close(std::vector<char>& states) const;

  std::string text_;
  std::vector<Segment> segments_;
  // Index of the first of the trailing '**' segments (segments_.size() when
  // the pattern does not end in '**').
  size_t trailing_globstars_ = 0;
};

// Ordered patterns; a leading '!' excludes ("\!" for a literal '!'). A path
// is selected when the last pattern that matches it is a positive one
// (gitignore-like ordering): {"src/**", "!src/**/*.test.ts", "src/keep.test.ts"}.
class PatternSet {
 public:
  PatternSet() = default;
  static Result<PatternSet> Parse(const std::vector<std::string>& patterns);

  bool Matches(std::string_view relative_path) const;
  bool CouldMatchUnder(std::string_view relative_dir) const;
  bool empty() const { return entries_.empty(); }

  // The same, where a pattern that matches a directory also matches every
  // path beneath it (Pattern::MatchesPathOrParent): {"dist", "!dist/cache"}
  // selects dist/a.js but not dist/cache/b.
  bool MatchesPathOrParent(std::string_view relative_path) const;
  bool CouldMatchUnderPathOrParent(std::string_view relative_dir) const;

 private:
  struct Entry {
    Pattern pattern;
    bool negative;
  };
  std::vector<Entry> entries_;
};

struct ExpandOptions {
  bool files = true;            // regular files and symlinks (symlinks are never followed)
  bool directories = false;     // matched directories themselves (e.g. package globs 'apps/*')
  bool descend_matched_dirs = true;  // a matched directory selects every file beneath it
  std::vector<std::string> skip_dir_names;  // e.g. {".git", "node_modules"}: never entered
};

// Sorted (bytewise) relative paths ('/'-separated) under root. Never follows
// symlinks: a symlink, even to a directory, is listed as a file. Other file
// types (sockets, fifos, devices) are never listed. Fails when root cannot be
// read (kNotFound when it does not exist) or a directory beneath it cannot be
// listed; a directory that vanishes during the walk is skipped.
Result<std::vector<std::string>> Expand(const std::string& root, const PatternSet& set,
                                        const ExpandOptions& options = {});

}  // namespace cellar::glob
