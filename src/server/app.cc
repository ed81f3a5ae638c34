#include "server/app.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "auth/authenticator.h"
#include "auth/url_signer.h"
#include "base/log.h"
#include "base/strings.h"
#include "core/cache_metrics.h"
#include "core/cache_service.h"
#include "env/clock.h"
#include "http/offload.h"
#include "http/router.h"
#include "http/server.h"
#include "index/sqlite_index.h"
#include "metrics/metrics.h"
#include "protocols/bazel/bazel_adapter.h"
#include "protocols/ccache/ccache_adapter.h"
#include "protocols/gradle/gradle_adapter.h"
#include "protocols/git/git_adapter.h"
#include "protocols/git/mirror_publisher.h"
#include "protocols/git/mirror_store.h"
#include "protocols/git/shared_tier.h"
#include "redis/document_versions.h"
#include "redis/fleet_lock.h"
#include "redis/hiredis_client.h"
#include "redis/hot_entries.h"
#include "redis/leases.h"
#include "protocols/goproxy/checksum_db.h"
#include "protocols/goproxy/goproxy_adapter.h"
#include "protocols/goproxy/sumdb_proxy.h"
#include "protocols/negotiate/negotiate_adapter.h"
#include "protocols/negotiate/velocity_proxy_adapter.h"
#include "protocols/npm/npm_adapter.h"
#include "protocols/nx/nx_adapter.h"
#include "protocols/sccache/sccache_adapter.h"
#include "protocols/turbo/turbo_adapter.h"
#include "env/curl_http_client.h"
#include "server/dashboard_routes.h"
#include "server/history_observer.h"
#include "stats/history.h"
#include "trace/otlp_exporter.h"
#include "trace/traced_http_client.h"
#include "trace/tracer.h"
#include "env/process_runner.h"
#include "core/filler.h"
#include "server/background_scrub.h"
#include "server/bucket_maintenance.h"
#include "server/fleet_stats_reporter.h"
#include "server/ops_routes.h"
#include "server/node_id.h"
#include "server/reachability_probe.h"
#include "server/s3_storage.h"
#include "store/fs_blob_store.h"
#include "store/s3/s3_config.h"

namespace cellar::server {

namespace asio = boost::asio;
using asio::awaitable;

// Fleet-wide single-flight for pull-through fills (core/fleet_fill_lock.h)
// over the Redis leases that the git tier uses.
class RedisFillLock final : public core::FleetFillLock {
 public:
  RedisFillLock(redis::Leases& leases, redis::FleetLockOptions options) : lock_(leases, options) {}
  Hold Acquire(const std::string& key) override {
    redis::FleetLock::Hold held = lock_.Acquire(key);
    return Hold{std::move(held.lease), held.waited};
  }
  void Stop() { lock_.Stop(); }

 private:
  redis::FleetLock lock_;
};

// Declaration order is construction order; destruction runs in reverse, so
// the server stops before the cache, index and store go away.
struct App::Parts {
  // --otlp-endpoint: declared first so they outlive everything that
  // records spans (the server, adapters, fills).
  std::unique_ptr<env::CurlHttpClient> otlp_client;
  std::unique_ptr<trace::Tracer> tracer;
  // The dashboard's history: fed by the server and the upstream client,
  // so it outlives both.
  std::unique_ptr<stats::History> history;
  std::unique_ptr<HistoryObserver> history_observer;
  std::unique_ptr<stats::HealthRecordingClient> recording_client;
  std::unique_ptr<Ticker> history_flusher;  // moves finished minutes to <data-dir>/stats.db
  Config config;
  env::SystemClock clock;
  env::SystemProcessRunner process_runner;  // git; outlives everything that runs it
  metrics::Registry registry;
  std::unique_ptr<store::FsBlobStore> blobs;  // the data dir; with --storage s3 its local tier
  // Redis before the bucket: the bucket's shared entries keep copies in it.
  std::unique_ptr<redis::HiredisClient> redis;  // --redis-url
  std::unique_ptr<redis::RedisLeases> redis_leases;
  std::unique_ptr<redis::FleetLock> fleet_lock;
  std::unique_ptr<redis::RedisHotEntries> hot_entries;  // --storage s3 with --redis-url
  std::unique_ptr<S3Storage> s3;              // --storage s3: the bucket behind `blobs`
  std::unique_ptr<ReachabilityProbe> bucket_probe;  // --storage s3: for /readyz
  std::string node_id;
  std::unique_ptr<index::SqliteIndex> index;
  std::unique_ptr<core::CacheMetrics> cache_metrics;
  std::unique_ptr<core::CacheService> cache;
  std::unique_ptr<BackgroundScrub> scrub;  // --scrub-rate; reads the store
  std::unique_ptr<auth::Authenticator> auth;
  std::unique_ptr<auth::UrlSigner> url_signer;
  std::unique_ptr<asio::thread_pool> workers;
  std::unique_ptr<asio::thread_pool> upstream_waits;
  std::unique_ptr<protocols::ProtocolContext> ctx;
  std::unique_ptr<env::CurlHttpClient> http_client;
  // What the adapters call upstreams through: http_client, or it wrapped to
  // record spans and send traceparent when tracing is on.
  env::HttpClient* upstream_client = nullptr;
  std::unique_ptr<trace::TracedHttpClient> traced_client;
  std::unique_ptr<goproxy::GoMetrics> go_metrics;
  std::unique_ptr<goproxy::FreshDocuments> go_documents;
  std::unique_ptr<npm::NpmMetrics> npm_metrics;
  std::unique_ptr<git::GitMetrics> git_metrics;
  std::unique_ptr<RedisFillLock> fill_lock;  // --storage s3 with --redis-url: fleet-wide fills
  std::unique_ptr<redis::FleetStats> fleet_stats;  // --redis-url
  std::unique_ptr<FleetStatsReporter> fleet_reporter;
  std::string redis_prefix;  // "cellar:<bucket>/<prefix>:" (or the data dir): one fleet's keys
  std::unique_ptr<redis::RedisAccessTally> access_tally;  // --storage s3 with --redis-url
  std::unique_ptr<redis::RedisDocumentVersions> document_versions;  // --redis-url
  std::unique_ptr<index::BucketEvictor> bucket_evictor;   // --bucket-max-size / --bucket-ttl
  std::unique_ptr<BucketMaintenance> bucket_maintenance;
  std::unique_ptr<git::SharedGitTier> git_shared_tier;  // --storage s3
  std::unique_ptr<git::MirrorStore> git_mirrors;
  std::unique_ptr<git::MirrorPublisher> git_publisher;  // stopped before the mirrors go
  std::unique_ptr<git::Warmer> git_warmer;  // stopped before the mirrors go
  std::vector<std::unique_ptr<protocols::ProtocolAdapter>> adapters;
  // After the adapters: fills in progress call back into them, so the
  // filler (which waits for its fills) must go first.
  std::unique_ptr<core::Filler> filler;
  http::Router router;
  std::unique_ptr<http::Server> server;
};

namespace {

LogLevel ParseLevel(const std::string& s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "warn") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}

Status EnsureDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Unavailable("cannot create " + dir + ": " + ec.message());
  return Status();
}

