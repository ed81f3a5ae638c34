// Config: every option of `cellar serve`, with its default, and how it is
// read: command-line flags override CELLAR_* environment variables, which
// override the YAML file named by --config / CELLAR_CONFIG.
// The option table in config.cc is the single source for parsing and --help.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "base/status.h"

namespace cellar::server {

struct Config {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  // --listen :PORT (no host, as Go servers such as content-cache take it):
  // every interface when tokens or --allow-anonymous say who may connect,
  // otherwise loopback only, with a warning (LoadConfig decides the host).
  bool listen_any_host = false;
  std::vector<std::string> warnings;  // for the log at start-up
  std::string data_dir = "./cellar-data";
  // Where blobs live: "local" (the data dir) or "s3" (a bucket, with the
  // data dir as a local tier in front of it). The s3_* settings matter only
  // with "s3"; credentials are never options: they come from
  // AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
  std::string storage = "local";
  std::string s3_endpoint;  // with s3: --s3-endpoint, else AWS_ENDPOINT_URL, else AWS's regional endpoint
  std::string s3_bucket;
  std::string s3_prefix;
  std::string s3_region;  // with s3: --s3-region, else AWS_REGION, AWS_DEFAULT_REGION, us-east-1
  std::string s3_addressing = "path";  // path or virtual-host
  // When blobs and entries reach the bucket: "sync" (before the client is
  // answered) or "async" (later, from a durable outbox under
  // <data-dir>/outbox/; docs/tiered-storage.md, "Asynchronous uploads").
  std::string s3_upload = "sync";
  // Fleet mode: Redis for coordination between nodes (docs/redis.md);
  // empty: none. Checked when the server starts (it may hold a password).
  std::string redis_url;
  int64_t redis_entry_ttl_ms = 30 * 60'000;
  int64_t fleet_stats_interval_ms = 10'000;
  // The bucket's own limits (--storage s3): see index/s3/bucket_evictor.h.
  uint64_t bucket_max_bytes = 0;  // 0 = none
  int64_t bucket_ttl_ms = 0;      // 0 = none
  std::string bucket_eviction = "lru";  // or "size-and-age"
  int64_t bucket_gc_grace_ms = 60 * 60'000;
  int64_t bucket_eviction_interval_ms = 60'000;
  // This node's name in logs, metrics and stats; empty: DefaultNodeId()
  // (server/node_id.h) at start-up.
  std::string node_id;
  uint64_t max_size_bytes = 20ULL << 30;
  double high_watermark = 0.90;
  double low_watermark = 0.80;
  int64_t ttl_ms = 0;
  int64_t gc_grace_ms = 10 * 60'000;
  int64_t eviction_interval_ms = 10'000;
  uint64_t max_entry_bytes = 4ULL << 30;
  bool compress = true;
  bool sync_dirs = false;
  uint64_t scrub_rate_bytes = 0;  // per second; 0 = no background scrub
  bool bazel_validate_ac = true;
  std::string go_upstream = "https://proxy.golang.org";
  int64_t go_list_max_age_ms = 60'000;
  int64_t go_negative_ttl_ms = 60'000;
  std::string go_sumdb = "sum.golang.org";
  bool go_verify = true;
  std::string go_nosumdb;
  std::string go_routes;
  uint64_t go_stream_threshold_bytes = 16ULL << 20;
  std::string public_url;
  std::string npm_upstream = "https://registry.npmjs.org";
  std::string npm_routes;
  int64_t npm_max_age_ms = 5 * 60'000;
  int64_t npm_negative_ttl_ms = 60'000;
  bool npm_audit = true;
  std::string turbo_default_team = "default";
  std::string signing_key;             // empty: <data-dir>/signing.key (created once)
  int64_t signed_url_ttl_ms = 5 * 60'000;
  // Where the negotiate API's signed URLs point: "cellar" (/v1/blobs/) or
  // "velocity" (/v1/proxy/blob/, answered as VelocityCache's server does;
  // the default when VelocityCache's VC_* environment configures cellar).
  std::string negotiate_urls = "cellar";
  std::string git_upstream_scheme = "https";
  std::string git_allowed_hosts = "github.com,gitlab.com,bitbucket.org,codeberg.org";
  bool git_serve_stale = false;
  int64_t git_ref_ttl_ms = 0;
  int64_t git_max_stale_ms = 24LL * 3600'000;
  int64_t git_auth_ttl_ms = 60'000;
  int git_max_packs = 32;
  uint64_t git_max_size_bytes = 0;
  std::string git_eviction = "lru";  // or "size-and-age"
  int64_t git_max_age_ms = 7LL * 24 * 3600'000;
  int64_t git_fetch_timeout_ms = 30 * 60'000;
  std::string git_warmup_file;  // YAML list of repositories to keep warm
  int io_threads = 0;      // 0 = number of cores
  int worker_threads = 16;  // mostly waiting in fsync: more than cores keeps the disk queue full
  int upstream_threads = 64;
  int64_t header_timeout_ms = 10'000;
  int64_t idle_timeout_ms = 60'000;
  int64_t keepalive_timeout_ms = 75'000;
  int64_t drain_timeout_ms = 30'000;
  int max_connections = 0;             // 0: from RLIMIT_NOFILE (http::DefaultMaxConnections)
  uint64_t min_body_rate_bytes = 1024;  // per second; 0: no minimum
  std::vector<auth::TokenSpec> tokens;
  uint32_t anonymous_scopes = 0;
  bool allow_anonymous = false;
  bool access_log = true;
  // Traces (docs/tracing.md): off while otlp_endpoint is empty.
  std::string otlp_endpoint;
  std::string otlp_service_name = "cellar";
  std::string otlp_resource_attributes;  // key=value,key=value
  double trace_sampling = 1.0;
  std::string log_level = "info";
  std::string config_file;
};

// Builds the configuration from `args` (after "serve"), the environment and
// the YAML file. Returns kInvalidArgument with a readable message on a bad
// value. When --help is given, `*help` is set and the config is defaults.
Result<Config> LoadConfig(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env, bool* help);

// Text for `cellar serve --help`: every option, its variable and default.
std::string ConfigHelp();

// kInvalidArgument when the address is not loopback, no token is configured
// and --allow-anonymous was not given.
Status CheckExposure(const Config& config);

}  // namespace cellar::server
