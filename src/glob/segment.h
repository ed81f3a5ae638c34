// One '/'-free segment of a glob pattern, compiled once and matched against
// path segments. Internal to src/glob (glob.h is the public surface).
// Thread-safety: immutable after Compile(); share freely.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace cellar::glob {

class Segment {
 public:
  // Compiles one segment. "**" as the whole segment becomes a globstar.
  // Fails with kInvalidArgument on an unclosed or empty '[' class or a
  // trailing '\'.
  static Result<Segment> Compile(std::string_view text);

  // True for a whole-segment "**" (zero or more path segments).
  bool globstar() const { return globstar_; }
  // True when the segment has no wildcard: Matches() is a string compare.
  bool literal() const { return literal_; }
  bool Matches(std::string_view name) const;

 private:
  enum class Kind { kChar, kStar, kAny, kClass };
  // One token matches one character, except kStar (any run, possibly empty).
  struct Token {
    Kind kind = Kind::kChar;
    char c = 0;                                   // kChar
    std::vector<std::pair<char, char>> ranges;    // kClass, inclusive
    bool negated = false;                         // kClass
  };

  static Token MakeToken(Kind kind, char c = 0);
  static bool MatchOne(const Token& token, char c);
  // Parses "[...]" starting at text[*pos] == '['; leaves *pos after ']'.
  static Result<Token> ParseClass(std::string_view text, size_t* pos);

  bool globstar_ = false;
  bool literal_ = true;
  std::string literal_text_;  // the unescaped segment when literal_
  std::vector<Token> tokens_;
};

}  // namespace cellar::glob
