#include "protocols/npm/npm_upstream.h"

#include "base/base64.h"
#include "base/strings.h"

namespace cellar::npm {

void NpmUpstream::Authorize(env::HttpRequest& req) const {
  if (!authorization.empty() && Owns(req.url)) req.headers.emplace_back("Authorization", authorization);
}

bool NpmUpstream::Owns(std::string_view url) const { return url.starts_with(base_url); }

Result<NpmUpstream> ParseUpstream(std::string_view url, std::string_view token) {
  url = TrimWhitespace(url);
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    return Status::InvalidArgument("npm upstream '" + env::RedactUrl(std::string(url)) + "' must be an http(s) URL");
  }
  NpmUpstream up;
  std::string u(url);
  size_t authority = u.find("://") + 3;
  size_t end = u.find('/', authority);
  size_t at = u.rfind('@', end);
  if (at != std::string::npos && at >= authority) {
    std::string userinfo = PercentDecode(u.substr(authority, at - authority), true).value_or("");
    up.authorization = "Basic " + Base64Encode(userinfo);
    u = u.substr(0, authority) + u.substr(at + 1);
  }
  if (!u.ends_with("/")) u += "/";
  up.base_url = u;
  if (!token.empty()) up.authorization = "Bearer " + std::string(token);
  return up;
}

Result<std::vector<NpmUpstream>> ParseScopeRoutes(std::string_view rules) {
  std::vector<NpmUpstream> out;
  for (auto rule : SplitView(rules, ';')) {
    rule = TrimWhitespace(rule);
    if (rule.empty()) continue;
    size_t eq = rule.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("npm route must look like @scope[,@scope2]=URL [token:TOKEN]");
    }
    std::string_view target = TrimWhitespace(rule.substr(eq + 1));
    std::string_view token;
    if (size_t sp = target.find(" token:"); sp != std::string_view::npos) {
      token = TrimWhitespace(target.substr(sp + 7));
      target = TrimWhitespace(target.substr(0, sp));
    }
    CELLAR_ASSIGN_OR_RETURN(auto up, ParseUpstream(target, token));
    for (auto scope : SplitView(rule.substr(0, eq), ',')) {
      scope = TrimWhitespace(scope);
      if (scope.size() < 2 || scope[0] != '@' || scope.find('/') != std::string_view::npos) {
        return Status::InvalidArgument("npm route scope '" + std::string(scope) + "' must look like @name");
      }
      up.scopes.emplace_back(scope);
    }
    if (up.scopes.empty()) return Status::InvalidArgument("npm route without scopes");
    out.push_back(std::move(up));
  }
  return out;
}

const NpmUpstream& UpstreamFor(const std::vector<NpmUpstream>& routes, const NpmUpstream& fallback,
                               std::string_view name) {
  if (!name.starts_with("@")) return fallback;
  std::string_view scope = name.substr(0, name.find('/'));
  for (const auto& r : routes) {
    for (const auto& s : r.scopes) {
      if (s == scope) return r;
    }
  }
  return fallback;
}

Result<std::unique_ptr<env::HttpResponse>> SendUpstream(env::HttpClient& client, const NpmUpstream& up,
                                                        env::HttpRequest req, std::vector<int> accept) {
  up.Authorize(req);
  auto resp = client.Send(req);
  if (!resp.ok()) return Status::Unavailable("npm upstream unreachable: " + resp.error().message());
  int status = (*resp)->head().status;
  if (status == 200) return resp;
  for (int a : accept) {
    if (status == a) return resp;
  }
  if (status == 404 || status == 410) return Status::NotFound("not found upstream: " + env::RedactUrl(req.url));
  return Status::Unavailable("npm upstream answered " + std::to_string(status) + " for " + env::RedactUrl(req.url));
}

}  // namespace cellar::npm
