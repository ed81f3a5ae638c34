#include "store/s3/xml.h"

#include <cstdlib>

namespace cellar::s3 {
namespace {

// Position just past "<name" when it is followed by '>', '/' or whitespace
// (so <Key> does not match <KeyCount>), starting the search at `from`.
size_t FindOpen(std::string_view doc, std::string_view name, size_t from) {
  for (;;) {
    size_t p = doc.find('<', from);
    if (p == std::string_view::npos) return p;
    if (doc.compare(p + 1, name.size(), name) == 0 && p + 1 + name.size() < doc.size()) {
      const char next = doc[p + 1 + name.size()];
      if (next == '>' || next == '/' || next == ' ' || next == '\t' || next == '\n' ||
          next == '\r') {
        return p + 1 + name.size();
      }
    }
    from = p + 1;
  }
}

void AppendUtf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x110000) {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

std::vector<std::string_view> XmlElements(std::string_view doc, std::string_view name) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    size_t after_name = FindOpen(doc, name, pos);
    if (after_name == std::string_view::npos) return out;
    size_t gt = doc.find('>', after_name);
    if (gt == std::string_view::npos) return out;
    if (doc[gt - 1] == '/') {  // <name/> or <name attr="x"/>
      out.emplace_back();
      pos = gt + 1;
      continue;
    }
    const std::string close = "</" + std::string(name) + ">";
    size_t end = doc.find(close, gt + 1);
    if (end == std::string_view::npos) return out;  // truncated document
    out.push_back(doc.substr(gt + 1, end - gt - 1));
    pos = end + close.size();
  }
}

std::optional<std::string> XmlText(std::string_view fragment, std::string_view name) {
  std::vector<std::string_view> all = XmlElements(fragment, name);
  if (all.empty()) return std::nullopt;
  return XmlUnescape(all.front());
}

std::string XmlUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    const size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) {
      out.push_back(s[i]);
      continue;
    }
    const std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") out.push_back('&');
    else if (ent == "lt") out.push_back('<');
    else if (ent == "gt") out.push_back('>');
    else if (ent == "quot") out.push_back('"');
    else if (ent == "apos") out.push_back('\'');
    else if (ent.size() > 1 && ent[0] == '#') {
      const bool hex = ent[1] == 'x' || ent[1] == 'X';
      const std::string digits(ent.substr(hex ? 2 : 1));
      char* end = nullptr;
      const unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      if (digits.empty() || *end != '\0') {
        out.append(s.substr(i, semi - i + 1));
      } else {
        AppendUtf8(out, cp);
      }
    } else {
      out.append(s.substr(i, semi - i + 1));  // unknown entity: keep as is
    }
    i = semi;
  }
  return out;
}

}  // namespace cellar::s3
