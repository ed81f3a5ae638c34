#include "tasks/config/env_expand.h"

namespace cellar::tasks {

namespace {

bool IsNameStart(char c) { return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

Status Bad(size_t at, size_t* error_offset, std::string why) {
  if (error_offset) *error_offset = at;
  return Status::InvalidArgument(std::move(why));
}

// Expands "${...}" starting at text[i] == '$', text[i + 1] == '{'. Returns the
// index just past the closing brace.
Result<size_t> ExpandBraced(std::string_view text, size_t i, const EnvLookup& env,
                            std::string& out, size_t* error_offset) {
  size_t close = text.find('}', i + 2);
  if (close == std::string_view::npos) return Bad(i, error_offset, "unterminated ${ in \"" + std::string(text) + "\"");
  std::string_view inner = text.substr(i + 2, close - i - 2);
  std::string_view name = inner;
  std::optional<std::string_view> fallback;
  if (size_t sep = inner.find(":-"); sep != std::string_view::npos) {
    name = inner.substr(0, sep);
    fallback = inner.substr(sep + 2);
  }
  bool valid = !name.empty() && IsNameStart(name[0]);
  for (char c : name) valid = valid && IsNameChar(c);
  if (!valid) {
    return Bad(i, error_offset,
               "invalid variable reference ${" + std::string(inner) + "}: expected ${NAME} or ${NAME:-fallback}");
  }
  std::optional<std::string> value = env(name);
  if (fallback && (!value || value->empty())) out.append(*fallback);
  else if (value) out.append(*value);
  return close + 1;
}

Result<std::string> Expand(std::string_view text, const EnvLookup& env, bool bare, size_t* error_offset) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c != '$' || i + 1 == text.size()) {
      out.push_back(c);
      ++i;
      continue;
    }
    char next = text[i + 1];
    if (next == '$' && i + 2 < text.size() && text[i + 2] == '{') {
      out.append("${");  // "$${" escapes
      i += 3;
    } else if (next == '{') {
      auto end = ExpandBraced(text, i, env, out, error_offset);
      if (!end.ok()) return end.error();
      i = *end;
    } else if (bare && IsNameStart(next)) {
      size_t j = i + 1;
      while (j < text.size() && IsNameChar(text[j])) ++j;
      if (auto value = env(text.substr(i + 1, j - i - 1))) out.append(*value);
      i = j;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

}  // namespace

Result<std::string> ExpandVariables(std::string_view text, const EnvLookup& env, size_t* error_offset) {
  return Expand(text, env, /*bare=*/false, error_offset);
}

Result<std::string> ExpandBareVariables(std::string_view text, const EnvLookup& env, size_t* error_offset) {
  return Expand(text, env, /*bare=*/true, error_offset);
}

}  // namespace cellar::tasks
