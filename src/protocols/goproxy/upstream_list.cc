#include "protocols/goproxy/upstream_list.h"

#include "base/strings.h"

namespace cellar::goproxy {

Result<std::vector<UpstreamEntry>> ParseUpstreamList(std::string_view list) {
  std::vector<UpstreamEntry> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find_first_of(",|", start);
    std::string_view item = TrimWhitespace(list.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (item.empty()) return Status::InvalidArgument("empty entry in Go upstream list '" + std::string(list) + "'");
    if (!item.starts_with("http://") && !item.starts_with("https://")) {
      return Status::InvalidArgument("Go upstream '" + std::string(item) + "' must be an http(s) URL");
    }
    while (item.ends_with("/")) item.remove_suffix(1);
    out.push_back({std::string(item), end != std::string_view::npos && list[end] == '|'});
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

Result<std::vector<ModuleRoute>> ParseModuleRoutes(std::string_view rules) {
  std::vector<ModuleRoute> out;
  for (auto rule : SplitView(rules, ';')) {
    rule = TrimWhitespace(rule);
    if (rule.empty()) continue;
    size_t eq = rule.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("Go route '" + RedactUrl(std::string(rule)) +
                                     "' must look like PATTERNS=UPSTREAMS or PATTERNS=off");
    }
    ModuleRoute route;
    CELLAR_ASSIGN_OR_RETURN(route.patterns, ModulePatterns::Parse(rule.substr(0, eq)));
    if (route.patterns.empty()) return Status::InvalidArgument("Go route without module patterns");
    std::string_view target = TrimWhitespace(rule.substr(eq + 1));
    if (target != "off") {
      auto ups = ParseUpstreamList(target);
      if (!ups.ok()) return Status::InvalidArgument(RedactUrl(ups.error().message()));
      route.upstreams = std::move(*ups);
    }
    out.push_back(std::move(route));
  }
  return out;
}

const ModuleRoute* FindRoute(const std::vector<ModuleRoute>& routes, std::string_view module_path) {
  for (const auto& r : routes) {
    if (r.patterns.Matches(module_path)) return &r;
  }
  return nullptr;
}

ModulePatterns SumdbExemptModules(const ModulePatterns& nosumdb, const std::vector<ModuleRoute>& routes) {
  std::string list;
  auto add = [&](const ModulePatterns& p) {
    for (const auto& glob : p.globs()) list += (list.empty() ? "" : ",") + glob;
  };
  add(nosumdb);
  for (const auto& r : routes) add(r.patterns);
  // Every glob already parsed once, so this cannot fail.
  auto merged = ModulePatterns::Parse(list);
  return merged.ok() ? *merged : nosumdb;
}

Result<std::unique_ptr<env::HttpResponse>> FetchFromUpstreams(
    env::HttpClient& client, const std::vector<UpstreamEntry>& upstreams, const std::string& path) {
  Status last = Status::NotFound("no upstream has " + path);
  for (const auto& up : upstreams) {
    env::HttpRequest req;
    req.url = up.base_url + "/" + path;
    auto resp = client.Send(req);
    if (resp.ok()) {
      int status = (*resp)->head().status;
      if (status == 200) return resp;
      // 400 means "not found" too: proxy.golang.org answers it for
      // versions that cannot exist ("invalid version"), and a 502 would stop
      // the go command instead of letting it fall back (",direct").
      if (status == 404 || status == 410 || status == 400) {
        last = Status::NotFound("no upstream has " + path);
        continue;  // allowed after both "," and "|"
      }
      last = Status::Unavailable("upstream " + RedactUrl(up.base_url) + " answered " + std::to_string(status) +
                                 " for " + path);
    } else {
      last = Status::Unavailable("upstream " + RedactUrl(up.base_url) + ": " + resp.error().message());
    }
    if (!up.fall_through_on_error) return last;
  }
  return last;
}

}  // namespace cellar::goproxy