// The file system holding the data dir, for the store's size limit (an
// unreadable answer leaves only --max-size).
std::optional<core::DiskSpace> DiskSpaceOf(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return std::nullopt;
  return core::DiskSpace{static_cast<uint64_t>(st.f_bavail) * st.f_frsize,
                         static_cast<uint64_t>(st.f_blocks) * st.f_frsize};
}

// Periodic maintenance on the worker pool: flush batched access times every
// second, run eviction every eviction-interval.
awaitable<void> MaintenanceLoop(App* /*unused*/, core::CacheService& cache,
                                asio::thread_pool& workers, int64_t eviction_interval_ms,
                                http::Server& server) {
  auto exec = co_await asio::this_coro::executor;
  asio::steady_timer timer(exec);
  int64_t since_eviction = eviction_interval_ms;  // run once at start-up
  while (!server.draining()) {
    if (since_eviction >= eviction_interval_ms) {
      since_eviction = 0;
      auto report = co_await http::RunBlocking(workers, [&cache] { return cache.RunEviction(); });
      if (!report.ok()) {
        Log(LogLevel::kError, "eviction failed", "\"error\":\"" + JsonEscape(report.error().ToString()) + "\"");
      } else if (report->entries_evicted || report->entries_expired || report->blobs_removed) {
        Log(LogLevel::kInfo, "eviction",
            "\"evicted\":" + std::to_string(report->entries_evicted) +
                ",\"expired\":" + std::to_string(report->entries_expired) +
                ",\"blobs_removed\":" + std::to_string(report->blobs_removed) +
                ",\"bytes_removed\":" + std::to_string(report->bytes_removed) +
                ",\"stored_bytes\":" + std::to_string(report->stored_bytes_after));
      }
    } else {
      Status s = co_await http::RunBlocking(workers, [&cache] { return cache.Flush(); });
      if (!s.ok()) Log(LogLevel::kError, "index flush failed", "\"error\":\"" + JsonEscape(s.ToString()) + "\"");
    }
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    since_eviction += 1000;
  }
}

// Opens the data dir's index before anything else touches the dir: its lock
// says whether a cellar serves it, and opening the blob store clears tmp/,
// which would destroy that server's uploads in flight.
Result<std::unique_ptr<index::SqliteIndex>> OpenDataDirIndex(const std::string& data_dir,
                                                            index::SqliteIndex::Options options,
                                                            const std::string& when_in_use) {
  auto opened = index::SqliteIndex::Open(data_dir + "/index.db", std::move(options));
  if (!opened.ok() && opened.error().code() == Code::kUnavailable) {
    return opened.error().WithContext("index " + data_dir + "/index.db is in use (" + when_in_use + ")");
  }
  return opened;
}

}  // namespace

