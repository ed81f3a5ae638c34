#include "protocols/git/git_request.h"

#include <zlib.h>

#include <charconv>
#include <cstdio>

#include "base/digest.h"
#include "base/strings.h"

namespace cellar::git {

namespace {
std::string_view TrimNewline(std::string_view s) {
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}
}  // namespace

GitTarget TargetIn(giturl::RepositoryLocation repo, GitService service, bool receive) {
  GitTarget t;
  t.host = std::move(repo.host);
  t.path = std::move(repo.path);
  t.repo_key = std::move(repo.repo_key);
  t.service = service;
  t.receive = receive;
  return t;
}

Result<GitTarget> ParseGitPath(std::string_view rest, std::optional<std::string> service_param) {
  GitService service;
  bool receive = false;
  if (rest.ends_with("/info/refs")) {
    service = GitService::kInfoRefs;
    rest.remove_suffix(10);
    if (service_param == "git-receive-pack") receive = true;
    else if (service_param != "git-upload-pack") {
      return Status::InvalidArgument("only smart HTTP is served: info/refs needs ?service=git-upload-pack");
    }
  } else if (rest.ends_with("/git-upload-pack")) {
    service = GitService::kUploadPack;
    rest.remove_suffix(16);
  } else if (rest.ends_with("/git-receive-pack")) {
    service = GitService::kReceivePack;
    receive = true;
    rest.remove_suffix(17);
  } else {
    return Status::NotFound("expected /git/<host>/<repository>/info/refs or .../git-upload-pack");
  }
  CELLAR_ASSIGN_OR_RETURN(auto repo, giturl::ParseHostAndPath(rest));
  return TargetIn(std::move(repo), service, receive);
}

Result<std::vector<PktLine>> ParsePktLines(std::string_view data) {
  std::vector<PktLine> lines;
  while (!data.empty()) {
    if (data.size() < 4) return Status::InvalidArgument("truncated pkt-line length");
    unsigned len = 0;
    auto [end, ec] = std::from_chars(data.data(), data.data() + 4, len, 16);
    if (ec != std::errc() || end != data.data() + 4) return Status::InvalidArgument("bad pkt-line length");
    if (len == 0) lines.push_back({PktLine::kFlush, {}});
    else if (len == 1) lines.push_back({PktLine::kDelim, {}});
    else if (len == 2) lines.push_back({PktLine::kResponseEnd, {}});
    else if (len < 4 || len > 65520) return Status::InvalidArgument("bad pkt-line length");
    else if (len > data.size()) return Status::InvalidArgument("truncated pkt-line");
    else lines.push_back({PktLine::kData, data.substr(4, len - 4)});
    data.remove_prefix(len < 4 ? 4 : len);
  }
  return lines;
}

std::string EncodePktLine(std::string_view payload) {
  char len[5];
  std::snprintf(len, sizeof len, "%04zx", payload.size() + 4);
  return std::string(len, 4) + std::string(payload);
}

bool IsObjectId(std::string_view s) { return (s.size() == 40 || s.size() == 64) && IsLowerHex(s); }

Result<UploadRequest> ParseUploadRequest(std::string_view body, bool v2) {
  CELLAR_ASSIGN_OR_RETURN(auto lines, ParsePktLines(body));
  UploadRequest r;
  if (!v2) r.command = "fetch";
  for (const auto& line : lines) {
    if (line.kind != PktLine::kData) continue;
    std::string_view p = TrimNewline(line.payload);
    if (v2 && p.starts_with("command=")) {
      if (r.command.empty()) r.command = std::string(p.substr(8));
    } else if (p.starts_with("want-ref ")) {
      r.want_refs.emplace_back(p.substr(9));
    } else if (p.starts_with("want ")) {
      std::string_view oid = p.substr(5);
      if (size_t space = oid.find(' '); space != std::string_view::npos) oid = oid.substr(0, space);
      if (!IsObjectId(oid)) return Status::InvalidArgument("bad object id in want line");
      r.wants.emplace_back(oid);
    } else if (p.starts_with("have ")) {
      r.has_haves = true;
    } else if (p.starts_with("deepen") || p.starts_with("shallow ")) {
      r.shallow = true;
    }
  }
  if (v2 && r.command.empty()) return Status::InvalidArgument("protocol v2 request without command=");
  return r;
}

std::vector<std::string> OidsInLsRefs(std::string_view body) {
  std::vector<std::string> oids;
  auto lines = ParsePktLines(body);
  if (!lines.ok()) return oids;
  for (const auto& line : *lines) {
    if (line.kind != PktLine::kData) continue;
    std::string_view p = TrimNewline(line.payload);
    for (auto word : SplitView(p, ' ')) {
      if (word.starts_with("peeled:")) word.remove_prefix(7);
      if (IsObjectId(word)) oids.emplace_back(word);
    }
  }
  return oids;
}

Result<std::string> Gunzip(std::string_view data, size_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Status::Internal("zlib init failed");
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  char buf[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Status::InvalidArgument("request body is not valid gzip");
    }
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > max_bytes) {
      inflateEnd(&zs);
      return Status::ResourceExhausted("decompressed request body exceeds " + std::to_string(max_bytes) + " bytes");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return Status::InvalidArgument("truncated gzip request body");
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace cellar::git
