// Which repository a git request or URL names: "/git/<host>/<path>/..."
// paths, repository URLs (warm-up list, `cellar git clone`) and the
// credential scrubbing of URLs in messages. The first byte picks the parser.
#include "fuzz/fuzz_util.h"
#include "giturl/repository_url.h"
#include "protocols/git/git_request.h"

using namespace cellar;

namespace {

// What ParseHostAndPath promises: a repository location that cannot leave
// the directory it names, and that names the same repository when parsed
// again from its own parts.
void CheckLocation(const std::string& host, const std::string& path, const std::string& repo_key) {
  FUZZ_CHECK(!host.empty() && host.size() <= 253 && host.find('/') == std::string::npos);
  FUZZ_CHECK(host.find('@') == std::string::npos && host.find("..") == std::string::npos);
  for (char c : host) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  FUZZ_CHECK(!path.empty() && path.size() <= 512 && path[0] != '/' && !path.ends_with("/"));
  FUZZ_CHECK(path.find("//") == std::string::npos && fuzz::HasNoDotSegments(path));
  // Mirrors live at <root>/mirrors/<repo_key>.git (and the runner cache alike).
  FUZZ_CHECK(repo_key.starts_with(host + "/") && fuzz::HasNoDotSegments(repo_key + ".git"));
  auto again = giturl::ParseHostAndPath(host + "/" + path);
  FUZZ_CHECK(again.ok() && again->host == host && again->path == path && again->repo_key == repo_key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in = fuzz::AsView(data + 1, size - 1);
  switch (fuzz::Mode(data[0], 4)) {
    case 0: {
      auto loc = giturl::ParseHostAndPath(in);
      if (!loc.ok()) return 0;
      CheckLocation(loc->host, loc->path, loc->repo_key);
      FUZZ_CHECK(loc->repo_key == loc->host + "/" + loc->name && !loc->had_credentials);
      break;
    }
    case 1: {
      auto loc = giturl::ParseRepositoryUrl(in);
      if (!loc.ok()) return 0;
      CheckLocation(loc->host, loc->path, loc->repo_key);
      FUZZ_CHECK(loc->repo_key == loc->host + "/" + loc->name);
      break;
    }
    case 2: {
      std::string clean = giturl::WithoutCredentials(in);
      FUZZ_CHECK(clean.size() <= in.size());
      size_t scheme = clean.find("://");
      if (scheme != std::string::npos) FUZZ_CHECK(clean.find('@', scheme) == std::string::npos);
      break;
    }
    case 3: {
      // "<service query value>\n<path after /git/>"
      auto f = fuzz::Fields(in, 2);
      std::optional<std::string> service;
      std::string_view rest = f[0];
      if (f.size() == 2) {
        service = std::string(f[0]);
        rest = f[1];
      }
      auto target = git::ParseGitPath(rest, service);
      if (!target.ok()) return 0;
      CheckLocation(target->host, target->path, target->repo_key);
      FUZZ_CHECK(target->receive == (target->service == git::GitService::kReceivePack ||
                                     (target->service == git::GitService::kInfoRefs &&
                                      service == "git-receive-pack")));
      break;
    }
  }
  return 0;
}
