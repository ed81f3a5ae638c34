// RepositoryLocation: which git repository a URL names, in the one form the
// proxy (/git/<host>/<path>), the warm-up list and the runner-local tier
// (`cellar git clone`) all use, so the three agree on which repositories
// exist and where each one's mirror lives. Pure; faces untrusted input.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace cellar::giturl {

struct RepositoryLocation {
  std::string host;      // lowercased, with ":port" if given ("github.com", "127.0.0.1:8080")
  std::string path;      // as written, without trailing slashes ("org/repo.git")
  std::string name;      // path without ".git" ("org/repo")
  std::string repo_key;  // host + "/" + name: names the repository's mirror
  bool had_credentials = false;  // the URL carried "user[:password]@" (dropped)
};

// "<host>/<path>", as it follows "/git/" in a proxied request. Host:
// "name[:port]" after lowercasing, at most 253 characters, the name made of
// dot-separated non-empty labels of [a-z0-9-] not starting with '-'. Path: 1
// to 512 characters in at most 32 segments (GitLab nests groups 20 deep) of
// [A-Za-z0-9._~-], none empty, "." or "..". So neither can leave the
// directory it names.
Result<RepositoryLocation> ParseHostAndPath(std::string_view host_and_path);

// "http(s)://[user[:password]@]host[:port]/path[/]" under the same rules;
// credentials are dropped and reported in had_credentials. Errors quote the
// URL without them.
Result<RepositoryLocation> ParseRepositoryUrl(std::string_view url);

// The URL with any "user[:password]@" removed, for logs and messages.
std::string WithoutCredentials(std::string_view url);

}  // namespace cellar::giturl
