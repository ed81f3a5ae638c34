// Git caching proxy over smart HTTP under /git/<host>/<path>: protocol v0
// and v2, served by the real `git upload-pack --stateless-rpc` from local
// bare mirrors (MirrorStore).
//
// Freshness and access are the upstream's: ref listings (info/refs for v0,
// ls-refs for v2) are forwarded with the client's own credentials and
// relayed as they come, so a client sees exactly the upstream's refs and
// gets the upstream's 401/403/404. A pack request is served from the mirror
// once every wanted object is there; otherwise one shared fetch brings them,
// a commit asked for by id is fetched and pinned, and as a last resort the
// request is proxied. No mirror byte is served to a client the upstream has
// not accepted for that repository within the auth TTL. With serve_stale,
// an unreachable upstream (network error or 5xx, never 401/403/404) does
// not stop clients the upstream accepted within max_stale: refs and packs
// then come from the mirror, marked with X-Cellar-Stale.
// Wire details: docs/protocols/git.md sections 2-9.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "env/http_client.h"
#include "env/process_runner.h"
#include "metrics/metrics.h"
#include "protocols/common/protocol.h"
#include "protocols/git/auth_decisions.h"
#include "protocols/git/git_metrics.h"
#include "protocols/git/git_request.h"
#include "protocols/git/mirror_store.h"
#include "protocols/git/warmup.h"

namespace cellar::git {

struct GitOptions {
  std::string upstream_scheme = "https";
  std::vector<std::string> allowed_hosts;  // "github.com", "127.0.0.1:8080"
  bool serve_stale = false;
  // TTL freshness: > 0 answers ref listings from a mirror fetched within
  // this long, without asking the upstream (refs may then be up to this
  // old). 0: strong mode, refs always from the upstream.
  int64_t ref_ttl_ms = 0;
  int64_t max_stale_ms = 24LL * 3600 * 1000;
  int64_t auth_ttl_ms = 60'000;
  int max_pack_generations = 32;           // beyond: 503 + Retry-After
  size_t max_request_bytes = 100 << 20;    // upload-pack request body, after decompression too
  int upload_pack_timeout_s = 600;         // idle limit of an upload-pack child
};

class GitAdapter : public protocols::ProtocolAdapter {
 public:
  // `metrics` is shared with the MirrorStore's callbacks; both outlive this.
  // `runner` starts git upload-pack (a fake in tests).
  GitAdapter(protocols::ProtocolContext ctx, env::HttpClient& http, env::ProcessRunner& runner, MirrorStore& mirrors,
             GitOptions options, GitMetrics& metrics, metrics::Registry& registry);
  std::string_view Name() const override { return "git"; }
  void RegisterRoutes(http::Router& router) override;
  // Enables POST /api/v1/git/warmup (admin scope): warms the repositories in
  // the body ({"repositories":[...]}) or, with no body, the configured list.
  void set_warmer(Warmer* warmer) { warmer_ = warmer; }

 private:
  boost::asio::awaitable<void> HandleWarmup(http::Exchange& ex);
  // What the upstream said to a forwarded request (body read whole: ref
  // listings are small next to packs).
  struct UpstreamAnswer {
    bool reachable = false;  // false: network error or 5xx
    int status = 0;
    std::string content_type;
    std::string www_authenticate;
    std::string body;
    std::string error;       // why it was unreachable
  };

  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  boost::asio::awaitable<void> HandleInfoRefs(http::Exchange& ex, const GitTarget& target);
  boost::asio::awaitable<void> HandleUploadPack(http::Exchange& ex, const GitTarget& target);
  boost::asio::awaitable<void> HandleLsRefs(http::Exchange& ex, const GitTarget& target, const std::string& body);
  boost::asio::awaitable<void> HandleFetch(http::Exchange& ex, const GitTarget& target, const std::string& body,
                                           const UploadRequest& request);
  // Runs upload-pack on `dir` with the request body, streaming its output.
  boost::asio::awaitable<void> ServeFromMirror(http::Exchange& ex, const std::string& dir, const std::string& body,
                                               const std::string& kind, const std::string& result);
  boost::asio::awaitable<void> ProxyUploadPack(http::Exchange& ex, const GitTarget& target, const std::string& body);
  // The request forwarded to the upstream for this client: its credentials
  // and protocol version, a git/ user agent, the body for a POST.
  env::HttpRequest UpstreamRequest(const http::Exchange& ex, const GitTarget& target, bool post,
                                   const std::string& body, bool force_v2) const;
  boost::asio::awaitable<UpstreamAnswer> AskUpstream(http::Exchange& ex, const GitTarget& target, bool post,
                                                     const std::string& body, bool force_v2);
  // The upstream's refusal, relayed as it came.
  boost::asio::awaitable<void> RelayRefusal(http::Exchange& ex, const UpstreamAnswer& answer,
                                            const std::string& kind);
  // True when the client may be served from the mirror: the upstream
  // accepted its credentials recently, or accepts them now (asked with a
  // cheap v2 capability request). Answers the client itself when not.
  boost::asio::awaitable<bool> PassGate(http::Exchange& ex, const GitTarget& target, const std::string& kind,
                                        bool* stale);
  // Fetches in the background when the mirror lacks any of `oids`.
  // `trace`: the request that asked (its trace covers the refresh, which
  // outlives it), or nullopt.
  boost::asio::awaitable<void> RefreshIfBehind(GitTarget target, std::vector<std::string> oids, std::string auth,
                                               std::optional<trace::CurrentSpan> trace);
  // `trace`: the client request the update is for (the git subprocesses
  // become spans of its trace), or nullopt.
  boost::asio::awaitable<Status> UpdateMirror(const GitTarget& target, const std::string& authorization,
                                              std::optional<trace::CurrentSpan> trace);
  Result<std::string> LocalAdvertisement(const std::string& dir, bool v2);
  // Records the upstream's answer to `authorization` for the repository.
  void RecordDecision(const GitTarget& target, const std::string& authorization, bool accepted);
  // With serve_stale: may this client be served from the mirror while the
  // upstream is unreachable? Yes when the upstream accepted its credentials
  // within max_stale, or let anonymous clients read the repository then.
  bool StaleAllowed(const GitTarget& target, const std::string& authorization) const;
  // The upstream did not answer a ref listing: true when the mirror's refs
  // may stand in (StaleAllowed), else answers 502 itself and returns false.
  boost::asio::awaitable<bool> StaleOr502(http::Exchange& ex, const GitTarget& target,
                                          const std::string& authorization, const std::string& kind,
                                          const std::string& error);
  // Marks an answer built from the mirror's refs (header and warning).
  void MarkStale(http::Exchange& ex, const GitTarget& target);
  // TTL mode: may ref listings be answered from the mirror right now?
  // In fleet mode also asks (off the I/O thread) whether another node
  // announced newer refs: then the upstream is asked instead.
  boost::asio::awaitable<bool> RefsFromMirror(const GitTarget& target, const std::string& authorization);

  std::string UpstreamUrl(const GitTarget& target) const;
  std::string Authorization(const http::Exchange& ex) const;
  bool IsV2(const http::Exchange& ex) const;
  int64_t NowMs() const;
  void Count(const std::string& kind, const std::string& result);

  protocols::ProtocolContext ctx_;
  env::HttpClient& http_;
  env::ProcessRunner& runner_;
  MirrorStore& mirrors_;
  GitOptions options_;
  GitMetrics& metrics_;
  AuthDecisions decisions_;
  std::atomic<int> packs_in_flight_{0};
  Warmer* warmer_ = nullptr;
};

}  // namespace cellar::git