App::App(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

App::~App() {
  if (!parts_) return;
  if (parts_->fleet_lock) parts_->fleet_lock->Stop();  // no worker waits on another node from here on
  if (parts_->fill_lock) parts_->fill_lock->Stop();
  if (parts_->s3) parts_->s3->StopUploads();  // its threads call into the cache
  parts_->server.reset();
  if (parts_->workers) parts_->workers->join();
  if (parts_->upstream_waits) parts_->upstream_waits->join();
}

// The Go module proxy and its checksum-database proxy (which verifies the
// proxy's downloads).
Status App::AddGoAdapters(const Config& config, Parts& p) {
  goproxy::SumdbOptions sumdb_options;
  CELLAR_ASSIGN_OR_RETURN(sumdb_options.databases, goproxy::ParseSumdbList(config.go_sumdb));
  CELLAR_ASSIGN_OR_RETURN(auto go_routes, goproxy::ParseModuleRoutes(config.go_routes));
  CELLAR_ASSIGN_OR_RETURN(auto nosumdb_flag, goproxy::ModulePatterns::Parse(config.go_nosumdb));
  auto nosumdb = goproxy::SumdbExemptModules(nosumdb_flag, go_routes);
  sumdb_options.private_modules = nosumdb;
  sumdb_options.max_age_ms = config.go_list_max_age_ms;

  goproxy::GoproxyOptions go_options;
  CELLAR_ASSIGN_OR_RETURN(go_options.upstreams, goproxy::ParseUpstreamList(config.go_upstream));
  go_options.routes = std::move(go_routes);
  go_options.list_max_age_ms = config.go_list_max_age_ms;
  go_options.negative_ttl_ms = config.go_negative_ttl_ms;
  go_options.stream_threshold_bytes = config.go_stream_threshold_bytes;
  go_options.nosumdb = nosumdb;
  go_options.verify_with_sumdb = config.go_verify;
  if (config.go_verify && sumdb_options.databases.empty()) {
    return Status::InvalidArgument("--go-verify needs a checksum database (--go-sumdb), or set --go-verify=false");
  }

  p.go_metrics = std::make_unique<goproxy::GoMetrics>(p.registry);
  p.go_documents = std::make_unique<goproxy::FreshDocuments>(*p.ctx);
  auto sumdb = std::make_unique<goproxy::SumdbProxy>(*p.ctx, *p.upstream_client, *p.filler, *p.go_documents,
                                                     *p.go_metrics, std::move(sumdb_options));
  auto go = std::make_unique<goproxy::GoproxyAdapter>(*p.ctx, *p.upstream_client, *p.filler, *p.go_documents, *sumdb,
                                                      *p.go_metrics, std::move(go_options));
  p.adapters.push_back(std::move(sumdb));
  p.adapters.push_back(std::move(go));
  return Status();
}

Status App::AddNpmAdapter(const Config& config, Parts& p) {
  npm::NpmOptions options;
  CELLAR_ASSIGN_OR_RETURN(options.upstream, npm::ParseUpstream(config.npm_upstream));
  CELLAR_ASSIGN_OR_RETURN(options.scope_routes, npm::ParseScopeRoutes(config.npm_routes));
  options.public_url = config.public_url;
  options.negative_ttl_ms = config.npm_negative_ttl_ms;
  options.audit = config.npm_audit;
  options.documents.max_age_ms = config.npm_max_age_ms;
  p.npm_metrics = std::make_unique<npm::NpmMetrics>(p.registry);
  p.adapters.push_back(std::make_unique<npm::NpmAdapter>(*p.ctx, *p.upstream_client, *p.filler, *p.npm_metrics,
                                                         std::move(options)));
  return Status();
}

// The tiers beyond the local disk, for the dashboard's fleet page: where the
// bucket and Redis are (credentials removed), never the secrets.
static nlohmann::json StorageTiersJson(const Config& config) {
  nlohmann::json tiers = nlohmann::json::object();
  if (config.storage == "s3") {
    tiers["shared"] = {{"kind", "s3"},
                       {"endpoint", env::RedactUrl(config.s3_endpoint)},
                       {"bucket", config.s3_bucket},
                       {"prefix", config.s3_prefix},
                       {"upload", config.s3_upload}};
  }
  if (!config.redis_url.empty()) tiers["coordination"] = {{"kind", "redis"}, {"url", env::RedactUrl(config.redis_url)}};
  return tiers;
}

Status App::SetUpHistory(const Config& config, Parts& p) {
  CELLAR_ASSIGN_OR_RETURN(auto db, stats::StatsDb::Open(config.data_dir + "/stats.db"));
  p.history = std::make_unique<stats::History>(std::move(db), [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  });
  p.history_observer = std::make_unique<HistoryObserver>(*p.history);
  p.recording_client = std::make_unique<stats::HealthRecordingClient>(*p.upstream_client, p.history->upstreams(),
                                                                      p.history->tally());
  p.upstream_client = p.recording_client.get();
  p.history_flusher = std::make_unique<Ticker>(std::chrono::seconds(60), Ticker::First::kAfterAnInterval,
                                               [history = p.history.get()] {
                                                 Status s = history->Flush(/*all=*/false);
                                                 if (!s.ok()) {
                                                   Log(LogLevel::kWarn, "stats history flush failed",
                                                       "\"error\":\"" + JsonEscape(s.ToString()) + "\"");
                                                 }
                                               });
  return Status();
}

void App::SetUpTracing(const Config& config, Parts& p) {
  if (config.otlp_endpoint.empty()) return;
  trace::Resource resource;
  resource.service_name = config.otlp_service_name;
  resource.scope_version = CELLAR_VERSION;
  resource.attributes.emplace_back("service.version", CELLAR_VERSION);
  if (!p.node_id.empty()) resource.attributes.emplace_back("service.instance.id", p.node_id);
  for (std::string_view item : SplitView(config.otlp_resource_attributes, ',')) {
    auto eq = item.find('=');
    if (eq == std::string_view::npos) continue;  // validated by the config
    resource.attributes.emplace_back(std::string(TrimWhitespace(item.substr(0, eq))),
                                     std::string(TrimWhitespace(item.substr(eq + 1))));
  }
  p.otlp_client = std::make_unique<env::CurlHttpClient>();
  trace::TracerOptions options;
  options.sampling_ratio = config.trace_sampling;
  p.tracer = std::make_unique<trace::Tracer>(
      options,
      std::make_unique<trace::OtlpHttpExporter>(*p.otlp_client, trace::OtlpTracesUrl(config.otlp_endpoint),
                                                std::move(resource)),
      p.registry);
  p.traced_client = std::make_unique<trace::TracedHttpClient>(*p.upstream_client);
  p.upstream_client = p.traced_client.get();
  Log(LogLevel::kInfo, "tracing on",
      "\"otlp\":\"" + JsonEscape(env::RedactUrl(trace::OtlpTracesUrl(config.otlp_endpoint))) +
          "\",\"sampling\":" + std::to_string(config.trace_sampling));
}

Status App::AddNegotiateAdapter(const Config& config, Parts& p) {
  std::string key = config.signing_key;
  if (key.empty()) {
    CELLAR_ASSIGN_OR_RETURN(key, auth::LoadOrCreateSigningKey(config.data_dir + "/signing.key"));
  } else if (key.size() < 16) {
    return Status::InvalidArgument("--signing-key must be at least 16 bytes");
  }
  p.url_signer = std::make_unique<auth::UrlSigner>(key);
  negotiate::NegotiateOptions options;
  options.public_url = config.public_url;
  options.url_ttl_s = std::max<int64_t>(1, config.signed_url_ttl_ms / 1000);
  if (config.negotiate_urls == "velocity") options.blob_url_path = "/v1/proxy/blob/";
  if (p.s3) options.direct = &p.s3->direct();
  p.adapters.push_back(
      std::make_unique<negotiate::NegotiateAdapter>(*p.ctx, *p.url_signer, std::move(options), p.registry));
  p.adapters.push_back(std::make_unique<negotiate::VelocityProxyAdapter>(*p.ctx, *p.url_signer, p.registry));
  return Status();
}

// Fleet mode's bucket upkeep: hits tallied fleet-wide (with Redis) and the
// bucket's own limits (index/s3/bucket_evictor.h).
Status App::SetUpBucketUpkeep(const Config& config, Parts& p, core::CacheOptions& cache_options) {
  const bool limits = config.bucket_max_bytes > 0 || config.bucket_ttl_ms > 0;
  if (!p.s3) {
    if (limits) return Status::InvalidArgument("--bucket-max-size and --bucket-ttl need --storage s3");
    return Status();
  }
  if (p.redis) {
    p.access_tally = std::make_unique<redis::RedisAccessTally>(*p.redis, p.redis_prefix, p.clock);
    cache_options.on_hit = [tally = p.access_tally.get(), manifests = &p.s3->manifests(),
                            clock = &p.clock](const index::Entry& e) {
      tally->Record(manifests->ObjectKey(e.ns, e.key), clock->NowUnixMs());
    };
  }
  if (limits) {
    index::BucketEvictionOptions options;
    options.prefix = p.s3->prefix();
    options.max_bytes = config.bucket_max_bytes;
    options.ttl_ms = config.bucket_ttl_ms;
    options.gc_grace_ms = config.bucket_gc_grace_ms;
    options.policy = config.bucket_eviction == "size-and-age" ? index::BucketEvictionPolicy::kSizeAndAge
                                                              : index::BucketEvictionPolicy::kLeastRecentlyUsed;
    p.bucket_evictor =
        std::make_unique<index::BucketEvictor>(p.s3->client(), p.access_tally.get(), p.clock, options,
                                               p.hot_entries.get());
  }
  if (p.access_tally || p.bucket_evictor) {
    BucketMaintenanceOptions options;
    options.flush_every = std::chrono::milliseconds(std::max<int64_t>(config.fleet_stats_interval_ms, 100));
    options.evict_every = std::chrono::milliseconds(std::max<int64_t>(config.bucket_eviction_interval_ms, 100));
    p.bucket_maintenance = std::make_unique<BucketMaintenance>(p.access_tally.get(), p.bucket_evictor.get(),
                                                               p.redis_leases.get(), p.registry, options);
  }
  return Status();
}

// Redis is optional even when configured: a Redis that does not answer at
// start-up is a warning (the node works alone until it does), a malformed
// URL an error.
Status App::ConnectRedis(const Config& config, Parts& p) {
  CELLAR_ASSIGN_OR_RETURN(redis::RedisUrl url, redis::ParseRedisUrl(config.redis_url));
  const std::string shown = url.Display();
  p.redis = std::make_unique<redis::HiredisClient>(std::move(url), redis::HiredisOptions{}, p.clock);
  // Keys of different fleets sharing one Redis stay apart: the bucket and
  // prefix name the fleet.
  const bool shared_bucket = config.storage == "s3";  // ConnectRedis runs before the bucket is opened
  std::string fleet = shared_bucket ? config.s3_bucket + "/" + config.s3_prefix : config.data_dir;
  p.redis_prefix = "cellar:" + fleet + ":";
  p.redis_leases = std::make_unique<redis::RedisLeases>(*p.redis, p.redis_prefix);
  redis::FleetLockOptions lock_options;
  lock_options.max_wait = std::chrono::milliseconds(config.git_fetch_timeout_ms);
  p.fleet_lock = std::make_unique<redis::FleetLock>(*p.redis_leases, lock_options);
  // Revalidated mutable documents: the others stop serving an older copy.
  p.document_versions = std::make_unique<redis::RedisDocumentVersions>(*p.redis, p.redis_prefix);
  if (shared_bucket && config.redis_entry_ttl_ms > 0) {
    p.hot_entries = std::make_unique<redis::RedisHotEntries>(*p.redis, p.redis_prefix,
                                                             std::chrono::milliseconds(config.redis_entry_ttl_ms));
  }
  if (shared_bucket) {
    // A waiting node serves what the holder published, which needs the
    // bucket's shared entries: fills take fleet leases only with S3.
    redis::FleetLockOptions fill_options;
    fill_options.max_wait = std::chrono::minutes(2);  // then fetch it too: a stuck holder must not stall builds
    p.fill_lock = std::make_unique<RedisFillLock>(*p.redis_leases, fill_options);
  }
  // Every node's totals, for the fleet's in /api/v1/stats and /metrics.
  const auto interval = std::chrono::milliseconds(std::max<int64_t>(config.fleet_stats_interval_ms, 100));
  p.fleet_stats = std::make_unique<redis::FleetStats>(*p.redis, p.redis_prefix, 3 * interval, p.clock);
  p.fleet_reporter = std::make_unique<FleetStatsReporter>(
      *p.fleet_stats,
      [&p]() -> Result<redis::NodeTotals> {
        CELLAR_ASSIGN_OR_RETURN(index::Totals totals, p.cache->index().GetTotals());
        return redis::NodeTotals{p.node_id, totals.entries, totals.blobs, totals.stored_bytes,
                                 p.cache->options().max_bytes, 0};
      },
      p.registry, interval);
  auto& up = p.registry.AddGauge("cellar_redis_up", "1 while Redis answers, 0 while this node works without it.", {});
  redis::HiredisClient* client = p.redis.get();
  p.registry.AddCollectHook([&up, client] { up.With({}).Set(client->is_up() ? 1 : 0); });
  Result<redis::Reply> ping = p.redis->Command({"PING"});
  if (ping.ok()) {
    Log(LogLevel::kInfo, "redis connected", "\"redis\":\"" + JsonEscape(shown) + "\"");
  } else {
    Log(LogLevel::kWarn, "redis not reachable at start-up; working without it until it is",
        "\"error\":\"" + JsonEscape(ping.error().ToString()) + "\"");
  }
  return Status();
}

Status App::AddGitAdapter(const Config& config, Parts& p) {
  git::MirrorOptions mirror_options;
  mirror_options.root = config.data_dir + "/git";
  mirror_options.fetch_timeout = std::chrono::milliseconds(config.git_fetch_timeout_ms);
  mirror_options.max_bytes = config.git_max_size_bytes;
  mirror_options.eviction_policy = config.git_eviction == "size-and-age" ? git::MirrorEvictionPolicy::kSizeAndAge
                                                                         : git::MirrorEvictionPolicy::kLeastRecentlyUsed;
  mirror_options.max_age_ms = config.git_max_age_ms;
  p.git_metrics = std::make_unique<git::GitMetrics>(p.registry);
  git::GitMetrics* m = p.git_metrics.get();
  mirror_options.on_upstream_run = [m](bool ok, double seconds, uint64_t grown_bytes) {
    m->upstream_fetches.With({ok ? "ok" : "error"}).Inc();
    m->upstream_fetch_seconds.With({}).Observe(seconds);
    m->bytes_fetched.With({}).Inc(grown_bytes);
  };
  mirror_options.on_evicted = [m] { m->evictions.With({}).Inc(); };
  if (p.s3) {
    // Fleet mode: mirrors are shared through the bucket (docs/protocols/git.md, "Shared tier").
    git::SharedTierOptions tier_options;
    tier_options.tmp_dir = mirror_options.root + "/tmp";
    tier_options.git_timeout = mirror_options.fetch_timeout;
    tier_options.git_env = git::MirrorStore::GitEnvFor(mirror_options.root, "", "");
    p.git_shared_tier = std::make_unique<git::SharedGitTier>(p.s3->bucket_blobs(), p.s3->documents(), p.process_runner,
                                                             tier_options);
    mirror_options.shared_tier = p.git_shared_tier.get();
    Parts* parts = &p;
    mirror_options.on_changed = [parts](const std::string& repo_key, std::shared_ptr<void> keep) {
      if (parts->git_publisher) parts->git_publisher->Schedule(repo_key, std::move(keep));
    };
    if (p.access_tally) {
      // The bucket's eviction ranks a mirror's copy by the clones every node
      // serves from its own mirror of the repository.
      mirror_options.on_use = [tally = p.access_tally.get(), documents = s3::KeyPrefix(p.s3->prefix()) + "documents/",
                               clock = &p.clock](const std::string& repo_key) {
        tally->Record(documents + git::SharedGitTier::ManifestName(repo_key), clock->NowUnixMs());
      };
    }
    mirror_options.on_restored = [m](bool ok, uint64_t bytes) {
      m->shared_tier.With({"restore", ok ? "ok" : "error"}).Inc();
      m->shared_tier_bytes.With({"restore"}).Inc(bytes);
    };
  }
  mirror_options.fleet_lock = p.fleet_lock.get();
  mirror_options.ref_versions = p.document_versions.get();  // --redis-url: refs another node fetched
  p.git_mirrors = std::make_unique<git::MirrorStore>(mirror_options, p.process_runner);
  CELLAR_RETURN_IF_ERROR(p.git_mirrors->Init());
  if (p.git_shared_tier) {
    p.git_publisher = std::make_unique<git::MirrorPublisher>(
        *p.git_shared_tier, *p.git_mirrors, [m](bool ok, const git::PublishResult& result) {
          m->shared_tier.With({"publish", ok ? "ok" : "error"}).Inc();
          m->shared_tier_bytes.With({"publish"}).Inc(result.bundle_bytes);
        });
  }
  git::GitOptions options;
  options.upstream_scheme = config.git_upstream_scheme;
  for (auto host : SplitView(config.git_allowed_hosts, ',')) {
    host = TrimWhitespace(host);
    if (!host.empty()) options.allowed_hosts.push_back(ToLower(host));
  }
  options.serve_stale = config.git_serve_stale;
  options.ref_ttl_ms = config.git_ref_ttl_ms;
  options.max_stale_ms = config.git_max_stale_ms;
  options.auth_ttl_ms = config.git_auth_ttl_ms;
  options.max_pack_generations = config.git_max_packs;
  auto adapter = std::make_unique<git::GitAdapter>(*p.ctx, *p.upstream_client, p.process_runner, *p.git_mirrors, options,
                                                   *p.git_metrics, p.registry);
  if (!config.git_warmup_file.empty()) {
    CELLAR_ASSIGN_OR_RETURN(auto warmup, git::LoadWarmupConfig(config.git_warmup_file));
    // With Redis, the nodes' start-up and scheduled runs split the list.
    p.git_warmer = std::make_unique<git::Warmer>(
        *p.git_mirrors, options.allowed_hosts, std::move(warmup),
        [m](const git::WarmupResult& r) { m->warmups.With({r.skipped ? "skipped" : r.ok ? "ok" : "error"}).Inc(); },
        p.redis_leases.get());
    adapter->set_warmer(p.git_warmer.get());
    p.git_warmer->Start();
  }
  p.adapters.push_back(std::move(adapter));
  return Status();
}

Result<std::unique_ptr<App>> App::Create(const Config& config) {
  CELLAR_RETURN_IF_ERROR(CheckExposure(config));
  SetMinLogLevel(ParseLevel(config.log_level));
  for (const std::string& warning : config.warnings) Log(LogLevel::kWarn, warning, "");
  auto p = std::make_unique<Parts>();
  p->config = config;
  p->node_id = ResolveNodeId(config.node_id, config.data_dir);
  SetLogNode(p->node_id);
  p->registry.AddGauge("cellar_node_info", "1, labelled with this node's name (--node-id).", {"node"})
      .With({p->node_id})
      .Set(1);
  CELLAR_RETURN_IF_ERROR(EnsureDir(config.data_dir));

  index::SqliteIndex::Options index_options;
  index_options.now_ms = [clock = &p->clock] { return clock->NowUnixMs(); };
  index_options.exclusive = true;  // one server per data dir; cheaper reads
  CELLAR_ASSIGN_OR_RETURN(p->index, OpenDataDirIndex(config.data_dir, std::move(index_options),
                                                     "is another cellar running on this data dir?"));
  store::FsBlobStore::Options store_options;
  store_options.root = config.data_dir;
  store_options.compress = config.compress;
  // With asynchronous uploads a blob's local copy is its only copy until the
  // outbox drains, and the outbox record is fsynced with its directory: the
  // blob's name must be as durable as the record naming it.
  store_options.sync_directories = config.sync_dirs || config.s3_upload == "async";
  CELLAR_ASSIGN_OR_RETURN(p->blobs, store::FsBlobStore::Open(store_options));
  // Redis first: the bucket's shared entries keep copies of manifests in it.
  if (!config.redis_url.empty()) CELLAR_RETURN_IF_ERROR(ConnectRedis(config, *p));
  if (config.storage == "s3") {
    CELLAR_ASSIGN_OR_RETURN(p->s3, S3Storage::Open(config, *p->blobs, p->clock, config.data_dir + "/tmp", p->registry,
                                                   p->hot_entries.get()));
    p->bucket_probe = std::make_unique<ReachabilityProbe>([s3 = p->s3.get()] { return s3->CheckReachable(); },
                                                          p->clock, std::chrono::seconds(5));
  }
  store::BlobStore& blob_store = p->s3 ? p->s3->store() : static_cast<store::BlobStore&>(*p->blobs);

  core::CacheOptions cache_options;
  cache_options.max_bytes = config.max_size_bytes;
  cache_options.high_watermark = config.high_watermark;
  cache_options.low_watermark = config.low_watermark;
  cache_options.ttl_ms = config.ttl_ms;
  cache_options.gc_grace_ms = config.gc_grace_ms;
  cache_options.document_fill_lock = p->fill_lock.get();  // --storage s3 with --redis-url
  cache_options.disk_space = [dir = config.data_dir] { return DiskSpaceOf(dir); };
  if (p->s3) cache_options.shared_entries = &p->s3->entries();
  cache_options.document_versions = p->document_versions.get();
  CELLAR_RETURN_IF_ERROR(SetUpBucketUpkeep(config, *p, cache_options));
  // The history is set up after the cache (it wraps the upstream client);
  // evictions run on workers and tickers that start later still.
  cache_options.on_evict = [history = &p->history](const index::Entry& e, std::string_view) {
    if (!*history) return;
    stats::Counts c;
    c.requests = 1;
    c.bytes_out = e.size;
    (*history)->tally().Record(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count(),
                               stats::kEvictionRoute, e.ns, c);
  };
  p->cache_metrics = std::make_unique<core::CacheMetrics>(p->registry);
  p->cache = std::make_unique<core::CacheService>(blob_store, *p->index, p->clock,
                                                  *p->cache_metrics, cache_options);
  // Store gauges are refreshed at every scrape (one aggregate query), so
  // /metrics never lags behind uploads.
  p->registry.AddCollectHook([index = p->index.get(), m = p->cache_metrics.get()] {
    auto totals = index->GetTotals();
    if (!totals.ok()) return;
    m->store_bytes.With({}).Set(static_cast<double>(totals->stored_bytes));
    m->store_blobs.With({}).Set(static_cast<double>(totals->blobs));
    m->store_entries.With({}).Set(static_cast<double>(totals->entries));
  });
  AddQuarantineMetric(p->registry, *p->blobs);
  if (config.scrub_rate_bytes > 0) {
    p->scrub = std::make_unique<BackgroundScrub>(*p->blobs, p->registry, config.scrub_rate_bytes);
  }
  p->auth = std::make_unique<auth::Authenticator>(config.tokens, config.anonymous_scopes);
  p->workers = std::make_unique<asio::thread_pool>(config.worker_threads);
  p->upstream_waits = std::make_unique<asio::thread_pool>(config.upstream_threads);
  p->ctx = std::make_unique<protocols::ProtocolContext>(protocols::ProtocolContext{
      *p->cache, *p->workers, *p->auth, config.max_entry_bytes, p->upstream_waits.get()});

  p->adapters.push_back(std::make_unique<bazel::BazelAdapter>(
      *p->ctx, bazel::BazelOptions{.validate_ac = config.bazel_validate_ac}));
  p->adapters.push_back(std::make_unique<ccache::CcacheAdapter>(*p->ctx));
  p->adapters.push_back(std::make_unique<gradle::GradleAdapter>(*p->ctx));
  p->adapters.push_back(std::make_unique<turbo::TurboAdapter>(
      *p->ctx, turbo::TurboOptions{.default_team = config.turbo_default_team}, p->registry));
  p->adapters.push_back(std::make_unique<nx::NxAdapter>(*p->ctx, p->registry));
  p->adapters.push_back(std::make_unique<sccache::SccacheAdapter>(*p->ctx));
  CELLAR_RETURN_IF_ERROR(AddNegotiateAdapter(config, *p));
  p->http_client = std::make_unique<env::CurlHttpClient>();
  p->upstream_client = p->http_client.get();
  CELLAR_RETURN_IF_ERROR(SetUpHistory(config, *p));
  SetUpTracing(config, *p);
  p->filler = std::make_unique<core::Filler>(*p->cache, config.data_dir + "/tmp", p->fill_lock.get());
  CELLAR_RETURN_IF_ERROR(AddGoAdapters(config, *p));
  CELLAR_RETURN_IF_ERROR(AddNpmAdapter(config, *p));
  CELLAR_RETURN_IF_ERROR(AddGitAdapter(config, *p));
  for (auto& a : p->adapters) a->RegisterRoutes(p->router);

  http::ServerOptions server_options;
  server_options.host = config.host;
  server_options.port = config.port;
  server_options.io_threads = config.io_threads > 0
                                  ? config.io_threads
                                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  server_options.max_body_bytes = 0;  // adapters enforce max-entry-size
  server_options.header_timeout = std::chrono::milliseconds(config.header_timeout_ms);
  server_options.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  server_options.keepalive_timeout = std::chrono::milliseconds(config.keepalive_timeout_ms);
  server_options.drain_timeout = std::chrono::milliseconds(config.drain_timeout_ms);
  server_options.access_log = config.access_log;
  server_options.max_connections = static_cast<size_t>(config.max_connections);
  server_options.min_body_rate = config.min_body_rate_bytes;
  server_options.tracer = p->tracer.get();
  server_options.observer = p->history_observer.get();
  p->server = std::make_unique<http::Server>(server_options, p->router, p->registry);
  auto* server = p->server.get();
  DashboardSources sources;
  sources.mirrors = p->git_mirrors.get();
  sources.warmer = p->git_warmer.get();
  sources.fleet = p->fleet_reporter.get();
  sources.node_id = p->node_id;
  sources.tiers = StorageTiersJson(config);
  RegisterDashboardRoutes(p->router, *p->ctx, *p->history, std::move(sources));
  RegisterOpsRoutes(p->router, *p->ctx, p->registry,
                    OpsOptions{[server] { return server->draining(); }, p->node_id, p->bucket_probe.get(),
                               p->fleet_reporter.get()});
  return std::unique_ptr<App>(new App(std::move(p)));
}

Status App::Start() {
  auto& p = *parts_;
  CELLAR_RETURN_IF_ERROR(p.server->Listen());
  p.history_flusher->Start();
  if (p.scrub) p.scrub->Start();
  if (p.fleet_reporter) p.fleet_reporter->Start();
  if (p.bucket_maintenance) p.bucket_maintenance->Start();
  // Blobs committed just before a crash but never indexed are adopted so
  // GC can reclaim them; done in the background because it walks the store.
  asio::post(*p.workers, [&p] {
    auto adopted = p.cache->AdoptOrphanBlobs();
    if (!adopted.ok()) {
      Log(LogLevel::kError, "orphan scan failed", "\"error\":\"" + JsonEscape(adopted.error().ToString()) + "\"");
    } else if (*adopted > 0) {
      Log(LogLevel::kInfo, "adopted orphan blobs", "\"count\":" + std::to_string(*adopted));
    }
  });
  if (p.s3) {
    // An entry of this node that lost its create-only publish to other bytes
    // is dropped here, so the next lookup serves the fleet's winner.
    p.s3->StartUploads([cache = p.cache.get()](const index::Entry& ours) {
      (void)cache->DropLocalEntry(ours.ns, ours.key, ours.digest);
    });
    asio::post(*p.workers, [&p] {
      auto aborted = p.s3->AbortStaleUploads();
      if (!aborted.ok()) {
        Log(LogLevel::kWarn, "aborting stale S3 uploads failed",
            "\"error\":\"" + JsonEscape(aborted.error().ToString()) + "\"");
      } else if (*aborted > 0) {
        Log(LogLevel::kInfo, "aborted stale S3 uploads", "\"count\":" + std::to_string(*aborted));
      }
      auto staged = p.s3->RemoveStaleStaged();
      if (!staged.ok()) {
        Log(LogLevel::kWarn, "removing stale staged uploads failed",
            "\"error\":\"" + JsonEscape(staged.error().ToString()) + "\"");
      } else if (*staged > 0) {
        Log(LogLevel::kInfo, "removed stale staged uploads", "\"count\":" + std::to_string(*staged));
      }
    });
  }
  Log(LogLevel::kInfo, "cellar listening",
      "\"address\":\"" + JsonEscape(p.config.host) + "\",\"port\":" + std::to_string(p.server->port()) +
          ",\"data_dir\":\"" + JsonEscape(p.config.data_dir) + "\",\"storage\":\"" +
          JsonEscape(p.s3 ? p.s3->description() : "local") + "\",\"max_connections\":" +
          std::to_string(p.server->max_connections()));
  return Status();
}

uint16_t App::port() const { return parts_->server->port(); }

void App::Shutdown() { parts_->server->Shutdown(); }

void App::Run() {
  auto& p = *parts_;
  auto& ioc = p.server->io_context();
  asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    Log(LogLevel::kInfo, "shutting down", "\"signal\":" + std::to_string(sig));
    Shutdown();
  });
  asio::co_spawn(ioc, MaintenanceLoop(this, *p.cache, *p.workers, p.config.eviction_interval_ms, *p.server),
                 asio::detached);
  p.server->Run();
  if (p.scrub) p.scrub->Stop();
  if (p.fleet_reporter) p.fleet_reporter->Stop();
  if (p.bucket_maintenance) p.bucket_maintenance->Stop();
  if (p.fleet_lock) p.fleet_lock->Stop();  // a worker waiting on another node's lease returns now
  if (p.fill_lock) p.fill_lock->Stop();
  p.workers->join();
  p.upstream_waits->join();
  // Records not drained yet stay in <data-dir>/outbox/ for the next start.
  if (p.s3) p.s3->StopUploads();
  Status s = p.cache->Flush();
  if (!s.ok()) Log(LogLevel::kError, "final index flush failed", "\"error\":\"" + JsonEscape(s.ToString()) + "\"");
  p.history_flusher->Stop();
  if (Status h = p.history->Flush(/*all=*/true); !h.ok()) {
    Log(LogLevel::kWarn, "final stats history flush failed", "\"error\":\"" + JsonEscape(h.ToString()) + "\"");
  }
  Log(LogLevel::kInfo, "cellar stopped");
}

