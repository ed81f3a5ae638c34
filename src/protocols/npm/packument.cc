#include "protocols/npm/packument.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <vector>

#include "base/strings.h"

namespace cellar::npm {

TarballUrlRewriter::TarballUrlRewriter(std::string from, std::string to)
    : compact_("\"tarball\":\"" + from), spaced_("\"tarball\": \"" + from), to_(std::move(to)) {}

void TarballUrlRewriter::Feed(std::string_view chunk, std::string& out) {
  pending_.append(chunk);
  // A match may begin in the last (pattern length - 1) bytes; keep them.
  size_t keep = std::max(compact_.size(), spaced_.size()) - 1;
  if (pending_.size() > keep) Process(pending_.size() - keep, out);
}

void TarballUrlRewriter::Finish(std::string& out) { Process(pending_.size(), out); }

// Emits pending_[0, limit) with rewrites; a match must start before `limit`
// and lie completely within pending_.
void TarballUrlRewriter::Process(size_t limit, std::string& out) {
  static constexpr size_t kCompactKey = sizeof("\"tarball\":\"") - 1;
  static constexpr size_t kSpacedKey = sizeof("\"tarball\": \"") - 1;
  size_t pos = 0;
  while (pos < limit) {
    size_t a = pending_.find(compact_, pos);
    size_t b = pending_.find(spaced_, pos);
    size_t hit = std::min(a, b);
    if (hit == std::string::npos || hit >= limit) break;
    const bool compact = hit == a;
    const size_t pattern_len = compact ? compact_.size() : spaced_.size();
    const size_t key_len = compact ? kCompactKey : kSpacedKey;
    out.append(pending_, pos, hit - pos);
    char prev = hit == 0 ? before_ : pending_[hit - 1];
    if (prev == '\\') {
      // Inside another string ("\"tarball\"..."): not a key.
      out.push_back(pending_[hit]);
      pos = hit + 1;
      continue;
    }
    out.append(pending_, hit, key_len);
    out.append(to_);
    ++rewritten_;
    pos = hit + pattern_len;
  }
  if (pos < limit) {
    out.append(pending_, pos, limit - pos);
    pos = limit;
  }
  if (pos > 0) {
    before_ = pending_[pos - 1];
    pending_.erase(0, pos);
  }
}

BaseSwapReader::BaseSwapReader(ReadFn read, std::string from, std::string to)
    : read_(std::move(read)), rewriter_(std::move(from), std::move(to)), buf_(64 * 1024) {}

Result<size_t> BaseSwapReader::Read(std::span<std::byte> out) {
  while (pending_.empty() && !done_) {
    CELLAR_ASSIGN_OR_RETURN(size_t n, read_(buf_));
    if (n == 0) {
      rewriter_.Finish(pending_);
      done_ = true;
    } else {
      rewriter_.Feed(std::string_view(reinterpret_cast<const char*>(buf_.data()), n), pending_);
    }
  }
  size_t n = std::min(out.size(), pending_.size());
  std::memcpy(out.data(), pending_.data(), n);
  pending_.erase(0, n);
  return n;
}

namespace {

// Collects versions.<v>.dist.{tarball,integrity,shasum}.
class DistSax : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit DistSax(DistIndex& out) : out_(out) {}

  bool null() override { return Scalar(); }
  bool boolean(bool) override { return Scalar(); }
  bool number_integer(number_integer_t) override { return Scalar(); }
  bool number_unsigned(number_unsigned_t) override { return Scalar(); }
  bool number_float(number_float_t, const string_t&) override { return Scalar(); }
  bool binary(binary_t&) override { return Scalar(); }
  bool string(string_t& val) override {
    if (InDist()) {
      const std::string& field = keys_.back();
      if (field == "tarball") current_.url = val;
      if (field == "integrity") current_.integrity = val;
      if (field == "shasum") current_.shasum = val;
    }
    return Scalar();
  }
  bool start_object(std::size_t) override {
    path_.push_back(keys_.empty() ? "" : keys_.back());
    keys_.emplace_back();
    if (InDistObject()) current_ = DistInfo{path_[2], "", "", ""};
    return true;
  }
  bool key(string_t& val) override {
    keys_.back() = val;
    return true;
  }
  bool end_object() override {
    if (InDistObject() && !current_.url.empty()) {
      std::string_view url = current_.url;
      std::string file(url.substr(url.rfind('/') + 1));
      if (!file.empty()) out_[file] = current_;
    }
    keys_.pop_back();
    path_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    path_.push_back(keys_.empty() ? "" : keys_.back());
    keys_.emplace_back("[]");
    return true;
  }
  bool end_array() override {
    keys_.pop_back();
    path_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
    error_position_ = position;
    return false;
  }
  size_t error_position() const { return error_position_; }

