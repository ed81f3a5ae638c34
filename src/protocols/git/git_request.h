// Parsing of git smart-HTTP requests: which repository and service a URL
// names, pkt-line framing, the wants of an upload-pack request (v0 and v2),
// the object ids an ls-refs answer advertises, and gzip request bodies.
// Everything here faces untrusted bytes and is pure (no I/O).
// Wire details: docs/protocols/git.md sections 1-5.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "giturl/repository_url.h"

namespace cellar::git {

enum class GitService { kInfoRefs, kUploadPack, kReceivePack };

struct GitTarget {
  std::string host;      // lowercased, with ":port" if given ("github.com", "127.0.0.1:8080")
  std::string path;      // as the client wrote it, no trailing slash ("org/repo.git")
  std::string repo_key;  // host + "/" + path without ".git" ("github.com/org/repo")
  GitService service = GitService::kInfoRefs;
  bool receive = false;  // info/refs?service=git-receive-pack, or git-receive-pack
};

// The target of `service` in the repository `repo` names.
GitTarget TargetIn(giturl::RepositoryLocation repo, GitService service, bool receive = false);

// Parses the path after "/git/": "<host>/<path>/info/refs" (with the
// service query value) or "<host>/<path>/git-upload-pack|git-receive-pack";
// host and path follow giturl::ParseHostAndPath.
Result<GitTarget> ParseGitPath(std::string_view rest, std::optional<std::string> service);

struct PktLine {
  enum Kind { kData, kFlush, kDelim, kResponseEnd } kind = kData;
  std::string_view payload;  // kData only; the trailing '\n' is kept
};
// Splits a whole buffer into pkt-lines; kInvalidArgument on bad framing.
Result<std::vector<PktLine>> ParsePktLines(std::string_view data);
std::string EncodePktLine(std::string_view payload);

struct UploadRequest {
  std::string command;             // v2: "ls-refs", "fetch", "object-info", ...; v0: "fetch"
  std::vector<std::string> wants;  // object ids
  std::vector<std::string> want_refs;
  bool has_haves = false;          // an incremental fetch, not a clone
  bool shallow = false;            // deepen, deepen-since, ...
};
// Parses a (decompressed) upload-pack request body.
Result<UploadRequest> ParseUploadRequest(std::string_view body, bool v2);

// Every object id named by an ls-refs answer (ref tips and peeled tags).
std::vector<std::string> OidsInLsRefs(std::string_view body);

bool IsObjectId(std::string_view s);  // 40 (sha1) or 64 (sha256) lowercase hex

// Inflates a gzip body; kResourceExhausted beyond max_bytes.
Result<std::string> Gunzip(std::string_view data, size_t max_bytes);

}  // namespace cellar::git
