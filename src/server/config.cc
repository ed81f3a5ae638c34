#include "server/config.h"

#include <functional>
#include <optional>
#include <sstream>

#include <boost/asio/ip/address.hpp>
#include <yaml-cpp/yaml.h>

#include "base/strings.h"
#include "server/node_id.h"

namespace cellar::server {

namespace {

using Setter = std::function<Status(Config&, const std::string&)>;

struct OptionDef {
  std::string flag;     // without leading dashes
  std::string help;
  std::string default_text;
  Setter set;
  bool is_bool = false;
  bool repeated = false;  // values accumulate (tokens)
};

std::string EnvName(const std::string& flag) {
  std::string out = "CELLAR_";
  for (char c : flag) out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return out;
}

std::string YamlKey(const std::string& flag) {
  std::string out = flag;
  for (char& c : out) if (c == '-') c = '_';
  return out;
}

Status Bad(const std::string& flag, const std::string& value, const std::string& why) {
  return Status::InvalidArgument("--" + flag + "=" + value + ": " + why);
}

Setter SizeSetter(const std::string& flag, uint64_t Config::*field) {
  return [flag, field](Config& c, const std::string& v) -> Status {
    auto n = ParseByteSize(v);
    if (!n) return Bad(flag, v, "expected a size such as 512MiB or 20GiB");
    c.*field = *n;
    return Status();
  };
}

// A flag that takes one of two words.
Setter OneOfSetter(const std::string& flag, std::string Config::*field, std::string a, std::string b) {
  return [flag, field, a, b](Config& c, const std::string& v) -> Status {
    if (v != a && v != b) return Bad(flag, v, "expected " + a + " or " + b);
    c.*field = v;
    return Status();
  };
}

Setter DurationSetter(const std::string& flag, int64_t Config::*field) {
  return [flag, field](Config& c, const std::string& v) -> Status {
    auto n = ParseDurationMs(v);
    if (!n) return Bad(flag, v, "expected a duration such as 30s, 5m, 2h or 7d");
    c.*field = *n;
    return Status();
  };
}

Setter StringSetter(std::string Config::*field) {
  return [field](Config& c, const std::string& v) -> Status {
    c.*field = v;
    return Status();
  };
}

Setter BoolSetter(const std::string& flag, bool Config::*field) {
  return [flag, field](Config& c, const std::string& v) -> Status {
    std::string l = ToLower(v);
    if (l == "true" || l == "1" || l == "yes" || l.empty()) c.*field = true;
    else if (l == "false" || l == "0" || l == "no") c.*field = false;
    else return Bad(flag, v, "expected true or false");
    return Status();
  };
}

Setter IntSetter(const std::string& flag, int Config::*field, int min, int max) {
  return [=](Config& c, const std::string& v) -> Status {
    auto n = ParseUint64(v);
    if (!n || *n < static_cast<uint64_t>(min) || *n > static_cast<uint64_t>(max))
      return Bad(flag, v, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
    c.*field = static_cast<int>(*n);
    return Status();
  };
}

Setter FractionSetter(const std::string& flag, double Config::*field) {
  return [flag, field](Config& c, const std::string& v) -> Status {
    try {
      size_t used = 0;
      double d = std::stod(v, &used);
      if (used != v.size() || d <= 0 || d > 1) return Bad(flag, v, "expected a fraction in (0, 1]");
      c.*field = d;
    } catch (const std::exception&) {
      return Bad(flag, v, "expected a fraction in (0, 1]");
    }
    return Status();
  };
}

bool IsHttpUrlWithoutPath(const std::string& v) {
  std::string rest;
  if (v.starts_with("http://")) rest = v.substr(7);
  else if (v.starts_with("https://")) rest = v.substr(8);
  else return false;
  while (rest.ends_with("/")) rest.pop_back();
  return !rest.empty() && rest.find_first_of("/?#@ ") == std::string::npos;
}

// With --storage s3: fills the S3 settings the AWS way from the
// environment, and checks that a bucket is named.
Status ResolveS3(Config& c, const std::map<std::string, std::string>& env) {
  if (c.s3_upload == "async" && c.storage != "s3") {
    return Status::InvalidArgument("--s3-upload=async needs --storage s3 (there is no bucket to upload to)");
  }
  if (c.storage != "s3") return Status();
  auto from_env = [&env](const char* name) -> std::string {
    auto it = env.find(name);
    return it == env.end() ? "" : it->second;
  };
  if (c.s3_region.empty()) c.s3_region = from_env("AWS_REGION");
  if (c.s3_region.empty()) c.s3_region = from_env("AWS_DEFAULT_REGION");
  if (c.s3_region.empty()) c.s3_region = "us-east-1";
  if (c.s3_endpoint.empty()) {
    const std::string endpoint = from_env("AWS_ENDPOINT_URL");
    if (!endpoint.empty() && !IsHttpUrlWithoutPath(endpoint)) {
      return Status::InvalidArgument("AWS_ENDPOINT_URL=" + endpoint + ": expected http(s)://host[:port]");
    }
    c.s3_endpoint = endpoint.empty() ? "https://s3." + c.s3_region + ".amazonaws.com" : endpoint;
  }
  if (c.s3_bucket.empty()) return Status::InvalidArgument("--storage s3 needs --s3-bucket");
  if (c.s3_bucket.find_first_of("/?# ") != std::string::npos) {
    return Bad("s3-bucket", c.s3_bucket, "not a bucket name");
  }
  return Status();
}

Status SetListen(Config& c, const std::string& v) {
  size_t colon = v.rfind(':');
  if (colon == std::string::npos) return Bad("listen", v, "expected HOST:PORT");
  std::string host = v.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = ParseUint64(v.substr(colon + 1));
  if (!port || *port > 65535) return Bad("listen", v, "port must be 0-65535");
  c.listen_any_host = host.empty();
  if (host.empty()) {
    c.port = static_cast<uint16_t>(*port);
    return Status();  // LoadConfig picks the host once tokens are known
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec) return Bad("listen", v, "host must be an IP address");
  c.host = host;
  c.port = static_cast<uint16_t>(*port);
  return Status();
}

// local, s3, or (content-cache's `--storage ./cache`) a directory: local
// storage with that data dir. A path must contain a '/' or start with '.',
// so that a mistyped backend name is an error, not a new directory.
Status SetStorage(Config& c, const std::string& v) {
  if (v == "local" || v == "s3") {
    c.storage = v;
    return Status();
  }
  if (v.find('/') != std::string::npos || v.starts_with(".")) {
    c.storage = "local";
    c.data_dir = v;
    return Status();
  }
  return Bad("storage", v, "expected local, s3, or a directory such as ./cache");
}

Status AddToken(Config& c, const std::string& v) {
  // Several tokens may be given in one value, separated by spaces or ';'.
  std::string normalized = v;
  for (char& ch : normalized) if (ch == ';') ch = ' ';
  std::istringstream in(normalized);
  std::string one;
  while (in >> one) {
    auto spec = auth::Authenticator::ParseTokenSpec(one);
    if (!spec.ok()) return Status::InvalidArgument("--token: " + spec.error().message());
    c.tokens.push_back(std::move(*spec));
  }
  return Status();
}

const std::vector<OptionDef>& Options() {
  static const std::vector<OptionDef> kOptions = {
      {"config", "YAML file with any of these options (keys use underscores).", "(none)",
       [](Config& c, const std::string& v) { c.config_file = v; return Status(); }},
      {"listen",
       "Address and port to listen on; port 0 picks a free port. :PORT listens on every interface when "
       "tokens or --allow-anonymous are given, else on loopback.",
       "127.0.0.1:8080", SetListen},
      {"data-dir", "Directory for blobs and the SQLite index.", "./cellar-data",
       [](Config& c, const std::string& v) {
         if (v.empty()) return Bad("data-dir", v, "must not be empty");
         c.data_dir = v;
         return Status();
       }},
      {"storage",
       "Where blobs live: local (the data dir), s3 (a bucket; credentials from AWS_ACCESS_KEY_ID, "
       "AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN), or a directory (./cache: local, with that data dir).",
       "local", SetStorage},
      {"s3-endpoint", "S3: endpoint URL, http(s)://host[:port] (RGW, MinIO, R2, AWS).",
       "AWS_ENDPOINT_URL, else https://s3.<region>.amazonaws.com",
       [](Config& c, const std::string& v) {
         if (!v.empty() && !IsHttpUrlWithoutPath(v)) return Bad("s3-endpoint", v, "expected http(s)://host[:port]");
         c.s3_endpoint = v;
         return Status();
       }},
      {"s3-bucket", "S3: bucket holding the blobs.", "(none)", StringSetter(&Config::s3_bucket)},
      {"s3-prefix", "S3: key prefix for everything cellar writes in the bucket.", "(none)",
       StringSetter(&Config::s3_prefix)},
      {"s3-region", "S3: signing region (any name for RGW and MinIO).",
       "AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1", StringSetter(&Config::s3_region)},
      {"s3-upload",
       "S3: when uploads reach the bucket: sync (before the client is answered) or async (the client is "
       "answered once the blob is on local disk and recorded in a durable outbox under <data-dir>/outbox/, "
       "uploaded in the background with retries; implies --sync-dirs).",
       "sync", OneOfSetter("s3-upload", &Config::s3_upload, "sync", "async")},
      {"redis-url",
       "Fleet mode: Redis coordinating the nodes on one bucket, redis://[[user]:password@]host[:port][/db] or "
       "unix:///path.sock[?db=N]. Redis only saves work: with it down every request still succeeds.",
       "(none)", StringSetter(&Config::redis_url)},
      {"redis-entry-ttl",
       "Fleet mode with S3: how long Redis keeps a copy of an entry's manifest that a node wrote or read, so "
       "the other nodes' first lookups skip the bucket (0: no copies).",
       "30m", DurationSetter("redis-entry-ttl", &Config::redis_entry_ttl_ms)},
      {"bucket-max-size",
       "S3: the bucket's own size limit for the whole fleet (0 = none). Past 90% the least recently used "
       "entries fleet-wide (hits from every node, through Redis) leave the bucket until it is under 80%; "
       "each node's disk keeps its own --max-size.",
       "0", SizeSetter("bucket-max-size", &Config::bucket_max_bytes)},
      {"bucket-ttl", "S3: entries no node has used for this long leave the bucket (0 = never).", "0",
       DurationSetter("bucket-ttl", &Config::bucket_ttl_ms)},
      {"bucket-eviction",
       "S3: which entries leave the bucket first once it passes --bucket-max-size: lru (least recently used) or "
       "size-and-age (the most bytes per hit).",
       "lru", OneOfSetter("bucket-eviction", &Config::bucket_eviction, "lru", "size-and-age")},
      {"bucket-gc-grace", "S3: blobs no entry names are removed from the bucket once this old.", "1h",
       DurationSetter("bucket-gc-grace", &Config::bucket_gc_grace_ms)},
      {"bucket-eviction-interval", "S3: how often the bucket's limits are enforced (by one node at a time).", "1m",
       DurationSetter("bucket-eviction-interval", &Config::bucket_eviction_interval_ms)},
      {"fleet-stats-interval",
       "Fleet mode: how often a node writes its totals to Redis and reads the fleet's back (/api/v1/stats "
       "\"fleet\", cellar_fleet_* metrics); a node silent for three intervals drops out of the totals.",
       "10s", DurationSetter("fleet-stats-interval", &Config::fleet_stats_interval_ms)},
      {"node-id",
       "Fleet mode: this node's name in log lines, /metrics (cellar_node_info) and /api/v1/stats; "
       "1-64 of [A-Za-z0-9._:-].",
       "<hostname>-<hash of the data dir>", [](Config& c, const std::string& v) -> Status {
         if (Status ok = ValidateNodeId(v); !ok.ok()) return Bad("node-id", v, ok.message());
         c.node_id = v;
         return Status();
       }},
      {"s3-addressing", "S3: path (http://host/bucket/key) or virtual-host (http://bucket.host/key).", "path",
       OneOfSetter("s3-addressing", &Config::s3_addressing, "path", "virtual-host")},
      {"max-size", "Hard limit on bytes at rest; uploads beyond it are refused.", "20GiB",
       SizeSetter("max-size", &Config::max_size_bytes)},
      {"high-watermark", "Eviction starts when the store exceeds this fraction of max-size.", "0.9",
       FractionSetter("high-watermark", &Config::high_watermark)},
      {"low-watermark", "Eviction stops below this fraction of max-size.", "0.8",
       FractionSetter("low-watermark", &Config::low_watermark)},
      {"ttl", "Evict entries not used for this long (0 = never).", "0", DurationSetter("ttl", &Config::ttl_ms)},
      {"gc-grace", "How long an unreferenced blob is kept before it is deleted.", "10m",
       DurationSetter("gc-grace", &Config::gc_grace_ms)},
      {"eviction-interval", "How often eviction and blob collection run.", "10s",
       DurationSetter("eviction-interval", &Config::eviction_interval_ms)},
      {"max-entry-size", "Largest single upload accepted.", "4GiB",
       SizeSetter("max-entry-size", &Config::max_entry_bytes)},
      {"compress", "Store blobs zstd-compressed when that saves at least 10%.", "true",
       BoolSetter("compress", &Config::compress), true},
      {"sync-dirs", "Also fsync the directory after each new blob (content is always fsynced first).",
       "false", BoolSetter("sync-dirs", &Config::sync_dirs), true},
      {"scrub-rate",
       "Background scrub: blob bytes re-hashed per second (e.g. 10MiB); corrupt blobs move to "
       "quarantine/. 0 = off.",
       "0", SizeSetter("scrub-rate", &Config::scrub_rate_bytes)},
      {"bazel-validate-ac",
       "Bazel: accept only valid ActionResults on AC PUT; answer AC GET only when all referenced CAS blobs exist.",
       "true", BoolSetter("bazel-validate-ac", &Config::bazel_validate_ac), true},
      {"go-upstream",
       "Go module proxies to fill from, in GOPROXY list syntax (',' falls through on 404/410, '|' on any error).",
       "https://proxy.golang.org",
       [](Config& c, const std::string& v) {
         c.go_upstream = v;
         return Status();
       }},
      {"go-list-max-age", "Go: how long @v/list, @latest and query .info answers are fresh.", "1m",
       DurationSetter("go-list-max-age", &Config::go_list_max_age_ms)},
      {"go-negative-ttl", "Go: how long an upstream 404/410 is remembered.", "1m",
       DurationSetter("go-negative-ttl", &Config::go_negative_ttl_ms)},
      {"go-sumdb",
       "Go: checksum databases proxied under /go/sumdb/, as NAME or NAME=URL (default URL https://NAME), "
       "comma-separated; the first also verifies every .zip and .mod before it is stored.",
       "sum.golang.org", StringSetter(&Config::go_sumdb)},
      {"go-verify",
       "Go: refuse a .zip or .mod whose h1: hash differs from the checksum database's record.", "true",
       BoolSetter("go-verify", &Config::go_verify), true},
      {"go-nosumdb",
       "Go: module patterns (GONOSUMDB syntax) never checked against or looked up in the checksum database; "
       "their lookups are answered 403.",
       "", StringSetter(&Config::go_nosumdb)},
      {"go-route",
       "Go: per-module upstreams, 'PATTERNS=UPSTREAMS;...' (GOPROXY syntax, credentials as https://user:token@host) "
       "or 'PATTERNS=off' (answered 404, so go fetches them directly). Routed modules are never looked up in "
       "the checksum database (as with --go-nosumdb).",
       "", StringSetter(&Config::go_routes)},
      {"go-stream-threshold",
       "Go: .zip files up to this size are verified before the first byte is sent; larger ones stream.", "16MiB",
       SizeSetter("go-stream-threshold", &Config::go_stream_threshold_bytes)},
      {"public-url",
       "Base URL clients use to reach cellar (https://cellar.example); npm tarball URLs point here. "
       "Default: http://<Host header>.",
       "", [](Config& c, const std::string& v) -> Status {
         std::string u = v;
         while (u.ends_with("/")) u.pop_back();
         if (!u.empty() && !u.starts_with("http://") && !u.starts_with("https://")) {
           return Bad("public-url", v, "expected an http(s) URL");
         }
         c.public_url = u;
         return Status();
       }},
      {"npm-upstream", "npm registry to fill from.", "https://registry.npmjs.org", StringSetter(&Config::npm_upstream)},
      {"npm-route",
       "npm: per-scope registries, '@corp[,@corp2]=URL [token:TOKEN];...' (or credentials as https://user:pass@host).",
       "", StringSetter(&Config::npm_routes)},
      {"npm-max-age", "npm: how long a packument is fresh before it is revalidated upstream.", "5m",
       DurationSetter("npm-max-age", &Config::npm_max_age_ms)},
      {"npm-negative-ttl", "npm: how long an upstream 404 is remembered.", "1m",
       DurationSetter("npm-negative-ttl", &Config::npm_negative_ttl_ms)},
      {"npm-audit", "npm: pass audit requests to the upstream (false: answer them 404 at once).", "true",
       BoolSetter("npm-audit", &Config::npm_audit), true},
      {"turbo-default-team",
       "Turborepo: team namespace for requests without teamId/team/slug; empty = such requests get 400.",
       "default", StringSetter(&Config::turbo_default_team)},
      {"signing-key",
       "Secret (16+ bytes) for the negotiate API's signed URLs; every node of a fleet needs the same one.",
       "a random key in <data-dir>/signing.key", StringSetter(&Config::signing_key)},
      {"signed-url-ttl", "Lifetime of a signed URL handed out by the negotiate API.", "5m",
       DurationSetter("signed-url-ttl", &Config::signed_url_ttl_ms)},
      {"negotiate-urls",
       "Where the negotiate API's cellar URLs point: cellar (/v1/blobs/, 201 for a stored upload) or velocity "
       "(/v1/proxy/blob/, 200 as VelocityCache's CLI requires; the default when a VC_* variable is set).",
       "cellar", OneOfSetter("negotiate-urls", &Config::negotiate_urls, "cellar", "velocity")},
      {"git-upstream-scheme", "git: scheme of upstream URLs (https; http only for tests and trusted networks).",
       "https",
       OneOfSetter("git-upstream-scheme", &Config::git_upstream_scheme, "https", "http")},
      {"git-allowed-hosts", "git: upstream hosts cellar proxies, comma-separated (host or host:port, as in the URL).",
       "github.com,gitlab.com,bitbucket.org,codeberg.org", StringSetter(&Config::git_allowed_hosts)},
      {"git-serve-stale",
       "git: when the upstream is unreachable, serve refs and packs from the mirror to clients it accepted before.",
       "false", BoolSetter("git-serve-stale", &Config::git_serve_stale), true},
      {"git-ref-ttl",
       "git: answer ref listings from a mirror fetched within this long, without asking the upstream "
       "(0: always ask; refs never stale).",
       "0", DurationSetter("git-ref-ttl", &Config::git_ref_ttl_ms)},
      {"git-max-stale", "git: how long ago the upstream must have accepted a client for stale serving.", "24h",
       DurationSetter("git-max-stale", &Config::git_max_stale_ms)},
      {"git-auth-ttl", "git: how long an upstream's yes to a client's credentials is reused.", "60s",
       DurationSetter("git-auth-ttl", &Config::git_auth_ttl_ms)},
      {"git-max-packs", "git: concurrent pack generations; beyond, 503 with Retry-After.", "32",
       IntSetter("git-max-packs", &Config::git_max_packs, 1, 4096)},
      {"git-max-size", "git: mirrors' total size above which idle mirrors are evicted (0: no limit).",
       "0", SizeSetter("git-max-size", &Config::git_max_size_bytes)},
      {"git-eviction",
       "git: which idle mirrors go first past --git-max-size: lru (least recently used) or size-and-age (mirrors "
       "older than --git-max-age first, then those with the most bytes per clone served).",
       "lru", OneOfSetter("git-eviction", &Config::git_eviction, "lru", "size-and-age")},
      {"git-max-age", "git: with --git-eviction size-and-age, mirrors built longer ago than this go first.", "7d",
       DurationSetter("git-max-age", &Config::git_max_age_ms)},
      {"git-fetch-timeout", "git: limit for one upstream clone or fetch.", "30m",
       DurationSetter("git-fetch-timeout", &Config::git_fetch_timeout_ms)},
      {"git-warmup", "git: YAML file of repositories to keep warm (schedule, parallelism, repositories).", "(none)",
       StringSetter(&Config::git_warmup_file)},
      {"io-threads", "Network threads.", "number of cores", IntSetter("io-threads", &Config::io_threads, 1, 256)},
      {"worker-threads", "Threads for disk syncs and index writes.", "16",
       IntSetter("worker-threads", &Config::worker_threads, 1, 256)},
      {"upstream-threads",
       "Threads that wait on upstream transfers (pull-through misses); bounds concurrent cold fetches.", "64",
       IntSetter("upstream-threads", &Config::upstream_threads, 1, 1024)},
      {"header-timeout", "Time a client has to send its request headers.", "10s",
       DurationSetter("header-timeout", &Config::header_timeout_ms)},
      {"idle-timeout", "Time a transfer may stall before the connection is closed.", "60s",
       DurationSetter("idle-timeout", &Config::idle_timeout_ms)},
      {"keepalive-timeout", "Time an idle keep-alive connection is kept open.", "75s",
       DurationSetter("keepalive-timeout", &Config::keepalive_timeout_ms)},
      {"drain-timeout", "On SIGTERM, time in-flight requests get to finish.", "30s",
       DurationSetter("drain-timeout", &Config::drain_timeout_ms)},
      {"max-connections",
       "Open connections at most; beyond, an idle keep-alive connection is closed or the new one gets 503 "
       "(0: half of what is left of the open-files limit after a quarter of it, at least 256, is kept for the server's own files).",
       "0", IntSetter("max-connections", &Config::max_connections, 0, 1 << 24)},
      {"min-body-rate",
       "Slowest request body accepted, in bytes per second averaged over 10 s of waiting; a slower upload "
       "gets 408 (0: no minimum).",
       "1KiB", SizeSetter("min-body-rate", &Config::min_body_rate_bytes)},
      {"token", "Access token NAME:SECRET:SCOPES[:NAMESPACES]; scopes read,write,admin; repeatable.", "(none)",
       AddToken, false, true},
      {"anonymous-scopes", "Scopes granted to requests without credentials when tokens exist.", "(none)",
       [](Config& c, const std::string& v) {
         auto s = auth::Authenticator::ParseScopes(v);
         if (!s.ok()) return Bad("anonymous-scopes", v, s.error().message());
         c.anonymous_scopes = *s;
         return Status();
       }},
      {"allow-anonymous", "Allow listening on a non-loopback address without any token.", "false",
       BoolSetter("allow-anonymous", &Config::allow_anonymous), true},
      {"otlp-endpoint",
       "Traces: OpenTelemetry collector to send spans to over OTLP/HTTP (JSON), e.g. http://otel:4318 "
       "(/v1/traces is added unless given). Off when empty.",
       "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT, else off",
       [](Config& c, const std::string& v) -> Status {
         if (!v.empty() && !v.starts_with("http://") && !v.starts_with("https://")) {
           return Bad("otlp-endpoint", v, "expected an http(s) URL");
         }
         c.otlp_endpoint = v;
         return Status();
       }},
      {"otlp-service-name", "Traces: the service.name resource attribute.", "OTEL_SERVICE_NAME, else cellar",
       StringSetter(&Config::otlp_service_name)},
      {"otlp-resource-attributes",
       "Traces: more resource attributes, key=value[,key=value...] (deployment.environment=ci,...).",
       "OTEL_RESOURCE_ATTRIBUTES", [](Config& c, const std::string& v) -> Status {
         for (std::string_view item : SplitView(v, ',')) {
           if (item.empty()) continue;
           if (item.find('=') == std::string_view::npos || item.front() == '=') {
             return Bad("otlp-resource-attributes", v, "expected key=value[,key=value...]");
           }
         }
         c.otlp_resource_attributes = v;
         return Status();
       }},
      {"trace-sampling",
       "Traces: share of requests without a sampled traceparent that are traced, 0..1 (a client's sampled "
       "traceparent is always followed).",
       "OTEL_TRACES_SAMPLER_ARG, else 1", [](Config& c, const std::string& v) -> Status {
         try {
           size_t used = 0;
           double d = std::stod(v, &used);
           if (used != v.size() || d < 0 || d > 1) return Bad("trace-sampling", v, "expected a ratio in [0, 1]");
           c.trace_sampling = d;
         } catch (const std::exception&) {
           return Bad("trace-sampling", v, "expected a ratio in [0, 1]");
         }
         return Status();
       }},
      {"access-log", "Write one JSON line per request to stderr.", "true",
       BoolSetter("access-log", &Config::access_log), true},
      {"log-level", "debug, info, warn or error.", "info",
       [](Config& c, const std::string& v) {
         if (v != "debug" && v != "info" && v != "warn" && v != "error")
           return Bad("log-level", v, "expected debug, info, warn or error");
         c.log_level = v;
         return Status();
       }},
  };
  return kOptions;
}

const OptionDef* FindOption(const std::string& flag) {
  for (const auto& o : Options()) if (o.flag == flag) return &o;
  return nullptr;
}

Status ApplyYaml(Config& c, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("config file " + path + ": " + e.what());
  }
  if (!root.IsMap()) return Status::InvalidArgument("config file " + path + ": expected a mapping");
  try {
    for (const auto& kv : root) {
      std::string key = kv.first.as<std::string>();
      const OptionDef* def = nullptr;
      for (const auto& o : Options()) if (YamlKey(o.flag) == key) def = &o;
      if (!def || def->flag == "config") return Status::InvalidArgument("config file " + path + ": unknown key '" + key + "'");
      if (def->flag == "token" && kv.second.IsSequence()) {
        for (const auto& t : kv.second) {
          if (t.IsMap()) {
            auth::TokenSpec spec;
            spec.name = t["name"].as<std::string>("");
            spec.secret = t["secret"].as<std::string>("");
            auto scopes = auth::Authenticator::ParseScopes(t["scopes"].as<std::string>("read"));
            if (!scopes.ok()) return scopes.error().WithContext("config file token '" + spec.name + "'");
            spec.scopes = *scopes;
            if (t["namespaces"]) for (const auto& n : t["namespaces"]) spec.namespaces.push_back(n.as<std::string>());
            if (spec.name.empty() || spec.secret.size() < 8)
              return Status::InvalidArgument("config file: each token needs a name and a secret of 8+ characters");
            c.tokens.push_back(std::move(spec));
          } else {
            CELLAR_RETURN_IF_ERROR(AddToken(c, t.as<std::string>()));
          }
        }
        continue;
      }
      CELLAR_RETURN_IF_ERROR(def->set(c, kv.second.as<std::string>()).WithContext("config file " + path));
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument("config file " + path + ": " + e.what());
  }
  return Status();
}

}  // namespace

// VelocityCache's server environment, so that its deployments change only
// the binary. Applied after the config file and before CELLAR_* variables
// and flags, which win. README, "Coming from VelocityCache".
Status ApplyVelocityEnvironment(Config& c, const std::map<std::string, std::string>& env) {
  auto get = [&env](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  auto flag = [&c](const char* name, const std::string& value, const char* from) -> Status {
    const OptionDef* def = FindOption(name);
    return def->set(c, value).WithContext(from);
  };
  // A server configured the VelocityCache way serves VelocityCache's CLI:
  // its uploads need a 200, which /v1/proxy/blob/ URLs answer.
  for (const char* name : {"VC_PORT", "VC_AUTH_TOKEN", "VC_STORAGE_DRIVER", "VC_S3_BUCKET", "VC_S3_REGION",
                           "VC_S3_ENDPOINT", "VC_LOCAL_ROOT", "VC_BASE_URL", "VC_RETENTION_DAYS"}) {
    if (get(name)) {
      c.negotiate_urls = "velocity";
      break;
    }
  }
  if (auto port = get("VC_PORT")) CELLAR_RETURN_IF_ERROR(flag("listen", ":" + *port, "VC_PORT"));
  if (auto token = get("VC_AUTH_TOKEN")) {
    if (token->find_first_of(": \t;") != std::string::npos) {
      return Status::InvalidArgument("VC_AUTH_TOKEN: cellar tokens cannot contain ':', ';' or spaces");
    }
    // One shared secret, as VelocityCache has: read and write.
    CELLAR_RETURN_IF_ERROR(flag("token", "velocity:" + *token + ":read,write", "VC_AUTH_TOKEN"));
  }
  if (auto driver = get("VC_STORAGE_DRIVER")) {
    if (*driver != "local" && *driver != "s3") {
      return Status::InvalidArgument("VC_STORAGE_DRIVER: expected local or s3, got '" + *driver + "'");
    }
    CELLAR_RETURN_IF_ERROR(flag("storage", *driver, "VC_STORAGE_DRIVER"));
  }
  if (auto bucket = get("VC_S3_BUCKET")) CELLAR_RETURN_IF_ERROR(flag("s3-bucket", *bucket, "VC_S3_BUCKET"));
  if (auto region = get("VC_S3_REGION")) CELLAR_RETURN_IF_ERROR(flag("s3-region", *region, "VC_S3_REGION"));
  if (auto endpoint = get("VC_S3_ENDPOINT")) CELLAR_RETURN_IF_ERROR(flag("s3-endpoint", *endpoint, "VC_S3_ENDPOINT"));
  if (auto root = get("VC_LOCAL_ROOT")) CELLAR_RETURN_IF_ERROR(flag("data-dir", *root, "VC_LOCAL_ROOT"));
  if (auto base = get("VC_BASE_URL")) CELLAR_RETURN_IF_ERROR(flag("public-url", *base, "VC_BASE_URL"));
  if (auto days = get("VC_RETENTION_DAYS")) {
    auto n = ParseUint64(*days);
    if (!n) return Status::InvalidArgument("VC_RETENTION_DAYS: expected a number of days, got '" + *days + "'");
    CELLAR_RETURN_IF_ERROR(flag("ttl", std::to_string(*n) + "d", "VC_RETENTION_DAYS"));
  }
  return Status();
}

// OpenTelemetry's standard environment for the exporter, so a deployment
// that configures every service that way configures cellar too. Applied
// before CELLAR_* variables and flags, which win.
Status ApplyOtelEnvironment(Config& c, const std::map<std::string, std::string>& env) {
  auto get = [&env](const char* name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  auto flag = [&c](const char* name, const std::string& value, const char* from) -> Status {
    return FindOption(name)->set(c, value).WithContext(from);
  };
  if (auto url = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
    CELLAR_RETURN_IF_ERROR(flag("otlp-endpoint", *url, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
  } else if (auto base = get("OTEL_EXPORTER_OTLP_ENDPOINT")) {
    CELLAR_RETURN_IF_ERROR(flag("otlp-endpoint", *base, "OTEL_EXPORTER_OTLP_ENDPOINT"));
  }
  if (auto name = get("OTEL_SERVICE_NAME")) CELLAR_RETURN_IF_ERROR(flag("otlp-service-name", *name, "OTEL_SERVICE_NAME"));
  if (auto attrs = get("OTEL_RESOURCE_ATTRIBUTES")) {
    CELLAR_RETURN_IF_ERROR(flag("otlp-resource-attributes", *attrs, "OTEL_RESOURCE_ATTRIBUTES"));
  }
  if (auto ratio = get("OTEL_TRACES_SAMPLER_ARG")) {
    CELLAR_RETURN_IF_ERROR(flag("trace-sampling", *ratio, "OTEL_TRACES_SAMPLER_ARG"));
  }
  return Status();
}

Result<Config> LoadConfig(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env, bool* help) {
  *help = false;
  // Parse flags first into (flag, value) pairs so precedence can be applied.
  std::vector<std::pair<const OptionDef*, std::string>> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      *help = true;
      return Config{};
    }
    if (a.rfind("--", 0) != 0) return Status::InvalidArgument("unexpected argument '" + a + "'");
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const OptionDef* def = FindOption(name);
    if (!def) return Status::InvalidArgument("unknown option --" + name + " (see cellar serve --help)");
    if (!has_value && !def->is_bool) {
      if (i + 1 >= args.size()) return Status::InvalidArgument("--" + name + " needs a value");
      value = args[++i];
    }
    flags.emplace_back(def, value);
  }

  Config c;
  std::string config_file;
  if (auto it = env.find("CELLAR_CONFIG"); it != env.end()) config_file = it->second;
  for (const auto& [def, value] : flags) if (def->flag == "config") config_file = value;
  if (!config_file.empty()) CELLAR_RETURN_IF_ERROR(ApplyYaml(c, config_file));

  CELLAR_RETURN_IF_ERROR(ApplyVelocityEnvironment(c, env));
  CELLAR_RETURN_IF_ERROR(ApplyOtelEnvironment(c, env));
  for (const auto& def : Options()) {
    if (def.flag == "config") continue;
    if (auto it = env.find(EnvName(def.flag)); it != env.end()) {
      if (def.repeated) c.tokens.clear();  // the environment replaces file tokens
      CELLAR_RETURN_IF_ERROR(def.set(c, it->second).WithContext(EnvName(def.flag)));
    }
  }
  bool tokens_from_flags = false;
  for (const auto& [def, value] : flags) {
    if (def->repeated && !tokens_from_flags) {
      c.tokens.clear();  // flags replace tokens from the environment or file
      tokens_from_flags = true;
    }
    CELLAR_RETURN_IF_ERROR(def->set(c, value));
  }
  c.config_file = config_file;
  if (c.listen_any_host) {
    if (!c.tokens.empty() || c.allow_anonymous) {
      c.host = "0.0.0.0";
    } else {
      c.host = "127.0.0.1";
      c.warnings.push_back("--listen :" + std::to_string(c.port) +
                           " without tokens: listening on 127.0.0.1 only; give --token (or --allow-anonymous) "
                           "to serve other machines");
    }
  }
  CELLAR_RETURN_IF_ERROR(ResolveS3(c, env));
  if (c.low_watermark >= c.high_watermark) {
    return Status::InvalidArgument("low-watermark must be below high-watermark");
  }
  return c;
}

std::string ConfigHelp() {
  std::ostringstream out;
  out << "Usage: cellar serve [options]\n\n"
         "Runs the cache server. Options come from flags, then CELLAR_* environment\n"
         "variables, then the YAML file given by --config (flags win).\n\nOptions:\n";
  for (const auto& o : Options()) {
    out << "  --" << o.flag << (o.is_bool ? "[=BOOL]" : "=VALUE") << "\n      " << o.help
        << "\n      env " << EnvName(o.flag) << ", yaml " << YamlKey(o.flag) << ", default "
        << o.default_text << "\n";
  }
  return out.str();
}

Status CheckExposure(const Config& config) {
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(config.host, ec);
  if (ec) return Status::InvalidArgument("bad listen address " + config.host);
  if (addr.is_loopback() || !config.tokens.empty() || config.allow_anonymous) return Status();
  return Status::InvalidArgument(
      "refusing to listen on " + config.host +
      " without any token: configure --token or pass --allow-anonymous explicitly");
}

}  // namespace cellar::server