Status VerifyDataDir(const std::string& data_dir, bool quiet) {
  // Read-only: verify must report a store's state even when its file system
  // is full (a shared SQLite open would need room for a new -shm file).
  index::SqliteIndex::Options index_options;
  index_options.read_only = true;
  CELLAR_ASSIGN_OR_RETURN(auto index,
                          OpenDataDirIndex(data_dir, std::move(index_options), "stop the cellar serving it first"));
  store::FsBlobStore::Options store_options;
  store_options.root = data_dir;
  CELLAR_ASSIGN_OR_RETURN(auto blobs, store::FsBlobStore::Open(store_options));
  CELLAR_ASSIGN_OR_RETURN(auto report, blobs->Verify(/*quarantine_bad=*/true));
  for (const auto& bad : report.bad_blobs) {
    std::fprintf(stderr, "corrupt blob %s: %s%s\n", bad.digest.Hex().c_str(), bad.reason.c_str(),
                 bad.quarantined ? " (quarantined)" : "");
  }
  CELLAR_ASSIGN_OR_RETURN(auto referenced, index->ReferencedDigests());
  uint64_t dangling = 0;
  for (const auto& d : referenced) {
    CELLAR_ASSIGN_OR_RETURN(auto info, blobs->Stat(d));
    if (!info) {
      ++dangling;
      std::fprintf(stderr, "index references missing blob %s\n", d.Hex().c_str());
    }
  }
  if (!quiet) {
    std::printf("blobs ok: %llu\nblobs corrupt: %llu\nentries with missing blobs: %llu\n",
                static_cast<unsigned long long>(report.ok), static_cast<unsigned long long>(report.bad),
                static_cast<unsigned long long>(dangling));
  }
  if (report.bad > 0 || dangling > 0) {
    return Status::Corruption(std::to_string(report.bad) + " corrupt blobs, " +
                              std::to_string(dangling) + " entries with missing blobs");
  }
  return Status();
}

}  // namespace cellar::server
