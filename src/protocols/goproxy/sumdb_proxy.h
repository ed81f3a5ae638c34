// Checksum-database proxy under /go/sumdb/<name>/ for the configured
// databases (default sum.golang.org): `supported` answers 200 so the go
// command sends all its checksum traffic here; full tiles are cached
// forever; latest, lookups and partial tiles have a short max age and are
// served stale when the database is unreachable. Lookups of modules
// matching --go-nosumdb are answered 403, so their names never leak to a
// public database. Also answers the Go proxy's own question "what does the
// database say about module@version" for verification before storing.
// Wire details: docs/protocols/goproxy.md section 7.
#pragma once

#include <string>
#include <vector>

#include "core/filler.h"
#include "env/http_client.h"
#include "protocols/common/protocol.h"
#include "protocols/goproxy/checksum_db.h"
#include "protocols/goproxy/fresh_document.h"
#include "protocols/goproxy/go_metrics.h"
#include "protocols/goproxy/module_pattern.h"

namespace cellar::goproxy {

struct SumdbOptions {
  std::vector<SumdbEndpoint> databases;  // the first one verifies downloads
  ModulePatterns private_modules;        // --go-nosumdb
  int64_t max_age_ms = 60'000;           // latest, lookups, partial tiles
};

class SumdbProxy : public protocols::ProtocolAdapter {
 public:
  // Every reference must outlive the proxy.
  SumdbProxy(protocols::ProtocolContext ctx, env::HttpClient& client, core::Filler& filler,
             FreshDocuments& documents, GoMetrics& metrics, SumdbOptions options);
  std::string_view Name() const override { return "gosumdb"; }
  void RegisterRoutes(http::Router& router) override;

  // Name of the database used for verification; empty when none is configured.
  std::string verifying_database() const;
  // Blocking. The go.sum hashes the verifying database records for
  // module@version (both case-encoded). kNotFound when it has no record,
  // kUnavailable when it cannot be reached.
  Result<GoSums> LookupSums(const std::string& module, const std::string& version);

 private:
  boost::asio::awaitable<void> Handle(http::Exchange& ex);
  const SumdbEndpoint* Find(const std::string& name) const;
  DocumentSpec Document(const SumdbEndpoint& db, const std::string& tail, const char* content_type);
  Result<std::unique_ptr<env::HttpResponse>> Fetch(const SumdbEndpoint& db, const std::string& tail);

  protocols::ProtocolContext ctx_;
  env::HttpClient& client_;
  core::Filler& filler_;
  FreshDocuments& documents_;
  GoMetrics& metrics_;
  SumdbOptions options_;
};

}  // namespace cellar::goproxy
