#include "glob/segment.h"

#include <string>

namespace cellar::glob {

Segment::Token Segment::MakeToken(Kind kind, char c) {
  Token token;
  token.kind = kind;
  token.c = c;
  return token;
}

Result<Segment::Token> Segment::ParseClass(std::string_view text, size_t* pos) {
  size_t i = *pos + 1;  // past '['
  Token token = MakeToken(Kind::kClass);
  if (i < text.size() && (text[i] == '!' || text[i] == '^')) {
    token.negated = true;
    ++i;
  }
  bool first = true;
  // Reads one class member character (with '\' escapes) at text[i].
  auto read_char = [&](char* out) -> bool {
    if (i >= text.size()) return false;
    if (text[i] == '\\') {
      if (i + 1 >= text.size()) return false;
      ++i;
    }
    *out = text[i++];
    return true;
  };
  while (true) {
    if (i >= text.size()) break;
    if (text[i] == ']' && !first) {
      *pos = i + 1;
      return token;
    }
    first = false;
    char lo = 0;
    if (!read_char(&lo)) break;
    char hi = lo;
    if (i + 1 < text.size() && text[i] == '-' && text[i + 1] != ']') {
      ++i;
      if (!read_char(&hi)) break;
      if (static_cast<unsigned char>(hi) < static_cast<unsigned char>(lo)) {
        return Status::InvalidArgument("glob: reversed range in character class: " +
                                       std::string(text));
      }
    }
    token.ranges.emplace_back(lo, hi);
  }
  return Status::InvalidArgument("glob: unclosed '[' in: " + std::string(text));
}

Result<Segment> Segment::Compile(std::string_view text) {
  Segment segment;
  if (text == "**") {
    segment.globstar_ = true;
    segment.literal_ = false;
    return segment;
  }
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '*') {
      // "a**b" inside a segment is the same as "a*b": stars never cross '/'.
      if (segment.tokens_.empty() || segment.tokens_.back().kind != Kind::kStar) {
        segment.tokens_.push_back(MakeToken(Kind::kStar));
      }
      segment.literal_ = false;
      ++i;
    } else if (c == '?') {
      segment.tokens_.push_back(MakeToken(Kind::kAny));
      segment.literal_ = false;
      ++i;
    } else if (c == '[') {
      Result<Token> token = ParseClass(text, &i);
      if (!token.ok()) return token.error();
      segment.tokens_.push_back(std::move(*token));
      segment.literal_ = false;
    } else {
      if (c == '\\') {
        if (i + 1 >= text.size()) {
          return Status::InvalidArgument("glob: trailing '\\' in: " + std::string(text));
        }
        c = text[++i];
      }
      segment.tokens_.push_back(MakeToken(Kind::kChar, c));
      segment.literal_text_.push_back(c);
      ++i;
    }
  }
  return segment;
}

bool Segment::MatchOne(const Token& token, char c) {
  switch (token.kind) {
    case Kind::kChar:
      return token.c == c;
    case Kind::kAny:
      return true;
    case Kind::kClass: {
      auto u = static_cast<unsigned char>(c);
      bool in = false;
      for (const auto& [lo, hi] : token.ranges) {
        if (u >= static_cast<unsigned char>(lo) && u <= static_cast<unsigned char>(hi)) {
          in = true;
          break;
        }
      }
      return in != token.negated;
    }
    case Kind::kStar:
      break;
  }
  return false;
}

bool Segment::Matches(std::string_view name) const {
  if (globstar_) return true;
  if (literal_) return name == literal_text_;
  // Single-character tokens plus '*': the classic linear backtrack to the
  // last star is exact, and never exponential.
  const size_t n = tokens_.size();
  size_t t = 0;
  size_t i = 0;
  size_t star_t = std::string::npos;
  size_t star_i = 0;
  while (i < name.size()) {
    if (t < n && tokens_[t].kind == Kind::kStar) {
      star_t = t++;
      star_i = i;
    } else if (t < n && MatchOne(tokens_[t], name[i])) {
      ++t;
      ++i;
    } else if (star_t != std::string::npos) {
      t = star_t + 1;
      i = ++star_i;
    } else {
      return false;
    }
  }
  while (t < n && tokens_[t].kind == Kind::kStar) ++t;
  return t == n;
}

}  // namespace cellar::glob