 private:
  bool Scalar() { return true; }
  // path_ holds, per open container, the key it was opened under:
  // ["", "versions", "<v>", "dist"] inside a dist object.
  bool InDistObject() const { return path_.size() == 4 && path_[1] == "versions" && path_[3] == "dist"; }
  bool InDist() const { return InDistObject(); }

  DistIndex& out_;
  std::vector<std::string> path_;
  std::vector<std::string> keys_;
  DistInfo current_;
  size_t error_position_ = 0;
};

}  // namespace

Result<DistIndex> ExtractDistIndex(std::istream& json) {
  DistIndex index;
  DistSax sax(index);
  bool ok = nlohmann::json::sax_parse(json, &sax);
  if (!ok) {
    return Status::Corruption("packument is not valid JSON (error near byte " + std::to_string(sax.error_position()) + ")");
  }
  return index;
}

namespace {

// Parses `in` keeping only the top-level member `top` and, below it, only
// the member `child` (when not empty); every other value is skipped as it
// is read. nlohmann reports keys with the depth of the object holding them:
// 1 for top-level members, 2 for the members of a top-level object.
Result<nlohmann::json> ParseOneMember(std::istream& in, const std::string& top, const std::string& child) {
  std::string current_top;
  auto keep = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) -> bool {
    if (event != nlohmann::json::parse_event_t::key || !parsed.is_string()) return true;
    if (depth == 1) {
      current_top = parsed.get<std::string>();
      return current_top == top;
    }
    if (depth == 2 && !child.empty() && current_top == top) return parsed.get<std::string>() == child;
    return true;
  };
  nlohmann::json j = nlohmann::json::parse(in, keep, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("packument is not a valid JSON object");
  return j;
}

}  // namespace

Result<std::string> PickVersionDocument(std::istream& json, std::string_view version) {
  CELLAR_ASSIGN_OR_RETURN(auto j, ParseOneMember(json, "versions", std::string(version)));
  auto versions = j.find("versions");
  if (versions == j.end() || !versions->is_object()) return Status::NotFound("packument has no versions");
  auto v = versions->find(std::string(version));
  if (v == versions->end() || !v->is_object()) {
    return Status::NotFound("packument has no version " + std::string(version));
  }
  return v->dump();
}

Result<std::string> ResolveDistTag(std::istream& json, std::string_view tag) {
  CELLAR_ASSIGN_OR_RETURN(auto j, ParseOneMember(json, "dist-tags", ""));
  auto tags = j.find("dist-tags");
  if (tags == j.end() || !tags->is_object()) return Status::NotFound("packument has no dist-tags");
  auto v = tags->find(std::string(tag));
  if (v == tags->end() || !v->is_string()) return Status::NotFound("packument has no dist-tag " + std::string(tag));
  return v->get<std::string>();
}

std::string SerializeDistIndex(const DistIndex& index) {
  auto clean = [](const std::string& field) { return field.find_first_of("\t\n") == std::string::npos; };
  std::string out;
  for (const auto& [file, d] : index) {
    // A field holding a separator (a JSON string may) cannot be written as
    // one line; written anyway, it would read back as other files' entries
    // with an integrity of the document's choosing. Such a file is left
    // out: its tarball is unknown to cellar.
    if (!clean(file) || !clean(d.version) || !clean(d.integrity) || !clean(d.shasum) || !clean(d.url)) continue;
    out += file + "\t" + d.version + "\t" + d.integrity + "\t" + d.shasum + "\t" + d.url + "\n";
  }
  return out;
}

DistIndex ParseDistIndex(std::string_view text) {
  DistIndex index;
  for (auto line : SplitView(text, '\n')) {
    auto f = SplitView(line, '\t');
    if (f.size() != 5) continue;
    index[std::string(f[0])] = DistInfo{std::string(f[1]), std::string(f[2]), std::string(f[3]), std::string(f[4])};
  }
  return index;
}

}  // namespace cellar::npm
