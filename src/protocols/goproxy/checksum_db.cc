#include "protocols/goproxy/checksum_db.h"

#include "base/strings.h"
#include "protocols/goproxy/go_path.h"

namespace cellar::goproxy {

namespace {

bool IsDigits(std::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsValidDbName(std::string_view name) {
  if (name.empty() || name.size() > 253 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

struct TileShape {
  bool full;
  unsigned height;
  bool data;
};

// "<H>/<L>/<K>[.p/<W>]" with L a level or "data" and K in x-prefixed
// three-digit groups ("x001/x234/067").
std::optional<TileShape> ParseTile(std::string_view tile) {
  auto parts = SplitView(tile, '/');
  if (parts.size() < 3 || !IsDigits(parts[0], 2) || !(parts[1] == "data" || IsDigits(parts[1], 2))) {
    return std::nullopt;
  }
  const unsigned height = static_cast<unsigned>(std::stoul(std::string(parts[0])));  // 1-2 digits, checked
  bool full = true;
  size_t last = parts.size() - 1;
  if (parts.size() >= 4 && parts[parts.size() - 2].ends_with(".p")) {
    if (!IsDigits(parts.back(), 5)) return std::nullopt;
    full = false;
    last = parts.size() - 2;
  }
  for (size_t i = 2; i <= last; ++i) {
    std::string_view group = parts[i];
    if (i < last) {
      if (group.size() != 4 || group[0] != 'x' || !IsDigits(group.substr(1), 3)) return std::nullopt;
    } else {
      if (!full) group.remove_suffix(2);  // ".p"
      if (!IsDigits(group, 3) || group.size() != 3) return std::nullopt;
    }
  }
  return TileShape{full, height, parts[1] == "data"};
}

}  // namespace

Result<std::vector<SumdbEndpoint>> ParseSumdbList(std::string_view list) {
  std::vector<SumdbEndpoint> out;
  for (auto item : SplitView(list, ',')) {
    item = TrimWhitespace(item);
    if (item.empty()) continue;
    SumdbEndpoint db;
    size_t eq = item.find('=');
    db.name = std::string(TrimWhitespace(item.substr(0, eq)));
    if (!IsValidDbName(db.name)) {
      return Status::InvalidArgument("invalid checksum database name '" + db.name + "'");
    }
    if (eq == std::string_view::npos) {
      db.base_url = "https://" + db.name;
    } else {
      std::string_view url = TrimWhitespace(item.substr(eq + 1));
      if (!url.starts_with("http://") && !url.starts_with("https://")) {
        return Status::InvalidArgument("checksum database URL for " + db.name + " must be http(s)");
      }
      const size_t scheme = url.starts_with("https://") ? 8 : 7;
      while (url.size() > scheme && url.ends_with("/")) url.remove_suffix(1);
      if (url.size() == scheme) return Status::InvalidArgument("checksum database URL for " + db.name + " has no host");
      db.base_url = std::string(url);
    }
    out.push_back(std::move(db));
  }
  return out;
}

std::optional<SumdbRequest> ParseSumdbPath(std::string_view rest) {
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  SumdbRequest req;
  req.name = std::string(rest.substr(0, slash));
  if (!IsValidDbName(req.name)) return std::nullopt;
  std::string_view tail = rest.substr(slash + 1);
  req.tail = std::string(tail);
  if (tail == "supported") {
    req.file = SumdbFile::kSupported;
  } else if (tail == "latest") {
    req.file = SumdbFile::kLatest;
  } else if (tail.starts_with("lookup/")) {
    std::string_view mv = tail.substr(7);
    size_t at = mv.rfind('@');
    if (at == std::string_view::npos) return std::nullopt;
    req.file = SumdbFile::kLookup;
    req.module = std::string(mv.substr(0, at));
    req.version = std::string(mv.substr(at + 1));
    if (!IsValidEscapedModule(req.module) || !IsValidEscapedVersion(req.version)) return std::nullopt;
  } else if (tail.starts_with("tile/")) {
    auto shape = ParseTile(tail.substr(5));
    if (!shape) return std::nullopt;
    req.file = SumdbFile::kTile;
    req.full_tile = shape->full;
    req.tile_height = shape->height;
    req.data_tile = shape->data;
  } else {
    return std::nullopt;
  }
  return req;
}

Result<GoSums> ParseLookupRecord(std::string_view body, std::string_view module, std::string_view version) {
  const std::string zip_prefix = std::string(module) + " " + std::string(version) + " ";
  const std::string mod_prefix = std::string(module) + " " + std::string(version) + "/go.mod ";
  GoSums sums;
  auto lines = SplitView(body, '\n');
  if (lines.empty() || !IsDigits(lines[0], 20)) {
    return Status::Corruption("checksum database lookup answer does not start with a record id");
  }
  for (size_t i = 1; i < lines.size() && !lines[i].empty(); ++i) {
    std::string_view line = lines[i];
    if (line.starts_with(mod_prefix)) {
      sums.mod_h1 = std::string(line.substr(mod_prefix.size()));
    } else if (line.starts_with(zip_prefix)) {
      sums.zip_h1 = std::string(line.substr(zip_prefix.size()));
    }
  }
  if (sums.zip_h1.empty() || sums.mod_h1.empty()) {
    return Status::Corruption("checksum database lookup answer has no go.sum lines for " + std::string(module) +
                              "@" + std::string(version));
  }
  return sums;
}

}  // namespace cellar::goproxy
